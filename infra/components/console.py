"""The operator console (dashboard/) as a static site: a private S3 bucket behind CloudFront (origin
access control, HTTPS only), with the API behind the same distribution at /api/*, so the browser calls
one origin and the API needs no CORS (nor the OPTIONS methods CORS would add to the API's resources)."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from aws_cdk import custom_resources as cr
from constructs import Construct

from infra.components.nag import acknowledge, bucket_objects_wildcard
from infra.wiring import route_roles

API_PREFIX = "/api"
# CloudFront hands /api/orders to the API as /orders (the origin path adds the stage).
STRIP_API_PREFIX = f"""function handler(event) {{
  var request = event.request;
  request.uri = request.uri.substring({len(API_PREFIX)}) || "/";
  return request;
}}"""
# What the deployed console reads at start (dashboard/src/api.ts loadConfig): the API on this origin
# under /api; no operator key in it (site_config adds the console's key, which alone grants nothing, and the
# pool). routeRoles: who may call each route, the wiring's table the API enforces, which the console's gating
# reads (dashboard/src/auth.ts).
SITE_CONFIG = {"apiBase": API_PREFIX, "auth": "api-key", "routeRoles": route_roles()}


def site_config(cognito: dict[str, str] | None, console_key: str | None = None) -> dict:
    """SITE_CONFIG and, with the OMS stack's pool, `cognito` (infra/components/people.py console_config): the
    region and app client the console renews a person's token with, and with managed login the domain to
    sign in at and the address the code comes back to (dashboard/src/refresh.ts, dashboard/src/hosted.ts)."""
    return {**SITE_CONFIG, **({"cognito": cognito} if cognito else {}), **({"consoleKey": console_key} if console_key else {})}


class ConsoleSite(Construct):
    def __init__(self, scope: Construct, id: str, *, api: apigw.RestApi, site_dir: Path | None,
                 cognito: dict[str, str] | None = None, console_key_id: str | None = None) -> None:
        super().__init__(scope, id)
        # The console's API key, which gets people's bearer tokens past API Gateway and grants nothing by
        # itself (shared/http/api.py): API Gateway generates its value, which the template cannot name, so it
        # is read at deployment (GetApiKey, that key only) into config.json, which every browser reads anyway.
        console_key = self._console_key(console_key_id) if console_key_id else None
        self.bucket = s3.Bucket(
            self, "Bucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            # Only a build lives here, deployed again from the repository at will.
            removal_policy=RemovalPolicy.DESTROY,
        )
        strip = cloudfront.Function(self, "StripApiPrefix", code=cloudfront.FunctionCode.from_inline(STRIP_API_PREFIX),
                                    runtime=cloudfront.FunctionRuntime.JS_2_0)
        self.distribution = cloudfront.Distribution(
            self, "Distribution",
            comment="OMS operator console",
            default_root_object="index.html",
            minimum_protocol_version=cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(self.bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                response_headers_policy=cloudfront.ResponseHeadersPolicy.SECURITY_HEADERS,
            ),
            additional_behaviors={f"{API_PREFIX}/*": cloudfront.BehaviorOptions(
                origin=origins.RestApiOrigin(api),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
                # Every answer is the caller's own: nothing cached, every header but Host passed on. With
                # caching disabled, this managed origin request policy passes on Authorization too (a person's
                # bearer token); another cache policy would have to make it part of the cache key instead.
                cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
                origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
                function_associations=[cloudfront.FunctionAssociation(
                    function=strip, event_type=cloudfront.FunctionEventType.VIEWER_REQUEST)],
            )},
        )
        acknowledge(self.distribution, {
            "AwsSolutions-CFR1": "Operators may work from anywhere; the API's keys and usage plans guard access.",
            "AwsSolutions-CFR2": "No WAF for a static console used by a few operators; the API behind it has "
                                 "per-key usage plans (throttling) and authenticates every request.",
            "AwsSolutions-CFR3": "Access logs would need a bucket with ACLs enabled; the API's own access logs "
                                 "record every call the console makes.",
            "AwsSolutions-CFR4": "The default *.cloudfront.net certificate cannot be limited to TLS 1.2; with a "
                                 "custom domain and certificate the distribution's minimum TLS 1.2 (2021) applies.",
        })
        acknowledge(self.bucket, {"AwsSolutions-S1": (
            "The bucket holds only the console's public build, read through CloudFront and written by the "
            "deployment; nothing in it is private.")})
        self.deployment: s3deploy.BucketDeployment | None = None
        if site_dir is not None:
            self.deployment = s3deploy.BucketDeployment(
                self, "Deploy",
                sources=[s3deploy.Source.asset(str(site_dir)), s3deploy.Source.json_data("config.json", site_config(cognito, console_key))],
                destination_bucket=self.bucket,
                distribution=self.distribution,  # invalidated on every deployment
                # Asset names are hashed; index.html and config.json are revalidated (ETag) on every load.
                cache_control=[s3deploy.CacheControl.no_cache()],
                memory_limit=256,
            )
            # Its function is a singleton at the stack's top level (one for every BucketDeployment there).
            handler = next(c for c in Stack.of(self).node.children if c.node.id.startswith("Custom::CDKBucketDeployment"))
            acknowledge(handler, {
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AWSLambdaBasicExecutionRole]": "CDK's BucketDeployment function writes its logs with the "
                                                "managed basic execution policy.",
                "AwsSolutions-IAM5[Action::s3:GetBucket*]": "CDK's BucketDeployment reads the asset bucket.",
                "AwsSolutions-IAM5[Action::s3:GetObject*]": "CDK's BucketDeployment reads the asset bucket.",
                "AwsSolutions-IAM5[Action::s3:List*]": "CDK's BucketDeployment lists the asset and site buckets.",
                "AwsSolutions-IAM5[Action::s3:DeleteObject*]": "CDK's BucketDeployment replaces the site's files.",
                "AwsSolutions-IAM5[Action::s3:Abort*]": "CDK's BucketDeployment uploads the site's files.",
                "AwsSolutions-IAM5[Resource::*]": "CloudFront invalidations cannot be scoped to a distribution "
                                                  "in CDK's BucketDeployment policy.",
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-"
                "<AWS::Region>/*]": "CDK's BucketDeployment reads the uploaded build from the CDK asset bucket.",
                bucket_objects_wildcard(self.bucket): "CDK's BucketDeployment writes the site's files.",
                "AwsSolutions-L1": "CDK's BucketDeployment function runtime is chosen by the CDK version.",
            })

    def _console_key(self, key_id: str) -> str:
        stack = Stack.of(self)
        read = cr.AwsCustomResource(
            self, "ConsoleKey",
            on_update=cr.AwsSdkCall(service="APIGateway", action="getApiKey",
                                    parameters={"apiKey": key_id, "includeValue": True},
                                    physical_resource_id=cr.PhysicalResourceId.of(key_id)),
            # API Gateway's management actions are HTTP verbs on resource paths (not apigateway:GetApiKey).
            policy=cr.AwsCustomResourcePolicy.from_statements([iam.PolicyStatement(
                actions=["apigateway:GET"], resources=[f"arn:{stack.partition}:apigateway:{stack.region}::/apikeys/{key_id}"])]),
            install_latest_aws_sdk=False,
        )
        # Its function is a singleton at the stack's top level (one for every AwsCustomResource there).
        handler = next(c for c in stack.node.children if c.node.id == "AWS" + cr.AwsCustomResource.PROVIDER_FUNCTION_UUID.replace("-", ""))
        acknowledge(handler, {"AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                                  "AWSLambdaBasicExecutionRole]": "CDK's AwsCustomResource function writes its logs "
                                                                  "with the managed basic execution policy.",
                           "AwsSolutions-L1": "CDK's AwsCustomResource function runtime is chosen by the CDK version."})
        return read.get_response_field("value")
