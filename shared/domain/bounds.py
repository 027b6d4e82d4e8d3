"""Bounds that every value a caller sends is held to, so that what we accept also fits where it goes:
date arithmetic, DynamoDB keys and items, the queue.

Times: any instant between 1000-01-01T00:00:00Z and 9998-12-31T23:59:59.999999Z, with whatever
offset it was written in. Python's datetime ends at year 9999 and starts at year 1: without the
bound, `9999-12-31T23:59:59-14:00` or `0001-01-01T00:00:00+14:00` parse, and only converting them
to UTC (or adding a day) raises OverflowError, a 500 long after validation. Naive times (query
parameters, carriers that send none) are UTC.

Numbers: where JSON carries a number, only a JSON number is one. Pydantic's lax mode reads `true`
as 1 and `"5"` as 5; a channel sending `"quantity": true` has a bug we should tell it about.

Stored documents: these checks are for what arrives. The same models are also the documents we
keep (an Order embeds its OrderRequest), and what an earlier version accepted and stored must still
load after a check is tightened. Repositories read with `context=STORED`; the checks that only
guard input (time bounds here, plain decimal text in shared/domain/money.py) pass a stored value
through. (Strict numbers need no exemption: we always wrote JSON numbers and booleans.)
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, Field, Strict, ValidationInfo

EARLIEST = datetime(1000, 1, 1, tzinfo=UTC)
LATEST = datetime(9998, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
RANGE = "between 1000-01-01T00:00:00Z and 9998-12-31T23:59:59Z"

STORED: dict[str, Any] = {"stored": True}
"""Validation context for a document we stored: `Model.model_validate_json(doc, context=STORED)`."""


def is_stored(info: ValidationInfo) -> bool:
    """Whether this validation reads a stored document (input checks then let the value through)."""
    return isinstance(info.context, dict) and info.context.get("stored") is True


def _in_range(moment: datetime, info: ValidationInfo) -> datetime:
    if is_stored(info):
        return moment
    try:
        utc = moment.replace(tzinfo=UTC) if moment.utcoffset() is None else moment.astimezone(UTC)
    except OverflowError:  # the offset pushes it past year 1 or year 9999
        utc = None
    if utc is None or not EARLIEST <= utc <= LATEST:
        raise ValueError(f"must be {RANGE}")
    return moment


Moment = Annotated[datetime, AfterValidator(_in_range), Field(description=f"ISO 8601, {RANGE}; UTC without an offset")]
"""A time, naive (read as UTC) or with an offset, within the bounds above."""

AwareMoment = Annotated[AwareDatetime, AfterValidator(_in_range), Field(description=f"ISO 8601 with an offset, {RANGE}")]
"""A time with an offset, within the bounds above."""

Integer = Annotated[int, Strict()]
"""A JSON integer: not true, not "5", not 5.0."""

Number = Annotated[float, Strict()]
"""A JSON number (integer or not): not true, not "52.5"."""

Flag = Annotated[bool, Strict()]
"""A JSON true or false: not "yes", not 1."""
