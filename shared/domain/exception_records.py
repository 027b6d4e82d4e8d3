"""An open exception as kept and listed (stuck orders, silent shipments, payment problems, channel
conflicts, ...): its kind and record. Apart from reconciliation's rules (shared/domain/reconciliation.py,
which re-exports both) so that the flows raising one on a side branch, channel intake and settlement,
don't import the order, fulfilment, stock and shipment domains those rules read (cold start)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class ExceptionKind(StrEnum):
    """What an open exception is about; its subject is an order, a shipment or a fulfilment order."""

    STUCK_ORDER = "STUCK_ORDER"
    SILENT_SHIPMENT = "SILENT_SHIPMENT"
    # A parcel running late (the carrier's estimate passed the promise, or it reported a problem):
    # raised by tracking with the delay itself, closed once the parcel is delivered or the order is
    # settled (the console's "late only"). Subject: the shipment.
    LATE_SHIPMENT = "LATE_SHIPMENT"
    UNCOLLECTED_PICKUP = "UNCOLLECTED_PICKUP"
    # Raised by the payment flows (a refused capture, a dispute, money taken for a given-up payment);
    # an operator settles them with the provider. Closed when the order is gone.
    PAYMENT_PROBLEM = "PAYMENT_PROBLEM"
    # Authorisations older than the limit that are not fully captured (re-authorisation suggested).
    AUTHORIZATION_AGING = "AUTHORIZATION_AGING"
    # A channel asked what can no longer be done (cancelled an order that has shipped). Subject: the order.
    CHANNEL_CONFLICT = "CHANNEL_CONFLICT"
    # A signed channel payload that is no order we can read: kept 30 days (channels-api shows it).
    # Subject: <channel id>/<delivery id>.
    CHANNEL_PAYLOAD_REJECTED = "CHANNEL_PAYLOAD_REJECTED"


@dataclass(frozen=True)
class ExceptionRecord:
    """An open exception as kept: raised once per stay (`since`: when the order entered its
    status, the shipment was last heard of, the pickup became ready), closed once its cause is gone."""

    kind: ExceptionKind
    subject: str
    since: datetime
    raised_at: datetime
    reason: str
    suggested_action: str
    order_id: str | None = None
    status: str | None = None
    channel: str | None = None
    sla_minutes: int | None = None
    polled_at: datetime | None = None  # silent shipments: when the carrier was last asked

    def age_minutes(self, now: datetime) -> int:
        return int((now - self.since).total_seconds() // 60)
