"""The single DynamoDB table: item (de)serialisation, transactions and their cancellation reasons.

Repositories (orders, stock, locations, outbox) build actions with the helpers below; only they
know keys and conditions. Low-level client + TypeSerializer rather than the boto3 resource API:
the resource layer costs import time on every cold start and hides `CancellationReasons`.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from shared.errors import InvalidInput

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def to_attrs(values: Mapping[str, Any]) -> dict[str, dict]:
    return {k: _serializer.serialize(v) for k, v in values.items() if v is not None}


def from_item(item: Mapping[str, dict]) -> dict[str, Any]:
    return {k: _deserializer.deserialize(v) for k, v in item.items()}


def key(pk: str, sk: str) -> dict[str, dict]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


class TransactionCancelled(Exception):
    """A transaction was refused. `reasons` is aligned with the actions sent."""

    def __init__(self, reasons: list[dict]):
        super().__init__(", ".join(r.get("Code", "None") for r in reasons))
        self.reasons = reasons

    def failed_indexes(self, code: str = "ConditionalCheckFailed") -> list[int]:
        return [i for i, r in enumerate(self.reasons) if r.get("Code") == code]

    @property
    def retryable(self) -> bool:
        codes = {r.get("Code") for r in self.reasons}
        return bool(codes & {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"})


@dataclass
class Table:
    client: Any
    name: str

    # -------------------------------------------------------------- actions for transact()

    def put(self, item: Mapping[str, Any], condition: str | None = None, values: Mapping | None = None,
            names: Mapping[str, str] | None = None) -> dict:
        action: dict[str, Any] = {"TableName": self.name, "Item": to_attrs(item)}
        return {"Put": self._with_condition(action, condition, values, names)}

    def update(self, pk: str, sk: str, expression: str, condition: str | None = None,
               values: Mapping | None = None, names: Mapping[str, str] | None = None) -> dict:
        action: dict[str, Any] = {"TableName": self.name, "Key": key(pk, sk), "UpdateExpression": expression}
        return {"Update": self._with_condition(action, condition, values, names)}

    def check(self, pk: str, sk: str, condition: str, values: Mapping | None = None,
              names: Mapping[str, str] | None = None) -> dict:
        action: dict[str, Any] = {"TableName": self.name, "Key": key(pk, sk)}
        return {"ConditionCheck": self._with_condition(action, condition, values, names)}

    def delete(self, pk: str, sk: str, condition: str | None = None, values: Mapping | None = None) -> dict:
        action: dict[str, Any] = {"TableName": self.name, "Key": key(pk, sk)}
        return {"Delete": self._with_condition(action, condition, values, None)}

    @staticmethod
    def _with_condition(action: dict, condition, values, names) -> dict:
        if condition:
            action["ConditionExpression"] = condition
            action["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        if values:
            action["ExpressionAttributeValues"] = to_attrs(values)
        if names:
            action["ExpressionAttributeNames"] = dict(names)
        return action

    def transact(self, actions: list[dict]) -> None:
        try:
            self.client.transact_write_items(TransactItems=actions)
        except ClientError as e:
            code = e.response["Error"]["Code"]
            if code == "TransactionCanceledException":
                raise TransactionCancelled(e.response.get("CancellationReasons", [])) from e
            if code == "TransactionInProgressException":
                # An SDK retry of this very call is still being applied: re-read and retry.
                raise TransactionCancelled([{"Code": "TransactionConflict"}] * len(actions)) from e
            raise

    # -------------------------------------------------------------- single calls

    def get(self, pk: str, sk: str, consistent: bool = True) -> dict | None:
        item = self.client.get_item(TableName=self.name, Key=key(pk, sk), ConsistentRead=consistent).get("Item")
        return from_item(item) if item else None

    def batch_get(self, keys: list[tuple[str, str]]) -> list[dict]:
        """Consistent reads of up to any number of keys (100 per call, unprocessed keys retried)."""
        found: list[dict] = []
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), 100):
            pending: dict[str, Any] = {
                self.name: {"Keys": [key(pk, sk) for pk, sk in unique[start:start + 100]], "ConsistentRead": True}
            }
            while pending:
                resp = self.client.batch_get_item(RequestItems=pending)
                found.extend(from_item(i) for i in resp.get("Responses", {}).get(self.name, []))
                pending = resp.get("UnprocessedKeys") or {}
        return found

    def query(self, *, key_condition: str, values: Mapping, index: str | None = None,
              filter_expression: str | None = None, names: Mapping[str, str] | None = None,
              limit: int | None = None, start_key: dict | None = None, forward: bool = True,
              consistent: bool = False) -> tuple[list[dict], dict | None]:
        kwargs: dict[str, Any] = {
            "TableName": self.name,
            "KeyConditionExpression": key_condition,
            "ExpressionAttributeValues": to_attrs(values),
            "ScanIndexForward": forward,
        }
        if index:
            kwargs["IndexName"] = index
        elif consistent:
            kwargs["ConsistentRead"] = True
        if filter_expression:
            kwargs["FilterExpression"] = filter_expression
        if names:
            kwargs["ExpressionAttributeNames"] = dict(names)
        if limit:
            kwargs["Limit"] = limit
        if start_key:
            kwargs["ExclusiveStartKey"] = start_key
        resp = self.client.query(**kwargs)
        return [from_item(i) for i in resp.get("Items", [])], resp.get("LastEvaluatedKey")

    def query_all(self, **kwargs) -> Iterator[dict]:
        start = None
        while True:
            items, start = self.query(start_key=start, **kwargs)
            yield from items
            if not start:
                return


# ------------------------------------------------------------------ pagination cursors


def encode_cursor(last_key: dict | None) -> str | None:
    if not last_key:
        return None
    return base64.urlsafe_b64encode(json.dumps(last_key, separators=(",", ":")).encode()).decode()


def decode_cursor(cursor: str | None, expected_attrs: set[str], partition: tuple[str, str]) -> dict | None:
    """A cursor is the last key we returned; a forged or foreign one is a 422, not a 500."""
    if not cursor:
        return None
    try:
        start = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        ok = (
            isinstance(start, dict)
            and set(start) == expected_attrs
            and all(isinstance(v, dict) and set(v) == {"S"} and isinstance(v["S"], str) and 0 < len(v["S"]) <= 1024
                    for v in start.values())
            and start[partition[0]]["S"] == partition[1]
        )
    except ValueError:
        ok = False
    if not ok:
        raise InvalidInput("cursor is not one this listing returned", field="cursor")
    return start
