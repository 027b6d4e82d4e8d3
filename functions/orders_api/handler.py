"""Order endpoints for channels (their own orders) and operators (all orders)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from shared.adapters.orders_repo import OrderFilter
from shared.config import settings
from shared.domain.bounds import Moment
from shared.domain.orders import Order, OrderRequest, OrderStatus
from shared.domain.payments import PaymentProvider
from shared.http import order_hold_routes, params, views
from shared.http.api import API_KEY_SCHEME, api_handler, install, principal, require_channel
from shared.http.openapi import ORDERS, described
from shared.observability import count
from shared.repositories import repositories
from shared.services import order_reads
from shared.services.clock import utc_now

app = APIGatewayRestResolver(enable_validation=True)
app.configure_openapi(title="OMS API", security_schemes=API_KEY_SCHEME, security=[{"apiKey": []}])
install(app)


@app.post("/orders", summary="Capture an order (idempotent per channel_order_id)",
          **described(ORDERS, 202, 400, 403, 409, 413, 415, 422, 503,
                      success_description="Stored (duplicate: false), or stored before under this channel_order_id "
                                          "with the same body (duplicate: true); allocation follows"))
def post_order(order: OrderRequest) -> Response[views.OrderAccepted]:
    # Capture's and cancellation's use cases load with their route: a cold start that reads pays for neither.
    from shared.services.capture import capture_order

    result = capture_order(order, require_channel(app), repositories(), utc_now(),
                           PaymentProvider(settings().payment_provider))
    if result.created:
        count("OrdersCaptured")
    return views.accepted(result.order, order.channel_order_id, result.created)


@app.get("/orders/<order_id>", summary="An order with allocations, holds, history, routing reasons and parcels",
         **described(ORDERS, 200, 403, 404, 422))
def read_order(order_id: params.OrderIdPath) -> views.OrderView:
    return views.OrderView.of(*order_reads.get_order_with_shipments(order_id, principal(app), repositories()))


@app.get("/orders", summary="List or look up orders, oldest first: by status, channel, customer, channel order id "
                            "and creation time",
         description=views.OrderPage.__doc__, **described(ORDERS, 200, 403, 422))
def orders(
    status: Annotated[OrderStatus | None, Query()] = None,
    channel: Annotated[str | None, Query(max_length=64)] = None,
    created_from: Annotated[Moment | None, Query()] = None,
    created_to: Annotated[Moment | None, Query()] = None,
    limit: params.PageLimit = 50,
    cursor: params.PageCursor = None,
    channel_order_id: params.ChannelOrderIdQuery = None,
    customer_id: params.CustomerIdQuery = None,
) -> views.OrderPage:
    f = OrderFilter(channel=channel, status=status, created_from=created_from, created_to=created_to,
                    customer_id=customer_id, channel_order_id=channel_order_id)
    found, next_cursor = order_reads.list_orders(f, principal(app), limit, cursor, repositories(), utc_now())
    return views.OrderPage(orders=found, next_cursor=next_cursor)


@app.post("/orders/<order_id>/cancel", summary="Cancel before shipping: the whole order or some lines",
          description=views.CancelBody.__doc__, **described(ORDERS, 200, 400, 403, 404, 409, 413, 415, 422, 503))
def cancel(order_id: params.OrderIdPath, body: Annotated[views.CancelBody | None, Body()] = None) -> Order:
    from shared.services import line_cancellation

    ask = (body or views.CancelBody()).cancel_request()
    return line_cancellation.cancel(order_id, principal(app), ask, repositories(), utc_now())


order_hold_routes.add(app)

lambda_handler = api_handler(app)
