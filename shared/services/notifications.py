"""Customer notifications: which domain event becomes which message, to whom, by which medium, with
which facts.

`messages_for` is the use case: it reads what a message needs (the order; for some moments the
shipment, the fulfilment order and its location, or the return; the order's channel when the
customer gave a phone number) and hands the facts to `compose`, which is pure and addresses the
message twice: an email when the customer has a usable address, an SMS when they gave a phone
number written internationally and the order's channel sends SMS (`sms_notifications`). Sending,
and sending once per event and medium, is the notifier function's job
(functions/notify_customers/handler.py).

An event that cannot become a message (not a customer moment, an order we do not have, a refund of
nothing), and a medium that cannot carry it (no usable address, no phone number, a channel without
SMS), is a `Skipped` with a reason, not an error: retrying would not change the answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel

from shared.domain.money import Amount, CurrencyCode
from shared.domain.notifications import (
    Medium,
    Message,
    Moment,
    Notification,
    TextMessage,
    e164,
    format_amount,
    format_date,
    render,
    tracking_url,
)
from shared.domain.orders import Order

if TYPE_CHECKING:
    from shared.adapters.documents import Documents
    from shared.domain.fulfillment import FulfillmentOrder
    from shared.domain.locations import Location
    from shared.domain.returns import Return
    from shared.domain.shipments import Shipment

# detail-type -> moment; FulfillmentOrderChanged counts only when it reaches READY_FOR_PICKUP.
MOMENTS = {
    "ShipmentDispatched": Moment.SHIPPED,
    "ShipmentDelayed": Moment.DELAYED,
    "OrderDelivered": Moment.DELIVERED,
    "OrderCancelled": Moment.CANCELLED,
    "OrderRejected": Moment.REJECTED,
    "RefundIssued": Moment.REFUND_ISSUED,
    "ReturnApproved": Moment.RETURN_APPROVED,
    "ReturnReceived": Moment.RETURN_RECEIVED,
}
READY_FOR_PICKUP = "READY_FOR_PICKUP"
# "Confirmed, being prepared" is said once, when it is true: when verification has passed and the
# order's first allocation step reserved stock for it or put it on backorder (`previous` RECEIVED,
# after capture or an operator's release). Not on receipt: a held order may never be prepared.
CONFIRMING = frozenset({"OrderAllocated", "OrderBackordered"})
FIRST_STEP = "RECEIVED"
# The return label is printed at home, often days after the approval email is read: the shipment
# labels' 15-minute link would be dead by then. 7 days is the longest a SigV4 presigned link can
# live. A link signed with temporary credentials (a Lambda role's) stops working when they expire,
# whatever it says: in AWS the link lasts as long as the notifier's role session.
RETURN_LABEL_LINK_TTL_S = 7 * 24 * 3600
# `RefundMethod.STORE_CREDIT`'s value: the returns domain is not imported for it (about 30 ms of the
# notifier's cold start), and an event from another system carries the plain string anyway.
STORE_CREDIT = "store_credit"


# What we read of each event: only the fields used, extra fields ignored, so a producer adding a
# field never breaks the notifier (the published classes in shared/domain/events.py forbid extras).
class EventDetail(BaseModel):
    event_id: str
    order_id: str


class ShippedDetail(EventDetail):
    shipment_id: str
    carrier: str | None = None
    tracking_code: str | None = None


class DelayedDetail(EventDetail):
    shipment_id: str
    tracking_code: str | None = None
    estimated_delivery: datetime | None = None


class FulfillmentChangedDetail(EventDetail):
    fulfillment_order_id: str
    location_id: str
    status: str


class RefundIssued(EventDetail):
    """A refund: the returns flow's `RefundIssued` (shared/domain/return_events.py), or any system
    that refunds (payment provider, ERP) putting the same fields on the bus."""

    amount: Amount
    currency: CurrencyCode
    occurred_at: datetime | None = None
    method: str | None = None  # store_credit, or original_payment (the default)
    rma_id: str | None = None


class ReturnApprovedDetail(EventDetail):
    rma_id: str


class ReturnReceivedDetail(EventDetail):
    rma_id: str
    receipt_id: str
    line: int


@dataclass(frozen=True)
class Skipped:
    reason: str


@dataclass(frozen=True)
class Messages:
    """What one event becomes: an email and an SMS, each ready to send or skipped with a reason."""

    email: Notification | Skipped
    sms: TextMessage | Skipped

    def by_medium(self) -> tuple[tuple[Medium, Notification | TextMessage | Skipped], ...]:
        return (Medium.EMAIL, self.email), (Medium.SMS, self.sms)


Facts = dict[str, str | None]
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def moment_for(detail_type: str, detail: dict) -> Moment | None:
    if detail_type == "FulfillmentOrderChanged":
        return Moment.READY_FOR_PICKUP if detail.get("status") == READY_FOR_PICKUP else None
    if detail_type in CONFIRMING:
        return Moment.CONFIRMED if detail.get("previous") == FIRST_STEP else None
    return MOMENTS.get(detail_type)


def usable_email(address: str | None) -> bool:
    """One plain address, no whitespace or line breaks (nothing that could become another header)."""
    if not address:
        return False
    return len(address) <= 254 and _EMAIL.match(address) is not None


def compose(moment: Moment, event_id: str, order: Order, facts: Facts | None = None, sms_allowed: bool = False
            ) -> Messages:
    """The messages for `order`'s customer; the order number is the one the customer knows (the
    channel's), not our internal id."""
    customer = order.request.customer
    message = render(moment, customer.language, name=customer.name, order=order.request.channel_order_id,
                     **{k: v for k, v in (facts or {}).items() if v})
    return Messages(_email(message, moment, event_id, order), _sms(message, moment, event_id, order, sms_allowed))


def _email(message: Message, moment: Moment, event_id: str, order: Order) -> Notification | Skipped:
    address = order.request.customer.email
    if address is None or not usable_email(address):
        return Skipped("customer has no usable email address")
    return Notification(address, message, moment, event_id, order.order_id)


def _sms(message: Message, moment: Moment, event_id: str, order: Order, allowed: bool) -> TextMessage | Skipped:
    phone = order.request.customer.phone
    if not phone:
        return Skipped("customer gave no phone number")
    if not allowed:
        return Skipped("the order's channel does not send SMS")
    number = e164(phone)
    if number is None:
        return Skipped("phone number is not written internationally (+ and country code)")
    return TextMessage(number, message.sms, message.language, moment, event_id, order.order_id)


def sms_allowed(order: Order, repos, now: datetime) -> bool:
    """Whether the order's channel sends SMS; its settings are read (cached) only for a customer
    who gave a phone number."""
    if not order.request.customer.phone:
        return False
    channel = repos.channels.get_cached(order.channel, now)
    return channel is not None and channel.settings.sms_notifications


# ------------------------------------------------------------------ facts per moment (pure)

def shipped_facts(event: ShippedDetail, shipment: Shipment | None, tracking_template: str | None = None) -> Facts:
    # The event says what was known at dispatch; the shipment record may know more by now (a label
    # bought with the parcel gives carrier and number).
    carrier = event.carrier or (shipment.carrier if shipment else None)
    code = event.tracking_code or (shipment.tracking_code if shipment else None)
    return {"tracking_code": code, "tracking_url": tracking_url(carrier, code, tracking_template)}


def delayed_facts(event: DelayedDetail, shipment: Shipment | None, language: str | None,
                  tracking_template: str | None = None) -> Facts:
    carrier = shipment.carrier if shipment else None
    code = event.tracking_code or (shipment.tracking_code if shipment else None)
    eta = event.estimated_delivery or (shipment.estimated_delivery if shipment else None)
    return {"tracking_code": code, "tracking_url": tracking_url(carrier, code, tracking_template),
            "eta": format_date(eta.date(), language) if eta else None}


def pickup_facts(event: FulfillmentChangedDetail, fulfillment: FulfillmentOrder | None,
                 location: Location | None) -> Facts:
    return {"location": location.name if location else event.location_id,
            "pickup_code": fulfillment.pickup_code if fulfillment else None}


def refund_facts(event: RefundIssued, language: str | None) -> Facts | Skipped:
    # An exchange that took the whole returned value refunds nothing: "Refund: 0.00 EUR" would only
    # confuse (the exchange order has its own messages).
    if event.amount == 0:
        return Skipped("nothing was refunded (amount zero)")
    return {"amount": format_amount(event.amount, event.currency, language), "rma": event.rma_id,
            "store_credit": "yes" if event.method == STORE_CREDIT else None}


def approved_facts(event: ReturnApprovedDetail, label_url: str | None, emailed: bool) -> Facts:
    """The label's link goes by email only (a presigned link is 1-2k characters: a dozen SMS
    segments); the SMS says the label is in the email when there is one to send it."""
    return {"rma": event.rma_id, "label_url": label_url, "label_emailed": "yes" if label_url and emailed else None}


def received_facts(event: ReturnReceivedDetail, ret: Return | None) -> Facts | Skipped:
    """The customer hears once that their return arrived: a receipt of several lines is one event per
    line, and a return may be received in several receipts. The first line of the first receipt
    that moved units speaks; a return we cannot read does not silence it."""
    first = next(((r.receipt_id, r.line) for r in ret.receipts if r.quantity > 0), None) if ret else None
    if first is not None and first != (event.receipt_id, event.line):
        return Skipped("the customer was told of this return's first receipt")
    return {"rma": event.rma_id}


def return_label_link(ret: Return | None, documents: Documents | None = None) -> str | None:
    """The return label for the customer: our copy, presigned for RETURN_LABEL_LINK_TTL_S, else the
    provider's own URL, else none (the message then gives no link)."""
    if ret is None or ret.parcel is None:
        return None
    label = ret.parcel.label
    if label.key is None:
        return label.provider_url
    if documents is None:
        from shared.adapters.documents import label_documents

        documents = label_documents()
    return documents.link(label.key, RETURN_LABEL_LINK_TTL_S)


# ------------------------------------------------------------------ the use case

def messages_for(detail_type: str, detail: dict, repos, now: datetime, tracking_template: str | None = None,
                 documents: Documents | None = None, order_of: Callable[[str], Order | None] | None = None
                 ) -> Messages | Skipped:
    """The messages an event should produce, or why there is none. Raises (so the record is
    retried) only for a malformed event or a failed read. `order_of`: the order by id when the
    caller has read it already (a batch's orders, read at once); else it is read here."""
    moment = moment_for(detail_type, detail)
    if moment is None:
        return Skipped(f"{detail_type} is not a customer moment")
    ref = EventDetail.model_validate(detail)
    order = (order_of or repos.orders.get)(ref.order_id)
    if order is None:
        return Skipped("order not found")
    facts = _facts(moment, detail, order, repos, tracking_template, documents)
    if isinstance(facts, Skipped):
        return facts
    return compose(moment, ref.event_id, order, facts, sms_allowed(order, repos, now))


def _facts(moment: Moment, detail: dict, order: Order, repos, tracking_template: str | None,
           documents: Documents | None) -> Facts | Skipped:
    language = order.request.customer.language
    match moment:
        case Moment.SHIPPED:
            shipped = ShippedDetail.model_validate(detail)
            shipment = None if shipped.carrier and shipped.tracking_code else \
                repos.shipments.get(shipped.shipment_id)
            return shipped_facts(shipped, shipment, tracking_template)
        case Moment.DELAYED:
            delayed = DelayedDetail.model_validate(detail)
            return delayed_facts(delayed, repos.shipments.get(delayed.shipment_id), language, tracking_template)
        case Moment.READY_FOR_PICKUP:
            changed = FulfillmentChangedDetail.model_validate(detail)
            return pickup_facts(changed, repos.fulfillment.get(changed.fulfillment_order_id),
                                repos.locations.get(changed.location_id))
        case Moment.REFUND_ISSUED:
            return refund_facts(RefundIssued.model_validate(detail), language)
        case Moment.RETURN_APPROVED:
            approved = ReturnApprovedDetail.model_validate(detail)
            return approved_facts(approved, return_label_link(repos.returns.get(approved.rma_id), documents),
                                  usable_email(order.request.customer.email))
        case Moment.RETURN_RECEIVED:
            received = ReturnReceivedDetail.model_validate(detail)
            return received_facts(received, repos.returns.get(received.rma_id))
        case _:
            return {}
