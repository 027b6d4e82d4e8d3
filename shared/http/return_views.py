"""What the returns API answers and accepts beyond the domain models (shared/domain/returns.py)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from pydantic import ConfigDict, Field

from shared.domain.base import DeferredModel
from shared.domain.returns import RefundMethod, Return, ReturnPolicy

RmaPath = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^RMA-[0-9]{6}-[A-Z0-9]{8}$")]
ChannelPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
ChannelQuery = Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
                                           description="The customer's channel (the operator names it; a "
                                                       "channel reads its own)")]
CustomerPath = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$")]


class ReturnView(Return):
    """A return, with a fresh link to its return label (valid 15 minutes; ask again for a new one)."""

    label_url: str | None = None

    @classmethod
    def of(cls, ret: Return) -> ReturnView:
        from shared.adapters.documents import label_documents
        from shared.services.labels import LINK_TTL_S

        label = ret.parcel.label if ret.parcel else None
        link = None if label is None else (label_documents().link(label.key, LINK_TTL_S) if label.key
                                           else label.provider_url)
        return cls(**ret.model_dump(), label_url=link)


class ReturnList(DeferredModel):
    """An order's returns, oldest first."""

    order_id: str
    returns: list[Return]


class ReturnPage(DeferredModel):
    """Returns in a status, oldest first; pass `next_cursor` back as `cursor` for the next page."""

    returns: list[Return]
    next_cursor: str | None = None


class RefundBody(DeferredModel):
    """POST /returns/{rma_id}/refund: refund what was received and not yet refunded."""

    model_config = ConfigDict(extra="forbid")
    method: RefundMethod | None = Field(default=None, description="The return's own choice when left out")


class PolicyView(DeferredModel):
    channel: str
    policy: ReturnPolicy
    version: int | None = Field(description="None: the default policy, never set for this channel")
    updated_at: str | None = None
    updated_by: str | None = None

    @classmethod
    def of(cls, channel: str, stored) -> PolicyView:
        """`stored`: the repository's StoredPolicy, or None (the default applies)."""
        if stored is None:
            return cls(channel=channel, policy=ReturnPolicy(), version=None)
        return cls(channel=channel, policy=stored.policy, version=stored.version, updated_at=stored.updated_at,
                   updated_by=stored.updated_by)


class LedgerEntryView(DeferredModel):
    entry_id: str
    amount: Decimal = Field(description="Negative for a spend")
    currency: str
    at: str
    order_id: str | None = None
    rma_id: str | None = None
    note: str | None = None


class StoreCreditView(DeferredModel):
    """A channel's customer's store credit: the balance per currency and the ledger, oldest first."""

    customer_id: str
    channel: str
    balances: dict[str, Decimal]
    entries: list[LedgerEntryView]

    @classmethod
    def of(cls, customer_id: str, ledger: tuple) -> StoreCreditView:
        channel, balances, entries = ledger
        return cls(customer_id=customer_id, channel=channel, balances=balances,
                   entries=[LedgerEntryView(**vars(e)) for e in entries])
