"""Customer messages in the customer's language, English when we have none."""

from __future__ import annotations

import pytest

from shared.domain.notifications import LANGUAGES, Moment, language_for, render


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
