"""The operator's decisions on a held order: release it back to allocation, or reject it. Served by
orders-api (`add(app)` in its handler), so the handler stays thin; each route calls one use case of
shared/services/order_actions.py, imported with its route (a read of an order loads no event model)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.openapi.params import Body

from shared.domain.orders import Order
from shared.http import params, views
from shared.http.api import principal
from shared.http.openapi import ORDERS, described
from shared.repositories import repositories
from shared.services.clock import utc_now


def add(app: APIGatewayRestResolver) -> None:
    @app.post("/orders/<order_id>/release", summary="Operator: release a held order back to allocation",
              **described(ORDERS, 200, 403, 404, 409, 422, 503))
    def release(order_id: params.OrderIdPath) -> Order:
        from shared.services import order_actions

        return order_actions.release_order(order_id, principal(app), repositories(), utc_now())

    @app.post("/orders/<order_id>/reject", summary="Operator: reject a held order",
              **described(ORDERS, 200, 400, 403, 404, 409, 413, 415, 422, 503))
    def reject(order_id: params.OrderIdPath, body: Annotated[views.Reason | None, Body()] = None) -> Order:
        from shared.services import order_actions

        return order_actions.reject_order(order_id, principal(app), body.reason if body else "rejected",
                                          repositories(), utc_now())
