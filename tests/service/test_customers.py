"""The customer view (GET /customers/{id}) and service notes, on the in-memory store: orders across
channels from the customer partitions (gsi5), lifetime value at each capture day's rate with missing
rates listed, store credit, open exceptions, paging, and what a channel may see."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from shared.domain.customers import NoteRequest, order_value
from shared.domain.orders import OrderStatus
from shared.domain.principal import OPERATOR, Principal
from shared.domain.reconciliation import ExceptionKind, ExceptionRecord
from shared.errors import AccessDenied, Conflict, InvalidInput
from shared.services.allocation import allocate_order
from shared.services.capture import capture_order
from shared.services.customers import add_note, customer_view
from tests.factories import NOW, TWO_WAREHOUSES, order_request, seed
from tests.service.flows import policy

OP, WEB, APP = Principal(OPERATOR), Principal("web"), Principal("app")
CUSTOMER = {"id": "c-1", "email": "ana@example.com", "name": "Ana"}


def place(repos, channel: str, coid: str, *, price: str = "10.00", currency: str = "EUR", customer_id: str = "c-1",
          at=NOW, **kw):
    request = order_request([("SKU-1", 1)], channel_order_id=coid, price=price, currency=currency,
                            customer={**CUSTOMER, "id": customer_id}, **kw)
    return capture_order(request, channel, repos, at).order


def view(repos, principal=OP, channel=None, limit=50, cursor=None, customer_id="c-1"):
    return customer_view(customer_id, channel, limit, cursor, principal, repos, "EUR", NOW + timedelta(days=3))


def test_the_operator_sees_the_customer_on_every_channel_with_a_lifetime_value_in_the_base_currency(repos):
    # Given orders of c-1 on web (EUR, the base) and app (USD on two days: one with a rate, one without)
    web = place(repos, "web", "W-1", price="20.00")
    app_rated = place(repos, "app", "A-1", price="10.00", currency="USD")
    app_unrated = place(repos, "app", "A-2", price="5.00", currency="USD", at=NOW + timedelta(days=1))
    place(repos, "web", "W-9", customer_id="c-2")  # someone else
    repos.commit(repos.analytics.put_fx_rates(NOW.date(), {"USD": Decimal("0.9")}, "EUR", NOW, "operator"))

    found = view(repos)

    assert [o.order_id for o in found.orders] == [app_rated.order_id, app_unrated.order_id, web.order_id]
    ltv = found.summary.lifetime_value
    assert ltv.by_currency == {"EUR": Decimal("20.00"), "USD": Decimal("15.00")}
    # 20 EUR + 10 USD x 0.9; the 5 USD of a day without a rate is listed, never guessed
    assert ltv.base_amount == Decimal("29.00")
    assert (ltv.orders_counted, ltv.orders_converted) == (3, 2)
    assert [(m.order_id, m.date, m.currency) for m in ltv.fx_missing] == \
        [(app_unrated.order_id, (NOW + timedelta(days=1)).date(), "USD")]
    assert ltv.complete


def test_the_operator_can_narrow_the_view_to_one_channel(repos):
    place(repos, "web", "W-1")
    app = place(repos, "app", "A-1")
    found = view(repos, channel="app")
    assert found.channels == ["app"] and [o.order_id for o in found.orders] == [app.order_id]
    assert found.summary.lifetime_value.orders_counted == 1


def test_a_channel_sees_only_its_own_orders_of_the_customer_and_no_notes(repos):
    web = place(repos, "web", "W-1", price="20.00")
    place(repos, "app", "A-1", price="99.00")
    add_note("c-1", NoteRequest(text="called about a late parcel"), OP, repos, NOW)

    found = view(repos, principal=WEB)

    assert found.channels == ["web"]
    assert [o.order_id for o in found.orders] == [web.order_id]
    assert found.summary.lifetime_value.by_currency == {"EUR": Decimal("20.00")}  # its own orders only
    assert found.summary.notes is None
    with pytest.raises(AccessDenied):
        view(repos, principal=WEB, channel="app")


def test_pages_walk_every_channel_once_and_only_the_first_carries_the_summary(repos):
    ids = [place(repos, "app", f"A-{i}", at=NOW + timedelta(minutes=i)).order_id for i in range(3)]
    ids += [place(repos, "web", f"W-{i}", at=NOW + timedelta(minutes=i)).order_id for i in range(4)]
    seen, cursor, pages = [], None, 0
    while True:
        page = view(repos, limit=2, cursor=cursor)
        assert (page.summary is not None) == (cursor is None)
        assert len(page.orders) <= 2
        seen += [o.order_id for o in page.orders]
        pages, cursor = pages + 1, page.next_cursor
        if cursor is None:
            break
    assert seen == ids  # app's then web's, each oldest first, none twice
    assert pages >= 4


def test_a_channel_cannot_page_into_another_channels_partition(repos):
    place(repos, "web", "W-1")
    place(repos, "web", "W-2")
    web_cursor = view(repos, principal=WEB, limit=1).next_cursor
    assert web_cursor and web_cursor.startswith("web.")
    with pytest.raises(InvalidInput) as refused:
        view(repos, principal=APP, limit=1, cursor=web_cursor)  # a channel it does not cover
    assert refused.value.field == "cursor"
    with pytest.raises(InvalidInput):  # web's partition cursor passed off as app's
        view(repos, principal=APP, limit=1, cursor="app." + web_cursor.removeprefix("web."))


def test_store_credit_and_open_exceptions_are_in_the_summary(repos):
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 10})
    held = place(repos, "web", "W-1", payment_status="pending")
    allocate_order(held.order_id, repos, policy, NOW)
    stuck = place(repos, "app", "A-1")
    repos.commit(repos.reconciliation.raise_exception(ExceptionRecord(
        kind=ExceptionKind.STUCK_ORDER, subject=stuck.order_id, since=NOW, raised_at=NOW, reason="RECEIVED for 2 h",
        suggested_action="look at it", order_id=stuck.order_id, channel="app")))
    repos.commit(repos.store_credit.move("web", "c-1", "given-1", Decimal("12.50"), "EUR", NOW))

    summary = view(repos).summary

    assert summary.store_credit == {"web": {"EUR": Decimal("12.50")}}
    kinds = {(e.order_id, e.kind) for e in summary.exceptions}
    assert (held.order_id, "ON_HOLD") in kinds
    assert (stuck.order_id, "STUCK_ORDER") in kinds


def test_an_order_cancelled_or_rejected_is_worth_nothing_and_refunds_come_off(repos):
    order = place(repos, "web", "W-1", price="30.00")
    assert order_value(order) == Decimal("30.00")
    assert order_value(order.model_copy(update={"status": OrderStatus.CANCELLED})) == 0
    assert order_value(order.model_copy(update={"status": OrderStatus.REJECTED})) == 0
    paid = order.payment
    refunded = paid.model_copy(update={"reported_refunded": Decimal("12.00")})
    assert order_value(order.model_copy(update={"payment": refunded})) == Decimal("18.00")


def test_notes_are_the_operators_newest_first_and_a_retry_adds_none(repos):
    first, dup = add_note("c-1", NoteRequest(text="first"), OP, repos, NOW)
    second, _ = add_note("c-1", NoteRequest(text="second", request_id="r-2"), OP, repos, NOW + timedelta(minutes=1))
    again, dup_again = add_note("c-1", NoteRequest(text="second", request_id="r-2"), OP, repos,
                                NOW + timedelta(minutes=5))
    assert not dup and dup_again and again == second
    assert [(n.text, n.by) for n in view(repos).summary.notes] == [("second", "operator"), ("first", "operator")]
    with pytest.raises(Conflict) as other_body:
        add_note("c-1", NoteRequest(text="other", request_id="r-2"), OP, repos, NOW)
    assert other_body.value.field == "request_id"
    with pytest.raises(AccessDenied):
        add_note("c-1", NoteRequest(text="from a shop"), WEB, repos, NOW)
    assert first.at == NOW


@pytest.mark.parametrize("body", [{"text": ""}, {"text": "   "}, {"text": "x" * 2001}, {"text": "ok", "who": "me"},
                                  {}])
def test_a_bad_note_is_refused_by_its_model(body):
    with pytest.raises(ValidationError):
        NoteRequest.model_validate(body)
