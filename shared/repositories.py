"""The repositories a use case works with, over one store: DynamoDB in the functions, memory in
service tests. The composition root: services receive a `Repositories`, never build one."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache, cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.adapters.analytics_repo import AnalyticsRepository
    from shared.adapters.channel_sync_repo import ChannelSyncRepository
    from shared.adapters.channels_repo import ChannelRepository
    from shared.adapters.customer_notes_repo import CustomerNoteRepository
    from shared.adapters.expressions import Write
    from shared.adapters.fulfillment_repo import FulfillmentRepository
    from shared.adapters.invoices_repo import InvoiceRepository
    from shared.adapters.locations_repo import LocationRepository
    from shared.adapters.orders_repo import OrderRepository
    from shared.adapters.outbox import EventOutbox
    from shared.adapters.payments_repo import PaymentRepository
    from shared.adapters.purchasing_repo import PurchasingRepository
    from shared.adapters.reads import Wanted
    from shared.adapters.reconciliation_repo import ReconciliationRepository
    from shared.adapters.replenishment_repo import ReplenishmentRepository
    from shared.adapters.returns_repo import ReturnRepository
    from shared.adapters.routing_repo import RoutingRepository
    from shared.adapters.shipments_repo import ShipmentRepository
    from shared.adapters.simulations_repo import SimulationRepository
    from shared.adapters.stock_feed_repo import StockFeedRepository
    from shared.adapters.stock_repo import StockRepository
    from shared.adapters.store_credit_repo import StoreCreditRepository
    from shared.unit_of_work import Store, UnitOfWork


class Repositories:
    """Every repository over one store. Each is built, and its adapter and domain modules imported, on
    first use: a function's cold start pays for the repositories its use case touches, not for all of
    them (importing every adapter cost each function ~100 ms, most of it domain models it never used)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    @classmethod
    def on(cls, store: Store) -> Repositories:
        return cls(store)

    @cached_property
    def orders(self) -> OrderRepository:
        from shared.adapters.orders_repo import OrderRepository

        return OrderRepository(self.store)

    @cached_property
    def stock(self) -> StockRepository:
        from shared.adapters.stock_repo import StockRepository

        return StockRepository(self.store)

    @cached_property
    def locations(self) -> LocationRepository:
        from shared.adapters.locations_repo import LocationRepository

        return LocationRepository(self.store)

    @cached_property
    def fulfillment(self) -> FulfillmentRepository:
        from shared.adapters.fulfillment_repo import FulfillmentRepository

        return FulfillmentRepository(self.store)

    @cached_property
    def shipments(self) -> ShipmentRepository:
        from shared.adapters.shipments_repo import ShipmentRepository

        return ShipmentRepository(self.store)

    @cached_property
    def reconciliation(self) -> ReconciliationRepository:
        from shared.adapters.reconciliation_repo import ReconciliationRepository

        return ReconciliationRepository(self.store)

    @cached_property
    def events(self) -> EventOutbox:
        from shared.adapters.outbox import EventOutbox

        return EventOutbox()

    @cached_property
    def invoices(self) -> InvoiceRepository:
        from shared.adapters.invoices_repo import InvoiceRepository

        return InvoiceRepository(self.store)

    @cached_property
    def payments(self) -> PaymentRepository:
        from shared.adapters.payments_repo import PaymentRepository

        return PaymentRepository(self.store)

    @cached_property
    def channels(self) -> ChannelRepository:
        from shared.adapters.channels_repo import ChannelRepository

        return ChannelRepository(self.store)

    @cached_property
    def stock_feed(self) -> StockFeedRepository:
        from shared.adapters.stock_feed_repo import StockFeedRepository

        return StockFeedRepository(self.store)

    @cached_property
    def channel_sync(self) -> ChannelSyncRepository:
        from shared.adapters.channel_sync_repo import ChannelSyncRepository

        return ChannelSyncRepository(self.store)

    @cached_property
    def returns(self) -> ReturnRepository:
        from shared.adapters.returns_repo import ReturnRepository

        return ReturnRepository(self.store)

    @cached_property
    def store_credit(self) -> StoreCreditRepository:
        from shared.adapters.store_credit_repo import StoreCreditRepository

        return StoreCreditRepository(self.store)

    @cached_property
    def customer_notes(self) -> CustomerNoteRepository:
        from shared.adapters.customer_notes_repo import CustomerNoteRepository

        return CustomerNoteRepository(self.store)

    @cached_property
    def simulations(self) -> SimulationRepository:
        """What-if routing simulations (their job items)."""
        from shared.adapters.simulations_repo import SimulationRepository

        return SimulationRepository(self.store)

    @cached_property
    def routing(self) -> RoutingRepository:
        """Strategies and the shipping profile (allocation reads them cached, a minute at most)."""
        from shared.adapters.routing_repo import RoutingRepository

        return RoutingRepository(self.store)

    @cached_property
    def analytics(self) -> AnalyticsRepository:
        """Report aggregates, the orders' contributions to them, FX rates (docs/reports.md)."""
        from shared.adapters.analytics_repo import AnalyticsRepository

        return AnalyticsRepository(self.store)

    @cached_property
    def purchasing(self) -> PurchasingRepository:
        """Suppliers, purchase orders and their receipts."""
        from shared.adapters.purchasing_repo import PurchasingRepository

        return PurchasingRepository(self.store)

    @cached_property
    def replenishment(self) -> ReplenishmentRepository:
        """Per (SKU, location): forecast, reorder point, low flag, units on order."""
        from shared.adapters.replenishment_repo import ReplenishmentRepository

        return ReplenishmentRepository(self.store)

    def read(self, *wanted: Wanted) -> list[Any]:
        """Items of several repositories in one strongly consistent BatchGetItem, each as its repository
        reads it (None when absent), in order: `repos.read(repos.orders.wanted(o), repos.locations.wanted(l))`."""
        from shared.adapters.reads import read_together

        return read_together(self.store, wanted)

    def unit_of_work(self) -> UnitOfWork:
        from shared.unit_of_work import UnitOfWork

        return UnitOfWork(self.store)

    def commit(self, *writes: Write | Sequence[Write]) -> None:
        """One unit of work of these writes: Refused (named outcomes) or Contention, or all written."""
        self.unit_of_work().add(*writes).commit()


@cache
def repositories() -> Repositories:
    """The functions' repositories: the DynamoDB table named in the settings, one client per process."""
    from shared.adapters.aws import client
    from shared.adapters.dynamo import DynamoStore
    from shared.config import settings

    return Repositories.on(DynamoStore(client("dynamodb"), settings().table_name))


def in_memory() -> Repositories:
    """Fresh repositories over an empty in-memory store with the table's indexes (for tests)."""
    from shared.adapters.memory import MemoryStore

    return Repositories.on(MemoryStore.for_table())
