"""What invokes a function besides the API: its queue (fed by EventBridge rules), the table stream,
a schedule. Every failure path ends in a DLQ with an alarm, so nothing is dropped silently."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import wiring
from infra.components.functions import OmsFunction
from infra.components.nag import acknowledge
from shared.outbox_format import OUTBOX_PREFIX

DLQ_RETENTION = Duration.days(14)  # the SQS maximum: time to investigate before a message is lost


def encrypted_queue(scope: Construct, id: str, **props) -> sqs.Queue:
    return sqs.Queue(scope, id, enforce_ssl=True, encryption=sqs.QueueEncryption.SQS_MANAGED, **props)


def dead_letter_queue(scope: Construct, id: str) -> sqs.Queue:
    dlq = encrypted_queue(scope, id, retention_period=DLQ_RETENTION)
    # Anything here needs a human: alarm on the first message.
    dlq.metric_approximate_number_of_messages_visible(period=Duration.minutes(1), statistic="Maximum").create_alarm(
        scope, f"{id}Alarm",
        alarm_description=f"Messages in {dlq.node.path}",
        threshold=1,
        evaluation_periods=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )
    return dlq


def event_pattern(pattern: dict) -> events.EventPattern:
    """A wiring pattern is written as EventBridge JSON ("detail-type"); CDK spells the keys in snake case."""
    return events.EventPattern(**{key.replace("-", "_"): value for key, value in pattern.items()})


class QueueTrigger(Construct):
    """EventBridge rules -> SQS queue (with DLQ) -> the function, batch by batch."""

    def __init__(self, fn: OmsFunction, id: str, *, spec: wiring.QueueSpec, bus: events.IEventBus) -> None:
        super().__init__(fn, id)
        self.spec = spec
        if spec.visibility_timeout_s < fn.spec.timeout_s:
            # Lambda refuses the mapping, and a batch still running would be delivered a second time.
            raise ValueError(f"queue {spec.name}: visibility timeout {spec.visibility_timeout_s}s is shorter "
                             f"than the timeout of {fn.spec.name} ({fn.spec.timeout_s}s)")
        self.dlq = dead_letter_queue(self, "Dlq")
        self.queue = encrypted_queue(
            self, "Queue",
            visibility_timeout=Duration.seconds(spec.visibility_timeout_s),
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.dlq, max_receive_count=spec.max_receive_count),
        )
        for account in spec.external_senders:
            # Another account's service sends here (Amazon's SP-API notifications): send only, this queue.
            self.queue.add_to_resource_policy(iam.PolicyStatement(
                actions=["sqs:SendMessage", "sqs:GetQueueAttributes"], resources=[self.queue.queue_arn],
                principals=[iam.AccountPrincipal(account)]))
        for n, pattern in enumerate(spec.event_patterns):
            events.Rule(
                self, f"Rule{n}",
                description=f"{'/'.join(pattern.get('detail-type', ['Events']))} for {fn.spec.name}",
                event_bus=bus,
                event_pattern=event_pattern(pattern),
                # Events EventBridge cannot deliver to the queue land in the same DLQ.
                targets=[targets.SqsQueue(self.queue, dead_letter_queue=self.dlq)],
            )
        fn.function.add_event_source(sources.SqsEventSource(
            self.queue, batch_size=spec.batch_size, report_batch_item_failures=True,
            max_concurrency=spec.max_concurrency,
            max_batching_window=Duration.seconds(spec.batching_window_s) if spec.batching_window_s else None))


class StreamTrigger(Construct):
    """Table stream -> the outbox relay, filtered to inserted outbox items before Lambda is invoked."""

    def __init__(self, fn: OmsFunction, id: str, *, table: dynamodb.Table) -> None:
        super().__init__(fn, id)
        self.dlq = dead_letter_queue(self, "Dlq")
        fn.function.add_event_source(sources.DynamoEventSource(
            table,
            # The oldest record the stream still holds: an outbox item must not be skipped.
            starting_position=lambda_.StartingPosition.TRIM_HORIZON,
            filters=[lambda_.FilterCriteria.filter({
                "eventName": lambda_.FilterRule.is_equal("INSERT"),
                "dynamodb": {"NewImage": {"pk": {"S": lambda_.FilterRule.begins_with(OUTBOX_PREFIX)}}},
            })],
            # The wiring's window (infra/wiring.py): gather records into fuller batches.
            max_batching_window=(Duration.seconds(fn.spec.stream_batching_window_s)
                                 if fn.spec.stream_batching_window_s else None),
            report_batch_item_failures=True,
            bisect_batch_on_error=True,
            retry_attempts=10,
            on_failure=sources.SqsDlq(self.dlq),
        ))
        acknowledge(self.dlq, {"AwsSolutions-SQS3": (
            "This queue is itself a dead-letter destination: the on-failure destination of the "
            "table stream mapping.")})
        acknowledge(fn.role, {"AwsSolutions-IAM5[Resource::*]": (
            "dynamodb:ListStreams, added by the stream event source, supports no resource-level "
            "permissions; the other stream actions name the table's stream.")})


class ScheduleTrigger(Construct):
    def __init__(self, fn: OmsFunction, id: str, *, minutes: int) -> None:
        super().__init__(fn, id)
        events.Rule(self, "Rule", description=f"Runs {fn.spec.name} every {minutes} min",
                    schedule=events.Schedule.rate(Duration.minutes(minutes)),
                    targets=[targets.LambdaFunction(fn.function)])


def add_triggers(fn: OmsFunction, *, table: dynamodb.Table, bus: events.IEventBus) -> None:
    """Every non-API trigger the wiring declares for `fn`."""
    if fn.spec.queue is not None:
        QueueTrigger(fn, "QueueTrigger", spec=fn.spec.queue, bus=bus)
    if fn.spec.table_stream:
        StreamTrigger(fn, "StreamTrigger", table=table)
    if fn.spec.schedule_minutes:
        ScheduleTrigger(fn, "ScheduleTrigger", minutes=fn.spec.schedule_minutes)
