"""Customer messages: which moments get one, and their text in the customer's language.

Pure: the notifier function decides *whether* to send (once per event) and *how* (SES in AWS, a
local outbox on a laptop); this module only says *what*. Languages: English, Spanish, German and
French; a customer's `de-CH` gets German, an unknown language gets English.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from string import Template


class Moment(StrEnum):
    CONFIRMED = "confirmed"
    SHIPPED = "shipped"
    READY_FOR_PICKUP = "ready_for_pickup"
    DELAYED = "delayed"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    REFUND_ISSUED = "refund_issued"


FALLBACK = "en"

# (subject, body) per moment and language. $-placeholders: name, order, tracking_url, tracking_code,
# pickup_code, location, eta, amount.
_TEXT: dict[str, dict[Moment, tuple[str, str]]] = {
    "en": {
        Moment.CONFIRMED: ("Your order $order is confirmed", "Hello $name,\n\nthank you: we have your order $order "
                           "and are preparing it."),
        Moment.SHIPPED: ("Your order $order is on its way", "Hello $name,\n\nyour parcel has left us. Follow it "
                         "here: $tracking_url (tracking number $tracking_code)."),
        Moment.READY_FOR_PICKUP: ("Your order $order is ready for pickup", "Hello $name,\n\nyour order is waiting "
                                  "for you at $location. Show this code when you collect it: $pickup_code."),
        Moment.DELAYED: ("Your order $order is delayed", "Hello $name,\n\nyour parcel is running late; the carrier "
                         "now expects it on $eta. We are sorry for the wait. Tracking: $tracking_url"),
        Moment.DELIVERED: ("Your order $order has been delivered", "Hello $name,\n\nyour parcel has arrived. "
                           "Enjoy!"),
        Moment.CANCELLED: ("Your order $order is cancelled", "Hello $name,\n\nyour order $order has been "
                           "cancelled. Anything you paid will be refunded."),
        Moment.REFUND_ISSUED: ("Refund for order $order", "Hello $name,\n\nwe have refunded $amount for your "
                               "order $order."),
    },
    "es": {
        Moment.CONFIRMED: ("Tu pedido $order está confirmado", "Hola $name:\n\ngracias, hemos recibido tu pedido "
                           "$order y lo estamos preparando."),
        Moment.SHIPPED: ("Tu pedido $order está en camino", "Hola $name:\n\ntu paquete ya ha salido. Síguelo "
                         "aquí: $tracking_url (número de seguimiento $tracking_code)."),
        Moment.READY_FOR_PICKUP: ("Tu pedido $order está listo para recoger", "Hola $name:\n\ntu pedido te espera "
                                  "en $location. Muestra este código al recogerlo: $pickup_code."),
        Moment.DELAYED: ("Tu pedido $order se retrasa", "Hola $name:\n\ntu paquete se retrasa; el transportista "
                         "lo espera ahora para el $eta. Sentimos la espera. Seguimiento: $tracking_url"),
        Moment.DELIVERED: ("Tu pedido $order ha sido entregado", "Hola $name:\n\ntu paquete ha llegado. "
                           "¡Que lo disfrutes!"),
        Moment.CANCELLED: ("Tu pedido $order ha sido cancelado", "Hola $name:\n\ntu pedido $order ha sido "
                           "cancelado. Te devolveremos lo que hayas pagado."),
        Moment.REFUND_ISSUED: ("Reembolso del pedido $order", "Hola $name:\n\nte hemos reembolsado $amount por "
                               "tu pedido $order."),
    },
    "de": {
        Moment.CONFIRMED: ("Ihre Bestellung $order ist bestätigt", "Hallo $name,\n\nvielen Dank: Ihre Bestellung "
                           "$order ist bei uns eingegangen und wird vorbereitet."),
        Moment.SHIPPED: ("Ihre Bestellung $order ist unterwegs", "Hallo $name,\n\nIhr Paket ist unterwegs. "
                         "Sendungsverfolgung: $tracking_url (Sendungsnummer $tracking_code)."),
        Moment.READY_FOR_PICKUP: ("Ihre Bestellung $order liegt zur Abholung bereit", "Hallo $name,\n\nIhre "
                                  "Bestellung wartet in $location auf Sie. Zeigen Sie bei der Abholung diesen "
                                  "Code: $pickup_code."),
        Moment.DELAYED: ("Ihre Bestellung $order verspätet sich", "Hallo $name,\n\nIhr Paket verspätet sich; der "
                         "Zusteller erwartet es jetzt am $eta. Bitte entschuldigen Sie. Sendungsverfolgung: "
                         "$tracking_url"),
        Moment.DELIVERED: ("Ihre Bestellung $order wurde zugestellt", "Hallo $name,\n\nIhr Paket ist angekommen. "
                           "Viel Freude damit!"),
        Moment.CANCELLED: ("Ihre Bestellung $order wurde storniert", "Hallo $name,\n\nIhre Bestellung $order "
                           "wurde storniert. Bereits gezahlte Beträge erstatten wir Ihnen."),
        Moment.REFUND_ISSUED: ("Erstattung zu Bestellung $order", "Hallo $name,\n\nwir haben Ihnen $amount für "
                               "Ihre Bestellung $order erstattet."),
    },
    "fr": {
        Moment.CONFIRMED: ("Votre commande $order est confirmée", "Bonjour $name,\n\nmerci : nous avons bien reçu "
                           "votre commande $order et la préparons."),
        Moment.SHIPPED: ("Votre commande $order est en route", "Bonjour $name,\n\nvotre colis est parti. Suivez-le "
                         "ici : $tracking_url (numéro de suivi $tracking_code)."),
        Moment.READY_FOR_PICKUP: ("Votre commande $order est prête à être retirée", "Bonjour $name,\n\nvotre "
                                  "commande vous attend à $location. Présentez ce code au retrait : $pickup_code."),
        Moment.DELAYED: ("Votre commande $order est retardée", "Bonjour $name,\n\nvotre colis a du retard ; le "
                         "transporteur l'attend désormais le $eta. Veuillez nous en excuser. Suivi : $tracking_url"),
        Moment.DELIVERED: ("Votre commande $order a été livrée", "Bonjour $name,\n\nvotre colis est arrivé. "
                           "Bonne découverte !"),
        Moment.CANCELLED: ("Votre commande $order est annulée", "Bonjour $name,\n\nvotre commande $order a été "
                           "annulée. Tout montant payé vous sera remboursé."),
        Moment.REFUND_ISSUED: ("Remboursement de la commande $order", "Bonjour $name,\n\nnous vous avons "
                               "remboursé $amount pour votre commande $order."),
    },
}
LANGUAGES = frozenset(_TEXT)


@dataclass(frozen=True)
class Message:
    language: str
    subject: str
    body: str


def language_for(customer_language: str | None) -> str:
    """`de-CH` -> `de`; anything we have no templates for -> English."""
    base = (customer_language or FALLBACK).split("-")[0].lower()
    return base if base in _TEXT else FALLBACK


def render(moment: Moment, customer_language: str | None, **values: str) -> Message:
    """The message for `moment`; a placeholder without a value renders as an empty string."""
    language = language_for(customer_language)
    subject, body = _TEXT[language][moment]
    filled = _Defaults(values)
    return Message(language, Template(subject).substitute(filled), Template(body).substitute(filled))


class _Defaults(dict):
    def __missing__(self, key: str) -> str:
        return ""
