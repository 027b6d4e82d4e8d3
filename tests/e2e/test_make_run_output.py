"""What `make run` prints: the banner as soon as the OMS is up (with the API keys and the webhook
signing secrets), no connection-pool warnings under load, and a quiet stop on Ctrl+C or SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from local.emulator import DEMO_CARRIER_SECRET
from tests.factories import order_body

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def runtime(tmp_path):
    port = free_port()
    env = {**os.environ, "OMS_PORT": str(port), "OMS_LOCAL_OUTBOX": str(tmp_path / "outbox")}
    env.pop("PYTHONUNBUFFERED", None)  # the runtime must flush its banner itself
    process = subprocess.Popen([sys.executable, "-m", "local.runtime"], cwd=REPO, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               # Its own process group: a terminal's Ctrl+C reaches the whole group.
                               start_new_session=True)
    lines: list[str] = []
    errors: list[str] = []
    threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True).start()
    threading.Thread(target=lambda: errors.extend(process.stderr), daemon=True).start()
    deadline = time.monotonic() + 60
    while not any("Press Ctrl+C" in line for line in lines):
        assert process.poll() is None, "".join(errors)
        assert time.monotonic() < deadline, f"no banner yet (a pipe, so only if flushed): {lines} {errors}"
        time.sleep(0.1)
    yield process, f"http://127.0.0.1:{port}", lines, errors
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)


def load(url: str) -> None:
    """Enough concurrent work to share the clients among many threads."""
    def capture(n):
        body = order_body([("TEE-BLK-M", 1)], channel_order_id=f"LOAD-{n}", price="19.99")
        return requests.post(url + "/orders", json=body, headers={"x-api-key": "demo-web-key"}, timeout=30)

    with ThreadPoolExecutor(max_workers=12) as pool:
        assert {r.status_code for r in pool.map(capture, range(36))} == {202}
    time.sleep(2)  # allocation, fulfilment requests, notifications run on the pollers meanwhile


@pytest.mark.parametrize("stop", ["ctrl-c", "sigterm"])
def test_the_banner_comes_at_once_the_output_stays_clean_and_the_stop_is_quiet(runtime, stop):
    process, url, lines, errors = runtime
    banner = "".join(lines)
    assert f"OMS running at {url}" in banner and "demo-operator-key" in banner
    for secret in DEMO_CARRIER_SECRET.values():
        assert secret in banner
    assert "easypost" in banner and "shippo" in banner and "aftership" in banner

    load(url)
    if stop == "ctrl-c":
        os.killpg(process.pid, signal.SIGINT)  # the runtime and its emulator child, as a terminal does
    else:
        process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0

    time.sleep(0.2)
    output = "".join(errors)
    assert "Traceback" not in output, output
    assert "Connection pool is full" not in output, output
    assert "Stopping" in "".join(lines)
