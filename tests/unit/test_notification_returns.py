"""The customer hears about their return: approval (its number, the label link by email, and by SMS that
the label was emailed), receipt (once), and the refund (as store credit when so; not a refund of nothing),
in their language, from the returns flow's own events. In-memory store; the label link comes from a fake
documents store."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from math import ceil
from pathlib import Path

import pytest

from shared.adapters.memory import MemoryStore
from shared.adapters.returns_repo import OrderReturns
from shared.domain.channels import Channel, ChannelSettings
from shared.domain.notifications import LANGUAGES, Moment, Notification, TextMessage
from shared.domain.orders import Order
from shared.domain.return_events import RefundIssued, ReturnApproved, ReturnedUnits, ReturnReceived
from shared.domain.returns import (
    Condition,
    Disposition,
    Receipt,
    RefundMethod,
    Return,
    ReturnLine,
    ReturnParcel,
    ReturnPolicy,
    ReturnReason,
)
from shared.domain.shipments import StoredLabel
from shared.repositories import Repositories
from shared.services.notifications import (
    RETURN_LABEL_LINK_TTL_S,
    STORE_CREDIT,
    Messages,
    Skipped,
    messages_for,
    moment_for,
    return_label_link,
)
from tests.factories import NOW, order_request


class Links:
    """A documents store that says which link it was asked for."""

    def put(self, key: str, body: bytes, content_type: str) -> None:
        raise AssertionError("the notifier stores nothing")

    def link(self, key: str, ttl_s: int) -> str:
        return f"https://labels.example/{key}?ttl={ttl_s}"


def make_order(language: str = "en", email: str | None = "ana@example.com", channel_order_id: str = "WEB-1001"
               ) -> Order:
    """Ana, who also gave a phone number; her channel's SMS setting is `stored`'s to give."""
    request = order_request(channel_order_id=channel_order_id, customer={
        "id": "c-1", "name": "Ana", "language": language, "phone": "+49 151 23456789",
        **({"email": email} if email is not None else {})})
    return Order(order_id="o-1", channel="web", created_at=NOW, updated_at=NOW, request=request,
                 request_fingerprint=request.fingerprint(), total=request.total)


def label(key: str | None = "labels/RMA-7.pdf", provider_url: str | None = None) -> StoredLabel:
    return StoredLabel(provider="sandbox", key=key, provider_url=provider_url, label_format="PDF", rate=Decimal("5.00"),
                       currency="EUR", provider_shipment_id="shp-1")


def make_return(stored_label: StoredLabel | None = None, receipts: tuple[tuple[str, int, int], ...] = ()) -> Return:
    """RMA-7 of order o-1, two lines; `receipts`: (receipt id, line, units moved) in the order received."""
    parcel = ReturnParcel(carrier="sandbox", service="return", tracking_code="RT-1", label=stored_label) \
        if stored_label else None
    return Return(
        rma_id="RMA-7", request_id="req-1", request_fingerprint="f", order_id="o-1", channel="web", customer_id="c-1",
        reason=ReturnReason.SIZE_OR_FIT, lines=[ReturnLine(line=0, sku="SKU-1", quantity=1),
                                                ReturnLine(line=1, sku="SKU-2", quantity=1)],
        merchant_pays_shipping=False, policy=ReturnPolicy(), value=Decimal("20.00"), currency="EUR",
        location_id="BER", parcel=parcel, created_at=NOW, updated_at=NOW,
        receipts=[Receipt(receipt_id=rid, line=line, sku=f"SKU-{line + 1}", quantity=units, asked=1,
                          condition=Condition.NEW, disposition=Disposition.RESTOCK, location_id="BER", at=NOW,
                          by="operator") for rid, line, units in receipts])


def stored(order: Order, ret: Return | None = None, sms: bool = False) -> Repositories:
    repos = Repositories.on(MemoryStore.for_table())
    repos.commit(*repos.orders.create(order))
    if sms:
        channel = Channel(channel_id=order.channel, settings=ChannelSettings(sms_notifications=True), created_at=NOW,
                          updated_at=NOW, updated_by="operator")
        repos.commit(repos.channels.save(channel, None))
    if ret is not None:
        repos.commit(repos.returns.create(ret, OrderReturns(ret.order_id)))
    return repos


def email(outcome: Messages | Skipped) -> Notification:
    assert isinstance(outcome, Messages) and isinstance(outcome.email, Notification)
    return outcome.email


def text(outcome: Messages | Skipped) -> str:
    assert isinstance(outcome, Messages) and isinstance(outcome.sms, TextMessage)
    return outcome.sms.text


def approved(**overrides) -> dict:
    event = ReturnApproved(occurred_at=NOW, rma_id="RMA-7", order_id="o-1", channel="web", status="APPROVED",
                           location_id="BER", tracking_code="RT-1", carrier="sandbox", approved_by="operator")
    return {**event.model_dump(mode="json"), **overrides}


def received(receipt_id: str, line: int) -> dict:
    return ReturnReceived(occurred_at=NOW, rma_id="RMA-7", order_id="o-1", channel="web", status="RECEIVED",
                          receipt_id=receipt_id, line=line, sku=f"SKU-{line + 1}", quantity=1, condition="new",
                          disposition="restock", location_id="BER").model_dump(mode="json")


def refunded(method: str, amount: str = "1234.5", currency: str = "EUR") -> dict:
    return RefundIssued(occurred_at=NOW, rma_id="RMA-7", order_id="o-1", channel="web", status="REFUNDED",
                        refund_id="RMA-7-R1", method=method, amount=amount, currency=currency, shipping="0",
                        restocking_fee="0", lines=[ReturnedUnits(line=0, sku="SKU-1", quantity=1)]
                        ).model_dump(mode="json")


@pytest.mark.parametrize(("detail_type", "moment"), [("ReturnApproved", Moment.RETURN_APPROVED),
                                                     ("ReturnReceived", Moment.RETURN_RECEIVED),
                                                     ("RefundIssued", Moment.REFUND_ISSUED),
                                                     ("ReturnRequested", None), ("ReturnDeclined", None),
                                                     ("ReturnInspected", None), ("StoreCreditIssued", None)])
def test_which_return_events_the_customer_hears_about(detail_type, moment):
    assert moment_for(detail_type, {}) == moment


# --- approval -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_an_approval_emails_the_rma_and_a_seven_day_label_link_in_every_language(language):
    repos = stored(make_order(language), make_return(label()), sms=True)
    outcome = messages_for("ReturnApproved", approved(), repos, NOW, documents=Links())
    message = email(outcome).message
    link = f"https://labels.example/labels/RMA-7.pdf?ttl={7 * 24 * 3600}"
    assert message.language == language
    assert "RMA-7" in message.subject and "WEB-1001" in message.subject
    assert "RMA-7" in message.body and link in message.body and "Ana" in message.body
    assert "RMA-7" in text(outcome) and "labels.example" not in text(outcome)


# GSM 03.38: the basic alphabet (one septet each) and its extension table (two: escape + character).
GSM7 = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿"
           "abcdefghijklmnopqrstuvwxyzäöñüà")
GSM7_EXTENSION = set("^{}\\[~]|€\f")


def segments(sms: str) -> int:
    """What a carrier bills: 160 GSM-7 septets in one segment, 153 a part when split; one character
    outside GSM-7 makes it UCS-2, 70 UTF-16 units in one segment, 67 a part."""
    if all(c in GSM7 or c in GSM7_EXTENSION for c in sms):
        septets = len(sms) + sum(c in GSM7_EXTENSION for c in sms)
        return 1 if septets <= 160 else ceil(septets / 153)
    units = len(sms.encode("utf-16-le")) // 2
    return 1 if units <= 70 else ceil(units / 67)


# A real RMA number (`new_rma_id`), with the factories' order number and a marketplace's long one.
# Spanish cannot be GSM-7 ("devolución", "está"): UCS-2, so two segments; the others fit in one.
@pytest.mark.parametrize("order_number", ["WEB-1001", "112-3456789-1234567"])
@pytest.mark.parametrize(("language", "most"), [("en", 1), ("de", 1), ("fr", 1), ("es", 2)])
def test_the_approval_sms_gives_no_link_only_that_the_label_was_emailed_and_stays_short(language, most, order_number):
    ret = make_return(label()).model_copy(update={"rma_id": "RMA-261203-K7Q2M9XD"})
    repos = stored(make_order(language, channel_order_id=order_number), ret, sms=True)
    sms = text(messages_for("ReturnApproved", approved(rma_id=ret.rma_id), repos, NOW, documents=Links()))
    assert "http" not in sms and "://" not in sms and "labels/" not in sms
    assert "RMA-261203-K7Q2M9XD" in sms and order_number in sms
    assert segments(sms) <= most


def test_the_approval_sms_in_english():
    repos = stored(make_order(), make_return(label()), sms=True)
    assert text(messages_for("ReturnApproved", approved(), repos, NOW, documents=Links())) == \
        "Your return RMA-7 for order WEB-1001 is approved. We have emailed you the return label."


@pytest.mark.parametrize(("order", "ret"), [
    (make_order(email=None), make_return(label())),  # a label, but no email to carry it
    (make_order(), make_return()),  # no label bought: the customer sends the parcel their own way
])
def test_the_approval_sms_mentions_no_emailed_label_when_none_was_emailed(order, ret):
    sms = text(messages_for("ReturnApproved", approved(), stored(order, ret, sms=True), NOW, documents=Links()))
    assert sms == "Your return RMA-7 for order WEB-1001 is approved."


def test_the_label_link_outlives_the_shipment_labels_and_stays_within_sigv4s_week():
    assert RETURN_LABEL_LINK_TTL_S == 604_800  # the longest a SigV4 presigned link may live


def test_a_label_held_only_by_the_provider_is_linked_there():
    ret = make_return(label(key=None, provider_url="https://carrier.example/label/1.pdf"))
    assert return_label_link(ret, Links()) == "https://carrier.example/label/1.pdf"


@pytest.mark.parametrize("ret", [None, make_return()])  # no return found, or no label bought
def test_an_approval_without_a_label_links_nothing(ret):
    repos = stored(make_order(), ret)
    body = email(messages_for("ReturnApproved", approved(), repos, NOW, documents=Links())).message.body
    assert body == ("Hello Ana,\n\nwe have approved your return RMA-7 for order WEB-1001. Please put the return "
                    "number RMA-7 in the parcel.")


# --- receipt: once per return -------------------------------------------------------------------------

RECEIPTS = (("rcv-1", 0, 1), ("rcv-1", 1, 1))  # one receipt of two lines: two events


def test_the_first_line_of_the_first_receipt_tells_the_customer():
    repos = stored(make_order("es"), make_return(receipts=RECEIPTS))
    message = email(messages_for("ReturnReceived", received("rcv-1", 0), repos, NOW)).message
    assert message.subject == "Hemos recibido tu devolución del pedido WEB-1001"
    assert "RMA-7" in message.body


@pytest.mark.parametrize(("receipts", "receipt_id", "line"), [
    (RECEIPTS, "rcv-1", 1),  # the second line of the same receipt
    ((*RECEIPTS, ("rcv-2", 0, 1)), "rcv-2", 0),  # a later receipt
    ((("rcv-0", 0, 0), ("rcv-1", 0, 1)), "rcv-0", 0),  # (a receipt that moved nothing publishes no event)
])
def test_later_receipt_events_do_not_tell_the_customer_again(receipts, receipt_id, line):
    repos = stored(make_order(), make_return(receipts=receipts))
    assert messages_for("ReturnReceived", received(receipt_id, line), repos, NOW) == \
        Skipped("the customer was told of this return's first receipt")


def test_a_receipt_of_a_return_we_cannot_read_still_tells_the_customer():
    assert isinstance(messages_for("ReturnReceived", received("rcv-1", 0), stored(make_order()), NOW), Messages)


# --- refund -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("language", "original", "credit"), [
    ("en", "we have refunded 1,234.50 EUR", "we have added 1,234.50 EUR to your store credit"),
    ("es", "te hemos reembolsado 1.234,50 EUR", "hemos añadido 1.234,50 EUR a tu saldo en la tienda"),
    ("de", "wir haben Ihnen 1.234,50 EUR für", "als Guthaben gutgeschrieben"),
    ("fr", "nous vous avons remboursé 1 234,50 EUR", "nous vous avons accordé un avoir de 1 234,50 EUR"),
])
def test_the_returns_refund_event_tells_the_amount_and_whether_it_is_store_credit(language, original, credit):
    repos = stored(make_order(language))
    to_card = email(messages_for("RefundIssued", refunded("original_payment"), repos, NOW)).message
    as_credit = email(messages_for("RefundIssued", refunded("store_credit"), repos, NOW)).message
    assert original in to_card.body and credit in as_credit.body
    assert "WEB-1001" in to_card.subject


@pytest.mark.parametrize("amount", ["0", "0.00", "0.000", "0.0000"])
@pytest.mark.parametrize("method", ["original_payment", "store_credit"])
def test_a_refund_of_nothing_tells_the_customer_nothing_by_any_medium(amount, method):
    # An exchange that took the whole returned value: the returns flow still records a refund of 0.
    repos = stored(make_order(), sms=True)
    assert messages_for("RefundIssued", refunded(method, amount), repos, NOW) == \
        Skipped("nothing was refunded (amount zero)")


def test_a_zero_refund_from_another_system_is_skipped_too():
    detail = {"event_id": "ev-0", "order_id": "o-1", "amount": "0.00", "currency": "EUR"}
    assert messages_for("RefundIssued", detail, stored(make_order()), NOW) == Skipped("nothing was refunded (amount zero)")


def test_the_smallest_refund_is_still_told():
    outcome = messages_for("RefundIssued", refunded("original_payment", "0.01"), stored(make_order(), sms=True), NOW)
    assert "0.01 EUR" in email(outcome).message.body and "0.01 EUR" in text(outcome)


def test_the_store_credit_string_is_the_refund_methods_value():
    assert STORE_CREDIT == RefundMethod.STORE_CREDIT.value  # compared as a string: see STORE_CREDIT


def test_the_notifier_does_not_import_the_returns_domain_at_cold_start():
    # `RefundMethod` and type hints are all it needs of it: not worth ~30 ms of every cold start.
    code = ("import sys, functions.notify_customers.handler; "
            "print(sorted(m for m in sys.modules if m.startswith('shared.') and 'return' in m))")
    out = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).parents[2], capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(("amount", "currency", "shown"), [("1500", "JPY", "1,500 JPY"), ("12.345", "KWD", "12.345 KWD")])
def test_refund_amounts_keep_their_currencys_minor_unit(amount, currency, shown):
    message = email(messages_for("RefundIssued", refunded("original_payment", amount, currency),
                                 stored(make_order()), NOW)).message
    assert shown in message.body and shown in message.sms
