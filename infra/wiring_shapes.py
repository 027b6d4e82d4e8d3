"""The shapes of the wiring declaration (infra/wiring.py): tables, queues, routes, functions.

Plain data only, like the declaration itself: the CDK stack and the local runtime both read them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from shared.domain.principal import Role

Access = Literal["read", "write"]

# Who of the operator's people may call a route besides admin (Route.roles; shared/http/api.py
# enforces it, 403 naming the missing role). Reading is the viewer's too, writing never.
CS, WH, FIN, VIEW = Role.CUSTOMER_SERVICE.value, Role.WAREHOUSE.value, Role.FINANCE.value, Role.VIEWER.value
READERS = (CS, FIN, VIEW)  # orders, returns, invoices, settings: every office role reads them


@dataclass(frozen=True)
class Index:
    name: str
    partition_key: str
    sort_key: str
    # What the index copies of each item besides the keys: everything (ALL), nothing (KEYS_ONLY), or
    # `non_key_attributes` (INCLUDE). A write that changes no index key and nothing projected costs
    # the index nothing, so an index of items rewritten often projects as little as it can.
    projection: Literal["ALL", "KEYS_ONLY", "INCLUDE"] = "ALL"
    non_key_attributes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if bool(self.non_key_attributes) != (self.projection == "INCLUDE"):
            raise ValueError(f"index {self.name}: non_key_attributes go with an INCLUDE projection, and only there")

    def projects(self, attribute: str, table_keys: tuple[str, ...] = ("pk", "sk")) -> bool:
        """Whether a query of this index answers `attribute` (and so may filter on it)."""
        return (self.projection == "ALL" or attribute in (self.partition_key, self.sort_key, *table_keys)
                or attribute in self.non_key_attributes)


@dataclass(frozen=True)
class TableSpec:
    partition_key: str = "pk"
    sort_key: str = "sk"
    ttl_attribute: str = "expires_at"
    indexes: tuple[Index, ...] = ()


@dataclass(frozen=True)
class QueueSpec:
    name: str
    # EventBridge patterns whose events land on this queue (one rule per pattern).
    event_patterns: tuple[dict, ...] = ()
    # AWS advises six times the consumer's timeout, so a batch is not redelivered while in flight.
    visibility_timeout_s: int = 90
    # After this many failed receives the message moves to the queue's DLQ.
    max_receive_count: int = 5
    batch_size: int = 10
    # Seconds the event source mapping may wait to fill a batch (above 10 records a batch needs one):
    # a consumer that coalesces a burst does less work per record in fewer, fuller batches.
    batching_window_s: int = 0
    # AWS accounts outside this one that may send to the queue (SendMessage, GetQueueAttributes).
    external_senders: tuple[str, ...] = ()
    # How many batches the event source mapping hands the function at once (2 is AWS's minimum).
    # Not reserved concurrency: the SQS poller ignores it, and throttled batches burn receives.
    max_concurrency: int | None = None


@dataclass(frozen=True)
class MetricAlarm:
    """An alarm on a Powertools metric the function emits (namespace OMS, dimension service=oms):
    the 5-minute sum at or above `threshold`."""

    metric: str
    threshold: int
    description: str


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # API Gateway syntax: /orders/{order_id}
    # Routes without an API key: the health check and the API description.
    public: bool = False
    # The people's roles (shared/domain/principal.py Role values) that may call it besides admin,
    # who may call every route; () for admin only. Keys are not people: the operator key acts as
    # admin, a channel's key goes by the route's own channel checks (shared/http/api.py).
    roles: tuple[str, ...] = ()


@dataclass(frozen=True)
class Function:
    name: str
    # Module under functions/ that defines `lambda_handler` (the Lambda asset is functions/).
    module: str
    description: str
    routes: tuple[Route, ...] = ()
    queue: QueueSpec | None = None
    # Consume the table's stream (INSERTs of outbox items).
    table_stream: bool = False
    # Seconds the stream's event source mapping may gather records before invoking the function
    # (MaximumBatchingWindowInSeconds; the batch still goes at once when full): fewer, fuller batches.
    stream_batching_window_s: int = 0
    schedule_minutes: int | None = None
    table_access: Access | None = None
    publishes_events: bool = False
    # Read the handler code of all API functions (the OpenAPI merge).
    reads_api_code: bool = False
    # Queues (QueueSpec.name) this function sends messages to directly, not through EventBridge.
    sends_to: tuple[str, ...] = ()
    # The shipping-label bucket: write (buy and store labels, presign links) or read (presign only).
    label_access: Access | None = None
    # The documents bucket (invoice and credit note PDFs): write (render and store) or read (presign).
    documents_access: Access | None = None
    # Layers beyond Powertools and shared/ (infra/components/layers.py), for the functions that need
    # them only: DOCUMENTS_LAYER (fpdf2 and its pure-Python dependencies) where PDFs are rendered.
    layers: tuple[str, ...] = ()
    # Read the carrier credentials secret (API keys, webhook signing secrets).
    reads_carrier_secret: bool = False
    # Read the payment secret (Stripe's secret key and webhook signing secret).
    reads_payment_secret: bool = False
    # Read the channels' secrets (Secrets Manager, names under oms/channels/ only).
    reads_channel_secrets: bool = False
    # Issue, throttle and disable channel API keys (API Gateway keys and usage plans on the OMS API).
    issues_api_keys: bool = False
    # Send customer email through SES.
    sends_email: bool = False
    # Send customer text messages through AWS End User Messaging SMS (sms-voice:SendTextMessage).
    sends_sms: bool = False
    memory_mb: int = 512
    timeout_s: int = 15
    # 1 serialises a consumer (one batch at a time); None lets Lambda scale out.
    reserved_concurrency: int | None = None
    needs_api_principals: bool = False
    # Manage the operator pool's people (list, invite, change groups, disable and enable): the admin routes.
    manages_people: bool = False
    metric_alarms: tuple[MetricAlarm, ...] = ()
    # Updated before every other function in a deploy: a consumer that must understand what the new
    # producers write before any of them writes it (CloudFormation otherwise updates functions in any order).
    deployed_first: bool = False


@dataclass(frozen=True)
class ChannelSpec:
    """An API client the stack issues a key to at deploy time, with its usage plan (its own
    throttle). Channels configured later get theirs from PUT /channels/{id} (channels-api)."""

    name: str
    rate_limit_rps: int = 50
    burst_limit: int = 100
