"""Channel endpoints: operators configure channels at run time; a channel reads its own."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from shared.adapters.api_keys import api_keys
from shared.domain.channels import Channel, ChannelSettings
from shared.domain.identifiers import Sku
from shared.errors import NotFound
from shared.http.api import API_KEY_SCHEME, api_handler, install, principal, require_operator
from shared.http.channel_views import ChannelStock, ChannelWritten, RejectedPayload
from shared.http.openapi import CHANNELS, described
from shared.repositories import repositories
from shared.services import channels
from shared.services.clock import utc_now

app = APIGatewayRestResolver(enable_validation=True)
app.configure_openapi(title="OMS API", security_schemes=API_KEY_SCHEME, security=[{"apiKey": []}])
install(app)

ChannelPath = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$", description="The channel's id")]


@app.put("/channels/<channel_id>", summary="Operator: create a channel (issuing its API key) or change it",
         description=ChannelSettings.__doc__,
         **described(CHANNELS, 200, 400, 403, 409, 413, 415, 422, 503,
                     success_description="200 changed, 201 created (with its API key, shown this once)",
                     created=ChannelWritten))
def put(channel_id: ChannelPath, body: ChannelSettings) -> Response[ChannelWritten]:
    by = require_operator(app).name
    written = channels.put_channel(channel_id, body, by, repositories(), api_keys(), utc_now())
    return Response(status_code=201 if written.created else 200, content_type="application/json",
                    body=ChannelWritten(channel=written.channel, created=written.created, api_key=written.api_key))


@app.post("/channels/<channel_id>/api-key", summary="Operator: issue the channel a new API key (the old one stops)",
          **described(CHANNELS, 200, 403, 404, 409, 503))
def rotate(channel_id: ChannelPath) -> ChannelWritten:
    written = channels.rotate_key(channel_id, require_operator(app).name, repositories(), api_keys(), utc_now())
    return ChannelWritten(channel=written.channel, created=False, api_key=written.api_key)


@app.get("/channels", summary="Operator: every channel (the seed channels too)", **described(CHANNELS, 200, 403))
def list_all() -> list[Channel]:
    require_operator(app)
    return channels.list_channels(repositories(), utc_now())


@app.get("/channels/<channel_id>", summary="One channel (an operator, or the channel itself)",
         **described(CHANNELS, 200, 403, 404, 422))
def get_one(channel_id: ChannelPath) -> Channel:
    return _visible(channel_id)


def _visible(channel_id: str) -> Channel:
    """The channel, to an operator or to itself; another channel's is a 404."""
    if not principal(app).can_see(channel_id):
        raise NotFound(f"channel {channel_id} not found", field="channel_id")
    found = repositories().channels.get(channel_id, utc_now())
    if found is None:
        raise NotFound(f"channel {channel_id} not found", field="channel_id")
    return found


@app.get("/channels/<channel_id>/stock", summary="The available-to-sell figure the channel is told for a SKU",
         **described(CHANNELS, 200, 403, 404, 422))
def stock(channel_id: ChannelPath, sku: Annotated[Sku, Query()]) -> ChannelStock:
    from shared.domain.stock_feed import channel_sku  # with its route: the stock feed is only this route's
    from shared.services.stock_feed import current_figure

    channel = _visible(channel_id)
    figure = current_figure(channel, sku, repositories())
    return ChannelStock(channel_id=channel_id, sku=sku, channel_sku=channel_sku(channel.settings, sku),
                        available_to_sell=figure.figure, buffer=channel.settings.stock_buffer)


@app.get("/channels/<channel_id>/rejected", summary="Operator: signed payloads of the channel that were no order",
         **described(CHANNELS, 200, 403, 422))
def rejected(channel_id: ChannelPath) -> list[RejectedPayload]:
    require_operator(app)
    return [RejectedPayload(received_at=i["received_at"], topic=i["topic"], problem=i["problem"], field=i.get("field"),
                            body=i["body"], truncated=bool(i.get("truncated"))) for i in
            repositories().channels.rejected(channel_id)]


lambda_handler = api_handler(app)
