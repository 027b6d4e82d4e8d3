"""cdk-nag 3 acknowledgments: one exact finding id per entry, and always a written reason."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Stack, Validations
from aws_cdk import aws_dynamodb as dynamodb
from constructs import IConstruct


def acknowledge(scope: IConstruct, findings: dict[str, str]) -> None:
    """Acknowledge `findings` (finding id -> reason) on `scope` and everything below it."""
    Validations.of(scope).acknowledge(*(Acknowledgment(id=i, reason=r) for i, r in findings.items()))


def table_index_wildcard(table: dynamodb.Table) -> str:
    """The IAM5 finding id of the `<table arn>/index/*` resource that the table's grant_* methods add."""
    logical_id = Stack.of(table).get_logical_id(table.node.default_child)
    return f"AwsSolutions-IAM5[Resource::<{logical_id}.Arn>/index/*]"


def bucket_objects_wildcard(bucket) -> str:
    """The IAM5 finding id of the `<bucket arn>/*` resource that a bucket's grant_* methods add."""
    logical_id = Stack.of(bucket).get_logical_id(bucket.node.default_child)
    return f"AwsSolutions-IAM5[Resource::<{logical_id}.Arn>/*]"
