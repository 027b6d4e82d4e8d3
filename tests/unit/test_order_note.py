"""The optional order note: bounded, and invisible to the fingerprint of an order without one, so a
retry of an order captured before the note existed still matches it."""

from __future__ import annotations

import hashlib
import json

import pytest
from pydantic import ValidationError

from shared.domain.orders import OrderRequest
from tests.factories import order_body, order_request


def test_an_order_without_a_note_keeps_the_fingerprint_it_had_before_notes_existed():
    request = order_request()
    before_notes = {k: v for k, v in request.model_dump(mode="json").items() if k != "note"}
    canonical = json.dumps(before_notes, sort_keys=True, separators=(",", ":"))
    assert request.fingerprint() == hashlib.sha256(canonical.encode()).hexdigest()


def test_a_note_is_part_of_the_body():
    assert order_request(note="leave at the door").fingerprint() != order_request().fingerprint()
    assert order_request(note="a").fingerprint() != order_request(note="b").fingerprint()


@pytest.mark.parametrize("note", ["", "x" * 1001])
def test_a_note_is_bounded(note):
    with pytest.raises(ValidationError):
        OrderRequest.model_validate(order_body(note=note))
