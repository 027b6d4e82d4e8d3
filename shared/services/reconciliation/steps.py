"""The steps of a reconciliation pass. Their own module so that the run's report (report.py), which
admin-api answers with, does not import the run's machinery (context.py and the repositories and
domains it walks): a GET of the open exceptions loads none of it."""

from __future__ import annotations

from enum import StrEnum


class Step(StrEnum):
    """The steps of a pass, in the order a pass walks them (the checkpoint names one)."""

    EXPIRE_HOLDS = "expire_holds"
    EXPIRE_PICKUPS = "expire_pickups"
    PENDING_REFUNDS = "pending_refunds"
    DRIFT = "drift"
    BACKORDERS = "backorders"
    SILENT_SHIPMENTS = "silent_shipments"
    STUCK_ORDERS = "stuck_orders"
    AGING_AUTHORIZATIONS = "aging_authorizations"
    EXCEPTIONS = "exceptions"
