"""Reading a channel's customer's store credit (the ledger itself: shared/adapters/store_credit_repo.py)."""

from __future__ import annotations

from decimal import Decimal

from shared.adapters.store_credit_repo import LedgerEntry
from shared.domain.principal import Principal
from shared.errors import AccessDenied, InvalidInput
from shared.repositories import Repositories


def store_credit_of(customer_id: str, channel: str | None, principal: Principal, repos: Repositories
                    ) -> tuple[str, dict[str, Decimal], list[LedgerEntry]]:
    """(the channel, balances per currency, entries oldest first). Customer ids are the channels' own:
    a channel reads its own customers', the operator names the channel."""
    if not principal.is_operator and channel not in (None, principal.channel):
        raise AccessDenied("a channel reads only its own customers' store credit", field="channel")
    channel = channel or principal.channel
    if channel is None:
        raise InvalidInput("name the customer's channel: customer ids are the channels' own", field="channel")
    ledger = repos.store_credit
    return channel, ledger.balances(channel, customer_id), ledger.entries(channel, customer_id)
