"""Stock endpoints: every key reads, the operator writes."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response

from shared.domain.stock import AdjustmentsRequest, SetStockRequest, StockLevel
from shared.errors import AccessDenied
from shared.http.api import API_KEY_SCHEME, api_handler, install, principal, require_operator, takes
from shared.http.inventory_views import AdjustmentOutcome, ImportOutcome, SkuStock
from shared.http.openapi import INVENTORY, described
from shared.http.params import LocationPath, SkuPath
from shared.repositories import repositories
from shared.services import inventory
from shared.services.clock import utc_now

app = APIGatewayRestResolver(enable_validation=True)
app.configure_openapi(title="OMS API", security_schemes=API_KEY_SCHEME, security=[{"apiKey": []}])
install(app)


@app.put("/inventory/<sku>/<location_id>", summary="Set on hand (and safety stock) absolutely",
         **described(INVENTORY, 200, 400, 403, 409, 413, 415, 422, 503))
def set_stock(sku: SkuPath, location_id: LocationPath, counts: SetStockRequest) -> StockLevel:
    by = require_operator(app).name
    return inventory.set_stock(sku, location_id, counts, repositories(), utc_now(), by=by)


@app.post("/inventory/adjustments", summary="Apply deltas, each once per adjustment_id",
          description="200 when every adjustment applied (or was a duplicate); 422 when any was rejected. "
                      "Either way the body reports each adjustment, and the others still applied.",
          **described(INVENTORY, 200, 400, 403, 413, 415, 422, 503, rejected=list[AdjustmentOutcome],
                      success_description="Every adjustment applied or was a duplicate (a 422 with the same "
                                          "list means some were rejected)"))
def adjust(request: AdjustmentsRequest) -> Response[list[AdjustmentOutcome]]:
    caller = require_operator(app)
    # A warehouse person adjusts their own locations' stock: a batch naming another is refused whole.
    if foreign := sorted({a.location_id for a in request.adjustments if not caller.may_work_at(a.location_id)}):
        raise AccessDenied(f"not your location{'s' if len(foreign) > 1 else ''}: {', '.join(foreign)}",
                           field="adjustments.location_id")
    results = inventory.adjust_stock_batch(request.adjustments, repositories(), utc_now(), by=caller.name)
    body = [AdjustmentOutcome.of(r) for r in results]
    return Response(status_code=422 if any(r.error for r in results) else 200, content_type="application/json",
                    body=body)


@app.post("/inventory/import", summary="Bulk CSV import", **described(INVENTORY, 200, 403, 413, 415, 422, 503),
          description="Body: text/csv rows `sku,location_id,on_hand[,safety_stock]` (header optional), at most "
                      "1000 rows, lines ending in CRLF, LF or CR. Good rows are applied; each bad row is reported with "
                      "its number, field and problem. Any other Content-Type than text/csv is a 415.")
@takes("text/csv")
def import_csv() -> ImportOutcome:
    # The raw body: Powertools' validation parses JSON and forms, not text/csv.
    by = require_operator(app).name
    return ImportOutcome.of(inventory.import_stock_csv(app.current_event.decoded_body or "", repositories(),
                                                       utc_now(), by=by))


@app.get("/inventory/<sku>", summary="Stock of a SKU per location and in total",
         **described(INVENTORY, 200, 403, 404, 422))
def get_stock(sku: SkuPath) -> SkuStock:
    caller = principal(app)
    # A warehouse person's view: their own locations' levels and totals.
    return SkuStock.of(sku, [lv for lv in inventory.stock_for_sku(sku, repositories())
                             if caller.may_work_at(lv.location_id)])


lambda_handler = api_handler(app)
