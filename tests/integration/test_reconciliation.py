"""Scheduled reconciliation on moto: each step, two runs at once, a run cut off and resumed, and
the operator endpoints. Time passes by handing the run a later `now` than the orders were made at."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from shared.adapters.expressions import KeyQuery
from shared.adapters.reconciliation_repo import ReconciliationRepository
from shared.domain.channels import seed_policy
from shared.domain.reconciliation import config_from_env
from shared.domain.routing import Assignment
from shared.domain.tracking import ShipmentStatus, TrackingUpdate
from shared.services.clock import utc_now
from shared.services.reconciliation import Budget, reconcile
from tests.factories import TWO_WAREHOUSES, location_request, order_body, seed
from tests.integration.conftest import outbox_events
from tests.integration.test_fulfillment_api import level, packed, pull

STORE = {"PAR": location_request("FR", ships_to=["FR"], lat=48.86, lon=2.34, pickup_enabled=True, type="store")}


def run(repos, later=timedelta(0), **kwargs):
    return reconcile(repos, utc_now() + later, policy_for=seed_policy, **kwargs)


def capture(api, pump, lines, channel="web", **kwargs):
    order_id = api("POST", "/orders", as_=channel, json=order_body(lines, **kwargs)).json["order_id"]
    pump()
    return order_id


def status(repos, order_id):
    return repos.orders.get(order_id).status.value


def outbox(repos, detail_type):
    """The events written to the outbox, of one type."""
    return outbox_events(repos, detail_type)


def phantom_reservation(repos, sku, loc, quantity, order_id="o-crashed"):
    """A crash between two writes: the level's counters moved, the reservation record never came."""
    level_update = repos.stock.reserve(order_id, [Assignment(loc, sku, quantity)], utc_now())[0]
    repos.commit(level_update)


def hand_edit(repos, sku, loc, **counts):
    from shared.adapters.expressions import Changes, Patch
    from shared.adapters.stock_repo import level_sk, stock_pk

    repos.commit(Patch(stock_pk(sku), level_sk(loc), Changes(set=counts)))


def records(repos, sku, loc):
    return repos.stock.live_reservations(sku, loc)


# ------------------------------------------------------------------ 1. expiry


def test_an_unpaid_hold_is_cancelled_once_its_time_is_up_and_not_before(repos, api, pump):
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 5})
    held = capture(api, pump, [("SKU-1", 1)], payment_status="pending")
    assert status(repos, held) == "ON_HOLD"

    assert run(repos, timedelta(hours=71)).holds_expired == 0
    assert status(repos, held) == "ON_HOLD"

    report = run(repos, timedelta(hours=73))
    assert report.holds_expired == 1 and report.pass_complete
    order = repos.orders.get(held)
    assert order.status.value == "CANCELLED" and "payment not received" in order.cancel_reason
    assert [e["order_id"] for e in outbox(repos, "OrderCancelled")] == [held]
    assert run(repos, timedelta(hours=74)).holds_expired == 0  # a second run finds nothing more to do


def test_an_abandoned_pickup_is_cancelled_and_its_stock_released(repos, api, pump):
    seed(repos, STORE, {("SKU-1", "PAR"): 3})
    order_id = capture(api, pump, [("SKU-1", 2)], country="FR", lat=48.85, lon=2.35,
                       fulfillment={"type": "pickup", "location_id": "PAR"})
    fo_id = packed(api, "PAR")
    api("POST", f"/fulfillment-orders/{fo_id}/ready")
    assert level(repos, "SKU-1", "PAR").reserved == 2

    assert run(repos, timedelta(days=6)).pickups_expired == 0
    report = run(repos, timedelta(days=8))

    assert report.pickups_expired == 1
    assert status(repos, order_id) == "CANCELLED"
    assert repos.fulfillment.get(fo_id).status.value == "CANCELLED"
    after = level(repos, "SKU-1", "PAR")
    assert (after.reserved, after.available) == (0, 3) and records(repos, "SKU-1", "PAR") == 0


# ------------------------------------------------------------------ 2. drift


def test_drift_from_a_crash_and_a_hand_edit_is_repaired_with_audit_and_event(repos, api, pump):
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 5, ("SKU-2", "BER"): 5, ("SKU-3", "BER"): 5})
    capture(api, pump, [("SKU-1", 1), ("SKU-2", 2)])
    phantom_reservation(repos, "SKU-1", "BER", 2)          # reserved 3, records 1: 2 units lost to sale
    hand_edit(repos, "SKU-2", "BER", reserved=0)            # reserved 0, records 2: oversell risk
    assert (level(repos, "SKU-1", "BER").available, level(repos, "SKU-2", "BER").available) == (2, 3)

    report = run(repos)

    assert report.drift_repaired == 2 and report.stock_items_checked == 3
    one, two = level(repos, "SKU-1", "BER"), level(repos, "SKU-2", "BER")
    assert (one.reserved, one.available) == (1, 4)
    assert (two.reserved, two.available) == (2, 3)  # available recomputed: on_hand - reserved - safety
    audits = repos.reconciliation.audits(utc_now().date().isoformat())
    assert sorted((a.sku, a.before["reserved"], a.after["reserved"], a.after["available"])
                  for a in audits) == [("SKU-1", 3, 1, 4), ("SKU-2", 0, 2, 3)]
    events = sorted(outbox(repos, "StockDriftRepaired"), key=lambda e: e["sku"])
    assert [(e["sku"], e["reserved_before"], e["reserved_after"], e["available_after"]) for e in events] == \
        [("SKU-1", 3, 1, 4), ("SKU-2", 0, 2, 3)]
    assert run(repos).drift_repaired == 0  # nothing left to repair


def test_a_reservation_during_the_repair_is_never_lost_and_available_stays_non_negative(repos, monkeypatch):
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 3})
    repos.commit(repos.stock.reserve("o-real", [Assignment("BER", "SKU-1", 1)], utc_now()))
    phantom_reservation(repos, "SKU-1", "BER", 1)  # reserved 2 (records 1), available 1
    from shared.adapters.stock_repo import StockRepository

    original = StockRepository.live_reservations
    raced = []

    def recount_while_an_order_reserves(self, sku, loc):
        counted = original(self, sku, loc)
        if not raced:  # between the repair's reads and its write, an order takes the last unit it sees
            raced.append(1)
            repos.commit(repos.stock.reserve("o-racer", [Assignment("BER", "SKU-1", 1)], utc_now()))
        return counted

    monkeypatch.setattr(StockRepository, "live_reservations", recount_while_an_order_reserves)
    report = run(repos)

    assert raced and report.drift_repaired == 1
    after = level(repos, "SKU-1", "BER")
    # The racer's unit is counted: records say 2 (o-real, o-racer), so 1 is still available.
    assert records(repos, "SKU-1", "BER") == 2
    assert (after.on_hand, after.reserved, after.available) == (3, 2, 1)
    assert len(outbox(repos, "StockDriftRepaired")) == 1


# ------------------------------------------------------------------ 3. backorders


def test_the_sweep_releases_backorders_oldest_first_when_stock_allows(repos, api, pump):
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 0})
    older = capture(api, pump, [("SKU-1", 1)], channel_order_id="CO-1")
    younger = capture(api, pump, [("SKU-1", 1)], channel_order_id="CO-2")
    assert status(repos, older) == status(repos, younger) == "BACKORDERED"
    # Stock arrives, but its StockChanged never reaches release-backorders (no pump): only the sweep.
    hand_edit(repos, "SKU-1", "BER", on_hand=1, available=1)

    report = run(repos)

    assert (report.backorders_examined, report.backorders_allocated) == (2, 1)
    assert (status(repos, older), status(repos, younger)) == ("ALLOCATED", "BACKORDERED")


# ------------------------------------------------------------------ lease and checkpoint


def test_a_second_run_while_one_holds_the_lease_does_nothing(repos):
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 5, ("SKU-2", "BER"): 5})
    phantom_reservation(repos, "SKU-1", "BER", 1)
    phantom_reservation(repos, "SKU-2", "BER", 1)
    second = []

    def start_another_run(step, key):
        if not second:
            second.append(run(repos))

    first = run(repos, observer=start_another_run)

    assert second[0].skipped and second[0].items == 0 and second[0].drift_repaired == 0
    assert first.drift_repaired == 2 and first.pass_complete
    assert len(outbox(repos, "StockDriftRepaired")) == 2
    assert len(outbox(repos, "ReconciliationCompleted")) == 1  # the skipped run reports nothing
    assert not run(repos).skipped  # released at the end


def test_a_run_whose_lease_expired_and_was_taken_stops_without_touching_the_checkpoint(repos):
    seed(repos, TWO_WAREHOUSES, {(f"SKU-{i}", "BER"): 5 for i in range(4)})
    taken = []

    def lease_runs_out(step, key):
        if not taken:  # the first run hangs past its lease; the next scheduled run takes over
            taken.append(run(repos, timedelta(minutes=10), budget=Budget(60, max_items=1)))

    first = run(repos, observer=lease_runs_out)

    assert taken[0].stopped_in == "drift" and not taken[0].skipped
    assert first.lease_lost
    state = repos.reconciliation.state()
    first_sku = next(repos.reconciliation.stock_partitions(None))[1].sku
    assert state.step == "drift" and state.cursor["after"].startswith(f"{first_sku}#")  # the taker's


def test_a_run_cut_off_half_way_resumes_from_its_checkpoint_and_covers_everything_once(repos):
    skus = [f"SKU-{i}" for i in range(5)]
    seed(repos, TWO_WAREHOUSES, {(s, loc): 5 for s in skus for loc in ("BER", "MAD")})
    for s in skus:
        phantom_reservation(repos, s, "BER", 1)
    seen: list[tuple[str, str]] = []
    observe = lambda step, key: seen.append((step, key))  # noqa: E731

    first = run(repos, budget=Budget(60, max_items=2), observer=observe)
    assert first.stopped_in == "drift" and not first.pass_complete and first.drift_repaired == 2
    second = run(repos, observer=observe)

    assert second.resumed_from == "drift" and second.pass_complete
    drift_items = [key for step, key in seen if step == "drift"]
    assert len(drift_items) == len(set(drift_items)) == 5  # every stock partition once
    assert first.stock_items_checked + second.stock_items_checked == 10
    assert first.drift_repaired + second.drift_repaired == 5
    assert len(outbox(repos, "StockDriftRepaired")) == 5
    completed = outbox(repos, "ReconciliationCompleted")
    assert sorted((e["pass_complete"], e["stopped_in"]) for e in completed) == [(False, "drift"), (True, None)]


# ------------------------------------------------------------------ 4. silent shipments


def ship(api, pump, repos, shipment_id, tracking, channel_order_id):
    order_id = capture(api, pump, [("SKU-1", 1)], channel_order_id=channel_order_id)
    fo_id = [x for x in pull(api, "BER") if x["order_id"] == order_id][0]["fulfillment_order_id"]
    for step in ("accept", "pick", "pack"):
        api("POST", f"/fulfillment-orders/{fo_id}/{step}")
    answer = api("POST", f"/fulfillment-orders/{fo_id}/ship",
                 json={"shipment_id": shipment_id, "carrier": "DHL", "tracking_number": tracking})
    assert answer.status_code == 200
    return order_id


def test_silent_shipments_are_polled_updated_or_flagged_once(repos, api, pump):
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 5})
    ship(api, pump, repos, "S-QUIET", "TRACK-QUIET", "CO-1")
    ship(api, pump, repos, "S-NEWS", "TRACK-NEWS", "CO-2")
    later = utc_now() + timedelta(days=4)
    polled = []

    def carrier(shipment, now):
        polled.append(shipment.shipment_id)
        if shipment.shipment_id == "S-QUIET":
            return []
        return [TrackingUpdate(provider="test", provider_event_id="e1", tracking_code="TRACK-NEWS", carrier="DHL",
                               status=ShipmentStatus.IN_TRANSIT, occurred_at=later - timedelta(hours=1))]

    report = reconcile(repos, later, policy_for=seed_policy, tracker=carrier)

    assert sorted(polled) == ["S-NEWS", "S-QUIET"] and report.shipments_flagged == 1
    assert repos.reconciliation.shipments(["S-NEWS"])[0].status == ShipmentStatus.IN_TRANSIT
    listed = api("GET", "/admin/exceptions").json["exceptions"]
    assert [(x["kind"], x["subject"]) for x in listed] == [("SILENT_SHIPMENT", "S-QUIET")]
    assert "TRACK-QUIET" in listed[0]["suggested_action"] and "no tracking update" in listed[0]["reason"]
    again = reconcile(repos, later + timedelta(minutes=5), policy_for=seed_policy, tracker=carrier)
    assert again.shipments_flagged == 0  # flagged once, not on every run
    assert sorted(polled) == ["S-NEWS", "S-QUIET"]  # and its carrier not asked again every 5 minutes
    reconcile(repos, later + timedelta(hours=7), policy_for=seed_policy, tracker=carrier)
    assert polled.count("S-QUIET") == 2  # but again after some hours


# ------------------------------------------------------------------ 5. stuck orders and the operator API


def test_a_stuck_order_is_raised_once_listed_for_the_operator_and_closed_when_it_moves(repos, api, pump):
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 5})
    order_id = capture(api, pump, [("SKU-1", 1)])
    assert status(repos, order_id) == "ALLOCATED"

    assert run(repos, timedelta(days=1)).orders_stuck == 0  # within the ALLOCATED SLA of 2 days
    first, second = run(repos, timedelta(days=3)), run(repos, timedelta(days=3, minutes=5))

    assert (first.orders_stuck, second.orders_stuck) == (1, 0)
    events = outbox(repos, "OrderStuck")
    assert [(e["order_id"], e["status"], e["sla_minutes"]) for e in events] == [(order_id, "ALLOCATED", 2880)]
    listed = api("GET", "/admin/exceptions").json
    assert listed["next_cursor"] is None
    [entry] = listed["exceptions"]
    assert (entry["kind"], entry["order_id"], entry["status"]) == ("STUCK_ORDER", order_id, "ALLOCATED")
    assert "longer than its SLA of 2 d" in entry["reason"]
    assert "BER" in entry["suggested_action"] and entry["age_minutes"] >= 0
    assert api("GET", "/admin/exceptions", as_="web").status_code == 403
    # One kind only (the console's "stuck only"): the kind's own sort key prefix, not every exception.
    assert [x["order_id"] for x in api("GET", "/admin/exceptions?kind=STUCK_ORDER").json["exceptions"]] == [order_id]
    assert api("GET", "/admin/exceptions?kind=SILENT_SHIPMENT").json["exceptions"] == []
    unknown = api("GET", "/admin/exceptions?kind=LATE")
    assert unknown.status_code == 422 and unknown.json["field"] == "kind"

    api("POST", f"/orders/{order_id}/cancel", json={"reason": "customer gave up"})
    assert run(repos, timedelta(days=3, minutes=10)).exceptions_resolved == 1
    assert api("GET", "/admin/exceptions").json["exceptions"] == []


def test_an_aging_card_authorisation_is_listed_once_and_closed_once_released(repos, api, pump):
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 5})
    order_id = capture(api, pump, [("SKU-1", 1)], payment_status="authorized")
    cfg = config_from_env({"OMS_RECONCILE_SLA": "ALLOCATED=off"})  # only the authorisation is listed

    assert run(repos, timedelta(days=5), cfg=cfg).authorizations_aging == 0  # within 6 days
    first, second = run(repos, timedelta(days=7), cfg=cfg), run(repos, timedelta(days=7, minutes=5), cfg=cfg)

    assert (first.authorizations_aging, second.authorizations_aging) == (1, 0)
    assert [e["authorizations_aging"] for e in outbox(repos, "ReconciliationCompleted")
            if e["run_id"] == first.run_id] == [1]
    [entry] = api("GET", "/admin/exceptions").json["exceptions"]
    assert (entry["kind"], entry["order_id"], entry["status"]) == ("AUTHORIZATION_AGING", order_id, "authorized")
    assert "re-authorise" in entry["suggested_action"]

    order = repos.orders.get(order_id)
    expected = order.version
    order.pay.release(utc_now())  # voided (re-authorised as a new payment, or given up)
    order.version += 1
    repos.commit(repos.orders.save(order, expected))
    assert run(repos, timedelta(days=7, minutes=10), cfg=cfg).exceptions_resolved == 1
    assert api("GET", "/admin/exceptions").json["exceptions"] == []


def test_an_operator_runs_reconciliation_now_unless_a_run_is_in_progress(repos, api):
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 5})
    phantom_reservation(repos, "SKU-1", "BER", 1)

    answer = api("POST", "/admin/reconcile")
    assert answer.status_code == 200, answer.json
    assert answer.json["drift_repaired"] == 1 and answer.json["pass_complete"] is True
    assert answer.json["trigger"] == "operator"
    assert api("POST", "/admin/reconcile", as_="web").status_code == 403

    repos.reconciliation.acquire("someone-else", utc_now(), timedelta(minutes=5))
    busy = api("POST", "/admin/reconcile")
    assert busy.status_code == 409 and busy.json["error"] == "conflict"


def test_the_scheduled_function_runs_and_reports(repos, functions):
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 5})
    phantom_reservation(repos, "SKU-1", "BER", 1)
    answer = functions.invoke("reconcile", {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}})
    assert answer["drift_repaired"] == 1 and answer["trigger"] == "schedule" and answer["pass_complete"]


def test_a_run_that_fails_gives_the_lease_back_and_the_next_one_continues(repos, monkeypatch):
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 5})
    phantom_reservation(repos, "SKU-1", "BER", 1)

    def table_down(self, start):
        raise RuntimeError("the table is unavailable")
        yield  # a generator, like the real one

    with monkeypatch.context() as patched:
        patched.setattr(ReconciliationRepository, "stock_partitions", table_down)
        with pytest.raises(RuntimeError):
            run(repos)
    assert repos.reconciliation.state().holder is None

    after = run(repos)
    assert not after.skipped and after.resumed_from == "drift" and after.drift_repaired == 1


def test_the_drift_walk_visits_every_stock_partition_once_and_reads_nothing_else(repos, api, pump):
    skus = [f"SKU-{i:02d}" for i in range(40)]  # more SKUs than gsi4 shards
    seed(repos, TWO_WAREHOUSES, {(s, loc): 3 for s in skus for loc in ("BER", "MAD")})
    capture(api, pump, [("SKU-07", 1)])  # an order, its events and fulfilment order: not stock

    walked = [partition for _, partition in repos.reconciliation.stock_partitions(None)]

    assert sorted(p.sku for p in walked) == skus  # each once
    by_sku = {p.sku: p for p in walked}
    assert all(sorted(lv.location_id for lv in p.levels) == ["BER", "MAD"] for p in walked)
    assert [(r.sku, r.location_id, r.quantity) for r in by_sku["SKU-07"].reservations] == [("SKU-07", "BER", 1)]
    assert all(not p.reservations for p in walked if p.sku != "SKU-07")


# ------------------------------------------------------------------ review: settings changes, partial pickups, spent records


def test_a_checkpoint_in_a_step_whose_setting_changed_does_not_wedge_later_runs(repos):
    from shared.domain.reconciliation import config_from_env

    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 1})
    # The last run stopped in the stuck-order walk over ALLOCATED; then its SLA was switched off.
    from shared.adapters.expressions import Put

    repos.commit(Put({"pk": "RECONCILE", "sk": "STATE", "step": "stuck_orders",
                      "cursor": json.dumps({"status": "ALLOCATED", "after": "2026-01-01T00"})}))
    cfg = config_from_env({"OMS_RECONCILE_SLA": "ALLOCATED=off"})

    first = run(repos, cfg=cfg)
    second = run(repos, cfg=cfg)

    assert first.errors == second.errors == 0 and first.pass_complete and second.pass_complete


def test_an_uncollected_pickup_of_a_partly_collected_order_is_listed_not_an_error(repos, api, pump):
    seed(repos, STORE, {("SKU-1", "PAR"): 1})
    order_id = capture(api, pump, [("SKU-1", 2)], channel="marketplace", country="FR", lat=48.85, lon=2.35,
                       fulfillment={"type": "pickup", "location_id": "PAR"})
    first = packed(api, "PAR")
    api("POST", f"/fulfillment-orders/{first}/ready")
    api("POST", f"/fulfillment-orders/{first}/collect", json={"pickup_code": repos.fulfillment.get(first).pickup_code})
    api("PUT", "/inventory/SKU-1/PAR", json={"on_hand": 1})
    pump()
    second = next(x["fulfillment_order_id"] for x in pull(api, "PAR", "OPEN"))
    api("POST", f"/fulfillment-orders/{second}/ready")
    assert status(repos, order_id) == "PARTIALLY_SHIPPED"

    report = run(repos, timedelta(days=8))
    again = run(repos, timedelta(days=8, minutes=5))

    assert report.errors == 0 and report.pickups_flagged == 1 and again.pickups_flagged == 0
    listed = api("GET", "/admin/exceptions").json["exceptions"]
    assert [(x["kind"], x["subject"]) for x in listed if x["kind"] == "UNCOLLECTED_PICKUP"] == [
        ("UNCOLLECTED_PICKUP", second)]


def test_a_shipment_deletes_the_record_it_empties_and_the_sweep_still_takes_old_spent_ones(repos, api, pump):
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 3})
    capture(api, pump, [("SKU-1", 1)], channel_order_id="CO-SHIPPED")
    live = capture(api, pump, [("SKU-1", 1)], channel_order_id="CO-LIVE")
    shipped_fo = next(x for x in pull(api, "BER") if x["order_id"] != live)["fulfillment_order_id"]
    assert api("POST", f"/fulfillment-orders/{shipped_fo}/ship", json={"shipment_id": "S-SPENT"}).status_code == 200

    def reservation_records() -> list[str]:
        return [i["order_id"] for i in repos.store.query_all(KeyQuery("STOCK#SKU-1")) if i["sk"].startswith("RES#")]

    assert reservation_records() == [live]  # deleted in the shipment's transaction
    # One left at 0 units by older code, which shrank a shipped record and left it to the sweep.
    repos.commit(repos.stock.reserve("o-old", [Assignment("BER", "SKU-1", 1)], utc_now()))
    repos.commit(repos.stock.ship("o-old", "BER", {"SKU-1": 1}, utc_now()))
    assert sorted(reservation_records()) == sorted([live, "o-old"])

    report = run(repos)

    assert report.reservations_swept == 1 and reservation_records() == [live]
    assert report.drift_repaired == 0 and records(repos, "SKU-1", "BER") == 1


def test_a_broken_setting_is_a_503_naming_it_not_a_malformed_request(api, monkeypatch):
    monkeypatch.setenv("OMS_RECONCILE_SLA", "ALLOCATED=soon")
    answer = api("POST", "/admin/reconcile")
    assert answer.status_code == 503 and "OMS_RECONCILE_" in answer.json["message"]
