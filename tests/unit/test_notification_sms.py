"""Text messages (SMS) beside email: who gets one (a phone number written internationally, a channel
that sends SMS), the End User Messaging SMS request (botocore's Stubber on a real client: moto does not
implement pinpoint-sms-voice-v2), the local outbox. No AWS, no network."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from shared.adapters.memory import MemoryStore
from shared.adapters.sms import EndUserMessagingSms, OutboxSms, SmsRefused, read_outbox_sms, sms_sender
from shared.config import settings
from shared.domain.channels import Channel, ChannelSettings
from shared.domain.notifications import Medium, Moment, TextMessage
from shared.domain.orders import Order
from shared.repositories import Repositories
from shared.services.notifications import Messages, Skipped, compose, messages_for
from tests.factories import NOW, order_request

PHONE = "+49 (0)151 2345-6789"
E164 = "+4915123456789"
SMS = TextMessage(E164, "Ihre Bestellung W-1 ist unterwegs. Sendungsverfolgung: https://t.example/1", "de",
                  Moment.SHIPPED, "ev-9", "o-1")


def make_order(phone: str | None = PHONE, language: str = "de", channel: str = "web") -> Order:
    request = order_request(channel_order_id="WEB-1001", customer={
        "id": "c-1", "email": "ana@example.com", "name": "Ana", "language": language,
        **({"phone": phone} if phone is not None else {})})
    return Order(order_id="o-1", channel=channel, created_at=NOW, updated_at=NOW, request=request,
                 request_fingerprint=request.fingerprint(), total=request.total)


def sms_client():
    return boto3.client("pinpoint-sms-voice-v2", region_name="eu-central-1", aws_access_key_id="x",
                        aws_secret_access_key="x")


# --- who gets a text message -----------------------------------------------------------------------------

def test_a_customer_with_a_phone_number_on_a_channel_that_sends_sms_gets_both():
    messages = compose(Moment.CONFIRMED, "ev-1", make_order(), sms_allowed=True)
    assert isinstance(messages.sms, TextMessage)
    assert messages.sms.recipient == E164
    assert messages.sms.text == "Ihre Bestellung WEB-1001 ist bestätigt und wird vorbereitet."
    assert (messages.sms.language, messages.sms.moment, messages.sms.event_id) == ("de", Moment.CONFIRMED, "ev-1")
    assert messages.email.recipient == "ana@example.com"  # type: ignore[union-attr]
    assert [medium for medium, _ in messages.by_medium()] == [Medium.EMAIL, Medium.SMS]


@pytest.mark.parametrize(("phone", "allowed", "reason"), [
    (None, True, "customer gave no phone number"),
    (PHONE, False, "the order's channel does not send SMS"),
    ("0151 2345 6789", True, "phone number is not written internationally (+ and country code)"),
])
def test_no_text_message_without_a_usable_number_or_a_channel_that_sends_them(phone, allowed, reason):
    messages = compose(Moment.CONFIRMED, "ev-1", make_order(phone), sms_allowed=allowed)
    assert messages.sms == Skipped(reason)
    assert messages.email.recipient == "ana@example.com"  # type: ignore[union-attr]  # the email still goes


def test_a_customer_without_email_may_still_get_the_text_message():
    order = make_order()
    order.request.customer = order.request.customer.model_copy(update={"email": None})
    messages = compose(Moment.DELIVERED, "ev-1", order, sms_allowed=True)
    assert isinstance(messages.email, Skipped) and isinstance(messages.sms, TextMessage)


def stored(order: Order, sms: bool | None) -> Repositories:
    """The order, and its channel configured with `sms_notifications` (None: the seed channel, never configured)."""
    repos = Repositories.on(MemoryStore.for_table())
    repos.commit(*repos.orders.create(order))
    if sms is not None:
        channel = Channel(channel_id=order.channel, settings=ChannelSettings(sms_notifications=sms), created_at=NOW,
                          updated_at=NOW, updated_by="operator")
        repos.commit(repos.channels.save(channel, None))
    return repos


DELIVERED = {"event_id": "ev-d", "order_id": "o-1"}


@pytest.mark.parametrize(("sms", "texted"), [(True, True), (False, False), (None, False)])
def test_the_channels_setting_decides_and_seed_channels_send_none(sms, texted):
    outcome = messages_for("OrderDelivered", DELIVERED, stored(make_order(), sms), NOW)
    assert isinstance(outcome, Messages)
    assert isinstance(outcome.sms, TextMessage) == texted


def test_an_unknown_channel_sends_no_text_message():
    outcome = messages_for("OrderDelivered", DELIVERED, stored(make_order(channel="gone"), None), NOW)
    assert isinstance(outcome, Messages) and outcome.sms == Skipped("the order's channel does not send SMS")


def test_the_channel_is_not_read_for_a_customer_without_a_phone_number():
    repos = stored(make_order(phone=None), True)

    def unread(*args):
        raise AssertionError("the channel was read")

    repos.channels.get_cached = unread  # type: ignore[method-assign]
    outcome = messages_for("OrderDelivered", DELIVERED, repos, NOW)
    assert isinstance(outcome, Messages) and outcome.sms == Skipped("customer gave no phone number")


def test_the_text_message_of_a_shipment_carries_the_tracking_link():
    detail = {"event_id": "ev-s", "order_id": "o-1", "shipment_id": "s-1", "carrier": "UPS", "tracking_code": "1Z9"}
    outcome = messages_for("ShipmentDispatched", detail, stored(make_order(language="en"), True), NOW)
    assert isinstance(outcome, Messages) and isinstance(outcome.sms, TextMessage)
    assert outcome.sms.text == ("Your order WEB-1001 is on its way. Follow it here: "
                                "https://www.ups.com/track?tracknum=1Z9 (tracking number 1Z9).")


# --- End User Messaging SMS ---------------------------------------------------------------------------------

def test_the_service_gets_one_transactional_message_from_the_configured_identity():
    client = sms_client()
    with Stubber(client) as stub:
        stub.add_response("send_text_message", {"MessageId": "sms-123"}, {
            "DestinationPhoneNumber": E164,
            "OriginationIdentity": "arn:aws:sms-voice:eu-central-1:111122223333:pool/pool-abc",
            "MessageBody": SMS.text,
            "MessageType": "TRANSACTIONAL",
            "ConfigurationSetName": "oms-customer-messages",
            "Context": {"moment": "shipped"},
        })
        sender = EndUserMessagingSms("arn:aws:sms-voice:eu-central-1:111122223333:pool/pool-abc",
                                     "oms-customer-messages", client)
        assert sender.send(SMS) == "sms-123"
        stub.assert_no_pending_responses()


def test_without_configuration_the_service_chooses_the_origination_identity():
    client = sms_client()
    with Stubber(client) as stub:
        stub.add_response("send_text_message", {"MessageId": "sms-124"}, {
            "DestinationPhoneNumber": E164, "MessageBody": SMS.text, "MessageType": "TRANSACTIONAL",
            "Context": {"moment": "shipped"}})
        assert EndUserMessagingSms(sms=client).send(SMS) == "sms-124"
        stub.assert_no_pending_responses()


@pytest.mark.parametrize(("code", "reason"), [("ConflictException", "DESTINATION_PHONE_NUMBER_OPTED_OUT"),
                                              ("ValidationException", "CANNOT_PARSE")])
def test_a_refusal_about_the_recipient_is_named_not_retried(code, reason):
    client = sms_client()
    with Stubber(client) as stub:
        stub.add_client_error("send_text_message", code, http_status_code=400, modeled_fields={"Reason": reason})
        with pytest.raises(SmsRefused) as refused:
            EndUserMessagingSms(sms=client).send(SMS)
    assert refused.value.reason == reason


@pytest.mark.parametrize(("code", "fields"), [
    ("ThrottlingException", {}),
    ("ValidationException", {"Reason": "INVALID_IDENTITY_FOR_DESTINATION_COUNTRY"}),  # our configuration
    ("ResourceNotFoundException", {"ResourceType": "pool", "ResourceId": "pool-abc"}),
])
def test_other_errors_propagate_so_the_record_is_retried(code, fields):
    client = sms_client()
    with Stubber(client) as stub:
        stub.add_client_error("send_text_message", code, http_status_code=400, modeled_fields=fields)
        with pytest.raises(getattr(client.exceptions, code)):
            EndUserMessagingSms(sms=client).send(SMS)


# --- the local outbox ------------------------------------------------------------------------------------

def test_the_outbox_keeps_every_text_message_as_a_file(tmp_path):
    outbox = OutboxSms(tmp_path / "outbox")
    first, second = outbox.send(SMS), outbox.send(SMS)

    files = sorted((tmp_path / "outbox").iterdir())
    assert [f.name for f in files] == sorted([first, second])  # each send is a file; no temporary left over
    assert all("-shipped-ev-9-" in f.name and f.suffix == ".sms" for f in files)
    headers, text = read_outbox_sms(files[0])
    assert headers["To"] == E164 and headers["X-OMS-Event-Id"] == "ev-9" and headers["Content-Language"] == "de"
    assert text == SMS.text


def test_the_outbox_is_chosen_by_the_same_setting_as_the_mailers(monkeypatch, tmp_path):
    monkeypatch.setenv("OMS_LOCAL_OUTBOX", str(tmp_path))
    settings.cache_clear()
    assert isinstance(sms_sender(), OutboxSms)
    monkeypatch.delenv("OMS_LOCAL_OUTBOX")
    monkeypatch.setenv("OMS_SMS_ORIGINATION_IDENTITY", "+12065550100")
    settings.cache_clear()
    sender = sms_sender()
    assert isinstance(sender, EndUserMessagingSms)
    assert (sender.origination_identity, sender.configuration_set) == ("+12065550100", None)
    settings.cache_clear()
