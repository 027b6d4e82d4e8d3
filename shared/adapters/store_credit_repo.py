"""Store credit: a ledger per customer and currency. The only module that knows its keys.

Customer ids are the channels' own (`customer.id` of an order), so a ledger belongs to a channel's
customer: the same id on another channel is another person.

- balance: pk=STORE_CREDIT#<channel>#<customer id>, sk=BALANCE#<currency>, `balance` in minor units
- entries: pk=STORE_CREDIT#<channel>#<customer id>, sk=ENTRY#<entry id>: amount (minor units,
  negative for a spend), currency, when, what for

An entry and its change to the balance are one transaction, and the entry is written only if its
id is new: a retried credit or spend moves the balance once. A spend is conditioned on the balance
covering it, so two orders racing for the same credit cannot both spend it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from shared.adapters.expressions import NEW, Changes, KeyQuery, Patch, Put, SortRange, ge
from shared.domain.money import from_minor, to_minor
from shared.unit_of_work import AlreadyApplied, Outcome, Store


def ledger_pk(channel: str, customer_id: str) -> str:
    return f"STORE_CREDIT#{channel}#{customer_id}"


@dataclass(frozen=True)
class CreditShort(Outcome):
    """The customer's store credit does not cover a spend."""

    channel: str
    customer_id: str
    currency: str


@dataclass(frozen=True)
class LedgerEntry:
    entry_id: str
    amount: Decimal           # negative for a spend
    currency: str
    at: str
    order_id: str | None
    rma_id: str | None
    note: str | None


class StoreCreditRepository:
    def __init__(self, store: Store):
        self.store = store

    def balances(self, channel: str, customer_id: str) -> dict[str, Decimal]:
        items, _ = self.store.query(KeyQuery(ledger_pk(channel, customer_id), SortRange.prefix("BALANCE#")), limit=100)
        return {i["sk"].removeprefix("BALANCE#"): from_minor(int(i["balance"]), i["sk"].removeprefix("BALANCE#"))
                for i in items}

    def entries(self, channel: str, customer_id: str, limit: int = 100) -> list[LedgerEntry]:
        items, _ = self.store.query(KeyQuery(ledger_pk(channel, customer_id), SortRange.prefix("ENTRY#")), limit=limit)
        out = [LedgerEntry(i["sk"].removeprefix("ENTRY#"), from_minor(int(i["amount"]), i["currency"]),
                           i["currency"], i["at"], i.get("order_id"), i.get("rma_id"), i.get("note")) for i in items]
        return sorted(out, key=lambda e: (e.at, e.entry_id))

    def entry(self, channel: str, customer_id: str, entry_id: str) -> LedgerEntry | None:
        return next((e for e in self.entries(channel, customer_id, 1000) if e.entry_id == entry_id), None)

    def passed_through(self, channel: str, customer_id: str, reference: str, amount: Decimal, currency: str,
                       at: datetime, *, order_id: str) -> list[Put]:
        """Credit given and spent at once (a return's value paying its exchange): both entries, new
        only (`given-<reference>`, `order-<reference>`), and the balance as it was."""
        units = to_minor(amount, currency)
        base = {"pk": ledger_pk(channel, customer_id), "currency": currency, "at": at.isoformat(), "order_id": order_id}
        def entry(entry_id: str, n: int, note: str) -> Put:
            return Put(base | {"sk": f"ENTRY#{entry_id}", "amount": n, "note": note}, when=NEW,
                       refused=lambda _old: AlreadyApplied(entry_id))

        return [entry(f"given-{reference}", units, "returned value, for an exchange"),
                entry(f"order-{reference}", -units, "paid the exchange")]

    def move(self, channel: str, customer_id: str, entry_id: str, amount: Decimal, currency: str, at: datetime, *,
             order_id: str | None = None, rma_id: str | None = None, note: str | None = None
             ) -> list[Patch | Put]:
        """Credit (amount > 0) or spend (amount < 0) once per entry id: AlreadyApplied when the entry
        was written before, CreditShort when a spend is more than the balance."""
        units = to_minor(amount, currency)
        entry = {"pk": ledger_pk(channel, customer_id), "sk": f"ENTRY#{entry_id}", "amount": units, "currency": currency,
                 "at": at.isoformat()}
        entry |= {k: v for k, v in (("order_id", order_id), ("rma_id", rma_id), ("note", note)) if v}
        balance = Patch(ledger_pk(channel, customer_id), f"BALANCE#{currency}", Changes(add={"balance": units}),
                        when=ge("balance", -units) if units < 0 else None,
                        refused=lambda _old: CreditShort(channel, customer_id, currency))
        return [Put(entry, when=NEW, refused=lambda _old: AlreadyApplied(entry_id)), balance]

