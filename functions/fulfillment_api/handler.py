"""Fulfilment orders for stores and warehouses without a WMS: the pull list and the first steps."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from shared.domain.fulfillment import Action, FulfillmentOrder, FulfillmentStatus
from shared.http.api import API_KEY_SCHEME, install, require_operator, resolve
from shared.http.views import FulfillmentPage, LocationPath, ShipBody
from shared.observability import logger, metrics, traced
from shared.services import fulfillment
from shared.services.clock import utc_now
from shared.services.context import repositories

app = APIGatewayRestResolver(enable_validation=True)
app.configure_openapi(title="OMS API", security_schemes=API_KEY_SCHEME, security=[{"apiKey": []}])
install(app)

FulfillmentOrderId = Annotated[str, Path(pattern=r"^f[0-9a-f]{24}$")]


@app.get("/locations/<location_id>/fulfillment-orders", summary="A location's fulfilment orders, oldest first")
def for_location(location_id: LocationPath, status: Annotated[FulfillmentStatus | None, Query()] = None,
                 limit: Annotated[int, Query(ge=1, le=200)] = 50,
                 cursor: Annotated[str | None, Query(max_length=2048)] = None) -> FulfillmentPage:
    require_operator(app)
    found, next_cursor = repositories().fulfillment.for_location(location_id, status, limit, cursor)
    return FulfillmentPage(fulfillment_orders=found, next_cursor=next_cursor)


@app.get("/fulfillment-orders/<fulfillment_order_id>", summary="One fulfilment order")
def read(fulfillment_order_id: FulfillmentOrderId) -> FulfillmentOrder:
    return fulfillment.get_fulfillment_order(fulfillment_order_id, require_operator(app), repositories())


def _step(fulfillment_order_id: str, action: Action) -> FulfillmentOrder:
    return fulfillment.advance(fulfillment_order_id, action, require_operator(app), repositories(), utc_now())


@app.post("/fulfillment-orders/<fulfillment_order_id>/accept", summary="The location takes the fulfilment order")
def accept(fulfillment_order_id: FulfillmentOrderId) -> FulfillmentOrder:
    return _step(fulfillment_order_id, Action.ACCEPT)


@app.post("/fulfillment-orders/<fulfillment_order_id>/pick", summary="Picked from the shelves")
def pick(fulfillment_order_id: FulfillmentOrderId) -> FulfillmentOrder:
    return _step(fulfillment_order_id, Action.PICK)


@app.post("/fulfillment-orders/<fulfillment_order_id>/pack", summary="Packed and ready to ship or hand over")
def pack(fulfillment_order_id: FulfillmentOrderId) -> FulfillmentOrder:
    return _step(fulfillment_order_id, Action.PACK)


@app.post("/fulfillment-orders/<fulfillment_order_id>/ship", summary="Ship some or all lines")
def ship(fulfillment_order_id: FulfillmentOrderId, body: ShipBody) -> FulfillmentOrder:
    lines: dict[str, int] = {}
    for line in body.lines:
        lines[line.sku] = lines.get(line.sku, 0) + line.quantity
    request = fulfillment.ShipRequest(body.shipment_id, lines, body.carrier, body.service, body.tracking_number)
    return fulfillment.ship(fulfillment_order_id, request, require_operator(app), repositories(), utc_now())


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@traced
@metrics.log_metrics
def lambda_handler(event: dict, context) -> dict:
    return resolve(app, event, context)
