"""Tests by cost: unit (pure), integration (handlers on moto), infra (CDK synth), e2e (local runtime).

Each folder's tests get its marker, so `make test-unit` etc. select them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import settings

# No per-example deadline: timing belongs in benchmarks, and a property must not fail because the
# machine running it is busy (CI has two cores shared by pytest's workers).
settings.register_profile("oms", deadline=None)
settings.load_profile("oms")

_MARKERS = {"unit", "integration", "infra", "e2e"}


def pytest_collection_modifyitems(items):
    for item in items:
        folder = Path(str(item.fspath)).parent.name
        if folder in _MARKERS:
            item.add_marker(getattr(pytest.mark, folder))
