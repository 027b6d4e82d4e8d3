"""Carrier updates about a return's label, on the in-memory store: the parcel follows a shipment's
rules (once, never backwards, bounded history); the return becomes IN_TRANSIT at the first scan and
no further (a person receives it); outbound shipments keep the tracking number first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from shared.domain.returns import Return, ReturnLine, ReturnParcel, ReturnPolicy, ReturnReason, ReturnStatus
from shared.domain.shipments import MAX_IGNORED_HISTORY, StoredLabel
from shared.domain.tracking import ShipmentStatus as S
from shared.domain.tracking import TrackingUpdate
from shared.errors import Busy
from shared.services.tracking import Outcome, Result, apply_update, tracking_entry
from tests.service.test_tracking import ship_parcels

pytestmark = pytest.mark.unit

NOW = datetime(2026, 12, 10, 12, 0, tzinfo=UTC)
T0 = datetime(2026, 12, 9, 8, 0, tzinfo=UTC)
APPROVED_AT = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)
RMA = "RMA-261208-ABCDEFGH"


def a_return(code: str = "RET1", status: ReturnStatus = ReturnStatus.APPROVED, rma_id: str = RMA) -> Return:
    label = StoredLabel(provider="sandbox", key=f"labels/return-{rma_id}.pdf", label_format="PDF",
                        rate=Decimal("4.90"), currency="EUR", provider_shipment_id=f"sbx-{rma_id}")
    return Return(rma_id=rma_id, request_id=f"req-{rma_id}", request_fingerprint="f", order_id=f"o-{rma_id}",
                  channel="web", customer_id="cust-1", status=status, reason=ReturnReason.DAMAGED,
                  lines=[ReturnLine(line=0, sku="SKU-1", quantity=1)], merchant_pays_shipping=True,
                  policy=ReturnPolicy(), value=Decimal("19.90"), currency="EUR", location_id="BER",
                  parcel=ReturnParcel(carrier="sandbox", service="ground", tracking_code=code, label=label),
                  created_at=APPROVED_AT, updated_at=APPROVED_AT)


def create(repos, ret: Return) -> Return:
    repos.commit(repos.returns.create(ret, repos.returns.of_order(ret.order_id)))
    return ret


def update(status: S, at: datetime = T0, code: str = "RET1", event_id: str | None = None,
           provider: str = "sandbox") -> TrackingUpdate:
    return TrackingUpdate(provider, event_id or f"{code}-{status}-{at.isoformat()}", code, "sandbox", status, at)


def apply(repos, u: TrackingUpdate) -> list[Result]:
    return apply_update(u, NOW, repos, NOW)


def stored(repos, rma_id: str = RMA) -> Return:
    ret = repos.returns.get(rma_id)
    assert ret is not None and ret.parcel is not None
    return ret


@pytest.fixture
def approved(repos) -> Return:
    return create(repos, a_return())


# --- the return's parcel --------------------------------------------------------------------------

def test_the_first_scan_moves_an_approved_return_in_transit(repos, approved):
    assert apply(repos, update(S.IN_TRANSIT)) == [Result(None, Outcome.APPLIED, rma_id=RMA)]

    ret = stored(repos)
    assert (ret.parcel.status, ret.parcel.status_at) == (S.IN_TRANSIT, T0)
    assert [(e.status, e.applied, e.received_at) for e in ret.parcel.history] == [(S.IN_TRANSIT, True, NOW)]
    assert ret.status == ReturnStatus.IN_TRANSIT and ret.version == 1
    assert [(h.status, h.at, h.by) for h in ret.history] == [(ReturnStatus.IN_TRANSIT, NOW, "carrier")]
    assert repos.shipments.unknown("RET1") == []


def test_the_result_names_the_return_for_the_log(repos, approved):
    (result,) = apply(repos, update(S.IN_TRANSIT))
    assert result.subject == f"return {RMA}"


def test_a_duplicate_is_applied_once(repos, approved):
    first = update(S.IN_TRANSIT, event_id="evt-1")
    apply(repos, first)
    assert [r.outcome for r in apply(repos, first)] == [Outcome.DUPLICATE]

    ret = stored(repos)
    assert [e.provider_event_id for e in ret.parcel.history] == ["evt-1"] and ret.version == 1
    assert len(ret.history) == 1


def test_an_older_scan_arriving_late_is_kept_but_never_applied(repos, approved):
    apply(repos, update(S.OUT_FOR_DELIVERY, at=T0 + timedelta(hours=5)))
    assert [r.outcome for r in apply(repos, update(S.IN_TRANSIT, at=T0))] == [Outcome.KEPT]

    parcel = stored(repos).parcel
    assert (parcel.status, parcel.status_at) == (S.OUT_FOR_DELIVERY, T0 + timedelta(hours=5))
    assert [(e.status, e.applied) for e in parcel.history] == [(S.OUT_FOR_DELIVERY, True), (S.IN_TRANSIT, False)]


def test_delivered_to_us_is_the_parcels_state_not_a_receipt(repos, approved):
    delivered_at = T0 + timedelta(days=1)
    apply(repos, update(S.IN_TRANSIT))
    assert [r.outcome for r in apply(repos, update(S.DELIVERED, at=delivered_at))] == [Outcome.APPLIED]

    ret = stored(repos)
    assert (ret.parcel.status, ret.parcel.status_at) == (S.DELIVERED, delivered_at)
    assert ret.status == ReturnStatus.IN_TRANSIT  # a person counts what came: POST /returns/{rma}/receive
    assert [h.status for h in ret.history] == [ReturnStatus.IN_TRANSIT]

    assert [r.outcome for r in apply(repos, update(S.IN_TRANSIT, at=T0 + timedelta(hours=3)))] == [Outcome.KEPT]
    assert stored(repos).parcel.status == S.DELIVERED


def test_a_first_scan_that_is_already_delivered_still_puts_the_return_in_transit(repos, approved):
    apply(repos, update(S.DELIVERED))
    ret = stored(repos)
    assert (ret.parcel.status, ret.status) == (S.DELIVERED, ReturnStatus.IN_TRANSIT)


def test_a_label_created_scan_does_not_move_the_return(repos, approved):
    assert [r.outcome for r in apply(repos, update(S.LABEL_CREATED))] == [Outcome.APPLIED]
    ret = stored(repos)
    assert (ret.parcel.status, ret.status, ret.history) == (S.LABEL_CREATED, ReturnStatus.APPROVED, [])


@pytest.mark.parametrize("status", [ReturnStatus.RECEIVED, ReturnStatus.INSPECTED, ReturnStatus.REFUNDED,
                                    ReturnStatus.CLOSED])
def test_a_return_received_or_further_on_only_has_its_parcel_updated(repos, status):
    create(repos, a_return(status=status))
    apply(repos, update(S.IN_TRANSIT))
    apply(repos, update(S.DELIVERED, at=T0 + timedelta(days=1)))

    ret = stored(repos)
    assert ret.status == status and ret.history == []
    assert ret.parcel.status == S.DELIVERED and ret.version == 2


def test_the_parcels_history_is_bounded_like_a_shipments():
    parcel = a_return().parcel
    assert parcel is not None
    for n in range(MAX_IGNORED_HISTORY + 5):
        parcel.record(tracking_entry(update(S.IN_TRANSIT, at=T0 + timedelta(minutes=n)), NOW, applied=False))
    assert len(parcel.history) == MAX_IGNORED_HISTORY
    assert parcel.history[-1].occurred_at == T0 + timedelta(minutes=MAX_IGNORED_HISTORY + 4)


# --- which parcel a tracking number is ------------------------------------------------------------

def test_a_number_nobody_has_is_still_recorded_unknown(repos, approved):
    assert apply(repos, update(S.IN_TRANSIT, code="NOBODY")) == [Result(None, Outcome.UNKNOWN)]
    assert len(repos.shipments.unknown("NOBODY")) == 1
    assert stored(repos).version == 0


def test_an_outbound_shipment_with_the_number_wins(repos):
    ship_parcels(repos, ["RET1"])
    create(repos, a_return(code="RET1"))

    assert apply(repos, update(S.IN_TRANSIT)) == [Result("S-1", Outcome.APPLIED)]
    assert repos.shipments.get("S-1").status == S.IN_TRANSIT
    ret = stored(repos)
    assert (ret.status, ret.parcel.status, ret.parcel.history, ret.version) == (
        ReturnStatus.APPROVED, S.LABEL_CREATED, [], 0)


def test_every_return_with_the_number_is_updated(repos):
    create(repos, a_return(rma_id="RMA-1"))
    create(repos, a_return(rma_id="RMA-2"))
    results = apply(repos, update(S.IN_TRANSIT))
    assert sorted((r.rma_id, r.outcome) for r in results) == [("RMA-1", Outcome.APPLIED), ("RMA-2", Outcome.APPLIED)]
    assert {stored(repos, r).status for r in ("RMA-1", "RMA-2")} == {ReturnStatus.IN_TRANSIT}


# --- guards ---------------------------------------------------------------------------------------

def test_a_scan_committed_meanwhile_is_kept_and_ours_applied_on_a_fresh_read(repos, approved, monkeypatch):
    """Guard: the return's version condition. Another worker's scan commits between our read and
    our write; ours is refused, re-read, and applied over it (without the condition it would write
    over the other scan and lose it from the history)."""
    from tests.service.flows import interleave

    interleave(monkeypatch, repos, lambda: apply(repos, update(S.IN_TRANSIT, event_id="a")))

    assert [r.outcome for r in apply(repos, update(S.OUT_FOR_DELIVERY, at=T0 + timedelta(hours=2), event_id="b"))
            ] == [Outcome.APPLIED]

    ret = stored(repos)
    assert [e.provider_event_id for e in ret.parcel.history] == ["a", "b"] and ret.version == 2
    assert ret.parcel.status == S.OUT_FOR_DELIVERY
    assert [h.status for h in ret.history] == [ReturnStatus.IN_TRANSIT]


def test_a_return_changing_on_every_try_goes_back_to_the_queue(repos, approved, monkeypatch):
    """Guard: a bounded retry. Every read is stale (another writer always got there first): after a
    few tries Busy, so the queue redelivers the update, and nothing is written."""
    stale = approved.model_copy(deep=True)
    apply(repos, update(S.IN_TRANSIT, event_id="a"))
    monkeypatch.setattr(repos.returns, "for_tracking", lambda _code: [stale.model_copy(deep=True)])
    monkeypatch.setattr(repos.returns, "get", lambda _rma: stale.model_copy(deep=True))

    with pytest.raises(Busy):
        apply(repos, update(S.DELIVERED, event_id="b"))

    monkeypatch.undo()
    ret = stored(repos)
    assert [e.provider_event_id for e in ret.parcel.history] == ["a"] and ret.version == 1
