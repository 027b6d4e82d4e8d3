"""The one wiring declaration of the OMS.

Which function serves which route, queue, stream or schedule, which resources exist and what each
function may do with them is declared here once. The CDK stack (`infra/stack.py`) and the local
runtime (`local/runtime.py`) both read this module, so the cloud and the laptop cannot drift.

Plain data only: no CDK and no boto3 import, so both readers load it cheaply.
"""

from __future__ import annotations

from dataclasses import replace

from infra import event_patterns as on  # which events each consumer hears
from infra.wiring_shapes import CS, FIN, READERS, VIEW, WH  # the people's roles a route names
from infra.wiring_shapes import Access as Access
from infra.wiring_shapes import ChannelSpec as ChannelSpec
from infra.wiring_shapes import Function as Function
from infra.wiring_shapes import Index as Index
from infra.wiring_shapes import MetricAlarm as MetricAlarm
from infra.wiring_shapes import QueueSpec as QueueSpec
from infra.wiring_shapes import Route as Route
from infra.wiring_shapes import TableSpec as TableSpec
from infra.wiring_table import TABLE as TABLE  # the one table and its indexes, and why each projects what it does
from shared.config import DEFAULTS as DEFAULTS  # names and defaults the functions read, kept with that code
from shared.config import ENV as ENV
from shared.config import queue_url_env as queue_url_env
from shared.domain.principal import CONSOLE as PRINCIPAL_CONSOLE
from shared.domain.principal import OPERATOR as PRINCIPAL_OPERATOR

# The functions' Python (a SnapStart-capable Lambda runtime). The Makefile runs the tests and the
# local runtime on the same version (PYTHON_VERSION there; a test keeps the two equal).
LAMBDA_PYTHON = "3.13"

# ---------------------------------------------------------------- functions

METRICS_NAMESPACE = "OMS"
DOCUMENTS_LAYER = "documents"
# Memory of the order's queue and stream consumers: mostly waiting on DynamoDB, SQS or EventBridge,
# billed by memory, while CPU time costs the same at any size up to 1,769 MB (one vCPU). 256 MB holds
# them (~65 MB at peak, bench/cold_start.py) at half the price of their wait; API functions keep
# 512 MB for their callers' latency and cold starts (docs/cost.md).
CONSUMER_MB = 256


FUNCTIONS: tuple[Function, ...] = (
    Function(
        name="orders-api",
        module="orders_api.handler",
        description="Channel and operator order endpoints: capture, read, list, cancel, hold release",
        routes=(
            Route("POST", "/orders"),
            Route("GET", "/orders", roles=READERS),
            Route("GET", "/orders/{order_id}", roles=READERS),
            Route("POST", "/orders/{order_id}/cancel", roles=(CS,)),
            Route("POST", "/orders/{order_id}/release", roles=(CS,)),
            Route("POST", "/orders/{order_id}/reject", roles=(CS,)),
        ),
        table_access="write",
        needs_api_principals=True,
    ),
    Function(
        name="invoices-api",
        module="invoices_api.handler",
        description="An order's invoices and credit notes, with short-lived links to their PDFs",
        routes=(Route("GET", "/orders/{order_id}/invoices", roles=READERS),),
        table_access="read",
        documents_access="read",  # presigned links are signed with the reader's rights
        needs_api_principals=True,
    ),
    Function(
        name="returns-api",
        module="returns_api.handler",
        description="Returns: request, approve with a return label, decline, receive and restock, refund, close",
        routes=(
            Route("POST", "/orders/{order_id}/returns", roles=(CS,)),
            Route("GET", "/orders/{order_id}/returns", roles=READERS),
            Route("GET", "/returns", roles=READERS),
            Route("GET", "/returns/{rma_id}", roles=READERS),
            *(Route("POST", f"/returns/{{rma_id}}/{action}", roles=(CS,))
              for action in ("approve", "decline", "close", "receive")),
            Route("POST", "/returns/{rma_id}/refund", roles=(FIN,)),
        ),
        table_access="write",
        needs_api_principals=True,
        label_access="write",  # return labels
        reads_carrier_secret=True,
        reads_payment_secret=True,  # refunds to the original payment
        timeout_s=60,  # a label and a refund: two provider calls of up to 30 s each
    ),
    Function(
        name="return-policies-api",
        module="return_policies_api.handler",
        description="The channels' return policies; customers: the customer view, service notes, store credit",
        routes=(
            Route("PUT", "/return-policies/{channel}"),
            Route("GET", "/return-policies/{channel}", roles=READERS),
            Route("GET", "/customers/{customer_id}/store-credit", roles=READERS),
            Route("GET", "/customers/{customer_id}", roles=READERS),
            Route("POST", "/customers/{customer_id}/notes", roles=(CS,)),
        ),
        table_access="write",
        needs_api_principals=True,
    ),
    Function(
        name="routing-api",
        module="routing_api.handler",
        description="Routing strategies (versioned) and the shipping profile, set by the operator",
        routes=tuple(Route(m, "/routing/" + p, roles=(VIEW,) if m == "GET" else ()) for m, p in (
            ("PUT", "strategies/{strategy_id}"), ("GET", "strategies"), ("GET", "strategies/{strategy_id}"),
            ("GET", "strategies/{strategy_id}/versions"), ("GET", "strategies/{strategy_id}/versions/{version}"),
            ("PUT", "shipping-profile"), ("GET", "shipping-profile"))),
        table_access="write",
        needs_api_principals=True,
    ),
    Function(
        name="routing-simulations-api",
        module="routing_simulations_api.handler",
        description="What-if routing simulations: start one over a period of past orders, read progress and result",
        routes=(Route("POST", "/routing/simulations"),
                Route("GET", "/routing/simulations/{simulation_id}", roles=(VIEW,))),
        table_access="write",  # the job item only
        sends_to=("routing-simulations",),
        needs_api_principals=True,
    ),
    Function(
        name="simulate-routing",
        module="simulate_routing.handler",
        description="Replays a simulation's orders a chunk at a time (~10 min or 20,000 orders), then queues the next",
        # One chunk a message; a crashed chunk returns after 30 min (2x the function's limit).
        queue=QueueSpec(name="routing-simulations", batch_size=1, visibility_timeout_s=1800, max_concurrency=2),
        table_access="write",  # reads orders, locations, strategies; writes the job item only
        sends_to=("routing-simulations",),
        memory_mb=1024,  # CPU-bound: Lambda's CPU grows with memory
        timeout_s=900,
    ),
    Function(
        name="locations-api",
        module="locations_api.handler",
        description="Locations: create or replace, read, list",
        routes=(
            Route("PUT", "/locations/{location_id}"),
            Route("GET", "/locations/{location_id}", roles=(*READERS, WH)),  # a warehouse person: their own
            Route("GET", "/locations", roles=READERS),
        ),
        table_access="write",
        needs_api_principals=True,
    ),
    Function(
        name="inventory-api",
        module="inventory_api.handler",
        description="Stock: set, adjust, import, read",
        routes=(
            # A warehouse person's stock: of their own locations only (shared/http/api.py, the handler).
            Route("PUT", "/inventory/{sku}/{location_id}", roles=(WH,)),
            Route("POST", "/inventory/adjustments", roles=(WH,)),
            Route("POST", "/inventory/import"),
            Route("GET", "/inventory/{sku}", roles=(*READERS, WH)),
        ),
        table_access="write",
        needs_api_principals=True,
    ),
    Function(
        name="purchasing-api",
        module="purchasing_api.handler",
        description="Suppliers, purchase orders and receiving, replenishment suggestions; hourly: forecasts, "
                    "reorder points, StockLow",
        routes=(
            Route("PUT", "/suppliers/{supplier_id}", roles=(FIN,)),
            Route("GET", "/suppliers", roles=(FIN, VIEW)),
            Route("GET", "/suppliers/{supplier_id}", roles=(FIN, VIEW)),
            Route("POST", "/purchase-orders", roles=(FIN,)),
            Route("GET", "/purchase-orders", roles=(FIN, VIEW)),
            Route("GET", "/purchase-orders/{purchase_order_id}", roles=(FIN, VIEW)),
            Route("POST", "/purchase-orders/{purchase_order_id}/receive"),
            Route("POST", "/purchase-orders/{purchase_order_id}/cancel", roles=(FIN,)),
            Route("GET", "/replenishment/suggestions", roles=(FIN, VIEW)),
        ),
        # The replenishment run (shared/services/replenishment.py): the same function, so the schedule
        # costs a rule and a permission, not a function of its own (the stack's 500 resources).
        schedule_minutes=60,
        table_access="write",
        needs_api_principals=True,
        timeout_s=300,  # the run; API Gateway ends an API call at 29 s whatever this says
    ),
    Function(
        name="reports-api",
        module="reports_api.handler",
        description="Sales, fulfilment and returns reports from the aggregates (JSON or CSV); FX rates",
        routes=(
            Route("GET", "/reports/sales", roles=(FIN, VIEW)),
            Route("GET", "/reports/fulfillment", roles=(FIN, VIEW)),
            Route("GET", "/reports/returns", roles=(FIN, VIEW)),
            Route("PUT", "/fx-rates/{date}", roles=(FIN,)),
            Route("GET", "/fx-rates/{date}", roles=(FIN, VIEW)),
        ),
        table_access="write",  # FX rates; reports only read
        needs_api_principals=True,
        timeout_s=29,  # API Gateway's integration limit
        memory_mb=1024,  # a long report sums many aggregates: CPU grows with memory
    ),
    Function(
        name="record-analytics",
        module="record_analytics.handler",
        description="Keeps the report aggregates: each order an event names recomputed, what changed written once",
        # Up to 100 events in up to 10 s: an order's events close together (received, allocated) are read
        # and written once, and deltas to one aggregate (a day's channel) are merged across the batch.
        queue=QueueSpec(name="analytics", event_patterns=(on.REPORT_MOMENTS,), batch_size=100, batching_window_s=10,
                        visibility_timeout_s=180, max_concurrency=2),
        table_access="write",
        timeout_s=30,
    ),
    Function(
        name="channels-api",
        module="channels_api.handler",
        description="Channels as data: create or change a channel (issuing its API key), list, rotate keys",
        routes=(
            Route("PUT", "/channels/{channel_id}"),
            Route("GET", "/channels", roles=READERS),
            Route("GET", "/channels/{channel_id}", roles=READERS),
            Route("POST", "/channels/{channel_id}/api-key"),
            Route("GET", "/channels/{channel_id}/rejected", roles=READERS),
            Route("GET", "/channels/{channel_id}/stock", roles=READERS),
        ),
        table_access="write",
        needs_api_principals=True,
        issues_api_keys=True,
    ),
    Function(
        name="channel-webhooks",
        module="channel_webhooks.handler",
        description="Shopify and WooCommerce order webhooks: verify with the channel's secret, capture, revise, cancel",
        # No API key: the shop signs the body with the channel's webhook secret.
        routes=(Route("POST", "/webhooks/channels/{kind}/{channel_id}", public=True),),
        table_access="write",
        reads_channel_secrets=True,
    ),
    Function(
        name="feed-channel-stock",
        module="feed_channel_stock.handler",
        description="Tells channels with a stock feed their available-to-sell figures, coalesced per batch",
        # Up to 100 records in up to 5 s: a burst on one SKU becomes one reading per batch.
        queue=QueueSpec(name="channel-stock", event_patterns=(on.AVAILABILITY_MOVES,), batch_size=100,
                        batching_window_s=5, max_concurrency=2),
        table_access="write",
        memory_mb=CONSUMER_MB,
    ),
    Function(
        name="push-channel-stock",
        module="push_channel_stock.handler",
        description="Pushes each channel's new available-to-sell figure to Shopify (inventorySetQuantities)",
        queue=QueueSpec(name="channel-stock-push", event_patterns=(on.CHANNEL_STOCK_FIGURES,), max_concurrency=2),
        table_access="read",
        reads_channel_secrets=True,
        timeout_s=30,
        memory_mb=CONSUMER_MB,
    ),
    Function(
        name="poll-amazon",
        module="poll_amazon.handler",
        description="Polls each active Amazon channel's changed orders (SP-API) from its checkpoint",
        schedule_minutes=5,
        table_access="write",
        reads_channel_secrets=True,
        timeout_s=120,
        reserved_concurrency=1,  # one pass at a time (the checkpoint's version guards it too)
    ),
    Function(
        name="amazon-notifications",
        module="amazon_notifications.handler",
        description="Takes SP-API ORDER_CHANGE notifications (Amazon sends them to this queue) into intake",
        queue=QueueSpec(name="amazon-notifications", external_senders=(on.AMAZON_SP_API_ACCOUNT,),
                        visibility_timeout_s=360, max_concurrency=2),
        table_access="write",
        reads_channel_secrets=True,
        timeout_s=60,
        memory_mb=CONSUMER_MB,
    ),
    Function(
        name="api-docs",
        module="api_docs.handler",
        description="Health check, merged OpenAPI document and Swagger UI",
        routes=(
            Route("GET", "/health", public=True),
            Route("GET", "/openapi.json", public=True),
            Route("GET", "/docs", public=True),
        ),
        reads_api_code=True,
        memory_mb=1024,
    ),
    Function(
        name="allocate-orders",
        module="allocate_orders.handler",
        description="Verifies received orders, routes them and reserves stock in one transaction",
        # Up to 1 s to fill a batch of 10: its orders and their stock are read once a batch, not per order.
        queue=QueueSpec(name="allocation", event_patterns=(on.ORDER_EVENTS_FOR_ALLOCATION,), batch_size=10,
                        batching_window_s=1),
        table_access="write",
        memory_mb=CONSUMER_MB,
    ),
    Function(
        name="release-backorders",
        module="release_backorders.handler",
        description="Allocates backordered orders oldest first when a SKU's stock rises",
        queue=QueueSpec(name="backorders", event_patterns=(on.STOCK_INCREASES,), batch_size=10,
                        visibility_timeout_s=360, max_concurrency=2),
        table_access="write",
        timeout_s=60,
        memory_mb=CONSUMER_MB,
    ),
    Function(
        name="request-fulfillment",
        module="request_fulfillment.handler",
        description="Opens fulfilment orders for allocations made by an earlier version",
        # Up to 1 s to fill a batch: a location pulls its list, nobody waits on the second.
        queue=QueueSpec(name="fulfillment-requests", event_patterns=(on.ORDER_ALLOCATIONS,), batching_window_s=1),
        table_access="write",
        memory_mb=CONSUMER_MB,
        deployed_first=True,  # it makes the parts under the ids the allocating functions name (docs/data-model.md)
    ),
    Function(
        name="fulfillment-api",
        module="fulfillment_api.handler",
        description="Fulfilment orders: a location's pull list, accept, pick, pack",
        routes=(
            # A warehouse person's: of their own locations only (shared/http/api.py, shared/services/fulfillment.py).
            Route("GET", "/locations/{location_id}/fulfillment-orders", roles=(*READERS, WH)),
            Route("GET", "/fulfillment-orders/{fulfillment_order_id}", roles=(*READERS, WH)),
            *(Route("POST", f"/fulfillment-orders/{{fulfillment_order_id}}/{step}", roles=(WH,))
              for step in ("accept", "pick", "pack", "ship", "reject", "ready", "collect")),
            Route("GET", "/shipments/{shipment_id}", roles=READERS),
        ),
        table_access="write",
        needs_api_principals=True,
        label_access="write",
        reads_carrier_secret=True,
        timeout_s=30,
    ),
    Function(
        name="carrier-webhooks",
        module="carrier_webhooks.handler",
        description="Carrier tracking webhooks: verify the signature on the raw body, queue the updates",
        # No API key: carriers authenticate by signing the body with the shared webhook secret.
        routes=(Route("POST", "/webhooks/carriers/{carrier}", public=True),),
        sends_to=(on.TRACKING_UPDATES,),
        reads_carrier_secret=True,
    ),
    Function(
        name="apply-tracking",
        module="apply_tracking.handler",
        description="Applies carrier tracking updates to shipments once each, never backwards; flags late parcels",
        queue=QueueSpec(name=on.TRACKING_UPDATES, batching_window_s=2),  # carriers' updates wait 2 s at most
        table_access="write",
        memory_mb=CONSUMER_MB,
    ),
    Function(
        name="payment-webhooks",
        module="payment_webhooks.handler",
        description="Payment provider webhooks (Stripe): verify the signature on the raw body, queue the event",
        # No API key: Stripe authenticates by signing the body with the endpoint's signing secret.
        routes=(Route("POST", "/webhooks/payments/{provider}", public=True),),
        sends_to=(on.PAYMENT_EVENTS,),
        reads_payment_secret=True,
    ),
    Function(
        name="apply-payment-events",
        module="apply_payment_events.handler",
        description="Applies payment provider events to orders once each, never backwards; releases paid holds",
        queue=QueueSpec(name=on.PAYMENT_EVENTS),
        table_access="write",
        memory_mb=CONSUMER_MB,
    ),
    Function(
        name="settle-payments",
        module="settle_payments.handler",
        description="Captures per shipment, releases the rest, refunds cancelled payments, collects cash on delivery, "
                    "credits return refunds",
        queue=QueueSpec(name="payment-settlement", event_patterns=(on.SETTLEMENT_MOMENTS, on.PICKUP_COLLECTED, on.COD_DELIVERED),
                        # 2 batches at once (the minimum): a batch's invoices take their series' next numbers as one
                        # block (one counter item), so more batches only collide there and retry. Up to 1 s to fill
                        # a batch: its reads, counter and invoices' transaction serve more shipments (docs/cost.md).
                        visibility_timeout_s=360, max_concurrency=2, batching_window_s=1),
        table_access="write",
        reads_payment_secret=True,
        # Up to three provider calls per record (capture, release, refund), each with a 30 s read
        # timeout: a slow one must not end the Lambda between the call and the commit.
        timeout_s=60,
        memory_mb=CONSUMER_MB,
    ),
    Function(
        name="render-documents",
        module="render_documents.handler",
        description="Renders each invoice and credit note issued as a PDF into the documents bucket",
        queue=QueueSpec(name="documents", event_patterns=(on.DOCUMENTS_ISSUED,), batching_window_s=5),
        table_access="read",
        documents_access="write",
        layers=(DOCUMENTS_LAYER,),
        memory_mb=1024,  # importing fpdf2 and rendering are CPU-bound, and Lambda's CPU grows with memory
    ),
    Function(
        name="notify-customers",
        module="notify_customers.handler",
        description="Tells the customer about their order (confirmed, shipped, ready, delayed, delivered, ...)",
        # Up to 5 s to fill a batch of 25: one read of the batch's orders, one transaction of its claims
        # (two a record at most, email and SMS: 50 of a transaction's 100) and its records in batch writes
        # of 25 (one, or two when more than 25 messages went out).
        queue=QueueSpec(name="notifications", event_patterns=(on.CUSTOMER_MOMENTS, on.ORDER_CONFIRMED, on.READY_FOR_PICKUP),
                        batch_size=25, batching_window_s=5),
        table_access="write",  # reads orders; writes the once-per-event idempotency records
        label_access="read",  # presigns the return label's link
        sends_email=True,
        sends_sms=True,
        memory_mb=CONSUMER_MB,
    ),
    Function(
        name="reconcile",
        module="reconcile.handler",
        description="Scheduled reconciliation: expiry, drift repair, backorder sweep, silent shipments, stuck orders",
        schedule_minutes=5,
        table_access="write",
        reads_carrier_secret=True,  # polls carriers about silent shipments
        reads_payment_secret=True,  # finishes return refunds left pending (pending_refunds)
        timeout_s=300,
        # One run at a time in AWS too (the lease makes a second one a no-op, this saves starting it).
        reserved_concurrency=1,
        metric_alarms=(
            # A few repairs say something wrote around the guards (a hand edit, a bug): look into it.
            MetricAlarm("ReconciliationDriftRepaired", 10, "Reconciliation repaired 10 or more stock counters"),
            MetricAlarm("ReconciliationErrors", 1, "Reconciliation could not handle an order, level or shipment"),
        ),
    ),
    Function(
        name="admin-api",
        module="admin_api.handler",
        description="Operator endpoints: run reconciliation now, list exceptions; the operator's people",
        routes=(
            Route("POST", "/admin/reconcile"),
            Route("GET", "/admin/exceptions", roles=READERS),
            # People: admin only (no role besides admin), on this function to keep the stack's resources.
            Route("GET", "/people"),
            Route("POST", "/people"),
            Route("PUT", "/people/{username}/roles"),
            Route("POST", "/people/{username}/disable"),
            Route("POST", "/people/{username}/enable"),
        ),
        manages_people=True,
        table_access="write",
        reads_carrier_secret=True,
        reads_payment_secret=True,  # the same run: it finishes return refunds left pending
        needs_api_principals=True,
        timeout_s=29,  # API Gateway's integration limit: a run here is bounded to fit inside it
    ),
    Function(
        name="publish-events",
        module="publish_events.handler",
        description="Relays outbox records from the table stream to the EventBridge bus",
        table_stream=True,
        # Up to 1 s to gather outbox records: one invocation relays many orders' events in PutEvents calls of
        # ten (docs/cost.md). Each hand-off of an order waits up to this long when quiet; under load 100 fill sooner.
        stream_batching_window_s=1,
        publishes_events=True,
        memory_mb=CONSUMER_MB,
    ),
)


def with_schedules(overrides: dict[str, int]) -> tuple[Function, ...]:
    """FUNCTIONS with deploy-time schedule changes ({"reconcile": 15}: cdk.json `oms:scheduleMinutes`,
    locally OMS_SCHEDULE_MINUTES), so a merchant retunes a schedule without editing this file."""
    unknown = set(overrides) - {f.name for f in FUNCTIONS if f.schedule_minutes}
    if unknown:
        raise ValueError(f"no scheduled function named {sorted(unknown)}")
    return tuple(replace(f, schedule_minutes=int(overrides[f.name])) if f.name in overrides else f for f in FUNCTIONS)


def function(name: str) -> Function:
    return next(f for f in FUNCTIONS if f.name == name)


def routes() -> list[tuple[Route, Function]]:
    return [(route, fn) for fn in FUNCTIONS for route in fn.routes]


def route_roles(functions: tuple[Function, ...] = FUNCTIONS) -> dict[str, list[str]]:
    """The roles of the functions' keyed routes, as the functions read them (ENV.route_roles):
    {"GET /orders": ["customer_service", ...]}. Public routes are absent: no person is asked for there."""
    return {f"{r.method} {r.path}": list(r.roles) for fn in functions for r in fn.routes if not r.public}


# The seed channels (shared/domain/channels.py SEED_CHANNELS): their keys come with the stack, so a
# deployment from before channels were data keeps its keys; their policies are seed data.
DEFAULT_CHANNELS: tuple[ChannelSpec, ...] = tuple(ChannelSpec(name) for name in ("web", "app", "pos", "marketplace"))

OPERATOR = PRINCIPAL_OPERATOR
CONSOLE = PRINCIPAL_CONSOLE  # the operator dashboard's API key: people's tokens come with it
