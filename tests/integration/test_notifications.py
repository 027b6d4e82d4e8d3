"""Customer notifications on moto: one message per event, in the customer's language, in the local
outbox (OMS_LOCAL_OUTBOX, a tmp dir per test) or through SES."""

from __future__ import annotations

import json
import os
import time
from decimal import Decimal
from email import policy
from email.parser import BytesParser
from pathlib import Path

import boto3
import pytest
import requests

from shared.adapters.notification_claims import ClaimResult, Found, NotificationClaims
from shared.adapters.returns_repo import OrderReturns
from shared.adapters.sms import OutboxSms, read_outbox_sms
from shared.config import settings
from shared.domain.channels import SEED_CHANNELS, Channel
from shared.domain.fulfillment import FulfillmentLine, FulfillmentOrder
from shared.domain.return_events import ReturnApproved
from shared.domain.returns import Return, ReturnLine, ReturnParcel, ReturnPolicy, ReturnReason
from shared.domain.shipments import StoredLabel
from tests.factories import NOW, TWO_WAREHOUSES, location_request, order_body, seed
from tests.integration.conftest import outbox_events, sqs_event

SENDER = "orders@example.com"


def outbox() -> list[Path]:
    directory = Path(os.environ["OMS_LOCAL_OUTBOX"])
    return sorted(directory.glob("*.eml")) if directory.exists() else []


def read(path: Path):
    return BytesParser(policy=policy.default).parsebytes(path.read_bytes())


def sent(moment: str) -> list:
    return [read(p) for p in outbox() if f"-{moment}-" in p.name]


def outbox_event(repos, detail_type: str) -> dict:
    found = outbox_events(repos, detail_type)
    assert len(found) == 1
    return found[0]


def two_copies(detail_type: str, detail: dict) -> dict:
    """The same event delivered twice in one batch (EventBridge and SQS both deliver at least once)."""
    first, second = sqs_event(detail_type, detail, "m-1"), sqs_event(detail_type, detail, "m-2")
    return {"Records": first["Records"] + second["Records"]}


@pytest.fixture
def stocked(repos):
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 5})


@pytest.fixture
def order_id(api, stocked):
    """A captured order of a Spanish-speaking customer (nothing pumped yet)."""
    body = order_body(customer={"id": "c-7", "email": "lucia@example.com", "name": "Lucía", "language": "es-MX"},
                      channel_order_id="WEB-1001")
    return api("POST", "/orders", as_="web", json=body).json["order_id"]


@pytest.fixture
def allocated(order_id, functions, repos) -> dict:
    """The order allocated (allocate-orders run directly, nothing delivered to the notifier yet): its
    OrderAllocated event, the one that confirms it."""
    assert functions.invoke("allocate-orders", sqs_event("OrderReceived", {"order_id": order_id})) == \
        {"batchItemFailures": []}
    return outbox_event(repos, "OrderAllocated")


def test_a_captured_order_gets_one_confirmation_in_the_customers_language(order_id, pump):
    pump()

    [confirmation] = sent("confirmed")
    assert confirmation["To"] == "lucia@example.com"
    assert confirmation["From"] == SENDER
    assert confirmation["Subject"] == "Tu pedido WEB-1001 está confirmado"  # the channel's number, in Spanish
    assert confirmation["Content-Language"] == "es"
    assert confirmation["X-OMS-Order-Id"] == order_id
    assert "Hola Lucía" in confirmation.get_content()
    assert len(outbox()) == 1  # receipt, fulfilment requests are not customer moments


def test_the_same_event_delivered_twice_sends_one_message(allocated, functions):
    assert functions.invoke("notify-customers", two_copies("OrderAllocated", allocated)) == \
        {"batchItemFailures": []}
    assert functions.invoke("notify-customers", sqs_event("OrderAllocated", allocated, "m-3")) == \
        {"batchItemFailures": []}

    assert len(outbox()) == 1


def test_without_the_idempotency_guard_the_duplicate_would_be_sent(allocated, functions, monkeypatch):
    """The test above fails without the guard (every claim granted): the outbox records every send."""
    monkeypatch.setattr(NotificationClaims, "claim",
                        lambda self, keys, now, deadline_ms: {k: ClaimResult(Found.CLAIMED) for k in keys})
    functions.invoke("notify-customers", sqs_event("OrderAllocated", allocated, "m-1"))
    functions.invoke("notify-customers", sqs_event("OrderAllocated", allocated, "m-3"))
    assert len(outbox()) == 2


@pytest.mark.parametrize(("payment", "hold"), [({"status": "pending", "amount": "10.00"}, "AWAITING_PAYMENT"),
                                               ({"status": "paid", "amount": "99.00"}, "PAYMENT_MISMATCH"),
                                               (None, "UNKNOWN_SKU")])
def test_a_held_order_is_not_confirmed_and_a_rejected_one_hears_we_could_not_accept_it(api, stocked, pump,
                                                                                       payment, hold):
    body = order_body([("SKU-1" if payment else "NO-SUCH-SKU", 1)], channel_order_id="WEB-2001",
                      customer={"id": "c-7", "email": "lucia@example.com", "name": "Lucía", "language": "es"})
    if payment:
        body["payment"] = payment
    order_id = api("POST", "/orders", as_="web", json=body).json["order_id"]
    pump()
    order = api("GET", f"/orders/{order_id}").json
    assert order["status"] == "ON_HOLD" and order["holds"][0]["reason"] == hold
    assert outbox() == []  # nothing promised to the customer while it is held

    assert api("POST", f"/orders/{order_id}/reject", json={"reason": "internal: fraud check"}).status_code == 200
    pump()

    [rejected] = sent("rejected")
    assert rejected["Subject"] == "No hemos podido aceptar tu pedido WEB-2001"
    assert "fraud" not in rejected.get_content()  # the operator's reason is written for staff
    assert sent("confirmed") == []


def test_a_released_order_is_confirmed_when_it_is_allocated(api, stocked, pump):
    body = order_body(channel_order_id="WEB-2002", payment_status="pending")
    order_id = api("POST", "/orders", as_="web", json=body).json["order_id"]
    pump()
    assert outbox() == []

    assert api("POST", f"/orders/{order_id}/release").status_code == 200
    pump()

    assert api("GET", f"/orders/{order_id}").json["status"] == "ALLOCATED"
    [confirmed] = sent("confirmed")
    assert confirmed["X-OMS-Order-Id"] == order_id


def test_a_backordered_order_is_confirmed_once_and_not_again_when_its_stock_arrives(api, stocked, pump):
    assert api("PUT", "/inventory/SKU-2/BER", json={"on_hand": 0}).status_code == 200  # known, none in stock
    order_id = api("POST", "/orders", as_="web", json=order_body([("SKU-2", 1)], channel_order_id="WEB-2003")
                   ).json["order_id"]
    pump()
    assert api("GET", f"/orders/{order_id}").json["status"] == "BACKORDERED"
    assert len(sent("confirmed")) == 1

    assert api("PUT", "/inventory/SKU-2/BER", json={"on_hand": 3}).status_code == 200
    pump()

    assert api("GET", f"/orders/{order_id}").json["status"] == "ALLOCATED"
    assert len(sent("confirmed")) == 1


def test_a_cancelled_order_gets_one_cancellation(order_id, api, pump):
    pump()
    assert api("POST", f"/orders/{order_id}/cancel", as_="web").status_code == 200
    pump()

    [cancellation] = sent("cancelled")
    assert cancellation["Subject"] == "Tu pedido WEB-1001 ha sido cancelado"
    assert len(sent("confirmed")) == 1


def test_shipped_gives_the_carriers_tracking_link(order_id, functions):
    detail = {"event_id": "ev-ship", "occurred_at": NOW.isoformat(), "shipment_id": "s-1", "fulfillment_order_id":
              "f-1", "order_id": order_id, "channel": "web", "location_id": "BER", "lines": [], "carrier": "UPS",
              "service": "ground", "tracking_code": "1Z999AA10123456784"}
    assert functions.invoke("notify-customers", sqs_event("ShipmentDispatched", detail)) == {"batchItemFailures": []}

    [shipped] = sent("shipped")
    assert "https://www.ups.com/track?tracknum=1Z999AA10123456784" in shipped.get_content()
    assert shipped["X-OMS-Event-Id"] == "ev-ship"


def test_delayed_names_the_new_date(order_id, functions):
    detail = {"event_id": "ev-late", "occurred_at": NOW.isoformat(), "shipment_id": "s-unknown", "order_id": order_id,
              "channel": "web", "tracking_code": "JJD0001", "reason": "LATE",
              "estimated_delivery": "2026-12-03T18:00:00Z", "promised_by": "2026-12-01T18:00:00Z"}
    assert functions.invoke("notify-customers", sqs_event("ShipmentDelayed", detail)) == {"batchItemFailures": []}

    [delayed] = sent("delayed")
    body = delayed.get_content()
    assert "03/12/2026" in body
    assert "JJD0001" in body and "http" not in body  # carrier unknown (no shipment record): number, no link


def test_delivered(order_id, functions):
    detail = {"event_id": "ev-dlv", "occurred_at": NOW.isoformat(), "order_id": order_id, "channel": "web"}
    functions.invoke("notify-customers", sqs_event("OrderDelivered", detail))
    assert sent("delivered")[0]["Subject"] == "Tu pedido WEB-1001 ha sido entregado"


def test_ready_for_pickup_gives_the_store_and_the_code(api, repos, functions):
    seed(repos, {"STORE-PAR": location_request("FR", name="Paris Rivoli", pickup_enabled=True)}, {})
    body = order_body(customer={"id": "c-8", "email": "jean@example.com", "name": "Jean", "language": "fr"})
    order_id = api("POST", "/orders", as_="web", json=body).json["order_id"]
    fo = FulfillmentOrder(fulfillment_order_id="f-pickup", order_id=order_id, channel="web", location_id="STORE-PAR",
                          pickup=True, lines=[FulfillmentLine(sku="SKU-1", quantity=1)], created_at=NOW,
                          updated_at=NOW, pickup_code="482913")
    repos.commit(repos.fulfillment.create(fo))
    detail = {"event_id": "ev-ready", "occurred_at": NOW.isoformat(), "fulfillment_order_id": "f-pickup",
              "order_id": order_id, "location_id": "STORE-PAR", "status": "READY_FOR_PICKUP", "previous": "PACKED"}

    functions.invoke("notify-customers", sqs_event("FulfillmentOrderChanged", detail))

    [ready] = sent("ready_for_pickup")
    assert ready["Subject"] == "Votre commande CO-1 est prête à être retirée"
    assert "Paris Rivoli" in ready.get_content() and "482913" in ready.get_content()


def test_refund_issued_by_another_system(order_id, functions):
    detail = {"event_id": "ev-refund", "order_id": order_id, "amount": "1234.5", "currency": "EUR"}
    functions.invoke("notify-customers", sqs_event("RefundIssued", detail))
    assert "1.234,50 EUR" in sent("refund_issued")[0].get_content()


def test_an_unknown_order_is_skipped_not_retried(aws, functions):
    detail = {"event_id": "ev-x", "occurred_at": NOW.isoformat(), "order_id": "o-missing", "channel": "web"}
    assert functions.invoke("notify-customers", sqs_event("OrderDelivered", detail)) == {"batchItemFailures": []}
    assert outbox() == []


def test_an_event_without_an_id_fails_its_record(aws, functions):
    detail = {"order_id": "o-1", "channel": "web"}
    result = functions.invoke("notify-customers", sqs_event("OrderDelivered", detail))
    assert result == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}


def idempotency_records(repos) -> list[dict]:
    return repos.store.client.query(TableName=repos.store.name, KeyConditionExpression="pk = :pk",
                                    ExpressionAttributeValues={":pk": {"S": "IDEMPOTENCY#notify-customers"}})["Items"]


def moto_data() -> dict:
    return requests.get(f"{os.environ['AWS_ENDPOINT_URL']}/moto-api/data.json", timeout=10).json()


@pytest.fixture
def ses(aws, monkeypatch):
    """SES instead of the outbox, as in AWS."""
    monkeypatch.delenv("OMS_LOCAL_OUTBOX")
    settings.cache_clear()
    return boto3.client("ses")


def test_in_aws_the_message_goes_through_ses_once(allocated, functions, repos, ses, tmp_path):
    ses.verify_email_identity(EmailAddress=SENDER)

    assert functions.invoke("notify-customers", two_copies("OrderAllocated", allocated)) == \
        {"batchItemFailures": []}

    assert ses.get_send_quota()["SentLast24Hours"] == 1
    assert not (tmp_path / "outbox").exists()
    [record] = idempotency_records(repos)
    assert record["status"]["S"] == "COMPLETED"
    assert 14 * 86400 < int(record["expires_at"]["N"]) - time.time() < 16 * 86400  # the table's TTL removes it
    message_id = json.loads(record["data"]["S"])["reference"]
    [message] = [m for m in moto_data()["ses"]["Message"] if m["id"] == message_id]
    assert (message["source"], message["destinations"]) == (SENDER, {"ToAddresses": ["lucia@example.com"]})
    assert message["subject"] == "Tu pedido WEB-1001 está confirmado"


def test_a_failed_send_is_retried_and_then_sent(allocated, functions, repos, ses):
    # The sender identity is not verified yet: SES refuses; the record fails and SQS would retry.
    assert functions.invoke("notify-customers", sqs_event("OrderAllocated", allocated)) == \
        {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    ses.verify_email_identity(EmailAddress=SENDER)
    # The failed attempt left no idempotency record that would swallow the retry.
    assert functions.invoke("notify-customers", sqs_event("OrderAllocated", allocated)) == {"batchItemFailures": []}
    assert ses.get_send_quota()["SentLast24Hours"] == 1


# --- text messages (SMS) beside email -------------------------------------------------------------------

PHONE = "+34 612 345 678"


def texts(moment: str | None = None) -> list[tuple[dict, str]]:
    directory = Path(os.environ["OMS_LOCAL_OUTBOX"])
    paths = sorted(directory.glob("*.sms")) if directory.exists() else []
    return [read_outbox_sms(p) for p in paths if moment is None or f"-{moment}-" in p.name]


def channel_sends_sms(repos, allowed: bool = True) -> None:
    """The seed channel `web`, configured as before plus `sms_notifications`."""
    settings_ = SEED_CHANNELS["web"].model_copy(update={"sms_notifications": allowed})
    repos.commit(repos.channels.save(Channel(channel_id="web", settings=settings_, created_at=NOW, updated_at=NOW,
                                             updated_by="operator"), None))


@pytest.fixture
def texted_order(api, stocked) -> str:
    """A captured order of a customer who gave a phone number (nothing pumped yet)."""
    body = order_body(customer={"id": "c-9", "email": "lucia@example.com", "name": "Lucía", "language": "es",
                                "phone": PHONE}, channel_order_id="WEB-3001")
    return api("POST", "/orders", as_="web", json=body).json["order_id"]


def delivered(order_id: str) -> dict:
    return {"event_id": "ev-dlv-sms", "occurred_at": NOW.isoformat(), "order_id": order_id, "channel": "web"}


def test_a_redelivered_event_sends_one_email_and_one_sms(texted_order, repos, functions):
    channel_sends_sms(repos)

    assert functions.invoke("notify-customers", two_copies("OrderDelivered", delivered(texted_order))) == \
        {"batchItemFailures": []}
    assert functions.invoke("notify-customers", sqs_event("OrderDelivered", delivered(texted_order), "m-3")) == \
        {"batchItemFailures": []}

    assert len(sent("delivered")) == 1
    [(headers, text)] = texts("delivered")
    assert headers["To"] == "+34612345678" and headers["X-OMS-Order-Id"] == texted_order
    assert text == "Tu pedido WEB-3001 ha sido entregado. ¡Que lo disfrutes!"
    sks = sorted(r["sk"]["S"].split("#")[0] for r in idempotency_records(repos))
    assert sks == ["notify-customers", "notify-customers-sms"]  # one claim per medium


def test_a_channel_that_does_not_send_sms_sends_email_only(texted_order, repos, functions):
    channel_sends_sms(repos, allowed=False)
    functions.invoke("notify-customers", sqs_event("OrderDelivered", delivered(texted_order)))
    assert len(sent("delivered")) == 1 and texts() == []


def test_a_failed_sms_is_retried_without_sending_the_email_again(texted_order, repos, functions, monkeypatch):
    channel_sends_sms(repos)
    send = OutboxSms.send
    failures = iter([RuntimeError("SMS service unavailable")])

    def flaky(self, sms):
        for failure in failures:
            raise failure
        return send(self, sms)

    monkeypatch.setattr(OutboxSms, "send", flaky)
    assert functions.invoke("notify-customers", sqs_event("OrderDelivered", delivered(texted_order))) == \
        {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    assert len(sent("delivered")) == 1 and texts() == []

    assert functions.invoke("notify-customers", sqs_event("OrderDelivered", delivered(texted_order))) == \
        {"batchItemFailures": []}
    assert len(sent("delivered")) == 1 and len(texts("delivered")) == 1


def test_no_phone_number_or_email_address_in_any_log_line(texted_order, repos, functions, caplog):
    channel_sends_sms(repos)
    with caplog.at_level("INFO", logger="oms"):  # the functions' logger (the local runtime sets it to WARNING)
        functions.invoke("notify-customers", two_copies("OrderDelivered", delivered(texted_order)))
    logged = " ".join(f"{record.getMessage()} {record.__dict__}" for record in caplog.records)
    assert "customer notified" in logged and "already handled" in logged  # the sends and the duplicate were logged...
    for personal in ("lucia@example.com", "+34612345678", "612345678", "612 345 678", "Lucía",
                     "Tu pedido WEB-3001 ha sido entregado"):
        assert personal not in logged  # ...without the address, the number, the name or the text


def test_an_approved_return_links_its_label_for_a_week_by_email_and_says_so_by_sms(texted_order, repos, functions):
    channel_sends_sms(repos)
    label = StoredLabel(provider="sandbox", key="labels/RMA-9.pdf", label_format="PDF", rate=Decimal("4.90"), currency="EUR",
                        provider_shipment_id="shp-9")
    ret = Return(rma_id="RMA-9", request_id="r-9", request_fingerprint="f", order_id=texted_order, channel="web",
                 customer_id="c-9", reason=ReturnReason.DEFECTIVE, lines=[ReturnLine(line=0, sku="SKU-1", quantity=1)],
                 merchant_pays_shipping=True, policy=ReturnPolicy(), value=Decimal("10.00"), currency="EUR",
                 location_id="BER", created_at=NOW, updated_at=NOW,
                 parcel=ReturnParcel(carrier="sandbox", service="return", tracking_code="RT-9", label=label))
    repos.commit(repos.returns.create(ret, OrderReturns(texted_order)))
    detail = ReturnApproved(occurred_at=NOW, rma_id="RMA-9", order_id=texted_order, channel="web", status="APPROVED",
                            location_id="BER", tracking_code="RT-9", carrier="sandbox", approved_by="operator")

    assert functions.invoke("notify-customers", sqs_event("ReturnApproved", detail.model_dump(mode="json"))) == \
        {"batchItemFailures": []}

    [approval] = sent("return_approved")
    assert approval["Subject"] == "Tu devolución RMA-9 del pedido WEB-3001 está aprobada"
    content = approval.get_content()
    link = content[content.index("http"):].split()[0]  # the emulator answers on http://127.0.0.1
    assert "labels/RMA-9.pdf" in link and "X-Amz-Expires=604800" in link
    [(_, text)] = texts("return_approved")  # the link is 1-2k characters in AWS: not for an SMS
    assert text == ("Tu devolución RMA-9 del pedido WEB-3001 está aprobada. Tienes la etiqueta en tu correo "
                    "electrónico.")


def test_a_refund_of_nothing_sends_neither_email_nor_sms(texted_order, repos, functions):
    channel_sends_sms(repos)  # (an exchange took the whole returned value)
    detail = {"event_id": "ev-refund-0", "order_id": texted_order, "amount": "0.00", "currency": "EUR",
              "method": "original_payment", "rma_id": "RMA-9"}
    assert functions.invoke("notify-customers", sqs_event("RefundIssued", detail)) == {"batchItemFailures": []}
    assert outbox() == [] and texts() == []
