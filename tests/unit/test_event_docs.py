"""The event documentation stays true to the code: one up-to-date JSON schema per event type in
docs/events/, and one row per event type in docs/events.md naming the consumers the wiring subscribes.

Fix a failure with `python docs/events/generate.py` (schemas) or by editing docs/events.md (table).
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from infra import wiring
from shared.domain.event_catalog import EVENT_TYPES
from shared.outbox_format import EVENT_SOURCE

pytestmark = pytest.mark.unit

REPO_ROOT = Path(__file__).resolve().parents[2]
EVENTS_DIR = REPO_ROOT / "docs" / "events"
EVENTS_MD = REPO_ROOT / "docs" / "events.md"
EVENT_NAMES = [event.event_type for event in EVENT_TYPES]
QUEUE_CONSUMERS = [fn for fn in wiring.FUNCTIONS if fn.queue is not None]


def _generator():
    spec = importlib.util.spec_from_file_location("oms_docs_events_generate", EVENTS_DIR / "generate.py")
    assert spec and spec.loader, "docs/events/generate.py is missing"
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _table_rows() -> dict[str, str]:
    """Event type -> the rest of its row in docs/events.md (first cell names the event in backticks)."""
    rows: dict[str, str] = {}
    for line in EVENTS_MD.read_text(encoding="utf-8").splitlines():
        if not line.lstrip().startswith("|"):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        found = re.search(r"`(\w+)`", cells[0]) if cells else None
        if found:
            rows[found.group(1)] = " | ".join(cells[1:])
    return rows


def _subscribers(event_type: str) -> set[str]:
    """Queue consumers whose EventBridge patterns can match this detail-type."""
    return {
        fn.name
        for fn in QUEUE_CONSUMERS
        for pattern in fn.queue.event_patterns
        if EVENT_SOURCE in pattern.get("source", [EVENT_SOURCE])
        and event_type in pattern.get("detail-type", [event_type])
    }


def test_every_event_type_has_a_distinct_name():
    assert len(set(EVENT_NAMES)) == len(EVENT_NAMES)


@pytest.mark.parametrize("name", EVENT_NAMES)
def test_schema_file_exists_and_matches_the_code(name):
    path = EVENTS_DIR / f"{name}.json"
    assert path.exists(), f"{path.relative_to(REPO_ROOT)} is missing: run python docs/events/generate.py"
    expected = _generator().expected_files()[f"{name}.json"]
    assert path.read_text(encoding="utf-8") == expected, (
        f"{path.relative_to(REPO_ROOT)} is out of date with shared/domain/events.py: "
        "run python docs/events/generate.py"
    )


def test_no_schema_file_for_an_event_that_no_longer_exists():
    leftovers = sorted(p.name for p in EVENTS_DIR.glob("*.json") if p.stem not in EVENT_NAMES)
    assert not leftovers, f"schemas without an event class: {leftovers}; run python docs/events/generate.py"


def test_generated_files_are_deterministic():
    generator = _generator()
    first, second = generator.expected_files(), generator.expected_files()
    assert first == second
    for content in first.values():
        assert content.endswith("}\n")


@pytest.mark.parametrize("name", EVENT_NAMES)
def test_events_md_has_a_row_per_event_type(name):
    assert name in _table_rows(), f"docs/events.md has no table row for {name}"


@pytest.mark.parametrize("name", EVENT_NAMES)
def test_events_md_names_exactly_the_subscribed_consumers(name):
    row = _table_rows().get(name, "")
    named = {fn.name for fn in QUEUE_CONSUMERS if re.search(rf"(?<![\w-]){re.escape(fn.name)}(?![\w-])", row)}
    assert named == _subscribers(name), (
        f"docs/events.md row for {name} names consumers {sorted(named)}, "
        f"but infra/wiring.py subscribes {sorted(_subscribers(name))}"
    )
