"""Money: Decimal amounts with an ISO 4217 currency. Never float."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, PlainSerializer, ValidationInfo

from shared.domain.bounds import is_stored

# ISO 4217 active codes (2024 list). Checked so a typo ("EUD") is a 422, not a silent new currency.
ISO_4217 = frozenset(
    """AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP
    BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL
    GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW
    KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN
    NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK
    SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS
    VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW ZWG""".split()
)


def _currency(value: Any) -> Any:
    if isinstance(value, str) and value not in ISO_4217:
        raise ValueError("must be an ISO 4217 currency code such as EUR or USD")
    return value


_PLAIN_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?")


def _decimal_string(value: Any, info: ValidationInfo) -> Any:
    # A stored amount is read as written: an earlier version accepted "1E+1" or "-0" and stored it so.
    if is_stored(info):
        return value
    # A float has already lost cents ("0.1" is not 0.1); channels must send amounts as strings.
    if isinstance(value, float):
        raise ValueError('must be a decimal string such as "19.99", not a JSON number')
    # Digits, optionally a point and digits: Decimal() itself also reads "1_000", " 10.00 ", "-0",
    # "+5" and "1e3", none of which a channel means as an amount (and "-0" would be stored as such).
    if isinstance(value, bool) or (isinstance(value, str) and not _PLAIN_DECIMAL.fullmatch(value)):
        raise ValueError('must be a decimal string of digits with an optional decimal point, such as "19.99"')
    return value


CurrencyCode = Annotated[str, BeforeValidator(_currency), Field(pattern=r"^[A-Z]{3}$", examples=["EUR"])]

Amount = Annotated[
    Decimal,
    BeforeValidator(_decimal_string),
    Field(ge=0, max_digits=14, decimal_places=4, examples=["19.99"]),
    PlainSerializer(lambda d: str(d), return_type=str, when_used="json"),
]
"""A non-negative money amount; JSON carries it as a decimal string."""

ZERO = Decimal("0")

# ISO 4217 minor units (the list's "E" column) where they are not 2. Stripe's own zero-decimal list
# differs for a few currencies: shared/payments/stripe.py keeps that exception, not this table.
_EXPONENTS = {
    **dict.fromkeys("BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF".split(), 0),
    **dict.fromkeys("BHD IQD JOD KWD LYD OMR TND".split(), 3),
}


def minor_unit(currency: str) -> int:
    """Decimal places of the currency's minor unit: JPY 0, EUR 2, KWD 3."""
    return _EXPONENTS.get(currency, 2)


def quantum(currency: str) -> Decimal:
    """The smallest amount of the currency: Decimal("0.01") for EUR, Decimal("1") for JPY."""
    return Decimal(1).scaleb(-minor_unit(currency))


def to_minor(amount: Decimal, currency: str) -> int:
    """An amount in minor units (cents); refuses an amount finer than the currency's minor unit."""
    scaled = amount.scaleb(minor_unit(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} {currency} is finer than the currency's minor unit")
    return int(scaled)


def from_minor(units: int, currency: str) -> Decimal:
    """Minor units (cents) as an amount with the currency's decimal places: 1999 EUR -> 19.99."""
    return Decimal(units).scaleb(-minor_unit(currency)).quantize(quantum(currency))
