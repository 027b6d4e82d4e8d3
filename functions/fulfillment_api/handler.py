"""Fulfilment orders for stores and warehouses without a WMS: the pull list, each step from accept to
ship or collect, rejection with re-routing, and shipments with their labels."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from shared.carriers.adapter import Parcel
from shared.config import settings
from shared.domain.fulfillment import Action, FulfillmentStatus
from shared.errors import NotFound
from shared.http.api import API_KEY_SCHEME, install, require_operator, resolve
from shared.http.openapi import FULFILMENT, described
from shared.http.views import (
    CollectBody,
    FulfillmentOrderView,
    FulfillmentPage,
    LocationPath,
    RejectBody,
    ShipAnswer,
    ShipBody,
    ShipmentRef,
    ShipmentView,
)
from shared.observability import logger, metrics, traced
from shared.repositories import repositories
from shared.services import fulfillment, rerouting
from shared.services.clock import utc_now
from shared.services.labels import label_link

app = APIGatewayRestResolver(enable_validation=True)
app.configure_openapi(title="OMS API", security_schemes=API_KEY_SCHEME, security=[{"apiKey": []}])
install(app)

FulfillmentOrderId = Annotated[str, Path(pattern=r"^f[0-9a-f]{24}$")]
# What a step can answer besides success: not an operator, no such fulfilment order, not from its status.
STEP_ERRORS = (403, 404, 409, 422, 503)


@app.get("/locations/<location_id>/fulfillment-orders", summary="A location's fulfilment orders, oldest first",
         **described(FULFILMENT, 200, 403, 422))
def for_location(location_id: LocationPath, status: Annotated[FulfillmentStatus | None, Query()] = None,
                 limit: Annotated[int, Query(ge=1, le=200)] = 50,
                 cursor: Annotated[str | None, Query(max_length=2048)] = None) -> FulfillmentPage:
    require_operator(app)
    found, next_cursor = repositories().fulfillment.for_location(location_id, status, limit, cursor)
    return FulfillmentPage(fulfillment_orders=[FulfillmentOrderView.of(fo) for fo in found], next_cursor=next_cursor)


@app.get("/fulfillment-orders/<fulfillment_order_id>", summary="One fulfilment order",
         **described(FULFILMENT, 200, 403, 404, 422))
def read(fulfillment_order_id: FulfillmentOrderId) -> FulfillmentOrderView:
    return FulfillmentOrderView.of(
        fulfillment.get_fulfillment_order(fulfillment_order_id, require_operator(app), repositories()))


def _step(fulfillment_order_id: str, action: Action) -> FulfillmentOrderView:
    return FulfillmentOrderView.of(
        fulfillment.advance(fulfillment_order_id, action, require_operator(app), repositories(), utc_now()))


@app.post("/fulfillment-orders/<fulfillment_order_id>/accept", summary="The location takes the fulfilment order",
          **described(FULFILMENT, 200, *STEP_ERRORS))
def accept(fulfillment_order_id: FulfillmentOrderId) -> FulfillmentOrderView:
    return _step(fulfillment_order_id, Action.ACCEPT)


@app.post("/fulfillment-orders/<fulfillment_order_id>/pick", summary="Picked from the shelves",
          **described(FULFILMENT, 200, *STEP_ERRORS))
def pick(fulfillment_order_id: FulfillmentOrderId) -> FulfillmentOrderView:
    return _step(fulfillment_order_id, Action.PICK)


@app.post("/fulfillment-orders/<fulfillment_order_id>/pack", summary="Packed and ready to ship or hand over",
          **described(FULFILMENT, 200, *STEP_ERRORS))
def pack(fulfillment_order_id: FulfillmentOrderId) -> FulfillmentOrderView:
    return _step(fulfillment_order_id, Action.PACK)


@app.post("/fulfillment-orders/<fulfillment_order_id>/ship", summary="Ship some or all lines",
          description="Answers the fulfilment order and the parcel it shipped: carrier, tracking number and "
                      "link, and the label link when we bought the label. A retry with the same shipment_id "
                      "ships nothing more and answers the same parcel.",
          **described(FULFILMENT, 200, 400, *STEP_ERRORS, 413, 415))
def ship(fulfillment_order_id: FulfillmentOrderId, body: ShipBody) -> ShipAnswer:
    lines: dict[str, int] = {}
    for line in body.lines:
        lines[line.sku] = lines.get(line.sku, 0) + line.quantity
    label = None
    if body.label is not None:
        p = body.label.parcel
        label = fulfillment.LabelAsk(Parcel(p.weight_grams, p.length_cm, p.width_cm, p.height_cm),
                                     body.label.service, body.label.format)
    request = fulfillment.ShipRequest(body.shipment_id, lines, body.carrier, body.service, body.tracking_number,
                                      label)
    shipped = fulfillment.ship_parcel(fulfillment_order_id, request, require_operator(app), repositories(), utc_now())
    return ShipAnswer(**FulfillmentOrderView.of(shipped.fulfillment_order).model_dump(),
                      shipment=ShipmentRef.of(shipped.shipment, label_link(shipped.shipment)))


@app.post("/fulfillment-orders/<fulfillment_order_id>/reject",
          summary="The location cannot fulfil it: re-route to the next best location, or back to backorder",
          **described(FULFILMENT, 200, 400, *STEP_ERRORS, 413, 415))
def reject(fulfillment_order_id: FulfillmentOrderId, body: RejectBody) -> FulfillmentOrderView:
    return FulfillmentOrderView.of(rerouting.reject_fulfillment_order(
        fulfillment_order_id, body.reason, require_operator(app), repositories(), settings().channel_policy,
        utc_now()))


@app.post("/fulfillment-orders/<fulfillment_order_id>/ready",
          summary="Click-and-collect: packed and waiting at the store (the customer gets the pickup code)",
          **described(FULFILMENT, 200, *STEP_ERRORS))
def ready(fulfillment_order_id: FulfillmentOrderId) -> FulfillmentOrderView:
    return _step(fulfillment_order_id, Action.READY)


@app.post("/fulfillment-orders/<fulfillment_order_id>/collect",
          summary="Click-and-collect: the customer collected it, showing their pickup code",
          **described(FULFILMENT, 200, 400, *STEP_ERRORS, 413, 415))
def collect(fulfillment_order_id: FulfillmentOrderId, body: CollectBody) -> FulfillmentOrderView:
    return FulfillmentOrderView.of(fulfillment.collect(
        fulfillment_order_id, body.pickup_code, require_operator(app), repositories(), utc_now()))


@app.get("/shipments/<shipment_id>", summary="A shipment: carrier, tracking history and a link to its label",
         **described(FULFILMENT, 200, 403, 404, 422))
def shipment(shipment_id: Annotated[str, Path(pattern=r"^[\x21-\x7e]{1,128}$")]) -> ShipmentView:
    require_operator(app)
    found = repositories().shipments.get(shipment_id)
    if found is None:
        raise NotFound(f"shipment {shipment_id} not found", field="shipment_id")
    return ShipmentView(**found.model_dump(), label_url=label_link(found))


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@traced
@metrics.log_metrics
def lambda_handler(event: dict, context) -> dict:
    return resolve(app, event, context)
