"""The single-table DynamoDB store."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, SecretValue
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra import wiring
from infra.components.nag import acknowledge

# Labels stay readable for claims and returns long after delivery; carriers accept claims for
# up to about a year.
LABEL_RETENTION = Duration.days(400)


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
                projection_type=dynamodb.ProjectionType(index.projection),
                non_key_attributes=list(index.non_key_attributes) or None,
            )



def private_bucket(scope: Construct, lifecycle_rules: list[s3.LifecycleRule] | None = None) -> s3.Bucket:
    """A bucket only the OMS's functions use: no public access, S3-managed encryption, TLS only,
    owner-enforced objects, kept when the stack goes (documents are handed out as presigned links)."""
    return s3.Bucket(
        scope, "Bucket",
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        encryption=s3.BucketEncryption.S3_MANAGED,
        enforce_ssl=True,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        lifecycle_rules=lifecycle_rules,
        removal_policy=RemovalPolicy.RETAIN,
    )


class LabelBucket(Construct):
    """Shipping labels (PDF or ZPL), private; handed out only as short-lived presigned links."""

    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        self.bucket = private_bucket(self, lifecycle_rules=[s3.LifecycleRule(expiration=LABEL_RETENTION)])
        acknowledge(self.bucket, {"AwsSolutions-S1": (
            "Only the OMS's own functions write here, each label once under its shipment id; "
            "CloudTrail data events can audit reads where a merchant needs it.")})


class DocumentBucket(Construct):
    """Invoice and credit note PDFs (invoices/<order id>/<number>.pdf), private; handed out only as
    short-lived presigned links. No expiry: invoices must be kept for the legal retention period,
    typically 10 years (its length and start depend on the country), and when one may go is the
    merchant's decision, not a lifecycle rule's guess. The table keeps every document as data too,
    so a PDF can always be rendered again from it. No transition to Infrequent Access either: a
    PDF is a few KB, and S3 Standard-IA bills every object as at least 128 KB."""

    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        self.bucket = private_bucket(self)
        acknowledge(self.bucket, {"AwsSolutions-S1": (
            "Only the OMS's render-documents function writes here, each document under its own number; "
            "CloudTrail data events can audit reads where a merchant needs it.")})


class CarrierSecret(Construct):
    """Carrier credentials, one JSON secret (keys in shared/carriers/credentials.py). The stack
    generates the signing secret of our canonical webhook format; a merchant adds the providers'
    keys with `aws secretsmanager put-secret-value`. Nothing secret is in code, logs or events."""

    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        self.secret = secretsmanager.Secret(
            self, "Secret",
            description="OMS carrier credentials: API keys and webhook signing secrets",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template="{}", generate_string_key="webhook_secret",
                exclude_punctuation=True, password_length=48),
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(self.secret, {"AwsSolutions-SMG4": (
            "Third-party carrier keys are rotated at the provider (EasyPost, Shippo, AfterShip) and "
            "then stored here; Secrets Manager cannot rotate them itself.")})


class PaymentSecret(Construct):
    """Payment credentials, one JSON secret (keys in shared/payments/credentials.py): Stripe's secret
    key and webhook signing secret, which Stripe issues, so the stack creates the secret empty and a
    merchant puts them with `aws secretsmanager put-secret-value`."""

    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        self.secret = secretsmanager.Secret(
            self, "Secret",
            description="OMS payment credentials: stripe_secret_key, stripe_webhook_secret",
            secret_string_value=SecretValue.unsafe_plain_text("{}"),
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(self.secret, {"AwsSolutions-SMG4": (
            "Stripe's keys are rolled in Stripe's dashboard and then stored here; Secrets Manager cannot "
            "rotate them itself.")})
