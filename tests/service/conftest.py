"""Service tests: use cases called directly on repositories over the in-memory store
(shared/adapters/memory.py), which honours the conditions DynamoDB does (tests/contract keeps the
two from drifting). No emulator: what needs DynamoDB itself (streams, the relay, handlers,
queues, S3) stays in tests/integration.

Each test gets fresh repositories (`repos`), the channel policies the stack configures, and no
way out to AWS: an accidental AWS call fails at once instead of reaching a real account.
"""

from __future__ import annotations

import pytest

from shared.repositories import Repositories, in_memory


def _clear_process_caches() -> None:
    from shared.adapters.aws import client
    from shared.config import settings
    from shared.repositories import repositories

    settings.cache_clear()
    client.cache_clear()
    repositories.cache_clear()


@pytest.fixture(autouse=True)
def service_environment(monkeypatch):
    for name, value in {"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_ACCESS_KEY_ID": "none",
                        "AWS_SECRET_ACCESS_KEY": "none", "AWS_DEFAULT_REGION": "us-east-1",
                        "AWS_MAX_ATTEMPTS": "1"}.items():
        monkeypatch.setenv(name, value)
    _clear_process_caches()
    yield
    _clear_process_caches()


@pytest.fixture
def repos() -> Repositories:
    return in_memory()
