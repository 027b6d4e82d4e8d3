"""Routing strategies and the shipping profile, set by the operator (every change a new version)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response

from shared.domain.routing_strategy import RoutingStrategy, StrategyRequest
from shared.domain.shipping_profile import ShippingProfile
from shared.http import routing_views as rv
from shared.http.api import API_KEY_SCHEME, api_handler, install, principal
from shared.http.openapi import ROUTING, described
from shared.repositories import repositories
from shared.services import routing_strategies as routing
from shared.services.clock import utc_now

app = APIGatewayRestResolver(enable_validation=True)
app.configure_openapi(title="OMS API", security_schemes=API_KEY_SCHEME, security=[{"apiKey": []}])
install(app)


@app.put("/routing/strategies/<strategy_id>", summary="Operator: save a routing strategy (a new version)",
         description=StrategyRequest.__doc__,
         **described(ROUTING, 200, 400, 403, 413, 415, 422, 503,
                     success_description="200 a new version (or the current one, when the body was current "
                                         "already), 201 the first version"))
def put_strategy(strategy_id: rv.StrategyPath, body: StrategyRequest) -> Response[rv.StrategyWritten]:
    written = routing.put_strategy(strategy_id, body, principal(app), repositories(), utc_now())
    return Response(status_code=201 if written.created else 200, content_type="application/json",
                    body=rv.StrategyWritten.of(written))


@app.get("/routing/strategies", summary="Operator: the strategies in the order they are tried, the default last",
         description=rv.StrategyList.__doc__, **described(ROUTING, 200, 403))
def list_strategies() -> rv.StrategyList:
    return rv.StrategyList(strategies=routing.list_strategies(principal(app), repositories()))


@app.get("/routing/strategies/<strategy_id>", summary="Operator: a strategy's current version",
         **described(ROUTING, 200, 403, 404, 422))
def get_strategy(strategy_id: rv.StrategyPath) -> RoutingStrategy:
    return routing.get_strategy(strategy_id, principal(app), repositories())


@app.get("/routing/strategies/<strategy_id>/versions", summary="Operator: a strategy's versions, newest first",
         description=rv.VersionPage.__doc__, **described(ROUTING, 200, 403, 404, 422))
def versions(strategy_id: rv.StrategyPath, limit: rv.PageLimit = 50, cursor: rv.PageCursor = None) -> rv.VersionPage:
    found, next_cursor = routing.strategy_versions(strategy_id, principal(app), repositories(), limit, cursor)
    return rv.VersionPage(versions=found, next_cursor=next_cursor)


@app.get("/routing/strategies/<strategy_id>/versions/<version>", summary="Operator: one version of a strategy",
         **described(ROUTING, 200, 403, 404, 422))
def version(strategy_id: rv.StrategyPath, version: rv.VersionPath) -> RoutingStrategy:
    return routing.strategy_version(strategy_id, version, principal(app), repositories())


@app.put("/routing/shipping-profile", summary="Operator: set the shipping profile (zones, rates, weights, "
                                               "emission factors)",
         **described(ROUTING, 200, 400, 403, 413, 415, 422, 503))
def put_profile(body: ShippingProfile) -> rv.ProfileView:
    written = routing.put_profile(body, principal(app), repositories(), utc_now())
    return rv.ProfileView.of(written.stored, written.changed)


@app.get("/routing/shipping-profile", summary="Operator: the shipping profile (the defaults until one is set)",
         **described(ROUTING, 200, 403))
def get_profile() -> rv.ProfileView:
    return rv.ProfileView.of(routing.get_profile(principal(app), repositories()))


lambda_handler = api_handler(app)
