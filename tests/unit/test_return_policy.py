"""Return requests against a channel's policy (shared/domain/return_policy.py): the window to the
second, partial and repeated returns, non-returnable SKUs, parcels delivered on different days, and
requests that name what the order does not have."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from shared.domain.orders import Order, OrderRequest
from shared.domain.return_policy import (
    DeliveredParcel,
    PolicyRefusal,
    PolicyRule,
    ReturnCheck,
    auto_approves,
    check_return,
    counted,
)
from shared.domain.returns import RequestedLine, Return, ReturnLine, ReturnPolicy, ReturnReason, ReturnStatus
from shared.errors import InvalidInput
from tests.factories import NOW, order_body

pytestmark = pytest.mark.unit

POLICY = ReturnPolicy(window_days=30)
DELIVERED = datetime(2026, 11, 1, 10, 0, 0, tzinfo=UTC)
CLOSES = datetime(2026, 12, 1, 10, 0, 0, tzinfo=UTC)  # 30 days later, to the second
ORDER_ID = "o" + "0" * 24


def make_order(*lines: tuple[str, int]) -> Order:
    request = OrderRequest.model_validate(order_body(list(lines), payment_status="pending"))
    return Order(order_id=ORDER_ID, channel="web", created_at=NOW, updated_at=NOW, request=request,
                 request_fingerprint=request.fingerprint(), total=request.total)


def parcel(at: datetime = DELIVERED, shipment_id: str = "s1", **lines: int) -> DeliveredParcel:
    return DeliveredParcel(shipment_id=shipment_id, delivered_at=at, lines={k.replace("_", "-"): v
                                                                            for k, v in lines.items()})


def ask(sku: str, quantity: int, line: int | None = None) -> RequestedLine:
    return RequestedLine(sku=sku, quantity=quantity, line=line)


def earlier_return(lines: list[ReturnLine], status: ReturnStatus = ReturnStatus.REQUESTED, n: int = 1) -> Return:
    return Return(rma_id=f"RMA-{n}", request_id=f"req-{n}", request_fingerprint="f", order_id=ORDER_ID, channel="web",
                  customer_id="cust-1", status=status, reason=ReturnReason.CHANGED_MIND, lines=lines,
                  merchant_pays_shipping=False, policy=POLICY, value=Decimal("10.00"), currency="EUR",
                  created_at=NOW, updated_at=NOW)


def as_return(check: ReturnCheck, status: ReturnStatus = ReturnStatus.REQUESTED, n: int = 1) -> Return:
    return earlier_return(check.lines, status, n)


def refused(rule: PolicyRule, field: str, order: Order, parcels, requested, *, earlier=(), policy=POLICY,
            now: datetime = DELIVERED) -> PolicyRefusal:
    with pytest.raises(PolicyRefusal) as caught:
        check_return(order, parcels, list(earlier), requested, policy, now)
    assert (caught.value.rule, caught.value.field) == (rule, field), caught.value.message
    assert rule.value in caught.value.message
    return caught.value


def units(check: ReturnCheck) -> list[tuple[int, str, int]]:
    return [(ln.line, ln.sku, ln.quantity) for ln in check.lines]


# ------------------------------------------------------------------ the window


def test_a_unit_is_returnable_up_to_the_second_the_window_closes():
    order = make_order(("SKU-1", 1))

    check = check_return(order, [parcel(SKU_1=1)], [], [ask("SKU-1", 1)], POLICY, CLOSES)

    assert units(check) == [(0, "SKU-1", 1)]
    assert "2026-12-01T10:00:00Z" in check.reasons[0]


def test_one_second_after_the_window_closed_the_return_is_refused_saying_when():
    order = make_order(("SKU-1", 1))

    refusal = refused(PolicyRule.WINDOW, "lines.0.quantity", order, [parcel(SKU_1=1)], [ask("SKU-1", 1)],
                      now=CLOSES + timedelta(seconds=1))

    assert "closed at 2026-12-01T10:00:00Z" in refusal.message


@pytest.mark.parametrize("zone", [timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))])
def test_a_now_in_another_zone_means_the_same_instant(zone):
    order = make_order(("SKU-1", 1))
    delivered_there = parcel(DELIVERED.astimezone(zone), SKU_1=1)

    assert check_return(order, [delivered_there], [], [ask("SKU-1", 1)], POLICY, CLOSES.astimezone(zone)).lines
    refused(PolicyRule.WINDOW, "lines.0.quantity", order, [delivered_there], [ask("SKU-1", 1)],
            now=(CLOSES + timedelta(seconds=1)).astimezone(zone))


def test_a_naive_datetime_is_a_bug_not_a_refusal():
    with pytest.raises(ValueError, match="aware"):
        check_return(make_order(("SKU-1", 1)), [parcel(SKU_1=1)], [], [ask("SKU-1", 1)], POLICY,
                     CLOSES.replace(tzinfo=None))


def test_two_parcels_of_one_sku_delivered_on_different_days():
    # 1 unit delivered on day 0 (window closed by day 35), 2 on day 20 (still open on day 35).
    order = make_order(("SKU-1", 3))
    parcels = [parcel(DELIVERED, "s1", SKU_1=1), parcel(DELIVERED + timedelta(days=20), "s2", SKU_1=2)]
    day_35 = DELIVERED + timedelta(days=35)

    assert units(check_return(order, parcels, [], [ask("SKU-1", 2)], POLICY, day_35)) == [(0, "SKU-1", 2)]
    refusal = refused(PolicyRule.WINDOW, "lines.0.quantity", order, parcels, [ask("SKU-1", 3)], now=day_35)
    assert "only 2 of its units are still returnable" in refusal.message

    # An earlier return counts against the oldest parcel first: the two in the window stay returnable.
    one_back = earlier_return([ReturnLine(line=0, sku="SKU-1", quantity=1)])
    assert units(check_return(order, parcels, [one_back], [ask("SKU-1", 2)], POLICY, day_35)) == [(0, "SKU-1", 2)]

    # Two back: the old parcel's unit and one of the recent parcel's; one is left.
    two_back = earlier_return([ReturnLine(line=0, sku="SKU-1", quantity=2)])
    assert check_return(order, parcels, [two_back], [ask("SKU-1", 1)], POLICY, day_35).lines
    refused(PolicyRule.QUANTITY, "lines.0.quantity", order, parcels, [ask("SKU-1", 2)], earlier=[two_back],
            now=day_35)


# ------------------------------------------------------------------ quantities


def test_partial_and_repeated_returns_of_one_line():
    order = make_order(("SKU-1", 3))
    parcels = [parcel(SKU_1=3)]

    first = check_return(order, parcels, [], [ask("SKU-1", 1)], POLICY, DELIVERED)
    second = check_return(order, parcels, [as_return(first)], [ask("SKU-1", 2)], POLICY, DELIVERED)
    refusal = refused(PolicyRule.QUANTITY, "lines.0.quantity", order, parcels, [ask("SKU-1", 1)],
                      earlier=[as_return(first, n=1), as_return(second, n=2)])

    assert units(first) == [(0, "SKU-1", 1)]
    assert units(second) == [(0, "SKU-1", 2)]
    assert "quantity" in refusal.message


def test_a_declined_return_frees_its_units_and_a_closed_one_keeps_only_what_came_back():
    order = make_order(("SKU-1", 3))
    declined = earlier_return([ReturnLine(line=0, sku="SKU-1", quantity=3)], ReturnStatus.DECLINED)
    closed = earlier_return([ReturnLine(line=0, sku="SKU-1", quantity=3, received=1)], ReturnStatus.CLOSED, n=2)

    assert counted(declined, declined.lines[0]) == 0
    assert units(check_return(order, [parcel(SKU_1=3)], [declined], [ask("SKU-1", 3)], POLICY, DELIVERED)) \
        == [(0, "SKU-1", 3)]
    assert check_return(order, [parcel(SKU_1=3)], [closed], [ask("SKU-1", 2)], POLICY, DELIVERED).lines
    refused(PolicyRule.QUANTITY, "lines.0.quantity", order, [parcel(SKU_1=3)], [ask("SKU-1", 3)], earlier=[closed])


def test_more_than_ordered_is_refused_on_quantity():
    refused(PolicyRule.QUANTITY, "lines.0.quantity", make_order(("SKU-1", 2)), [parcel(SKU_1=2)], [ask("SKU-1", 3)])


def test_units_not_delivered_yet_are_refused():
    order = make_order(("SKU-1", 3))

    refused(PolicyRule.NOT_DELIVERED, "lines.0.sku", order, [], [ask("SKU-1", 1)])
    refusal = refused(PolicyRule.NOT_DELIVERED, "lines.0.quantity", order, [parcel(SKU_1=2)], [ask("SKU-1", 3)])
    assert "only 2 of 3 units have been delivered" in refusal.message


def test_a_sku_on_two_order_lines_fills_them_in_order_unless_a_line_is_named():
    order = make_order(("SKU-1", 1), ("SKU-2", 1), ("SKU-1", 2))
    parcels = [parcel(SKU_1=3, SKU_2=1)]

    spread = check_return(order, parcels, [], [ask("SKU-1", 3)], POLICY, DELIVERED)
    named = check_return(order, parcels, [], [ask("SKU-1", 2, line=2)], POLICY, DELIVERED)
    after_first = check_return(order, parcels, [earlier_return([ReturnLine(line=0, sku="SKU-1", quantity=1)])],
                               [ask("SKU-1", 2)], POLICY, DELIVERED)

    assert units(spread) == [(0, "SKU-1", 1), (2, "SKU-1", 2)]
    assert len(spread.reasons) == 2
    assert units(named) == [(2, "SKU-1", 2)]
    assert units(after_first) == [(2, "SKU-1", 2)]
    refused(PolicyRule.QUANTITY, "lines.0.quantity", order, parcels, [ask("SKU-1", 3, line=2)])


def test_two_lines_of_one_sku_in_one_request_share_the_units_in_the_window():
    # Ordered on lines 0 and 1; one unit per line, one delivered long ago, one recently.
    order = make_order(("SKU-1", 1), ("SKU-1", 1))
    parcels = [parcel(DELIVERED, "s1", SKU_1=1), parcel(DELIVERED + timedelta(days=20), "s2", SKU_1=1)]

    refused(PolicyRule.WINDOW, "lines.1.quantity", order, parcels, [ask("SKU-1", 1, line=0), ask("SKU-1", 1, line=1)],
            now=DELIVERED + timedelta(days=35))


# ------------------------------------------------------------------ what may be asked at all


@pytest.mark.parametrize(("patterns", "sku", "blocked"), [
    (["GIFT-*"], "GIFT-CARD-50", True),
    (["GIFT-*"], "GIFTWRAP", False),
    (["gift-*"], "GIFT-CARD-50", False),           # case-sensitive
    (["UNDERWEAR-*", "SKU-9"], "SKU-9", True),
    (["SKU-9"], "SKU-90", False),                  # a pattern without * is the whole SKU
    (["*-FINAL"], "DRESS-RED-FINAL", True),
])
def test_non_returnable_sku_patterns(patterns, sku, blocked):
    order = make_order((sku, 1))
    policy = ReturnPolicy(window_days=30, non_returnable_skus=patterns)
    parcels = [DeliveredParcel("s1", DELIVERED, {sku: 1})]

    if blocked:
        refusal = refused(PolicyRule.NON_RETURNABLE, "lines.0.sku", order, parcels, [ask(sku, 1)], policy=policy)
        assert sku in refusal.message
    else:
        assert check_return(order, parcels, [], [ask(sku, 1)], policy, DELIVERED).lines


def test_a_line_not_on_the_order():
    order = make_order(("SKU-1", 1), ("SKU-2", 1))
    parcels = [parcel(SKU_1=1, SKU_2=1)]

    refused(PolicyRule.UNKNOWN_LINE, "lines.0.sku", order, parcels, [ask("SKU-3", 1)])
    refused(PolicyRule.UNKNOWN_LINE, "lines.1.line", order, parcels, [ask("SKU-2", 1), ask("SKU-1", 1, line=1)])
    refused(PolicyRule.UNKNOWN_LINE, "lines.0.line", order, parcels, [ask("SKU-1", 1, line=7)])


@pytest.mark.parametrize("requested", [
    [ask("SKU-1", 1), ask("SKU-1", 1)],
    [ask("SKU-1", 1, line=0), ask("SKU-1", 1, line=0)],
    [ask("SKU-1", 1), ask("SKU-1", 1, line=0)],
    [ask("SKU-1", 1, line=0), ask("SKU-1", 1)],
])
def test_the_same_line_asked_twice(requested):
    order = make_order(("SKU-1", 2))

    refused(PolicyRule.DUPLICATE_LINE, "lines.1", order, [parcel(SKU_1=2)], requested)


def test_an_empty_request():
    refusal = refused(PolicyRule.EMPTY, "lines", make_order(("SKU-1", 1)), [parcel(SKU_1=1)], [])

    assert isinstance(refusal, InvalidInput)  # answered 422 by shared/http/api.py
    assert refusal.details == [{"field": "lines", "problem": "empty"}]


@pytest.mark.parametrize("quantity", [0, -1])
def test_zero_or_negative_quantities_are_refused_by_the_request_model(quantity):
    with pytest.raises(ValidationError):
        RequestedLine(sku="SKU-1", quantity=quantity)


def test_auto_approval_up_to_the_policy_value():
    assert not auto_approves(ReturnPolicy(), Decimal("0.01"))
    policy = ReturnPolicy(auto_approve_up_to=Decimal("50.00"))
    assert auto_approves(policy, Decimal("50.00"))
    assert not auto_approves(policy, Decimal("50.01"))


# ------------------------------------------------------------------ property


@st.composite
def scenarios(draw):
    lines = draw(st.lists(st.tuples(st.sampled_from(["SKU-A", "SKU-B"]), st.integers(1, 4)), min_size=1, max_size=4))
    order = make_order(*lines)
    ordered = Counter[str]()
    for sku, q in lines:
        ordered[sku] += q
    parcels: list[DeliveredParcel] = []
    for sku, total in ordered.items():
        left = draw(st.integers(0, total))  # some may not be delivered
        while left:
            n = draw(st.integers(1, left))
            day = draw(st.integers(0, 60))
            parcels.append(DeliveredParcel(f"s{len(parcels)}", DELIVERED + timedelta(days=day), {sku: n}))
            left -= n
    asks = draw(st.lists(st.tuples(
        st.sampled_from(["SKU-A", "SKU-B"]), st.integers(1, 5), st.none() | st.integers(0, 3),
        st.integers(0, 90 * 24), st.sampled_from(list(ReturnStatus)), st.integers(0, 5)), max_size=6))
    return order, parcels, asks


@settings(deadline=None, max_examples=200)
@given(scenarios())
def test_approved_units_never_exceed_delivered_units(scenario):
    order, parcels, asks = scenario
    delivered = Counter[str]()
    for p in parcels:
        delivered.update(p.lines)
    earlier: list[Return] = []
    for n, (sku, quantity, line, hours, status, received) in enumerate(asks):
        now = DELIVERED + timedelta(hours=hours)
        try:
            check = check_return(order, parcels, earlier, [ask(sku, quantity, line)], POLICY, now)
        except PolicyRefusal:
            continue
        in_window = sum(p.lines.get(sku, 0) for p in parcels if now <= p.delivered_at + timedelta(days=30))
        assert sum(ln.quantity for ln in check.lines) == quantity <= in_window
        lines = [ln.model_copy(update={"received": min(received, ln.quantity)}) for ln in check.lines]
        earlier.append(earlier_return(lines, status, n))

        held_by_sku, held_by_line = Counter[str](), Counter[int]()
        for ret in earlier:
            for ln in ret.lines:
                held_by_sku[ln.sku] += counted(ret, ln)
                held_by_line[ln.line] += counted(ret, ln)
        assert all(held_by_sku[s] <= delivered[s] for s in held_by_sku)
        assert all(held_by_line[i] <= order.request.lines[i].quantity for i in held_by_line)
