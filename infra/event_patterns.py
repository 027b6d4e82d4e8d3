"""The EventBridge rules' patterns and the queue names the wiring (infra/wiring.py) subscribes and
sends to: which events each consumer hears, in one place."""

from __future__ import annotations

from shared.outbox_format import EVENT_SOURCE

ORDER_EVENTS_FOR_ALLOCATION = {"source": [EVENT_SOURCE], "detail-type": ["OrderReceived", "OrderReleased"]}
# Allocations whose fulfilment orders are still to open: an allocation opens its own (`parts_opened`),
# so only events of an earlier version, in flight or replayed across an upgrade, reach request-fulfillment.
ORDER_ALLOCATIONS = {"source": [EVENT_SOURCE], "detail-type": ["OrderAllocated"],
                     "detail": {"parts_opened": [{"exists": False}]}}
# The moments a customer hears about (shared/domain/notifications.py). RefundIssued comes from the
# returns flow or any system that refunds; ready-for-pickup is a fulfilment order's status change.
CUSTOMER_MOMENTS = {
    "source": [EVENT_SOURCE],
    "detail-type": ["ShipmentDispatched", "ShipmentDelayed", "OrderDelivered", "OrderCancelled", "OrderRejected",
                    "RefundIssued", "ReturnApproved", "ReturnReceived"],
}
# "Confirmed": the first allocation step of a verified order (stock reserved, or a backorder), not its
# receipt: a held order is confirmed when it is released and allocated, a rejected one never.
ORDER_CONFIRMED = {
    "source": [EVENT_SOURCE],
    "detail-type": ["OrderAllocated", "OrderBackordered"],
    "detail": {"previous": ["RECEIVED"]},
}
READY_FOR_PICKUP = {
    "source": [EVENT_SOURCE],
    "detail-type": ["FulfillmentOrderChanged"],
    "detail": {"status": ["READY_FOR_PICKUP"]},
}
TRACKING_UPDATES = "tracking-updates"
PAYMENT_EVENTS = "payment-events"
# When money moves as goods move: a parcel left, a pickup was collected, the order (or some of its
# lines) was cancelled, or it was delivered (cash on delivery); and a return's refund was finished
# (RefundIssued: its credit notes, also when the call that refunded died before issuing them).
SETTLEMENT_MOMENTS = {
    "source": [EVENT_SOURCE],
    "detail-type": ["ShipmentDispatched", "OrderCancelled", "OrderLinesCancelled", "RefundIssued"],
}
# Delivered matters to the payment only when cash is collected on delivery: the rule filters the rest.
COD_DELIVERED = {
    "source": [EVENT_SOURCE],
    "detail-type": ["OrderDelivered"],
    "detail": {"cash_on_delivery": [True]},
}
PICKUP_COLLECTED = {
    "source": [EVENT_SOURCE],
    "detail-type": ["FulfillmentOrderChanged"],
    "detail": {"status": ["COLLECTED"]},
}
# Every invoice and credit note issued gets its PDF.
DOCUMENTS_ISSUED = {"source": [EVENT_SOURCE], "detail-type": ["DocumentIssued"]}
# Whatever moves a SKU's available stock: stock writes and releases (StockChanged), drift repairs,
# and reservations (OrderAllocated carries its allocations' SKUs).
AVAILABILITY_MOVES = {"source": [EVENT_SOURCE], "detail-type": ["StockChanged", "StockDriftRepaired", "OrderAllocated"]}
CHANNEL_STOCK_FIGURES = {"source": [EVENT_SOURCE], "detail-type": ["ChannelStockChanged"]}
# What changes an order's contribution to the report aggregates (shared/domain/analytics.py): its lines,
# allocations, status, shipments and delivery, and its returns and their refunds. Events that move none
# of the figures (fulfilment steps, tracking, payments) are left out: each delivery costs an SQS request.
REPORT_MOMENTS = {
    "source": [EVENT_SOURCE],
    "detail-type": ["OrderReceived", "OrderAllocated", "OrderBackordered", "OrderOnHold", "OrderCancelled",
                    "OrderLinesCancelled", "OrderRejected", "OrderShipped", "OrderDelivered", "ChannelOrderUpdated",
                    "ReturnRequested", "ReturnDeclined", "RefundIssued"],
}
# Amazon's Selling Partner API publishes notifications from this account (SP-API notifications guide).
AMAZON_SP_API_ACCOUNT = "437568002678"
STOCK_INCREASES = {
    "source": [EVENT_SOURCE],
    "detail-type": ["StockChanged"],
    "detail": {"available_increased": [True]},
}
