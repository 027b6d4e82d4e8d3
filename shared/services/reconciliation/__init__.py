"""Scheduled reconciliation: the system heals itself and says what it fixed.

One pass walks these steps in order; a run does as much of a pass as its budget allows
(runner.py: the lease, the checkpoint, the budget and the run's report):

1. `expire_holds` (expire_holds.py): orders ON_HOLD for AWAITING_PAYMENT longer than the unpaid
   limit are cancelled. `expire_pickups` (expire_pickups.py): click-and-collect orders
   READY_FOR_PICKUP longer than the pickup limit are cancelled through the ordinary cancel.
   `pending_refunds` (pending_refunds.py): a return's refund claimed more than 5 minutes ago and
   still PENDING (its call died) is finished through `refund_return`, under the same provider key.
2. `drift` (drift.py): every stock level's `reserved` is recounted from its reservation records
   and repaired under the level's version, with an audit record and StockDriftRepaired.
3. `backorders` (backorders.py): orders waiting for stock, oldest first, are allocated again when
   one of their SKUs has something available somewhere.
4. `silent_shipments` (silent_shipments.py): shipments without tracking news are polled at their
   carrier, and flagged as an open exception if still silent.
5. `stuck_orders` (stuck_orders.py): an order past its status's SLA raises OrderStuck and an open
   exception, once per stay.
6. `aging_authorizations` (aging_authorizations.py): a card authorisation open longer than the
   limit and not fully captured is listed as an open exception (AUTHORIZATION_AGING), once per
   authorisation, with re-authorisation suggested.
7. `exceptions` (exceptions.py) then closes the open exceptions whose cause is gone (an aging
   authorisation: captured or released).

`run_reconciliation` is the functions' entry (the schedule and POST /admin/reconcile): one run, its
metrics (report.py: one per count of the report) and its log line. listing.py is the operator's
list of open exceptions. The rules and the settings are shared/domain/reconciliation.py.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.services.reconciliation.context import CHECKPOINT_EVERY, Budget, Tracker
    from shared.services.reconciliation.drift import repair_level
    from shared.services.reconciliation.listing import OpenException, list_exceptions
    from shared.services.reconciliation.report import RunReport, metric_name, metric_names, publish_metrics
    from shared.services.reconciliation.runner import STEPS, config, reconcile, run_reconciliation
    from shared.services.reconciliation.silent_shipments import carrier_tracker
    from shared.services.reconciliation.steps import Step

# Each name loads its own module on first use (PEP 562), not all of them with the package: admin-api's
# list of open exceptions (listing.py) and the run's report need none of the run's machinery (the
# steps, the repositories and domains they walk), which its cold start would otherwise import.
_WHERE = {
    "CHECKPOINT_EVERY": "context", "Budget": "context", "Tracker": "context", "repair_level": "drift",
    "OpenException": "listing", "list_exceptions": "listing", "RunReport": "report", "metric_name": "report",
    "metric_names": "report", "publish_metrics": "report", "STEPS": "runner", "config": "runner",
    "reconcile": "runner", "run_reconciliation": "runner", "carrier_tracker": "silent_shipments", "Step": "steps",
}

__all__ = ["CHECKPOINT_EVERY", "STEPS", "Budget", "OpenException", "RunReport", "Step", "Tracker", "carrier_tracker",
           "config", "list_exceptions", "metric_name", "metric_names", "publish_metrics", "reconcile",
           "repair_level", "run_reconciliation"]


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    globals()[name] = value
    return value
