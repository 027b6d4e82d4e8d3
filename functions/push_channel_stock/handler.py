"""ChannelStockChanged from SQS -> a Shopify channel's location is set to the figure (inventorySetQuantities,
idempotent per channel, SKU and reading). Throttling and outages retry the record; a refusal is dropped."""

from __future__ import annotations

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from pydantic import BaseModel, Json

from shared.batch import sqs_processor
from shared.channels.credentials import channel_credentials
from shared.channels.shopify_inventory import Urllib3Transport
from shared.domain.channels import ChannelKind
from shared.domain.events import ChannelStockChanged
from shared.observability import logger, metrics, traced
from shared.repositories import repositories
from shared.services.clock import utc_now
from shared.services.stock_feed import ShopifyInventories, push_to_shopify


class ChannelStockEvent(BaseModel):
    detail: ChannelStockChanged


class ChannelStockRecord(SqsRecordModel):
    body: Json[ChannelStockEvent]


processor = sqs_processor(ChannelStockRecord)
inventories = ShopifyInventories(channel_credentials, Urllib3Transport)  # per warm container: item ids cached


def push(record: ChannelStockRecord) -> None:
    event, repos, now = record.body.detail, repositories(), utc_now()
    channel = repos.channels.get_cached(event.channel_id, now)
    if channel is None or channel.kind != ChannelKind.SHOPIFY:
        logger.info("no stock push for this channel", extra={"channel_id": event.channel_id,
                                                             "kind": channel.kind.value if channel else None})
        return
    result = push_to_shopify(event, channel, inventories.for_channel(channel), now,
                             sent=repos.stock_feed)
    logger.info("channel stock pushed", extra={"channel_id": event.channel_id, "sku": event.sku,
                                               "outcome": result.outcome.value, "reason": result.reason})


@logger.inject_lambda_context
@traced
@metrics.log_metrics
def lambda_handler(event: dict, context) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=push, processor=processor, context=context)
