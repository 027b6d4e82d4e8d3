"""The invariant checker: reads the whole table and reports every breach of PRODUCT.md's invariants.

    from bench.invariants import check, load, scan_table
    report = check(load(scan_table(dynamodb_client, "oms")), Expectations(...))
    report.violations          # [Violation(invariant, subject, detail), ...]
    report.by_invariant()      # {name: count}, every invariant checked (0 when it holds)

Each invariant is a rule over a `Snapshot` of the table (bench/invariants/snapshot.py), registered
with its name and one line saying what it holds (`INVARIANTS`); rules that need more than the table
(the stock before the run, the payment provider's books, the customer messages, the clients' 2xx
answers) are skipped when the `Expectations` lack it. tests/unit/test_invariants.py builds a small
table through the real use cases, breaks each invariant on purpose and sees it reported.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from bench.invariants import clients, events, money, orders, stock  # noqa: F401 - they register their rules
from bench.invariants.core import REGISTRY, Acknowledged, Expectations, Invariant, Violation
from bench.invariants.snapshot import Snapshot, load, scan_table

_TOPICS = ("stock", "orders", "events", "money", "clients")  # the order the report lists them in
INVARIANTS: tuple[Invariant, ...] = tuple(sorted(REGISTRY, key=lambda inv: _TOPICS.index(inv.rule.__module__.rsplit(".", 1)[1])))


@dataclass
class Report:
    checked: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)

    def by_invariant(self) -> Counter[str]:
        counts: Counter[str] = Counter({name: 0 for name in self.checked})
        counts.update(v.invariant for v in self.violations)
        return counts

    def of(self, name: str) -> list[Violation]:
        return [v for v in self.violations if v.invariant == name]


def check(snap: Snapshot, expectations: Expectations | None = None, only: set[str] | None = None) -> Report:
    exp = expectations or Expectations()
    report = Report()
    for inv in INVARIANTS:
        if only is not None and inv.name not in only:
            continue
        if inv.needs is not None and getattr(exp, inv.needs) is None:
            report.skipped.append(inv.name)
            continue
        report.checked.append(inv.name)
        report.violations.extend(inv.rule(snap, exp))
    for pk, sk, why in snap.unreadable:
        report.violations.append(Violation("readable_items", f"{pk} {sk}", why))
    if "readable_items" not in report.checked:
        report.checked.append("readable_items")
    return report


__all__ = ["INVARIANTS", "Acknowledged", "Expectations", "Report", "Snapshot", "Violation", "check", "load",
           "scan_table"]
