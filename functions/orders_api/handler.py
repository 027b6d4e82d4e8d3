"""Order endpoints for channels (their own orders) and operators (all orders)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from shared.adapters.orders_repo import OrderFilter
from shared.domain.bounds import STORED, Moment
from shared.domain.orders import Order, OrderRequest, OrderStatus
from shared.errors import AccessDenied
from shared.http.api import API_KEY_SCHEME, install, principal, resolve
from shared.http.openapi import ORDERS, described
from shared.http.views import OrderAccepted, OrderIdPath, OrderPage, OrderView, ParcelView, Reason
from shared.observability import count, logger, metrics, traced
from shared.repositories import repositories
from shared.services.capture import capture_order
from shared.services.clock import utc_now
from shared.services.order_actions import (
    cancel_order,
    get_order_with_shipments,
    list_orders,
    reject_order,
    release_order,
)

app = APIGatewayRestResolver(enable_validation=True)
app.configure_openapi(title="OMS API", security_schemes=API_KEY_SCHEME, security=[{"apiKey": []}])
install(app)


@app.post("/orders", summary="Capture an order (idempotent per channel_order_id)",
          **described(ORDERS, 202, 400, 403, 409, 413, 415, 422, 503,
                      success_description="Stored (duplicate: false), or stored before under this channel_order_id "
                                          "with the same body (duplicate: true); allocation follows"))
def post_order(order: OrderRequest) -> Response[OrderAccepted]:
    channel = principal(app).channel
    if channel is None:
        raise AccessDenied("orders are captured with a channel's API key, not an operator's")
    result = capture_order(order, channel, repositories(), utc_now())
    if result.created:
        count("OrdersCaptured")
    body = OrderAccepted(order_id=result.order.order_id, channel_order_id=order.channel_order_id,
                         status=result.order.status, duplicate=not result.created)
    return Response(status_code=202, content_type="application/json", body=body)


@app.get("/orders/<order_id>", summary="An order with allocations, holds, history, routing reasons and parcels",
         **described(ORDERS, 200, 403, 404, 422))
def read_order(order_id: OrderIdPath) -> OrderView:
    order, shipments = get_order_with_shipments(order_id, principal(app), repositories())
    # The stored order as it is: a view of it is not input, so input's checks do not apply (STORED).
    return OrderView.model_validate({**order.model_dump(), "shipments": [ParcelView.of(s) for s in shipments]},
                                    context=STORED)


@app.get("/orders", summary="List or look up orders, oldest first: by status, channel, customer, channel order id "
                            "and creation time",
         description="channel_order_id answers at most one order (an operator names the channel too); "
                     "customer_id lists a customer's orders on a channel (an operator names the channel too). "
                     "A channel always sees only its own.",
         **described(ORDERS, 200, 403, 422))
def orders(
    status: Annotated[OrderStatus | None, Query()] = None,
    channel: Annotated[str | None, Query(max_length=64)] = None,
    created_from: Annotated[Moment | None, Query()] = None,
    created_to: Annotated[Moment | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
    channel_order_id: Annotated[str | None, Query(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$",
                                                  description="The channel's own order id (an operator names "
                                                              "the channel too): at most one order")] = None,
    customer_id: Annotated[str | None, Query(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$",
                                             description="customer.id of the order request: the channel's own "
                                                         "customer id (an operator names the channel too)")] = None,
) -> OrderPage:
    f = OrderFilter(channel=channel, status=status, created_from=created_from, created_to=created_to,
                    customer_id=customer_id, channel_order_id=channel_order_id)
    found, next_cursor = list_orders(f, principal(app), limit, cursor, repositories(), utc_now())
    return OrderPage(orders=found, next_cursor=next_cursor)


@app.post("/orders/<order_id>/cancel", summary="Cancel before shipping; releases every reservation",
          **described(ORDERS, 200, 400, 403, 404, 409, 413, 415, 422, 503))
def cancel(order_id: OrderIdPath, body: Annotated[Reason | None, Body()] = None) -> Order:
    reason = body.reason if body else "requested"
    return cancel_order(order_id, principal(app), reason, repositories(), utc_now())


@app.post("/orders/<order_id>/release", summary="Operator: release a held order back to allocation",
          **described(ORDERS, 200, 403, 404, 409, 422, 503))
def release(order_id: OrderIdPath) -> Order:
    return release_order(order_id, principal(app), repositories(), utc_now())


@app.post("/orders/<order_id>/reject", summary="Operator: reject a held order",
          **described(ORDERS, 200, 400, 403, 404, 409, 413, 415, 422, 503))
def reject(order_id: OrderIdPath, body: Annotated[Reason | None, Body()] = None) -> Order:
    return reject_order(order_id, principal(app), body.reason if body else "rejected", repositories(), utc_now())


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@traced
@metrics.log_metrics
def lambda_handler(event: dict, context) -> dict:
    return resolve(app, event, context)
