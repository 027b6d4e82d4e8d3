"""What every rule shares: a violation, what a run expects beyond the table, the registry of rules."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from bench.invariants.snapshot import Snapshot


@dataclass(frozen=True)
class Violation:
    invariant: str
    subject: str  # the item it is about: an order id, "sku@location", a series...
    detail: str


@dataclass
class Acknowledged:
    """Writes the soak's clients were answered 2xx for: each must be in the table afterwards."""

    captures: dict[tuple[str, str], str] = field(default_factory=dict)  # (channel, channel order id) -> order id
    cancels: set[str] = field(default_factory=set)  # whole-order cancellations
    line_cancels: set[tuple[str, str]] = field(default_factory=set)  # (order id, cancellation id)
    shipments: set[str] = field(default_factory=set)
    adjustments: set[str] = field(default_factory=set)
    returns: set[str] = field(default_factory=set)  # rma ids
    receipts: set[tuple[str, str]] = field(default_factory=set)  # (rma id, receipt id)
    refunds: set[str] = field(default_factory=set)  # rma ids answered with nothing left to refund
    webhooks: set[tuple[str, str]] = field(default_factory=set)  # (tracking code, provider event id) answered 202
    payment_events: set[tuple[str, str]] = field(default_factory=set)  # (order id, provider event id) answered 200


@dataclass
class Expectations:
    """What the checker may know beyond the table (all optional): the stock on hand before the run
    (then on hand is conserved), the sandbox provider's intents (then its money must match the
    orders'), the customer messages written (file names in the local outbox), the clients' answers,
    and what the clients saw that the table cannot show (`observed`: invariant -> violations)."""

    baseline_on_hand: dict[tuple[str, str], int] | None = None
    baseline_at: datetime | None = None
    provider_intents: dict[str, tuple[Decimal, Decimal]] | None = None  # intent id -> (received, refunded)
    messages: list[str] | None = None
    # Idempotency record keys (sk) of messages sent whose record of the send was then not written:
    # at least once is all a sender outside the transaction can promise there (their duplicates are
    # counted apart, not as violations).
    unrecorded_sends: set[str] = field(default_factory=set)
    acknowledged: Acknowledged | None = None
    observed: dict[str, list[Violation]] = field(default_factory=dict)


Rule = Callable[[Snapshot, Expectations], Iterator[Violation]]


@dataclass(frozen=True)
class Invariant:
    name: str
    description: str
    rule: Rule
    needs: str | None = None  # the Expectations field it needs; skipped without it


REGISTRY: list[Invariant] = []


def invariant(name: str, description: str, needs: str | None = None) -> Callable[[Rule], Rule]:
    def register(rule: Rule) -> Rule:
        REGISTRY.append(Invariant(name, description, rule, needs))
        return rule

    return register
