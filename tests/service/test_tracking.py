"""Applying carrier tracking updates on the in-memory store: once, never backwards, late parcels
flagged once, orders delivered when all their parcels are; then every guard with a test that fails
without it. The apply-tracking consumer and the order's API view are tested on moto in
tests/integration/test_tracking.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.domain.orders import OrderStatus
from shared.domain.tracking import ShipmentStatus as S
from shared.domain.tracking import TrackingUpdate
from shared.services import tracking
from shared.services.tracking import Outcome, apply_update
from shared.unit_of_work import CommitFailed
from tests.factories import TWO_WAREHOUSES, seed
from tests.service.flows import events, interleave, placed_and_packed, ship_lines

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
SHIPPED_AT = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)
PROMISE = "2026-11-28T00:00:00Z"


def ship_parcels(repos, codes: list[str], *, unshipped: int = 0, promised_by: str | None = None) -> str:
    """An order of len(codes) + unshipped units of SKU-1 from BER, one parcel per code, shipped
    by the fulfilment use cases (which create the shipment records). The order's id."""
    seed(repos, {"BER": TWO_WAREHOUSES["BER"]}, {("SKU-1", "BER"): 10})
    extra = {"promised_by": promised_by} if promised_by else {}
    order_id, fo_id = placed_and_packed(repos, [("SKU-1", len(codes) + unshipped)], SHIPPED_AT, **extra)
    for n, code in enumerate(codes, 1):
        ship_lines(repos, fo_id, f"S-{n}", {"SKU-1": 1}, SHIPPED_AT, carrier="DHL", tracking_code=code)
    return order_id


def update(code: str, status: S, at: datetime = T0, event_id: str | None = None, eta: datetime | None = None,
           message: str | None = None, provider: str = "dhl") -> TrackingUpdate:
    return TrackingUpdate(provider, event_id or f"{code}-{status}-{at.isoformat()}", code, "dhl", status, at, eta,
                          message)


def apply(repos, u: TrackingUpdate) -> list[Outcome]:
    return [r.outcome for r in apply_update(u, NOW, repos, NOW)]


@pytest.fixture
def one_parcel(repos):
    return ship_parcels(repos, ["TRK1"], promised_by=PROMISE)


@pytest.fixture
def two_parcels(repos):
    return ship_parcels(repos, ["TRK1", "TRK2"])


# --- applying -------------------------------------------------------------------------------------

def test_an_update_moves_the_shipment_and_is_announced(repos, one_parcel):
    eta = datetime(2026, 11, 27, tzinfo=UTC)
    assert apply(repos, update("TRK1", S.IN_TRANSIT, eta=eta, message="Departed")) == [Outcome.APPLIED]

    shipment = repos.shipments.get("S-1")
    assert (shipment.status, shipment.status_at, shipment.estimated_delivery) == (S.IN_TRANSIT, T0, eta)
    assert shipment.last_tracking_at == NOW and shipment.version == 1
    assert [(e.status, e.applied, e.message) for e in shipment.history] == [(S.IN_TRANSIT, True, "Departed")]
    (announced,) = events(repos, "ShipmentTrackingUpdated")
    assert (announced["shipment_id"], announced["order_id"], announced["status"], announced["previous"]) == (
        "S-1", one_parcel, "IN_TRANSIT", "LABEL_CREATED")
    assert events(repos, "ShipmentDelayed") == []  # the estimate is within the promise


def test_a_duplicate_is_applied_once(repos, one_parcel):
    first = update("TRK1", S.IN_TRANSIT, event_id="evt-1")
    assert apply(repos, first) == [Outcome.APPLIED]
    assert apply(repos, first) == [Outcome.DUPLICATE]
    assert len(repos.shipments.get("S-1").history) == 1
    assert len(events(repos, "ShipmentTrackingUpdated")) == 1


def test_the_same_event_id_from_another_provider_is_not_a_duplicate(repos, one_parcel):
    apply(repos, update("TRK1", S.IN_TRANSIT, event_id="evt-1", provider="easypost"))
    assert apply(repos, update("TRK1", S.IN_TRANSIT, event_id="evt-1", at=T0 + timedelta(hours=1))) == [
        Outcome.APPLIED]
    assert len(repos.shipments.get("S-1").history) == 2


def test_an_older_update_arriving_late_is_kept_but_never_moves_the_shipment_back(repos, one_parcel):
    delivered = update("TRK1", S.DELIVERED, at=T0 + timedelta(days=1))
    older = update("TRK1", S.IN_TRANSIT, at=T0)
    assert apply(repos, delivered) == [Outcome.APPLIED]
    assert apply(repos, older) == [Outcome.KEPT]

    shipment = repos.shipments.get("S-1")
    assert (shipment.status, shipment.status_at) == (S.DELIVERED, delivered.occurred_at)
    assert [(e.status, e.applied) for e in shipment.history] == [(S.DELIVERED, True), (S.IN_TRANSIT, False)]
    assert [e["status"] for e in events(repos, "ShipmentTrackingUpdated")] == ["DELIVERED"]


def test_an_older_exception_is_kept_not_applied_and_does_not_make_the_parcel_late(repos, one_parcel):
    apply(repos, update("TRK1", S.IN_TRANSIT, at=T0 + timedelta(hours=2)))
    assert apply(repos, update("TRK1", S.EXCEPTION, at=T0, message="weather")) == [Outcome.KEPT]
    assert repos.shipments.get("S-1").status == S.IN_TRANSIT
    assert events(repos, "ShipmentDelayed") == [] and repos.orders.get(one_parcel).delays == []


# --- late parcels ---------------------------------------------------------------------------------

def test_an_estimate_past_the_promise_makes_the_parcel_late_once(repos, one_parcel):
    late = datetime(2026, 11, 29, tzinfo=UTC)
    apply(repos, update("TRK1", S.IN_TRANSIT, at=T0, eta=late))
    apply(repos, update("TRK1", S.IN_TRANSIT, at=T0 + timedelta(hours=1), eta=late + timedelta(days=1)))
    apply(repos, update("TRK1", S.EXCEPTION, at=T0 + timedelta(hours=2), message="weather"))

    (delayed,) = events(repos, "ShipmentDelayed")
    assert (delayed["shipment_id"], delayed["order_id"], delayed["tracking_code"]) == ("S-1", one_parcel, "TRK1")
    assert "after the promised" in delayed["reason"]
    assert delayed["promised_by"].startswith("2026-11-28") and delayed["estimated_delivery"].startswith("2026-11-29")
    order = repos.orders.get(one_parcel)
    assert [(d.shipment_id, d.tracking_code, d.estimated_delivery) for d in order.delays] == [("S-1", "TRK1", late)]
    assert repos.shipments.get("S-1").delay_reason == delayed["reason"]


def test_a_carrier_exception_makes_the_parcel_late(repos, one_parcel):
    apply(repos, update("TRK1", S.EXCEPTION, message="address issue"))
    (delayed,) = events(repos, "ShipmentDelayed")
    assert delayed["reason"] == "carrier reports EXCEPTION: address issue"
    assert [d.reason for d in repos.orders.get(one_parcel).delays] == [delayed["reason"]]


def test_a_delivered_parcel_is_not_announced_as_delayed(repos, one_parcel):
    # EasyPost keeps est_delivery_date on a delivered tracker; "delayed" after delivery is noise
    apply(repos, update("TRK1", S.DELIVERED, eta=datetime(2026, 11, 29, tzinfo=UTC)))
    assert events(repos, "ShipmentDelayed") == [] and repos.orders.get(one_parcel).delays == []
    assert repos.orders.get(one_parcel).status == OrderStatus.DELIVERED


def test_no_promise_no_lateness_by_estimate(repos):
    order_id = ship_parcels(repos, ["TRK1"])
    apply(repos, update("TRK1", S.IN_TRANSIT, eta=datetime(2027, 1, 1, tzinfo=UTC)))
    assert events(repos, "ShipmentDelayed") == [] and repos.orders.get(order_id).delays == []


# --- the order follows its parcels ----------------------------------------------------------------

def test_the_order_is_delivered_when_its_last_parcel_is(repos, two_parcels):
    apply(repos, update("TRK1", S.DELIVERED))
    assert repos.orders.get(two_parcels).status == OrderStatus.SHIPPED
    assert events(repos, "OrderDelivered") == []

    apply(repos, update("TRK2", S.DELIVERED))
    order = repos.orders.get(two_parcels)
    assert order.status == OrderStatus.DELIVERED
    assert order.history[-1].note == "shipment S-2 delivered, the last"
    assert [e["order_id"] for e in events(repos, "OrderDelivered")] == [two_parcels]

    apply(repos, update("TRK2", S.DELIVERED, at=T0 + timedelta(hours=1)))  # a later scan: nothing more
    assert len(events(repos, "OrderDelivered")) == 1


def test_a_partially_shipped_order_is_not_delivered_by_its_shipped_parcels(repos):
    order_id = ship_parcels(repos, ["TRK1"], unshipped=1)
    assert repos.orders.get(order_id).status == OrderStatus.PARTIALLY_SHIPPED
    apply(repos, update("TRK1", S.DELIVERED))
    assert repos.orders.get(order_id).status == OrderStatus.PARTIALLY_SHIPPED
    assert events(repos, "OrderDelivered") == []


def test_a_parcel_returned_to_sender_never_delivers_the_order(repos, two_parcels):
    apply(repos, update("TRK1", S.RETURNED_TO_SENDER))
    apply(repos, update("TRK2", S.DELIVERED))
    assert repos.orders.get(two_parcels).status == OrderStatus.SHIPPED
    assert [e["shipment_id"] for e in events(repos, "ShipmentDelayed")] == ["S-1"]


# --- guards: each test fails without the guard its docstring names --------------------------------

def test_a_duplicate_delivered_twice_at_once_is_applied_once(repos, one_parcel, monkeypatch):
    """Guard: the shipment's version condition, with the dedupe key in its history. Both workers
    read the shipment before either wrote; the second write must be refused and, re-read, found a
    duplicate (without the condition both commit and the update is announced twice)."""
    same = update("TRK1", S.IN_TRANSIT, event_id="evt-1")
    interleave(monkeypatch, repos, lambda: apply(repos, same))

    assert apply(repos, same) == [Outcome.DUPLICATE]

    shipment = repos.shipments.get("S-1")
    assert [e.provider_event_id for e in shipment.history] == ["evt-1"] and shipment.version == 1
    assert len(events(repos, "ShipmentTrackingUpdated")) == 1


def test_a_stale_attempt_is_refused(repos, one_parcel):
    """Guard: the shipment's version condition, directly: an attempt on a shipment read before
    another update committed cannot write over it."""
    stale = repos.shipments.get("S-1")
    apply(repos, update("TRK1", S.DELIVERED, at=T0 + timedelta(hours=1)))
    with pytest.raises(CommitFailed):
        tracking.attempt(stale, update("TRK1", S.IN_TRANSIT, at=T0), NOW, repos, NOW)
    assert repos.shipments.get("S-1").status == S.DELIVERED


def test_two_late_updates_at_once_announce_one_delay(repos, one_parcel, monkeypatch):
    """Guard: delay_reason on the shipment, under its version condition: both workers see a parcel
    not yet late; only one may announce it."""
    interleave(monkeypatch, repos, lambda: apply(repos, update("TRK1", S.EXCEPTION, event_id="a", message="weather")))

    apply(repos, update("TRK1", S.EXCEPTION, event_id="b", at=T0 + timedelta(minutes=5), message="held"))

    assert [e["reason"] for e in events(repos, "ShipmentDelayed")] == ["carrier reports EXCEPTION: weather"]
    assert len(repos.orders.get(one_parcel).delays) == 1
    assert [e.provider_event_id for e in repos.shipments.get("S-1").history] == ["a", "b"]


def test_two_parcels_delivered_at_once_still_deliver_the_order(repos, two_parcels, monkeypatch):
    """Guard: every delivery writes the order (version condition, version + 1). Each worker reads
    the other parcel still in transit; the first to commit bumps the order, so the second is refused,
    re-reads and sees both delivered. Without the order write both commit and the order stays
    SHIPPED for ever."""
    interleave(monkeypatch, repos, lambda: apply(repos, update("TRK1", S.DELIVERED)))

    apply(repos, update("TRK2", S.DELIVERED))

    assert repos.orders.get(two_parcels).status == OrderStatus.DELIVERED
    assert len(events(repos, "OrderDelivered")) == 1


def test_a_parcel_delivered_between_reading_the_order_and_its_parcels_is_seen(repos, two_parcels):
    """Guard: the order is read before its other parcels. A delivery that commits between the two
    reads then fails our write on the order's version; read the other way round, our write would
    carry the newer version and commit an order that misses that delivery."""
    real_many = repos.shipments.many
    pending = [lambda: apply(repos, update("TRK1", S.DELIVERED))]

    def many_then_the_other_delivery(ids):
        found = real_many(ids)
        if pending:
            pending.pop()()
        return found

    repos.shipments.many = many_then_the_other_delivery
    try:
        apply(repos, update("TRK2", S.DELIVERED))
    finally:
        del repos.shipments.many

    assert repos.orders.get(two_parcels).status == OrderStatus.DELIVERED
    assert len(events(repos, "OrderDelivered")) == 1
