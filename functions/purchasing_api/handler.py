"""Purchasing, operator only: suppliers (their routes in shared/http/supplier_routes.py), purchase
orders and receiving, replenishment suggestions. On its hourly schedule the same function runs
replenishment (shared/services/replenishment.py): a function of its own would cost the stack five
resources more than the schedule's rule and permission."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response

from shared.domain.purchasing import CancelRequest, PurchaseOrderRequest, ReceiptRequest
from shared.http import params, supplier_routes
from shared.http import purchasing_views as pv
from shared.http.api import API_KEY_SCHEME, api_handler, install, principal
from shared.http.openapi import PURCHASING, described
from shared.observability import logger, metrics, traced
from shared.repositories import repositories
from shared.services import purchasing, replenishment
from shared.services.clock import utc_now

app = APIGatewayRestResolver(enable_validation=True)
app.configure_openapi(title="OMS API", security_schemes=API_KEY_SCHEME, security=[{"apiKey": []}])
install(app)
supplier_routes.add(app)


@app.post("/purchase-orders", summary="Operator: order from a supplier, by hand or from the suggestions",
          description=PurchaseOrderRequest.__doc__,
          **described(PURCHASING, 201, 400, 403, 409, 413, 415, 422,
                      success_description="201 placed, 200 the same purchase_order_id and body again"))
def create_purchase_order(body: PurchaseOrderRequest) -> Response[pv.PurchaseOrderView]:
    written = purchasing.create_purchase_order(body, principal(app), repositories(), utc_now())
    return pv.created_or_not(written.created, pv.PurchaseOrderView.of(written.order, []))


@app.get("/purchase-orders", summary="Operator: purchase orders, oldest first, by status and supplier",
         description=pv.PurchaseOrderPage.__doc__, **described(PURCHASING, 200, 403, 422))
def list_purchase_orders(status: pv.StatusQuery = None, supplier_id: pv.POSupplierQuery = None,
                         limit: params.PageLimit = 50, cursor: params.PageCursor = None) -> pv.PurchaseOrderPage:
    return pv.PurchaseOrderPage.of(purchasing.list_purchase_orders(status, supplier_id, limit, cursor, principal(app),
                                                                   repositories()))


@app.post("/purchase-orders/<purchase_order_id>/cancel",
          summary="Operator: cancel a purchase order nothing was received against (once; again answers it)",
          description=CancelRequest.__doc__, **described(PURCHASING, 200, 400, 403, 404, 409, 413, 415, 422, 503))
def cancel(purchase_order_id: pv.PurchaseOrderPath, body: CancelRequest) -> pv.CancelAnswer:
    done = purchasing.cancel_purchase_order(purchase_order_id, body, principal(app), repositories(), utc_now())
    return pv.CancelAnswer(purchase_order=done.order, duplicate=done.duplicate)


@app.get("/purchase-orders/<purchase_order_id>", summary="Operator: a purchase order with its receipts",
         **described(PURCHASING, 200, 403, 404, 422))
def get_purchase_order(purchase_order_id: pv.PurchaseOrderPath) -> pv.PurchaseOrderView:
    found = purchasing.get_purchase_order(purchase_order_id, principal(app), repositories())
    return pv.PurchaseOrderView.of(found.order, found.receipts)


@app.post("/purchase-orders/<purchase_order_id>/receive",
          summary="Operator: receive goods into stock, once per receipt_id",
          description=ReceiptRequest.__doc__,
          **described(PURCHASING, 200, 400, 403, 404, 409, 413, 415, 422, 503))
def receive(purchase_order_id: pv.PurchaseOrderPath, body: ReceiptRequest) -> pv.ReceiptAnswer:
    done = purchasing.receive_purchase_order(purchase_order_id, body, principal(app), repositories(), utc_now())
    return pv.ReceiptAnswer(receipt=done.receipt, duplicate=done.duplicate, purchase_order=done.order)


@app.get("/replenishment/suggestions", summary="Operator: what to order now, per SKU and location, and why",
         description=pv.SuggestionPage.__doc__, **described(PURCHASING, 200, 403, 422))
def suggestions(location_id: pv.LocationQuery = None, supplier_id: pv.SupplierQuery = None,
                include_all: pv.AllQuery = False, limit: params.PageLimit = 50,
                cursor: params.PageCursor = None) -> pv.SuggestionPage:
    return pv.SuggestionPage.of(replenishment.suggestions(
        principal(app), repositories(), location_id=location_id, supplier_id=supplier_id, include_all=include_all,
        limit=limit, cursor=cursor))


api = api_handler(app)


@logger.inject_lambda_context
@traced
@metrics.log_metrics
def run_schedule(event: dict, context) -> dict:
    return replenishment.scheduled_run(repositories(), utc_now(), context)


def lambda_handler(event: dict, context) -> dict:
    if event.get("source") == "aws.events":  # the EventBridge schedule; API Gateway sends proxy events
        return run_schedule(event, context)
    return api(event, context)
