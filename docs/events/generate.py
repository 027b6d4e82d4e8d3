"""Writes one JSON schema per domain event into docs/events/, from shared/domain/events.py.

    python docs/events/generate.py          # from the repository root

The output is deterministic (sorted keys, two-space indent, trailing newline), so a schema only
changes when its event class does. tests/unit/test_event_docs.py fails when a file here is missing,
stale or left over, or when docs/events.md has no row for an event type.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

EVENTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = EVENTS_DIR.parent.parent
# Run as a script, only docs/events/ is on sys.path; the event classes live in `shared`.
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from shared.domain.event_catalog import EVENT_TYPES
from shared.domain.events import DomainEvent  # noqa: E402

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def schema(event: type[DomainEvent]) -> dict:
    """The schema of the event's `detail`: pydantic's, plus the dialect and the class's description."""
    generated = event.model_json_schema()
    generated["$schema"] = JSON_SCHEMA_DIALECT
    generated.setdefault("description", event.description)
    return generated


def render(event: type[DomainEvent]) -> str:
    return json.dumps(schema(event), sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def expected_files() -> dict[str, str]:
    """File name -> content, for every event type."""
    return {f"{event.event_type}.json": render(event) for event in EVENT_TYPES}


def main() -> None:
    expected = expected_files()
    for stale in sorted(EVENTS_DIR.glob("*.json")):
        if stale.name not in expected:
            stale.unlink()
            print(f"removed {stale.relative_to(REPO_ROOT)}")
    for name, content in expected.items():
        path = EVENTS_DIR / name
        if not path.exists() or path.read_text(encoding="utf-8") != content:
            path.write_text(content, encoding="utf-8")
            print(f"wrote {path.relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    main()
