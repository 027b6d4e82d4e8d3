"""SnapStart runtime hooks (shared/snapstart.py): registered by every API function where Lambda's
runtime offers them; before the snapshot they build what a first request would, after a restore they
renew the clients. Lambda's `snapshot_restore_py` stands in as a fake that records the hooks; each
case runs in its own interpreter, as a function's init does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from shared import snapstart

ROOT = Path(__file__).resolve().parents[2]

FAKE_RUNTIME = """
import json, sys, types
hooks = {"before": [], "after": []}
fake = types.ModuleType("snapshot_restore_py")
fake.register_before_snapshot = lambda f, *args: hooks["before"].append((f, args))
fake.register_after_restore = lambda f, *args: hooks["after"].append((f, args))
sys.modules["snapshot_restore_py"] = fake
"""

SNAPSHOT_AND_RESTORE = FAKE_RUNTIME + """
import functions.orders_api.handler as handler
routes = handler.app._static_routes + handler.app._dynamic_routes
report = {"hooks": [len(hooks["before"]), len(hooks["after"])],
          "built_at_import": sum(r._dependant is not None for r in routes), "boto3_at_import": "boto3" in sys.modules}
for hook, args in hooks["before"]:
    hook(*args)
from shared.adapters.aws import client
from shared.repositories import repositories
repos, dynamodb = repositories(), client("dynamodb")
report |= {"built_in_snapshot": all(r._dependant is not None for r in routes),
           "in_snapshot": all(m in sys.modules for m in ("boto3", "shared.adapters.orders_repo", "shared.adapters.outbox"))}
for hook, args in hooks["after"]:
    hook(*args)
report |= {"new_repositories": repositories() is not repos, "new_client": client("dynamodb") is not dynamodb}
print(json.dumps(report))
"""


@pytest.fixture(scope="module")
def report() -> dict:
    return run(SNAPSHOT_AND_RESTORE)


def run(code: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "OMS_"))} | {
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_EC2_METADATA_DISABLED": "true", "OMS_TABLE_NAME": "oms"}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          check=True, timeout=120)
    return json.loads(done.stdout.splitlines()[-1])


def test_nothing_is_registered_outside_lambda():
    assert snapstart.prepare(object()) is False


def test_an_api_function_registers_one_hook_each_way_and_builds_nothing_at_import(report):
    assert report["hooks"] == [1, 1]
    assert report["built_at_import"] == 0 and report["boto3_at_import"] is False


def test_the_snapshot_holds_the_routes_models_boto3_and_the_adapters_and_a_restore_renews_the_clients(report):
    assert report["built_in_snapshot"] is True and report["in_snapshot"] is True
    assert report["new_repositories"] is True and report["new_client"] is True
