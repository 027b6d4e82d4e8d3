"""Reports from the aggregates (sales, fulfilment, returns) and the FX rates they convert with; operator only.
JSON, or CSV with `Accept: text/csv`."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types

from shared.config import settings
from shared.domain.reports import ReportKind, to_csv
from shared.http import report_views as rv
from shared.http.api import API_KEY_SCHEME, api_handler, install, principal
from shared.http.openapi import REPORTS, described
from shared.repositories import repositories
from shared.services import reports
from shared.services.clock import utc_now

app = APIGatewayRestResolver(enable_validation=True)
app.configure_openapi(title="OMS API", security_schemes=API_KEY_SCHEME, security=[{"apiKey": []}])
install(app)
CSV = "text/csv"


def _answer(kind: ReportKind, from_day, to_day, group_by, limit) -> Response[dict | str]:
    query = reports.ReportQuery(kind, from_day, to_day, group_by, limit)
    found = reports.report(query, principal(app), repositories(), settings().base_currency)
    if CSV in (app.current_event.headers.get("accept") or ""):
        return Response(status_code=200, content_type=CSV, body=to_csv(found["rows"]))
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=found)


@app.get("/reports/sales", summary="Operator: sales by SKU, channel, country, location, customer or day",
         description="Orders, units, gross, discounts, refunds and net per order currency and in the base currency, "
                     "by capture day (docs/reports.md). `Accept: text/csv` answers the rows as CSV.",
         **described(REPORTS, 200, 403))
def sales(from_: rv.FromQuery, to: rv.ToQuery, group_by: rv.GroupByQuery, limit: rv.LimitQuery = 1000) -> Response[dict | str]:
    return _answer(ReportKind.SALES, from_, to, group_by, limit)


@app.get("/reports/fulfillment", summary="Operator: fulfilment KPIs by channel, country, location or day",
         description="Times from capture to allocation, shipment and delivery (p50, p90 in hours), on-time, split, "
                     "backorder and cancellation rates, by capture day. `Accept: text/csv` answers CSV.",
         **described(REPORTS, 200, 403))
def fulfillment(from_: rv.FromQuery, to: rv.ToQuery, group_by: rv.GroupByQuery,
                limit: rv.LimitQuery = 1000) -> Response[dict | str]:
    return _answer(ReportKind.FULFILLMENT, from_, to, group_by, limit)


@app.get("/reports/returns", summary="Operator: returns by SKU, channel, country, location or day",
         description="Units sold and asked back, return rate, reasons, refunds, by the orders' capture day. "
                     "`Accept: text/csv` answers CSV.", **described(REPORTS, 200, 403))
def returns(from_: rv.FromQuery, to: rv.ToQuery, group_by: rv.GroupByQuery, limit: rv.LimitQuery = 1000) -> Response[dict | str]:
    return _answer(ReportKind.RETURNS, from_, to, group_by, limit)


@app.put("/fx-rates/<date>", summary="Operator: a day's FX rates into the base currency",
         description=rv.RatesBody.__doc__, **described(REPORTS, 200, 400, 403, 413, 415))
def put_rates(date: rv.DatePath, body: rv.RatesBody) -> rv.RatesView:
    written = reports.put_rates(date, body.rates, principal(app), repositories(), settings().base_currency, utc_now())
    return _view(written)


@app.get("/fx-rates/<date>", summary="Operator: a day's FX rates", **described(REPORTS, 200, 403, 404))
def get_rates(date: rv.DatePath) -> rv.RatesView:
    return _view(reports.get_rates(date, principal(app), repositories()))


def _view(written: reports.RatesWritten) -> rv.RatesView:
    return rv.RatesView(date=written.day, base=written.base, rates={c: str(r) for c, r in written.rates.items()},
                        updated_at=written.updated_at, updated_by=written.updated_by)


lambda_handler = api_handler(app)
