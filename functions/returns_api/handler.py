"""Returns (RMAs): requested by the order's channel or an operator, decided, received and refunded by
operators. (Return policies and store credit: functions/return_policies_api.)"""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from shared.domain.returns import Return, ReturnStatus
from shared.http import params
from shared.http import return_views as rv
from shared.http.api import API_KEY_SCHEME, api_handler, install, principal
from shared.http.openapi import RETURNS, described
from shared.repositories import repositories
from shared.services import returns
from shared.services.clock import utc_now
from shared.services.return_receiving import ReceiveBody, receive_return
from shared.services.returns import DecisionBody, ReturnRequestBody

app = APIGatewayRestResolver(enable_validation=True)
app.configure_openapi(title="OMS API", security_schemes=API_KEY_SCHEME, security=[{"apiKey": []}])
install(app)


@app.post("/orders/<order_id>/returns", summary="Ask to return delivered units (idempotent per request_id)",
          description=ReturnRequestBody.__doc__,
          **described(RETURNS, 201, 400, 403, 404, 409, 413, 415, 422, 503,
                      success_description="The RMA: REQUESTED, or APPROVED when the policy approves it by itself"))
def request_return(order_id: params.OrderIdPath, body: ReturnRequestBody) -> Response[rv.ReturnView]:
    ret = returns.request_return(order_id, body, principal(app), repositories(), utc_now())
    return Response(status_code=201, content_type="application/json", body=rv.ReturnView.of(ret))


@app.get("/orders/<order_id>/returns", summary="An order's returns", **described(RETURNS, 200, 403, 404, 422))
def order_returns(order_id: params.OrderIdPath) -> rv.ReturnList:
    return rv.ReturnList(order_id=order_id, returns=returns.returns_of_order(order_id, principal(app), repositories()))


@app.get("/returns", summary="Operator: returns in a status, oldest first", description=rv.ReturnPage.__doc__,
         **described(RETURNS, 200, 403, 422))
def returns_in_status(status: Annotated[ReturnStatus, Query()] = ReturnStatus.REQUESTED,
                      limit: params.PageLimit = 50, cursor: params.PageCursor = None) -> rv.ReturnPage:
    found, next_cursor = returns.returns_in_status(status, principal(app), limit, cursor, repositories())
    return rv.ReturnPage(returns=found, next_cursor=next_cursor)


@app.get("/returns/<rma_id>", summary="A return", **described(RETURNS, 200, 403, 404, 422))
def read_return(rma_id: rv.RmaPath) -> rv.ReturnView:
    return rv.ReturnView.of(returns.get_return(rma_id, principal(app), repositories()))


@app.post("/returns/<rma_id>/approve", summary="Operator: approve (a return label is bought when the merchant pays)",
          **described(RETURNS, 200, 400, 403, 404, 409, 415, 422, 503))
def approve(rma_id: rv.RmaPath, body: Annotated[DecisionBody | None, Body()] = None) -> rv.ReturnView:
    ret = returns.approve_return(rma_id, principal(app), repositories(), utc_now(), note=body.note if body else None)
    return rv.ReturnView.of(ret)


@app.post("/returns/<rma_id>/decline", summary="Operator: decline", **described(RETURNS, 200, 400, 403, 404, 409, 415,
                                                                                422, 503))
def decline(rma_id: rv.RmaPath, body: Annotated[DecisionBody | None, Body()] = None) -> Return:
    return returns.decline_return(rma_id, principal(app), body.note if body else None, repositories(), utc_now())


@app.post("/returns/<rma_id>/close", summary="Operator: close (nothing more happens to it)",
          **described(RETURNS, 200, 400, 403, 404, 409, 415, 422, 503))
def close(rma_id: rv.RmaPath, body: Annotated[DecisionBody | None, Body()] = None) -> Return:
    return returns.close_return(rma_id, principal(app), body.note if body else None, repositories(), utc_now())


@app.post("/returns/<rma_id>/receive", summary="Operator: receive units, restock or write off (once per receipt_id)",
          description=ReceiveBody.__doc__, **described(RETURNS, 200, 400, 403, 404, 409, 413, 415, 422, 503))
def receive(rma_id: rv.RmaPath, body: ReceiveBody) -> Return:
    return receive_return(rma_id, body, principal(app), repositories(), utc_now())


@app.post("/returns/<rma_id>/refund", summary="Operator: refund what was received and not yet refunded (at most once "
                                              "per unit)", description=rv.RefundBody.__doc__,
          **described(RETURNS, 200, 400, 403, 404, 409, 415, 422, 503))
def refund(rma_id: rv.RmaPath, body: Annotated[rv.RefundBody | None, Body()] = None) -> Return:
    from shared.payments.credentials import payment_provider
    from shared.services.return_refunds import refund_return

    return refund_return(rma_id, principal(app), repositories(), payment_provider, utc_now(),
                         body.method if body else None)


lambda_handler = api_handler(app)
