"""The console's Exceptions page offers the kinds the API lists (shared/domain/reconciliation.py
ExceptionKind): a kind added there and not in dashboard/src/pages/exceptions.ts fails here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shared.domain.reconciliation import ExceptionKind

pytestmark = pytest.mark.unit

PAGE = Path(__file__).resolve().parents[2] / "dashboard" / "src" / "pages" / "exceptions.ts"


def test_the_exceptions_page_offers_every_kind_and_no_other():
    listed = re.search(r"const KINDS = \[([^\]]*)\]", PAGE.read_text())
    assert listed is not None, "exceptions.ts has no KINDS list"
    assert sorted(re.findall(r'"([A-Z_]+)"', listed.group(1))) == sorted(k.value for k in ExceptionKind)
