"""The single-table DynamoDB store."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from infra import wiring


def _string_key(name: str) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=name, type=dynamodb.AttributeType.STRING)


class OrdersTable(Construct):
    """Table, GSIs and TTL exactly as `wiring.TABLE` declares them (the local emulator reads the same)."""

    def __init__(self, scope: Construct, id: str, spec: wiring.TableSpec = wiring.TABLE) -> None:
        super().__init__(scope, id)
        self.table = dynamodb.Table(
            self, "Table",
            partition_key=_string_key(spec.partition_key),
            sort_key=_string_key(spec.sort_key),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True),
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            time_to_live_attribute=spec.ttl_attribute,
            # The outbox relay only needs what was written: new images, no old ones.
            stream=dynamodb.StreamViewType.NEW_IMAGE,
            # Orders and stock are the system of record: a stack deletion must not take them along.
            removal_policy=RemovalPolicy.RETAIN,
        )
        for index in spec.indexes:
            self.table.add_global_secondary_index(
                index_name=index.name,
                partition_key=_string_key(index.partition_key),
                sort_key=_string_key(index.sort_key),
                projection_type=dynamodb.ProjectionType.ALL,
            )

