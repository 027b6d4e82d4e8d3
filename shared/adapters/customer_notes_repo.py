"""Customer service notes. The only module that knows their keys.

- note: pk=CUSTOMER_NOTES#<customer id>, sk=NOTE#<at ISO>#<note id>: text, by, at (newest last by key)
- request id: pk=CUSTOMER_NOTES#<customer id>, sk=REQUEST#<request id>: the note's sort key, so a
  retried POST with the same request id answers the note it wrote instead of a second one

Notes are an operator's, about a customer id as the orders carry it; they are kept (no TTL) and never
leave the table but through the operator's API (no event carries them: they can hold personal data).
"""

from __future__ import annotations

from datetime import datetime

from shared.adapters.expressions import NEW, KeyQuery, Put, SortRange
from shared.domain.customers import CustomerNote
from shared.unit_of_work import AlreadyExists, Store


def notes_pk(customer_id: str) -> str:
    return f"CUSTOMER_NOTES#{customer_id}"


def _note_sk(at: datetime, note_id: str) -> str:
    return f"NOTE#{at.isoformat()}#{note_id}"


class CustomerNoteRepository:
    def __init__(self, store: Store):
        self.store = store

    def add(self, note: CustomerNote, request_id: str | None) -> list[Put]:
        """The note, new; with a request id also its request item, new (refused: AlreadyExists("customer_note",
        request id, the stored note's sort key))."""
        sk = _note_sk(note.at, note.note_id)
        item = {"pk": notes_pk(note.customer_id), "sk": sk, "note_id": note.note_id, "text": note.text,
                "by": note.by, "at": note.at.isoformat()}
        writes = [Put(item, when=NEW, refused=lambda _old: AlreadyExists("customer_note", note.note_id))]
        if request_id is not None:
            writes.insert(0, Put({"pk": notes_pk(note.customer_id), "sk": f"REQUEST#{request_id}", "note_sk": sk},
                                 when=NEW, refused=lambda old: AlreadyExists("customer_note", request_id,
                                                                               (old or {}).get("note_sk"))))
        return writes

    def get(self, customer_id: str, note_sk: str) -> CustomerNote | None:
        item = self.store.get(notes_pk(customer_id), note_sk)
        return _note(customer_id, item) if item else None

    def newest(self, customer_id: str, limit: int) -> list[CustomerNote]:
        """The newest `limit` notes, newest first (one query, backwards)."""
        items, _ = self.store.query(KeyQuery(notes_pk(customer_id), SortRange.prefix("NOTE#")), limit=limit,
                                    forward=False, consistent=True)
        return [_note(customer_id, i) for i in items]


def _note(customer_id: str, item: dict) -> CustomerNote:
    return CustomerNote(note_id=item["note_id"], customer_id=customer_id, text=item["text"], by=item["by"],
                        at=datetime.fromisoformat(item["at"]))
