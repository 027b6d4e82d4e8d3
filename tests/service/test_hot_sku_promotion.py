"""A hot SKU found by itself: a level one order's allocation meets taken by other transactions
HOT_CONFLICTS times is split into AUTO_BUCKETS buckets, counts unchanged, and the order goes on from
the buckets. DynamoDB's TransactionConflict is injected around the in-memory store (it names the
writes that met another transaction; the store wrapper does the same)."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from shared.adapters.dynamo import DynamoStore
from shared.adapters.expressions import Changes, Patch
from shared.adapters.stock_repo import StockRepository, level_sk, stock_pk
from shared.domain.stock import SetStockRequest
from shared.domain.stock_buckets import AUTO_BUCKETS, HOT_CONFLICTS, promotion
from shared.repositories import Repositories
from shared.services.allocation import Outcome, allocate_order
from shared.services.hot_stock import PROMOTED
from shared.services.inventory import set_stock
from shared.unit_of_work import Contention, OutOfStock, Refused, StockMoved
from tests.factories import NOW, capture, location_request, seed
from tests.service.flows import events, policy

pytestmark = pytest.mark.unit


class ConflictingStore:
    """The in-memory store, except that the first `conflicts` transactions writing the HOT level
    item meet another transaction (as DynamoDB answers TransactionConflict, naming those writes)."""

    def __init__(self, store, conflicts: int):
        self.store, self.left = store, conflicts

    def __getattr__(self, name):
        return getattr(self.store, name)

    def transact(self, writes) -> None:
        busy = [w for w in writes if w.key == (stock_pk("HOT"), level_sk("BER"))]
        if busy and self.left:
            self.left -= 1
            raise Contention("TransactionConflict", busy)
        self.store.transact(writes)


def hot_sale(repos: Repositories, conflicts: int) -> Repositories:
    seed(repos, {"BER": location_request("DE", ships_to=["DE"])}, {})
    set_stock("HOT", "BER", SetStockRequest(on_hand=10), repos, NOW)
    return Repositories.on(ConflictingStore(repos.store, conflicts))


def promotions(repos: Repositories) -> list[dict]:
    return [e for e in events(repos, "StockChanged") if e["cause"] == PROMOTED]


def test_a_level_met_taken_three_times_is_split_into_buckets_and_the_order_is_served_from_them(repos):
    busy = hot_sale(repos, HOT_CONFLICTS)
    order = capture(busy, ("HOT", 2))
    assert allocate_order(order.order_id, busy, policy, NOW).outcome == Outcome.ALLOCATED
    level = busy.stock.level("HOT", "BER")
    assert level is not None and level.buckets == AUTO_BUCKETS
    # Counts exact after the split and the reservation: the sum of the level and its buckets.
    assert (level.on_hand, level.reserved, level.available) == (10, 2, 8)
    assert sum(level.bucket_available) + level.pool == 8
    [promoted] = promotions(busy)
    assert (promoted["on_hand"], promoted["available"], promoted["available_before"]) == (10, 10, 10)


def test_fewer_conflicts_than_the_threshold_leave_the_level_as_it_is(repos):
    busy = hot_sale(repos, HOT_CONFLICTS - 1)
    order = capture(busy, ("HOT", 1))
    assert allocate_order(order.order_id, busy, policy, NOW).outcome == Outcome.ALLOCATED
    level = busy.stock.level("HOT", "BER")
    assert level is not None and level.buckets is None and level.available == 9
    assert not promotions(busy)


def test_a_level_an_operator_split_further_is_not_shrunk_or_rewritten(repos):
    busy = hot_sale(repos, HOT_CONFLICTS)
    set_stock("HOT", "BER", SetStockRequest(on_hand=10, buckets=32), repos, NOW)
    order = capture(busy, ("HOT", 1))
    allocate_order(order.order_id, busy, policy, NOW)
    level = busy.stock.level("HOT", "BER")
    assert level is not None and level.buckets == 32
    assert not promotions(busy)


def test_the_promotion_decision_only_grows_and_only_past_the_threshold():
    assert promotion(HOT_CONFLICTS - 1, None) is None
    assert promotion(HOT_CONFLICTS, None) == AUTO_BUCKETS
    assert promotion(HOT_CONFLICTS, 4) == AUTO_BUCKETS
    assert promotion(HOT_CONFLICTS + 10, AUTO_BUCKETS) is None
    assert promotion(HOT_CONFLICTS, 64) is None


def test_the_stock_repository_names_the_levels_a_failed_commit_met_taken(repos):
    stock = StockRepository(repos.store)
    refused = Refused([StockMoved("A", "BER"), OutOfStock("B", "BER"), StockMoved("A", "BER")])
    assert stock.contended_levels(refused) == [("A", "BER"), ("A", "BER")]
    writes = [Patch(stock_pk("A"), level_sk("MAD"), Changes()), Patch(stock_pk("A"), "BKT#BER#03", Changes()),
              Patch(stock_pk("A"), "RES#BER#o-1", Changes()), Patch("ORDER#o-1", "ORDER", Changes())]
    assert stock.contended_levels(Contention("TransactionConflict", writes)) == [("A", "MAD"), ("A", "BER")]


def test_dynamodb_names_the_writes_that_met_another_transaction():
    client = boto3.client("dynamodb", region_name="us-east-1")
    store = DynamoStore(client, "oms")
    writes = [Patch("ORDER#o-1", "ORDER", Changes(add={"version": 1})),
              Patch(stock_pk("HOT"), level_sk("BER"), Changes(add={"available": -1}))]
    with Stubber(client) as stub:
        stub.add_client_error("transact_write_items", "TransactionCanceledException", "Transaction cancelled",
                              response_meta={}, modeled_fields={"CancellationReasons": [
                                  {"Code": "None"}, {"Code": "TransactionConflict"}]})
        with pytest.raises(Contention) as raised:
            store.transact(writes)
    assert raised.value.contended == (writes[1],)


class ReservedMeanwhile(ConflictingStore):
    """Another order reserves a unit between the promotion's read and its write (the level's version
    moves, as it does all the time on a hot level)."""

    def transact(self, writes) -> None:
        if any(w.key[1].startswith("BKT#") for w in writes) and self.left == 0 and not getattr(self, "done", False):
            self.done = True
            self.store.write(Patch(stock_pk("HOT"), level_sk("BER"),
                                   Changes(add={"available": -1, "reserved": 1, "version": 1})))
        super().transact(writes)


def test_the_split_is_not_lost_to_a_reservation_between_its_read_and_its_write(repos):
    hot_sale(repos, 0)
    busy = Repositories.on(ReservedMeanwhile(repos.store, HOT_CONFLICTS))
    order = capture(busy, ("HOT", 2))
    assert allocate_order(order.order_id, busy, policy, NOW).outcome == Outcome.ALLOCATED
    level = busy.stock.level("HOT", "BER")
    assert level is not None and level.buckets == AUTO_BUCKETS
    assert (level.on_hand, level.reserved, level.available) == (10, 3, 7)
    assert len(promotions(busy)) == 1


def test_a_split_is_refused_when_reservations_since_its_read_took_more_than_its_margin(repos):
    """The split moves what it read but for SPLIT_MARGIN units, under `available >= moved`: had
    reservations since taken more than the margin, the level item would go below zero and its units
    be sold twice (once from the level, once from the new buckets). Refused instead, nothing moved."""
    seed(repos, {"BER": location_request("DE", ships_to=["DE"])}, {})
    set_stock("HOT", "BER", SetStockRequest(on_hand=100), repos, NOW)
    read = repos.stock.level("HOT", "BER")
    assert read is not None and read.pool == 100
    repos.store.write(Patch(stock_pk("HOT"), level_sk("BER"),  # 20 reserved meanwhile: more than the margin
                            Changes(add={"available": -20, "reserved": 20, "version": 1})))
    with pytest.raises(Refused) as refused:
        repos.commit(repos.stock.split(read, AUTO_BUCKETS))
    assert refused.value.find(StockMoved) is not None
    level = repos.stock.level("HOT", "BER")
    assert level is not None and level.buckets is None
    assert (level.on_hand, level.reserved, level.available, level.pool) == (100, 20, 80, 80)
