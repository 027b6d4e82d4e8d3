"""cdk-nag 3 acknowledgments: one exact finding id per entry, and always a written reason."""

from __future__ import annotations

from aws_cdk import Acknowledgment, CfnElement, Stack, Validations
from aws_cdk import aws_dynamodb as dynamodb
from constructs import IConstruct


def acknowledge(scope: IConstruct, findings: dict[str, str]) -> None:
    """Acknowledge `findings` (finding id -> reason) on `scope` and everything below it."""
    Validations.of(scope).acknowledge(*(Acknowledgment(id=i, reason=r) for i, r in findings.items()))


def table_index_wildcard(table: dynamodb.Table) -> str:
    """The IAM5 finding id of the `<table arn>/index/*` resource that the table's grant_* methods add."""
    return f"AwsSolutions-IAM5[Resource::<{_logical_id(table)}.Arn>/index/*]"


def bucket_objects_wildcard(bucket) -> str:
    """The IAM5 finding id of the `<bucket arn>/*` resource that a bucket's grant_* methods add."""
    return f"AwsSolutions-IAM5[Resource::<{_logical_id(bucket)}.Arn>/*]"


def _logical_id(resource: IConstruct) -> str:
    """The logical id of the CloudFormation resource an L2 construct wraps (its default child)."""
    child = resource.node.default_child
    if not isinstance(child, CfnElement):
        raise TypeError(f"{resource.node.path} wraps no CloudFormation resource")
    return Stack.of(resource).get_logical_id(child)
