"""Which event becomes which customer message, with which facts, in which language; tracking links;
the mailer's two ways out (SES stubbed with botocore's Stubber, the local outbox). No AWS."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from email import policy
from email.parser import BytesParser

import boto3
import pytest
from botocore.stub import Stubber

from shared.adapters.mailer import OutboxMailer, SesMailer, masked
from shared.adapters.memory import MemoryStore
from shared.domain.fulfillment import FulfillmentLine, FulfillmentOrder
from shared.domain.locations import Location
from shared.domain.notifications import (
    LANGUAGES,
    Message,
    Moment,
    Notification,
    format_amount,
    format_date,
    tracking_url,
)
from shared.domain.orders import Order
from shared.domain.shipments import Shipment
from shared.repositories import Repositories
from shared.services.notifications import (
    DelayedDetail,
    FulfillmentChangedDetail,
    Messages,
    RefundIssued,
    ShippedDetail,
    Skipped,
    compose,
    delayed_facts,
    messages_for,
    moment_for,
    pickup_facts,
    refund_facts,
    shipped_facts,
)
from tests.factories import NOW, location_request, order_request


def make_order(language: str = "en", **customer) -> Order:
    request = order_request(channel_order_id="WEB-1001", customer={"id": "c-1", "email": "ana@example.com",
                                                                   "name": "Ana", "language": language, **customer})
    return Order(order_id="o-1", channel="web", created_at=NOW, updated_at=NOW, request=request,
                 request_fingerprint=request.fingerprint(), total=request.total)


def shipment(carrier: str | None = "DHL", code: str | None = "JJD0001", **kw) -> Shipment:
    return Shipment(shipment_id="s-1", fulfillment_order_id="f-1", order_id="o-1", channel="web", location_id="BER",
                    lines={"SKU-1": 1}, carrier=carrier, tracking_code=code, created_at=NOW, **kw)


def shipped(carrier: str | None = None, code: str | None = None) -> ShippedDetail:
    return ShippedDetail(event_id="ev-1", order_id="o-1", shipment_id="s-1", carrier=carrier, tracking_code=code)


def email(messages: Messages | Skipped) -> Notification:
    assert isinstance(messages, Messages) and isinstance(messages.email, Notification)
    return messages.email


def compose_shipped(event: ShippedDetail, order: Order, found: Shipment | None,
                    tracking_template: str | None = None) -> Notification:
    return email(compose(Moment.SHIPPED, event.event_id, order, shipped_facts(event, found, tracking_template)))


def compose_delayed(event: DelayedDetail, order: Order, found: Shipment | None) -> Notification:
    facts = delayed_facts(event, found, order.request.customer.language)
    return email(compose(Moment.DELAYED, event.event_id, order, facts))


def compose_ready_for_pickup(event: FulfillmentChangedDetail, order: Order, fulfillment: FulfillmentOrder | None,
                             location: Location | None) -> Notification:
    return email(compose(Moment.READY_FOR_PICKUP, event.event_id, order,
                         pickup_facts(event, fulfillment, location)))


def compose_refund(event: RefundIssued, order: Order) -> Notification:
    facts = refund_facts(event, order.request.customer.language)
    assert not isinstance(facts, Skipped)
    return email(compose(Moment.REFUND_ISSUED, event.event_id, order, facts))


# --- which events are customer moments ------------------------------------------------------------

@pytest.mark.parametrize(("detail_type", "detail", "moment"), [
    # Confirmed once verified and first allocated (or backordered), not on receipt: a held order
    # may never be prepared. Later allocation steps confirm nothing again.
    ("OrderReceived", {}, None),
    ("OrderAllocated", {"previous": "RECEIVED"}, Moment.CONFIRMED),
    ("OrderBackordered", {"previous": "RECEIVED"}, Moment.CONFIRMED),
    ("OrderAllocated", {"previous": "BACKORDERED"}, None),
    ("OrderAllocated", {"previous": "ALLOCATED"}, None),
    ("OrderBackordered", {"previous": "ALLOCATED"}, None),
    ("OrderOnHold", {}, None),
    ("OrderRejected", {}, Moment.REJECTED),
    ("ShipmentDispatched", {}, Moment.SHIPPED),
    ("ShipmentDelayed", {}, Moment.DELAYED),
    ("OrderDelivered", {}, Moment.DELIVERED),
    ("OrderCancelled", {}, Moment.CANCELLED),
    ("RefundIssued", {}, Moment.REFUND_ISSUED),
    ("FulfillmentOrderChanged", {"status": "READY_FOR_PICKUP"}, Moment.READY_FOR_PICKUP),
    ("FulfillmentOrderChanged", {"status": "PACKED"}, None),
    ("OrderAllocated", {}, None),
    ("StockChanged", {}, None),
])
def test_moment_per_event(detail_type, detail, moment):
    assert moment_for(detail_type, detail) == moment


# --- composing: recipient, language, the customer's order number ----------------------------------

@pytest.mark.parametrize(("language", "subject"), [
    ("en", "Your order WEB-1001 is confirmed"),
    ("es", "Tu pedido WEB-1001 está confirmado"),
    ("de-AT", "Ihre Bestellung WEB-1001 ist bestätigt"),
    ("fr", "Votre commande WEB-1001 est confirmée"),
    ("pt", "Your order WEB-1001 is confirmed"),  # no Portuguese templates: English
])
def test_confirmation_in_the_customers_language_with_the_channels_order_number(language, subject):
    notification = email(compose(Moment.CONFIRMED, "ev-1", make_order(language)))
    assert notification.recipient == "ana@example.com"
    assert notification.message.subject == subject
    assert (notification.event_id, notification.order_id, notification.moment) == ("ev-1", "o-1", Moment.CONFIRMED)
    assert "o-1" not in notification.message.body  # our internal id means nothing to the customer


@pytest.mark.parametrize(("language", "subject"), [
    ("en", "We could not accept your order WEB-1001"),
    ("es", "No hemos podido aceptar tu pedido WEB-1001"),
    ("de", "Wir konnten Ihre Bestellung WEB-1001 nicht annehmen"),
    ("fr", "Nous n'avons pas pu accepter votre commande WEB-1001"),
])
def test_a_rejection_tells_the_customer_we_could_not_accept_the_order(language, subject):
    message = email(compose(Moment.REJECTED, "ev-1", make_order(language))).message
    assert message.subject == subject
    assert "Ana" in message.body and "WEB-1001" in message.body


@pytest.mark.parametrize("language", sorted(LANGUAGES))
@pytest.mark.parametrize("moment", [Moment.DELIVERED, Moment.CANCELLED, Moment.REJECTED])
def test_order_level_moments_in_every_language(language, moment):
    message = email(compose(moment, "ev-1", make_order(language))).message
    assert message.language == language and "WEB-1001" in message.subject and "Ana" in message.body


@pytest.mark.parametrize("email", [None, "", "not-an-address", "a@b.com\nBcc: x@y.com", "two words@x.com"])
def test_a_customer_without_a_usable_address_is_skipped(email):
    order = make_order()
    order.request.customer = order.request.customer.model_copy(update={"email": email})
    assert compose(Moment.CONFIRMED, "ev-1", order).email == Skipped("customer has no usable email address")


def test_a_line_break_in_a_name_does_not_reach_the_subject():
    order = make_order()
    order.request.customer = order.request.customer.model_copy(update={"name": "Ana\r\nBcc: x@y.com"})
    subject = email(compose(Moment.CONFIRMED, "ev-1", order)).message.subject
    assert "\n" not in subject and "\r" not in subject


# --- shipped and delayed: tracking link, number, date ---------------------------------------------

@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_shipped_gives_link_and_number_in_every_language(language):
    body = compose_shipped(shipped("UPS", "1Z999"), make_order(language), None).message.body
    assert "https://www.ups.com/track?tracknum=1Z999" in body and "(" in body


def test_shipped_with_an_unknown_carrier_gives_the_number_without_a_link():
    body = compose_shipped(shipped("Bicycle Couriers Ltd", "BC-42"), make_order("de"), None).message.body
    assert "Ihre Sendungsnummer: BC-42." in body and "http" not in body


def test_shipped_without_any_tracking_says_nothing_about_it():
    body = compose_shipped(shipped(), make_order(), None).message.body
    assert body == "Hello Ana,\n\nyour parcel has left us."


def test_shipped_takes_missing_tracking_from_the_shipment_record():
    body = compose_shipped(shipped(), make_order(), shipment("FedEx Ground", "7946")).message.body
    assert "https://www.fedex.com/fedextrack/?trknbr=7946" in body


def test_shipped_uses_the_merchants_tracking_page_when_set():
    body = compose_shipped(shipped("UPS", "1Z9"), make_order(), None,
                           tracking_template="https://shop.example/track/{carrier}/{code}").message.body
    assert "https://shop.example/track/UPS/1Z9" in body


@pytest.mark.parametrize(("language", "date"), [("en", "2026-12-03"), ("de", "03.12.2026"), ("es", "03/12/2026"),
                                                ("fr", "03/12/2026")])
def test_delayed_gives_the_carriers_new_date_and_the_link(language, date):
    event = DelayedDetail(event_id="ev-2", order_id="o-1", shipment_id="s-1", tracking_code="JJD0001",
                          estimated_delivery=datetime(2026, 12, 3, 18, tzinfo=UTC))
    body = compose_delayed(event, make_order(language), shipment("DHL Paket")).message.body
    assert date in body
    assert "https://www.dhl.com/global-en/home/tracking.html?tracking-id=JJD0001&submit=1" in body


def test_delayed_without_an_estimate_names_no_date():
    event = DelayedDetail(event_id="ev-2", order_id="o-1", shipment_id="s-1")
    body = compose_delayed(event, make_order(), None).message.body
    assert body == "Hello Ana,\n\nyour parcel is running late. We are sorry for the wait."


# --- ready for pickup, refund ----------------------------------------------------------------------

def pickup_order(code: str | None) -> FulfillmentOrder:
    return FulfillmentOrder(fulfillment_order_id="f-1", order_id="o-1", channel="web", location_id="PAR", pickup=True,
                            lines=[FulfillmentLine(sku="SKU-1", quantity=1)], created_at=NOW, updated_at=NOW,
                            pickup_code=code)


READY = FulfillmentChangedDetail(event_id="ev-3", order_id="o-1", fulfillment_order_id="f-1", location_id="PAR",
                                 status="READY_FOR_PICKUP")
PARIS = Location(location_id="PAR", updated_at=NOW, **location_request("FR", name="Paris Rivoli").model_dump())


def test_ready_for_pickup_names_the_store_and_the_code():
    body = compose_ready_for_pickup(READY, make_order("fr"), pickup_order("482913"), PARIS).message.body
    assert "vous attend à Paris Rivoli" in body and "482913" in body


def test_ready_for_pickup_without_a_code_or_a_known_store():
    body = compose_ready_for_pickup(READY, make_order(), pickup_order(None), None).message.body
    assert body == "Hello Ana,\n\nyour order is waiting for you at PAR."


@pytest.mark.parametrize(("language", "amount"), [("en", "1,234.50 EUR"), ("de", "1.234,50 EUR"),
                                                  ("es", "1.234,50 EUR"), ("fr", "1 234,50 EUR")])
def test_refund_amount_in_the_customers_format(language, amount):
    event = RefundIssued(event_id="ev-4", order_id="o-1", amount="1234.5", currency="EUR")
    assert amount in compose_refund(event, make_order(language)).message.body


def test_refund_contract_refuses_a_float_and_an_unknown_currency():
    with pytest.raises(ValueError):
        RefundIssued(event_id="e", order_id="o", amount=12.5, currency="EUR")
    with pytest.raises(ValueError):
        RefundIssued(event_id="e", order_id="o", amount="12.50", currency="EUD")


@pytest.mark.parametrize(("amount", "currency", "text"), [("1500", "JPY", "1,500 JPY"), ("1.5", "KWD", "1.500 KWD"),
                                                          ("0.1", "USD", "0.10 USD")])
def test_amounts_use_the_currencys_minor_units(amount, currency, text):
    assert format_amount(Decimal(amount), currency, "en") == text


def test_dates_per_language():
    day = datetime(2026, 1, 9).date()
    assert [format_date(day, lang) for lang in ("en", "de", "fr", "xx")] == \
        ["2026-01-09", "09.01.2026", "09/01/2026", "2026-01-09"]


# --- tracking links ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("carrier", "url"), [
    ("UPS", "https://www.ups.com/track?tracknum=AB%2012"),
    ("ups_ground", "https://www.ups.com/track?tracknum=AB%2012"),
    ("USPS", "https://tools.usps.com/go/TrackConfirmAction?tLabels=AB%2012"),
    ("FedEx", "https://www.fedex.com/fedextrack/?trknbr=AB%2012"),
    ("DHLExpress", "https://www.dhl.com/global-en/home/tracking.html?tracking-id=AB%2012&submit=1"),
    ("dhl-paket", "https://www.dhl.com/global-en/home/tracking.html?tracking-id=AB%2012&submit=1"),
    ("sandbox", None),
    (None, None),
])
def test_tracking_link_per_carrier(carrier, url):
    assert tracking_url(carrier, "AB 12") == url


def test_no_tracking_number_no_link():
    assert tracking_url("UPS", None) is None
    assert tracking_url("UPS", "", "https://shop.example/{code}") is None


def test_the_merchants_template_wins_and_covers_unknown_carriers():
    assert tracking_url("sandbox", "X/1", "https://shop.example/t?c={code}") == "https://shop.example/t?c=X%2F1"


# --- the use case, on the in-memory store -------------------------------------------------------------

class ReadCountingStore:
    """The in-memory store, noting the kind of each item read (its key's prefix: order, shipment...)."""

    def __init__(self):
        self.memory = MemoryStore.for_table()
        self.reads: list[str] = []

    def get(self, pk: str, sk: str, consistent: bool = True):
        self.reads.append(pk.split("#", 1)[0].lower())
        return self.memory.get(pk, sk, consistent)

    def batch_get(self, keys):
        self.reads.extend(pk.split("#", 1)[0].lower() for pk, _ in keys)
        return self.memory.batch_get(keys)

    def query(self, key, **kwargs):
        self.reads.append(f"query {key.partition}")
        return self.memory.query(key, **kwargs)

    def query_all(self, key, **kwargs):
        self.reads.append(f"query {key.partition}")
        return self.memory.query_all(key, **kwargs)

    def transact(self, writes):
        self.memory.transact(writes)

    def write(self, write, return_new: bool = False):
        return self.memory.write(write, return_new)


def stored(order: Order | None = None, shipment: Shipment | None = None,
           fulfillment_order: FulfillmentOrder | None = None, location: Location | None = None) -> Repositories:
    """Repositories over a fresh store holding these, written the way the use cases write them."""
    repos = Repositories.on(ReadCountingStore())
    writes = [*(repos.orders.create(order) if order else []),
              *([repos.shipments.create(shipment)] if shipment else []),
              *([repos.fulfillment.create(fulfillment_order)] if fulfillment_order else []),
              *([repos.locations.put(location)] if location else [])]
    if writes:
        repos.commit(*writes)
    return repos


def reads(repos: Repositories) -> list[str]:
    return repos.store.reads


def test_an_event_for_an_order_we_do_not_have_is_skipped():
    outcome = messages_for("OrderDelivered", {"event_id": "e", "order_id": "o-x"}, stored(), NOW)
    assert outcome == Skipped("order not found")


def test_an_event_that_is_no_customer_moment_reads_nothing():
    repos = stored(make_order())
    assert isinstance(messages_for("OrderAllocated", {"event_id": "e", "order_id": "o-1"}, repos, NOW), Skipped)
    assert reads(repos) == []


def test_shipped_reads_the_shipment_only_when_the_event_lacks_tracking():
    detail = {"event_id": "e", "order_id": "o-1", "shipment_id": "s-1", "carrier": "UPS", "tracking_code": "1Z"}
    complete = stored(make_order())
    messages_for("ShipmentDispatched", detail, complete, NOW)
    assert reads(complete) == ["order"]

    partial = stored(make_order(), shipment=shipment("USPS", "9400"))
    outcome = messages_for("ShipmentDispatched", {**detail, "carrier": None, "tracking_code": None}, partial, NOW)
    assert reads(partial) == ["order", "shipment"]
    assert "tLabels=9400" in email(outcome).message.body


def test_ready_for_pickup_reads_fulfilment_order_and_location():
    repos = stored(make_order("fr"), fulfillment_order=pickup_order("111222"), location=PARIS)
    detail = {"event_id": "e", "order_id": "o-1", "fulfillment_order_id": "f-1", "location_id": "PAR",
              "status": "READY_FOR_PICKUP", "previous": "PACKED"}
    body = email(messages_for("FulfillmentOrderChanged", detail, repos, NOW)).message.body
    assert "111222" in body and "Paris Rivoli" in body
    assert reads(repos) == ["order", "fulfillment", "location"]


def test_a_malformed_event_raises_so_the_record_is_retried_then_dead_lettered():
    with pytest.raises(ValueError):
        messages_for("RefundIssued", {"event_id": "e", "order_id": "o-1", "amount": "x", "currency": "EUR"},
                         stored(make_order()), NOW)


# --- the mailer ------------------------------------------------------------------------------------------

NOTE = Notification("ana@example.com", Message("de", "Ihre Bestellung W-1 ist unterwegs", "Hallo Ana,\n\nÜber…"),
                    Moment.SHIPPED, "ev-9", "o-1")


def test_ses_gets_one_simple_utf8_message_from_the_sender():
    ses = boto3.client("sesv2", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(ses) as stub:
        stub.add_response("send_email", {"MessageId": "m-123"}, {
            "FromEmailAddress": "orders@shop.example",
            "Destination": {"ToAddresses": ["ana@example.com"]},
            "Content": {"Simple": {"Subject": {"Data": NOTE.message.subject, "Charset": "UTF-8"},
                                   "Body": {"Text": {"Data": NOTE.message.body, "Charset": "UTF-8"}}}},
            "EmailTags": [{"Name": "moment", "Value": "shipped"}],
        })
        assert SesMailer("orders@shop.example", ses).send(NOTE) == "m-123"
        stub.assert_no_pending_responses()


def test_an_ses_error_propagates_so_the_record_is_retried():
    ses = boto3.client("sesv2", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(ses) as stub:
        stub.add_client_error("send_email", "TooManyRequestsException", http_status_code=429)
        with pytest.raises(ses.exceptions.TooManyRequestsException):
            SesMailer("orders@shop.example", ses).send(NOTE)


def test_the_outbox_keeps_every_send_as_a_readable_eml(tmp_path):
    mailer = OutboxMailer(tmp_path / "outbox", "orders@shop.example")
    first, second = mailer.send(NOTE), mailer.send(NOTE)

    files = sorted((tmp_path / "outbox").iterdir())
    assert [f.name for f in files] == sorted([first, second])  # each send is a file; no temporary left over
    assert all("-shipped-ev-9-" in f.name and f.suffix == ".eml" for f in files)
    email = BytesParser(policy=policy.default).parsebytes(files[0].read_bytes())
    assert (email["From"], email["To"], email["Subject"]) == ("orders@shop.example", "ana@example.com",
                                                              "Ihre Bestellung W-1 ist unterwegs")
    assert email["Content-Language"] == "de" and email["X-OMS-Event-Id"] == "ev-9"
    assert email.get_content().rstrip("\n") == NOTE.message.body


def test_addresses_are_masked_for_logs():
    assert masked("ana@example.com") == "a***@example.com"
