"""What-if simulations on the in-memory store: start, run in chunks, read.

The orders carry hand-written routing records (the picture each saw and where it went), so the
figures below are worked out by hand from the locations:
BER (Berlin) ships to DE and FR, MAD (Madrid) to ES, FR and DE, PAR (Paris) to FR with 10 orders a day.

| order | to | lines | stock seen | went to | deny BER |
|---|---|---|---|---|---|
| o1 | Berlin | A x1 | BER 5, MAD 5 | BER (nearest) | MAD |
| o2 | Munich | A x2 | BER 5, MAD 5 | BER (nearest) | MAD |
| o3 | Paris | A x1 | BER 5, MAD 5, PAR 5 | PAR | PAR |
| o4 | Berlin | A x1 | MAD 3 | MAD (only stock) | MAD |
| o5 | Berlin | A x3 | BER 2, MAD 1 | BER + MAD (split) | backordered (MAD alone has 1) |
| o6 | Paris | A x1 | PAR 5, MAD 5, PAR had taken 10 orders | MAD (PAR full that day) | MAD |
plus o7 never routed, o8 routed before the picture was recorded, o9 captured the day before the period.
"""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta

import pytest

from shared.domain.orders import RoutingRecord
from shared.domain.principal import Principal
from shared.domain.routing_simulation import SimulationRequest, SimulationStatus
from shared.errors import AccessDenied, Conflict, InvalidInput, NotFound, Unavailable
from shared.services.capture import capture_order
from shared.services.routing_simulation import (
    ChunkOutcome,
    SimulationMessage,
    fail_simulation,
    read_simulation,
    run_chunk,
    start_simulation,
)
from shared.unit_of_work import Refused
from tests.factories import location_request, order_request, seed

OPERATOR = Principal("operator")
MARCH = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LATER = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)  # when the simulations of March are asked for and run
BERLIN, MUNICH, PARIS = (52.52, 13.40), (48.14, 11.58), (48.85, 2.35)
LOCATIONS = {
    "BER": location_request("DE", ships_to=["DE", "FR"], lat=52.52, lon=13.40, priority=1),
    "MAD": location_request("ES", ships_to=["ES", "FR", "DE"], lat=40.42, lon=-3.70, priority=2),
    "PAR": location_request("FR", ships_to=["FR"], lat=48.85, lon=2.35, priority=3, daily_order_capacity=10),
}
STOCK = {("A", "BER"): 7, ("A", "MAD"): 9, ("A", "PAR"): 4}
DENY_BER = {"strategy_id": "no-berlin", "name": "Not from Berlin",
            "criteria": [{"kind": "deny_locations", "location_ids": ["BER"]}, {"kind": "rank", "by": "fewest_parcels"},
                         {"kind": "rank", "by": "nearest"}, {"kind": "rank", "by": "priority"},
                         {"kind": "rank", "by": "lowest_handling_cost"}]}


def routed(repos, coid: str, qty: int, at: datetime, to: tuple[float, float], country: str,
           seen: dict[str, int] | None, went: list[str], orders_today: dict[str, int] | None = None):
    """An order captured at `at` and routed a minute later against `seen` (None: no record at all)."""
    order = capture_order(order_request([("A", qty)], channel_order_id=coid, country=country, lat=to[0], lon=to[1]),
                          "web", repos, at).order
    if seen is not None or went:
        expected = order.version
        order.routing.append(RoutingRecord(decided_at=at + timedelta(minutes=1), locations=went, reasons=["hand"],
                                           stock_seen={"A": seen} if seen else {}, orders_today=orders_today or {}))
        order.version += 1
        repos.commit(repos.orders.save(order, expected))
    return order.order_id


@pytest.fixture
def shop(repos):
    seed(repos, LOCATIONS, STOCK)
    ids = {
        "o1": routed(repos, "o1", 1, MARCH, BERLIN, "DE", {"BER": 5, "MAD": 5}, ["BER"]),
        "o2": routed(repos, "o2", 2, MARCH + timedelta(days=1), MUNICH, "DE", {"BER": 5, "MAD": 5}, ["BER"]),
        "o3": routed(repos, "o3", 1, MARCH + timedelta(days=2), PARIS, "FR", {"BER": 5, "MAD": 5, "PAR": 5}, ["PAR"]),
        "o4": routed(repos, "o4", 1, MARCH + timedelta(days=3), BERLIN, "DE", {"MAD": 3}, ["MAD"]),
        "o5": routed(repos, "o5", 3, MARCH + timedelta(days=4), BERLIN, "DE", {"BER": 2, "MAD": 1}, ["BER", "MAD"]),
        "o6": routed(repos, "o6", 1, MARCH + timedelta(days=5), PARIS, "FR", {"PAR": 5, "MAD": 5}, ["MAD"],
                     orders_today={"PAR": 10}),
        "o7": routed(repos, "o7", 1, MARCH + timedelta(days=6), BERLIN, "DE", None, []),
        "o8": routed(repos, "o8", 1, MARCH + timedelta(days=7), BERLIN, "DE", {}, ["BER"]),
        "o9": routed(repos, "o9", 1, MARCH - timedelta(days=2), BERLIN, "DE", {"BER": 5}, ["BER"]),
    }
    return ids


class Queue:
    def __init__(self):
        self.bodies: list[str] = []

    def __call__(self, bodies: list[str]) -> None:
        self.bodies += bodies

    def take(self) -> SimulationMessage:
        return SimulationMessage.model_validate_json(self.bodies.pop(0))


def request(strategies=(), **kw) -> SimulationRequest:
    return SimulationRequest.model_validate({"strategies": list(strategies), "from": "2026-03-01", "to": "2026-03-31",
                                             "sample_size": 5, **kw})


def simulate(repos, req: SimulationRequest, **chunk) -> tuple[str, dict, int]:
    """Start and run to the end; the id, the result and the number of chunks it took."""
    queue = Queue()
    job = start_simulation(req, OPERATOR, repos, LATER + timedelta(days=60), send=queue)
    chunks = 0
    while queue.bodies:
        run_chunk(queue.take(), repos, LATER + timedelta(days=60), send=queue, **chunk)
        chunks += 1
    done = read_simulation(job.simulation_id, OPERATOR, repos)
    assert done.status is SimulationStatus.DONE
    from shared.http.simulation_views import SimulationView

    return job.simulation_id, SimulationView.of(done).result or {}, chunks


def test_the_live_set_replayed_as_candidate_changes_nothing(repos, shop):
    _, result, _ = simulate(repos, request())

    assert result["orders"] == {
        "read": 8, "replayed": 6, "changed": 0, "locations_changed": 0, "baseline_differs_from_record": 0,
        "replayed_on_a_capped_picture": 0, "not_replayable": {"never_routed": 1, "routed_before_the_picture_was_recorded": 1,
                           "strategy_version_missing": 0}}
    assert result["baseline"] == result["candidate"]
    assert result["sample"] == []
    side = result["baseline"]
    # o5 is the only split: 7 parcels over 6 planned orders
    assert (side["planned"], side["parcels"], side["split_orders"], side["backordered"]) == (6, 7, 1, 0)
    assert side["load"]["BER"] == {"2026-03-02": 1, "2026-03-03": 1, "2026-03-06": 1}
    assert side["load"]["MAD"] == {"2026-03-05": 1, "2026-03-06": 1, "2026-03-07": 1}
    assert side["load"]["PAR"] == {"2026-03-04": 1}


def test_a_deny_list_changes_exactly_the_orders_that_went_there(repos, shop):
    _, result, _ = simulate(repos, request([DENY_BER]))

    assert result["orders"]["changed"] == 3 and result["orders"]["locations_changed"] == 3
    assert result["orders"]["baseline_differs_from_record"] == 0
    assert [s["order_id"] for s in result["sample"]] == [shop["o1"], shop["o2"], shop["o5"]]
    first = result["sample"][0]
    assert (first["baseline"]["locations"], first["candidate"]["locations"]) == (["BER"], ["MAD"])
    assert first["candidate"]["strategy_id"] == "no-berlin" and first["baseline"]["strategy_id"] == "default"
    assert result["sample"][2]["candidate"]["unfilled"] == [{"sku": "A", "quantity": 3}]
    cand, base = result["candidate"], result["baseline"]
    assert (base["backordered"], cand["backordered"]) == (0, 1)
    assert (cand["planned"], cand["parcels"], cand["split_orders"]) == (5, 5, 0)
    assert "BER" not in cand["load"]
    assert cand["load"]["MAD"] == {"2026-03-02": 1, "2026-03-03": 1, "2026-03-05": 1, "2026-03-07": 1}


def test_a_run_in_many_chunks_adds_up_to_the_same_figures(repos, shop):
    _, whole, one = simulate(repos, request([DENY_BER]))
    _, chunked, many = simulate(repos, request([DENY_BER]), max_orders=2)

    assert (one, many) == (1, 4)
    assert chunked == whole


def test_every_chunk_replays_against_the_network_as_it_was_when_asked(repos, shop):
    """Berlin closes and Madrid stops shipping to Germany after the first chunk: the later chunks still
    compare the network the simulation was asked about, so the figures are those of a run before it."""
    from shared.domain.shipping_profile import ShippingProfile
    from shared.services.inventory import put_location
    from shared.services.routing_strategies import put_profile

    _, before, _ = simulate(repos, request([DENY_BER]))
    queue = Queue()
    job = start_simulation(request([DENY_BER]), OPERATOR, repos, LATER, send=queue)
    run_chunk(queue.take(), repos, LATER, send=queue, max_orders=2)

    put_location("BER", LOCATIONS["BER"].model_copy(update={"active": False}), "operator", repos, LATER)
    put_location("MAD", LOCATIONS["MAD"].model_copy(update={"ships_to": ["ES"]}), "operator", repos, LATER)
    put_profile(ShippingProfile(currency="USD"), OPERATOR, repos, LATER)
    repos.locations._cache = None  # the worker's cached read would see the change at once
    while queue.bodies:
        run_chunk(queue.take(), repos, LATER, send=queue, max_orders=2)

    from shared.http.simulation_views import SimulationView

    assert SimulationView.of(read_simulation(job.simulation_id, OPERATOR, repos)).result == before


def test_a_network_too_large_for_one_item_is_kept_in_parts(repos, shop, monkeypatch):
    from shared.adapters import simulations_repo
    from shared.services.routing_simulation import network_now

    monkeypatch.setattr(simulations_repo, "NETWORK_PART_CHARS", 100)
    job = start_simulation(request(), OPERATOR, repos, LATER, send=Queue())

    parts = [sk for pk, sk in repos.store.items if pk == f"SIMULATION#{job.simulation_id}" and sk != "JOB"]
    assert len(parts) > 5 and parts[0] == "NETWORK#000"
    assert repos.simulations.network(job.simulation_id) == network_now(repos, LATER)


def test_a_redelivered_message_does_not_count_its_chunk_twice(repos, shop):
    queue = Queue()
    job = start_simulation(request(), OPERATOR, repos, LATER, send=queue)
    first = queue.take()
    assert run_chunk(first, repos, LATER, send=queue, max_orders=3) is ChunkOutcome.CONTINUES
    after_one = repos.simulations.get(job.simulation_id)

    assert run_chunk(first, repos, LATER, send=queue, max_orders=3) is ChunkOutcome.DUPLICATE
    assert repos.simulations.get(job.simulation_id) == after_one
    assert [json.loads(b)["chunk"] for b in queue.bodies] == [1]  # nothing queued twice
    assert after_one.state["read"] == 3 and after_one.progress()["orders_done"] == 3


def test_two_workers_on_one_chunk_record_it_once(repos, shop):
    job = start_simulation(request(), OPERATOR, repos, LATER, send=Queue())
    read = repos.simulations.get(job.simulation_id)
    from dataclasses import replace

    repos.commit(repos.simulations.advance(replace(read, chunk=1), read.chunk))
    with pytest.raises(Refused):
        repos.commit(repos.simulations.advance(replace(read, chunk=1), read.chunk))


class Died(BaseException):
    """The runtime ending the function (a timeout, out of memory): no `except Exception` sees it."""


def dies(_bodies: list[str]) -> None:
    raise Died


def test_a_continuation_lost_after_its_chunk_was_written_is_queued_by_the_redelivery(repos, shop):
    """The function dies after writing chunk 0 and before queueing chunk 1. Its message comes back once
    the queue's visibility timeout (30 min from when it was received) has passed, which is less than
    30 min after the chunk was written (the chunk ran 5 of them): it queues chunk 1, and once that is
    marked sent a further copy adds nothing."""
    queue = Queue()
    job = start_simulation(request(), OPERATOR, repos, LATER, send=queue)
    first = queue.take()
    five_minutes = itertools.chain([0.0], itertools.repeat(300.0)).__next__
    with pytest.raises(Died):
        run_chunk(first, repos, LATER, send=dies, max_orders=3, clock=five_minutes)
    written = repos.simulations.get(job.simulation_id)
    assert (written.chunk, written.queued) == (1, False)

    assert run_chunk(first, repos, LATER + timedelta(minutes=30), send=queue) is ChunkOutcome.REQUEUED
    assert run_chunk(first, repos, LATER + timedelta(minutes=31), send=queue) is ChunkOutcome.DUPLICATE
    assert [json.loads(b)["chunk"] for b in queue.bodies] == [1]  # queued once
    while queue.bodies:
        run_chunk(queue.take(), repos, LATER + timedelta(minutes=31), send=queue, max_orders=3)
    done = repos.simulations.get(job.simulation_id)
    assert done.status is SimulationStatus.DONE and done.state["read"] == 8  # every order counted once


def test_an_order_routed_when_no_location_had_any_stock_is_replayed(repos):
    """Allocation found no stock anywhere (a backorder, no estimate, the default strategy): the picture it
    recorded is empty but recorded, so the replay routes it (a backorder on both sides)."""
    from shared.services.allocation import allocate_order
    from tests.service.flows import policy

    seed(repos, LOCATIONS, {("A", "BER"): 0, ("A", "MAD"): 0})
    order = capture_order(order_request([("A", 1)], channel_order_id="empty", lat=52.5, lon=13.4), "web", repos,
                          MARCH).order
    allocate_order(order.order_id, repos, policy, MARCH)
    record = repos.orders.get(order.order_id).routing[0]
    assert (record.stock_seen, record.estimate, record.strategy_version) == ({}, None, 0)

    _, result, _ = simulate(repos, request())

    assert result["orders"]["replayed"] == 1
    assert result["orders"]["not_replayable"]["routed_before_the_picture_was_recorded"] == 0
    assert result["baseline"]["backordered"] == result["candidate"]["backordered"] == 1


def test_the_replay_never_touches_stock_orders_or_anything_but_its_job(repos, shop):
    before = {k: dict(v) for k, v in repos.store.items.items()}

    simulation_id, _, _ = simulate(repos, request([DENY_BER]))

    after = {k: v for k, v in repos.store.items.items() if not k[0].startswith("SIMULATION#")}
    assert after == before
    assert sorted(k for k in repos.store.items if k[0].startswith("SIMULATION#")) == [
        (f"SIMULATION#{simulation_id}", "JOB"), (f"SIMULATION#{simulation_id}", "NETWORK#000")]


def test_progress_is_estimated_from_the_share_of_the_period_read(repos, shop):
    queue = Queue()
    job = start_simulation(request(), OPERATOR, repos, LATER, send=queue)
    assert read_simulation(job.simulation_id, OPERATOR, repos).progress() == {
        "orders_done": 0, "orders_estimated": None, "fraction": 0.0}
    run_chunk(queue.take(), repos, LATER, send=queue, max_orders=2)

    progress = read_simulation(job.simulation_id, OPERATOR, repos).progress()
    # 2 orders read by 2026-03-03 09:00: 2.375 days of 31, so about 26 in the month
    assert progress["orders_done"] == 2 and progress["orders_estimated"] == 26


def test_the_same_request_id_answers_the_same_simulation_and_another_body_is_a_conflict(repos, shop):
    queue = Queue()
    first = start_simulation(request(request_id="r-1"), OPERATOR, repos, LATER, send=queue)
    again = start_simulation(request(request_id="r-1"), OPERATOR, repos, LATER, send=queue)

    assert again.simulation_id == first.simulation_id
    assert len(queue.bodies) == 1  # its first chunk was queued (and marked so): not queued again
    with pytest.raises(Conflict) as refused:
        start_simulation(request(request_id="r-1", sample_size=1), OPERATOR, repos, LATER, send=queue)
    assert refused.value.field == "request_id"


def dies_at_once() -> float:
    raise Died


def test_a_chunk_whose_last_delivery_died_fails_the_job_when_read(repos, shop):
    """The fifth delivery (the queue's last: the message goes to the DLQ after it) dies without a word:
    once it must have ended (the function's 15 minutes and a margin), a read of the job fails it."""
    queue = Queue()
    job = start_simulation(request(), OPERATOR, repos, LATER, send=queue)
    message = queue.take()
    with pytest.raises(Died):
        run_chunk(message, repos, LATER, send=queue, receive_count=5, clock=dies_at_once)

    assert read_simulation(job.simulation_id, OPERATOR, repos, LATER + timedelta(minutes=15),
                           send=queue).status is SimulationStatus.QUEUED  # it may still be running
    failed = read_simulation(job.simulation_id, OPERATOR, repos, LATER + timedelta(minutes=21), send=queue)

    assert failed.status is SimulationStatus.FAILED
    assert failed.error.startswith("chunk 0 did not finish in its last delivery (5 of 5, started 2026-04-01T09:00")
    assert run_chunk(message, repos, LATER + timedelta(minutes=40), send=queue) is ChunkOutcome.CLOSED
    assert queue.bodies == []


def test_a_delivery_that_read_the_job_before_it_failed_cannot_bring_it_back(repos, shop):
    job = start_simulation(request(), OPERATOR, repos, LATER, send=Queue())
    read = repos.simulations.get(job.simulation_id)
    fail_simulation(job.simulation_id, "chunk 0 failed 5 times", repos, LATER)

    from dataclasses import replace

    with pytest.raises(Refused):
        repos.commit(repos.simulations.advance(replace(read, status=SimulationStatus.RUNNING, chunk=1), read.chunk))
    assert repos.simulations.get(job.simulation_id).status is SimulationStatus.FAILED


def test_a_job_whose_first_message_was_never_sent_is_queued_when_read(repos, shop):
    """The request that wrote the job died before queueing it: a read of the job a while later queues it."""
    with pytest.raises(Died):
        start_simulation(request(), OPERATOR, repos, LATER, send=dies)
    [simulation_id] = [pk.removeprefix("SIMULATION#") for pk, sk in repos.store.items if sk == "JOB"]
    queue = Queue()

    assert not read_simulation(simulation_id, OPERATOR, repos, LATER + timedelta(minutes=1), send=queue).queued
    assert queue.bodies == []  # the request may still be about to queue it
    assert read_simulation(simulation_id, OPERATOR, repos, LATER + timedelta(minutes=3), send=queue).queued
    assert [json.loads(b)["chunk"] for b in queue.bodies] == [0]
    read_simulation(simulation_id, OPERATOR, repos, LATER + timedelta(minutes=4), send=queue)
    assert len(queue.bodies) == 1  # marked queued: not again
    run_chunk(queue.take(), repos, LATER + timedelta(minutes=5), send=queue)
    assert read_simulation(simulation_id, OPERATOR, repos).status is SimulationStatus.DONE


def queue_down(_bodies: list[str]) -> None:
    raise ConnectionError("the queue cannot be reached")


def test_a_request_retried_after_the_queue_failed_gets_a_job_that_runs(repos, shop):
    with pytest.raises(Unavailable):
        start_simulation(request(request_id="r-2"), OPERATOR, repos, LATER, send=queue_down)
    queue = Queue()

    again = start_simulation(request(request_id="r-2"), OPERATOR, repos, LATER + timedelta(seconds=5), send=queue)

    assert (again.status, again.queued) == (SimulationStatus.QUEUED, True)
    assert [json.loads(b)["chunk"] for b in queue.bodies] == [0]
    start_simulation(request(request_id="r-2"), OPERATOR, repos, LATER + timedelta(seconds=9), send=queue)
    assert len(queue.bodies) == 1  # queued and marked: a third try queues nothing more
    run_chunk(queue.take(), repos, LATER, send=queue)
    assert read_simulation(again.simulation_id, OPERATOR, repos).status is SimulationStatus.DONE


def test_without_a_request_id_a_job_that_could_not_be_queued_is_failed(repos, shop):
    with pytest.raises(Unavailable):
        start_simulation(request(), OPERATOR, repos, LATER, send=queue_down)

    [job] = [repos.simulations.get(pk.removeprefix("SIMULATION#")) for pk, sk in repos.store.items if sk == "JOB"]
    assert job.status is SimulationStatus.FAILED and job.error == "could not be queued (ConnectionError)"


def test_a_period_may_end_tomorrow_but_not_later(repos, shop):
    now = MARCH + timedelta(days=29)  # 2026-03-31
    start_simulation(request(**{"from": "2026-03-02", "to": "2026-04-01"}), OPERATOR, repos, now, send=Queue())
    with pytest.raises(InvalidInput) as refused:
        start_simulation(request(**{"from": "2026-03-03", "to": "2026-04-02"}), OPERATOR, repos, now, send=Queue())
    assert refused.value.field == "to"


def test_candidates_are_checked_as_a_put_of_them_would_be(repos, shop):
    unknown = {**DENY_BER, "criteria": [{"kind": "deny_locations", "location_ids": ["NOPE"]},
                                        {"kind": "rank", "by": "nearest"}]}
    with pytest.raises(InvalidInput) as refused:
        start_simulation(request([DENY_BER, unknown | {"strategy_id": "other"}]), OPERATOR, repos, LATER, send=Queue())
    assert refused.value.field == "strategies.1.criteria.0.location_ids"


def test_only_an_operator_simulates_and_an_unknown_id_is_not_found(repos, shop):
    with pytest.raises(AccessDenied):
        start_simulation(request(), Principal("web"), repos, LATER, send=Queue())
    with pytest.raises(NotFound):
        read_simulation("sim-" + "0" * 24, OPERATOR, repos)


def test_a_failed_chunk_fails_the_job_and_a_done_one_stays_done(repos, shop):
    simulation_id, _, _ = simulate(repos, request())
    fail_simulation(simulation_id, "late failure", repos, LATER)
    assert read_simulation(simulation_id, OPERATOR, repos).status is SimulationStatus.DONE

    queue = Queue()
    job = start_simulation(request(), OPERATOR, repos, LATER, send=queue)
    fail_simulation(job.simulation_id, "chunk 0 failed 5 times", repos, LATER)
    failed = read_simulation(job.simulation_id, OPERATOR, repos)
    assert (failed.status, failed.error) == (SimulationStatus.FAILED, "chunk 0 failed 5 times")
    assert run_chunk(queue.take(), repos, LATER, send=queue) is ChunkOutcome.CLOSED
