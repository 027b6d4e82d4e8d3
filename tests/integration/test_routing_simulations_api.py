"""POST and GET /routing/simulations through the local API Gateway stand-in, the worker on the emulator's
queue: 202 with a Location, QUEUED, then DONE with the figures; every bad request a 4xx naming the
field, never a 5xx; the stock untouched. (The figures themselves are worked out in
tests/service/test_routing_simulation.py.)"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from shared.adapters.expressions import Changes, Patch
from shared.adapters.orders_repo import OrderFilter
from tests.factories import order_body, seed
from tests.service.test_routing_simulation import DENY_BER, LOCATIONS, MARCH, STOCK, routed

PERIOD = {"from": "2026-03-01", "to": "2026-03-31"}


@pytest.fixture
def shop(repos, pump):
    seed(repos, LOCATIONS, STOCK)
    ids = [routed(repos, "o1", 1, MARCH, (52.52, 13.40), "DE", {"BER": 5, "MAD": 5}, ["BER"]),
           routed(repos, "o2", 1, MARCH, (48.85, 2.35), "FR", {"PAR": 5}, ["PAR"])]
    pump()  # their OrderReceived: allocated live (records after the hand-written first ones)
    return ids


def levels(repos) -> dict:
    return {key: repos.stock.level(*key) for key in STOCK}


def test_a_simulation_is_accepted_then_runs_to_its_result(api, pump, repos, shop):
    stock_before = levels(repos)

    answer = api("POST", "/routing/simulations", json={"strategies": [DENY_BER], **PERIOD, "sample_size": 2})

    assert answer.status_code == 202, answer.json
    location = answer.headers["Location"]
    assert location == f"/routing/simulations/{answer.json['simulation_id']}" == answer.json["location"]
    assert answer.json["status"] == "QUEUED" and answer.json["strategies"] == ["no-berlin"]
    assert answer.json["from"] == "2026-03-01" and answer.json["result"] is None
    pump()
    done = api("GET", location)
    assert done.status_code == 200 and done.json["status"] == "DONE", done.json
    assert done.json["progress"] == {"orders_done": 2, "orders_estimated": 2, "fraction": 1.0}
    assert done.json["result"]["orders"]["replayed"] == 2
    assert set(done.json["result"]) == {"orders", "baseline", "candidate", "sample"}
    assert levels(repos) == stock_before


def test_the_same_request_id_answers_the_same_simulation(api, pump, shop):
    body = {"strategies": [], **PERIOD, "request_id": "march-check"}
    first = api("POST", "/routing/simulations", json=body)
    again = api("POST", "/routing/simulations", json=body)
    other = api("POST", "/routing/simulations", json={**body, "sample_size": 1})

    assert (first.status_code, again.status_code, other.status_code) == (202, 202, 409)
    assert first.json["simulation_id"] == again.json["simulation_id"]
    assert other.json["field"] == "request_id"


def test_the_live_set_as_listed_can_be_sent_back_as_the_candidate_set(api, pump, shop):
    """GET /routing/strategies answers what POST /routing/simulations takes: versions, who and when are
    ignored, the built-in default listed unchanged is accepted; the live set replayed changes nothing."""
    strategy = {k: v for k, v in DENY_BER.items() if k != "strategy_id"} | {"rank": 5,
                                                                            "conditions": {"countries": ["FR"]}}
    assert api("PUT", "/routing/strategies/no-berlin-fr", json=strategy).status_code == 201
    listed = api("GET", "/routing/strategies").json["strategies"]
    assert [s["strategy_id"] for s in listed] == ["no-berlin-fr", "default"]

    answer = api("POST", "/routing/simulations", json={"strategies": listed, **PERIOD})

    assert answer.status_code == 202, answer.json
    assert answer.json["strategies"] == ["no-berlin-fr", "default"]
    pump()
    done = api("GET", answer.json["location"]).json
    assert done["status"] == "DONE" and done["result"]["orders"]["changed"] == 0
    changed_default = [*listed[:1], {**listed[1], "criteria": [{"kind": "rank", "by": "priority"}]}]
    refused = api("POST", "/routing/simulations", json={"strategies": changed_default, **PERIOD})
    assert (refused.status_code, refused.json["field"]) == (422, "strategies.1.strategy_id")


BAD = [
    ({"strategies": [], "from": "2026-03-31", "to": "2026-03-01"}, 422, "to"),
    ({"strategies": [], "from": "2026-01-01", "to": "2026-04-30"}, 422, "to"),
    ({"strategies": [], "from": "2026-3-1", "to": "2026-03-31"}, 422, "from"),
    ({"strategies": [], "to": "2026-03-31"}, 422, "from"),
    ({"strategies": [{**DENY_BER, "criteria": [{"kind": "cheapest"}]}], **PERIOD}, 422, "strategies.0.criteria.0"),
    ({"strategies": [{**DENY_BER, "criteria": [{"kind": "deny_locations", "location_ids": ["BER"]}]}], **PERIOD},
     422, "strategies.0.criteria"),
    ({"strategies": [DENY_BER, DENY_BER], **PERIOD}, 422, "strategies"),
    ({"strategies": [{**DENY_BER, "strategy_id": "default"}], **PERIOD}, 422, "strategies.0.strategy_id"),
    ({"strategies": [{**DENY_BER, "criteria": [{"kind": "deny_locations", "location_ids": ["NOPE"]},
                                               {"kind": "rank", "by": "nearest"}]}], **PERIOD},
     422, "strategies.0.criteria.0.location_ids"),
    ({"strategies": [], **PERIOD, "sample_size": 51}, 422, "sample_size"),
    ({"strategies": [], "from": "9999-12-30", "to": "9999-12-31"}, 422, "from"),  # the worker's date arithmetic
    ({"strategies": [], "from": "0001-01-01", "to": "0001-01-02"}, 422, "from"),
    ({"strategies": [], "from": "1999-12-31", "to": "2000-01-01"}, 422, "from"),
    ({"strategies": [], **PERIOD, "surprise": 1}, 422, "surprise"),
]


@pytest.mark.parametrize(("body", "status", "field"), BAD, ids=[f"{i}-{b[2]}" for i, b in enumerate(BAD)])
def test_bad_input_is_a_4xx_naming_the_field(api, body, status, field):
    answer = api("POST", "/routing/simulations", json=body)

    assert answer.status_code == status, answer.json
    assert answer.json["field"].startswith(field), answer.json


@pytest.mark.parametrize(("starts", "ends", "field"), [(5, 6, "from"), (0, 2, "to")])
def test_days_not_yet_over_cannot_be_replayed(api, today, starts, ends, field):
    answer = api("POST", "/routing/simulations", json={"strategies": [], "from": str(today + timedelta(days=starts)),
                                                       "to": str(today + timedelta(days=ends))})

    assert (answer.status_code, answer.json["field"]) == (422, field), answer.json


def test_malformed_json_and_foreign_callers_and_unknown_ids(api):
    bad_json = api("POST", "/routing/simulations", data="{\"from\": ", headers={"Content-Type": "application/json"})
    assert (bad_json.status_code, bad_json.json["field"]) == (400, "body")
    assert api("POST", "/routing/simulations", as_="web", json={"strategies": [], **PERIOD}).status_code == 403
    assert api("GET", "/routing/simulations/sim-" + "0" * 24).status_code == 404
    assert api("GET", "/routing/simulations/not-one-of-ours").status_code == 422
    assert api("GET", "/routing/simulations/sim-" + "0" * 24, as_="web").status_code == 403


def test_orders_allocated_live_replay_to_where_they_went(api, pump, repos, today):
    """What allocation records on each order is enough to replay it: the live set as candidate changes
    nothing and every baseline lands where its order went; a deny list moves the orders that used it."""
    seed(repos, LOCATIONS, STOCK)
    for n, (country, lat, lon, qty) in enumerate([("DE", 52.5, 13.4, 1), ("DE", 48.1, 11.6, 2), ("FR", 48.85, 2.35, 1),
                                                  ("FR", 45.76, 4.84, 5), ("DE", 52.5, 13.4, 4)]):
        body = order_body([("A", qty)], channel_order_id=f"live-{n}", country=country, lat=lat, lon=lon)
        assert api("POST", "/orders", as_="web", json=body).status_code == 202
    pump()
    period = {"from": (today - timedelta(days=1)).isoformat(), "to": today.isoformat()}
    went = [o.routing[0].locations for o in repos.orders.list(OrderFilter(), 10, None, [today.strftime("%Y-%m")])[0]]
    assert all(went)

    same = api("POST", "/routing/simulations", json={"strategies": [], **period}).json["location"]
    deny = api("POST", "/routing/simulations", json={"strategies": [DENY_BER], **period}).json["location"]
    pump()

    unchanged = api("GET", same).json["result"]["orders"]
    assert (unchanged["replayed"], unchanged["changed"], unchanged["baseline_differs_from_record"]) == (5, 0, 0)
    moved = api("GET", deny).json["result"]["orders"]
    assert moved["changed"] == sum("BER" in locations for locations in went) > 0


class Died(BaseException):
    """The runtime ending the function: no handler of ours sees it."""


def test_a_last_delivery_that_dies_is_recorded_and_the_next_read_fails_the_job(api, functions, repos, shop,
                                                                              monkeypatch):
    from shared.services import routing_simulation

    sim = api("POST", "/routing/simulations", json={"strategies": [], **PERIOD}).json["simulation_id"]
    record = {"messageId": "m-5", "receiptHandle": "r", "body": json.dumps({"simulation_id": sim, "chunk": 0}),
              "attributes": {"ApproximateReceiveCount": "5", "SentTimestamp": "0", "SenderId": "x",
                             "ApproximateFirstReceiveTimestamp": "0"}, "messageAttributes": {}, "md5OfBody": "x",
              "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:routing-simulations",
              "awsRegion": "us-east-1"}

    def died(*_args, **_kwargs):
        raise Died

    monkeypatch.setattr(routing_simulation, "Candidates", died)
    with pytest.raises(Died):
        functions.invoke("simulate-routing", {"Records": [record]})
    tried = repos.simulations.get(sim)
    assert tried.last_try_at is not None and tried.status.value == "QUEUED"

    assert api("GET", f"/routing/simulations/{sim}").json["status"] == "QUEUED"  # it may still be running
    long_ago = (tried.last_try_at - timedelta(minutes=30)).isoformat()
    repos.store.write(Patch(f"SIMULATION#{sim}", "JOB", Changes(set={"last_try_at": long_ago})))
    failed = api("GET", f"/routing/simulations/{sim}").json
    assert failed["status"] == "FAILED" and "did not finish in its last delivery (5 of 5" in failed["error"]
