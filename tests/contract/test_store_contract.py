"""The store contract: each case runs on the in-memory store and on DynamoDB (moto), so the fake
the service tests run on cannot drift from what the repositories get in AWS.

Only what the repositories rely on is here: conditional writes and the outcome each refused write
names (with the item as it was), transactions all or nothing, what no transaction may hold, and
queries (key ranges, order, filters after Limit, pages, sparse and keys-only indexes).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ClientError

from shared.adapters.dynamo import DynamoStore
from shared.adapters.expressions import (
    NEW,
    PRESENT,
    Changes,
    Check,
    Contains,
    Delete,
    Exists,
    KeyQuery,
    Missing,
    Patch,
    Put,
    SortRange,
    eq,
    ge,
    lt,
    ne,
)
from shared.unit_of_work import (
    MAX_WRITES,
    CapacityExhausted,
    ConditionFailed,
    InvalidTransaction,
    Outcome,
    OutOfStock,
    Refused,
    StaleVersion,
)


@dataclass(frozen=True)
class Saw(Outcome):
    """A test outcome that keeps what the store passed to `refused`: the item as it was."""

    tag: str
    old: Any


def saw(tag: str):
    return lambda old: Saw(tag, old)


def moto_differs(request, store, reason: str) -> None:
    """Where moto is not DynamoDB and the fake follows DynamoDB: expected to fail on moto (strict,
    so a moto that learns the rule shows up here)."""
    if isinstance(store, DynamoStore):
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))


def put(store, pk: str, sk: str, **attrs) -> dict:
    item = {"pk": pk, "sk": sk, **attrs}
    store.write(Put(item))
    return item


def refusal(call) -> Refused:
    with pytest.raises(Refused) as refused:
        call()
    return refused.value


def keys(items) -> list[tuple[str, str]]:
    return [(i["pk"], i["sk"]) for i in items]


# ------------------------------------------------------------------ conditional puts


@pytest.mark.parametrize("single", [True, False], ids=["write", "transact"])
def test_a_conditional_put_creates_a_new_item(store, single):
    item = {"pk": "P#1", "sk": "A", "n": 3, "s": "x", "l": ["a", "b"], "flag": True}
    (store.write if single else lambda w: store.transact([w]))(Put(item, when=NEW, refused=saw("create")))

    stored = store.get("P#1", "A")
    assert stored == {"pk": "P#1", "sk": "A", "n": Decimal(3), "s": "x", "l": ["a", "b"], "flag": True}
    assert type(stored["n"]) is Decimal


@pytest.mark.parametrize("single", [True, False], ids=["write", "transact"])
def test_a_conditional_put_over_an_existing_item_is_refused_with_its_outcome_and_the_old_item(store, single):
    put(store, "P#1", "A", n=1, s="first")
    write = Put({"pk": "P#1", "sk": "A", "n": 2}, when=NEW, refused=saw("create"))

    refused = refusal(lambda: store.write(write) if single else store.transact([write]))

    assert refused.outcomes == [Saw("create", {"pk": "P#1", "sk": "A", "n": Decimal(1), "s": "first"})]
    assert store.get("P#1", "A")["s"] == "first"


def test_a_refused_write_without_a_named_outcome_is_condition_failed_with_its_key(store):
    put(store, "P#1", "A")
    refused = refusal(lambda: store.transact([Put({"pk": "P#1", "sk": "A"}, when=NEW)]))
    assert refused.outcomes == [ConditionFailed("P#1", "A")]


def test_a_put_without_a_condition_replaces_the_whole_item(store):
    put(store, "P#1", "A", old="gone", n=1)
    store.transact([Put({"pk": "P#1", "sk": "A", "n": 2})])
    assert store.get("P#1", "A") == {"pk": "P#1", "sk": "A", "n": 2}


def test_none_values_are_not_stored(store):
    put(store, "P#1", "A", keep="yes", dropped=None)
    assert store.get("P#1", "A") == {"pk": "P#1", "sk": "A", "keep": "yes"}


# ------------------------------------------------------------------ versions, counters, comparisons


def versioned(version: int) -> Patch:
    return Patch("ORDER#1", "ORDER", Changes(set={"status": f"v{version + 1}"}, add={"version": 1}),
                 when=eq("version", version), refused=lambda old: StaleVersion("order", "1") if old else None)


def test_a_version_condition_admits_one_writer_and_refuses_the_stale_one(store):
    put(store, "ORDER#1", "ORDER", version=1, status="v1")

    store.transact([versioned(1)])
    refused = refusal(lambda: store.transact([versioned(1)]))

    assert refused.outcomes == [StaleVersion("order", "1")]
    assert store.get("ORDER#1", "ORDER") == {"pk": "ORDER#1", "sk": "ORDER", "version": 2, "status": "v2"}


def test_a_version_condition_on_a_missing_item_is_refused_with_none_as_the_old_item(store):
    seen = []
    write = Patch("ORDER#9", "ORDER", Changes(add={"version": 1}), when=eq("version", 1),
                  refused=lambda old: seen.append(old) or ConditionFailed("ORDER#9", "ORDER"))
    refusal(lambda: store.transact([write]))
    assert seen == [None]
    assert store.get("ORDER#9", "ORDER") is None


def take(quantity: int) -> Patch:
    """The stock decrement of a reservation: available >= q, and both counts move together."""
    return Patch("STOCK#S", "LOC#L", Changes(add={"available": -quantity, "reserved": quantity}),
                 when=ge("available", quantity), refused=lambda old: OutOfStock("S", "L"))


def test_ge_with_add_decrements_down_to_zero_and_never_below(store):
    put(store, "STOCK#S", "LOC#L", available=3, reserved=0)

    store.transact([take(2)])
    store.transact([take(1)])  # exactly what is left: >= holds
    refused = refusal(lambda: store.transact([take(1)]))

    assert refused.outcomes == [OutOfStock("S", "L")]
    level = store.get("STOCK#S", "LOC#L")
    assert (level["available"], level["reserved"]) == (0, 3)


def test_ge_on_a_missing_item_is_refused(store):
    assert refusal(lambda: store.transact([take(1)])).outcomes == [OutOfStock("S", "L")]
    assert store.get("STOCK#S", "LOC#L") is None


def count(cap: int) -> Patch:
    """A location's daily capacity counter, created by its first order."""
    return Patch("CAPACITY#L", "2026-11-25", Changes(set={"expires_at": 1}, add={"used": 1}),
                 when=Missing("used") | lt("used", cap), refused=lambda old: CapacityExhausted("L"))


def test_a_capacity_counter_is_created_counts_up_and_stops_at_its_cap(store):
    store.transact([count(2)])
    assert store.get("CAPACITY#L", "2026-11-25") == {"pk": "CAPACITY#L", "sk": "2026-11-25", "expires_at": 1,
                                                      "used": 1}
    store.transact([count(2)])

    seen = []
    write = Patch("CAPACITY#L", "2026-11-25", Changes(add={"used": 1}), when=Missing("used") | lt("used", 2),
                  refused=lambda old: seen.append(old) or CapacityExhausted("L"))
    assert refusal(lambda: store.transact([write])).outcomes == [CapacityExhausted("L")]
    assert seen[0]["used"] == 2 and store.get("CAPACITY#L", "2026-11-25")["used"] == 2


@pytest.mark.parametrize(("item", "holds"), [
    ({"status": "OPEN"}, True),
    ({"status": "CANCELLED"}, False),
    ({}, True),                 # the attribute is missing: not equal to anything
    ({"status": 5}, True),      # another type: not equal
    ({"status": ["CANCELLED"]}, True),
], ids=["other-value", "same-value", "missing-attribute", "number", "list"])
def test_ne(store, item, holds):
    put(store, "ORDER#1", "ORDER", **item)
    check = Check("ORDER#1", "ORDER", ne("status", "CANCELLED"), refused=saw("ne"))
    if holds:
        store.transact([check])
    else:
        assert refusal(lambda: store.transact([check])).outcomes[0].tag == "ne"


def test_comparing_values_of_different_types_is_false_not_an_error(request, store):
    moto_differs(request, store, "moto compares a number with a string in Python and fails the transaction "
                                 "with a TypeError; DynamoDB finds the condition false")
    put(store, "P#1", "A", n=5, s="abc")
    for cond in (lt("n", "z"), ge("s", 1)):
        refusal(lambda cond=cond: store.transact([Check("P#1", "A", cond)]))


def test_ne_on_a_missing_item_holds_and_present_and_ne_does_not(store):
    store.transact([Check("ORDER#9", "ORDER", ne("status", "CANCELLED"))])
    refused = refusal(lambda: store.transact([Check("ORDER#9", "ORDER", PRESENT & ne("status", "CANCELLED"),
                                                    refused=saw("open"))]))
    assert refused.outcomes == [Saw("open", None)]


@pytest.mark.parametrize(("cond", "holds"), [
    (eq("n", 5), True), (eq("n", Decimal("5.0")), True), (eq("n", "5"), False),
    (ge("n", 5), True), (ge("n", 6), False), (lt("n", 6), True), (lt("n", 5), False),
    (lt("missing", 6), False), (ge("missing", 0), False), (eq("missing", 0), False),
    (eq("s", "abc"), True), (lt("s", "abd"), True), (ge("s", "abd"), False),
])
def test_comparisons(store, cond, holds):
    put(store, "P#1", "A", n=5, s="abc")
    check = Check("P#1", "A", cond)
    if holds:
        store.transact([check])
    else:
        refusal(lambda: store.transact([check]))


@pytest.mark.parametrize(("cond", "holds"), [
    (Exists("a"), True), (Exists("b"), False), (Missing("b"), True), (Missing("a"), False),
    (Exists("a") & Missing("b"), True), (Exists("a") & Exists("b"), False),
    (Exists("b") | eq("a", "x"), True), (Exists("b") | eq("a", "y"), False),
    (Contains("tags", "red"), True), (Contains("tags", "blue"), False),
    (Contains("a", "x"), True), (Contains("text", "ell"), True), (Contains("text", "xyz"), False),
    (Contains("nothing", "x"), False), (Contains("mixed", 1), True), (Contains("mixed", 2), False),
    (Contains("set", "b"), True), (Contains("set", "c"), False),
])
def test_attribute_functions_and_combinations(store, cond, holds):
    put(store, "P#1", "A", a="x", tags=["red", "green"], text="hello", mixed=[1, "a"], set={"a", "b"})
    check = Check("P#1", "A", cond)
    if holds:
        store.transact([check])
    else:
        refusal(lambda: store.transact([check]))


# ------------------------------------------------------------------ transactions: all or nothing


def test_a_failing_condition_leaves_every_other_write_unapplied(store):
    put(store, "STOCK#S", "LOC#L", available=1, reserved=0)
    put(store, "EXISTS", "X", v=1)
    put(store, "GONE", "X", v=1)

    refused = refusal(lambda: store.transact([
        Put({"pk": "NEW", "sk": "X", "v": 1}, when=NEW),
        Patch("COUNTER", "X", Changes(add={"n": 1})),
        Delete("GONE", "X"),
        take(1),
        Put({"pk": "EXISTS", "sk": "X", "v": 2}, when=NEW, refused=saw("exists")),
    ]))

    assert refused.outcomes == [Saw("exists", {"pk": "EXISTS", "sk": "X", "v": 1})]
    assert store.get("NEW", "X") is None and store.get("COUNTER", "X") is None
    assert store.get("GONE", "X") == {"pk": "GONE", "sk": "X", "v": 1}
    assert store.get("STOCK#S", "LOC#L")["available"] == 1 and store.get("EXISTS", "X")["v"] == 1


def test_every_failing_condition_is_reported_in_write_order(store):
    put(store, "ORDER#1", "ORDER", version=2)
    put(store, "STOCK#S", "LOC#L", available=0, reserved=0)
    put(store, "FINE", "X")

    refused = refusal(lambda: store.transact([
        Check("FINE", "X", PRESENT),
        take(1),
        versioned(1),
    ]))

    assert refused.outcomes == [OutOfStock("S", "L"), StaleVersion("order", "1")]
    assert refused.find(StaleVersion) == StaleVersion("order", "1")
    assert refused.only(OutOfStock, StaleVersion) and not refused.only(OutOfStock)


def test_a_check_guards_the_writes_beside_it(store):
    put(store, "ORDER#1", "ORDER", status="OPEN")
    guarded = [Check("ORDER#1", "ORDER", eq("status", "OPEN"), refused=saw("open")),
               Put({"pk": "FO#1", "sk": "FO"}, when=NEW)]
    store.transact(guarded)
    assert store.get("FO#1", "FO") is not None

    store.write(Patch("ORDER#1", "ORDER", Changes(set={"status": "CANCELLED"})))
    again = [guarded[0], Put({"pk": "FO#2", "sk": "FO"}, when=NEW)]
    refused = refusal(lambda: store.transact(again))
    assert refused.outcomes == [Saw("open", {"pk": "ORDER#1", "sk": "ORDER", "status": "CANCELLED"})]
    assert store.get("FO#2", "FO") is None
    assert store.get("ORDER#1", "ORDER") == {"pk": "ORDER#1", "sk": "ORDER", "status": "CANCELLED"}  # a check writes nothing


def test_an_invalid_write_beside_a_refused_condition_is_an_invalid_transaction(store):
    put(store, "EXISTS", "X")
    with pytest.raises(InvalidTransaction):
        store.transact([Put({"pk": "EXISTS", "sk": "X"}, when=NEW), Put({"pk": "BIG", "sk": "A", "doc": "x" * 409_600})])


def test_an_empty_transaction_is_refused(store):
    # Both stores refuse it before any call (boto3 would refuse an empty TransactItems too).
    with pytest.raises(InvalidTransaction):
        store.transact([])


def test_two_writes_to_one_item_are_an_invalid_transaction(store):
    with pytest.raises(InvalidTransaction):
        store.transact([Put({"pk": "P#1", "sk": "A"}), Patch("P#1", "A", Changes(add={"n": 1})),
                        Put({"pk": "P#2", "sk": "A"})])
    with pytest.raises(InvalidTransaction):
        store.transact([Check("P#1", "A", Missing()), Put({"pk": "P#1", "sk": "A"})])
    assert store.get("P#1", "A") is None and store.get("P#2", "A") is None


def test_more_than_a_hundred_writes_are_an_invalid_transaction(store):
    writes = [Put({"pk": f"P#{n}", "sk": "A"}) for n in range(MAX_WRITES + 1)]
    with pytest.raises(InvalidTransaction):
        store.transact(writes)
    assert store.get("P#0", "A") is None

    store.transact(writes[:MAX_WRITES])
    assert len(store.batch_get([(f"P#{n}", "A") for n in range(MAX_WRITES + 1)])) == MAX_WRITES


def test_an_item_over_400_kb_is_an_invalid_transaction(store):
    store.transact([Put({"pk": "BIG", "sk": "A", "doc": "x" * 400_000})])  # under 400 KB (409,600 bytes)
    with pytest.raises(InvalidTransaction):
        store.transact([Put({"pk": "BIG", "sk": "B", "doc": "x" * 409_600}), Put({"pk": "P#1", "sk": "A"})])
    with pytest.raises(InvalidTransaction):
        store.write(Put({"pk": "BIG", "sk": "B", "doc": "x" * 409_600}))
    with pytest.raises(InvalidTransaction):  # an update that grows an item past the limit
        store.transact([Patch("BIG", "A", Changes(set={"more": "y" * 10_000})), Put({"pk": "P#1", "sk": "A"})])
    assert store.get("BIG", "B") is None and store.get("P#1", "A") is None
    assert "more" not in store.get("BIG", "A")


@pytest.mark.parametrize(("pk", "sk"), [("P" * 2049, "A"), ("P#1", "S" * 1025), ("P#é" + "P" * 2045, "A")],
                         ids=["partition-2049", "sort-1025", "partition-multibyte"])
def test_a_key_too_long_is_an_invalid_transaction(store, pk, sk):
    with pytest.raises(InvalidTransaction):
        store.transact([Put({"pk": pk, "sk": sk}), Put({"pk": "P#2", "sk": "A"})])
    with pytest.raises(InvalidTransaction):
        store.write(Put({"pk": pk, "sk": sk}))
    assert store.get("P#2", "A") is None


@pytest.mark.parametrize("index_keys", [{"gsi1pk": "", "gsi1sk": "x"}, {"gsi1pk": "x", "gsi1sk": ""},
                                        {"gsi1pk": "x" * 2049, "gsi1sk": "x"}, {"gsi1pk": "x", "gsi1sk": "x" * 1025}],
                         ids=["empty-partition", "empty-sort", "partition-2049", "sort-1025"])
def test_an_index_key_empty_or_too_long_is_an_invalid_transaction(store, index_keys):
    with pytest.raises(InvalidTransaction):
        store.transact([Put({"pk": "P#1", "sk": "A", **index_keys}), Put({"pk": "P#2", "sk": "A"})])
    assert store.get("P#1", "A") is None and store.get("P#2", "A") is None


def test_an_index_key_of_another_type_than_declared_is_an_invalid_transaction(request, store):
    moto_differs(request, store, "moto indexes a number under a string index key; DynamoDB refuses the write")
    with pytest.raises(InvalidTransaction):
        store.transact([Put({"pk": "P#1", "sk": "A", "gsi1pk": 5, "gsi1sk": "x"})])


@pytest.mark.parametrize("pk", ["", "P#1"])
def test_an_empty_key_is_an_invalid_transaction(store, pk):
    with pytest.raises(InvalidTransaction):
        store.transact([Put({"pk": pk, "sk": "" if pk else "A"})])


def test_the_longest_keys_are_accepted(store):
    pk, sk = "P" * 2048, "S" * 1024
    store.transact([Put({"pk": pk, "sk": sk, "v": 1})])
    assert store.get(pk, sk)["v"] == 1


# ------------------------------------------------------------------ deletes, patches, single writes


def test_a_conditional_delete(store):
    put(store, "EXC", "A", since="2026-11-25")

    refused = refusal(lambda: store.write(Delete("EXC", "A", when=eq("since", "2026-11-24"), refused=saw("moved"))))
    assert refused.outcomes == [Saw("moved", {"pk": "EXC", "sk": "A", "since": "2026-11-25"})]
    assert store.get("EXC", "A") is not None

    store.transact([Delete("EXC", "A", when=eq("since", "2026-11-25"))])
    assert store.get("EXC", "A") is None
    store.transact([Delete("EXC", "A")])  # deleting what is gone is no error
    refusal(lambda: store.transact([Delete("EXC", "A", when=PRESENT)]))


def test_a_patch_creates_a_missing_item_and_sets_adds_and_removes(store):
    store.transact([Patch("RES#1", "R", Changes(set={"order_id": "o-1"}, add={"quantity": 2}))])
    assert store.get("RES#1", "R") == {"pk": "RES#1", "sk": "R", "order_id": "o-1", "quantity": 2}

    store.transact([Patch("RES#1", "R", Changes(set={"at": "now"}, add={"quantity": -3, "other": 1},
                                                remove=("order_id",)))])
    assert store.get("RES#1", "R") == {"pk": "RES#1", "sk": "R", "at": "now", "quantity": -1, "other": 1}


def test_an_update_cannot_set_none_or_add_to_a_non_number(store):
    put(store, "P#1", "A", s="text", n=1)
    for changes in (Changes(set={"gone": None, "n": 2}), Changes(add={"s": 1})):
        with pytest.raises(InvalidTransaction):
            store.transact([Patch("P#1", "A", changes)])
    with pytest.raises(InvalidTransaction):
        store.write(Patch("P#1", "A", Changes(set={"gone": None})))
    assert store.get("P#1", "A") == {"pk": "P#1", "sk": "A", "s": "text", "n": 1}


def test_an_update_that_changes_nothing_is_an_invalid_transaction(store):
    if isinstance(store, DynamoStore):
        pytest.skip("moto answers an empty UpdateExpression with a 500 (retried by boto3 for seconds); "
                    "DynamoDB refuses it with a ValidationException, which DynamoStore makes an InvalidTransaction")
    with pytest.raises(InvalidTransaction):
        store.transact([Patch("P#1", "A", Changes())])


def test_floats_are_refused_as_dynamodb_refuses_them(store):
    with pytest.raises(TypeError):
        store.transact([Put({"pk": "P#1", "sk": "A", "f": 1.5})])
    with pytest.raises(TypeError):
        store.transact([Patch("P#1", "A", Changes(set={"f": 0.1}))])


def test_a_check_alone_is_not_a_single_write(store):
    put(store, "P#1", "A")
    with pytest.raises(InvalidTransaction):  # there is no single-item call for a condition check
        store.write(Check("P#1", "A", PRESENT))


def test_a_single_write_returns_the_new_item_when_asked(store):
    put(store, "STATE", "S", passes=1, holder="a")
    new = store.write(Patch("STATE", "S", Changes(set={"holder": "b"}, add={"passes": 1}),
                            when=eq("holder", "a")), return_new=True)
    assert new == {"pk": "STATE", "sk": "S", "holder": "b", "passes": 2}
    assert type(new["passes"]) is Decimal
    assert store.write(Patch("STATE", "S", Changes(set={"holder": "c"}))) is None

    created = store.write(Patch("STATE", "T", Changes(set={"holder": "a"}), when=Missing("holder")), return_new=True)
    assert created == {"pk": "STATE", "sk": "T", "holder": "a"}


def test_return_new_gives_nothing_for_a_put_or_a_delete(store):
    """DynamoDB's PutItem and DeleteItem have no ALL_NEW: the store returns None for them."""
    assert store.write(Put({"pk": "P#1", "sk": "A", "v": 1}), return_new=True) is None
    assert store.write(Delete("P#1", "A"), return_new=True) is None


def test_a_refused_single_write_names_its_outcome_and_writes_nothing(store):
    put(store, "STATE", "S", holder="a", passes=1)
    refused = refusal(lambda: store.write(Patch("STATE", "S", Changes(add={"passes": 1}), when=eq("holder", "b"),
                                                refused=saw("lease")), return_new=True))
    assert refused.outcomes == [Saw("lease", {"pk": "STATE", "sk": "S", "holder": "a", "passes": 1})]
    assert store.get("STATE", "S")["passes"] == 1


# ------------------------------------------------------------------ reads


def test_get_and_batch_get(store):
    put(store, "P#1", "A", n=1)
    put(store, "P#2", "A", n=2)

    assert store.get("P#1", "A", consistent=False)["n"] == 1
    assert store.get("P#1", "missing") is None
    found = store.batch_get([("P#1", "A"), ("P#2", "A"), ("P#1", "A"), ("P#3", "A"), ("P#2", "B")])
    assert sorted(keys(found)) == [("P#1", "A"), ("P#2", "A")]  # duplicates once, missing keys left out
    assert all(type(i["n"]) is Decimal for i in found)
    assert store.batch_get([]) == []


def test_batch_get_of_more_than_a_hundred_keys(store):
    store.transact([Put({"pk": f"P#{n:03d}", "sk": "A"}) for n in range(100)])
    store.transact([Put({"pk": f"P#{n:03d}", "sk": "A"}) for n in range(100, 150)])
    found = store.batch_get([(f"P#{n:03d}", "A") for n in range(160)])
    assert sorted(keys(found)) == [(f"P#{n:03d}", "A") for n in range(150)]


@pytest.fixture
def partition(store):
    """One partition of ten items (sk A#00..A#04, B#00..B#04) beside another partition."""
    store.transact([Put({"pk": "STOCK#S", "sk": f"{p}#{n:02d}", "n": n, **({"tag": "t"} if n % 2 else {})})
                    for p in "AB" for n in range(5)] + [Put({"pk": "STOCK#T", "sk": "A#00"})])
    return store


def sks(items) -> list[str]:
    return [i["sk"] for i in items]


def query(store, key: KeyQuery, **kwargs) -> list[dict]:
    items, _ = store.query(key, **kwargs)
    return items


def test_query_a_partition_in_sort_key_order_both_ways(partition):
    everything = [f"{p}#{n:02d}" for p in "AB" for n in range(5)]
    assert sks(query(partition, KeyQuery("STOCK#S"))) == everything
    assert sks(query(partition, KeyQuery("STOCK#S"), forward=False)) == everything[::-1]
    assert sks(list(partition.query_all(KeyQuery("STOCK#S"), consistent=True))) == everything
    assert sks(list(partition.query_all(KeyQuery("STOCK#S"), forward=False))) == everything[::-1]
    assert query(partition, KeyQuery("STOCK#NONE")) == []
    assert all(type(i["n"]) is Decimal for i in query(partition, KeyQuery("STOCK#S")))


@pytest.mark.parametrize(("sort", "expected"), [
    (SortRange.prefix("B#"), ["B#00", "B#01", "B#02", "B#03", "B#04"]),
    (SortRange.prefix("A#0"), ["A#00", "A#01", "A#02", "A#03", "A#04"]),
    (SortRange.prefix("C"), []),
    (SortRange.between("A#03", "B#01"), ["A#03", "A#04", "B#00", "B#01"]),
    (SortRange.between("A#03", "A#03"), ["A#03"]),
    (SortRange(">", "B#02"), ["B#03", "B#04"]),
    (SortRange(">=", "B#02"), ["B#02", "B#03", "B#04"]),
    (SortRange("<", "A#02"), ["A#00", "A#01"]),
    (SortRange("<=", "A#02"), ["A#00", "A#01", "A#02"]),
    (SortRange("=", "A#02"), ["A#02"]),
], ids=lambda v: v if isinstance(v, str) else None)
def test_query_a_sort_key_range(partition, sort, expected):
    assert sks(query(partition, KeyQuery("STOCK#S", sort))) == expected
    assert sks(query(partition, KeyQuery("STOCK#S", sort), forward=False)) == expected[::-1]


def test_a_between_whose_bounds_are_reversed_is_refused(request, partition):
    moto_differs(request, partition, "moto answers an empty page; DynamoDB refuses the KeyConditionExpression")
    with pytest.raises((InvalidTransaction, ClientError)):
        partition.query(KeyQuery("STOCK#S", SortRange.between("B#00", "A#00")))


def test_filters_apply_after_limit(partition):
    # Limit counts the items read, the filter then drops some: a page may be short, even empty.
    items, last = partition.query(KeyQuery("STOCK#S", SortRange.prefix("A#")), where=Exists("tag"), limit=2)
    assert sks(items) == ["A#01"]
    assert last == {"pk": {"S": "STOCK#S"}, "sk": {"S": "A#01"}}
    items, last = partition.query(KeyQuery("STOCK#S", SortRange.prefix("A#")), where=Exists("tag"), limit=1)
    assert items == [] and last == {"pk": {"S": "STOCK#S"}, "sk": {"S": "A#00"}}
    filtered = query(partition, KeyQuery("STOCK#S"), where=Contains("sk", "#0") & Missing("tag"))
    assert sks(filtered) == ["A#00", "A#02", "A#04", "B#00", "B#02", "B#04"]
    assert sks(list(partition.query_all(KeyQuery("STOCK#S"), where=Exists("tag")))) == [
        "A#01", "A#03", "B#01", "B#03"]


def pages(store, key: KeyQuery, limit: int, **kwargs) -> list[tuple[list[str], dict | None]]:
    out, start = [], None
    while True:
        items, start = store.query(key, limit=limit, start_key=start, **kwargs)
        out.append((sks(items), start))
        if not start:
            return out
        assert len(out) < 20, "pagination does not end"


def test_pages_resume_from_the_last_evaluated_key(partition):
    for forward in (True, False):
        got = pages(partition, KeyQuery("STOCK#S", SortRange.prefix("A#")), 2, forward=forward)
        expected = [f"A#{n:02d}" for n in range(5)][:: 1 if forward else -1]
        assert [sk for page, _ in got for sk in page] == expected
        assert [page for page, _ in got[:3]] == [expected[0:2], expected[2:4], expected[4:]]
        for page, last in got:
            assert len(page) <= 2
            if last:  # DynamoDB's wire shape: the table's keys, typed
                assert last == {"pk": {"S": "STOCK#S"}, "sk": {"S": page[-1]}}


def test_a_page_ending_exactly_at_the_last_item(partition):
    got = pages(partition, KeyQuery("STOCK#S", SortRange.prefix("A#0")), 5)
    # DynamoDB may or may not say there is more after a full last page; either way nothing follows.
    assert got[0][0] == [f"A#{n:02d}" for n in range(5)]
    assert all(page == [] for page, _ in got[1:]) and len(got) <= 2


def test_filtered_pages_resume_from_the_last_evaluated_key(partition):
    got = pages(partition, KeyQuery("STOCK#S"), 3, where=Exists("tag"))
    # Reads of 3, 3, 3 and 1 items, each page what of them passed the filter.
    assert [page for page, _ in got] == [["A#01"], ["A#03"], ["B#01", "B#03"], []]
    assert [last for _, last in got][:3] == [{"pk": {"S": "STOCK#S"}, "sk": {"S": sk}} for sk in ("A#02", "B#00",
                                                                                                "B#03")]


# ------------------------------------------------------------------ indexes


def order_item(n: int, channel: str, status: str | None, month: str = "2026-11") -> dict:
    created = f"{month}-{10 + n:02d}T09:00:00+00:00#o-{n}"
    item = {"pk": f"ORDER#o-{n}", "sk": "ORDER", "gsi1pk": f"CHANNEL#{channel}", "gsi1sk": created, "n": n,
            "status": "OLD" if n < 4 else "NEW", "doc": "x" * 10}
    if status is not None:
        item.update(gsi2pk=f"STATUS#{status}", gsi2sk=created)
    return item


def numbers(items) -> list[int]:
    """The orders' numbers, from their keys: the order indexes project no `n`."""
    return [int(i["pk"].rsplit("-", 1)[1]) for i in items]


@pytest.fixture
def orders(store):
    store.transact([Put(order_item(n, "web" if n % 2 else "app", "BACKORDERED" if n < 4 else None))
                    for n in range(8)])
    return store


def test_an_index_is_queried_by_its_own_keys_in_its_sort_order(orders):
    web = query(orders, KeyQuery("CHANNEL#web", index="gsi1"))
    assert numbers(web) == [1, 3, 5, 7]
    assert numbers(query(orders, KeyQuery("CHANNEL#web", index="gsi1"), forward=False)) == [7, 5, 3, 1]
    ranged = query(orders, KeyQuery("CHANNEL#app", SortRange("<", "2026-11-14"), index="gsi1"))
    assert numbers(ranged) == [0, 2]
    assert numbers(orders.query_all(KeyQuery("CHANNEL#web", index="gsi1"), where=eq("status", "NEW"))) == [5, 7]


def test_an_include_index_projects_the_keys_and_its_attributes(orders):
    """gsi1 projects `status` beside the keys (infra/wiring.py TABLE): never the document."""
    first = query(orders, KeyQuery("CHANNEL#web", index="gsi1"))[0]
    item = order_item(1, "web", "BACKORDERED")
    assert first == {k: item[k] for k in ("pk", "sk", "gsi1pk", "gsi1sk", "status")}


def test_a_sparse_index_holds_only_items_with_its_keys(orders):
    backordered = query(orders, KeyQuery("STATUS#BACKORDERED", index="gsi2"))
    assert numbers(backordered) == [0, 1, 2, 3]  # items without gsi2pk/gsi2sk are not in it
    # Removing an item's index keys takes it out of the index.
    orders.write(Patch("ORDER#o-0", "ORDER", Changes(remove=("gsi2pk", "gsi2sk"))))
    assert numbers(query(orders, KeyQuery("STATUS#BACKORDERED", index="gsi2"))) == [1, 2, 3]
    assert query(orders, KeyQuery("MONTH#2026-11", index="gsi3")) == []


def test_index_pages_carry_the_index_and_table_keys(orders):
    got = pages(orders, KeyQuery("CHANNEL#web", index="gsi1"), 3)
    assert [page for page, _ in got[:2]] == [["ORDER"] * 3, ["ORDER"]]
    first_last = got[0][1]
    assert first_last == {"pk": {"S": "ORDER#o-5"}, "sk": {"S": "ORDER"}, "gsi1pk": {"S": "CHANNEL#web"},
                          "gsi1sk": {"S": order_item(5, "web", None)["gsi1sk"]}}
    backwards = pages(orders, KeyQuery("CHANNEL#web", index="gsi1"), 2, forward=False)
    items, _ = orders.query(KeyQuery("CHANNEL#web", index="gsi1"), limit=2, start_key=backwards[0][1],
                            forward=False)
    assert numbers(items) == [3, 1]


def test_a_keys_only_index_projects_the_keys_alone(store):
    store.transact([Put({"pk": f"STOCK#S{n}", "sk": "LOC#BER", "gsi4pk": "STOCK_LEVELS#03", "gsi4sk": f"S{n}#BER",
                         "on_hand": 5, "doc": "x"}) for n in range(3)]
                   + [Put({"pk": "STOCK#S9", "sk": "RES#BER#o-1", "quantity": 1})])

    items, last = store.query(KeyQuery("STOCK_LEVELS#03", index="gsi4"), limit=2)

    assert items == [{"pk": f"STOCK#S{n}", "sk": "LOC#BER", "gsi4pk": "STOCK_LEVELS#03", "gsi4sk": f"S{n}#BER"}
                     for n in range(2)]
    assert last == {"pk": {"S": "STOCK#S1"}, "sk": {"S": "LOC#BER"}, "gsi4pk": {"S": "STOCK_LEVELS#03"},
                    "gsi4sk": {"S": "S1#BER"}}
    rest, _ = store.query(KeyQuery("STOCK_LEVELS#03", index="gsi4"), limit=2, start_key=last)
    assert [i["gsi4sk"] for i in rest] == ["S2#BER"] and set(rest[0]) == {"pk", "sk", "gsi4pk", "gsi4sk"}
    assert [i["gsi4sk"] for i in store.query_all(KeyQuery("STOCK_LEVELS#03", SortRange.prefix("S1"), index="gsi4"))
            ] == ["S1#BER"]


def test_a_batch_write_puts_and_deletes_without_conditions(store):
    store.transact([Put({"pk": "B#1", "sk": "X", "n": 1}), Put({"pk": "B#2", "sk": "X", "n": 2})])
    store.batch_write([Put({"pk": f"B#{n}", "sk": "Y", "n": n}) for n in range(30)] + [Delete("B#1", "X")])
    assert store.get("B#1", "X") is None and store.get("B#2", "X") == {"pk": "B#2", "sk": "X", "n": 2}
    assert len(store.batch_get([(f"B#{n}", "Y") for n in range(30)])) == 30  # more than 25: sent in parts
    with pytest.raises(InvalidTransaction):
        store.batch_write([Put({"pk": "B#3", "sk": "X"}, when=NEW)])
