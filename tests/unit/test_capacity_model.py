"""The cost benchmark's DynamoDB capacity model (bench/capacity.py) against DynamoDB's sizing rules."""

import pytest

from bench.capacity import IndexShape, TableShape, attribute_size, item_size, read_units, write_units

pytestmark = pytest.mark.unit

TABLE = TableShape(("pk", "sk"), (IndexShape("gsi1", ("g1pk", "g1sk"), "ALL"),
                                  IndexShape("gsi4", ("g4pk", "g4sk"), "KEYS_ONLY")))
INCLUDING = TableShape(("pk", "sk"), (IndexShape("gsi2", ("g2pk", "g2sk"), "INCLUDE", ("status",)),))


def s(text: str) -> dict:
    return {"S": text}


def test_sizes_follow_dynamodbs_rules():
    assert attribute_size(s("héllo")) == 6  # UTF-8 bytes
    assert attribute_size({"N": "12345"}) == 4  # 3 bytes for 5 significant digits, plus 1
    assert attribute_size({"N": "100.00"}) == 2  # trailing zeros are trimmed
    assert attribute_size({"BOOL": True}) == 1
    assert attribute_size({"M": {"a": s("xy")}}) == 3 + 1 + 1 + 2
    assert item_size({"pk": s("A"), "doc": s("x" * 10)}) == 2 + 1 + 3 + 10


def test_a_write_costs_a_unit_per_started_kilobyte_and_double_in_a_transaction():
    small = {"pk": s("A"), "sk": s("B")}
    big = {"pk": s("A"), "sk": s("B"), "doc": s("x" * 1500)}
    assert write_units(None, small, TABLE, transactional=False) == (1, 0)
    assert write_units(None, big, TABLE, transactional=False) == (2, 0)
    assert write_units(None, big, TABLE, transactional=True) == (4, 0)
    # Shrinking an item costs its larger image.
    assert write_units(big, small, TABLE, transactional=False) == (2, 0)


def test_index_writes_follow_keys_and_projection():
    base = {"pk": s("A"), "sk": s("B"), "doc": s("x" * 1500), "g1pk": s("S#1"), "g1sk": s("t"),
            "g4pk": s("K"), "g4sk": s("k")}
    changed_doc = {**base, "doc": s("y" * 1500)}
    # ALL index, key unchanged, item changed: one write of the item; KEYS_ONLY index: nothing.
    assert write_units(base, changed_doc, TABLE, transactional=False) == (2, 2)
    # Key changed in the ALL index: the old entry is deleted and the new one put.
    moved = {**changed_doc, "g1pk": s("S#2")}
    assert write_units(base, moved, TABLE, transactional=False) == (2, 4)
    # A new item puts an entry in both indexes; the KEYS_ONLY one costs only its keys.
    assert write_units(None, base, TABLE, transactional=False) == (2, 2 + 1)
    # An unchanged item (a refused condition) touches no index.
    assert write_units(base, base, TABLE, transactional=True) == (4, 0)


def test_an_include_index_is_written_when_its_keys_or_its_attributes_change():
    base = {"pk": s("A"), "sk": s("B"), "doc": s("x" * 3000), "status": s("OPEN"), "g2pk": s("P"), "g2sk": s("t")}
    # The document is not projected: changing it costs the index nothing.
    assert write_units(base, {**base, "doc": s("y" * 3000)}, INCLUDING, transactional=False) == (3, 0)
    # A projected attribute changed: the entry (keys and status, well under 1 KB) is rewritten.
    assert write_units(base, {**base, "status": s("DONE")}, INCLUDING, transactional=False) == (3, 1)
    # A new item puts its small entry; a moved key deletes one and puts one.
    assert write_units(None, base, INCLUDING, transactional=False) == (3, 1)
    assert write_units(base, {**base, "g2pk": s("Q")}, INCLUDING, transactional=False) == (3, 2)


def test_reads_are_per_four_kilobytes_and_half_when_eventually_consistent():
    assert read_units([100], consistent=True) == 1
    assert read_units([100], consistent=False) == 0.5
    assert read_units([5000], consistent=True) == 2
    assert read_units([3000, 3000], consistent=False, per_item=False) == 1.0  # a query page rounds once
    assert read_units([100], consistent=True, transactional=True) == 2
