"""The one HTTPS client of the adapters that call other companies' APIs (Stripe, EasyPost, Shopify,
Amazon): urllib3, which ships with boto3, so no other HTTP library is packaged. Each adapter takes a
transport (tests inject a fake) and builds this one by default, naming the error it raises when the
other side cannot be reached.

No retries and no redirects of its own: each adapter decides what may be retried (with the same
idempotency key), and a redirect would send credentials to a host the adapter did not choose.
"""

from __future__ import annotations

from collections.abc import Callable


class HttpsTransport:
    """(method, url, headers, body) -> (status, response headers, body). `unreachable(reason)` makes
    the adapter's own error for timeouts, refused and reset connections (the reason names the
    exception type only: never a URL or a header that could carry a key)."""

    def __init__(self, unreachable: Callable[[str], Exception], connect_timeout: float = 5.0,
                 read_timeout: float = 30.0):
        import urllib3  # here, not at import: tests and the sandboxes never build one

        self._urllib3 = urllib3
        self._unreachable = unreachable
        self._pool = urllib3.PoolManager(timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout),
                                         retries=False)

    def send(self, method: str, url: str, headers: dict[str, str], body: bytes | None
             ) -> tuple[int, dict[str, str], bytes]:
        try:
            response = self._pool.request(method, url, body=body, headers=headers, redirect=False)
        except self._urllib3.exceptions.HTTPError as exc:
            raise self._unreachable(type(exc).__name__) from None
        return response.status, dict(response.headers.items()), response.data or b""

    def __call__(self, method: str, url: str, headers: dict[str, str], body: bytes | None
                 ) -> tuple[int, dict[str, str], bytes]:
        return self.send(method, url, headers, body)
