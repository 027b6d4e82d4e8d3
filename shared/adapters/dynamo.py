"""The DynamoDB store: one table, item (de)serialisation, expressions rendered, refusals named.

Repositories build writes and key queries as data (shared/adapters/expressions.py); this module
turns them into DynamoDB requests, and a cancelled transaction's reasons into the named outcomes
the writes' repositories chose (shared/unit_of_work.py). Low-level client + TypeSerializer rather
than the boto3 resource API: the resource layer costs import time on every cold start and hides
`CancellationReasons`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from shared.adapters.expressions import (
    All,
    AnyOf,
    Check,
    Compare,
    Cond,
    Contains,
    Delete,
    Exists,
    Item,
    KeyQuery,
    Missing,
    Patch,
    Put,
    Write,
)
from shared.errors import InvalidInput
from shared.unit_of_work import MAX_WRITES, Contention, InvalidTransaction, Refused, refusal_of

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()
_RETRYABLE = {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"}


def to_attrs(values: Mapping[str, Any]) -> dict[str, dict]:
    return {k: _serializer.serialize(v) for k, v in values.items() if v is not None}


def from_item(item: Mapping[str, dict]) -> dict[str, Any]:
    return {k: _deserializer.deserialize(v) for k, v in item.items()}


def key(pk: str, sk: str) -> dict[str, dict]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


@dataclass
class _Expression:
    """Builds one request's expression strings with placeholders for every name and value."""

    names: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)

    def name(self, attr: str) -> str:
        placeholder = f"#n{len(self.names)}"
        self.names[placeholder] = attr
        return placeholder

    def value(self, v: Any) -> str:
        placeholder = f":v{len(self.values)}"
        self.values[placeholder] = v
        return placeholder

    def cond(self, c: Cond) -> str:
        if isinstance(c, Exists):
            return f"attribute_exists({self.name(c.attr)})"
        if isinstance(c, Missing):
            return f"attribute_not_exists({self.name(c.attr)})"
        if isinstance(c, Compare):
            return f"{self.name(c.attr)} {c.op} {self.value(c.value)}"
        if isinstance(c, Contains):
            return f"contains({self.name(c.attr)}, {self.value(c.value)})"
        if isinstance(c, All):
            return " AND ".join(f"({self.cond(p)})" for p in c.parts)
        if isinstance(c, AnyOf):
            return " OR ".join(f"({self.cond(p)})" for p in c.parts)
        raise TypeError(f"not a condition: {c!r}")

    def apply(self, request: dict[str, Any]) -> dict[str, Any]:
        if self.names:
            request["ExpressionAttributeNames"] = dict(self.names)
        if self.values:
            request["ExpressionAttributeValues"] = to_attrs(self.values)
        return request


def _update_expression(x: _Expression, w: Patch) -> str:
    parts = []
    if w.changes.set:
        parts.append("SET " + ", ".join(f"{x.name(a)} = {x.value(v)}" for a, v in w.changes.set.items()))
    if w.changes.add:
        parts.append("ADD " + ", ".join(f"{x.name(a)} {x.value(v)}" for a, v in w.changes.add.items()))
    if w.changes.remove:
        parts.append("REMOVE " + ", ".join(x.name(a) for a in w.changes.remove))
    return " ".join(parts)


@dataclass
class DynamoStore:
    client: Any
    name: str

    # -------------------------------------------------------------- writes

    def _request(self, w: Write) -> tuple[str, dict[str, Any]]:
        x = _Expression()
        request: dict[str, Any] = {"TableName": self.name}
        if isinstance(w, Put):
            kind = "Put"
            request["Item"] = to_attrs(w.item)
        else:
            request["Key"] = key(*w.key)
            kind = {Patch: "Update", Check: "ConditionCheck", Delete: "Delete"}[type(w)]
        if isinstance(w, Patch):
            request["UpdateExpression"] = _update_expression(x, w)
        if w.when is not None:
            request["ConditionExpression"] = x.cond(w.when)
            request["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        return kind, x.apply(request)

    def transact(self, writes: list[Write]) -> None:
        if not writes or len(writes) > MAX_WRITES:
            raise InvalidTransaction(f"{len(writes)} writes in one transaction; 1 to {MAX_WRITES}")
        try:
            self.client.transact_write_items(TransactItems=[dict([self._request(w)]) for w in writes])
        except ClientError as e:
            code = e.response["Error"]["Code"]
            if code == "TransactionCanceledException":
                reasons = e.response.get("CancellationReasons", [])
                failed = [(w, r) for w, r in zip(writes, reasons, strict=False)
                          if r.get("Code") == "ConditionalCheckFailed"]
                if failed:
                    raise Refused([refusal_of(w, from_item(r["Item"]) if r.get("Item") else None)
                                   for w, r in failed]) from e
                codes = {r.get("Code") for r in reasons}
                if codes & _RETRYABLE:
                    contended = [w for w, r in zip(writes, reasons, strict=False)
                                 if r.get("Code") == "TransactionConflict"]
                    raise Contention(e.response["Error"].get("Message", code), contended) from e
                if codes & {"ValidationError", "ItemCollectionSizeLimitExceeded"}:
                    # An item grown past 400 KB, ADD to a non-number...: what the memory store refuses too.
                    raise InvalidTransaction(e.response["Error"].get("Message", code)) from e
                raise
            if code == "TransactionInProgressException":
                # An SDK retry of this very call is still being applied: re-read and retry.
                raise Contention(code) from e
            if code == "ValidationException":
                raise InvalidTransaction(e.response["Error"].get("Message", code)) from e
            raise

    def write(self, w: Write, return_new: bool = False) -> Item | None:
        """One conditional write outside a transaction (half the cost of a transaction of one)."""
        if isinstance(w, Check):
            raise InvalidTransaction("a condition check is only a part of a transaction")
        kind, request = self._request(w)
        call = {"Put": self.client.put_item, "Update": self.client.update_item,
                "Delete": self.client.delete_item}[kind]
        if return_new and kind == "Update":
            request["ReturnValues"] = "ALL_NEW"
        try:
            resp = call(**request)
        except ClientError as e:
            code = e.response["Error"]["Code"]
            if code == "ConditionalCheckFailedException":
                old = e.response.get("Item")
                raise Refused([refusal_of(w, from_item(old) if old else None)]) from e
            if code == "ValidationException":
                raise InvalidTransaction(e.response["Error"].get("Message", code)) from e
            raise
        return from_item(resp["Attributes"]) if return_new and resp.get("Attributes") else None

    def batch_write(self, writes: list[Put | Delete]) -> None:
        """Unconditional puts and deletes, 25 to a BatchWriteItem (what DynamoDB leaves unprocessed is
        sent again): half the write units of the same writes in a transaction, and no conditions."""
        if any(w.when is not None for w in writes):
            raise InvalidTransaction("a batch write takes no conditions")
        requests = [{"PutRequest": {"Item": to_attrs(w.item)}} if isinstance(w, Put)
                    else {"DeleteRequest": {"Key": key(*w.key)}} for w in writes]
        for start in range(0, len(requests), 25):
            pending: dict[str, Any] = {self.name: requests[start:start + 25]}
            for attempt in range(10):
                unprocessed = self.client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
                if not unprocessed:
                    break
                pending = unprocessed
                time.sleep(0.05 * 2 ** attempt)  # DynamoDB leaves items unprocessed when throttled: back off
            else:
                raise Contention("BatchWriteItem left items unprocessed")

    # -------------------------------------------------------------- reads

    def get(self, pk: str, sk: str, consistent: bool = True) -> Item | None:
        item = self.client.get_item(TableName=self.name, Key=key(pk, sk), ConsistentRead=consistent).get("Item")
        return from_item(item) if item else None

    def batch_get(self, keys: list[tuple[str, str]], consistent: bool = True) -> list[Item]:
        """Reads of up to any number of keys (100 per call, unprocessed keys retried), strongly
        consistent unless told otherwise; in no particular order."""
        found: list[Item] = []
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), 100):
            pending: dict[str, Any] = {
                self.name: {"Keys": [key(pk, sk) for pk, sk in unique[start:start + 100]], "ConsistentRead": consistent}
            }
            while pending:
                resp = self.client.batch_get_item(RequestItems=pending)
                found.extend(from_item(i) for i in resp.get("Responses", {}).get(self.name, []))
                pending = resp.get("UnprocessedKeys") or {}
        return found

    def query(self, key: KeyQuery, *, where: Cond | None = None, limit: int | None = None,
              start_key: dict | None = None, forward: bool = True, consistent: bool = False
              ) -> tuple[list[Item], dict | None]:
        x = _Expression()
        pk_attr, sk_attr = (f"{key.index}pk", f"{key.index}sk") if key.index else ("pk", "sk")
        condition = f"{x.name(pk_attr)} = {x.value(key.partition)}"
        if key.sort is not None:
            s = key.sort
            if s.op == "begins_with":
                condition += f" AND begins_with({x.name(sk_attr)}, {x.value(s.value)})"
            elif s.op == "between":
                condition += f" AND {x.name(sk_attr)} BETWEEN {x.value(s.value)} AND {x.value(s.upper)}"
            else:
                condition += f" AND {x.name(sk_attr)} {s.op} {x.value(s.value)}"
        request: dict[str, Any] = {"TableName": self.name, "KeyConditionExpression": condition,
                                   "ScanIndexForward": forward}
        if where is not None:
            request["FilterExpression"] = x.cond(where)
        if key.index:
            request["IndexName"] = key.index
        elif consistent:
            request["ConsistentRead"] = True
        if limit:
            request["Limit"] = limit
        if start_key:
            request["ExclusiveStartKey"] = start_key
        try:
            resp = self.client.query(**x.apply(request))
        except ClientError as e:
            if start_key and e.response["Error"]["Code"] == "ValidationException":
                # DynamoDB refuses a start key outside the query's range: a cursor reused with
                # other bounds (moto accepts it). The caller's input, not a bug.
                raise InvalidInput("cursor is not one this listing returned", field="cursor") from e
            raise
        return [from_item(i) for i in resp.get("Items", [])], resp.get("LastEvaluatedKey")

    def query_all(self, key: KeyQuery, *, where: Cond | None = None, forward: bool = True,
                  consistent: bool = False) -> Iterator[Item]:
        start = None
        while True:
            items, start = self.query(key, where=where, start_key=start, forward=forward, consistent=consistent)
            yield from items
            if not start:
                return
