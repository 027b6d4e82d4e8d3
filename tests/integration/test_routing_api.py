"""The routing API through the API Gateway stand-in, on moto: strategies saved as versions, read,
listed in the order they are tried; the shipping profile; every refusal a clear 4xx, never a 5xx."""

from __future__ import annotations

import pytest

from tests.factories import TWO_WAREHOUSES, seed

STRATEGY = {"name": "Nearest first for the web shop", "rank": 10, "conditions": {"channels": ["web"]},
            "criteria": [{"kind": "deny_locations", "location_ids": ["MAD"]}, {"kind": "rank", "by": "nearest"}]}
PROFILE = {"currency": "EUR", "zones": [{"name": "eu", "countries": ["FR", "ES"]}],
           "rates": [{"zone": "eu", "max_weight_kg": "2", "price": "6.90"}]}


@pytest.fixture
def located(repos):
    seed(repos, TWO_WAREHOUSES, {})
    return repos


def test_every_put_is_a_version_and_a_repeated_put_is_not(api, located):
    first = api("PUT", "/routing/strategies/web-nearest", json=STRATEGY)
    assert first.status_code == 201
    assert (first.json["strategy"]["version"], first.json["strategy"]["updated_by"], first.json["changed"]) == \
        (1, "operator", True)

    again = api("PUT", "/routing/strategies/web-nearest", json=STRATEGY)
    assert (again.status_code, again.json["strategy"]["version"], again.json["changed"]) == (200, 1, False)

    second = api("PUT", "/routing/strategies/web-nearest", json={**STRATEGY, "rank": 20})
    assert (second.status_code, second.json["strategy"]["version"], second.json["changed"]) == (200, 2, True)
    assert api("GET", "/routing/strategies/web-nearest").json["rank"] == 20
    assert api("GET", "/routing/strategies/web-nearest/versions/1").json["rank"] == 10


def test_listing_is_in_evaluation_order_with_the_default_last(api, located):
    api("PUT", "/routing/strategies/zeta", json={**STRATEGY, "rank": 5})
    api("PUT", "/routing/strategies/alpha", json={**STRATEGY, "rank": 50})
    api("PUT", "/routing/strategies/beta", json={**STRATEGY, "rank": 5, "active": False})

    listed = api("GET", "/routing/strategies")

    assert listed.status_code == 200
    assert [s["strategy_id"] for s in listed.json["strategies"]] == ["beta", "zeta", "alpha", "default"]
    default = api("GET", "/routing/strategies/default").json
    assert [c["by"] for c in default["criteria"]] == ["fewest_parcels", "nearest", "priority", "lowest_handling_cost"]
    assert api("GET", "/routing/strategies/default/versions/0").json["version"] == 0


def test_versions_are_paged_newest_first(api, located):
    for rank in (1, 2, 3):
        api("PUT", "/routing/strategies/paged", json={**STRATEGY, "rank": rank})

    page = api("GET", "/routing/strategies/paged/versions?limit=2").json
    rest = api("GET", f"/routing/strategies/paged/versions?limit=2&cursor={page['next_cursor']}").json

    assert [v["version"] for v in page["versions"]] + [v["version"] for v in rest["versions"]] == [3, 2, 1]
    assert rest["next_cursor"] is None
    other = api("GET", f"/routing/strategies/web-nearest/versions?cursor={page['next_cursor']}")
    assert other.status_code == 422 and other.json["field"] == "cursor"


def test_the_shipping_profile_is_replaced_and_read(api, located):
    unset = api("GET", "/routing/shipping-profile").json
    assert unset["version"] is None and unset["profile"]["rates"] == []

    put = api("PUT", "/routing/shipping-profile", json=PROFILE)
    assert (put.status_code, put.json["version"], put.json["changed"]) == (200, 1, True)
    assert api("PUT", "/routing/shipping-profile", json=PROFILE).json["changed"] is False

    read = api("GET", "/routing/shipping-profile").json
    assert (read["version"], read["updated_by"], read["profile"]["rates"][0]["price"]) == (1, "operator", "6.90")


def test_notices_say_what_will_not_work_yet_without_refusing(api, located):
    body = {**STRATEGY, "criteria": [{"kind": "meets_promise"}, {"kind": "rank", "by": "lowest_cost"}]}

    answer = api("PUT", "/routing/strategies/promise", json=body)

    assert answer.status_code == 201
    assert {n["field"] for n in answer.json["notices"]} == {"criteria.0", "criteria.1"}


@pytest.mark.parametrize(("path", "body", "status", "field"), [
    ("/routing/strategies/default", STRATEGY, 422, "strategy_id"),
    ("/routing/strategies/Bad_Id", STRATEGY, 422, "strategy_id"),
    ("/routing/strategies/x", {**STRATEGY, "criteria": [{"kind": "rank", "by": "cheapest_ever"}]}, 422, "criteria.0"),
    ("/routing/strategies/x", {**STRATEGY, "criteria": [{"kind": "teleport"}]}, 422, "criteria.0"),
    ("/routing/strategies/x", {**STRATEGY, "criteria": [{"kind": "max_distance", "km": 100}]}, 422, "criteria"),
    ("/routing/strategies/x", {**STRATEGY, "criteria": []}, 422, "criteria"),
    ("/routing/strategies/x", {**STRATEGY, "when_short": "partial"}, 422, "when_short"),  # web forbids partial
    ("/routing/strategies/x", {**STRATEGY, "conditions": {"channels": ["pos"]}, "allow_split": True}, 422,
     "allow_split"),
    ("/routing/strategies/x", {**STRATEGY, "conditions": {"channels": ["nowhere"]}}, 422, "conditions.channels.0"),
    ("/routing/strategies/x", {**STRATEGY, "criteria": [{"kind": "rank", "by": "nearest"},
                                                        {"kind": "allow_locations", "location_ids": ["PAR"]}]},
     422, "criteria.1.location_ids"),
    ("/routing/strategies/x", {**STRATEGY, "surprise": 1}, 422, "surprise"),
    ("/routing/shipping-profile", {**PROFILE, "rates": [*PROFILE["rates"], {"zone": "mars", "max_weight_kg": "1",
                                                                             "price": "1"}]}, 422, "rates.1.zone"),
    ("/routing/shipping-profile", {**PROFILE, "zones": [*PROFILE["zones"], {"name": "eu", "countries": ["DE"]}]}, 422,
     "zones.1.name"),
    ("/routing/shipping-profile", {**PROFILE, "zones": [{"name": "domestic", "countries": ["DE"]}]}, 422,
     "zones.0.name"),
])
def test_bad_strategies_and_profiles_are_422_naming_the_field(api, located, path, body, status, field):
    answer = api("PUT", path, json=body)

    assert answer.status_code == status, answer.json
    if field is not None:
        assert answer.json["field"].startswith(field), answer.json
    if path.endswith("shipping-profile"):
        assert answer.json["field"] == field, answer.json  # where in the profile, not "body"


def test_other_refusals_are_4xx(api, located):
    assert api("PUT", "/routing/strategies/x", data="{nope", content_type="application/json").status_code == 400
    assert api("PUT", "/routing/strategies/x", json=STRATEGY, as_="web").status_code == 403
    assert api("GET", "/routing/strategies", as_="web").status_code == 403
    assert api("GET", "/routing/shipping-profile", as_="pos").status_code == 403
    assert api("GET", "/routing/strategies?bogus=1").status_code == 400
    assert api("GET", "/routing/strategies/nothing").status_code == 404
    assert api("GET", "/routing/strategies/nothing/versions").status_code == 404
    api("PUT", "/routing/strategies/x", json=STRATEGY)
    missing = api("GET", "/routing/strategies/x/versions/7")
    assert missing.status_code == 404 and missing.json["field"] == "version"
    assert api("GET", "/routing/strategies/x/versions/seven").status_code == 422
    assert api("GET", "/routing/strategies/x/versions?limit=0").status_code == 422


@pytest.mark.parametrize("body", [
    "[]", "null", "1", '"text"', '{"criteria": null}', '{"name": "x", "criteria": [[]]}',
    '{"name": "x", "criteria": [{"kind": "rank", "by": "nearest"}], "conditions": {"order_value": {"currency": "EUR",'
    ' "min": "5", "max": "1"}}}',
    '{"name": "x", "criteria": [{"kind": "rank", "by": "nearest"}], "rank": 1e400}',
    '{"name": "x", "criteria": [{"kind": "max_distance", "km": -1}, {"kind": "rank", "by": "nearest"}]}',
])
def test_hostile_bodies_never_answer_5xx(api, located, body):
    for path in ("/routing/strategies/x", "/routing/shipping-profile"):
        answer = api("PUT", path, data=body, content_type="application/json")
        assert 400 <= answer.status_code < 500, (path, body, answer.json)
