"""The soak's clients (bench/soak.py): the API called as channels, operator and carriers would, and the
table watched while waiting.

Requests go through the local runtime's API Gateway stand-in in-process (its WSGI app, no sockets:
the clients share the box with what they test), and are retried on 5xx as a channel retries (the
same body: every write API is idempotent). Every 2xx answer to a write is noted (`Acknowledged`):
the checker then finds each in the table. Waiting reads the table directly (a consistent GetItem):
watching is not part of what is tested, and it would otherwise queue behind the API's turns.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from werkzeug.test import Client

from bench.invariants import Acknowledged, Violation
from shared.adapters.packed import document_json

RETRIED = frozenset({500, 502, 503, 504})
ATTEMPTS = 12


class GaveUp(Exception):
    """A request still failed after every retry (or was refused in a way the script did not expect)."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any


class Api:
    def __init__(self, oms):
        self.app = oms.http.app
        self.keys = {k.principal: k.value for k in oms.keys}
        self.acks = Acknowledged()
        self.observed: list[Violation] = []
        self.stats: Counter[str] = Counter()
        self.lock = threading.Lock()

    def note(self, what: str, n: int = 1) -> None:
        with self.lock:
            self.stats[what] += n

    def call(self, method: str, path: str, as_: str | None = "operator", body: Any = None,
             ok: tuple[int, ...] = (200, 201, 202), data: bytes | None = None,
             headers: dict | None = None) -> Answer:
        """The answer once it is not a 5xx (retried with backoff); GaveUp unless its status is in `ok`."""
        sent = dict(headers or {})
        if as_ is not None:
            sent["x-api-key"] = self.keys[as_]
        for attempt in range(ATTEMPTS):
            self.note("requests")
            response = Client(self.app, use_cookies=False).open(
                path, method=method, json=body if data is None else None, data=data, headers=sent)
            status = response.status_code
            if status not in RETRIED:
                text = response.get_data(as_text=True)
                answer = Answer(status, json.loads(text) if text else None)
                if status not in ok:
                    raise GaveUp(f"{method} {path}: {status} {text[:300]}")
                return answer
            self.note(f"answered {status}, retried")
            time.sleep(min(1.0, 0.02 * 2 ** attempt) * random.uniform(0.5, 1.5))
        raise GaveUp(f"{method} {path}: still {status} after {ATTEMPTS} attempts")


class Table:
    """Consistent reads of single items, for the scripts' waits (parsed documents, plain dicts)."""

    def __init__(self, client, name: str):
        self.client, self.name = client, name

    def doc(self, pk: str, sk: str) -> dict | None:
        item = self.client.get_item(TableName=self.name, Key={"pk": {"S": pk}, "sk": {"S": sk}},
                                    ConsistentRead=True).get("Item")
        if not item:
            return None
        document = document_json({k: v.get("S", v.get("B")) for k, v in item.items() if k in ("doc", "docz")})
        return json.loads(document) if document else None

    def order(self, order_id: str) -> dict:
        doc = self.doc(f"ORDER#{order_id}", "ORDER")
        if doc is None:
            raise GaveUp(f"order {order_id} is not in the table")
        return doc

    def fulfillment_order(self, fo_id: str) -> dict | None:
        return self.doc(f"FULFILLMENT#{fo_id}", "FULFILLMENT")

    def wait(self, read, until, timeout: float = 60.0):
        """`read()` until `until(value)`; the last value either way (the caller decides)."""
        deadline, pause = time.monotonic() + timeout, 0.1
        while True:
            value = read()
            if until(value) or time.monotonic() > deadline:
                return value
            time.sleep(pause)
            pause = min(1.0, pause * 1.5)
