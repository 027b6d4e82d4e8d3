"""What the OMS asks of a carrier: buy a label for one parcel, and tell us where it is.

Adapters (EasyPost, the built-in sandbox) return the label as bytes or as the provider's URL;
storing it in S3 and presigning a link is the caller's job, and so is reading the API key from
Secrets Manager: adapters take the key as a constructor argument and never log it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal, Protocol, runtime_checkable

from shared.domain.address import Address
from shared.domain.tracking import TrackingUpdate

LabelFormat = Literal["PDF", "ZPL"]
LABEL_FORMATS: tuple[str, ...] = ("PDF", "ZPL")
CHEAPEST = "cheapest"
FASTEST = "fastest"


class CarrierError(Exception):
    """A carrier call failed. `retryable` tells the caller whether the same request may succeed
    later (5xx, 408/429, timeouts, connection errors) or will fail the same way (other 4xx, no
    matching rate): the caller retries only the former, and parks the shipment on the latter."""

    def __init__(self, message: str, *, retryable: bool, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.status = status
        self.code = code


@dataclass(frozen=True)
class Parcel:
    """One box, in the units the OMS uses; adapters convert (EasyPost wants oz and inches)."""

    weight_grams: int
    length_cm: Decimal
    width_cm: Decimal
    height_cm: Decimal

    def __post_init__(self) -> None:
        for name in ("length_cm", "width_cm", "height_cm"):
            value = Decimal(str(getattr(self, name)))  # "12.5", 12.5 and Decimal all accepted
            if value <= 0:
                raise ValueError(f"{name} must be positive")
            object.__setattr__(self, name, value)
        if self.weight_grams <= 0:
            raise ValueError("weight_grams must be positive")


@dataclass(frozen=True)
class LabelRequest:
    """`reference` is our shipment id. It doubles as the idempotency key: asking twice for the same
    reference must not buy two labels (how each adapter ensures that is documented there).

    `service` is a hint: "cheapest", "fastest", or a provider's service name (e.g. "Priority",
    or "USPS:Priority" to name the carrier too)."""

    reference: str
    from_address: Address
    to_address: Address
    parcel: Parcel
    service: str = CHEAPEST
    label_format: LabelFormat = "PDF"

    def __post_init__(self) -> None:
        if not self.reference or len(self.reference) > 128:
            raise ValueError("reference must be 1 to 128 characters")
        if self.label_format not in LABEL_FORMATS:
            raise ValueError(f"label_format must be one of {LABEL_FORMATS}")
        if not self.service:
            raise ValueError("service must not be empty")


@dataclass(frozen=True)
class Label:
    """A bought label. Exactly one of label_bytes (we must store it) and label_url (the provider
    hosts it; fetch and store it if it must outlive the provider's retention) is usually set."""

    provider: str                  # easypost, sandbox: which adapter bought it
    carrier: str                   # who moves the parcel (USPS, DHL, SANDBOX); pass it to track()
    service: str
    tracking_code: str
    label_format: LabelFormat
    rate_amount: Decimal
    rate_currency: str
    provider_shipment_id: str
    label_bytes: bytes | None = None
    label_url: str | None = None
    created_at: datetime | None = None  # when the provider says the label was made, if it says


@runtime_checkable
class CarrierAdapter(Protocol):
    def buy_label(self, request: LabelRequest) -> Label:
        """Buy (or, for a reference already bought, return) the label. Raises CarrierError."""
        ...

    def track(self, tracking_code: str, carrier: str | None = None) -> list[TrackingUpdate]:
        """Every known event for the parcel, oldest first. Raises CarrierError."""
        ...
