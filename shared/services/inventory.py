"""Locations and stock: set absolutely, adjust by deltas (idempotent), import CSV, read."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from pydantic import ValidationError

from shared.adapters.expressions import Write
from shared.domain.locations import Location, LocationRequest
from shared.domain.stock import Adjustment, SetStockRequest, StockLevel, StockRow
from shared.errors import Busy, Conflict, InvalidInput, NotFound, OmsError
from shared.repositories import Repositories
from shared.unit_of_work import AlreadyApplied, CommitFailed, Refused

if TYPE_CHECKING:
    from shared.domain.events import DomainEvent

ATTEMPTS = 6
MAX_IMPORT_ROWS = 1000


def put_location(location_id: str, request: LocationRequest, by: str, repos: Repositories,
                 now: datetime) -> Location:
    """Create or replace a location; the write and its LocationChanged event in one transaction. `by`: the
    caller's principal name (`operator` or `user:<username>`), kept as who last changed it."""
    # Imported by the writes that publish: a stock or location read loads no event model (cold start).
    from shared.domain.events import LocationChanged

    location = Location(location_id=location_id, updated_at=now, updated_by=by, **request.model_dump())
    event = LocationChanged(
        occurred_at=now, location_id=location_id, created=repos.locations.get(location_id) is None,
        active=location.active, ships_to=location.ships_to, pickup_enabled=location.pickup_enabled,
        daily_order_capacity=location.daily_order_capacity, by=by,
    )
    repos.commit(repos.locations.put(location), repos.events.publish(event))
    return location


def _require_location(location_id: str, repos: Repositories) -> None:
    if repos.locations.get(location_id) is None:
        raise NotFound(f"location {location_id} does not exist; create it with PUT /locations/{location_id}",
                       field="location_id")


def set_stock(sku: str, location_id: str, request: SetStockRequest, repos: Repositories, now: datetime,
              cause: str = "set", check_location: bool = True, *, by: str | None = None) -> StockLevel:
    """`by`: the caller's principal name, recorded on the level and its StockChanged; None for the system."""
    if check_location:
        _require_location(location_id, repos)
    for _ in range(ATTEMPTS):
        current = repos.stock.level(sku, location_id)
        before = current or StockLevel(sku=sku, location_id=location_id)
        if request.expected_on_hand is not None and before.on_hand != request.expected_on_hand:
            raise Conflict(f"on hand is {before.on_hand}, not the expected {request.expected_on_hand}",
                           field="expected_on_hand")
        safety = before.safety_stock if request.safety_stock is None else request.safety_stock
        after = before.with_counts(request.on_hand, safety, now, by)
        if request.low_stock_threshold is not None:
            after.low_stock_threshold = request.low_stock_threshold
        if request.buckets is not None:
            if request.buckets < (before.buckets or 0):
                # Units reserved on a bucket go back to it: buckets are added, never taken away.
                raise Conflict(f"the level has {before.buckets} buckets; their number can grow, not shrink",
                               field="buckets")
            after.buckets = request.buckets
        try:
            _write(before, after, current is not None, cause, [], repos, now, by)
            return after
        except CommitFailed:
            continue  # a reservation or another write moved the level: recompute from a fresh read
    raise Busy("the stock level is changing too fast; retry")


@dataclass
class AdjustmentResult:
    adjustment_id: str
    level: StockLevel | None
    duplicate: bool = False
    error: OmsError | None = None

    @property
    def outcome(self) -> Literal["applied", "duplicate", "rejected"]:
        return "rejected" if self.error else "duplicate" if self.duplicate else "applied"


def adjust_stock_batch(adjustments: list[Adjustment], repos: Repositories, now: datetime, *, by: str | None = None
                       ) -> list[AdjustmentResult]:
    """Each adjustment stands alone: a refused one is reported and the others still apply."""
    results = []
    known = {loc.location_id for loc in repos.locations.all()}
    for n, adj in enumerate(adjustments):
        try:
            if adj.location_id not in known:
                raise NotFound(f"location {adj.location_id} does not exist", field="location_id")
            results.append(adjust_stock(adj, repos, now, check_location=False, by=by))
        except OmsError as refused:
            refused.field = f"adjustments.{n}.{refused.field or 'adjustment_id'}"
            results.append(AdjustmentResult(adj.adjustment_id, None, error=refused))
    return results


def adjust_stock(adj: Adjustment, repos: Repositories, now: datetime, check_location: bool = True, *,
                 by: str | None = None) -> AdjustmentResult:
    """Apply a delta once per adjustment id: the id is written in the same transaction as the stock."""
    if check_location:
        _require_location(adj.location_id, repos)
    fingerprint = adj.model_dump_json()
    for _ in range(ATTEMPTS):
        current = repos.stock.level(adj.sku, adj.location_id)
        before = current or StockLevel(sku=adj.sku, location_id=adj.location_id)
        if before.on_hand + adj.delta < 0:
            # A retry of an adjustment that took the stock to zero must hear "duplicate", not
            # "rejected" (a client would then resend under a new id): the id first.
            applied = repos.stock.applied_adjustment(adj.adjustment_id)
            if applied is not None:
                return _duplicate(adj, fingerprint, applied.fingerprint, applied.level)
            raise InvalidInput(f"on hand is {before.on_hand}; a delta of {adj.delta} would take it below zero",
                               field="delta")
        after = before.with_counts(before.on_hand + adj.delta, before.safety_stock, now, by)
        claim = repos.stock.claim_adjustment(adj, fingerprint, after, now, by)
        try:
            _write(before, after, current is not None, f"adjustment:{adj.reason.value}", [claim], repos, now, by)
            return AdjustmentResult(adj.adjustment_id, after)
        except Refused as refused:
            if (done := refused.find(AlreadyApplied)) is not None:
                first = done.record or repos.stock.applied_adjustment(adj.adjustment_id)
                if first is not None:
                    return _duplicate(adj, fingerprint, first.fingerprint, first.level)
        except CommitFailed:
            pass
    raise Busy("the stock level is changing too fast; retry")


def _duplicate(adj: Adjustment, fingerprint: str, first_fingerprint: str, level: StockLevel) -> AdjustmentResult:
    """The same adjustment again answers what it did the first time; the same id for another is a conflict."""
    if first_fingerprint != fingerprint:
        raise Conflict(f"adjustment_id {adj.adjustment_id} was already used for a different adjustment",
                       field="adjustment_id")
    return AdjustmentResult(adj.adjustment_id, level, True)


def _write(before: StockLevel, after: StockLevel, exists: bool, cause: str, extra: list,
           repos: Repositories, now: datetime, by: str | None) -> None:
    repos.commit(stock_change_writes(before, after, exists, cause, repos, now, by), extra)


def stock_change_writes(before: StockLevel, after: StockLevel, exists: bool, cause: str, repos: Repositories,
                        now: datetime, by: str | None = None) -> list[Write]:
    """A level written under the version read (new when it did not exist), with its StockChanged (and
    StockLow on the crossing below its threshold): for a caller's transaction."""
    from shared.domain.events import StockChanged, StockLow  # as in put_location

    events: list[DomainEvent] = [StockChanged(
        occurred_at=now, sku=after.sku, location_id=after.location_id, cause=cause, on_hand=after.on_hand,
        reserved=after.reserved, safety_stock=after.safety_stock, available=after.available,
        available_before=before.available, available_increased=after.available > before.available, by=by,
    )]
    if after.available <= after.low_stock_threshold < before.available:
        events.append(StockLow(occurred_at=now, sku=after.sku, location_id=after.location_id,
                               available=after.available, threshold=after.low_stock_threshold))
    return [*repos.stock.write_counts(after, before.version if exists else None), *repos.events.publish_all(events)]


def restock_writes(units: dict[str, int], location_id: str, cause: str, by: str, repos: Repositories,
                   now: datetime) -> list[Write]:
    """On hand up by `units` at one location (counted by `by`, who received them): each level read in
    one batch and written under the version read (StockMoved if it moved meanwhile: the caller's
    transaction is tried again on a fresh read), with its StockChanged. Units of 0 or less move nothing."""
    wanted = {sku: quantity for sku, quantity in units.items() if quantity > 0}
    found = repos.stock.levels((sku, location_id) for sku in wanted)
    writes: list[Write] = []
    for sku, quantity in sorted(wanted.items()):
        current = found.get((sku, location_id))
        before = current or StockLevel(sku=sku, location_id=location_id)
        after = before.with_counts(before.on_hand + quantity, before.safety_stock, now, by)
        writes.extend(stock_change_writes(before, after, current is not None, cause, repos, now, by))
    return writes


@dataclass
class ImportResult:
    imported: int = 0
    errors: list[dict] = field(default_factory=list)


def import_stock_csv(text: str, repos: Repositories, now: datetime, *, by: str | None = None) -> ImportResult:
    """`sku,location_id,on_hand[,safety_stock]` rows; good rows are applied, bad rows reported. Lines
    may end in CRLF, LF or a bare CR (spreadsheets on old Macs): newline=None reads them all as one."""
    try:
        rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=None)))
    except csv.Error as unreadable:
        raise InvalidInput(f"the CSV could not be read: {unreadable}", field="body") from None
    if rows and [c.strip().lower() for c in rows[0][:3]] == ["sku", "location_id", "on_hand"]:
        rows = rows[1:]
        first = 2
    else:
        first = 1
    if len(rows) > MAX_IMPORT_ROWS:
        raise InvalidInput(f"at most {MAX_IMPORT_ROWS} rows per import; split the file", field="body")
    known = {loc.location_id for loc in repos.locations.all()}
    result = ImportResult()
    for number, row in enumerate(rows, start=first):
        if not any(cell.strip() for cell in row):
            continue
        try:
            sku, location_id, request = _parse_row(row)
        except InvalidInput as bad:
            result.errors.append({"row": number, "field": bad.field, "problem": bad.message})
            continue
        if location_id not in known:
            result.errors.append({"row": number, "field": "location_id", "problem": f"unknown location {location_id}"})
            continue
        try:
            set_stock(sku, location_id, request, repos, now, cause="import", check_location=False, by=by)
            result.imported += 1
        except (Busy, Conflict) as failed:
            result.errors.append({"row": number, "field": failed.field, "problem": failed.message})
    return result


def _parse_row(row: list[str]) -> tuple[str, str, SetStockRequest]:
    if len(row) not in (3, 4):
        raise InvalidInput(f"expected 3 or 4 columns, found {len(row)}", field="row")
    data = dict(zip(("sku", "location_id", "on_hand", "safety_stock"), (c.strip() for c in row), strict=False))
    if not data.get("safety_stock"):
        data.pop("safety_stock", None)
    try:
        parsed = StockRow.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        raise InvalidInput(err["msg"], field=str(err["loc"][0])) from None
    return parsed.sku, parsed.location_id, SetStockRequest(on_hand=parsed.on_hand, safety_stock=parsed.safety_stock)


def stock_for_sku(sku: str, repos: Repositories) -> list[StockLevel]:
    levels = repos.stock.levels_for_sku(sku)
    if not levels:
        raise NotFound(f"no stock recorded for SKU {sku}", field="sku")
    return levels
