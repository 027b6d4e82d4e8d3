"""The OMS stack, generated entirely from `infra/wiring.py`: every function, route, queue, rule,
stream and schedule comes from a loop over the wiring, never from a per-function block."""

from __future__ import annotations

from pathlib import Path
from typing import cast

from aws_cdk import AssetHashType, BundlingOptions, CfnOutput, CfnResource, DockerImage, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra import wiring
from infra.components.api import STAGE_NAME, ApiKeys, OmsApi
from infra.components.functions import OmsFunction, function_logs
from infra.components.layers import (
    PYTHON_CACHES,
    RUNTIME,
    Layers,
    function_code_bundler,
    source_fingerprint,
)
from infra.components.people import OperatorPool
from infra.components.storage import CarrierSecret, DocumentBucket, LabelBucket, OrdersTable, PaymentSecret
from infra.components.triggers import QueueTrigger, add_triggers

REPO_ROOT = Path(__file__).resolve().parent.parent

# Every API client gets a key and a usage plan. The operator is throttled like a default channel:
# the wiring declares no limits of its own for it. The console's key brings people's tokens through
# API Gateway and grants nothing by itself (shared/http/api.py).
API_CLIENTS = [*wiring.DEFAULT_CHANNELS, wiring.ChannelSpec(wiring.OPERATOR), wiring.ChannelSpec(wiring.CONSOLE)]


def construct_id(function_name: str) -> str:
    return "".join(part.capitalize() for part in function_name.split("-"))


class OmsStack(Stack):
    def __init__(self, scope: Construct, id: str, *, bus_name: str, powertools_version: str,
                 email_sender: str = wiring.DEFAULTS.email_sender, label_carrier: str = wiring.DEFAULTS.label_carrier,
                 base_currency: str = wiring.DEFAULTS.base_currency,
                 schedule_minutes: dict[str, int] | None = None, extra_environment: dict[str, str] | None = None,
                 snap_start: bool = False, console_url: str | None = None, auth_domain_prefix: str | None = None,
                 **kwargs) -> None:
        super().__init__(scope, id, description="Serverless order management system", **kwargs)
        table = OrdersTable(self, "Orders").table
        bus = events.EventBus(self, "Bus", event_bus_name=bus_name)
        labels = LabelBucket(self, "Labels").bucket
        documents = DocumentBucket(self, "Documents").bucket
        carrier_secret = CarrierSecret(self, "CarrierSecret").secret
        payment_secret = PaymentSecret(self, "PaymentSecret").secret
        # SES checks the sender's address identity or its domain's, whichever is verified.
        email_identities = [email_sender, email_sender.rsplit("@", 1)[-1]]
        layers = Layers(self, "Layers", shared_package=REPO_ROOT / "shared", powertools_version=powertools_version)
        keys = ApiKeys(self, "ApiKeys", API_CLIENTS)
        # console_url (cdk.json `oms:consoleUrl`): people sign in to the console through the pool's managed login.
        people = OperatorPool(self, "People", console_url=console_url, domain_prefix=auth_domain_prefix)
        # One asset for all functions: handler = <module>.lambda_handler, and api-docs reads the
        # other API handlers' code next to its own.
        code = lambda_.Code.from_asset(
            str(REPO_ROOT / "functions"), exclude=PYTHON_CACHES,
            asset_hash_type=AssetHashType.CUSTOM, asset_hash=source_fingerprint(REPO_ROOT / "functions"),
            bundling=BundlingOptions(image=DockerImage.from_registry(f"public.ecr.aws/sam/build-{RUNTIME.name}"),
                                     local=function_code_bundler(REPO_ROOT / "functions")))  # image never pulled
        environment = {
            wiring.ENV.table: table.table_name,
            wiring.ENV.bus: bus.event_bus_name,
            wiring.ENV.label_carrier: label_carrier,
            wiring.ENV.email_sender: email_sender,
            wiring.ENV.base_currency: base_currency,  # reports (cdk.json `oms:baseCurrency`)
            # In AWS an order naming a payment intent is paid through Stripe (the sandbox is local only).
            wiring.ENV.payment_provider: "stripe",
            "POWERTOOLS_SERVICE_NAME": "oms",
            "POWERTOOLS_METRICS_NAMESPACE": wiring.METRICS_NAMESPACE,
            # cdk.json `oms:environment`: settings such as OMS_RECONCILE_SLA, for every function.
            **{k: str(v) for k, v in (extra_environment or {}).items()},
        }
        functions: dict[str, lambda_.IFunction] = {}
        built: list[OmsFunction] = []
        log_group = function_logs(self)
        for spec in wiring.with_schedules(schedule_minutes or {}):
            principals = {wiring.ENV.principals: keys.principals_json(), **people.environment(spec)} \
                if spec.needs_api_principals else {}
            tokens: list[lambda_.ILayerVersion] = [people.token_layer] if spec.needs_api_principals else []
            # SnapStart (cdk.json `oms:snapStart`) for the functions behind the API only: a queue consumer's
            # cold start delays no caller, and each snapshot is billed while its version exists.
            fn = OmsFunction(self, construct_id(spec.name), spec=spec, code=code,
                             layers=layers.for_function(spec.layers) + tokens, environment={**environment, **principals},
                             log_group=log_group, snap_start=snap_start and bool(spec.routes))
            fn.grant(table, bus, labels=labels, documents=documents, carrier_secret=carrier_secret,
                     payment_secret=payment_secret, email_identities=email_identities)
            if spec.manages_people:
                people.grant_people_admin(fn.function)
            add_triggers(fn, table=table, bus=bus)
            functions[spec.name] = fn.invoke_target
            built.append(fn)
        # Wiring `deployed_first`: every other function's code is updated after it (DependsOn between the
        # functions alone, so roles and triggers keep their own order).
        for first in [fn for fn in built if fn.spec.deployed_first]:
            for fn in built:
                if fn is not first:
                    cast(CfnResource, fn.function.node.default_child).add_dependency(
                        cast(CfnResource, first.function.node.default_child))
        # Direct sends (wiring `sends_to`): the sender may send to that queue and nothing else.
        queues = {t.spec.name: t.queue for fn in built for t in fn.node.children if isinstance(t, QueueTrigger)}
        for fn in built:
            for name in fn.spec.sends_to:
                queues[name].grant_send_messages(fn.function)
                fn.function.add_environment(wiring.queue_url_env(name), queues[name].queue_url)
        api = OmsApi(self, "Api", functions=functions, keys=keys).api
        for fn in built:
            if fn.spec.issues_api_keys:  # channel keys go on this API's stage, in a usage plan each
                fn.function.add_environment(wiring.ENV.api_id, api.rest_api_id)
                # The name, not a reference to the stage: the stage depends on the methods, which call this function.
                fn.function.add_environment(wiring.ENV.api_stage, STAGE_NAME)

        CfnOutput(self, "ApiUrl", value=api.url)
        CfnOutput(self, "OperatorUserPoolId", value=people.pool.user_pool_id)
        CfnOutput(self, "ConsoleClientId", value=people.client.user_pool_client_id)
        # Where SP-API sends ORDER_CHANGE notifications (its createDestination takes this ARN).
        CfnOutput(self, "AmazonNotificationsQueueArn", value=queues["amazon-notifications"].queue_arn)
        for name, key in keys.keys.items():
            # Key ids only: fetch a value with `aws apigateway get-api-key --api-key <id> --include-value`.
            CfnOutput(self, f"{construct_id(name)}ApiKeyId", value=key.key_id)
