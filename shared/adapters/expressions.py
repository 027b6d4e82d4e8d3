"""Conditions, updates and key ranges as data, so one repository statement runs on two stores.

The DynamoDB store renders them into expression strings; the in-memory store evaluates them on
its items. Written by hand because no library offers DynamoDB's expression semantics as plain
data outside boto3's resource layer (which the functions do not load: cold start) and moto (a test
dependency, never shipped). Only what the repositories use is here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Comparator = Literal["=", "<>", "<", "<=", ">", ">="]


class Cond:
    """A condition on one item's attributes. Combine with `&` and `|`."""

    def __and__(self, other: Cond) -> Cond:
        return All((self, other))

    def __or__(self, other: Cond) -> Cond:
        return AnyOf((self, other))


@dataclass(frozen=True)
class Exists(Cond):
    attr: str = "pk"


@dataclass(frozen=True)
class Missing(Cond):
    attr: str = "pk"


@dataclass(frozen=True)
class Compare(Cond):
    attr: str
    op: Comparator
    value: Any


@dataclass(frozen=True)
class Contains(Cond):
    attr: str
    value: Any


@dataclass(frozen=True)
class All(Cond):
    parts: tuple[Cond, ...]


@dataclass(frozen=True)
class AnyOf(Cond):
    parts: tuple[Cond, ...]


def eq(attr: str, value: Any) -> Compare:
    return Compare(attr, "=", value)


def ne(attr: str, value: Any) -> Compare:
    return Compare(attr, "<>", value)


def ge(attr: str, value: Any) -> Compare:
    return Compare(attr, ">=", value)


def lt(attr: str, value: Any) -> Compare:
    return Compare(attr, "<", value)


NEW = Missing("pk")        # the item does not exist yet
PRESENT = Exists("pk")     # the item exists


@dataclass(frozen=True)
class Changes:
    """An update: attributes set to values, numbers added to (created when absent), attributes removed."""

    set: Mapping[str, Any] = field(default_factory=dict)
    add: Mapping[str, int] = field(default_factory=dict)
    remove: tuple[str, ...] = ()


@dataclass(frozen=True)
class SortRange:
    """A condition on the sort key of a query: begins_with, between (inclusive), or one comparison."""

    op: Literal["begins_with", "between", "=", "<", "<=", ">", ">="]
    value: str
    upper: str | None = None  # for between

    @classmethod
    def prefix(cls, value: str) -> SortRange:
        return cls("begins_with", value)

    @classmethod
    def between(cls, low: str, high: str) -> SortRange:
        return cls("between", low, high)


@dataclass(frozen=True)
class KeyQuery:
    """Items of one partition (of the table, or of an index), optionally a range of its sort key."""

    partition: str
    sort: SortRange | None = None
    index: str | None = None


# --------------------------------------------------------------------- writes a transaction holds

Item = dict[str, Any]
# What a refused condition means, decided by the repository that wrote it: given the item as it
# was (None when absent), the named outcome. See shared/unit_of_work.py.
Refusal = Callable[[Item | None], Any]


@dataclass(frozen=True)
class Put:
    item: Item
    when: Cond | None = None
    refused: Refusal | None = None

    @property
    def key(self) -> tuple[str, str]:
        return self.item["pk"], self.item["sk"]


@dataclass(frozen=True)
class Patch:
    pk: str
    sk: str
    changes: Changes
    when: Cond | None = None
    refused: Refusal | None = None

    @property
    def key(self) -> tuple[str, str]:
        return self.pk, self.sk


@dataclass(frozen=True)
class Check:
    pk: str
    sk: str
    when: Cond
    refused: Refusal | None = None

    @property
    def key(self) -> tuple[str, str]:
        return self.pk, self.sk


@dataclass(frozen=True)
class Delete:
    pk: str
    sk: str
    when: Cond | None = None
    refused: Refusal | None = None

    @property
    def key(self) -> tuple[str, str]:
        return self.pk, self.sk


Write = Put | Patch | Check | Delete
