"""The channels' return policies (set by the operator), their customers' store credit, and the customer view
with its service notes (docs/architecture.md, "The customer view")."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response

from shared.config import settings
from shared.domain.customers import NoteRequest
from shared.domain.returns import ReturnPolicy
from shared.http import customer_views as cv
from shared.http import return_views as rv
from shared.http.api import API_KEY_SCHEME, api_handler, install, principal
from shared.http.openapi import CUSTOMERS, RETURNS, described
from shared.http.params import PageCursor, PageLimit
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


@app.get("/customers/<customer_id>",
         summary="A customer: orders (a page), lifetime value, returns, refunds, store credit, open exceptions, "
                 "notes (a channel sees its own orders only)",
         **described(CUSTOMERS, 200, 403, 422))
def customer(customer_id: rv.CustomerPath, channel: rv.ChannelQuery = None, limit: PageLimit = 50,
             cursor: PageCursor = None) -> cv.CustomerViewBody:
    from shared.services.customers import customer_view

    return cv.CustomerViewBody.of(customer_view(customer_id, channel, limit, cursor, principal(app), repositories(),
                                                settings().base_currency, utc_now()))


# Two successes: 201 a note written, 200 a repeat of its request_id (answered, nothing written).
NOTE_ANSWERS = described(CUSTOMERS, 201, 400, 403, 409, 413, 415, 422, success_description="The note, written")
NOTE_ANSWERS["responses"][200] = {"description": "The same request_id and text again: the note it wrote, nothing new"}


@app.post("/customers/<customer_id>/notes", summary="Operator: add a service note about a customer", **NOTE_ANSWERS)
def add_note(customer_id: rv.CustomerPath, body: NoteRequest) -> Response[cv.NoteWritten]:
    from shared.services.customers import add_note as add

    note, duplicate = add(customer_id, body, principal(app), repositories(), utc_now())
    return Response(200 if duplicate else 201, content_type="application/json",
                    body=cv.NoteWritten(**cv.NoteView.of(note).model_dump(), duplicate=duplicate))


lambda_handler = api_handler(app)
