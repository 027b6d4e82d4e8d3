"""/openapi.json describes every route the wiring serves, grouped by area, with its error answers
(the one error body) and which routes need no API key; and what routes really answer is documented."""

from __future__ import annotations

import pytest

from infra import wiring
from tests.factories import TWO_WAREHOUSES, order_body, seed

AREAS = {"Orders", "Fulfilment", "Inventory", "Locations", "Channels", "Webhooks", "Admin", "Health", "Returns",
         "Routing", "Purchasing", "Reports", "Customers"}
# The document and its viewer describe the others, not themselves.
SELF = {("GET", "/openapi.json"), ("GET", "/docs")}


@pytest.fixture
def spec(api):
    answer = api("GET", "/openapi.json", as_=None)
    assert answer.status_code == 200
    return answer.json


def operations(spec):
    return {(method.upper(), path): op for path, item in spec["paths"].items() for method, op in item.items()}


def test_every_route_of_the_wiring_is_described_and_nothing_else(spec):
    served = {(r.method, r.path) for r, _ in wiring.routes()} - SELF
    assert set(operations(spec)) == served


def test_operations_are_grouped_by_area(spec):
    ops = operations(spec)
    assert {t["name"] for t in spec["tags"]} == AREAS
    assert all(t.get("description") for t in spec["tags"])
    for key, op in ops.items():
        assert len(op["tags"]) == 1 and op["tags"][0] in AREAS, key
    assert {op["tags"][0] for op in ops.values()} == AREAS
    assert ops[("POST", "/webhooks/carriers/{carrier}")]["tags"] == ["Webhooks"]
    assert ops[("GET", "/health")]["tags"] == ["Health"]
    assert ops[("POST", "/fulfillment-orders/{fulfillment_order_id}/ship")]["tags"] == ["Fulfilment"]
    assert ops[("POST", "/admin/reconcile")]["tags"] == ["Admin"]
    assert ops[("POST", "/returns/{rma_id}/refund")]["tags"] == ["Returns"]


def test_every_error_answer_is_described_with_the_error_body(spec):
    body = spec["components"]["schemas"]["ErrorBody"]
    assert {"error", "message"} <= set(body["required"])
    for key, op in operations(spec).items():
        errors = {int(code): r for code, r in op["responses"].items() if int(code) >= 400}
        assert 500 in errors, key
        for code, response in errors.items():
            assert response["description"], (key, code)
            schema = response["content"]["application/json"]["schema"]
            if code in (403, 413):  # API Gateway answers these too, with only a message
                assert schema["anyOf"] == [{"$ref": "#/components/schemas/ErrorBody"},
                                           {"$ref": "#/components/schemas/GatewayError"}], (key, code)
            elif key in BATCH_REPORTS and code == 422:
                assert schema["anyOf"][0] == {"$ref": "#/components/schemas/ErrorBody"}, key
                assert schema["anyOf"][1]["type"] == "array", key
            else:
                assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (key, code)


# Routes whose 422 may be their own per-item report of a batch (besides the error body of a request
# their schema refuses).
BATCH_REPORTS = {("POST", "/inventory/adjustments")}


def test_a_batch_with_a_rejected_adjustment_answers_the_documented_per_item_report(api, spec, repos):
    """Found by the fuzzer: a 422 listing each adjustment's outcome was not the documented error body."""
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 1})
    answer = api("POST", "/inventory/adjustments", as_="operator", json={"adjustments": [
        {"adjustment_id": "a-1", "sku": "SKU-1", "location_id": "BER", "delta": -5, "reason": "damaged"}]})
    assert answer.status_code == 422, answer.text
    assert isinstance(answer.json, list) and answer.json[0]["adjustment_id"] == "a-1"
    schema = operations(spec)[("POST", "/inventory/adjustments")]["responses"]["422"]["content"][
        "application/json"]["schema"]
    item = schema["anyOf"][1]["items"]["$ref"].rsplit("/", 1)[-1]
    assert set(answer.json[0]) <= set(spec["components"]["schemas"][item]["properties"])


def test_a_put_that_creates_documents_its_201(api, spec):
    """Found by the fuzzer: PUT /channels/{channel_id} and PUT /suppliers/{supplier_id} answer 201 when
    they create, which the document did not name."""
    ops = operations(spec)
    for key, model in ((("PUT", "/channels/{channel_id}"), "ChannelWritten"),
                       (("PUT", "/suppliers/{supplier_id}"), "Supplier")):
        assert ops[key]["responses"]["201"]["content"]["application/json"]["schema"] == {
            "$ref": f"#/components/schemas/{model}"}, key
    answer = api("PUT", "/suppliers/SUP-NEW", as_="operator", json={"name": "New supplier", "skus": ["TEE-*"], "lead_time_days": 5})
    assert answer.status_code == 201, answer.text


def test_every_operation_with_a_path_parameter_documents_404(spec):
    """Found by the fuzzer: a path parameter the route's pattern refuses is answered 404 (test_hostile_input),
    on routes that documented no 404 (PUT /locations/{location_id}, PUT /suppliers/{supplier_id}, ...)."""
    for (_, path), op in operations(spec).items():
        if "{" in path:
            assert op["responses"]["404"]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/ErrorBody"}, path


def test_api_gateways_own_answer_to_a_missing_key_matches_the_document(api, spec):
    """Found by the fuzzer: API Gateway answers a missing key {"message": "Forbidden"} before any
    function runs; the document promised the ErrorBody, which requires `error`."""
    import jsonschema

    answer = api("GET", "/locations", as_=None)
    assert (answer.status_code, answer.json) == (403, {"message": "Forbidden"})
    documented = operations(spec)[("GET", "/locations")]["responses"]["403"]["content"]["application/json"]
    jsonschema.validate(answer.json, {**documented["schema"], "components": spec["components"]})


def test_keys_are_required_except_where_the_wiring_says_public(spec):
    assert spec["security"] == [{"apiKey": []}]
    public = {(r.method, r.path) for r, _ in wiring.routes() if r.public} - SELF
    for key, op in operations(spec).items():
        if key in public:
            assert op.get("security") == [], key
            assert 403 not in {int(c) for c in op["responses"]}, key
        else:
            assert "security" not in op, key  # the document's default: x-api-key
            assert "403" in op["responses"], key


def test_success_answers_are_described(spec):
    ops = operations(spec)
    assert "202" in ops[("POST", "/orders")]["responses"]
    assert "202" in ops[("POST", "/webhooks/carriers/{carrier}")]["responses"]
    ship = ops[("POST", "/fulfillment-orders/{fulfillment_order_id}/ship")]["responses"]["200"]
    assert ship["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ShipAnswer"}
    shipment = spec["components"]["schemas"]["ShipmentRef"]["properties"]
    assert {"shipment_id", "carrier", "tracking_code", "tracking_url", "label_url"} <= set(shipment)
    order = ops[("GET", "/orders/{order_id}")]["responses"]["200"]
    assert order["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/OrderView"}


def test_what_routes_answer_is_what_they_document(api, spec, repos):
    """A sample of real answers, each checked against the route's documented statuses."""
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 1})
    ops = operations(spec)
    order_id = api("POST", "/orders", as_="web", json=order_body()).json["order_id"]
    calls = [
        ("POST", "/orders", "/orders", dict(as_="web", json=order_body())),  # 202
        ("POST", "/orders", "/orders", dict(as_="web", data="{nope", content_type="application/json")),  # 400
        ("POST", "/orders", "/orders", dict(as_="operator", json=order_body())),  # 403
        ("POST", "/orders", "/orders", dict(as_="web", json=order_body([("SKU-1", 2)]))),  # 409
        ("POST", "/orders", "/orders", dict(as_="web", json={"lines": []})),  # 422
        ("GET", "/orders/{order_id}", "/orders/o" + "0" * 24, dict(as_="web")),  # 404
        ("GET", "/orders", "/orders?channel_order_id=CO-1", dict(as_="operator")),  # 422: which channel?
        ("POST", "/orders/{order_id}/release", f"/orders/{order_id}/release", dict(as_="operator")),  # 409
        ("GET", "/locations/{location_id}", "/locations/NOWHERE", dict(as_="web")),  # 404
        ("GET", "/inventory/{sku}", "/inventory/NOPE-1", dict(as_="web")),  # 404
        ("PUT", "/inventory/{sku}/{location_id}", "/inventory/SKU-1/BER", dict(as_="web", json={"on_hand": 1})),
        ("POST", "/webhooks/carriers/{carrier}", "/webhooks/carriers/mycarrier",
         dict(as_=None, data="{}", content_type="application/json")),  # 401: unsigned
        ("GET", "/health", "/health", dict(as_=None)),
        ("GET", "/locations", "/locations?bogus=1", dict(as_="web")),  # 400: a parameter it does not take
    ]
    for method, route, url, kwargs in calls:
        answer = api(method, url, **kwargs)
        documented = {int(c) for c in ops[(method, route)]["responses"]}
        assert answer.status_code in documented, (method, url, answer.status_code, sorted(documented))
