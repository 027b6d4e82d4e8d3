"""Customer notifications: which domain event becomes which message, to whom, with which facts.

`notification_for` is the use case: it reads what a message needs (the order, and for some moments
the shipment, the fulfilment order and its location) and hands it to the `compose_*` functions,
which are pure. Sending, and sending once, is the notifier function's job
(functions/notify_customers/handler.py).

An event that cannot become a message (not a customer moment, an order we do not have, a customer
without a usable address) is a `Skipped` with a reason, not an error: retrying would not change
the answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel

from shared.domain.fulfillment import FulfillmentOrder
from shared.domain.locations import Location
from shared.domain.money import Amount, CurrencyCode
from shared.domain.notifications import Moment, Notification, format_amount, format_date, render, tracking_url
from shared.domain.orders import Order
from shared.domain.shipments import Shipment

# detail-type -> moment; FulfillmentOrderChanged counts only when it reaches READY_FOR_PICKUP.
MOMENTS = {
    "ShipmentDispatched": Moment.SHIPPED,
    "ShipmentDelayed": Moment.DELAYED,
    "OrderDelivered": Moment.DELIVERED,
    "OrderCancelled": Moment.CANCELLED,
    "OrderRejected": Moment.REJECTED,
    "RefundIssued": Moment.REFUND_ISSUED,
}
READY_FOR_PICKUP = "READY_FOR_PICKUP"
# "Confirmed, being prepared" is said once, when it is true: when verification has passed and the
# order's first allocation step reserved stock for it or put it on backorder (`previous` RECEIVED,
# after capture or an operator's release). Not on receipt: a held order may never be prepared.
CONFIRMING = frozenset({"OrderAllocated", "OrderBackordered"})
FIRST_STEP = "RECEIVED"


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
    """A refund, from the returns flow or any system that refunds (payment provider, ERP). Not one of
    our published events yet; this is the contract the notifier accepts."""

    amount: Amount
    currency: CurrencyCode
    occurred_at: datetime | None = None


@dataclass(frozen=True)
class Skipped:
    reason: str


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


def compose(moment: Moment, event_id: str, order: Order, **values: str | None) -> Notification | Skipped:
    """The message for `order`'s customer; the order number is the one the customer knows (the
    channel's), not our internal id."""
    customer = order.request.customer
    if customer.email is None or not usable_email(customer.email):
        return Skipped("customer has no usable email address")
    message = render(moment, customer.language, name=customer.name, order=order.request.channel_order_id,
                     **{k: v for k, v in values.items() if v})
    return Notification(customer.email, message, moment, event_id, order.order_id)


def compose_shipped(event: ShippedDetail, order: Order, shipment: Shipment | None,
                    tracking_template: str | None = None) -> Notification | Skipped:
    # The event says what was known at dispatch; the shipment record may know more by now (a label
    # bought with the parcel gives carrier and number).
    carrier = event.carrier or (shipment.carrier if shipment else None)
    code = event.tracking_code or (shipment.tracking_code if shipment else None)
    return compose(Moment.SHIPPED, event.event_id, order, tracking_code=code,
                   tracking_url=tracking_url(carrier, code, tracking_template))


def compose_delayed(event: DelayedDetail, order: Order, shipment: Shipment | None,
                    tracking_template: str | None = None) -> Notification | Skipped:
    carrier = shipment.carrier if shipment else None
    code = event.tracking_code or (shipment.tracking_code if shipment else None)
    eta = event.estimated_delivery or (shipment.estimated_delivery if shipment else None)
    language = order.request.customer.language
    return compose(Moment.DELAYED, event.event_id, order, tracking_code=code,
                   tracking_url=tracking_url(carrier, code, tracking_template),
                   eta=format_date(eta.date(), language) if eta else None)


def compose_ready_for_pickup(event: FulfillmentChangedDetail, order: Order, fulfillment: FulfillmentOrder | None,
                             location: Location | None) -> Notification | Skipped:
    return compose(Moment.READY_FOR_PICKUP, event.event_id, order,
                   location=location.name if location else event.location_id,
                   pickup_code=fulfillment.pickup_code if fulfillment else None)


def compose_refund(event: RefundIssued, order: Order) -> Notification | Skipped:
    amount = format_amount(event.amount, event.currency, order.request.customer.language)
    return compose(Moment.REFUND_ISSUED, event.event_id, order, amount=amount)


def notification_for(detail_type: str, detail: dict, repos, tracking_template: str | None = None
                     ) -> Notification | Skipped:
    """The message an event should produce, or why there is none. Raises (so the record is retried)
    only for a malformed event or a failed read."""
    moment = moment_for(detail_type, detail)
    if moment is None:
        return Skipped(f"{detail_type} is not a customer moment")
    ref = EventDetail.model_validate(detail)
    order = repos.orders.get(ref.order_id)
    if order is None:
        return Skipped("order not found")
    match moment:
        case Moment.SHIPPED:
            shipped = ShippedDetail.model_validate(detail)
            shipment = None if shipped.carrier and shipped.tracking_code else \
                repos.shipments.get(shipped.shipment_id)
            return compose_shipped(shipped, order, shipment, tracking_template)
        case Moment.DELAYED:
            delayed = DelayedDetail.model_validate(detail)
            return compose_delayed(delayed, order, repos.shipments.get(delayed.shipment_id), tracking_template)
        case Moment.READY_FOR_PICKUP:
            changed = FulfillmentChangedDetail.model_validate(detail)
            return compose_ready_for_pickup(changed, order, repos.fulfillment.get(changed.fulfillment_order_id),
                                            repos.locations.get(changed.location_id))
        case Moment.REFUND_ISSUED:
            return compose_refund(RefundIssued.model_validate(detail), order)
        case _:
            return compose(moment, ref.event_id, order)
