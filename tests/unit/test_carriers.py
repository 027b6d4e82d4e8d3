"""Carrier adapters: EasyPost against recorded responses (never the network), and the sandbox.

Recorded responses in carrier_payloads/easypost_*.json are EasyPost's own recordings from its
official client's test suite, github.com/EasyPost/easypost-python tests/cassettes (v10.7.0, commit
8fcf5e4b), names and structure unchanged; shipments trimmed (customs_info nulled, verifications emptied):
- easypost_shipment_create.json    POST /v2/shipments           test_shipment_buy.yaml, 1st response
- easypost_shipment_buy.json       POST /v2/shipments/{id}/buy  test_shipment_buy.yaml, 2nd response
- easypost_shipment_label_zpl.json GET /v2/shipments/{id}/label?file_format=ZPL, test_shipment_convert_label.yaml
  (another shipment of that recording: the adapter takes only the URL from it)
- easypost_tracker_delivered.json  a Tracker in test_shipment_get_next_page.yaml
- easypost_error_422.json          test_error.yaml (POST /v2/shipments)
- easypost_error_404.json          test_error_alternative_format.yaml (recorded on /v2/claims; any 404 body)
Documented shapes: https://docs.easypost.com/docs/shipments, /docs/trackers, /docs/parcels,
/docs/authentication (Basic auth, key as user name), /docs/easypost-objects (reference), /docs/errors.
"""

from __future__ import annotations

import base64
import copy
import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import urllib3

from shared.carriers import easypost
from shared.carriers.adapter import CarrierAdapter, CarrierError, LabelRequest, Parcel
from shared.carriers.easypost import STATUSES, EasyPostAdapter, Urllib3Transport, choose_rate, tracker_updates
from shared.carriers.sandbox import SandboxCarrier, is_valid_s10, s10_check_digit
from shared.domain.orders import Address
from shared.domain.tracking import ShipmentStatus, moves_forward

pytestmark = pytest.mark.unit

PAYLOADS = Path(__file__).parent / "carrier_payloads"
API_KEY = "EZTKtest0123456789abcdef"  # not a real key; the tests check it never leaks
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
S = ShipmentStatus


def recorded(name: str) -> dict:
    return json.loads((PAYLOADS / f"easypost_{name}.json").read_text())


class Replay:
    """A transport that answers from a script and remembers what it was asked."""

    def __init__(self, *responses: tuple[int, dict]):
        self.responses = list(responses)
        self.calls: list[dict] = []

    def __call__(self, method, url, body, headers):
        self.calls.append({"method": method, "url": url, "body": copy.deepcopy(body), "headers": headers})
        return self.responses.pop(0)

    def paths(self) -> list[tuple[str, str]]:
        return [(c["method"], c["url"].removeprefix("https://api.easypost.com")) for c in self.calls]


def request(**overrides) -> LabelRequest:
    values = dict(
        reference="shp-0001",
        from_address=Address(name="OMS Lager", line1="Lagerweg 5", city="Hamburg", postal_code="20095", country="DE"),
        to_address=Address(name="Ana (Test)", line1="179 N Harbor Dr", line2="Apt 2", city="Redondo Beach",
                           region="CA", postal_code="90277", country="US"),
        parcel=Parcel(weight_grams=1200, length_cm=Decimal("30"), width_cm=Decimal("20"), height_cm=Decimal("10")),
    )
    return LabelRequest(**{**values, **overrides})


def bought_as_pdf() -> dict:
    # The recording asked for PNG; a PDF label fills label_pdf_url (docs/shipments, PostageLabel).
    shipment = recorded("shipment_buy")
    shipment["postage_label"]["label_pdf_url"] = shipment["postage_label"]["label_url"].replace(".png", ".pdf")
    return shipment


# ------------------------------------------------------------------ EasyPost: buying


def test_buy_label_looks_up_creates_buys_and_returns_the_url():
    transport = Replay((404, recorded("error_404")), (201, recorded("shipment_create")), (200, bought_as_pdf()))
    label = EasyPostAdapter(API_KEY, transport).buy_label(request())

    assert transport.paths() == [
        ("GET", "/v2/shipments/shp-0001"),
        ("POST", "/v2/shipments"),
        ("POST", "/v2/shipments/shp_16578f588f9546ec914afd2474e24ff5/buy"),
    ]
    for call in transport.calls:
        scheme, token = call["headers"]["Authorization"].split(" ")
        assert scheme == "Basic" and base64.b64decode(token).decode() == f"{API_KEY}:"
    shipment = transport.calls[1]["body"]["shipment"]
    assert shipment["reference"] == "shp-0001"
    assert shipment["to_address"] == {"name": "Ana (Test)", "street1": "179 N Harbor Dr", "street2": "Apt 2",
                                      "city": "Redondo Beach", "state": "CA", "zip": "90277", "country": "US"}
    assert shipment["from_address"]["street1"] == "Lagerweg 5" and "state" not in shipment["from_address"]
    # 1200 g = 42.33 oz; 30 x 20 x 10 cm = 11.81 x 7.87 x 3.94 in: rounded up to one decimal
    assert shipment["parcel"] == {"weight": 42.4, "length": 11.9, "width": 7.9, "height": 4.0}
    assert shipment["options"] == {"label_format": "PDF"}
    assert transport.calls[2]["body"] == {"rate": {"id": "rate_4d1f36fa716c4b1292cacbdf19227c2d"}}  # cheapest

    assert label.provider == "easypost" and label.carrier == "USPS" and label.service == "GroundAdvantage"
    assert label.tracking_code == "9400100208303109505657"
    assert (label.rate_amount, label.rate_currency) == (Decimal("6.07"), "USD")
    assert label.provider_shipment_id == "shp_16578f588f9546ec914afd2474e24ff5"
    assert label.label_format == "PDF" and label.label_bytes is None
    assert label.label_url.endswith(".pdf") and label.label_url.startswith("https://easypost-files.s3")
    assert label.created_at == datetime(2025, 3, 7, 16, 46, 20, tzinfo=UTC)


def test_a_label_in_another_format_is_converted():
    transport = Replay((404, recorded("error_404")), (201, recorded("shipment_create")),
                       (200, recorded("shipment_buy")), (200, recorded("shipment_label_zpl")))
    label = EasyPostAdapter(API_KEY, transport).buy_label(request(label_format="ZPL", service="fastest"))

    assert transport.paths()[-1] == ("GET", "/v2/shipments/shp_16578f588f9546ec914afd2474e24ff5/label?file_format=ZPL")
    assert transport.calls[-1]["body"] is None
    assert transport.calls[2]["body"] == {"rate": {"id": "rate_c4f7e5ff2f4c4c1394fc750a3260755f"}}  # Express
    assert label.label_format == "ZPL" and label.label_url.endswith(".zpl")


def test_a_reference_already_bought_is_returned_not_bought_again():
    transport = Replay((200, bought_as_pdf()))  # the recording's reference is "123"
    label = EasyPostAdapter(API_KEY, transport).buy_label(request(reference="123"))
    assert transport.paths() == [("GET", "/v2/shipments/123")]
    assert label.tracking_code == "9400100208303109505657"


def test_a_reference_created_but_not_bought_is_bought_not_created_again():
    transport = Replay((200, {**recorded("shipment_create"), "reference": "order 7/1"}), (200, bought_as_pdf()))
    EasyPostAdapter(API_KEY, transport).buy_label(request(reference="order 7/1"))
    assert transport.paths() == [("GET", "/v2/shipments/order%207%2F1"),
                                 ("POST", "/v2/shipments/shp_16578f588f9546ec914afd2474e24ff5/buy")]


def test_a_lookup_answering_with_another_reference_is_ignored():
    # e.g. our reference looked like an EasyPost id and fetched that shipment
    transport = Replay((200, bought_as_pdf()), (201, recorded("shipment_create")), (200, bought_as_pdf()))
    EasyPostAdapter(API_KEY, transport).buy_label(request())
    assert [m for m, _ in transport.paths()] == ["GET", "POST", "POST"]


@pytest.mark.parametrize(("service", "expected"), [
    ("cheapest", "GroundAdvantage"),
    ("fastest", "Express"),
    ("Priority", "Priority"),
    ("usps:priority", "Priority"),
])
def test_rate_selection(service, expected):
    assert choose_rate(recorded("shipment_create")["rates"], service)["service"] == expected


def test_no_matching_rate_is_not_retryable_and_says_what_was_offered():
    with pytest.raises(CarrierError) as caught:
        choose_rate(recorded("shipment_create")["rates"], "Overnight")
    assert not caught.value.retryable and "USPS:Express" in caught.value.message
    with pytest.raises(CarrierError, match="rate unavailable"):
        choose_rate([], "cheapest", [{"carrier": "UPS", "message": "rate unavailable"}])


@pytest.mark.parametrize(("status", "body", "retryable"), [
    (422, "error_422", False),
    (401, {"error": {"code": "APIKEY.REQUIRED", "message": "Unauthorized"}}, False),
    (404, "error_404", False),
    (408, {}, True),
    (429, {"error": {"code": "RATE_LIMITED", "message": "Too many requests"}}, True),
    (500, {"error": {"code": "INTERNAL_SERVER_ERROR", "message": "Internal Server Error"}}, True),
    (503, {}, True),  # a proxy's HTML page decodes to {}
])
def test_http_errors_say_whether_a_retry_can_help(status, body, retryable):
    body = recorded(body) if isinstance(body, str) else body
    transport = Replay((404, recorded("error_404")), (status, body))
    with pytest.raises(CarrierError) as caught:
        EasyPostAdapter(API_KEY, transport).buy_label(request())
    assert caught.value.retryable is retryable and caught.value.status == status
    assert transport.paths()[-1] == ("POST", "/v2/shipments")
    if status == 422:
        assert caught.value.code == "PARAMETER.REQUIRED" and "Missing required parameter" in caught.value.message


def test_a_failed_lookup_that_may_pass_later_stops_before_creating_anything():
    transport = Replay((502, {}))
    with pytest.raises(CarrierError) as caught:
        EasyPostAdapter(API_KEY, transport).buy_label(request())
    assert caught.value.retryable and len(transport.calls) == 1


def test_default_transport_turns_timeouts_into_retryable_errors(monkeypatch):
    transport = Urllib3Transport()

    def timeout(*args, **kwargs):
        raise urllib3.exceptions.ReadTimeoutError(None, "/v2/shipments", "Read timed out.")

    monkeypatch.setattr(transport._pool, "request", timeout)
    with pytest.raises(CarrierError) as caught:
        transport("POST", "https://api.easypost.com/v2/shipments", {}, {})
    assert caught.value.retryable and "ReadTimeoutError" in caught.value.message


def test_default_transport_decodes_json_and_tolerates_html(monkeypatch):
    transport = Urllib3Transport()
    answers = iter([urllib3.HTTPResponse(body=b'{"id": "trk_1"}', status=200, preload_content=True),
                    urllib3.HTTPResponse(body=b"<html>Bad gateway</html>", status=502, preload_content=True)])
    seen = []
    monkeypatch.setattr(transport._pool, "request", lambda *a, **kw: seen.append((a, kw)) or next(answers))
    assert transport("POST", "https://x.test/v2/trackers", {"a": 1}, {"H": "v"}) == (200, {"id": "trk_1"})
    assert transport("GET", "https://x.test/v2/trackers/1", None, {}) == (502, {})
    assert seen[0][1]["body"] == b'{"a": 1}' and seen[1][1]["body"] is None


def test_the_api_key_is_never_logged_nor_shown(monkeypatch):
    logged = []
    monkeypatch.setattr(easypost.logger, "info", lambda *args, **kwargs: logged.append((args, kwargs)))
    adapter = EasyPostAdapter(API_KEY, Replay((404, recorded("error_404")), (422, recorded("error_422"))))
    with pytest.raises(CarrierError) as caught:
        adapter.buy_label(request())
    assert len(logged) == 2 and logged[1][1]["extra"]["status"] == 422
    encoded = base64.b64encode(f"{API_KEY}:".encode()).decode()
    for text in (repr(logged), repr(adapter), str(caught.value)):
        assert API_KEY not in text and encoded not in text and "Ana" not in text  # nor the addresses


def test_an_api_key_is_required():
    with pytest.raises(ValueError):
        EasyPostAdapter("", Replay())


# ------------------------------------------------------------------ EasyPost: tracking


def test_track_maps_tracking_details_to_updates():
    transport = Replay((200, recorded("tracker_delivered")))
    updates = EasyPostAdapter(API_KEY, transport).track("9400100208303109500782", "USPS")

    assert transport.paths() == [("POST", "/v2/trackers")]
    assert transport.calls[0]["body"] == {"tracker": {"tracking_code": "9400100208303109500782", "carrier": "USPS"}}
    assert [u.status for u in updates] == [S.LABEL_CREATED, S.LABEL_CREATED, S.IN_TRANSIT, S.IN_TRANSIT,
                                           S.IN_TRANSIT, S.IN_TRANSIT, S.OUT_FOR_DELIVERY, S.DELIVERED]
    first, last = updates[1], updates[-1]
    assert first.message == "Shipping Label Created" and first.location == "HOUSTON, TX, 77063"
    assert first.occurred_at == datetime(2025, 2, 7, 8, 28, 47, tzinfo=UTC) and first.raw_status == "pre_transit"
    assert updates[0].location is None  # a scan without a place
    assert all(u.provider == "easypost" and u.carrier == "USPS" for u in updates)
    assert last.estimated_delivery == datetime(2025, 3, 6, 19, 51, 47, tzinfo=UTC)
    assert all(u.estimated_delivery is None for u in updates[:-1])
    ids = [u.provider_event_id for u in updates]
    assert len(set(ids)) == len(ids) == 8
    assert ids == [u.provider_event_id for u in tracker_updates(recorded("tracker_delivered"))]  # stable


def test_unknown_statuses_are_skipped_and_times_become_utc():
    tracker = recorded("tracker_delivered")
    detail = tracker["tracking_details"][0]
    tracker["tracking_details"] = [
        {**detail, "status": "unknown"},
        {**detail, "status": "held_by_aliens"},
        {**detail, "status": "error"},
        {**detail, "status": "in_transit", "datetime": "2025-02-07T10:00:00-06:00"},
    ]
    [update] = tracker_updates(tracker)
    assert update.status == S.IN_TRANSIT and update.occurred_at == datetime(2025, 2, 7, 16, 0, tzinfo=UTC)


@pytest.mark.parametrize(("theirs", "ours"), [
    ("pre_transit", S.LABEL_CREATED), ("in_transit", S.IN_TRANSIT), ("out_for_delivery", S.OUT_FOR_DELIVERY),
    ("available_for_pickup", S.AVAILABLE_FOR_PICKUP), ("delivered", S.DELIVERED),
    ("return_to_sender", S.RETURNED_TO_SENDER), ("failure", S.FAILURE), ("cancelled", S.FAILURE),
])
def test_every_documented_parcel_status_has_a_mapping(theirs, ours):
    assert STATUSES[theirs] == ours
    assert "unknown" not in STATUSES and "error" not in STATUSES  # about the tracker, not the parcel


# ------------------------------------------------------------------ sandbox


def test_s10_check_digit_matches_the_documented_example():
    # UPU S10 (en.wikipedia.org/wiki/S10_(UPU_standard)): 47312482 -> S = 200, C = 11 - 2 = 9
    assert s10_check_digit("47312482") == 9
    assert s10_check_digit("00000000") == 5  # C = 11 becomes 5
    assert s10_check_digit("00000008") == 0  # S = 56, C = 10 becomes 0
    assert is_valid_s10("RR473124829GB") and not is_valid_s10("RR473124828GB")


def sandbox_request(n: int, **overrides) -> LabelRequest:
    return request(reference=f"shp-{n:04d}", **overrides)


def test_sandbox_tracking_numbers_are_valid_and_unique():
    carrier = SandboxCarrier(clock=lambda: NOW)
    codes = [carrier.buy_label(sandbox_request(n)).tracking_code for n in range(1000)]
    assert len(set(codes)) == 1000
    assert all(re.fullmatch(r"ZS\d{9}XX", c) and is_valid_s10(c) for c in codes)


def test_sandbox_is_deterministic_with_a_seed_and_idempotent_per_reference():
    a, b = SandboxCarrier(seed=7), SandboxCarrier(seed=7)
    first = a.buy_label(sandbox_request(1), now=NOW)
    assert first == b.buy_label(sandbox_request(1), now=NOW)
    assert a.buy_label(sandbox_request(1), now=NOW + timedelta(hours=1)) is first
    assert a.buy_label(sandbox_request(2), now=NOW).tracking_code != first.tracking_code
    assert (first.rate_amount, first.rate_currency, first.carrier) == (Decimal("4.95"), "EUR", "SANDBOX")
    assert first.label_url is None and first.created_at == NOW


def test_sandbox_pdf_is_a_well_formed_pdf():
    label = SandboxCarrier(seed=1).buy_label(sandbox_request(1), now=NOW)
    pdf = label.label_bytes
    assert pdf.startswith(b"%PDF-1.4\n") and pdf.endswith(b"%%EOF\n")

    startxref = int(re.search(rb"startxref\n(\d+)\n%%EOF\n$", pdf).group(1))
    assert pdf[startxref:].startswith(b"xref\n")
    table = re.match(rb"xref\n0 (\d+)\n((?:\d{10} \d{5} [fn] \n)+)trailer\n<< /Size (\d+) /Root 1 0 R >>",
                     pdf[startxref:])
    count, entries, size = int(table.group(1)), table.group(2), int(table.group(3))
    assert count == size == len(entries) // 20 == 8  # each xref entry is exactly 20 bytes
    for number in range(1, count):
        offset = int(entries[number * 20: number * 20 + 10])
        assert pdf[offset:].startswith(b"%d 0 obj\n" % number)

    length, stream = re.search(rb"<< /Length (\d+) >>\nstream\n(.*?)\nendstream", pdf, re.S).groups()
    assert int(length) == len(stream)
    assert label.tracking_code.encode() in stream
    assert b"Ana \\(Test\\)" in stream and b"Redondo Beach" in stream and b"Lagerweg 5" in stream


def test_sandbox_zpl_label():
    label = SandboxCarrier(seed=1).buy_label(
        sandbox_request(1, label_format="ZPL", to_address=Address(name="A^B~C", line1="x", city="Wien", country="AT")),
        now=NOW)
    zpl = label.label_bytes.decode()
    assert label.label_format == "ZPL" and zpl.startswith("^XA") and zpl.rstrip().endswith("^XZ")
    assert f"^BCN,200,Y,N,N^FD{label.tracking_code}^FS" in zpl
    assert "^FDA B C^FS" in zpl  # field data cannot smuggle in ZPL commands


@pytest.mark.parametrize(("hours", "statuses"), [
    (-1, []),
    (0, [S.LABEL_CREATED]),
    (5, [S.LABEL_CREATED, S.IN_TRANSIT]),
    (31, [S.LABEL_CREATED, S.IN_TRANSIT, S.IN_TRANSIT, S.IN_TRANSIT]),
    (41, [S.LABEL_CREATED, S.IN_TRANSIT, S.IN_TRANSIT, S.IN_TRANSIT, S.OUT_FOR_DELIVERY]),
    (24 * 10, [S.LABEL_CREATED, S.IN_TRANSIT, S.IN_TRANSIT, S.IN_TRANSIT, S.OUT_FOR_DELIVERY, S.DELIVERED]),
])
def test_sandbox_tracking_progresses_with_the_label_age(hours, statuses):
    carrier = SandboxCarrier(seed=3)
    label = carrier.buy_label(sandbox_request(1), now=NOW)
    updates = carrier.track(label.tracking_code, "SANDBOX", now=NOW + timedelta(hours=hours))
    assert [u.status for u in updates] == statuses
    assert all(moves_forward(a.status, b.status) for a, b in zip(updates, updates[1:], strict=False))
    assert all(u.occurred_at <= NOW + timedelta(hours=hours) for u in updates)
    if updates:
        assert updates[0].location == "Hamburg" and updates[0].provider_event_id == f"{label.tracking_code}:0"
    if len(updates) == 6:
        assert updates[-1].location == "Redondo Beach" and updates[-1].estimated_delivery is None


def test_sandbox_tracks_labels_of_other_instances_when_told_their_age():
    label = SandboxCarrier(seed=3).buy_label(sandbox_request(1), now=NOW)
    fresh = SandboxCarrier(clock=lambda: NOW + timedelta(hours=13))  # e.g. another Lambda container
    assert fresh.track(label.tracking_code) == []  # it never saw the label: nothing known yet
    updates = fresh.track(label.tracking_code, labelled_at=NOW)
    assert [u.status for u in updates] == [S.LABEL_CREATED, S.IN_TRANSIT, S.IN_TRANSIT]


def test_sandbox_refusals():
    carrier = SandboxCarrier(seed=3)
    with pytest.raises(CarrierError) as caught:
        carrier.track("RR473124829GB", now=NOW)
    assert not caught.value.retryable
    with pytest.raises(CarrierError):
        carrier.buy_label(sandbox_request(1, service="overnight"), now=NOW)
    with pytest.raises(ValueError, match="clock"):
        carrier.buy_label(sandbox_request(1))  # no wall clock read behind the caller's back
    with pytest.raises(ValueError):
        Parcel(weight_grams=0, length_cm=Decimal(1), width_cm=Decimal(1), height_cm=Decimal(1))


def test_both_adapters_satisfy_the_interface():
    assert isinstance(SandboxCarrier(), CarrierAdapter)
    assert isinstance(EasyPostAdapter(API_KEY, Replay()), CarrierAdapter)
