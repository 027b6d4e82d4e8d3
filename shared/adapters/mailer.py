"""Sending a customer email: SES (v2 API) in AWS, `.eml` files in a local outbox on a laptop (text
messages: shared/adapters/sms.py, the same outbox).

The outbox is chosen by configuration (`OMS_LOCAL_OUTBOX`, set by the local runtime and the
integration tests), never by guessing: a deployed function without it always uses SES. Each send
writes a new file, as each SES call sends a new email, so the outbox shows duplicates if there are
any: the tests count files to prove an event is sent once.

Never log a message body or a full address: they are personal data.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Protocol

from shared.adapters.aws import client
from shared.config import settings
from shared.domain.notifications import Notification


class Mailer(Protocol):
    def send(self, notification: Notification) -> str:
        """Send it; returns a reference to what was sent (SES message id, or the outbox file name)."""
        ...


def masked(address: str) -> str:
    """`ana@example.com` -> `a***@example.com`: enough to tell two customers apart in a log."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"


class SesMailer:
    def __init__(self, sender: str, ses=None):
        self.sender = sender
        self._ses = ses

    def send(self, notification: Notification) -> str:
        ses = self._ses or client("sesv2")
        message = notification.message
        # Errors propagate: botocore has already retried throttling and 5xx (standard mode), and
        # what is left fails the SQS record, which is retried and finally dead-lettered for a person.
        response = ses.send_email(
            FromEmailAddress=self.sender,
            Destination={"ToAddresses": [notification.recipient]},
            Content={"Simple": {
                "Subject": {"Data": message.subject, "Charset": "UTF-8"},
                "Body": {"Text": {"Data": message.body, "Charset": "UTF-8"}},
            }},
            # Tags reach SES event destinations (bounces, complaints), so they can be tied to a moment.
            EmailTags=[{"Name": "moment", "Value": notification.moment.value}],
        )
        return response["MessageId"]


class OutboxMailer:
    """One RFC 5322 file per message, named `<UTC time>-<moment>-<event id>-<random>.eml` so that a
    directory listing reads as a timeline; any mail client opens them."""

    def __init__(self, directory: str | os.PathLike, sender: str):
        self.directory = Path(directory)
        self.sender = sender

    def send(self, notification: Notification) -> str:
        now = datetime.now(UTC)
        email = as_email(notification, self.sender, now)
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{now:%Y%m%dT%H%M%S%fZ}-{notification.moment.value}-{file_safe(notification.event_id)}-" \
               f"{uuid.uuid4().hex[:6]}.eml"
        # Written aside and renamed: a reader (a person, a test) never sees half a message.
        partial = self.directory / f".{name}.tmp"
        partial.write_bytes(bytes(email))
        os.replace(partial, self.directory / name)
        return name


def as_email(notification: Notification, sender: str, at: datetime) -> EmailMessage:
    email = EmailMessage()
    email["From"] = sender
    email["To"] = notification.recipient
    email["Subject"] = notification.message.subject
    email["Date"] = format_datetime(at)
    email["Message-ID"] = make_msgid(domain=sender.partition("@")[2] or None)
    email["X-OMS-Moment"] = notification.moment.value
    email["X-OMS-Event-Id"] = notification.event_id
    email["X-OMS-Order-Id"] = notification.order_id
    email.set_content(notification.message.body)
    email["Content-Language"] = notification.message.language  # after set_content, which drops Content-*
    return email


def file_safe(text: str) -> str:
    """A piece of an outbox file name: letters, digits, - and _ (the event id comes from outside)."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)[:64]


def mailer() -> Mailer:
    """The mailer configuration asks for; cheap to build, so built per call (settings are cached)."""
    config = settings()
    if config.local_outbox:
        return OutboxMailer(config.local_outbox, config.email_sender)
    return SesMailer(config.email_sender)
