"""Powertools Idempotency records in the OMS table: pk `IDEMPOTENCY#<function>`, sk
`<function>#<hash of the key>`, TTL `expires_at` (docs/data-model.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer


def idempotency_pk(function_name: str) -> str:
    return f"IDEMPOTENCY#{function_name}"


def table_persistence(function_name: str) -> DynamoDBPersistenceLayer:
    """Powertools' DynamoDB persistence layer on the OMS table, for `function_name`'s records."""
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    from shared.adapters.aws import client
    from shared.config import settings

    return DynamoDBPersistenceLayer(
        table_name=settings().table_name, key_attr="pk", sort_key_attr="sk",
        static_pk_value=idempotency_pk(function_name), expiry_attr="expires_at", boto3_client=client("dynamodb"))
