"""Customer messages: which moments get one, and their text in the customer's language, by email
and by text message (SMS).

Pure: the notifier function decides *whether* to send (once per event and medium) and *how* (SES
and AWS End User Messaging SMS in AWS, a local outbox on a laptop); this module only says *what*.
The words are in shared/domain/notification_texts.py. Languages: English, Spanish, German and
French; a customer's `de-CH` gets German, an unknown language gets English.

A sentence whose facts we do not have is left out rather than rendered with a hole: a shipment
without a tracking link gives the tracking number alone, one without either says neither; a delay
without a carrier estimate names no date; a pickup without a code asks for none; a return without
a label link gives none (and its text message does not say the label was emailed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from string import Template
from urllib.parse import quote

from shared.domain.notification_texts import OPTIONAL, TEXTS


class Moment(StrEnum):
    CONFIRMED = "confirmed"
    SHIPPED = "shipped"
    READY_FOR_PICKUP = "ready_for_pickup"
    DELAYED = "delayed"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    REFUND_ISSUED = "refund_issued"
    RETURN_APPROVED = "return_approved"
    RETURN_RECEIVED = "return_received"


class Medium(StrEnum):
    EMAIL = "email"
    SMS = "sms"


FALLBACK = "en"
LANGUAGES = frozenset(TEXTS)


@dataclass(frozen=True)
class Message:
    language: str
    subject: str
    body: str
    sms: str = ""  # one line: the subject's news and its link (never the return label's), for a text message


@dataclass(frozen=True)
class Notification:
    """One email for one customer about one event: what the mailer sends."""

    recipient: str
    message: Message
    moment: Moment
    event_id: str
    order_id: str


@dataclass(frozen=True)
class TextMessage:
    """One SMS for one customer about one event: what the SMS sender sends. `recipient` is E.164."""

    recipient: str
    text: str
    language: str
    moment: Moment
    event_id: str
    order_id: str


def language_for(customer_language: str | None) -> str:
    """`de-CH` -> `de`; anything we have no templates for -> English."""
    base = (customer_language or FALLBACK).split("-")[0].lower()
    return base if base in TEXTS else FALLBACK


def render(moment: Moment, customer_language: str | None, **values: str) -> Message:
    """The message for `moment`; a placeholder without a value renders as an empty string, an
    optional sentence without its values is left out."""
    language = language_for(customer_language)
    texts = TEXTS[language][moment]
    filled = _Defaults({k: v for k, v in values.items() if v})
    for name, variants in OPTIONAL[language].items():
        sentence = next((text for needs, text in variants if all(filled.get(n) for n in needs)), "")
        filled[name] = Template(sentence).substitute(filled)
    # A header (and a text message) stays one line, whatever a channel put in a name or order number.
    return Message(language, _one_line(Template(texts.subject).substitute(filled)),
                   Template(texts.body).substitute(filled), _one_line(Template(texts.sms).substitute(filled)))


def _one_line(text: str) -> str:
    return " ".join(text.split())


class _Defaults(dict):
    def __missing__(self, key: str) -> str:
        return ""


# E.164: "+", a country code (never starting with 0), at most 15 digits in all.
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


def e164(phone: str | None) -> str | None:
    """`+49 (0)30 1234-5678` -> `+493012345678`; None when the number is not written internationally.

    Only separators are removed (spaces, hyphens, dots, brackets) and the trunk prefix written
    `(0)` after the country code, which is never dialled from abroad. A number without its `+` and
    country code is not completed: which country it belongs to is a guess (the shipping address
    may be a gift's, and `00` is not the international prefix everywhere), and a guessed number
    texts a stranger. Written by hand rather than with `phonenumbers`: the syntax is all we need
    (the SMS service checks the number plan and refuses what it cannot route), and its per-country
    metadata would weigh on every function's package.
    """
    if not phone:
        return None
    compact = re.sub(r"[\s().-]", "", phone.strip().replace("(0)", ""))
    return compact if _E164.match(compact) else None


# Formatting for the customer's language: plain rules, no locale database in the Lambda package.
_DECIMAL_COMMA = {"de": (".", ","), "es": (".", ","), "fr": (" ", ",")}  # (thousands, decimal)
_MINOR_UNITS = {**dict.fromkeys("BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF".split(), 0),
                **dict.fromkeys("BHD IQD JOD KWD LYD OMR TND".split(), 3)}


def format_amount(amount: Decimal, currency: str, customer_language: str | None) -> str:
    """`19.99 EUR` in English, `19,99 EUR` in German, `1 234,50 EUR` in French."""
    places = _MINOR_UNITS.get(currency, 2)
    text = f"{amount:,.{places}f}"
    thousands, decimal = _DECIMAL_COMMA.get(language_for(customer_language), (",", "."))
    text = text.replace(",", "\0").replace(".", decimal).replace("\0", thousands)
    return f"{text} {currency}"


def format_date(day: date, customer_language: str | None) -> str:
    """ISO 8601 in English (unambiguous on both sides of the Atlantic), day first elsewhere."""
    language = language_for(customer_language)
    if language == "de":
        return day.strftime("%d.%m.%Y")
    if language in ("es", "fr"):
        return day.strftime("%d/%m/%Y")
    return day.isoformat()


# Public tracking pages of the carriers most merchants use; `{code}` is the tracking number.
CARRIER_TRACKING_PAGES = {
    "ups": "https://www.ups.com/track?tracknum={code}",
    "usps": "https://tools.usps.com/go/TrackConfirmAction?tLabels={code}",
    "fedex": "https://www.fedex.com/fedextrack/?trknbr={code}",
    "dhl": "https://www.dhl.com/global-en/home/tracking.html?tracking-id={code}&submit=1",
}


def carrier_key(carrier: str | None) -> str | None:
    """`UPS`, `ups_ground`, `FedEx Ground`, `DHLExpress`, `dhl-paket` -> ups, fedex, dhl, dhl."""
    letters = "".join(c for c in (carrier or "").lower() if c.isalpha())
    return next((key for key in CARRIER_TRACKING_PAGES if letters.startswith(key)), None)


def tracking_url(carrier: str | None, tracking_code: str | None, template: str | None = None) -> str | None:
    """The link a customer follows to see their parcel, or None (the message then gives the number).

    A merchant's own template (`{code}` and optionally `{carrier}`, e.g. a branded tracking page)
    wins when set: it is a deliberate choice, and it also covers carriers we do not know. Otherwise
    the carrier's public page when we know the carrier, else no link: a guessed link that leads
    nowhere is worse than the bare tracking number.
    """
    if not tracking_code:
        return None
    code = quote(tracking_code, safe="")
    if template:
        return template.replace("{code}", code).replace("{carrier}", quote(carrier or "", safe=""))
    key = carrier_key(carrier)
    return CARRIER_TRACKING_PAGES[key].replace("{code}", code) if key else None
