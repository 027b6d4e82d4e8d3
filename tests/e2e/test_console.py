"""The operator console (dashboard/) in a real browser: Debian's Chromium driven by playwright-core
(tests/e2e/console/console.mjs) against the local runtime, which serves it at /dashboard. Screenshots
of every page go to tests/artifacts/screenshots/ (not committed).

`make test` installs what this needs (chromium with apt-get where it is missing and we are root, the
npm packages with `npm ci`, the build). Locally, without them, it skips with the reason; in CI
(CI=true) a missing piece fails instead, so the browser test can never silently not run there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).resolve().parent / "console" / "console.mjs"
SCREENSHOTS = REPO / "tests" / "artifacts" / "screenshots"
CHROMIUM = os.environ.get("OMS_CHROMIUM", "/usr/bin/chromium")
PAGES = ["orders", "orders-search", "order-held", "order", "inventory", "fulfilment", "exceptions", "customers",
         "error-refused", "error-unreachable", "sign-in", "signed-in-person", "error-role", "orders-768", "order-768",
         "inventory-768", "customers-768", "sign-in-first", "order-viewer", "reports", "routing-viewer", "routing", "order-return",
         "reports-768", "routing-768", "fulfilment-warehouse",
         "fulfilment-ship", "orders-stuck", "return", "returns", "purchasing", "routing-edit", "purchasing-received",
         "returns-768", "purchasing-768", "fulfilment-pickup", "orders-late"]


def missing(what: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{what} (CI must run the browser test: `make test` installs it)")
    pytest.skip(f"{what}: `make test` installs it")


@pytest.fixture(scope="module")
def browser_ready() -> None:
    if not Path(CHROMIUM).is_file():
        missing(f"no Chromium at {CHROMIUM} (Debian's package `chromium`)")
    node = shutil.which("node")
    if node is None or not (REPO / "node_modules" / "playwright-core").is_dir():
        missing("Node.js or node_modules/playwright-core is missing (npm ci)")
    if not (REPO / "dashboard" / "dist" / "index.html").is_file():
        missing("the console is not built (npm run build:dashboard)")


def test_the_console_shows_orders_as_they_come_and_the_operator_releases_a_hold_and_adjusts_stock(oms, outbox, browser_ready):
    # The runtime serves the build and offers the demo operator key on its own origin only.
    assert requests.get(oms.url + "/dashboard", allow_redirects=False, timeout=10).headers["Location"] == "/dashboard/"
    assert requests.get(oms.url + "/dashboard/config.json", timeout=10).json()["demoOperatorKey"] == oms.key("operator")
    # Only this test's screenshots: the people tests (another worker under -n) write theirs to the same folder.
    for name in PAGES:
        (SCREENSHOTS / f"{name}.png").unlink(missing_ok=True)
    run = subprocess.run(["node", str(SCRIPT)], cwd=REPO, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "OMS_URL": oms.url, "CHROMIUM": CHROMIUM, "SCREENSHOTS": str(SCREENSHOTS),
                              "OUTBOX": str(outbox)})
    print(run.stdout)
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}"
    assert "all steps passed" in run.stdout
    assert [name for name in PAGES if not (SCREENSHOTS / f"{name}.png").is_file()] == []
