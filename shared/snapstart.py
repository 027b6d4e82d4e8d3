"""Lambda SnapStart runtime hooks of the API functions (deploy option `oms:snapStart` in cdk.json).

With SnapStart, Lambda runs a version's initialisation once, when the version is published, snapshots
the execution environment's memory, and resumes every new environment of that version from the
snapshot instead of initialising it again. So:

- Before the snapshot (`warm`), do what a first request would otherwise do after the restore: import
  boto3 and every repository's adapter and domain modules, create the DynamoDB client (no call:
  nothing may cross the network before the snapshot) and build each route's validation models. All of
  it is then in the snapshot. (A route's use case module, imported by its route, still loads on the
  route's first call: tens of milliseconds.)
- After each restore (`refresh`), drop what must not be shared by environments restored from the
  same snapshot or outlive it: the boto3 clients and the repositories holding them (credentials and
  connections belong to one environment; they are created again on first use, cheaply now that
  botocore's service models are in memory) and the state of `random` (retry jitter would otherwise be
  the same in every restored environment). uuid4 and `secrets` read the OS's entropy: nothing to do.

`snapshot_restore_py` exists only in Lambda's managed Python runtimes (3.12 and later). Elsewhere (the
tests, the local runtime) nothing is registered; in Lambda without SnapStart the hooks never run.
"""

from __future__ import annotations

import random
from functools import cached_property
from typing import Any

try:
    from snapshot_restore_py import register_after_restore, register_before_snapshot
except ImportError:  # not in Lambda's runtime: no snapshots here
    register_after_restore = register_before_snapshot = None


def prepare(app: Any) -> bool:
    """Register the hooks for the API function serving `app` (a Powertools resolver). False where the
    runtime has no SnapStart hooks."""
    if register_before_snapshot is None or register_after_restore is None:
        return False
    register_before_snapshot(warm, app)
    register_after_restore(refresh)
    return True


def warm(app: Any) -> None:
    """Load and build, before the snapshot, what the first request after a restore would."""
    from shared.repositories import Repositories, repositories

    repos = repositories()  # imports boto3, creates the DynamoDB client: no request is sent
    for name, member in vars(Repositories).items():
        if isinstance(member, cached_property):
            getattr(repos, name)
    for route in [*app._static_routes, *app._dynamic_routes]:
        # Powertools builds a route's parameter, body and answer models on its first request.
        route.dependant  # noqa: B018
        route.body_field  # noqa: B018


def refresh() -> None:
    """After a restore: new clients on first use, and a `random` of this environment's own."""
    from shared.adapters.aws import client
    from shared.repositories import repositories

    repositories.cache_clear()
    client.cache_clear()
    random.seed()
