"""Domain events: every state change the OMS announces on its EventBridge bus.

Each class is one `detail-type`; its JSON schema is generated into docs/events/ and listed in
docs/events.md. Events are written to the outbox in the same transaction as the change they
announce (see shared/adapters/outbox.py), so a change and its event never diverge.
Consumers must be idempotent on `event_id`: delivery is at least once.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field


class DomainEvent(BaseModel):
    # Built on first use, not at import: most invocations publish one or two of these types.
    model_config = ConfigDict(extra="forbid", defer_build=True)
    event_type: ClassVar[str]
    description: ClassVar[str]

    event_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    occurred_at: datetime


class LineQuantity(BaseModel):
    sku: str
    quantity: int


class AllocatedLine(LineQuantity):
    location_id: str


class HoldInfo(BaseModel):
    reason: str
    detail: str


class OrderReceived(DomainEvent):
    event_type = "OrderReceived"
    description = "An order was captured from a channel (once per channel order id)."
    order_id: str
    channel: str
    channel_order_id: str
    total: str
    currency: str
    lines: list[LineQuantity]


class OrderReleased(DomainEvent):
    event_type = "OrderReleased"
    description = ("A held order was released (by an operator, its payment arriving, or a channel revision "
                   "replacing the data it was held for); it goes back to allocation.")
    order_id: str
    channel: str
    released: list[str]
    released_by: str


class OrderOnHold(DomainEvent):
    event_type = "OrderOnHold"
    description = "Verification put the order on hold with typed reasons for a person to act on."
    order_id: str
    channel: str
    holds: list[HoldInfo]


class OrderAllocated(DomainEvent):
    event_type = "OrderAllocated"
    description = "Stock was reserved for the order (all of it, or part when `partial` is true)."
    order_id: str
    channel: str
    allocations: list[AllocatedLine]
    partial: bool
    backordered: list[LineQuantity]
    pickup: bool = Field(default=False, description="click-and-collect: the location hands the order over")
    previous: str = Field(description="the order's status before this step: RECEIVED when verification has just "
                                      "passed (its first allocation step, after capture or a release)")
    # Required, and only ever true: the rule that feeds request-fulfillment matches its absence.
    parts_opened: Literal[True] = Field(description="this step's fulfilment orders were opened in the same "
                                                    "transaction (a FulfillmentRequested each). Absent on events "
                                                    "of earlier versions, whose parts request-fulfillment opens")


class OrderBackordered(DomainEvent):
    event_type = "OrderBackordered"
    description = "No stock could be reserved; the order waits and is released oldest first."
    order_id: str
    channel: str
    lines: list[LineQuantity]
    previous: str = Field(description="the order's status before this step: RECEIVED when verification has just "
                                      "passed (its first allocation step, after capture or a release)")


class OrderCancelled(DomainEvent):
    event_type = "OrderCancelled"
    description = "The order was cancelled before shipping; its reservations were released."
    order_id: str
    channel: str
    reason: str
    released: list[AllocatedLine]


class OrderLinesCancelled(DomainEvent):
    event_type = "OrderLinesCancelled"
    description = ("Part of an order was cancelled before it shipped (once per cancellation id): its reservations "
                   "were released, its backorder reduced, its fulfilment orders shrunk.")
    order_id: str
    channel: str
    cancellation_id: str = Field(description="the caller's id of this cancellation")
    reason: str
    lines: list[LineQuantity] = Field(description="the units cancelled, per SKU")
    released: list[AllocatedLine] = Field(description="the reserved units released, per location; the rest of "
                                                       "`lines` was backordered or not yet allocated")
    amount: str = Field(description="the cancelled units at their unit prices (shipping and discount not "
                                    "included), in `currency`")
    currency: str
    status: str = Field(description="the order's status after the cancellation")
    previous: str = Field(description="the order's status before it")


class OrderRejected(DomainEvent):
    event_type = "OrderRejected"
    description = "An operator rejected a held order. Terminal."
    order_id: str
    channel: str
    reason: str


class StockChanged(DomainEvent):
    event_type = "StockChanged"
    description = "On hand, safety stock or reservations of one SKU at one location changed."
    sku: str
    location_id: str
    cause: str = Field(description="set, adjustment:<reason>, import, reservation_released, return:<rma>, "
                                   "hot_sku_promoted (split into buckets, counts unchanged) or "
                                   "purchase_order:<id>")
    on_hand: int
    reserved: int
    safety_stock: int
    available: int
    available_before: int
    available_increased: bool = Field(description="true when more can be promised than before")
    by: str | None = Field(default=None, description="Who set, adjusted, imported or received the counts: "
                                                     "operator or user:<username> (never an email); absent when "
                                                     "the system moved them")


class StockLow(DomainEvent):
    event_type = "StockLow"
    description = ("Available stock of a SKU at a location fell to or below its low-stock threshold, or its "
                   "reorder point (once per crossing).")
    sku: str
    location_id: str
    available: int
    threshold: int
    basis: str = Field(default="low_stock_threshold", description=(
        "low_stock_threshold (the level's, set by an operator; on the write that crosses it) or reorder_point "
        "(replenishment's, found by its scheduled run)"))
    on_order: int | None = Field(default=None, description="reorder_point: units open purchase orders still bring")
    days_of_cover: float | None = Field(default=None, description="reorder_point: available over the daily demand")
    supplier_id: str | None = Field(default=None, description="reorder_point: the supplier it is planned with")
    suggested_quantity: int | None = Field(default=None, description="reorder_point: what to order now (0: enough "
                                                                     "on order)")


class LocationChanged(DomainEvent):
    event_type = "LocationChanged"
    description = "A location was created or replaced (type, country, shipping reach, capacity, ...)."
    location_id: str
    created: bool
    active: bool
    ships_to: list[str]
    pickup_enabled: bool
    daily_order_capacity: int | None
    by: str | None = Field(default=None, description="Who wrote it: operator or user:<username> (never an email)")


class ChannelChanged(DomainEvent):
    event_type = "ChannelChanged"
    description = ("A sales channel was created or changed (PUT /channels/{id}), or its API key rotated. "
                   "Never carries a secret or a key: only the key's id.")
    channel_id: str
    kind: str
    created: bool
    active: bool
    stock_buffer: int
    api_key_id: str | None = None
    key_rotated: bool = False


class ChannelStockChanged(DomainEvent):
    event_type = "ChannelStockChanged"
    description = ("The available-to-sell figure a channel is told for one SKU changed (coalesced: one per channel "
                   "and SKU per batch, and only when it changed). The figure is the available stock of the locations "
                   "that may serve the channel, minus its buffer, never below zero.")
    channel_id: str
    sku: str
    channel_sku: str = Field(description="The SKU as the channel knows it (its SKU mapping reversed)")
    available_to_sell: int
    previous: int | None = Field(description="The figure sent before, if any")
    stamp: int = Field(description="Grows with every change of the SKU's levels: a larger stamp is a later reading")


class ChannelOrderUpdated(DomainEvent):
    event_type = "ChannelOrderUpdated"
    description = ("A channel sent a newer revision of an order it had sent before (Shopify orders/updated, "
                   "WooCommerce order.updated, an Amazon change). `applied`: its lines or address replaced "
                   "ours (the order was not yet allocated); otherwise it is recorded on the order only.")
    order_id: str
    channel: str
    channel_order_id: str
    revision: datetime
    applied: bool
    changed: list[str] = Field(description="What differed: lines, shipping_address, payment_status, ...")


class FulfillmentRequested(DomainEvent):
    event_type = "FulfillmentRequested"
    description = "A location was asked to fulfil part of an order (one fulfilment order per location)."
    fulfillment_order_id: str
    order_id: str
    channel: str
    location_id: str
    pickup: bool
    lines: list[LineQuantity]


class FulfillmentOrderChanged(DomainEvent):
    event_type = "FulfillmentOrderChanged"
    description = "A fulfilment order moved on (accepted, picked, packed, ...)."
    fulfillment_order_id: str
    order_id: str
    location_id: str
    status: str
    previous: str


class ShipmentDispatched(DomainEvent):
    event_type = "ShipmentDispatched"
    description = "A location shipped lines of a fulfilment order; their stock left on hand and reserved."
    shipment_id: str
    fulfillment_order_id: str
    order_id: str
    channel: str
    location_id: str
    lines: list[LineQuantity]
    carrier: str | None
    service: str | None
    tracking_code: str | None


class OrderShipped(DomainEvent):
    event_type = "OrderShipped"
    description = "The order's status followed its parts: PARTIALLY_SHIPPED or SHIPPED."
    order_id: str
    channel: str
    status: str


class ShipmentTrackingUpdated(DomainEvent):
    event_type = "ShipmentTrackingUpdated"
    description = "A carrier's tracking update moved a shipment on (duplicates and stale updates publish nothing)."
    shipment_id: str
    order_id: str
    channel: str
    tracking_code: str
    carrier: str | None
    status: str
    previous: str
    estimated_delivery: datetime | None = None


class ShipmentDelayed(DomainEvent):
    event_type = "ShipmentDelayed"
    description = "A shipment became late: the carrier's estimate passed the order's promise, or it reported a problem."
    shipment_id: str
    order_id: str
    channel: str
    tracking_code: str | None
    reason: str
    estimated_delivery: datetime | None = None
    promised_by: datetime | None = None


class OrderDelivered(DomainEvent):
    event_type = "OrderDelivered"
    description = "Every parcel of a fully shipped order was delivered (or, for pickup, collected)."
    order_id: str
    channel: str
    cash_on_delivery: bool = Field(default=False, description="the order pays cash on delivery: now it is collected")

    @classmethod
    def of(cls, order, now: datetime) -> OrderDelivered:
        from shared.domain.payments import PaymentMethod

        return cls(occurred_at=now, order_id=order.order_id, channel=order.channel,
                   cash_on_delivery=order.pay.method == PaymentMethod.CASH_ON_DELIVERY)


class StockDriftRepaired(DomainEvent):
    event_type = "StockDriftRepaired"
    description = ("Reconciliation found a stock level whose reserved count disagreed with its reservation "
                   "records and set it (and available) from the records.")
    sku: str
    location_id: str
    run_id: str
    on_hand: int
    safety_stock: int
    reserved_before: int
    reserved_after: int
    available_before: int
    available_after: int


class OrderStuck(DomainEvent):
    event_type = "OrderStuck"
    description = "An order stayed in one status longer than that status's SLA (raised once per stay)."
    order_id: str
    channel: str
    status: str
    since: datetime
    sla_minutes: int
    reason: str
    suggested_action: str


class ReconciliationCompleted(DomainEvent):
    event_type = "ReconciliationCompleted"
    description = "A reconciliation run ended: what it looked at and what it fixed, and where the next run continues."
    run_id: str
    trigger: str = Field(description="schedule, or operator (POST /admin/reconcile, also what make reconcile sends)")
    started_at: datetime
    pass_complete: bool = Field(description="true when this run finished the last step of a whole pass")
    resumed_from: str | None = Field(description="the step a checkpoint made this run start in, if any")
    stopped_in: str | None = Field(description="the step the budget ran out in (the next run continues there)")
    holds_expired: int
    pickups_expired: int
    pickups_flagged: int = Field(default=0, description="uncollected pickups of partly collected orders, listed for "
                                                        "an operator (GET /admin/exceptions)")
    stock_items_checked: int
    drift_repaired: int
    backorders_examined: int
    backorders_allocated: int
    shipments_polled: int
    shipments_flagged: int
    orders_stuck: int
    authorizations_aging: int = Field(default=0, description="card authorisations open longer than the limit and "
                                                             "not fully captured, listed for an operator "
                                                             "(GET /admin/exceptions)")
    exceptions_resolved: int
    errors: int


class PaymentEvent(DomainEvent):
    """What every payment event carries: the payment as it is after the change (amounts are decimal
    strings in the order's currency). Ids and amounts only: no payer details."""

    event_type = "PaymentEvent"
    description = "(base)"
    order_id: str
    channel: str
    provider: str = Field(description="stripe, sandbox, or external (the channel settles)")
    status: str = Field(description="the payment's status after the change")
    previous: str = Field(description="the payment's status before the change")
    currency: str
    amount: str = Field(description="what this change moved or holds")
    authorized: str
    captured: str
    refunded: str


class PaymentAuthorized(PaymentEvent):
    event_type = "PaymentAuthorized"
    description = "The provider holds the amount for the order (an order awaiting payment is released to allocation)."


class PaymentCaptured(PaymentEvent):
    event_type = "PaymentCaptured"
    description = ("Money was captured for what shipped (per shipment), or paid at checkout. With provider external "
                   "this is the instruction to the channel to capture `amount`.")
    shipment_id: str | None = None
    final: bool = Field(description="true when the uncaptured rest of the authorisation was released with it")


class PaymentCaptureRefused(PaymentEvent):
    event_type = "PaymentCaptureRefused"
    description = "The provider refused a capture for a shipment; the shipment stands, an operator is asked to act."
    shipment_id: str | None = None
    reason: str


class PaymentFailed(PaymentEvent):
    event_type = "PaymentFailed"
    description = "A payment attempt failed; after the configured number of failures the order is cancelled."
    failures: int
    gave_up: bool
    reason: str


class PaymentVoided(PaymentEvent):
    event_type = "PaymentVoided"
    description = "What was authorised and not captured was released (order cancelled, completed, or the intent canceled)."


class PaymentRefunded(PaymentEvent):
    event_type = "PaymentRefunded"
    description = "Money went back to the payer (by the OMS or outside it, e.g. in Stripe's dashboard); once per refund id."
    refund_id: str


class CodCollected(PaymentEvent):
    event_type = "CodCollected"
    description = "Cash on delivery was collected: the last parcel was delivered (or the order collected in store)."


class PaymentDisputed(PaymentEvent):
    event_type = "PaymentDisputed"
    description = "The payer disputed the charge (a chargeback): the order is flagged DISPUTED for an operator."
    dispute_id: str
    reason: str | None


class DocumentIssued(DomainEvent):
    event_type = "DocumentIssued"
    description = ("An invoice (for a shipment or collected pickup) or a credit note (for a refund) was issued with "
                   "the next number of its series. Totals only: the buyer's name and address are in the document.")
    kind: str = Field(description="INVOICE or CREDIT_NOTE")
    number: str = Field(description="e.g. INV-2026-000123: gapless per selling entity, kind and year")
    order_id: str
    channel: str
    covers: str = Field(description="the shipment id (invoice) or the refund id (credit note)")
    corrects: str | None = Field(description="a credit note: the number of the invoice it corrects")
    currency: str
    net: str
    tax: str
    gross: str


EVENT_TYPES: tuple[type[DomainEvent], ...] = (
    OrderReceived,
    OrderReleased,
    OrderOnHold,
    OrderAllocated,
    OrderBackordered,
    OrderCancelled,
    OrderLinesCancelled,
    OrderRejected,
    StockChanged,
    StockLow,
    LocationChanged,
    ChannelChanged,
    ChannelOrderUpdated,
    ChannelStockChanged,
    FulfillmentRequested,
    FulfillmentOrderChanged,
    ShipmentDispatched,
    OrderShipped,
    ShipmentTrackingUpdated,
    ShipmentDelayed,
    OrderDelivered,
    StockDriftRepaired,
    OrderStuck,
    ReconciliationCompleted,
    PaymentAuthorized,
    PaymentCaptured,
    PaymentCaptureRefused,
    PaymentFailed,
    PaymentVoided,
    PaymentRefunded,
    CodCollected,
    PaymentDisputed,
    DocumentIssued,
)
