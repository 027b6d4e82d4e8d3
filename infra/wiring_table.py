"""The table of the wiring declaration (infra/wiring.py re-exports it as `wiring.TABLE`): its indexes
and what each projects. Plain data only, like the declaration itself."""

from __future__ import annotations

from infra.wiring_shapes import Index, TableSpec

# The order, fulfilment order, shipment and return indexes project their keys and the few attributes
# a query filters on, never the document: every write of an item projected ALL is a second write of
# the whole item per index, and orders are rewritten at every step of their life. A listing reads the
# items behind the keys with BatchGetItem (docs/data-model.md).
TABLE = TableSpec(
    indexes=(
        # Orders by channel, newest last: GET /orders?channel=... (status filters it); a location's
        # fulfilment orders by status; returns with a refund in flight; purchase orders (GET /purchase-orders).
        Index("gsi1", "gsi1pk", "gsi1sk", projection="INCLUDE", non_key_attributes=("status",)),
        # Orders by status (and so backorders oldest first, filtered on the SKUs they wait for):
        # GET /orders?status=...; an order's fulfilment orders; returns by status.
        Index("gsi2", "gsi2pk", "gsi2sk", projection="INCLUDE", non_key_attributes=("waiting_skus",)),
        # Orders by creation month: an operator's GET /orders without filters; shipments and return
        # parcels by tracking number (with the shipment's order, read beside it); a supplier's purchase orders.
        Index("gsi3", "gsi3pk", "gsi3sk", projection="INCLUDE", non_key_attributes=("order_id",)),
        # Stock levels only (sparse), in STOCK_SHARDS shards by SKU: reconciliation's drift check walks
        # the stock without scanning the table. Keys only: the reservations that update a level
        # every few milliseconds change no key, so they cost this index nothing.
        Index("gsi4", "gsi4pk", "gsi4sk", projection="KEYS_ONLY"),
        # Orders by customer id (CUSTOMER#<customer.id>), by creation time: GET /orders?customer_id=...
        # (status filters it). Sparse: only orders carry gsi5pk.
        Index("gsi5", "gsi5pk", "gsi5sk", projection="INCLUDE", non_key_attributes=("status",)),
    ),
)
