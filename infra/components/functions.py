"""One Lambda function per `wiring.Function`: code, layers, logs, tracing and least-privilege grants."""

from __future__ import annotations

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra import wiring
from infra.components.layers import ARCHITECTURE, RUNTIME
from infra.components.nag import acknowledge, bucket_objects_wildcard, table_index_wildcard
from shared.adapters.api_keys import TAG as CHANNEL_KEY_TAG
from shared.domain.channels import SECRET_PREFIX as CHANNEL_SECRET_PREFIX

LOG_RETENTION = logs.RetentionDays.ONE_MONTH


def function_logs(scope: Construct) -> logs.LogGroup:
    """The one log group every OMS function writes to. Lambda names each stream in a shared group
    `YYYY/MM/DD/<function name>[<version>]<environment id>`, so every line still says which function wrote
    it (and Powertools' JSON lines carry `function_name`); one group instead of one per function keeps 33
    resources out of a stack that CloudFormation caps at 500 (SnapStart's versions and aliases need them)."""
    return logs.LogGroup(scope, "FunctionLogs", retention=LOG_RETENTION)


class OmsFunction(Construct):
    """`snap_start`: Lambda SnapStart on published versions (cdk.json `oms:snapStart`, API functions only):
    each deployment publishes a version, Lambda snapshots it once initialised, and the alias `live`,
    which the API invokes, points at it. The replaced version is deleted, not retained: each version's
    snapshot is billed for as long as the version exists. The runtime hooks are shared/snapstart.py."""

    SNAP_START_ALIAS = "live"

    def __init__(self, scope: Construct, id: str, *, spec: wiring.Function, code: lambda_.Code,
                 layers: list[lambda_.ILayerVersion], environment: dict[str, str], log_group: logs.ILogGroup,
                 snap_start: bool = False) -> None:
        super().__init__(scope, id)
        self.spec = spec
        # Our own role instead of the default AWSLambdaBasicExecutionRole: it may write to the OMS's function
        # log group only (`function_logs`), not create or write any other log group in the account.
        self.role = iam.Role(self, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                             description=f"OMS {spec.name}")
        log_group.grant_write(self.role)
        self.function = lambda_.Function(
            self, "Function",
            description=spec.description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            code=code,
            handler=f"{spec.module}.lambda_handler",
            layers=layers,
            environment=environment,
            memory_size=spec.memory_mb,
            timeout=Duration.seconds(spec.timeout_s),
            reserved_concurrent_executions=spec.reserved_concurrency,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group,
            role=self.role,
            snap_start=lambda_.SnapStartConf.ON_PUBLISHED_VERSIONS if snap_start else None,
            current_version_options=lambda_.VersionOptions(removal_policy=RemovalPolicy.DESTROY) if snap_start else None,
        )
        # What invokers call: the alias of the published version with SnapStart, else the function ($LATEST).
        self.invoke_target: lambda_.IFunction = self.function
        if snap_start:
            self.invoke_target = lambda_.Alias(self, "Live", alias_name=self.SNAP_START_ALIAS,
                                               version=self.function.current_version)
        self.function.metric_errors(period=Duration.minutes(5), statistic="Sum").create_alarm(
            self, "ErrorsAlarm",
            alarm_description=f"{spec.name} raised errors",
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        for alarm in spec.metric_alarms:
            cloudwatch.Metric(
                namespace=wiring.METRICS_NAMESPACE, metric_name=alarm.metric, dimensions_map={"service": "oms"},
                statistic="Sum", period=Duration.minutes(5),
            ).create_alarm(
                self, f"{alarm.metric}Alarm",
                alarm_description=alarm.description,
                threshold=alarm.threshold,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
        acknowledge(self.role, {"AwsSolutions-IAM5[Resource::*]": (
            "X-Ray PutTraceSegments/PutTelemetryRecords, added for active tracing, support no "
            "resource-level permissions.")})
        acknowledge(self.function, {"AwsSolutions-L1": (
            f"Pinned to python{wiring.LAMBDA_PYTHON} (wiring.LAMBDA_PYTHON): the test suite and the local "
            "runtime run on that same interpreter version, so what is tested is what runs.")})

    def grant(self, table: dynamodb.Table, bus: events.IEventBus, *, labels: s3.IBucket, documents: s3.IBucket,
              carrier_secret: secretsmanager.ISecret, payment_secret: secretsmanager.ISecret,
              email_identities: list[str]) -> None:
        """Exactly what the wiring declares, nothing more."""
        if self.spec.table_access == "read":
            table.grant_read_data(self.function)
        elif self.spec.table_access == "write":
            table.grant_read_write_data(self.function)
        if self.spec.table_access:
            acknowledge(self.role, {table_index_wildcard(table): (
                "grant_*_data covers the table's GSIs as <table arn>/index/*; the function queries "
                "the GSIs declared in wiring.TABLE and nothing outside this table.")})
        if self.spec.publishes_events:
            bus.grant_put_events_to(self.function)
        self._grant_bucket(labels, self.spec.label_access, wiring.ENV.label_bucket,
                           "Labels are keyed by shipment id: any object of the label bucket, and no other bucket.")
        self._grant_bucket(documents, self.spec.documents_access, wiring.ENV.documents_bucket,
                           "Invoice PDFs are keyed by order id and number: any object of the documents bucket, "
                           "and no other bucket.")
        if self.spec.reads_carrier_secret:
            carrier_secret.grant_read(self.function)
            self.function.add_environment(wiring.ENV.carrier_secret, carrier_secret.secret_arn)
        if self.spec.reads_payment_secret:
            payment_secret.grant_read(self.function)
            self.function.add_environment(wiring.ENV.payment_secret, payment_secret.secret_arn)
        if self.spec.reads_channel_secrets:
            # By name prefix: channels are created at run time, each naming its own secret under it.
            self.function.add_to_role_policy(iam.PolicyStatement(
                actions=["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                resources=[Stack.of(self).format_arn(service="secretsmanager", resource="secret",
                                                     resource_name=f"{CHANNEL_SECRET_PREFIX}*",
                                                     arn_format=ArnFormat.COLON_RESOURCE_NAME)]))
            acknowledge(self.role, {"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:"
                                    f"<AWS::AccountId>:secret:{CHANNEL_SECRET_PREFIX}*]": (
                "Channels are configured at run time, each naming its own secret: the prefix oms/channels/ "
                "bounds what may be read (the channel settings accept no other name).")})
        if self.spec.issues_api_keys:
            self._grant_channel_keys()
        if self.spec.sends_email:
            self.function.add_to_role_policy(iam.PolicyStatement(
                actions=["ses:SendEmail", "ses:SendRawEmail"],
                resources=[Stack.of(self).format_arn(service="ses", resource="identity", resource_name=identity)
                           for identity in email_identities]))
        if self.spec.sends_sms:
            self._grant_sms()

    def _grant_sms(self) -> None:
        """Send text messages from this account's SMS resources in this region, and nothing else."""
        resource = Stack.of(self).format_arn(service="sms-voice", resource="*", arn_format=ArnFormat.NO_RESOURCE_NAME)
        self.function.add_to_role_policy(iam.PolicyStatement(actions=["sms-voice:SendTextMessage"],
                                                             resources=[resource]))
        acknowledge(self.role, {"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sms-voice:<AWS::Region>:"
                                "<AWS::AccountId>:*]": (
            "SendTextMessage authorises the origination identity the service picks (a phone number, sender ID or "
            "pool of the account, unknown when deploying), its opt-out list and configuration set: any SMS "
            "resource of this account and region, and only the send action.")})

    def _grant_channel_keys(self) -> None:
        """Create channel keys and usage plans (tagged oms:channel), attach and detach keys to plans, and
        change or delete only what carries that tag: never read a key's value, never touch the
        operator's key or another API's plans."""
        stack = Stack.of(self)

        def arn(path: str) -> str:
            return f"arn:{stack.partition}:apigateway:{stack.region}::{path}"

        self.function.add_to_role_policy(iam.PolicyStatement(
            actions=["apigateway:POST"], resources=[arn("/apikeys"), arn("/usageplans"), arn("/usageplans/*/keys")]))
        self.function.add_to_role_policy(iam.PolicyStatement(
            actions=["apigateway:DELETE"], resources=[arn("/usageplans/*/keys/*")]))
        self.function.add_to_role_policy(iam.PolicyStatement(
            actions=["apigateway:PATCH", "apigateway:DELETE"], resources=[arn("/apikeys/*"), arn("/usageplans/*")],
            conditions={"Null": {f"aws:ResourceTag/{CHANNEL_KEY_TAG}": "false"}}))
        acknowledge(self.role, {f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:apigateway:<AWS::Region>::{p}]": (
            "A channel created at run time gets a key and usage plan whose ids do not exist yet: creating them, "
            "attaching keys to plans, and changing or deleting only keys and plans tagged oms:channel.")
            for p in ("/apikeys/*", "/usageplans/*", "/usageplans/*/keys", "/usageplans/*/keys/*")})

    def _grant_bucket(self, bucket: s3.IBucket, access: wiring.Access | None, env_name: str, objects: str) -> None:
        """Read (presigned links are signed with the reader's rights) or read and write, and the
        bucket's name in `env_name`; nothing without `access`."""
        if access is None:
            return
        if access == "write":
            bucket.grant_read_write(self.function)
        else:
            bucket.grant_read(self.function)
        self.function.add_environment(env_name, bucket.bucket_name)
        acknowledge(self.role, {"AwsSolutions-IAM5[Action::s3:GetObject*]": "grant_read's object actions.",
                                "AwsSolutions-IAM5[Action::s3:GetBucket*]": "grant_read's bucket actions.",
                                "AwsSolutions-IAM5[Action::s3:List*]": "grant_read's list actions.",
                                "AwsSolutions-IAM5[Action::s3:DeleteObject*]": "grant_read_write's delete actions.",
                                "AwsSolutions-IAM5[Action::s3:Abort*]": "grant_read_write's multipart abort.",
                                bucket_objects_wildcard(bucket): objects})
