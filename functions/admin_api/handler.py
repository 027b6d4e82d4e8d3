"""Operator endpoints: run a reconciliation now, the list of open exceptions (stuck orders, silent
shipments) with their reason, age and suggested action, and the operator's people (admin only)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import BaseModel

from shared.domain.exception_records import ExceptionKind
from shared.errors import Conflict, OmsError, Unavailable
from shared.http import people_routes
from shared.http.api import API_KEY_SCHEME, api_handler, install, require_operator
from shared.http.openapi import ADMIN, described
from shared.observability import logger
from shared.repositories import repositories
from shared.services.clock import utc_now
from shared.services.reconciliation import OpenException, RunReport, list_exceptions
from shared.unit_of_work import CommitFailed

app = APIGatewayRestResolver(enable_validation=True)
app.configure_openapi(title="OMS API", security_schemes=API_KEY_SCHEME, security=[{"apiKey": []}])
install(app)

# API Gateway answers 504 after 29 s: keep the run well inside the invocation's time.
MARGIN_S = 6


class ExceptionsPage(BaseModel):
    exceptions: list[OpenException]
    next_cursor: str | None


@app.post("/admin/reconcile", summary="Run one reconciliation now (bounded; the next run continues)",
          **described(ADMIN, 200, 403, 409, 503))
def run_now() -> RunReport:
    # The run's machinery loads with its route: a cold start that lists the exceptions pays for none of it.
    from shared.domain.reconciliation import SettingsError
    from shared.services.reconciliation import run_reconciliation

    require_operator(app)
    try:
        report = run_reconciliation(repositories(), utc_now(), policy_for=repositories().channels.policy,
                                    trigger="operator", context=app.lambda_context, margin_s=MARGIN_S)
    except (OmsError, CommitFailed) as error:
        raise Unavailable(f"reconciliation failed ({error}); the lease is released and its checkpoint kept: "
                          "retry, or look at the logs") from error
    except SettingsError as error:  # not the caller's input (there is none), nor a bug: a setting
        logger.exception("reconciliation failed")
        raise Unavailable(f"reconciliation failed ({error}); its checkpoint is kept: check OMS_RECONCILE_* "
                          "settings and the logs") from error
    if report.skipped:
        raise Conflict("a reconciliation run is in progress; try again when it has finished", field="run")
    return report


@app.get("/admin/exceptions", summary="Open exceptions (stuck orders, silent or late parcels...), or of one kind",
         **described(ADMIN, 200, 403, 422))
def exceptions(limit: Annotated[int, Query(ge=1, le=200)] = 50,
               cursor: Annotated[str | None, Query(max_length=2048)] = None,
               kind: Annotated[ExceptionKind | None, Query(description="Only this kind (STUCK_ORDER, ...)")] = None,
               ) -> ExceptionsPage:
    require_operator(app)
    found, next_cursor = list_exceptions(repositories(), utc_now(), limit, cursor, kind)
    return ExceptionsPage(exceptions=found, next_cursor=next_cursor)


people_routes.add(app)


lambda_handler = api_handler(app)
