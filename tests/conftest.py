"""Tests by cost: unit (pure), integration (handlers on moto), infra (CDK synth), e2e (local runtime).

Each folder's tests get its marker, so `make test-unit` etc. select them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

_MARKERS = {"unit", "integration", "infra", "e2e"}


def pytest_collection_modifyitems(items):
    for item in items:
        folder = Path(str(item.fspath)).parent.name
        if folder in _MARKERS:
            item.add_marker(getattr(pytest.mark, folder))
