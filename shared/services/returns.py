"""Return requests: ask (checked against the channel's policy), approve with a return label, decline,
close; read one, an order's, or those in a status; the channels' return policies.

Receiving is shared/services/return_receiving.py; refunds and store credit are
shared/services/return_refunds.py.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, ConfigDict, Field

from shared.domain.orders import MAX_LINES, ExternalId, Order, OrderStatus
from shared.domain.principal import Principal
from shared.domain.returns import (
    ExchangeLine,
    RefundMethod,
    RequestedLine,
    Return,
    ReturnParcel,
    ReturnPolicy,
    ReturnReason,
    ReturnStatus,
)
from shared.domain.shipments import Shipment
from shared.domain.tracking import ShipmentStatus
from shared.errors import AccessDenied, Busy, Conflict, InvalidInput, NotFound, OmsError
from shared.repositories import Repositories
from shared.unit_of_work import AlreadyExists, CommitFailed, Refused, StaleVersion

if TYPE_CHECKING:
    from shared.domain.return_events import ReturnClosed, ReturnDeclined, ReturnedUnits

ATTEMPTS = 5
# The box a return label is bought for when nobody weighed it: a carrier re-rates an underweighed
# parcel, and a label for a typical apparel or small-goods return is what most merchants pre-pay.
RETURN_PARCEL = (1000, Decimal(30), Decimal(20), Decimal(10))  # grams, then length, width, height in cm
# An order can be returned from once something of it was delivered (or collected in store).
RETURNABLE = frozenset({OrderStatus.PARTIALLY_SHIPPED, OrderStatus.SHIPPED, OrderStatus.DELIVERED,
                        OrderStatus.COMPLETED})


class ReturnRequestBody(BaseModel):
    """POST /orders/{order_id}/returns."""

    model_config = ConfigDict(extra="forbid")
    request_id: ExternalId = Field(description="Yours: the same request id answers the same RMA")
    reason: ReturnReason
    comment: Annotated[str, Field(min_length=1, max_length=1000)] | None = None
    lines: Annotated[list[RequestedLine], Field(min_length=1, max_length=100)]
    refund_method: RefundMethod = RefundMethod.ORIGINAL_PAYMENT
    exchange_lines: Annotated[list[ExchangeLine], Field(max_length=MAX_LINES)] = Field(
        default=[], description="Replacements: reserved and routed at once as a new order, paid by the returned value")

    def fingerprint(self) -> str:
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()


class DecisionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: Annotated[str, Field(min_length=1, max_length=500)] | None = None


# ------------------------------------------------------------------ policies


def policy_for(channel: str, repos: Repositories) -> ReturnPolicy:
    """The channel's policy as stored, else the default one (30 days, merchant pays for its faults)."""
    stored = repos.returns.policy(channel)
    return stored.policy if stored else ReturnPolicy()


def put_policy(channel: str, policy: ReturnPolicy, principal: Principal, repos: Repositories, now: datetime
               ) -> ReturnPolicy:
    if not principal.is_operator:
        raise AccessDenied("only an operator sets return policies", field="channel")
    if repos.channels.get(channel, now) is None:
        raise NotFound(f"channel {channel} not found", field="channel")
    for _ in range(ATTEMPTS):
        stored = repos.returns.policy(channel)
        try:
            repos.commit(repos.returns.put_policy(channel, policy, stored.version if stored else None,
                                                  now.isoformat(), principal.name))
            return policy
        except CommitFailed:
            continue
    raise Busy(f"the return policy of {channel} is changing too fast; retry")


def read_policy(channel: str, principal: Principal, repos: Repositories):
    """The channel's stored policy (its version, who set it), or None: the default applies."""
    if not principal.can_see(channel):
        raise NotFound(f"channel {channel} not found", field="channel")
    return repos.returns.policy(channel)


# ------------------------------------------------------------------ reading


def get_return(rma_id: str, principal: Principal, repos: Repositories) -> Return:
    ret = repos.returns.get(rma_id)
    if ret is None or not principal.can_see(ret.channel):
        raise NotFound(f"return {rma_id} not found", field="rma_id")
    return ret


def returns_of_order(order_id: str, principal: Principal, repos: Repositories) -> list[Return]:
    order = repos.orders.get(order_id)
    if order is None or not principal.can_see(order.channel):
        raise NotFound(f"order {order_id} not found", field="order_id")
    return repos.returns.for_order(order_id)


def returns_in_status(status: ReturnStatus, principal: Principal, limit: int, cursor: str | None,
                      repos: Repositories) -> tuple[list[Return], str | None]:
    if not principal.is_operator:
        raise AccessDenied("only an operator lists returns across orders", field="status")
    return repos.returns.in_status(status, limit, cursor)


# ------------------------------------------------------------------ requesting


def request_return(order_id: str, body: ReturnRequestBody, principal: Principal, repos: Repositories,
                   now: datetime) -> Return:
    """A new RMA if the policy allows it (else InvalidInput naming the rule and the field), approved
    at once when the policy approves returns worth this much. The same request id answers the
    same RMA; the same id with another body is a Conflict."""
    # Each write imports what it needs, the events it publishes too: the reads of returns- and
    # return-policies-api load none of them (cold start).
    from shared.domain.refunds import quote_refund
    from shared.domain.return_events import ReturnRequested
    from shared.domain.return_policy import auto_approves, check_return
    from shared.services.return_exchanges import exchange_prices

    order = repos.orders.get(order_id)
    if order is None or not principal.can_see(order.channel):
        raise NotFound(f"order {order_id} not found", field="order_id")
    fingerprint = body.fingerprint()
    for _ in range(ATTEMPTS):
        if (done := _answered(order_id, body.request_id, fingerprint, repos)) is not None:
            return _auto_approve(done, repos, now)
        if order.status not in RETURNABLE:
            raise InvalidInput(f"order {order_id} is {order.status.value}: nothing of it was delivered to return",
                               field="order_id")
        policy = policy_for(order.channel, repos)
        _check_options(body, policy)
        known = repos.returns.of_order(order_id)
        earlier = repos.returns.many(list(known.rma_ids)) if known.rma_ids else []
        check = check_return(order, delivered_parcels(order, _shipments(order, repos)), earlier, body.lines, policy,
                             now)
        units = {ln.line: ln.quantity for ln in check.lines}
        quote = quote_refund(order, units, _requested_before(earlier), include_shipping=policy.merchant_pays(body.reason),
                             shipping_refunded_before=_shipping_asked_before(order, earlier),
                             restocking_fee_percent=policy.restocking_fee_percent
                             if policy.restocking_fee_applies(body.reason) else Decimal(0))
        ret = Return(rma_id=new_rma_id(now), request_id=body.request_id, request_fingerprint=fingerprint,
                     order_id=order_id, channel=order.channel, customer_id=order.request.customer.id,
                     reason=body.reason, comment=body.comment, lines=check.lines, refund_method=body.refund_method,
                     exchange_lines=exchange_prices(order, body.exchange_lines),
                     merchant_pays_shipping=policy.merchant_pays(body.reason),
                     policy=policy, value=quote.amount, currency=order.request.currency, created_at=now,
                     updated_at=now)
        if ret.exchange_lines:
            from shared.services.return_exchanges import exchange_request

            exchange_request(ret, order, Decimal(0))  # a replacement that could never be an order: refused now
        ret.history.append(_change(ReturnStatus.REQUESTED, now, principal.name, "; ".join(check.reasons) or None))
        event = ReturnRequested(occurred_at=now, rma_id=ret.rma_id, order_id=order_id, channel=order.channel,
                                status=ret.status.value, reason=ret.reason.value, lines=_units(ret),
                                value=str(ret.value), currency=ret.currency)
        try:
            repos.commit(repos.returns.create(ret, known), repos.events.publish(event))
        except Refused as refused:
            if refused.find(AlreadyExists) is None and not refused.only(StaleVersion):
                raise
            continue  # a duplicate (answered above on the next turn) or another return of the order meanwhile
        return _auto_approve(ret, repos, now) if auto_approves(policy, ret.value) else ret
    raise Busy(f"returns of order {order_id} are being requested too fast; retry")


def _answered(order_id: str, request_id: str, fingerprint: str, repos: Repositories) -> Return | None:
    taken = repos.returns.request(order_id, request_id)
    if taken is None:
        return None
    if taken.fingerprint != fingerprint:
        raise Conflict(f"request_id {request_id} was already used for a different return", field="request_id")
    ret = repos.returns.get(taken.rma_id)
    if ret is None:  # the claim and the return are one transaction: this cannot be
        raise Busy(f"return {taken.rma_id} is not readable yet; retry")
    return ret


def _auto_approve(ret: Return, repos: Repositories, now: datetime) -> Return:
    """Approval by the policy. When the label cannot be bought now the return stays REQUESTED and the
    same request (or an operator) approves it later."""
    from shared.domain.return_policy import auto_approves

    if ret.status is not ReturnStatus.REQUESTED or not auto_approves(ret.policy, ret.value):
        return ret
    try:
        return approve_return(ret.rma_id, Principal("policy"), repos, now, by_policy=True)
    except OmsError as stopped:  # no location takes it, the carrier refused or is down: a person approves
        from shared.observability import logger

        logger.warning("return not approved by its policy", extra={
            "rma_id": ret.rma_id, "reason": stopped.message, "error": type(stopped).__name__})
        return repos.returns.get(ret.rma_id) or ret


def _check_options(body: ReturnRequestBody, policy: ReturnPolicy) -> None:
    if body.refund_method not in policy.refund_methods:
        raise InvalidInput(f"this channel's return policy refunds only as {[m.value for m in policy.refund_methods]}",
                           field="refund_method")
    if body.exchange_lines and not policy.allow_exchange:
        raise InvalidInput("this channel's return policy allows no exchanges", field="exchange_lines")


def _requested_before(earlier: list[Return]) -> dict[int, int]:
    """Units of each order line already asked back (what a declined return asked does not count; a
    closed one counts what came back): the new request is valued after them."""
    units: dict[int, int] = {}
    for r in earlier:
        for ln in r.lines:
            n = 0 if r.status is ReturnStatus.DECLINED else ln.received if r.status is ReturnStatus.CLOSED else ln.quantity
            units[ln.line] = units.get(ln.line, 0) + n
    return units


def _shipping_asked_before(order: Order, earlier: list[Return]) -> Decimal:
    """The original shipping an earlier return of the order refunds, or will (the merchant pays for its
    reason and it is not declined): a new return is not valued with it again, nor may an exchange
    be paid with it twice."""
    from shared.domain.refunds import paid_breakdown

    if any(r.merchant_pays_shipping and r.status is not ReturnStatus.DECLINED for r in earlier):
        return paid_breakdown(order).shipping
    return Decimal(0)


def _shipments(order: Order, repos: Repositories) -> list[Shipment]:
    return repos.shipments.many(list(order.shipment_ids)) if order.shipment_ids else []


def delivered_parcels(order: Order, shipments: list[Shipment]):
    """What reached the customer and when: each delivered parcel; for an order collected in store (or
    one delivered without tracking), what shipped, at the time the order was delivered."""
    from shared.domain.return_policy import DeliveredParcel

    parcels = [DeliveredParcel(s.shipment_id, s.status_at or s.created_at, dict(s.lines)) for s in shipments
               if s.status is ShipmentStatus.DELIVERED]
    if parcels or order.status not in (OrderStatus.DELIVERED, OrderStatus.COMPLETED):
        return parcels
    delivered_at = next((h.at for h in reversed(order.history) if h.status is OrderStatus.DELIVERED), order.updated_at)
    shipped: dict[str, int] = {}
    for s in shipments:
        for sku, q in s.lines.items():
            shipped[sku] = shipped.get(sku, 0) + q
    if not shipped:  # a pickup: the whole order less what was cancelled
        shipped = {ln.sku: ln.quantity for ln in order.remaining_lines_of_request()}
    return [DeliveredParcel(f"{order.order_id}-handover", delivered_at, shipped)]


def new_rma_id(now: datetime) -> str:
    """`RMA-<yymmdd>-<8 characters>`: short enough to say on the phone, random enough not to guess."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed by people
    return f"RMA-{now.astimezone(UTC):%y%m%d}-{''.join(secrets.choice(alphabet) for _ in range(8))}"


# ------------------------------------------------------------------ deciding


def approve_return(rma_id: str, principal: Principal, repos: Repositories, now: datetime, *, by_policy: bool = False,
                   note: str | None = None) -> Return:
    """APPROVED: the return goes to the nearest active location that takes returns from the customer's
    country, with a prepaid return label when the merchant pays for the reason (else the customer
    sends it with the RMA number). Approving an approved return answers it as it is. (An exchange is
    made when the return is settled: shared/services/return_exchanges.py.)"""
    from shared.domain.return_events import ReturnApproved  # as in request_return

    if not (principal.is_operator or by_policy):
        raise AccessDenied("only an operator approves returns", field="rma_id")
    for _ in range(ATTEMPTS):
        ret = get_return(rma_id, Principal("operator"), repos)
        if ret.status is not ReturnStatus.REQUESTED:
            if ret.status is ReturnStatus.DECLINED:
                raise Conflict(f"return {rma_id} was declined", field="rma_id")
            return ret
        order = repos.orders.get(ret.order_id)
        assert order is not None, "a return's order is never deleted"
        expected = ret.version
        location = _return_location(order, repos)
        if ret.merchant_pays_shipping and ret.parcel is None:
            ret.parcel = _return_label(ret, order, location)
        ret.location_id = location.location_id
        ret.decision_note = note
        ret.move_to(ReturnStatus.APPROVED, now, principal.name, note)
        ret.version += 1
        event = ReturnApproved(occurred_at=now, rma_id=rma_id, order_id=ret.order_id, channel=ret.channel,
                               status=ret.status.value, location_id=location.location_id,
                               tracking_code=ret.parcel.tracking_code if ret.parcel else None,
                               carrier=ret.parcel.carrier if ret.parcel else None, approved_by=principal.name)
        try:
            repos.commit(repos.returns.save(ret, expected), repos.events.publish(event))
        except CommitFailed:
            continue  # decided meanwhile (or its label bought twice: the carrier answers the same reference)
        return ret
    raise Busy(f"return {rma_id} is changing too fast; retry")


def decline_return(rma_id: str, principal: Principal, note: str | None, repos: Repositories, now: datetime) -> Return:
    if not principal.is_operator:
        raise AccessDenied("only an operator declines returns", field="rma_id")
    reason = note or "declined by an operator"
    from shared.domain.return_events import ReturnDeclined  # as in request_return

    def change(ret: Return) -> ReturnDeclined | None:
        if ret.status is ReturnStatus.DECLINED:
            return None
        ret.decision_note = reason
        ret.move_to(ReturnStatus.DECLINED, now, principal.name, reason)
        return ReturnDeclined(occurred_at=now, rma_id=rma_id, order_id=ret.order_id, channel=ret.channel,
                              status=ret.status.value, declined_by=principal.name, reason=reason)

    return _decide(rma_id, change, repos)


def close_return(rma_id: str, principal: Principal, note: str | None, repos: Repositories, now: datetime) -> Return:
    """CLOSED: nothing more comes back (nothing or not all of it came in time, or everything is settled).
    What was received may still be refunded, or exchanged."""
    if not principal.is_operator:
        raise AccessDenied("only an operator closes returns", field="rma_id")
    from shared.domain.return_events import ReturnClosed  # as in request_return

    def change(ret: Return) -> ReturnClosed | None:
        if ret.status is ReturnStatus.CLOSED:
            return None
        if ret.pending_refund is not None:
            raise Conflict(f"return {rma_id} has a refund in flight; refund it first", field="rma_id")
        ret.move_to(ReturnStatus.CLOSED, now, principal.name, note)
        return ReturnClosed(occurred_at=now, rma_id=rma_id, order_id=ret.order_id, channel=ret.channel,
                            status=ret.status.value, closed_by=principal.name, note=note)

    return _decide(rma_id, change, repos)


def _decide(rma_id: str, change, repos: Repositories) -> Return:
    for _ in range(ATTEMPTS):
        ret = get_return(rma_id, Principal("operator"), repos)
        expected, before = ret.version, ret.status
        event = change(ret)
        if ret.status is before:
            return ret
        ret.version += 1
        try:
            repos.commit(repos.returns.save(ret, expected), repos.events.publish_all([event] if event else []))
            return ret
        except CommitFailed:
            continue
    raise Busy(f"return {rma_id} is changing too fast; retry")


def _return_location(order: Order, repos: Repositories):
    from shared.domain.returns import choose_return_location

    chosen = choose_return_location(repos.locations.all(), order.request.shipping_address)
    if chosen is None:
        raise Conflict(f"no active location takes returns from {order.request.shipping_address.country}; add one "
                       "(PUT /locations/{id} with accepts_returns)", field="location_id")
    return chosen


def _return_label(ret: Return, order: Order, location) -> ReturnParcel:
    from shared.carriers.adapter import LabelRequest, Parcel
    from shared.services.labels import buy_label

    if location.address is None:
        raise Conflict(f"location {location.location_id} has no address to send the return label to",
                       field="location_id")
    request = LabelRequest(reference=f"return-{ret.rma_id}", from_address=order.request.shipping_address,
                           to_address=location.address, parcel=Parcel(*RETURN_PARCEL))
    label, stored = buy_label(request)
    return ReturnParcel(carrier=label.carrier, service=label.service, tracking_code=label.tracking_code, label=stored)


def _change(status: ReturnStatus, at: datetime, by: str, note: str | None):
    from shared.domain.returns import ReturnStatusChange

    return ReturnStatusChange(status=status, at=at, by=by, note=note)


def _units(ret: Return) -> list[ReturnedUnits]:
    from shared.domain.return_events import ReturnedUnits  # as in request_return

    return [ReturnedUnits(line=ln.line, sku=ln.sku, quantity=ln.quantity) for ln in ret.lines]
