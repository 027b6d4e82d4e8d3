"""Fulfilment orders for locations without a WMS: pull list, steps, ship or collect, reject, shipments."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from shared.domain.fulfillment import Action, FulfillmentStatus
from shared.http import fulfillment_views as views
from shared.http import params
from shared.http.api import API_KEY_SCHEME, api_handler, install, require_operator
from shared.http.fulfillment_views import FulfillmentOrderView as View
from shared.http.openapi import FULFILMENT, described
from shared.repositories import repositories
from shared.services import fulfillment
from shared.services.clock import utc_now

app = APIGatewayRestResolver(enable_validation=True)
app.configure_openapi(title="OMS API", security_schemes=API_KEY_SCHEME, security=[{"apiKey": []}])
install(app)

# f<12 hex>.<order id>.<location id>, or f<24 hex> made before ids named their order (shared/domain/fulfillment.py).
FulfillmentOrderId = Annotated[str, Path(pattern=r"^f([0-9a-f]{24}|[0-9a-f]{12}\.o[0-9a-f]{24}\.[A-Za-z0-9][A-Za-z0-9._\-]{0,63})$")]
STEP_ERRORS = (403, 404, 409, 422, 503)  # not an operator, no such fulfilment order, not from its status
BODY_ERRORS = (400, *STEP_ERRORS, 413, 415)  # and a body: unparseable, too large, not JSON


@app.get("/locations/<location_id>/fulfillment-orders", summary="A location's fulfilment orders, oldest first",
         **described(FULFILMENT, 200, 403, 422))
def for_location(location_id: params.LocationPath, status: Annotated[FulfillmentStatus | None, Query()] = None,
                 limit: params.PageLimit = 50, cursor: params.PageCursor = None) -> views.FulfillmentPage:
    found, next_cursor = fulfillment.for_location(location_id, status, limit, cursor, require_operator(app),
                                                  repositories())
    return views.FulfillmentPage(fulfillment_orders=[View.of(fo) for fo in found], next_cursor=next_cursor)


@app.get("/fulfillment-orders/<fulfillment_order_id>", summary="One fulfilment order",
         **described(FULFILMENT, 200, 403, 404, 422))
def read(fulfillment_order_id: FulfillmentOrderId) -> View:
    return View.of(fulfillment.get_fulfillment_order(fulfillment_order_id, require_operator(app), repositories()))


def _step_route(action: Action, summary: str) -> None:
    def step(fulfillment_order_id: FulfillmentOrderId) -> View:
        return View.of(fulfillment.advance(fulfillment_order_id, action, require_operator(app), repositories(),
                                           utc_now()))
    step.__name__ = action.value  # Powertools names the OpenAPI operation after the function
    app.post(f"/fulfillment-orders/<fulfillment_order_id>/{action.value}", summary=summary,
             **described(FULFILMENT, 200, *STEP_ERRORS))(step)


_step_route(Action.ACCEPT, "The location takes the fulfilment order")
_step_route(Action.PICK, "Picked from the shelves")
_step_route(Action.PACK, "Packed and ready to ship or hand over")
_step_route(Action.READY, "Click-and-collect: packed and waiting at the store (the customer gets the pickup code)")


@app.post("/fulfillment-orders/<fulfillment_order_id>/ship", summary="Ship some or all lines",
          description=views.ShipAnswer.__doc__, **described(FULFILMENT, 200, *BODY_ERRORS))
def ship(fulfillment_order_id: FulfillmentOrderId, body: views.ShipBody) -> views.ShipAnswer:
    shipped = fulfillment.ship_parcel(fulfillment_order_id, body.ship_request(), require_operator(app), repositories(),
                                      utc_now())
    return views.ShipAnswer.of(shipped.fulfillment_order, shipped.shipment)


@app.post("/fulfillment-orders/<fulfillment_order_id>/reject", **described(FULFILMENT, 200, *BODY_ERRORS),
          summary="The location cannot fulfil it: re-route to the next best location, or back to backorder")
def reject(fulfillment_order_id: FulfillmentOrderId, body: views.RejectBody) -> View:
    from shared.services import rerouting  # with its route: rerouting loads the routing domain

    return View.of(rerouting.reject_fulfillment_order(fulfillment_order_id, body.reason, require_operator(app),
                                                      repositories(), repositories().channels.policy, utc_now()))


@app.post("/fulfillment-orders/<fulfillment_order_id>/collect", **described(FULFILMENT, 200, *BODY_ERRORS),
          summary="Click-and-collect: the customer collected it, showing their pickup code")
def collect(fulfillment_order_id: FulfillmentOrderId, body: views.CollectBody) -> View:
    return View.of(fulfillment.collect(fulfillment_order_id, body.pickup_code, require_operator(app), repositories(),
                                       utc_now()))


@app.get("/shipments/<shipment_id>", summary="A shipment: carrier, tracking history and a link to its label",
         **described(FULFILMENT, 200, 403, 404, 422))
def shipment(shipment_id: Annotated[str, Path(pattern=r"^[\x21-\x7e]{1,128}$")]) -> views.ShipmentView:
    return views.ShipmentView.of(fulfillment.get_shipment(shipment_id, require_operator(app), repositories()))


lambda_handler = api_handler(app)
