"""Receiving a return: units counted, inspected and dispositioned, once per receipt.

A receipt restocks or writes off units of the return's lines. Restocked units raise on hand at the
receiving location in the same transaction that records the receipt on the return (conditioned on
the return's version), with the usual StockChanged that releases waiting backorders; a write-off
records its reason and moves no stock. Units beyond what the line still awaits are not received
(the receipt keeps what was asked, flagged); the same receipt id again answers what it did.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, ConfigDict, Field

from shared.domain.identifiers import ExternalId, LocationId, Sku
from shared.domain.principal import Principal
from shared.domain.returns import Condition, Disposition, Receipt, Return, ReturnLine, ReturnStatus
from shared.errors import AccessDenied, Busy, Conflict, InvalidInput
from shared.repositories import Repositories
from shared.services.inventory import restock_writes
from shared.services.returns import get_return
from shared.unit_of_work import CommitFailed

if TYPE_CHECKING:
    from shared.domain.events import DomainEvent

ATTEMPTS = 5
RECEIVABLE = frozenset({ReturnStatus.APPROVED, ReturnStatus.IN_TRANSIT, ReturnStatus.RECEIVED})


class ReceivedLine(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: Sku
    line: Annotated[int, Field(ge=0, description="The order line, when the return has the SKU on more than one")] | None = None
    quantity: Annotated[int, Field(gt=0, le=10_000)]
    condition: Condition
    disposition: Disposition
    note: Annotated[str, Field(min_length=1, max_length=500, description="Why, for a write-off")] | None = None


class ReceiveBody(BaseModel):
    """POST /returns/{rma_id}/receive."""

    model_config = ConfigDict(extra="forbid")
    receipt_id: ExternalId = Field(description="Yours: the same receipt id moves nothing twice")
    location_id: LocationId | None = Field(
        default=None, description="Where the units were received; the return's location when left out")
    # 40 entries keep a receipt's transaction (the return, each restocked level and its StockChanged,
    # an event per entry) within DynamoDB's 100 writes: a bigger delivery is received in several.
    lines: Annotated[list[ReceivedLine], Field(min_length=1, max_length=40)]


def receive_return(rma_id: str, body: ReceiveBody, principal: Principal, repos: Repositories, now: datetime
                   ) -> Return:
    # Imported by the write: returns-api's reads load no event model (cold start).
    from shared.domain.return_events import ReturnInspected, ReturnReceived

    if not principal.is_operator:
        raise AccessDenied("only an operator (the receiving location) receives returns", field="rma_id")
    for _ in range(ATTEMPTS):
        ret = get_return(rma_id, principal, repos)
        if any(r.receipt_id == body.receipt_id for r in ret.receipts):
            return ret  # this receipt moved what it moved the first time
        if ret.status not in RECEIVABLE:
            raise Conflict(f"return {rma_id} is {ret.status.value}: it cannot be received", field="rma_id")
        location_id = body.location_id or ret.location_id
        if location_id is None or repos.locations.get(location_id) is None:
            raise InvalidInput(f"location {location_id} not found", field="location_id")
        expected = ret.version
        receipts: list[Receipt] = []
        restock: dict[str, int] = {}
        for n, asked in enumerate(body.lines):  # one by one: two entries for one line share what it awaits
            r = _receipt(ret, n, asked, body.receipt_id, location_id, principal, now)
            receipts.append(r)
            line = ret.line_of(r.line)
            assert line is not None
            line.received += r.quantity
            if r.disposition is Disposition.RESTOCK:
                line.restocked += r.quantity
                restock[r.sku] = restock.get(r.sku, 0) + r.quantity
            else:
                line.written_off += r.quantity
        ret.receipts.extend(receipts)
        events: list[DomainEvent] = [
            ReturnReceived(occurred_at=now, rma_id=rma_id, order_id=ret.order_id, channel=ret.channel,
                           status=ReturnStatus.RECEIVED.value, receipt_id=body.receipt_id, line=r.line, sku=r.sku,
                           quantity=r.quantity, condition=r.condition.value, disposition=r.disposition.value,
                           location_id=location_id)
            for r in receipts if r.quantity > 0]
        ret.move_to(ReturnStatus.RECEIVED, now, principal.name)
        if ret.all_received:
            ret.move_to(ReturnStatus.INSPECTED, now, principal.name)
            events.append(ReturnInspected(occurred_at=now, rma_id=rma_id, order_id=ret.order_id, channel=ret.channel,
                                          status=ret.status.value))
        ret.version += 1
        try:
            repos.commit(repos.returns.save(ret, expected),
                         restock_writes(restock, location_id, f"return:{rma_id}", principal.name, repos, now),
                         repos.events.publish_all(events))
            return ret
        except CommitFailed:
            continue  # the return or a stock level moved meanwhile: read both again
    raise Busy(f"return {rma_id} is changing too fast; retry")


def _receipt(ret: Return, n: int, asked: ReceivedLine, receipt_id: str, location_id: str, principal: Principal,
             now: datetime) -> Receipt:
    line = _line(ret, asked, n)
    awaited = line.quantity - line.received
    if asked.disposition is Disposition.WRITE_OFF and asked.note is None:
        raise InvalidInput("a write-off needs its reason", field=f"lines.{n}.note")
    return Receipt(receipt_id=receipt_id, line=line.line, sku=line.sku, quantity=max(0, min(asked.quantity, awaited)),
                   asked=asked.quantity, condition=asked.condition, disposition=asked.disposition,
                   location_id=location_id, note=asked.note, at=now, by=principal.name)


def _line(ret: Return, asked: ReceivedLine, n: int) -> ReturnLine:
    matching = [ln for ln in ret.lines if ln.sku == asked.sku and asked.line in (None, ln.line)]
    if not matching:
        raise InvalidInput(f"return {ret.rma_id} has no line for {asked.sku}", field=f"lines.{n}.sku")
    # Of several lines of one SKU, the first that still awaits units.
    return next((ln for ln in matching if ln.received < ln.quantity), matching[0])

