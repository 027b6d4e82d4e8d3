"""Locations and stock endpoints. Reads for every key; writes for operators only."""

from __future__ import annotations

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.params import Path
from pydantic import BaseModel, Field

from shared.domain.locations import Location, LocationRequest
from shared.domain.orders import ID_PATTERN
from shared.domain.stock import AdjustmentsRequest, SetStockRequest, StockLevel
from shared.errors import AccessDenied
from shared.http.api import API_KEY_SCHEME, install, principal, resolve
from shared.observability import logger, metrics, tracer
from shared.services import inventory
from shared.services.clock import utc_now
from shared.services.context import repositories

app = APIGatewayRestResolver(enable_validation=True)
app.configure_openapi(title="OMS API", security_schemes=API_KEY_SCHEME, security=[{"apiKey": []}])
install(app)

SkuPath = Annotated[str, Path(pattern=ID_PATTERN)]
LocationPath = Annotated[str, Path(pattern=ID_PATTERN)]


class SkuStock(BaseModel):
    sku: str
    locations: list[StockLevel]
    on_hand: int
    reserved: int
    available_to_promise: int


class AdjustmentOutcome(BaseModel):
    adjustment_id: str
    outcome: Literal["applied", "duplicate", "rejected"]
    level: StockLevel | None = None
    error: dict | None = Field(default=None, description="error, field and problem of a rejected adjustment")


class ImportOutcome(BaseModel):
    imported: int
    errors: list[dict]


def _operator() -> None:
    if not principal(app).is_operator:
        raise AccessDenied("only an operator may change locations and stock")


@app.put("/locations/<location_id>", summary="Create or replace a location")
def put_location(location_id: LocationPath, location: LocationRequest) -> Location:
    _operator()
    return inventory.put_location(location_id, location, repositories(), utc_now())


@app.get("/locations", summary="All locations")
def get_locations() -> list[Location]:
    principal(app)
    return repositories().locations.all()


@app.put("/inventory/<sku>/<location_id>", summary="Set on hand (and safety stock) absolutely")
def set_stock(sku: SkuPath, location_id: LocationPath, counts: SetStockRequest) -> StockLevel:
    _operator()
    return inventory.set_stock(sku, location_id, counts, repositories(), utc_now())


@app.post("/inventory/adjustments", summary="Apply deltas, each once per adjustment_id",
          description="200 when every adjustment applied (or was a duplicate); 422 when any was rejected. "
                      "Either way the body reports each adjustment, and the others still applied.")
def adjust(request: AdjustmentsRequest) -> Response[list[AdjustmentOutcome]]:
    _operator()
    results = inventory.adjust_stock_batch(request.adjustments, repositories(), utc_now())
    body = [AdjustmentOutcome(
        adjustment_id=r.adjustment_id, outcome=r.outcome, level=r.level,
        error={"error": r.error.code, "field": r.error.field, "problem": r.error.message} if r.error else None,
    ).model_dump(mode="json") for r in results]
    status = 422 if any(r.error for r in results) else 200
    return Response(status_code=status, content_type="application/json", body=body)


@app.post("/inventory/import", summary="Bulk CSV import",
          description="Body: text/csv rows `sku,location_id,on_hand[,safety_stock]` (header optional), at most "
                      "1000 rows. Good rows are applied; each bad row is reported with its number, field and problem.")
def import_csv() -> ImportOutcome:
    # The raw body: Powertools' validation parses JSON and forms, not text/csv.
    _operator()
    result = inventory.import_stock_csv(app.current_event.decoded_body or "", repositories(), utc_now())
    return ImportOutcome(imported=result.imported, errors=result.errors)


@app.get("/inventory/<sku>", summary="Stock of a SKU per location and in total")
def get_stock(sku: SkuPath) -> SkuStock:
    principal(app)
    levels = inventory.stock_for_sku(sku, repositories())
    return SkuStock(
        sku=sku, locations=levels,
        on_hand=sum(lv.on_hand for lv in levels), reserved=sum(lv.reserved for lv in levels),
        available_to_promise=sum(max(0, lv.available) for lv in levels),
    )


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context) -> dict:
    return resolve(app, event, context)
