"""Whether a return request is allowed by the channel's return policy, and which order lines it takes.

The rules, checked in this order; the first that fails is refused (`PolicyRefusal`, a 422 naming the
rule and the field):

1. `empty`: a request names at least one line.
2. `unknown_line`: each line's SKU is on the order; a `line` index given must be an order line of that SKU.
3. `duplicate_line`: an order line is asked for once. A SKU asked without `line` may not be asked again
   (with or without `line`): which units the second ask means would be a guess.
4. `non_returnable`: the SKU matches none of the policy's `non_returnable_skus` patterns (shell-style,
   case-sensitive: `GIFT-*`).
5. `quantity` (ordered): at most the order line's quantity less what earlier returns of it count. A SKU
   asked without `line` takes the order lines with that SKU in order, each up to what it has left, so
   an order with the SKU on two lines needs no index unless the caller wants one line in particular.
6. `not_delivered`: no unit of the SKU has been delivered yet.
7. `window`: a unit may be returned while `now <= delivered_at + window_days` of its parcel (to the
   second; aware datetimes, compared as instants, so a `now` in any zone means the same). Units of one
   SKU may have come in parcels delivered on different days: earlier returns count against the oldest
   parcels first (FIFO), and what is asked now must fit the units left in parcels still in the window.
8. `not_delivered` (again): more is asked than was delivered and is left, while some units are still
   on their way; else `quantity`: more than delivered less what is returned or requested already.

What earlier returns count: their `quantity`, except a DECLINED return (nothing) and a CLOSED one
(what was received: units never sent back are free again).

Pure: no AWS, no clock; the caller passes `now` and the parcels delivered (a shipment's DELIVERED
`status_at`, or for a pickup order one parcel for the collection).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from fnmatch import fnmatchcase

from shared.domain.orders import Order
from shared.domain.returns import RequestedLine, Return, ReturnLine, ReturnPolicy, ReturnStatus
from shared.errors import InvalidInput


class PolicyRule(StrEnum):
    EMPTY = "empty"
    UNKNOWN_LINE = "unknown_line"
    DUPLICATE_LINE = "duplicate_line"
    NON_RETURNABLE = "non_returnable"
    QUANTITY = "quantity"
    NOT_DELIVERED = "not_delivered"
    WINDOW = "window"


class PolicyRefusal(InvalidInput):
    """A return request the policy refuses (422): `rule` names the rule, `field` the request field
    (dotted, as the API's own validation names fields: `lines.1.quantity`)."""

    def __init__(self, rule: PolicyRule, field: str, message: str) -> None:
        super().__init__(f"{message} (return policy: {rule.value})", field=field,
                         details=[{"field": field, "problem": rule.value}])
        self.rule = rule


@dataclass(frozen=True)
class DeliveredParcel:
    """A parcel of the order that reached the customer: when, and the units of each SKU in it."""

    shipment_id: str
    delivered_at: datetime
    lines: Mapping[str, int]


@dataclass
class ReturnCheck:
    """An allowed request: the order lines it takes (one ReturnLine per order line), and why."""

    lines: list[ReturnLine] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)


def auto_approves(policy: ReturnPolicy, value: Decimal) -> bool:
    """Whether a return worth `value` (in the order's currency) is approved without an operator."""
    return policy.auto_approve_up_to is not None and value <= policy.auto_approve_up_to


def counted(ret: Return, line: ReturnLine) -> int:
    """Units of `line` that an earlier return still holds against the order line."""
    if ret.status is ReturnStatus.DECLINED:
        return 0
    return line.received if ret.status is ReturnStatus.CLOSED else line.quantity


def check_return(order: Order, parcels: Sequence[DeliveredParcel], earlier: Sequence[Return],
                 requested: Sequence[RequestedLine], policy: ReturnPolicy, now: datetime) -> ReturnCheck:
    """The rules of the module docstring, in order; raises the first PolicyRefusal."""
    for moment in (now, *(p.delivered_at for p in parcels)):
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError("return windows compare aware datetimes only")
    _check_shape(order, requested)
    by_line, by_sku = Counter[int](), Counter[str]()
    for ret in earlier:
        for ln in ret.lines if ret.order_id == order.order_id else ():
            by_line[ln.line] += counted(ret, ln)
            by_sku[ln.sku] += counted(ret, ln)
    asked_now = Counter[str]()
    check = ReturnCheck()
    for i, req in enumerate(requested):
        pattern = next((p for p in policy.non_returnable_skus if fnmatchcase(req.sku, p)), None)
        if pattern is not None:
            raise PolicyRefusal(PolicyRule.NON_RETURNABLE, f"lines.{i}.sku",
                                f"{req.sku} cannot be returned (the channel's return policy excludes {pattern})")
        targets = [req.line] if req.line is not None else \
            [j for j, ln in enumerate(order.request.lines) if ln.sku == req.sku]
        room = {j: max(order.request.lines[j].quantity - by_line[j], 0) for j in targets}
        if req.quantity > sum(room.values()):
            raise PolicyRefusal(PolicyRule.QUANTITY, f"lines.{i}.quantity",
                                f"{req.sku}: {req.quantity} asked, only {sum(room.values())} of the units ordered "
                                "are not returned or asked for already")
        until = _check_delivered(order, req, f"lines.{i}", parcels, by_sku[req.sku], asked_now[req.sku], policy, now)
        asked_now[req.sku] += req.quantity
        left = req.quantity
        for j in targets:
            take = min(left, room[j])
            if take:
                check.lines.append(ReturnLine(line=j, sku=req.sku, quantity=take))
                check.reasons.append(f"line {j} ({req.sku}): {take} of {order.request.lines[j].quantity} units, "
                                     f"{by_line[j]} returned or asked before; returnable until {_utc(until)}")
                by_line[j] += take
                left -= take
    return check


def _check_shape(order: Order, requested: Sequence[RequestedLine]) -> None:
    lines = order.request.lines
    if not requested:
        raise PolicyRefusal(PolicyRule.EMPTY, "lines", "a return names at least one line of the order")
    on_order = {ln.sku for ln in lines}
    seen: set[tuple[str, int | None]] = set()
    unlined: set[str] = set()
    for i, req in enumerate(requested):
        if req.sku not in on_order:
            raise PolicyRefusal(PolicyRule.UNKNOWN_LINE, f"lines.{i}.sku", f"{req.sku} is not on this order")
        if req.line is not None and (req.line >= len(lines) or lines[req.line].sku != req.sku):
            raise PolicyRefusal(PolicyRule.UNKNOWN_LINE, f"lines.{i}.line",
                                f"line {req.line} of this order is not {req.sku}")
        if (req.sku, req.line) in seen or req.sku in unlined or (req.line is None and req.sku in {s for s, _ in seen}):
            raise PolicyRefusal(PolicyRule.DUPLICATE_LINE, f"lines.{i}",
                                f"{req.sku}" + (f" (line {req.line})" if req.line is not None else "")
                                + " is asked for twice: ask for each order line once")
        seen.add((req.sku, req.line))
        if req.line is None:
            unlined.add(req.sku)


def _check_delivered(order: Order, req: RequestedLine, where: str, parcels: Sequence[DeliveredParcel],
                     before: int, now_asked: int, policy: ReturnPolicy, now: datetime) -> datetime:
    """Rules 6 to 8 for one requested line; the earliest close of the windows its units are in."""
    sku, want = req.sku, req.quantity
    mine = sorted((p.delivered_at, p.shipment_id, p.lines[sku]) for p in parcels if p.lines.get(sku, 0) > 0)
    delivered = sum(units for _, _, units in mine)
    if not delivered:
        raise PolicyRefusal(PolicyRule.NOT_DELIVERED, f"{where}.sku", f"{sku} has not been delivered yet")
    window = timedelta(days=policy.window_days)
    used, in_window = before, -now_asked   # earlier returns take the oldest parcels; this request the rest
    open_until: datetime | None = None
    closed: datetime | None = None
    for at, _, units in mine:
        rest = units - min(used, units)
        used -= units - rest
        if rest and now <= at + window:
            in_window += rest
            open_until = at + window if open_until is None else min(open_until, at + window)
        elif rest:
            closed = at + window if closed is None else max(closed, at + window)
    if want <= in_window and open_until is not None:
        return open_until
    left = max(delivered - before - now_asked, 0)
    if closed is not None and (want <= left or in_window <= 0):
        more = f"only {max(in_window, 0)} of its units are still returnable; " if in_window > 0 else ""
        raise PolicyRefusal(PolicyRule.WINDOW, f"{where}.quantity",
                            f"{sku}: {more}the {policy.window_days}-day return window closed at {_utc(closed)}")
    ordered = sum(ln.quantity for ln in order.request.lines if ln.sku == sku)
    if ordered > delivered:
        raise PolicyRefusal(PolicyRule.NOT_DELIVERED, f"{where}.quantity",
                            f"{sku}: {want} asked, only {delivered} of {ordered} units have been delivered "
                            f"and {left} of them are not returned or asked for already")
    raise PolicyRefusal(PolicyRule.QUANTITY, f"{where}.quantity",
                        f"{sku}: {want} asked, only {left} of the {delivered} units delivered are not returned "
                        "or asked for already")


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
