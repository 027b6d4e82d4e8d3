"""Domain events of stock, locations and channels: levels and their low-stock crossings, a location's
or a channel's settings, the figure a channel is told. Public through `shared.domain.events`."""

from __future__ import annotations

from pydantic import Field

from shared.domain.events_base import DomainEvent


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
