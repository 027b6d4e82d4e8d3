"""boto3 clients, created on first use (never at import: cold starts and tests both pay for that)."""

from __future__ import annotations

import threading
from functools import cache

_lock = threading.Lock()


@cache
def client(service: str):
    import boto3
    from botocore.config import Config

    # boto3's default session is not thread-safe while it builds a client; the local runtime and
    # the concurrency tests call handlers from many threads.
    with _lock:
        return boto3.client(
            service,
            config=Config(retries={"max_attempts": 4, "mode": "standard"}, connect_timeout=2, read_timeout=5),
        )
