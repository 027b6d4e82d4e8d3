"""The optional order note: bounded, and invisible to the fingerprint of an order without one, so a
retry of an order captured before the note existed still matches it."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.domain.orders import OrderRequest
from tests.factories import order_body, order_request


def hashed_body(request: OrderRequest, monkeypatch) -> dict:
    """The canonical body `fingerprint` hashes."""
    from shared.domain import orders

    seen = []
    real = orders.json.dumps
    monkeypatch.setattr(orders.json, "dumps", lambda obj, **kw: seen.append(obj) or real(obj, **kw))
    request.fingerprint()
    monkeypatch.setattr(orders.json, "dumps", real)
    return seen[-1]


def test_an_order_without_a_note_keeps_the_fingerprint_it_had_before_notes_existed(monkeypatch):
    assert "note" not in hashed_body(order_request(), monkeypatch)
    assert hashed_body(order_request(note="ring twice"), monkeypatch)["note"] == "ring twice"


def test_a_note_is_part_of_the_body():
    assert order_request(note="leave at the door").fingerprint() != order_request().fingerprint()
    assert order_request(note="a").fingerprint() != order_request(note="b").fingerprint()


@pytest.mark.parametrize("note", ["", "x" * 1001])
def test_a_note_is_bounded(note):
    with pytest.raises(ValidationError):
        OrderRequest.model_validate(order_body(note=note))
