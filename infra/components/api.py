"""The REST API: one method per wiring route, API keys and usage plans per channel and the operator."""

from __future__ import annotations

import json

from aws_cdk import Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra import wiring
from infra.components.functions import LOG_RETENTION
from infra.components.nag import acknowledge

F = apigw.AccessLogField
ACCESS_LOG_FORMAT = apigw.AccessLogFormat.custom(json.dumps({
    "requestId": F.context_request_id(),
    # The key id says which channel (or the operator) called: the handlers map it to a principal.
    "apiKeyId": F.context_identity_api_key_id(),
    "ip": F.context_identity_source_ip(),
    "requestTime": F.context_request_time(),
    "method": F.context_http_method(),
    "resourcePath": F.context_resource_path(),
    "status": F.context_status(),
    "latencyMs": F.context_response_latency(),
    "integrationError": F.context_integration_error_message(),
    "xrayTraceId": F.context_xray_trace_id(),
}))


STAGE_NAME = "v1"

class ApiKeys(Construct):
    """One API key per API client (channel or operator); CloudFormation generates the key values.

    Created before the functions, and without a stage, because the functions' environment names the
    keys' ids (OMS_API_PRINCIPALS); the usage plans attach them to the stage afterwards.
    """

    def __init__(self, scope: Construct, id: str, clients: list[wiring.ChannelSpec]) -> None:
        super().__init__(scope, id)
        self.clients = clients
        self.keys = {c.name: apigw.ApiKey(self, c.name, description=f"OMS API key of {c.name}")
                     for c in clients}

    def principals_json(self) -> str:
        """apiKeyId -> channel name or "operator", as the handlers read it from OMS_API_PRINCIPALS."""
        return Stack.of(self).to_json_string({key.key_id: name for name, key in self.keys.items()})


class OmsApi(Construct):
    def __init__(self, scope: Construct, id: str, *, functions: dict[str, lambda_.IFunction],
                 keys: ApiKeys) -> None:
        super().__init__(scope, id)
        access_logs = logs.LogGroup(self, "AccessLogs", retention=LOG_RETENTION)
        self.api = apigw.RestApi(
            self, "Api",
            rest_api_name="oms",
            description="Serverless order management: capture, reserve, route",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # API Gateway writes execution logs through an account-wide role; CDK sets it up.
            cloud_watch_role=True,
            deploy_options=apigw.StageOptions(
                stage_name=STAGE_NAME,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=ACCESS_LOG_FORMAT,
                # ERROR, not INFO: INFO logs request bodies, i.e. customer addresses.
                logging_level=apigw.MethodLoggingLevel.ERROR,
                tracing_enabled=True,
                metrics_enabled=True,
            ),
        )
        # The handlers validate bodies with pydantic; the validator rejects requests that lack
        # declared parameters before they cost an invocation.
        validator = self.api.add_request_validator(
            "Validator", validate_request_body=True, validate_request_parameters=True)
        # One invoke permission per function, scoped to this API, rather than one per method (and one more
        # per method for the console's Test button): the stack must stay under CloudFormation's 500
        # resources, and a function is reachable only through the methods the API routes to it anyway.
        integrations = {name: apigw.LambdaIntegration(fn, scope_permission_to_method=False)
                        for name, fn in functions.items()}
        for route, fn in wiring.routes():
            self.api.root.resource_for_path(route.path).add_method(
                route.method, integrations[fn.name],
                api_key_required=not route.public,
                request_validator=validator,
            )
        for client in keys.clients:
            plan = self.api.add_usage_plan(
                f"{client.name}Plan",
                name=f"oms-{client.name}",
                description=f"Throttle of {client.name}",
                throttle=apigw.ThrottleSettings(rate_limit=client.rate_limit_rps, burst_limit=client.burst_limit),
                api_stages=[apigw.UsagePlanPerApiStage(api=self.api, stage=self.api.deployment_stage)],
            )
            plan.add_api_key(keys.keys[client.name])
        acknowledge(self.api, {
            "AwsSolutions-APIG4": "Channels and the operator are machine clients identified by API key (x-api-key) "
                                  "with a usage plan each; public routes (health, OpenAPI, docs) are public by design.",
            "AwsSolutions-COG4": "A method carries one authorizer, and a Cognito authorizer would lock the "
                                 "operator's machine key out of the same routes: people's Cognito tokens are "
                                 "verified by the functions (signature against the pool's keys, issuer, client, "
                                 "token use, expiry: shared/http/tokens.py), beside the API key every keyed "
                                 "method requires.",
            "AwsSolutions-APIG3": "WAF is optional for merchants (a per-deployment cost); usage plans throttle "
                                  "every key.",
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AmazonAPIGatewayPushToCloudWatchLogs]": "The AWS-managed policy API Gateway documents for its "
                                                    "account-level CloudWatch logging role.",
        })
