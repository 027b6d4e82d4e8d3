"""Sending one customer message by one medium, and what is stored as its outcome (no personal data).
The once-per-event guard around each is the notifier's (functions/notify_customers)."""

from __future__ import annotations

from collections.abc import Callable

from shared.adapters.mailer import mailer, masked
from shared.adapters.sms import SmsRefused, sms_sender
from shared.domain.notifications import Medium, Notification, TextMessage
from shared.observability import count, logger


def send_email(event: dict, message: Notification) -> dict:
    """What it returns is stored as the outcome (no personal data)."""
    reference = mailer().send(message)
    logger.info("customer notified", extra={"order_id": message.order_id, "moment": message.moment.value,
                                            "medium": Medium.EMAIL.value, "language": message.message.language,
                                            "to": masked(message.recipient), "reference": reference})
    count("CustomerNotified")
    return {"sent": message.moment.value, "reference": reference}


def send_sms(event: dict, message: TextMessage) -> dict:
    """A refusal about this recipient (opted out, a number the service cannot route) is an outcome,
    not a failure: stored like a send, never retried."""
    try:
        reference = sms_sender().send(message)
    except SmsRefused as refused:
        logger.warning("the SMS service refused this recipient; not retried",
                       extra={"order_id": message.order_id, "moment": message.moment.value, "reason": refused.reason})
        count("SmsRefused")
        return {"refused": refused.reason}
    logger.info("customer notified", extra={"order_id": message.order_id, "moment": message.moment.value,
                                            "medium": Medium.SMS.value, "language": message.language,
                                            "reference": reference})
    count("CustomerTexted")
    return {"sent": message.moment.value, "medium": Medium.SMS.value, "reference": reference}


def already_sent(response, data_record):
    """The guard found the event sent by this medium before: its stored outcome, sent nothing again."""
    logger.info("event already handled; nothing sent again", extra={"outcome": response})
    count("NotificationDuplicate")
    return response


SENDERS: dict[Medium, Callable[..., dict]] = {Medium.EMAIL: send_email, Medium.SMS: send_sms}
