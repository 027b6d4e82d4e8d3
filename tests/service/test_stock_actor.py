"""Who changed stock: a set, an adjustment, a CSV import and a purchase order's receipt record the
caller's principal name (`user:<username>` or `operator`) on the level, on its StockChanged and on the
adjustment record; a write the system makes records nobody. A location records its writer too."""

from __future__ import annotations

import pytest

from shared.domain.principal import Principal
from shared.domain.purchasing import PurchaseOrderRequest, ReceiptRequest, SupplierRequest
from shared.domain.stock import Adjustment, SetStockRequest
from shared.services.inventory import adjust_stock_batch, import_stock_csv, put_location, set_stock
from shared.services.purchasing import create_purchase_order, put_supplier, receive_purchase_order
from tests.factories import NOW, TWO_WAREHOUSES, seed
from tests.service.flows import events

PERSON = Principal.person("wes-warehouse", ["warehouse", "location:BER"])
OPERATOR = Principal("operator")


@pytest.fixture
def stocked(repos):
    seed(repos, TWO_WAREHOUSES, {("SKU-1", "BER"): 5})
    return repos


def stock_changed(repos, on_hand: int) -> dict:
    """The StockChanged that left SKU-1 at BER with this many on hand (the outbox is not in time order)."""
    [found] = [e for e in events(repos, "StockChanged") if (e["sku"], e["on_hand"]) == ("SKU-1", on_hand)]
    return found


@pytest.mark.parametrize("caller", [PERSON, OPERATOR], ids=["person", "operator"])
def test_a_set_records_who_counted(stocked, caller):
    level = set_stock("SKU-1", "BER", SetStockRequest(on_hand=9), stocked, NOW, by=caller.name)
    assert level.counted_by == caller.name
    assert stocked.stock.level("SKU-1", "BER").counted_by == caller.name
    assert stock_changed(stocked, 9)["by"] == caller.name


def test_an_adjustment_records_who_applied_it_on_the_level_event_and_record(stocked):
    adj = Adjustment(adjustment_id="a-1", sku="SKU-1", location_id="BER", delta=2, reason="found")
    [result] = adjust_stock_batch([adj], stocked, NOW, by=PERSON.name)
    assert result.outcome == "applied"
    assert stocked.stock.level("SKU-1", "BER").counted_by == "user:wes-warehouse"
    assert stock_changed(stocked, 7)["by"] == "user:wes-warehouse"
    assert stocked.store.get("ADJUSTMENT#a-1", "ADJUSTMENT")["applied_by"] == "user:wes-warehouse"


def test_an_import_records_who_imported(stocked):
    assert import_stock_csv("SKU-1,BER,7\nSKU-2,MAD,3\n", stocked, NOW, by=OPERATOR.name).imported == 2
    assert stocked.stock.level("SKU-2", "MAD").counted_by == "operator"
    assert {e["by"] for e in events(stocked, "StockChanged") if e["cause"] == "import"} == {"operator"}


def test_a_receipt_records_who_received_it(stocked):
    put_supplier("ACME", SupplierRequest(name="Acme", lead_time_days=7, skus=["SKU-*"]), OPERATOR, stocked, NOW)
    create_purchase_order(PurchaseOrderRequest(purchase_order_id="PO-1", supplier_id="ACME", location_id="BER",
                                               lines=[{"sku": "SKU-1", "quantity": 10}]), OPERATOR, stocked, NOW)
    receipt = ReceiptRequest(receipt_id="R-1", lines=[{"sku": "SKU-1", "quantity": 4}])
    receive_purchase_order("PO-1", receipt, Principal.person("ada-admin", ["admin"]), stocked, NOW)
    assert stocked.stock.level("SKU-1", "BER").counted_by == "user:ada-admin"
    assert stock_changed(stocked, 9)["by"] == "user:ada-admin"


def test_a_write_the_system_makes_records_nobody(stocked):
    set_stock("SKU-1", "BER", SetStockRequest(on_hand=9), stocked, NOW, by=PERSON.name)
    set_stock("SKU-1", "BER", SetStockRequest(on_hand=3), stocked, NOW, cause="demo")
    assert stocked.stock.level("SKU-1", "BER").counted_by is None
    assert stock_changed(stocked, 3)["by"] is None


def test_a_location_and_its_location_changed_record_who_wrote_it(stocked):
    put_location("NEW", TWO_WAREHOUSES["BER"], PERSON.name, stocked, NOW)
    assert stocked.locations.get("NEW").updated_by == "user:wes-warehouse"
    [changed] = [e for e in events(stocked, "LocationChanged") if e["location_id"] == "NEW"]
    assert changed["by"] == "user:wes-warehouse"
