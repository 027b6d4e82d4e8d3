"""Customer messages: which moments get one, and their text in the customer's language.

Pure: the notifier function decides *whether* to send (once per event) and *how* (SES in AWS, a
local outbox on a laptop); this module only says *what*. Languages: English, Spanish, German and
French; a customer's `de-CH` gets German, an unknown language gets English.

A sentence whose facts we do not have is left out rather than rendered with a hole: a shipment
without a tracking link gives the tracking number alone, one without either says neither; a delay
without a carrier estimate names no date; a pickup without a code asks for none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from string import Template
from urllib.parse import quote


class Moment(StrEnum):
    CONFIRMED = "confirmed"
    SHIPPED = "shipped"
    READY_FOR_PICKUP = "ready_for_pickup"
    DELAYED = "delayed"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    REFUND_ISSUED = "refund_issued"


FALLBACK = "en"

# (subject, body) per moment and language. $-placeholders: name, order, location, amount, and the
# optional sentences $tracking (from tracking_url, tracking_code), $eta_note (from eta) and
# $pickup_note (from pickup_code), which `render` builds from _OPTIONAL below.
_TEXT: dict[str, dict[Moment, tuple[str, str]]] = {
    "en": {
        Moment.CONFIRMED: ("Your order $order is confirmed", "Hello $name,\n\nthank you: we have your order $order "
                           "and are preparing it."),
        Moment.SHIPPED: ("Your order $order is on its way", "Hello $name,\n\nyour parcel has left us.$tracking"),
        Moment.READY_FOR_PICKUP: ("Your order $order is ready for pickup", "Hello $name,\n\nyour order is waiting "
                                  "for you at $location.$pickup_note"),
        Moment.DELAYED: ("Your order $order is delayed", "Hello $name,\n\nyour parcel is running late$eta_note. "
                         "We are sorry for the wait.$tracking"),
        Moment.DELIVERED: ("Your order $order has been delivered", "Hello $name,\n\nyour parcel has arrived. "
                           "Enjoy!"),
        Moment.CANCELLED: ("Your order $order is cancelled", "Hello $name,\n\nyour order $order has been "
                           "cancelled. Anything you paid will be refunded."),
        Moment.REJECTED: ("We could not accept your order $order", "Hello $name,\n\nwe are sorry: we could not "
                          "accept your order $order, and it will not be sent. Anything you paid will be refunded."),
        Moment.REFUND_ISSUED: ("Refund for order $order", "Hello $name,\n\nwe have refunded $amount for your "
                               "order $order."),
    },
    "es": {
        Moment.CONFIRMED: ("Tu pedido $order está confirmado", "Hola $name:\n\ngracias, hemos recibido tu pedido "
                           "$order y lo estamos preparando."),
        Moment.SHIPPED: ("Tu pedido $order está en camino", "Hola $name:\n\ntu paquete ya ha salido.$tracking"),
        Moment.READY_FOR_PICKUP: ("Tu pedido $order está listo para recoger", "Hola $name:\n\ntu pedido te espera "
                                  "en $location.$pickup_note"),
        Moment.DELAYED: ("Tu pedido $order se retrasa", "Hola $name:\n\ntu paquete se retrasa$eta_note. Sentimos "
                         "la espera.$tracking"),
        Moment.DELIVERED: ("Tu pedido $order ha sido entregado", "Hola $name:\n\ntu paquete ha llegado. "
                           "¡Que lo disfrutes!"),
        Moment.CANCELLED: ("Tu pedido $order ha sido cancelado", "Hola $name:\n\ntu pedido $order ha sido "
                           "cancelado. Te devolveremos lo que hayas pagado."),
        Moment.REJECTED: ("No hemos podido aceptar tu pedido $order", "Hola $name:\n\nlo sentimos, no hemos "
                          "podido aceptar tu pedido $order y no se enviará. Te devolveremos lo que hayas pagado."),
        Moment.REFUND_ISSUED: ("Reembolso del pedido $order", "Hola $name:\n\nte hemos reembolsado $amount por "
                               "tu pedido $order."),
    },
    "de": {
        Moment.CONFIRMED: ("Ihre Bestellung $order ist bestätigt", "Hallo $name,\n\nvielen Dank: Ihre Bestellung "
                           "$order ist bei uns eingegangen und wird vorbereitet."),
        Moment.SHIPPED: ("Ihre Bestellung $order ist unterwegs", "Hallo $name,\n\nIhr Paket ist unterwegs.$tracking"),
        Moment.READY_FOR_PICKUP: ("Ihre Bestellung $order liegt zur Abholung bereit", "Hallo $name,\n\nIhre "
                                  "Bestellung wartet in $location auf Sie.$pickup_note"),
        Moment.DELAYED: ("Ihre Bestellung $order verspätet sich", "Hallo $name,\n\nIhr Paket verspätet "
                         "sich$eta_note. Bitte entschuldigen Sie.$tracking"),
        Moment.DELIVERED: ("Ihre Bestellung $order wurde zugestellt", "Hallo $name,\n\nIhr Paket ist angekommen. "
                           "Viel Freude damit!"),
        Moment.CANCELLED: ("Ihre Bestellung $order wurde storniert", "Hallo $name,\n\nIhre Bestellung $order "
                           "wurde storniert. Bereits gezahlte Beträge erstatten wir Ihnen."),
        Moment.REJECTED: ("Wir konnten Ihre Bestellung $order nicht annehmen", "Hallo $name,\n\nes tut uns leid: "
                          "Wir konnten Ihre Bestellung $order nicht annehmen, sie wird nicht versandt. Bereits "
                          "gezahlte Beträge erstatten wir Ihnen."),
        Moment.REFUND_ISSUED: ("Erstattung zu Bestellung $order", "Hallo $name,\n\nwir haben Ihnen $amount für "
                               "Ihre Bestellung $order erstattet."),
    },
    "fr": {
        Moment.CONFIRMED: ("Votre commande $order est confirmée", "Bonjour $name,\n\nmerci : nous avons bien reçu "
                           "votre commande $order et la préparons."),
        Moment.SHIPPED: ("Votre commande $order est en route", "Bonjour $name,\n\nvotre colis est parti.$tracking"),
        Moment.READY_FOR_PICKUP: ("Votre commande $order est prête à être retirée", "Bonjour $name,\n\nvotre "
                                  "commande vous attend à $location.$pickup_note"),
        Moment.DELAYED: ("Votre commande $order est retardée", "Bonjour $name,\n\nvotre colis a du "
                         "retard$eta_note. Veuillez nous en excuser.$tracking"),
        Moment.DELIVERED: ("Votre commande $order a été livrée", "Bonjour $name,\n\nvotre colis est arrivé. "
                           "Bonne découverte !"),
        Moment.CANCELLED: ("Votre commande $order est annulée", "Bonjour $name,\n\nvotre commande $order a été "
                           "annulée. Tout montant payé vous sera remboursé."),
        Moment.REJECTED: ("Nous n'avons pas pu accepter votre commande $order", "Bonjour $name,\n\nnous sommes "
                          "désolés : nous n'avons pas pu accepter votre commande $order, elle ne sera pas expédiée. "
                          "Tout montant payé vous sera remboursé."),
        Moment.REFUND_ISSUED: ("Remboursement de la commande $order", "Bonjour $name,\n\nnous vous avons "
                               "remboursé $amount pour votre commande $order."),
    },
}

# Optional sentences per language: (the values it needs, its text). The first whose values are all
# present is used; none: the sentence is left out.
_OPTIONAL: dict[str, dict[str, tuple[tuple[tuple[str, ...], str], ...]]] = {
    "en": {
        "tracking": ((("tracking_url", "tracking_code"), " Follow it here: $tracking_url (tracking number "
                      "$tracking_code)."),
                     (("tracking_url",), " Follow it here: $tracking_url"),
                     (("tracking_code",), " Your tracking number: $tracking_code.")),
        "eta_note": ((("eta",), "; the carrier now expects it on $eta"),),
        "pickup_note": ((("pickup_code",), " Show this code when you collect it: $pickup_code."),),
    },
    "es": {
        "tracking": ((("tracking_url", "tracking_code"), " Síguelo aquí: $tracking_url (número de seguimiento "
                      "$tracking_code)."),
                     (("tracking_url",), " Síguelo aquí: $tracking_url"),
                     (("tracking_code",), " Tu número de seguimiento: $tracking_code.")),
        "eta_note": ((("eta",), "; el transportista lo espera ahora para el $eta"),),
        "pickup_note": ((("pickup_code",), " Muestra este código al recogerlo: $pickup_code."),),
    },
    "de": {
        "tracking": ((("tracking_url", "tracking_code"), " Sendungsverfolgung: $tracking_url (Sendungsnummer "
                      "$tracking_code)."),
                     (("tracking_url",), " Sendungsverfolgung: $tracking_url"),
                     (("tracking_code",), " Ihre Sendungsnummer: $tracking_code.")),
        "eta_note": ((("eta",), "; der Zusteller erwartet es jetzt am $eta"),),
        "pickup_note": ((("pickup_code",), " Zeigen Sie bei der Abholung diesen Code: $pickup_code."),),
    },
    "fr": {
        "tracking": ((("tracking_url", "tracking_code"), " Suivez-le ici : $tracking_url (numéro de suivi "
                      "$tracking_code)."),
                     (("tracking_url",), " Suivez-le ici : $tracking_url"),
                     (("tracking_code",), " Votre numéro de suivi : $tracking_code.")),
        "eta_note": ((("eta",), " ; le transporteur l'attend désormais le $eta"),),
        "pickup_note": ((("pickup_code",), " Présentez ce code au retrait : $pickup_code."),),
    },
}
LANGUAGES = frozenset(_TEXT)


@dataclass(frozen=True)
class Message:
    language: str
    subject: str
    body: str


@dataclass(frozen=True)
class Notification:
    """One message for one customer about one event: what the mailer sends."""

    recipient: str
    message: Message
    moment: Moment
    event_id: str
    order_id: str


def language_for(customer_language: str | None) -> str:
    """`de-CH` -> `de`; anything we have no templates for -> English."""
    base = (customer_language or FALLBACK).split("-")[0].lower()
    return base if base in _TEXT else FALLBACK


def render(moment: Moment, customer_language: str | None, **values: str) -> Message:
    """The message for `moment`; a placeholder without a value renders as an empty string, an
    optional sentence without its values is left out."""
    language = language_for(customer_language)
    subject, body = _TEXT[language][moment]
    filled = _Defaults({k: v for k, v in values.items() if v})
    for name, variants in _OPTIONAL[language].items():
        sentence = next((text for needs, text in variants if all(filled.get(n) for n in needs)), "")
        filled[name] = Template(sentence).substitute(filled)
    # A header must stay one line, whatever a channel put in a name or order number.
    subject = " ".join(Template(subject).substitute(filled).split())
    return Message(language, subject, Template(body).substitute(filled))


class _Defaults(dict):
    def __missing__(self, key: str) -> str:
        return ""


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
