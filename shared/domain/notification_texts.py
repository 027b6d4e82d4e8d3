"""The words of every customer message, per language: data only (shared/domain/notifications.py
renders them).

Each moment has a subject and an email body, and a one-line text message (SMS) built from the same
sentences: the subject's news, then the link when there is one. Not the return label's: a presigned
link is 1-2k characters (a dozen segments, near the SMS service's 1,600), so the text says it was
emailed. One character outside the GSM-7 alphabet (á, ó, ç, ê...) makes a whole SMS UCS-2: 70
characters a segment instead of 160. Keys are the `Moment` values.

$-placeholders: name, order (the channel's order number), location, amount, rma (the return's
number), and the optional sentences `OPTIONAL` builds: $tracking (tracking_url, tracking_code),
$eta_note (eta), $pickup_note (pickup_code), $label_note (label_url), $label_emailed_note
(label_emailed: a label link went to a usable email address), $refund and $credit_note (store_credit:
a refund paid as store credit reads differently).
"""

from __future__ import annotations

from typing import NamedTuple


class Texts(NamedTuple):
    subject: str
    body: str
    sms: str


TEXTS: dict[str, dict[str, Texts]] = {
    "en": {
        "confirmed": Texts(
            "Your order $order is confirmed",
            "Hello $name,\n\nthank you: we have your order $order and are preparing it.",
            "Your order $order is confirmed and we are preparing it."),
        "shipped": Texts(
            "Your order $order is on its way",
            "Hello $name,\n\nyour parcel has left us.$tracking",
            "Your order $order is on its way.$tracking"),
        "ready_for_pickup": Texts(
            "Your order $order is ready for pickup",
            "Hello $name,\n\nyour order is waiting for you at $location.$pickup_note",
            "Your order $order is ready for pickup at $location.$pickup_note"),
        "delayed": Texts(
            "Your order $order is delayed",
            "Hello $name,\n\nyour parcel is running late$eta_note. We are sorry for the wait.$tracking",
            "Your order $order is delayed. We are sorry for the wait.$tracking"),
        "delivered": Texts(
            "Your order $order has been delivered",
            "Hello $name,\n\nyour parcel has arrived. Enjoy!",
            "Your order $order has been delivered. Enjoy!"),
        "cancelled": Texts(
            "Your order $order is cancelled",
            "Hello $name,\n\nyour order $order has been cancelled. Anything you paid will be refunded.",
            "Your order $order has been cancelled. Anything you paid will be refunded."),
        "rejected": Texts(
            "We could not accept your order $order",
            "Hello $name,\n\nwe are sorry: we could not accept your order $order, and it will not be sent. "
            "Anything you paid will be refunded.",
            "We could not accept your order $order. Anything you paid will be refunded."),
        "refund_issued": Texts(
            "Refund for order $order",
            "Hello $name,\n\n$refund",
            "Refund for order $order: $amount$credit_note."),
        "return_approved": Texts(
            "Your return $rma for order $order is approved",
            "Hello $name,\n\nwe have approved your return $rma for order $order. Please put the return "
            "number $rma in the parcel.$label_note",
            "Your return $rma for order $order is approved.$label_emailed_note"),
        "return_received": Texts(
            "We have received your return for order $order",
            "Hello $name,\n\nyour return $rma has arrived. We are checking the items and will be in touch as "
            "soon as we are done.",
            "We have received your return $rma for order $order."),
    },
    "es": {
        "confirmed": Texts(
            "Tu pedido $order está confirmado",
            "Hola $name:\n\ngracias, hemos recibido tu pedido $order y lo estamos preparando.",
            "Tu pedido $order está confirmado y lo estamos preparando."),
        "shipped": Texts(
            "Tu pedido $order está en camino",
            "Hola $name:\n\ntu paquete ya ha salido.$tracking",
            "Tu pedido $order está en camino.$tracking"),
        "ready_for_pickup": Texts(
            "Tu pedido $order está listo para recoger",
            "Hola $name:\n\ntu pedido te espera en $location.$pickup_note",
            "Tu pedido $order está listo para recoger en $location.$pickup_note"),
        "delayed": Texts(
            "Tu pedido $order se retrasa",
            "Hola $name:\n\ntu paquete se retrasa$eta_note. Sentimos la espera.$tracking",
            "Tu pedido $order se retrasa. Sentimos la espera.$tracking"),
        "delivered": Texts(
            "Tu pedido $order ha sido entregado",
            "Hola $name:\n\ntu paquete ha llegado. ¡Que lo disfrutes!",
            "Tu pedido $order ha sido entregado. ¡Que lo disfrutes!"),
        "cancelled": Texts(
            "Tu pedido $order ha sido cancelado",
            "Hola $name:\n\ntu pedido $order ha sido cancelado. Te devolveremos lo que hayas pagado.",
            "Tu pedido $order ha sido cancelado. Te devolveremos lo que hayas pagado."),
        "rejected": Texts(
            "No hemos podido aceptar tu pedido $order",
            "Hola $name:\n\nlo sentimos, no hemos podido aceptar tu pedido $order y no se enviará. Te "
            "devolveremos lo que hayas pagado.",
            "No hemos podido aceptar tu pedido $order. Te devolveremos lo que hayas pagado."),
        "refund_issued": Texts(
            "Reembolso del pedido $order",
            "Hola $name:\n\n$refund",
            "Reembolso del pedido $order: $amount$credit_note."),
        "return_approved": Texts(
            "Tu devolución $rma del pedido $order está aprobada",
            "Hola $name:\n\nhemos aprobado tu devolución $rma del pedido $order. Por favor, incluye el número "
            "de devolución $rma en el paquete.$label_note",
            "Tu devolución $rma del pedido $order está aprobada.$label_emailed_note"),
        "return_received": Texts(
            "Hemos recibido tu devolución del pedido $order",
            "Hola $name:\n\ntu devolución $rma ha llegado. Estamos revisando los artículos y te escribiremos "
            "en cuanto terminemos.",
            "Hemos recibido tu devolución $rma del pedido $order."),
    },
    "de": {
        "confirmed": Texts(
            "Ihre Bestellung $order ist bestätigt",
            "Hallo $name,\n\nvielen Dank: Ihre Bestellung $order ist bei uns eingegangen und wird vorbereitet.",
            "Ihre Bestellung $order ist bestätigt und wird vorbereitet."),
        "shipped": Texts(
            "Ihre Bestellung $order ist unterwegs",
            "Hallo $name,\n\nIhr Paket ist unterwegs.$tracking",
            "Ihre Bestellung $order ist unterwegs.$tracking"),
        "ready_for_pickup": Texts(
            "Ihre Bestellung $order liegt zur Abholung bereit",
            "Hallo $name,\n\nIhre Bestellung wartet in $location auf Sie.$pickup_note",
            "Ihre Bestellung $order liegt in $location zur Abholung bereit.$pickup_note"),
        "delayed": Texts(
            "Ihre Bestellung $order verspätet sich",
            "Hallo $name,\n\nIhr Paket verspätet sich$eta_note. Bitte entschuldigen Sie.$tracking",
            "Ihre Bestellung $order verspätet sich. Bitte entschuldigen Sie.$tracking"),
        "delivered": Texts(
            "Ihre Bestellung $order wurde zugestellt",
            "Hallo $name,\n\nIhr Paket ist angekommen. Viel Freude damit!",
            "Ihre Bestellung $order wurde zugestellt. Viel Freude damit!"),
        "cancelled": Texts(
            "Ihre Bestellung $order wurde storniert",
            "Hallo $name,\n\nIhre Bestellung $order wurde storniert. Bereits gezahlte Beträge erstatten wir "
            "Ihnen.",
            "Ihre Bestellung $order wurde storniert. Bereits gezahlte Beträge erstatten wir Ihnen."),
        "rejected": Texts(
            "Wir konnten Ihre Bestellung $order nicht annehmen",
            "Hallo $name,\n\nes tut uns leid: Wir konnten Ihre Bestellung $order nicht annehmen, sie wird nicht "
            "versandt. Bereits gezahlte Beträge erstatten wir Ihnen.",
            "Wir konnten Ihre Bestellung $order nicht annehmen. Bereits gezahlte Beträge erstatten wir Ihnen."),
        "refund_issued": Texts(
            "Erstattung zu Bestellung $order",
            "Hallo $name,\n\n$refund",
            "Erstattung zu Bestellung $order: $amount$credit_note."),
        "return_approved": Texts(
            "Ihre Rücksendung $rma zu Bestellung $order ist genehmigt",
            "Hallo $name,\n\nwir haben Ihre Rücksendung $rma zu Ihrer Bestellung $order genehmigt. Bitte legen "
            "Sie die Rücksendenummer $rma dem Paket bei.$label_note",
            "Ihre Rücksendung $rma zu Bestellung $order ist genehmigt.$label_emailed_note"),
        "return_received": Texts(
            "Ihre Rücksendung zu Bestellung $order ist angekommen",
            "Hallo $name,\n\nIhre Rücksendung $rma ist bei uns angekommen. Wir prüfen die Artikel und melden "
            "uns, sobald wir damit fertig sind.",
            "Ihre Rücksendung $rma zu Bestellung $order ist bei uns angekommen."),
    },
    "fr": {
        "confirmed": Texts(
            "Votre commande $order est confirmée",
            "Bonjour $name,\n\nmerci : nous avons bien reçu votre commande $order et la préparons.",
            "Votre commande $order est confirmée et en cours de préparation."),
        "shipped": Texts(
            "Votre commande $order est en route",
            "Bonjour $name,\n\nvotre colis est parti.$tracking",
            "Votre commande $order est en route.$tracking"),
        "ready_for_pickup": Texts(
            "Votre commande $order est prête à être retirée",
            "Bonjour $name,\n\nvotre commande vous attend à $location.$pickup_note",
            "Votre commande $order vous attend à $location.$pickup_note"),
        "delayed": Texts(
            "Votre commande $order est retardée",
            "Bonjour $name,\n\nvotre colis a du retard$eta_note. Veuillez nous en excuser.$tracking",
            "Votre commande $order est retardée. Veuillez nous en excuser.$tracking"),
        "delivered": Texts(
            "Votre commande $order a été livrée",
            "Bonjour $name,\n\nvotre colis est arrivé. Bonne découverte !",
            "Votre commande $order a été livrée. Bonne découverte !"),
        "cancelled": Texts(
            "Votre commande $order est annulée",
            "Bonjour $name,\n\nvotre commande $order a été annulée. Tout montant payé vous sera remboursé.",
            "Votre commande $order a été annulée. Tout montant payé vous sera remboursé."),
        "rejected": Texts(
            "Nous n'avons pas pu accepter votre commande $order",
            "Bonjour $name,\n\nnous sommes désolés : nous n'avons pas pu accepter votre commande $order, elle ne "
            "sera pas expédiée. Tout montant payé vous sera remboursé.",
            "Nous n'avons pas pu accepter votre commande $order. Tout montant payé vous sera remboursé."),
        "refund_issued": Texts(
            "Remboursement de la commande $order",
            "Bonjour $name,\n\n$refund",
            "Remboursement de la commande $order : $amount$credit_note."),
        "return_approved": Texts(
            "Votre retour $rma pour la commande $order est accepté",
            "Bonjour $name,\n\nnous avons accepté votre retour $rma pour la commande $order. Merci de joindre le "
            "numéro de retour $rma à votre colis.$label_note",
            "Votre retour $rma pour la commande $order est accepté.$label_emailed_note"),
        "return_received": Texts(
            "Nous avons bien reçu votre retour pour la commande $order",
            "Bonjour $name,\n\nvotre retour $rma nous est bien parvenu. Nous vérifions les articles et "
            "reviendrons vers vous dès que ce sera fait.",
            "Nous avons bien reçu votre retour $rma pour la commande $order."),
    },
}

# Optional sentences: name -> variants, each (the values it needs, its text). The first variant whose
# values are all present is used; none: the sentence is left out. A variant needing nothing is the
# fallback.
Variants = tuple[tuple[tuple[str, ...], str], ...]
OPTIONAL: dict[str, dict[str, Variants]] = {
    "en": {
        "tracking": ((("tracking_url", "tracking_code"), " Follow it here: $tracking_url (tracking number "
                      "$tracking_code)."),
                     (("tracking_url",), " Follow it here: $tracking_url"),
                     (("tracking_code",), " Your tracking number: $tracking_code.")),
        "eta_note": ((("eta",), "; the carrier now expects it on $eta"),),
        "pickup_note": ((("pickup_code",), " Show this code when you collect it: $pickup_code."),),
        "label_note": ((("label_url",), " Print your return label here: $label_url"),),
        "label_emailed_note": ((("label_emailed",), " We have emailed you the return label."),),
        "refund": ((("store_credit",), "we have added $amount to your store credit for your order $order."),
                   ((), "we have refunded $amount for your order $order.")),
        "credit_note": ((("store_credit",), " as store credit"),),
    },
    "es": {
        "tracking": ((("tracking_url", "tracking_code"), " Síguelo aquí: $tracking_url (número de seguimiento "
                      "$tracking_code)."),
                     (("tracking_url",), " Síguelo aquí: $tracking_url"),
                     (("tracking_code",), " Tu número de seguimiento: $tracking_code.")),
        "eta_note": ((("eta",), "; el transportista lo espera ahora para el $eta"),),
        "pickup_note": ((("pickup_code",), " Muestra este código al recogerlo: $pickup_code."),),
        "label_note": ((("label_url",), " Imprime tu etiqueta de devolución aquí: $label_url"),),
        "label_emailed_note": ((("label_emailed",), " Tienes la etiqueta en tu correo electrónico."),),
        "refund": ((("store_credit",), "hemos añadido $amount a tu saldo en la tienda por tu pedido $order."),
                   ((), "te hemos reembolsado $amount por tu pedido $order.")),
        "credit_note": ((("store_credit",), " como saldo en la tienda"),),
    },
    "de": {
        "tracking": ((("tracking_url", "tracking_code"), " Sendungsverfolgung: $tracking_url (Sendungsnummer "
                      "$tracking_code)."),
                     (("tracking_url",), " Sendungsverfolgung: $tracking_url"),
                     (("tracking_code",), " Ihre Sendungsnummer: $tracking_code.")),
        "eta_note": ((("eta",), "; der Zusteller erwartet es jetzt am $eta"),),
        "pickup_note": ((("pickup_code",), " Zeigen Sie bei der Abholung diesen Code: $pickup_code."),),
        "label_note": ((("label_url",), " Ihr Rücksendeetikett zum Ausdrucken: $label_url"),),
        "label_emailed_note": ((("label_emailed",), " Das Rücksendeetikett haben wir Ihnen per E-Mail geschickt."),),
        "refund": ((("store_credit",), "wir haben Ihnen $amount für Ihre Bestellung $order als Guthaben "
                                       "gutgeschrieben."),
                   ((), "wir haben Ihnen $amount für Ihre Bestellung $order erstattet.")),
        "credit_note": ((("store_credit",), " als Guthaben"),),
    },
    "fr": {
        "tracking": ((("tracking_url", "tracking_code"), " Suivez-le ici : $tracking_url (numéro de suivi "
                      "$tracking_code)."),
                     (("tracking_url",), " Suivez-le ici : $tracking_url"),
                     (("tracking_code",), " Votre numéro de suivi : $tracking_code.")),
        "eta_note": ((("eta",), " ; le transporteur l'attend désormais le $eta"),),
        "pickup_note": ((("pickup_code",), " Présentez ce code au retrait : $pickup_code."),),
        "label_note": ((("label_url",), " Imprimez votre étiquette de retour ici : $label_url"),),
        "label_emailed_note": ((("label_emailed",), " Nous vous avons envoyé l'étiquette de retour par e-mail."),),
        "refund": ((("store_credit",), "nous vous avons accordé un avoir de $amount pour votre commande $order."),
                   ((), "nous vous avons remboursé $amount pour votre commande $order.")),
        "credit_note": ((("store_credit",), " sous forme d'avoir"),),
    },
}
