"""One outbox item per transaction, holding that transaction's events in order (shared/adapters/outbox.py)."""

from __future__ import annotations

import json

import pytest

from shared.domain.events import OrderCancelled
from shared.domain.principal import OPERATOR, Principal
from shared.outbox_format import OUTBOX_PREFIX, OUTBOX_SK, outbox_entries
from shared.services.order_actions import cancel_order
from shared.unit_of_work import AlreadyExists, Refused
from tests.factories import NOW, TWO_WAREHOUSES, seed
from tests.service.flows import placed_and_packed, ship_lines


def outbox_items(repos) -> dict[str, dict]:
    return {i["pk"]: i for i in repos.store.with_prefix(OUTBOX_PREFIX)}


def written_by(repos, change) -> list[dict]:
    """The outbox items `change` wrote."""
    before = outbox_items(repos)
    change()
    return [i for pk, i in outbox_items(repos).items() if pk not in before]


def cancelled(n: int) -> OrderCancelled:
    return OrderCancelled(occurred_at=NOW, order_id=f"o-{n}", channel="web", reason="test", released=[])


def test_publish_all_writes_one_item_of_the_events_in_order(repos):
    events = [cancelled(n) for n in range(3)]
    (put,) = repos.events.publish_all(events)
    assert put.item["pk"] == f"{OUTBOX_PREFIX}{events[0].event_id}" and put.item["sk"] == OUTBOX_SK
    assert [json.loads(e.detail)["order_id"] for e in outbox_entries(put.item)] == ["o-0", "o-1", "o-2"]
    assert repos.events.publish_all([]) == []


def test_a_unit_of_work_merges_the_events_published_in_several_places_into_one_item(repos):
    work = repos.unit_of_work().add(repos.events.publish(cancelled(0)), repos.events.publish_all([cancelled(1)]))
    work.add([repos.events.publish(cancelled(2))])
    assert len(work) == 1
    work.commit()
    (item,) = outbox_items(repos).values()
    assert [json.loads(e.detail)["order_id"] for e in outbox_entries(item)] == ["o-0", "o-1", "o-2"]


def test_a_transaction_written_twice_is_refused_as_already_there(repos):
    events = [cancelled(0), cancelled(1)]
    repos.commit(repos.events.publish_all(events))
    with pytest.raises(Refused) as refused:
        repos.commit(repos.events.publish_all(events))
    assert refused.value.find(AlreadyExists) == AlreadyExists("event", events[0].event_id)


def test_shipping_writes_one_outbox_item_with_its_three_events(repos):
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 5})
    order_id, fo_id = placed_and_packed(repos, [("SKU-1", 2)], NOW)

    (item,) = written_by(repos, lambda: ship_lines(repos, fo_id, "S-1", {}, NOW, carrier="DHL", tracking_code="T-1"))

    assert [e.detail_type for e in outbox_entries(item)] == ["ShipmentDispatched", "FulfillmentOrderChanged",
                                                             "OrderShipped"]
    assert {json.loads(e.detail)["order_id"] for e in outbox_entries(item)} == {order_id}


def test_a_cancellation_publishing_in_two_places_writes_one_item(repos):
    """cancel_order publishes the order's and the stock's events together, and each fulfilment
    order's on its own (`_cancel_fulfillment`): the unit of work makes them one item."""
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 5})
    order_id, _ = placed_and_packed(repos, [("SKU-1", 2)], NOW)

    (item,) = written_by(repos, lambda: cancel_order(order_id, Principal(OPERATOR), "changed my mind", repos, NOW))

    assert [e.detail_type for e in outbox_entries(item)] == ["OrderCancelled", "StockChanged",
                                                             "FulfillmentOrderChanged"]
