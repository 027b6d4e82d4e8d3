"""Customer messages in the customer's language, English when we have none."""

from __future__ import annotations

import pytest

from shared.domain.notifications import LANGUAGES, Moment, e164, language_for, render


@pytest.mark.parametrize(("given", "used"), [("de-CH", "de"), ("es", "es"), ("FR", "fr"), ("pt-BR", "en"),
                                              (None, "en"), ("", "en")])
def test_language_choice_falls_back_to_english(given, used):
    assert language_for(given) == used


@pytest.mark.parametrize("language", sorted(LANGUAGES))
@pytest.mark.parametrize("moment", list(Moment))
def test_every_moment_has_text_in_every_language_and_fills_its_values(language, moment):
    message = render(moment, language, name="Ana", order="W-1", tracking_url="https://t.example/1Z",
                     tracking_code="1Z", pickup_code="4711", location="Paris Rivoli", eta="2026-12-01",
                     amount="19.99 EUR")
    assert message.language == language
    assert "W-1" in message.subject and "$" not in message.subject + message.body
    assert "Ana" in message.body


def test_texts_differ_by_language():
    subjects = {render(Moment.SHIPPED, lang, order="W-1").subject for lang in LANGUAGES}
    assert len(subjects) == len(LANGUAGES)
    assert "https://t.example/x" in render(Moment.SHIPPED, "de", tracking_url="https://t.example/x").body
    assert "4711" in render(Moment.READY_FOR_PICKUP, "fr", pickup_code="4711").body


# --- text messages (SMS): one line, the news and the link --------------------------------------------

@pytest.mark.parametrize("language", sorted(LANGUAGES))
@pytest.mark.parametrize("moment", list(Moment))
def test_every_moment_has_a_one_line_text_message(language, moment):
    sms = render(moment, language, name="Ana\nBcc", order="W-1", tracking_url="https://t.example/1Z",
                 location="Paris\r\nRivoli", amount="19.99 EUR", rma="RMA-7", label_url="https://l.example/x").sms
    assert "W-1" in sms and "$" not in sms
    assert "\n" not in sms and "\r" not in sms and "  " not in sms
    assert "Ana" not in sms  # a greeting costs a message part; the order number says whose it is
    assert len(sms) < 160


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_the_text_message_carries_the_tracking_link(language):
    assert "https://t.example/1Z" in render(Moment.SHIPPED, language, order="W-1",
                                            tracking_url="https://t.example/1Z").sms


# --- returns and refunds ------------------------------------------------------------------------------

@pytest.mark.parametrize(("language", "subject", "sentence"), [
    ("en", "Your return RMA-7 for order W-1 is approved", "Print your return label here: https://l.example/x"),
    ("es", "Tu devolución RMA-7 del pedido W-1 está aprobada", "Imprime tu etiqueta de devolución aquí: "
                                                                 "https://l.example/x"),
    ("de", "Ihre Rücksendung RMA-7 zu Bestellung W-1 ist genehmigt", "Ihr Rücksendeetikett zum Ausdrucken: "
                                                                      "https://l.example/x"),
    ("fr", "Votre retour RMA-7 pour la commande W-1 est accepté", "Imprimez votre étiquette de retour ici : "
                                                                   "https://l.example/x"),
])
def test_an_approved_return_emails_its_number_and_label_link(language, subject, sentence):
    message = render(Moment.RETURN_APPROVED, language, name="Ana", order="W-1", rma="RMA-7",
                     label_url="https://l.example/x", label_emailed="yes")
    assert message.subject == subject
    assert "RMA-7" in message.body and message.body.endswith(sentence)
    assert "RMA-7" in message.sms and "l.example" not in message.sms  # the link is too long for an SMS


@pytest.mark.parametrize(("language", "sms"), [
    ("en", "Your return RMA-7 for order W-1 is approved. We have emailed you the return label."),
    ("es", "Tu devolución RMA-7 del pedido W-1 está aprobada. Tienes la etiqueta en tu correo electrónico."),
    ("de", "Ihre Rücksendung RMA-7 zu Bestellung W-1 ist genehmigt. Das Rücksendeetikett haben wir Ihnen per "
           "E-Mail geschickt."),
    ("fr", "Votre retour RMA-7 pour la commande W-1 est accepté. Nous vous avons envoyé l'étiquette de retour "
           "par e-mail."),
])
def test_the_approval_sms_says_the_label_was_emailed(language, sms):
    message = render(Moment.RETURN_APPROVED, language, name="Ana", order="W-1", rma="RMA-7",
                     label_url="https://l.example/x", label_emailed="yes")
    assert message.sms == sms


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_an_approved_return_without_a_label_names_none(language):
    message = render(Moment.RETURN_APPROVED, language, name="Ana", order="W-1", rma="RMA-7")
    assert "http" not in message.body + message.sms and message.body.endswith(".")


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_a_received_return_names_its_number(language):
    message = render(Moment.RETURN_RECEIVED, language, name="Ana", order="W-1", rma="RMA-7")
    assert "W-1" in message.subject and "RMA-7" in message.body and "RMA-7" in message.sms


@pytest.mark.parametrize(("language", "paid_back", "credited"), [
    ("en", "we have refunded 19.99 EUR for your order W-1.",
     "we have added 19.99 EUR to your store credit for your order W-1."),
    ("es", "te hemos reembolsado 19,99 EUR por tu pedido W-1.",
     "hemos añadido 19,99 EUR a tu saldo en la tienda por tu pedido W-1."),
    ("de", "wir haben Ihnen 19,99 EUR für Ihre Bestellung W-1 erstattet.",
     "wir haben Ihnen 19,99 EUR für Ihre Bestellung W-1 als Guthaben gutgeschrieben."),
    ("fr", "nous vous avons remboursé 19,99 EUR pour votre commande W-1.",
     "nous vous avons accordé un avoir de 19,99 EUR pour votre commande W-1."),
])
def test_a_refund_as_store_credit_says_so(language, paid_back, credited):
    amount = "19.99 EUR" if language == "en" else "19,99 EUR"
    refund = render(Moment.REFUND_ISSUED, language, name="Ana", order="W-1", amount=amount)
    credit = render(Moment.REFUND_ISSUED, language, name="Ana", order="W-1", amount=amount, store_credit="yes")
    assert refund.body.endswith(paid_back) and credit.body.endswith(credited)
    assert amount in refund.sms and amount in credit.sms and credit.sms != refund.sms


# --- phone numbers ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("written", "number"), [
    ("+49 30 1234 5678", "+493012345678"),
    ("+49 (0)30 1234-5678", "+493012345678"),  # the trunk 0 in brackets is never dialled from abroad
    ("+44 (0) 20 7946 0958", "+442079460958"),
    ("+1 (415) 555-0100", "+14155550100"),
    ("+33612345678", "+33612345678"),
])
def test_phone_numbers_written_internationally_become_e164(written, number):
    assert e164(written) == number


@pytest.mark.parametrize("written", [
    None, "", "030 1234 5678",  # no country code: which country is a guess
    "0049 30 12345678", "011 1 415 555 0100",  # an international prefix differs by country: not guessed
    "+0 30 1234", "+49 30", "+49 30 1234 5678 9012 3",  # no country code starts with 0; 7 to 15 digits
    "+４９ 30 1234 5678",  # digits of another script
])
def test_numbers_not_written_internationally_are_not_completed(written):
    assert e164(written) is None
