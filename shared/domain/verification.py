"""Order verification: what must be true before stock is reserved, as holds with typed reasons."""

from __future__ import annotations

from collections.abc import Iterable

from shared.domain.locations import Location
from shared.domain.orders import HoldReason, Order
from shared.domain.payments import PaymentMethod, PaymentStatus


def verify(order: Order, known_skus: set[str], locations: Iterable[Location], *,
           allow_cod: bool) -> list[tuple[HoldReason, str]]:
    """Reasons to hold this order; holds an operator already released are not raised again."""
    req = order.request
    holds: list[tuple[HoldReason, str]] = []
    pay = order.pay
    if pay.method == PaymentMethod.CASH_ON_DELIVERY:
        paid = req.payment.amount
        if not allow_cod:
            holds.append((HoldReason.PAYMENT_METHOD_NOT_ALLOWED,
                          f"channel {order.channel} does not take cash on delivery"))
    else:
        paid = pay.authorized
        if pay.status in (PaymentStatus.PENDING, PaymentStatus.FAILED, PaymentStatus.VOIDED):
            holds.append((HoldReason.AWAITING_PAYMENT, f"payment is {pay.status.value}"))
    if paid != order.total and not (holds and holds[-1][0] == HoldReason.AWAITING_PAYMENT):
        holds.append((
            HoldReason.PAYMENT_MISMATCH,
            f"payment amount {paid} differs from the order total {order.total} {req.currency}",
        ))
    unknown = sorted({line.sku for line in req.lines} - known_skus)
    if unknown:
        holds.append((HoldReason.UNKNOWN_SKU, "no location stocks " + ", ".join(unknown)))
    active = [loc for loc in locations if loc.active]
    if req.fulfillment.type == "pickup":
        store = next((loc for loc in active if loc.location_id == req.fulfillment.location_id), None)
        if store is None or not store.pickup_enabled:
            holds.append((
                HoldReason.PICKUP_UNAVAILABLE,
                f"location {req.fulfillment.location_id} does not offer pickup",
            ))
    elif not any(req.shipping_address.country in loc.ships_to for loc in active):
        holds.append((
            HoldReason.UNDELIVERABLE_ADDRESS,
            f"no location ships to {req.shipping_address.country}",
        ))
    if order.channel_record and order.channel_record.problems:
        # Field names only: a problem's text can quote what the customer wrote (an address, an email),
        # and the hold's detail travels on the event bus (OrderOnHold). The order keeps the full text.
        fields = sorted({p.field for p in order.channel_record.problems})
        holds.append((HoldReason.CHANNEL_MAPPING, "the channel's order could not be mapped: " + ", ".join(fields)
                      + " (channel_record.problems on the order says why)"))
    released = order.released_hold_reasons
    return [(reason, detail) for reason, detail in holds if reason not in released]
