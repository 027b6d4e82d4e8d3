"""The console's People page in a real browser (tests/e2e/console/people.mjs, the same Chromium and
playwright-core as tests/e2e/test_console.py) against the local runtime and its emulated user pool: an admin
invites, changes roles, disables and enables a person; a viewer is told the page is admin's. And the deployed
sign-in through the pool's managed login (authorization code with PKCE), its pages stood in for
(tests/e2e/console/pool_sign_in.mjs)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.e2e.test_console import CHROMIUM, REPO, SCREENSHOTS, browser_ready  # noqa: F401 (a fixture)

pytestmark = pytest.mark.e2e

SCRIPT = Path(__file__).resolve().parent / "console" / "people.mjs"
POOL_SIGN_IN = Path(__file__).resolve().parent / "console" / "pool_sign_in.mjs"
PAGES = ["people", "people-invited", "people-disabled", "people-viewer"]


def run_script(script: Path, url: str, pages: list[str]) -> None:
    for name in pages:
        (SCREENSHOTS / f"{name}.png").unlink(missing_ok=True)
    run = subprocess.run(["node", str(script)], cwd=REPO, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "OMS_URL": url, "CHROMIUM": CHROMIUM, "SCREENSHOTS": str(SCREENSHOTS)})
    print(run.stdout)
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}"
    assert "all steps passed" in run.stdout
    assert all((SCREENSHOTS / f"{name}.png").is_file() for name in pages)


def test_an_admin_manages_people_in_the_console_and_a_viewer_may_not(oms, browser_ready):  # noqa: F811
    run_script(SCRIPT, oms.url, PAGES)


def test_a_person_signs_in_through_the_pools_managed_login_with_pkce(oms, browser_ready):  # noqa: F811
    run_script(POOL_SIGN_IN, oms.url, ["sign-in-pool"])
