"""The channels' return policies (set by the operator) and their customers' store credit."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import APIGatewayRestResolver

from shared.domain.returns import ReturnPolicy
from shared.http import return_views as rv
from shared.http.api import API_KEY_SCHEME, api_handler, install, principal
from shared.http.openapi import RETURNS, described
from shared.repositories import repositories
from shared.services import returns
from shared.services.clock import utc_now

app = APIGatewayRestResolver(enable_validation=True)
app.configure_openapi(title="OMS API", security_schemes=API_KEY_SCHEME, security=[{"apiKey": []}])
install(app)


@app.put("/return-policies/<channel>", summary="Operator: set a channel's return policy",
         **described(RETURNS, 200, 400, 403, 404, 409, 413, 415, 422, 503))
def put_policy(channel: rv.ChannelPath, policy: ReturnPolicy) -> rv.PolicyView:
    returns.put_policy(channel, policy, principal(app), repositories(), utc_now())
    return rv.PolicyView.of(channel, returns.read_policy(channel, principal(app), repositories()))


@app.get("/return-policies/<channel>", summary="A channel's return policy (the default until one is set)",
         **described(RETURNS, 200, 403, 404, 422))
def get_policy(channel: rv.ChannelPath) -> rv.PolicyView:
    return rv.PolicyView.of(channel, returns.read_policy(channel, principal(app), repositories()))


@app.get("/customers/<customer_id>/store-credit",
         summary="A channel's customer's store credit: balances and ledger (a channel reads its own customers')",
         **described(RETURNS, 200, 403, 422))
def store_credit(customer_id: rv.CustomerPath, channel: rv.ChannelQuery = None) -> rv.StoreCreditView:
    from shared.services.store_credit import store_credit_of

    return rv.StoreCreditView.of(customer_id, store_credit_of(customer_id, channel, principal(app), repositories()))


lambda_handler = api_handler(app)
