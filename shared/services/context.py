"""The repositories a use case works with, built once per process from settings and one client."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from shared.adapters.aws import client
from shared.adapters.dynamo import Table
from shared.adapters.fulfillment_repo import FulfillmentRepository
from shared.adapters.locations_repo import LocationRepository
from shared.adapters.orders_repo import OrderRepository
from shared.adapters.shipments_repo import ShipmentRepository
from shared.adapters.stock_repo import StockRepository
from shared.config import settings


@dataclass
class Repositories:
    table: Table
    orders: OrderRepository
    stock: StockRepository
    locations: LocationRepository
    fulfillment: FulfillmentRepository
    shipments: ShipmentRepository

    @classmethod
    def on(cls, table: Table) -> Repositories:
        return cls(table, OrderRepository(table), StockRepository(table), LocationRepository(table),
                   FulfillmentRepository(table), ShipmentRepository(table))


@cache
def repositories() -> Repositories:
    return Repositories.on(Table(client("dynamodb"), settings().table_name))
