"""Carrier tracking webhooks: signatures computed as each provider documents them, payloads shaped
like the providers' documented samples (carrier_payloads/webhook_*.json, values ours, trimmed).

Sources
  EasyPost  Event + Tracker: https://docs.easypost.com/docs/events, https://docs.easypost.com/docs/trackers,
            sample Events in github.com/EasyPost/examples official/guides/webhooks-guide/event/;
            signature: https://docs.easypost.com/docs/webhooks and validate_webhook() in
            github.com/EasyPost/easypost-python easypost/util.py
  Shippo    track_updated: https://docs.goshippo.com/docs/tracking/webhooks (body = event, test, data: Track),
            Track fields and substatus codes: https://docs.goshippo.com/docs/tracking/tracking;
            signature: https://docs.goshippo.com/docs/tracking/webhooksecurity (HMAC section)
  AfterShip https://www.aftership.com/docs/tracking/webhook/webhook-specifications (2026-07 sample),
            subtags: https://www.aftership.com/docs/tracking/enum/delivery-sub-statuses;
            signature: https://www.aftership.com/docs/tracking/webhook/webhook-signature
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shared.carriers.webhooks import (
    AFTERSHIP_STATUS,
    EASYPOST_STATUS,
    SHIPPO_STATUS,
    WebhookRejected,
    WebhookUnreadable,
    parse,
    verify,
)
from shared.domain.tracking import ShipmentStatus as S
from shared.domain.tracking import TrackingUpdate, moves_forward
from shared.errors import InvalidInput
from tests.signers import carrier_headers

pytestmark = pytest.mark.unit

PAYLOADS = Path(__file__).parent / "carrier_payloads"
FIXTURE = {
    "easypost": "webhook_easypost_tracker_updated.json",
    "shippo": "webhook_shippo_track_updated.json",
    "aftership": "webhook_aftership_tracking_update.json",
    "canonical": "webhook_canonical.json",
}
PROVIDERS = list(FIXTURE)
SECRET = "whsec_4c0ffee"
NOW = datetime(2026, 11, 26, 21, 20, tzinfo=UTC)


def raw(provider: str) -> bytes:
    return (PAYLOADS / FIXTURE[provider]).read_bytes()


def doc(provider: str) -> dict:
    return json.loads(raw(provider))


def encode(document: dict) -> bytes:
    return json.dumps(document).encode()


def sign(provider: str, body: bytes, secret: str = SECRET, at: datetime = NOW) -> dict[str, str]:
    """The headers each provider sends, computed the way its documentation says."""
    return carrier_headers(provider, body, secret, at)


# --- signatures -----------------------------------------------------------------------------------

@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_valid_signature_on_the_raw_body_passes(provider):
    verify(provider, raw(provider), sign(provider, raw(provider)), SECRET, NOW)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_header_names_are_case_insensitive(provider):
    headers = {name.upper(): value for name, value in sign(provider, raw(provider)).items()}
    verify(provider, raw(provider), headers, SECRET, NOW)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_wrong_secret_is_rejected(provider):
    with pytest.raises(WebhookRejected, match="does not match"):
        verify(provider, raw(provider), sign(provider, raw(provider), secret="not-the-secret"), SECRET, NOW)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_missing_signature_header_is_rejected(provider):
    with pytest.raises(WebhookRejected, match="missing"):
        verify(provider, raw(provider), {"Content-Type": "application/json"}, SECRET, NOW)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_tampered_body_is_rejected(provider):
    tampered = raw(provider).replace(b"1", b"2", 1)
    with pytest.raises(WebhookRejected) as rejected:
        verify(provider, tampered, sign(provider, raw(provider)), SECRET, NOW)
    assert "does not match" in rejected.value.reason


def test_a_body_re_serialised_after_signing_is_rejected():
    # the signature covers the bytes on the wire, not the JSON they mean
    body = raw("aftership")
    with pytest.raises(WebhookRejected):
        verify("aftership", encode(json.loads(body)), sign("aftership", body), SECRET, NOW)


def test_no_configured_secret_rejects_everything():
    with pytest.raises(WebhookRejected, match="no webhook secret"):
        verify("aftership", raw("aftership"), sign("aftership", raw("aftership"), secret=""), "", NOW)


@pytest.mark.parametrize("provider", ["canonical", "shippo"])
@pytest.mark.parametrize(("age", "fresh"), [
    (timedelta(minutes=4, seconds=59), True),
    (timedelta(minutes=5, seconds=1), False),   # a replay of a captured request
    (-timedelta(minutes=5, seconds=1), False),  # from the future: clock skew past the tolerance
])
def test_timestamped_schemes_refuse_stale_timestamps(provider, age, fresh):
    headers = sign(provider, raw(provider), at=NOW - age)
    if fresh:
        verify(provider, raw(provider), headers, SECRET, NOW)
    else:
        with pytest.raises(WebhookRejected, match="replay"):
            verify(provider, raw(provider), headers, SECRET, NOW)


def test_a_replay_cannot_refresh_its_timestamp():
    headers = sign("canonical", raw("canonical"), at=NOW - timedelta(hours=1))
    headers["X-OMS-Timestamp"] = str(int(NOW.timestamp()))
    with pytest.raises(WebhookRejected, match="does not match"):
        verify("canonical", raw("canonical"), headers, SECRET, NOW)


def test_canonical_accepts_either_signature_during_a_secret_rotation():
    old, new = sign("canonical", raw("canonical"), secret="old"), sign("canonical", raw("canonical"))
    headers = {**new, "X-OMS-Signature": f"{old['X-OMS-Signature']},{new['X-OMS-Signature']}"}
    verify("canonical", raw("canonical"), headers, SECRET, NOW)
    verify("canonical", raw("canonical"), headers, "old", NOW)


def test_easypost_keys_the_hmac_with_the_nfkd_normalised_secret():
    composed, decomposed = "s\u00e9cret", "se\u0301cret"  # EasyPost's own test secret is "sécret"
    body = raw("easypost")
    verify("easypost", body, sign("easypost", body, secret=composed), composed, NOW)
    verify("easypost", body, sign("easypost", body, secret=composed), decomposed, NOW)
    unnormalised = "hmac-sha256-hex=" + hmac.new(composed.encode(), body, hashlib.sha256).hexdigest()
    with pytest.raises(WebhookRejected):
        verify("easypost", body, {"X-Hmac-Signature": unnormalised}, composed, NOW)


def test_rejections_carry_a_reason_and_unreadable_is_invalid_input():
    assert WebhookRejected("bad").reason == "bad"
    assert issubclass(WebhookUnreadable, InvalidInput)


# --- payloads -------------------------------------------------------------------------------------

def test_easypost_tracker_updated_is_the_trackers_current_status():
    assert parse("easypost", raw("easypost")) == [TrackingUpdate(
        "easypost", "evt_8c3b0f6a9d2e11f0a1b2c3d4e5f60718", "9400100000000000000001", "USPS",
        S.IN_TRANSIT, datetime(2026, 11, 25, 14, 41, tzinfo=UTC),  # 09:41 -05:00, the latest scan
        datetime(2026, 11, 27, tzinfo=UTC), "Departed USPS Regional Facility",
        "CHICAGO IL DISTRIBUTION CENTER, IL, US", "in_transit/departed_facility")]


def test_shippo_track_updated_reads_the_substatus():
    assert parse("shippo", raw("shippo")) == [TrackingUpdate(
        "shippo", "c4a8e0f2b6d44f1e9a7c3b5d1e0f2a4c", "9205590164917312751089", "usps",
        S.OUT_FOR_DELIVERY, datetime(2026, 11, 26, 12, 58, tzinfo=UTC), datetime(2026, 11, 27, 18, tzinfo=UTC),
        "Your package is out for delivery.", "Chicago, IL, US", "TRANSIT/out_for_delivery")]


def test_aftership_tracking_update_uses_the_latest_checkpoint():
    assert parse("aftership", raw("aftership")) == [TrackingUpdate(
        "aftership", "6f1c2b9e-0d4a-4b7e-9c3f-2a8d5e1b7c60", "1Z999AA10123456784", "ups",
        S.DELIVERED, datetime(2026, 11, 26, 20, 42, tzinfo=UTC), datetime(2026, 11, 27, tzinfo=UTC),
        "DELIVERED", "BROOKLYN, NY, USA", "Delivered/Delivered_001")]


@pytest.mark.parametrize("provider", ["canonical", "sandbox"])
def test_our_canonical_format_serves_any_other_provider(provider):
    assert parse(provider, raw("canonical")) == [TrackingUpdate(
        provider, "sandbox-7f3e", "SBX0000001", "sandbox", S.OUT_FOR_DELIVERY,
        datetime(2026, 11, 26, 7, 30, tzinfo=UTC), datetime(2026, 11, 26, 18, tzinfo=UTC),
        "With the driver", "Berlin, DE", "OUT_FOR_DELIVERY")]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_every_time_comes_back_in_utc(provider):
    (update,) = parse(provider, raw(provider))
    assert update.occurred_at.tzinfo is UTC and update.estimated_delivery.tzinfo is UTC


def test_shippo_times_without_an_offset_are_utc():
    shippo = doc("shippo")  # Shippo's own test-mode sample prints times without an offset
    shippo["data"]["tracking_status"]["status_date"] = "2026-11-26T12:58:00.586"
    assert parse("shippo", encode(shippo))[0].occurred_at == datetime(2026, 11, 26, 12, 58, 0, 586000, tzinfo=UTC)


def test_aftership_carrier_local_checkpoint_time_falls_back_to_the_event_time():
    aftership = doc("aftership")
    aftership["msg"]["checkpoints"][-1]["checkpoint_time"] = "2026-11-26T15:42:00"  # no offset: local
    assert parse("aftership", encode(aftership))[0].occurred_at == datetime.fromtimestamp(aftership["ts"], UTC)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_duplicate_delivery_has_the_same_event_id(provider):
    first, again = parse(provider, raw(provider)), parse(provider, raw(provider))
    assert first[0].provider_event_id == again[0].provider_event_id


def test_a_redelivered_easypost_event_keeps_its_id_and_a_new_event_does_not():
    retry, later = doc("easypost"), doc("easypost")
    retry["status"], retry["completed_urls"] = "retrying", []
    later["id"], later["result"]["status"] = "evt_0a1b2c3d4e5f11f0a1b2c3d4e5f60719", "out_for_delivery"
    ids = {parse("easypost", encode(d))[0].provider_event_id for d in (doc("easypost"), retry)}
    assert ids == {"evt_8c3b0f6a9d2e11f0a1b2c3d4e5f60718"}
    assert parse("easypost", encode(later))[0].provider_event_id not in ids


def test_an_older_event_arriving_late_is_recognisably_older_and_never_moves_backwards():
    older = doc("aftership")
    older["event_id"], older["msg"]["tag"], older["msg"]["subtag"] = "0c7e", "InTransit", "InTransit_007"
    older["msg"]["checkpoints"].pop()
    (newest,), (late,) = parse("aftership", raw("aftership")), parse("aftership", encode(older))
    assert late.occurred_at < newest.occurred_at and late.provider_event_id != newest.provider_event_id
    assert not moves_forward(newest.status, late.status)


# --- status tables --------------------------------------------------------------------------------

MAPPING = [  # (provider, provider's word, ours); None: acknowledged, nothing to record
    ("easypost", "pre_transit", S.LABEL_CREATED),
    ("easypost", "in_transit", S.IN_TRANSIT),
    ("easypost", "out_for_delivery", S.OUT_FOR_DELIVERY),
    ("easypost", "available_for_pickup", S.AVAILABLE_FOR_PICKUP),
    ("easypost", "delivered", S.DELIVERED),
    ("easypost", "return_to_sender", S.RETURNED_TO_SENDER),
    ("easypost", "failure", S.FAILURE),
    ("easypost", "cancelled", S.FAILURE),
    ("easypost", "error", None),
    ("easypost", "unknown", None),
    ("shippo", "PRE_TRANSIT", S.LABEL_CREATED),
    ("shippo", "TRANSIT", S.IN_TRANSIT),
    ("shippo", "DELIVERED", S.DELIVERED),
    ("shippo", "RETURNED", S.RETURNED_TO_SENDER),
    ("shippo", "FAILURE", S.FAILURE),
    ("shippo", "UNKNOWN", None),
    ("shippo", "out_for_delivery", S.OUT_FOR_DELIVERY),
    ("shippo", "pickup_available", S.AVAILABLE_FOR_PICKUP),
    ("shippo", "address_issue", S.EXCEPTION),
    ("shippo", "contact_carrier", S.EXCEPTION),
    ("shippo", "delivery_attempted", S.EXCEPTION),
    ("shippo", "location_inaccessible", S.EXCEPTION),
    ("shippo", "notice_left", S.EXCEPTION),
    ("shippo", "package_damaged", S.EXCEPTION),
    ("shippo", "package_held", S.EXCEPTION),
    ("shippo", "reschedule_delivery", S.EXCEPTION),
    ("shippo", "package_unclaimed", S.EXCEPTION),
    ("aftership", "Pending", S.LABEL_CREATED),
    ("aftership", "InfoReceived", S.LABEL_CREATED),
    ("aftership", "InTransit", S.IN_TRANSIT),
    ("aftership", "OutForDelivery", S.OUT_FOR_DELIVERY),
    ("aftership", "AvailableForPickup", S.AVAILABLE_FOR_PICKUP),
    ("aftership", "Delivered", S.DELIVERED),
    ("aftership", "AttemptFail", S.EXCEPTION),
    ("aftership", "Exception", S.EXCEPTION),
    ("aftership", "Expired", S.FAILURE),
    ("aftership", "Exception_011", S.RETURNED_TO_SENDER),
    ("aftership", "Exception_013", S.FAILURE),
]


def with_status(provider: str, word: str) -> bytes:
    """The provider's fixture reporting `word` where that provider puts it."""
    document = doc(provider)
    if provider == "easypost":
        document["result"]["status"] = word
    elif provider == "shippo":
        status = document["data"]["tracking_status"]
        sub = None if word.isupper() else {"code": word, "text": "", "action_required": False}
        status["status"], status["substatus"] = (word if word.isupper() else "TRANSIT"), sub
    else:  # a tag comes with its first subtag, a subtag with its tag
        tag, _, number = word.partition("_")
        document["msg"]["tag"], document["msg"]["subtag"] = tag, f"{tag}_{number or '001'}"
    return encode(document)


@pytest.mark.parametrize(("provider", "word", "ours"), MAPPING)
def test_every_provider_status_maps(provider, word, ours):
    updates = parse(provider, with_status(provider, word))
    assert [u.status for u in updates] == ([ours] if ours else [])


def test_the_tables_hold_exactly_the_tested_words():
    tables = {"easypost": EASYPOST_STATUS, "shippo": SHIPPO_STATUS, "aftership": AFTERSHIP_STATUS}
    assert {(p, w, s) for p, table in tables.items() for w, s in table.items()} == set(MAPPING)


@pytest.mark.parametrize(("provider", "word"), [
    ("easypost", "in_customs_next_year"), ("shippo", "IN_LIMBO"), ("aftership", "Teleported")])
def test_a_status_we_do_not_know_is_acknowledged_and_skipped(provider, word):
    assert parse(provider, with_status(provider, word)) == []


@pytest.mark.parametrize(("provider", "body"), [
    ("easypost", (PAYLOADS / "webhook_easypost_batch_created.json").read_bytes()),
    ("shippo", encode({**doc("shippo"), "event": "transaction_updated"})),
    ("aftership", encode({**doc("aftership"), "event": "tracking_pending_time"})),
])
def test_an_event_that_is_not_a_tracking_update_is_acknowledged_with_nothing(provider, body):
    assert parse(provider, body) == []


# --- unreadable bodies ----------------------------------------------------------------------------

def _without_tracking_code() -> bytes:
    document = doc("easypost")
    del document["result"]["tracking_code"]
    return encode(document)


@pytest.mark.parametrize(("provider", "body"), [
    ("easypost", b"<html>not json</html>"),
    ("easypost", _without_tracking_code()),
    ("shippo", encode({"event": "track_updated", "test": False, "data": None})),
    ("aftership", encode({**doc("aftership"), "msg": "Delivered"})),
    ("canonical", encode({**doc("canonical"), "status": "LOST_IN_SPACE"})),
    ("canonical", encode({**doc("canonical"), "occurred_at": "2026-11-26T08:30:00"})),
    ("canonical", encode({**doc("canonical"), "priority": "high"})),
    ("canonical", b"\xff\xfe"),
])
def test_a_signed_body_that_is_not_the_documented_shape_is_unreadable(provider, body):
    verify(provider, body, sign(provider, body), SECRET, NOW)
    with pytest.raises(WebhookUnreadable):
        parse(provider, body)


@pytest.mark.parametrize(("provider", "path", "value"), [
    ("shippo", ("data", "tracking_status", "location", "city"), 12345),
    ("shippo", ("data", "tracking_status", "substatus"), {"code": {"nested": True}}),
    ("easypost", ("result", "tracking_details", -1, "tracking_location", "city"), ["a", "list"]),
])
def test_a_documented_field_of_the_wrong_json_type_is_unreadable_not_a_crash(provider, path, value):
    document = doc(provider)
    target = document
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    try:
        updates = parse(provider, encode(document))
    except WebhookUnreadable as unreadable:  # a 422 naming the problem
        assert unreadable.message.startswith(f"not a {provider} tracking webhook")
    else:  # or read anyway, with the odd value left out: never any other exception (a 500)
        assert all(u.tracking_code for u in updates)
