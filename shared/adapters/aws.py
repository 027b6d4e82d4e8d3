"""boto3 clients, created on first use (never at import: cold starts and tests both pay for that)."""

from __future__ import annotations

import threading
from functools import cache

_lock = threading.Lock()
MAX_POOL_CONNECTIONS = 64


@cache
def client(service: str):
    import boto3
    from botocore.config import Config

    # boto3's default session is not thread-safe while it builds a client; the local runtime and
    # the concurrency tests call handlers from many threads.
    with _lock:
        return boto3.client(
            service,
            config=Config(retries={"max_attempts": 4, "mode": "standard"}, connect_timeout=2, read_timeout=5,
                          # A Lambda process runs one invocation at a time; the local runtime and the
                          # tests run many threads over this one client (botocore's default pool is 10).
                          max_pool_connections=MAX_POOL_CONNECTIONS,
                          # Presigned links (labels, invoices) signed with SigV4: botocore signs them
                          # with SigV2 in us-east-1, which S3 refuses for buckets created since June 2020.
                          signature_version="s3v4" if service == "s3" else None),
        )
