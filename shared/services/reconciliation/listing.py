"""The operator's list of open exceptions (GET /admin/exceptions): what, why, since when, and what
to do about it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.domain.exception_records import ExceptionKind
from shared.repositories import Repositories


@dataclass(frozen=True)
class OpenException:
    kind: ExceptionKind
    subject: str
    order_id: str | None
    status: str | None
    reason: str
    suggested_action: str
    since: datetime
    raised_at: datetime
    age_minutes: int


def list_exceptions(repos: Repositories, now: datetime, limit: int, cursor: str | None,
                    kind: ExceptionKind | None = None) -> tuple[list[OpenException], str | None]:
    """Every open exception, or those of one kind (the console's "stuck only": STUCK_ORDER)."""
    records, next_cursor = repos.reconciliation.exceptions_page(limit, cursor, kind)
    found = [OpenException(kind=r.kind, subject=r.subject, order_id=r.order_id, status=r.status, reason=r.reason,
                           suggested_action=r.suggested_action, since=r.since, raised_at=r.raised_at,
                           age_minutes=r.age_minutes(now))
             for r in records]
    return found, next_cursor
