"""A batch of customer moments from the notifications queue -> the messages, each sent once per event
and medium.

Per batch, not per record: the batch's orders are read in one BatchGetItem, every message about to
be sent is claimed in one transaction (shared/adapters/notification_claims.py), and what was sent
is recorded (and what failed released) in batch writes of 25 (one for most batches). Per message
that is three or four requests a batch instead of three a message; the guard is the same: a message is sent only under a claim
nobody else holds, a duplicate finds it completed and sends nothing, a failed send is released so
the record's retry sends it (and only it: email first, then SMS, as before).

Which event becomes which message is `messages_for` (shared/services/notifications.py); sending by
medium is shared/services/notification_sending.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from shared.adapters.notification_claims import ClaimKey, Found, NotificationClaims, claim_key
from shared.domain.notifications import Medium, Notification, TextMessage
from shared.observability import count, failure_reason, logger
from shared.services.notifications import Skipped, messages_for, moment_for
from shared.unit_of_work import CommitFailed

# The email's prefix is the one used before SMS existed: records written then still count.
KEY_PREFIX = {Medium.EMAIL: "notify-customers", Medium.SMS: "notify-customers-sms"}
# No send starts closer than this to the invocation's deadline (one provider call at the clients'
# read timeout, and the batch write after it): a claim lapses at the deadline, so a send the timeout
# cut short, or sent but never recorded, would be sent again by the retry. A full batch is 50 sends.
SEND_MARGIN_MS = 6_000


@dataclass(frozen=True)
class Incoming:
    record_id: str  # the SQS message id: what a failure names
    detail_type: str
    detail: dict


@dataclass(frozen=True)
class Outgoing:
    record_id: str
    medium: Medium
    message: Notification | TextMessage
    key: ClaimKey


Sender = Callable[[dict, Notification | TextMessage], dict]


def notify_batch(batch: list[Incoming], repos, claims: NotificationClaims, senders: Mapping[Medium, Sender],
                 now: datetime, deadline_ms: int) -> set[str]:
    """Send what the batch's events say, once each; the ids of the records to retry. `deadline_ms`:
    when the invocation ends, as of `now` (its claims lapse then)."""
    started, budget_ms = time.monotonic(), deadline_ms - int(now.timestamp() * 1000) - SEND_MARGIN_MS
    failed: set[str] = set()
    wanted = {i.detail["order_id"] for i in batch
              if moment_for(i.detail_type, i.detail) and isinstance(i.detail.get("order_id"), str)}
    orders = {o.order_id: o for o in repos.orders.many(sorted(wanted))} if wanted else {}
    outgoing: list[Outgoing] = []
    for incoming in batch:
        try:
            outgoing += _messages(incoming, repos, orders, now)
        except Exception as error:  # noqa: BLE001 - a malformed event or a failed read: this record is retried
            _failed(incoming.record_id, error)
            failed.add(incoming.record_id)
    if not outgoing:
        return failed
    try:
        found = claims.claim([o.key for o in outgoing], now, deadline_ms)
    except CommitFailed as error:  # a twin claimed one of these at the same moment: retry them all
        logger.warning("claims contended; the batch's messages are retried", extra={"reason": failure_reason(error, 300)})
        return failed | {o.record_id for o in outgoing}
    completed: dict[ClaimKey, dict] = {}
    released: list[ClaimKey] = []
    for o in outgoing:
        claim = found[o.key]
        if o.key in completed:  # a copy of this event earlier in the batch sent it
            _duplicate(completed[o.key])
            continue
        if o.key in released:  # ... or failed to: this copy is retried with it
            failed.add(o.record_id)
            continue
        if o.record_id in failed:  # its email failed: the SMS waits for the record's retry
            if claim.found is Found.CLAIMED:
                released.append(o.key)
            continue
        if claim.found is Found.COMPLETED:
            _duplicate(claim.outcome)
            continue
        if claim.found is Found.IN_PROGRESS:
            logger.info("another invocation is sending this message; retried later",
                        extra={"order_id": o.message.order_id, "medium": o.medium.value})
            failed.add(o.record_id)
            continue
        if (time.monotonic() - started) * 1000 > budget_ms:  # too near the deadline: released, for the retry
            released.append(o.key)
            failed.add(o.record_id)
            continue
        try:
            completed[o.key] = senders[o.medium]({}, o.message)
        except Exception as error:  # noqa: BLE001 - a failed send: released, the record retried
            _failed(o.record_id, error)
            released.append(o.key)
            failed.add(o.record_id)
    try:
        claims.finish(completed, released, now)
    except Exception as error:  # noqa: BLE001 - sent is sent: a retry would send it twice
        logger.error("sent, but the claims could not be completed", extra={"reason": failure_reason(error, 300)})
        count("NotificationClaimNotFinished")
        failed |= {o.record_id for o in outgoing if o.key in released}
    return failed


def _messages(incoming: Incoming, repos, orders: Mapping, now: datetime) -> list[Outgoing]:
    order_id = incoming.detail.get("order_id")
    outcome = messages_for(incoming.detail_type, incoming.detail, repos, now,
                           order_of=lambda oid: orders.get(oid))
    if isinstance(outcome, Skipped):
        logger.info("no message for this event", extra={"order_id": order_id, "reason": outcome.reason,
                                                        "detail_type": incoming.detail_type})
        count("NotificationSkipped")
        return []
    found = []
    for medium, message in outcome.by_medium():
        if isinstance(message, Skipped):
            logger.info("no message by this medium", extra={"order_id": order_id, "medium": medium.value,
                                                            "reason": message.reason})
            count("NotificationSkipped" if medium is Medium.EMAIL else "SmsSkipped")
            continue
        found.append(Outgoing(incoming.record_id, medium, message, claim_key(KEY_PREFIX[medium], message.event_id)))
    return found


def _duplicate(outcome) -> None:
    logger.info("event already handled; nothing sent again", extra={"outcome": outcome})
    count("NotificationDuplicate")


def _failed(record_id: str, error: Exception) -> None:
    logger.warning("record failed; it will be retried, then dead-lettered",
                   extra={"message_id": record_id, "error_type": type(error).__name__, "reason": failure_reason(error)})
