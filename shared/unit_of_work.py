"""The unit of work: what a use case writes, committed together or not at all.

A use case asks repositories for named writes (`repos.orders.save(order, expected)`,
`repos.stock.reserve(...)`, `repos.events.publish(event)`), adds them to a unit of work and commits.
A refused commit raises `Refused`, carrying one named outcome per refused write (`OutOfStock`,
`StaleVersion`, ...). The repository that built a write decides its outcome from the item as the
store found it, so no caller reads failures by position. Contention that a retry may clear
(another transaction on the same items, throttling) raises `Contention`.

Two stores honour the same conditions: DynamoDB (shared/adapters/dynamo.py) and an in-memory one
(shared/adapters/memory.py) for tests that need no emulator; tests/contract runs the same cases on both.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from shared.adapters.expressions import Cond, Delete, Item, KeyQuery, Put, Write
    from shared.adapters.outbox import OutboxPut

MAX_WRITES = 100  # DynamoDB's TransactWriteItems limit, honoured by both stores


# --------------------------------------------------------------------- named outcomes of a refusal

class Outcome:
    """Why one write of a unit of work was refused."""


@dataclass(frozen=True)
class StaleVersion(Outcome):
    """Someone changed the entity since it was read (optimistic concurrency)."""

    entity: str
    entity_id: str


@dataclass(frozen=True)
class AlreadyExists(Outcome):
    """A create found the entity there: a redelivery or a race with another creator."""

    entity: str
    entity_id: str
    existing: Any = None  # what the repository made of the stored item, when it matters


@dataclass(frozen=True)
class AlreadyApplied(Outcome):
    """An idempotency key was claimed before; `record` is what the first claim stored."""

    key: str
    record: Any = None


@dataclass(frozen=True)
class OutOfStock(Outcome):
    sku: str
    location_id: str


@dataclass(frozen=True)
class StockMoved(Outcome):
    """A stock level is no longer as read (its version changed)."""

    sku: str
    location_id: str


@dataclass(frozen=True)
class StockShort(Outcome):
    """Fewer units on hand or reserved than a shipment takes: a count for a person to correct."""

    sku: str
    location_id: str


@dataclass(frozen=True)
class ReservationChanged(Outcome):
    """An order's reservation record at a location no longer holds what was read."""

    sku: str
    location_id: str
    order_id: str


@dataclass(frozen=True)
class CapacityExhausted(Outcome):
    location_id: str


@dataclass(frozen=True)
class OrderClosed(Outcome):
    """The order is cancelled (or gone): nothing more may be attached to it."""

    order_id: str


@dataclass(frozen=True)
class LeaseLost(Outcome):
    """Another reconciliation run holds the lease now."""


@dataclass(frozen=True)
class ConditionFailed(Outcome):
    """A condition without a more specific meaning (the item's key says which)."""

    pk: str
    sk: str


O = TypeVar("O", bound=Outcome)


class CommitFailed(Exception):
    """The unit of work was not committed; nothing of it was written."""


class Refused(CommitFailed):
    """One or more conditions did not hold. `outcomes` names each."""

    def __init__(self, outcomes: list[Outcome]):
        super().__init__(", ".join(repr(o) for o in outcomes))
        self.outcomes = outcomes

    def find(self, kind: type[O]) -> O | None:
        return next((o for o in self.outcomes if isinstance(o, kind)), None)

    def only(self, *kinds: type[Outcome]) -> bool:
        """Every refusal is one of `kinds`."""
        return bool(self.outcomes) and all(isinstance(o, kinds) for o in self.outcomes)


class Contention(CommitFailed):
    """Another transaction held the same items, or the store throttled us: retry on a fresh read.
    `contended`: the writes DynamoDB named as meeting another transaction (TransactionConflict), for
    the repository that built them to say what they were (a hot stock level: StockRepository)."""

    def __init__(self, message: str = "", contended: Sequence[Write] = ()):
        super().__init__(message)
        self.contended = tuple(contended)


class InvalidTransaction(Exception):
    """A unit of work no store accepts (two writes to one item, over 100 writes, an item over
    400 KB, a key too long). Always a bug in the caller: never retried, never a 4xx."""


def refusal_of(write: Write, old: Item | None) -> Outcome:
    if write.refused is not None:
        outcome = write.refused(old)
        if outcome is not None:
            return outcome
    pk, sk = write.key
    return ConditionFailed(pk, sk)


# --------------------------------------------------------------------- the store behind it

class Store(Protocol):
    """An item store with DynamoDB's semantics (shared/adapters/dynamo.py, shared/adapters/memory.py).
    Only repositories use it."""

    def get(self, pk: str, sk: str, consistent: bool = True) -> Item | None: ...

    def batch_get(self, keys: list[tuple[str, str]], consistent: bool = True) -> list[Item]: ...

    def query(self, key: KeyQuery, *, where: Cond | None = None, limit: int | None = None,
              start_key: dict | None = None, forward: bool = True, consistent: bool = False
              ) -> tuple[list[Item], dict | None]: ...

    def query_all(self, key: KeyQuery, *, where: Cond | None = None, forward: bool = True,
                  consistent: bool = False) -> Iterable[Item]: ...

    def transact(self, writes: list[Write]) -> None: ...

    def write(self, write: Write, return_new: bool = False) -> Item | None: ...

    def batch_write(self, writes: list[Put | Delete]) -> None: ...


class UnitOfWork:
    """Writes gathered from repositories, committed in one transaction."""

    def __init__(self, store: Store):
        self._store = store
        self.writes: list[Write] = []
        self._outbox: OutboxPut | None = None  # the transaction's outbox item, once it has one

    def add(self, *writes: Write | Sequence[Write]) -> UnitOfWork:
        for w in writes:
            for one in (w if isinstance(w, Sequence) else (w,)):
                self._append(one)
        return self

    def _append(self, write: Write) -> None:
        # A transaction's events go out as one outbox item, however many places published them
        # (a transaction bills each item by the KB, twice: shared/adapters/outbox.py). Imported
        # here, not above: the outbox module imports this one.
        from shared.adapters.outbox import OutboxPut

        if isinstance(write, OutboxPut):
            if self._outbox is not None:
                at = self.writes.index(self._outbox)
                self._outbox = self.writes[at] = self._outbox.merged(write)
                return
            self._outbox = write
        self.writes.append(write)

    def __len__(self) -> int:
        return len(self.writes)

    def commit(self) -> None:
        """All or nothing: raises Refused (named outcomes) or Contention, and then wrote nothing."""
        self._store.transact(self.writes)
