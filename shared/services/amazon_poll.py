"""Amazon orders into the OMS: a scheduled poll of the Orders API from a checkpoint, and the
ORDER_CHANGE notification path beside it.

The poll walks one pass at a time: every order of the channel's marketplaces last updated at or
after the checkpoint's `updated_after`, page by page. Each order is mapped
(shared/channels/amazon.py) and handed to `receive`, the capture path, which is idempotent per
channel order id and ignores a revision not newer than the one it holds: handing an order twice is
harmless, missing one is not. So:

- The checkpoint is saved after every page (the token of the next page, the pass's lower bound
  and the moment the pass started). A run that crashes on page n (the transport, the mapping of a
  page, `receive`) leaves the checkpoint at page n; the next run asks page n again. Only the orders
  of page n handed before the crash are handed twice; no page is skipped.
- When the last page is taken, `updated_after` moves to the pass's start less OVERLAP (never
  backwards). Orders updated while the pass ran, or whose LastUpdateDate reached the search index
  only after we asked, are then still inside the next pass. OVERLAP is 5 minutes: Amazon itself
  requires LastUpdatedBefore / CreatedBefore to be at least two minutes before the request (what
  is newer may not be searchable yet), and the rest covers the skew between our clock and Amazon's.
- `page_budget` pages per run at most; a run that reaches it stops with the checkpoint at the
  next page, and the next scheduled run continues the pass.
- Throttled (AmazonThrottled: Amazon still answered 429 after the client's backoff): the run ends
  early with the checkpoint where it was; the next scheduled run continues.
- A saved page token Amazon refuses (it expires after 24 hours) starts the pass over from the same
  `updated_after`: nothing is skipped, some orders come again.
- An order that cannot be read at all (UnreadableOrder) is reported and handed to `unreadable`
  when given (to keep it for an operator), and the pass goes on: one bad order cannot stop a
  channel's intake.
- Two runs of one channel at once: each checkpoint write is conditioned on the version read; the
  run that finds the checkpoint moved stops (`superseded`).

Logs carry the channel, counts and Amazon order ids only: never names, addresses or emails.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from shared.adapters.channel_sync_repo import ChannelSyncRepository, CheckpointMoved, SyncCheckpoint
from shared.channels.amazon import (
    AmazonOrder,
    AmazonOrders,
    AmazonRejected,
    AmazonThrottled,
    read_order_change_notification,
)
from shared.channels.intake import ChannelOrder, SkuMap, UnreadableOrder
from shared.observability import logger

FIRST_LOOKBACK = timedelta(days=1)  # how far back the very first pass of a channel starts
OVERLAP = timedelta(minutes=5)

Receive = Callable[[ChannelOrder], object]
Unreadable = Callable[[AmazonOrder, UnreadableOrder], object]


@dataclass
class PollReport:
    channel_id: str
    updated_after: datetime | None = None  # the lower bound of the pass this run worked on
    pages: int = 0
    received: int = 0                      # orders handed to receive
    actions: dict[str, int] = field(default_factory=dict)  # upsert / cancel / acknowledge
    fulfilled_by_amazon: int = 0           # acknowledged: Amazon ships them, not the OMS
    unreadable: list[str] = field(default_factory=list)    # Amazon order ids
    resumed: bool = False                  # started at a page token a previous run saved
    restarted: bool = False                # that token was refused: the pass started over
    completed: bool = False                # the pass's last page was taken
    throttled: bool = False
    superseded: bool = False               # another run moved the checkpoint
    checkpoint: SyncCheckpoint | None = None


def poll_amazon(channel_id: str, client: AmazonOrders, sku_map: SkuMap, marketplace_ids: Sequence[str],
                sync: ChannelSyncRepository, receive: Receive, now: datetime, page_budget: int, *,
                first_lookback: timedelta = FIRST_LOOKBACK, overlap: timedelta = OVERLAP,
                unreadable: Unreadable | None = None) -> PollReport:
    """Take up to `page_budget` pages of the channel's current pass (see the module's docstring)."""
    if page_budget < 1:
        raise ValueError("page_budget must be at least 1")
    checkpoint = sync.checkpoint(channel_id)
    after = checkpoint.updated_after or now - first_lookback
    if checkpoint.in_progress:
        token, started = checkpoint.next_token, checkpoint.pass_started_at or now
    else:
        token, started = None, now
    report = PollReport(channel_id, updated_after=after, resumed=token is not None)
    try:
        while report.pages < page_budget:
            try:
                page = client.search_orders(after, marketplace_ids, token)
            except AmazonThrottled:
                report.throttled = True
                break
            except AmazonRejected as refused:
                if token is None or report.pages or report.restarted or refused.status != 400:
                    raise
                # The saved token expired (24 hours) or no longer fits: the pass starts over from the
                # same lower bound, so nothing is skipped.
                logger.warning("amazon poll: saved page token refused, pass restarts",
                               extra={"channel_id": channel_id, "codes": refused.codes})
                report.restarted = True
                token, started = None, now
                checkpoint = replace(checkpoint, next_token=None, pass_started_at=None, pages=0)
                continue
            for order in page.orders:
                _hand(order, sku_map, receive, unreadable, report)
            report.pages += 1
            if page.next_token:
                token = page.next_token
                checkpoint = sync.save(checkpoint, checkpoint.page_taken(after, token, started), now)
            else:
                checkpoint = sync.save(checkpoint, checkpoint.pass_completed(max(after, started - overlap), now),
                                       now)
                report.completed = True
                break
    except CheckpointMoved:
        report.superseded = True
    report.checkpoint = checkpoint
    logger.info("amazon poll", extra={
        "channel_id": channel_id, "pages": report.pages, "received": report.received, "actions": report.actions,
        "fulfilled_by_amazon": report.fulfilled_by_amazon, "unreadable": report.unreadable,
        "resumed": report.resumed, "restarted": report.restarted, "completed": report.completed,
        "throttled": report.throttled, "superseded": report.superseded})
    return report


@dataclass
class ChangeReport:
    received: list[str] = field(default_factory=list)    # Amazon order ids handed to receive
    unreadable: list[str] = field(default_factory=list)


def receive_order_change(body: str, client: AmazonOrders, sku_map: SkuMap, receive: Receive, *,
                         unreadable: Unreadable | None = None) -> ChangeReport:
    """An ORDER_CHANGE notification (an SQS message body): fetch each order it names, with its
    items, and hand it to `receive`. A body that is no ORDER_CHANGE raises UnreadableOrder;
    Amazon's errors (throttled, unavailable) propagate so the message is retried. The poll still
    runs beside it: a lost notification only delays an order until the next pass."""
    report = ChangeReport()
    for order_id in read_order_change_notification(body):
        order = client.get_order(order_id)
        try:
            channel_order = order.channel_order(sku_map)
        except UnreadableOrder as error:
            _unreadable(order, error, unreadable)
            report.unreadable.append(order.order_id or order_id)
            continue
        receive(channel_order)
        report.received.append(channel_order.channel_order_id)
    return report


def _hand(order: AmazonOrder, sku_map: SkuMap, receive: Receive, unreadable: Unreadable | None,
          report: PollReport) -> None:
    try:
        channel_order = order.channel_order(sku_map)
    except UnreadableOrder as error:
        _unreadable(order, error, unreadable)
        report.unreadable.append(order.order_id)
        return
    receive(channel_order)
    report.received += 1
    report.actions[channel_order.action.value] = report.actions.get(channel_order.action.value, 0) + 1
    if order.fulfilled_by_amazon:
        report.fulfilled_by_amazon += 1


def _unreadable(order: AmazonOrder, error: UnreadableOrder, keep: Unreadable | None) -> None:
    # The error names a field and what is wrong with it, never a buyer's data.
    logger.warning("amazon order unreadable", extra={"amazon_order_id": order.order_id, "field": error.field,
                                                     "error": error.message})
    if keep is not None:
        keep(order, error)
