"""The events of a return's life (shared/domain/returns.py). Ids, SKUs, quantities and amounts
only: the customer's name, address and phone stay in the order, where the notifier reads them."""

from __future__ import annotations

from pydantic import Field

from shared.domain.base import DeferredModel
from shared.domain.events import DomainEvent


class ReturnedUnits(DeferredModel):
    line: int = Field(description="index of the order line")
    sku: str
    quantity: int


class ReturnEvent(DomainEvent):
    event_type = "ReturnEvent"
    description = "(base)"
    rma_id: str
    order_id: str
    channel: str
    status: str = Field(description="the return's status after the change")


class ReturnRequested(ReturnEvent):
    event_type = "ReturnRequested"
    description = "A customer asked to return units of a delivered order; the policy allowed it (once per RMA)."
    reason: str
    lines: list[ReturnedUnits]
    value: str = Field(description="what the units are worth, as a refund would compute it")
    currency: str


class ReturnApproved(ReturnEvent):
    event_type = "ReturnApproved"
    description = ("A return was approved (by its policy or an operator): it goes back to `location_id`, with a "
                   "return label when the carrier sold one.")
    location_id: str
    tracking_code: str | None = None
    carrier: str | None = None
    approved_by: str


class ReturnDeclined(ReturnEvent):
    event_type = "ReturnDeclined"
    description = "An operator declined a return."
    declined_by: str
    reason: str


class ReturnInTransit(ReturnEvent):
    description = "The carrier scanned the return parcel for the first time: the return is on its way back."
    event_type = "ReturnInTransit"
    tracking_code: str


class ReturnClosed(ReturnEvent):
    event_type = "ReturnClosed"
    description = ("An operator closed a return: nothing more comes back (what was received may still be refunded; "
                   "an exchange order already made is not cancelled by it).")
    closed_by: str
    note: str | None = None


class ReturnReceived(ReturnEvent):
    event_type = "ReturnReceived"
    description = ("Returned units were received and inspected (once per receipt id); restocked units raised on "
                   "hand at the location in the same transaction (StockChanged follows).")
    receipt_id: str
    line: int
    sku: str
    quantity: int
    condition: str
    disposition: str = Field(description="restock or write_off")
    location_id: str


class ReturnInspected(ReturnEvent):
    event_type = "ReturnInspected"
    description = "Every approved unit of the return was received and inspected."


class RefundIssued(ReturnEvent):
    event_type = "RefundIssued"
    description = ("A return's refund was issued (once per refund id): to the original payment or as store credit. "
                   "`amount` is computed from what was paid for the units, never typed in.")
    refund_id: str
    method: str = Field(description="original_payment or store_credit")
    amount: str
    currency: str
    shipping: str = Field(description="of `amount`, the original shipping refunded")
    restocking_fee: str = Field(description="taken off `amount`")
    lines: list[ReturnedUnits]


class StoreCreditIssued(DomainEvent):
    event_type = "StoreCreditIssued"
    description = ("Store credit was added to a channel's customer's ledger, once per entry id: a return refunded as "
                   "store credit, the value of a return given in advance for an exchange, or a refund of an order "
                   "paid with store credit.")
    channel: str
    customer_id: str
    entry_id: str
    order_id: str | None = None
    rma_id: str | None = None
    amount: str
    currency: str


class ExchangeCreated(ReturnEvent):
    event_type = "ExchangeCreated"
    description = ("An approved return asked for replacement lines: a new order linked to the original (same channel "
                   "and customer, channel order id EXCHANGE-<rma>) was captured for them, paid by the returned value.")
    exchange_order_id: str
    lines: list[ReturnedUnits] = Field(description="the replacement lines (`line`: their index in the new order)")
    difference: str = Field(description="replacement total minus returned value: when positive the new order is held "
                                        "for the channel to collect it; when negative it is refunded on receipt")
    currency: str


RETURN_EVENTS: tuple[type[DomainEvent], ...] = (
    ReturnRequested, ReturnApproved, ReturnDeclined, ReturnReceived, ReturnInspected, RefundIssued,
    StoreCreditIssued, ExchangeCreated, ReturnInTransit, ReturnClosed,
)
