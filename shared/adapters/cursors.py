"""Listing cursors: the last key a page ended on (DynamoDB's LastEvaluatedKey shape, which both
stores return), encoded for a URL and checked when it comes back."""

from __future__ import annotations

import base64
import json

from shared.errors import InvalidInput


def encode_cursor(last_key: dict | None) -> str | None:
    if not last_key:
        return None
    return base64.urlsafe_b64encode(json.dumps(last_key, separators=(",", ":")).encode()).decode()


def decode_cursor(cursor: str | None, expected_attrs: set[str], partition: tuple[str, str]) -> dict | None:
    """A cursor is the last key we returned; a forged or foreign one is a 422, not a 500."""
    if not cursor:
        return None
    try:
        start = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        ok = (
            isinstance(start, dict)
            and set(start) == expected_attrs
            and all(isinstance(v, dict) and set(v) == {"S"} and isinstance(v["S"], str) and 0 < len(v["S"]) <= 1024
                    for v in start.values())
            and start[partition[0]]["S"] == partition[1]
        )
    except ValueError:
        ok = False
    if not ok:
        raise InvalidInput("cursor is not one this listing returned", field="cursor")
    return start
