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
- **condition expressions**: moto parses a condition (a regex lexer and several passes, ~3 ms)
  wherever it meets one: a transaction parses each of its conditions twice (once to check them
  all, once more as it applies each write). A parsed condition is a tree of comparisons that reads
  the item it is given and keeps nothing of it, so the last parses are kept, keyed by the
  expression, its names and its values;
- **update expressions**: each UpdateItem, and each Update of a transaction, parses its update
  expression twice (a tokenizer and a recursive descent) and then runs ten validating passes over
  the tree, two of which look at every sub-expression's clauses again (quadratic in the number of
  actions), and every pass rebuilds its node-type table for every node it visits. The parsed tree
  of an expression is kept (moto reads it, or validates a deep copy of it), the two passes look at
  the whole expression once (what they check of a part, they check of the whole), and a pass
  builds its table once;
- **finding the service and the action**: for each request moto lists its own package directory to see whether
  the host names a service (~150 `stat` calls), and lists the handler class's methods to find the
  action: both lists are made once; names converted from camelCase (character by character, for
  every attribute of a queue on each SendMessage) are kept;
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
import threading
from datetime import datetime
from typing import Any

# Item-carrying DynamoDB answers whose result moto already holds in the API's JSON shape.
FAST_DYNAMODB = frozenset({
    "GetItem", "BatchGetItem", "Query", "Scan", "PutItem", "UpdateItem", "DeleteItem", "TransactGetItems",
})
CONDITIONS_KEPT = 256  # parsed condition expressions kept (a transaction's come back at once)
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
    _cached_conditions()
    _cached_update_expressions()
    _cheaper_update_validation()
    _cached_method_names()
    _cached_name_conversions()
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


def _cached_conditions() -> None:
    from collections import OrderedDict

    from moto.dynamodb.comparisons import ConditionExpressionParser

    original = ConditionExpressionParser.parse
    parsed: OrderedDict[tuple[str, str, str], tuple[Any, list[str], list[str]]] = OrderedDict()
    lock = threading.Lock()  # requests are serialised, but the cache must not depend on it

    def parse(self):
        try:
            key = (self.condition_expression, json.dumps(self.expression_attribute_names, sort_keys=True),
                   json.dumps(self.expression_attribute_values, sort_keys=True))
        except TypeError:  # a value JSON cannot hold: parse it every time
            return original(self)
        with lock:
            hit = parsed.get(key)
        if hit is None:
            op = original(self)  # raises on an invalid expression: nothing is kept
            hit = (op, list(self.expr_attr_names_found), list(self.expr_attr_values_found))
            with lock:
                parsed[key] = hit
                if len(parsed) > CONDITIONS_KEPT:
                    parsed.popitem(last=False)
        else:
            # What moto reads off the parser afterwards (names and values the expression used).
            self.expr_attr_names_found.extend(hit[1])
            self.expr_attr_values_found.extend(hit[2])
        return hit[0]

    ConditionExpressionParser.parse = parse  # type: ignore[method-assign]  # monkeypatch


def _cached_update_expressions() -> None:
    from collections import OrderedDict

    from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]  # untyped

    original = UpdateExpressionParser.make.__func__
    parsed: OrderedDict[str, Any] = OrderedDict()
    lock = threading.Lock()

    def make(cls, expression_str):
        # moto only reads the tree it gets (find_clauses) or validates a deep copy of it.
        with lock:
            tree = parsed.get(expression_str)
        if tree is None:
            tree = original(cls, expression_str)  # raises on an invalid expression: nothing is kept
            with lock:
                parsed[expression_str] = tree
                if len(parsed) > CONDITIONS_KEPT:
                    parsed.popitem(last=False)
        return tree

    UpdateExpressionParser.make = classmethod(make)  # monkeypatch


def _cheaper_update_validation() -> None:
    from moto.dynamodb.parsing import validators
    from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser, UpdateExpression  # type: ignore[attr-defined]  # untyped

    original_types = DepthFirstTraverser.nodes_to_be_processed

    def processing_map(self):
        table = self.__dict__.get("_oms_processing_map")
        if table is None:  # a pass maps node types to its bound methods: the same for every node
            table = self.__dict__["_oms_processing_map"] = self._processing_map()
        return table

    def nodes_to_be_processed(self):
        types = self.__dict__.get("_oms_node_types")
        if types is None:
            types = self.__dict__["_oms_node_types"] = original_types(self)
        return types

    def process(self, node):
        for class_key, processor in processing_map(self).items():
            if isinstance(node, class_key):
                return processor(node)
        return None

    def whole_expression_once(self, node):
        # Bottom-up, these passes check each nested UpdateExpression, whose clauses are a part of
        # the root's: checking the root alone refuses the same expressions.
        return self.process(node) if isinstance(node, UpdateExpression) else DepthFirstTraverser.traverse(self, node)

    DepthFirstTraverser.nodes_to_be_processed = nodes_to_be_processed  # monkeypatch
    DepthFirstTraverser.process = process  # monkeypatch
    validators.ActionCountValidator.traverse = whole_expression_once  # monkeypatch
    validators.OverlappingPathsValidator.traverse = whole_expression_once  # monkeypatch


def _cached_method_names() -> None:
    from moto.core import responses

    original = responses.method_names_from_class
    names: dict[object, list[str]] = {}

    def method_names_from_class(clazz: object) -> list[str]:
        if clazz not in names:  # the handler classes are not changed once requests are served
            names[clazz] = original(clazz)
        return names[clazz]

    responses.method_names_from_class = method_names_from_class  # monkeypatch


def _cached_name_conversions() -> None:
    from moto.core import responses, utils
    from moto.sqs import models

    convert = functools.lru_cache(maxsize=4096)(utils.camelcase_to_underscores)  # a pure function of a name
    utils.camelcase_to_underscores = convert  # monkeypatch
    models.camelcase_to_underscores = convert  # monkeypatch
    responses.camelcase_to_underscores = convert  # monkeypatch
