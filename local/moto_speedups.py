"""Cheaper paths through moto 5.2 for the requests the local runtime makes most, same answers.

Every request holds the emulator's one lock (local/emulator_server.py), so moto's own cost per
request is what bounds every local figure. A profile of the capture benchmark found three costs
that have nothing to do with what is emulated:

- **response serialisation**: moto 5.2 serialises every answer by walking the service model, with
  several alias look-ups per value. A DynamoDB item of 30 attributes costs ~10 ms that way, a
  stream read of 100 records ~0.3 s. The answers that carry items (GetItem, BatchGetItem, Query,
  Scan, Put/Update/DeleteItem, TransactGetItems) and stream records (GetRecords) are already in
  the API's JSON shape, so they are dumped as JSON directly (`FAST_DYNAMODB`, `_fast_get_records`);
  tests/integration/test_emulator_speedups.py checks botocore reads the same thing both ways;
- **finding the service**: for each request moto lists its own package directory to see whether
  the host names a service (~150 `stat` calls): the list is read once;
- **EventBridge deliveries**: each event a rule delivers to a queue builds eight JSONPath parsers
  (with their grammar tables) for the default input template: parsed expressions are kept;
- **SQS's clock**: moto reads "now" for every message of a queue each time it counts visible or
  delayed ones, which SendMessage does for all of them (it builds every queue attribute to read
  one), through three datetime conversions (~15 us): a queue holding 500 messages cost ~20 ms
  per message sent. "Now" is read from `time.time()` directly, the same instant.

Installed in the emulator process only (`local.emulator.serve`), like local/moto_transactions.py.
"""

from __future__ import annotations

import base64
import calendar
import functools
import json
from datetime import datetime
from typing import Any

# Item-carrying DynamoDB answers whose result moto already holds in the API's JSON shape.
FAST_DYNAMODB = frozenset({
    "GetItem", "BatchGetItem", "Query", "Scan", "PutItem", "UpdateItem", "DeleteItem", "TransactGetItems",
})
_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    _fast_item_responses()
    _fast_get_records()
    _cached_module_list()
    _cached_jsonpath()
    _fast_sqs_clock()
    _installed = True


def _json_default(value: Any) -> Any:
    """What the JSON protocol makes of the non-JSON values moto's results hold."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()  # blobs: B and BS attributes
    if isinstance(value, datetime):
        # As moto's serialiser: a unix timestamp, truncated to milliseconds; naive means UTC.
        base = calendar.timegm(value.utctimetuple())
        return base + (value.microsecond // 1000) / 1000.0 if value.microsecond else base
    if isinstance(value, set | frozenset):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dump(result: Any, json_version: str = "1.0") -> tuple[int, dict[str, str], str]:
    """(status, headers, body) of a successful JSON-protocol answer."""
    body = json.dumps(result, default=_json_default, separators=(",", ":"))
    return 200, {"Content-Type": f"application/x-amz-json-{json_version}"}, body


def _fast_item_responses() -> None:
    from moto.dynamodb.responses import DynamoResult

    original = DynamoResult.execute_result

    def execute_result(self, context):
        if context.operation_model.name in FAST_DYNAMODB and isinstance(self.result, dict):
            return dump(self.result)
        return original(self, context)

    DynamoResult.execute_result = execute_result  # type: ignore[method-assign]  # monkeypatch


def _fast_get_records() -> None:
    from moto.core.responses import ActionResult
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

    class Records(ActionResult):
        def execute_result(self, context):
            return dump(self.result)

    original = DynamoDBStreamsHandler.get_records

    def get_records(self):
        return Records(original(self).result)

    DynamoDBStreamsHandler.get_records = get_records  # type: ignore[method-assign]  # monkeypatch


def _cached_module_list() -> None:
    from moto import backends

    modules = tuple(backends.list_of_moto_modules())  # the installed package does not change
    backends.list_of_moto_modules = lambda: modules  # monkeypatch


def _cached_jsonpath() -> None:
    import jsonpath_ng.ext

    # A parsed expression holds no state of a match: `find` takes the data each time.
    jsonpath_ng.ext.parse = functools.lru_cache(maxsize=256)(jsonpath_ng.ext.parse)


def _fast_sqs_clock() -> None:
    import time

    from moto.sqs import models

    original_unix_time = models.unix_time

    def unix_time(dt: datetime | None = None) -> float:
        return time.time() if dt is None else original_unix_time(dt)

    def unix_time_millis(dt: datetime | None = None) -> float:
        return unix_time(dt) * 1000.0

    models.unix_time, models.unix_time_millis = unix_time, unix_time_millis  # monkeypatch
