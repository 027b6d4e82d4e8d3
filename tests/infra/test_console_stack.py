"""The operator console's static site (infra/console_stack.py): private bucket behind CloudFront with
origin access control, the API under /api/* on the same distribution, the build deployed when it exists.

Built beside a one-method stand-in API (the OMS stack's own synth is tests/infra/test_stack.py's, which
builds the whole app, console stack included), with cdk-nag on, as infra/app.py does."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from aws_cdk import App, Stack, Validations
from aws_cdk import aws_apigateway as apigw
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks

from infra.components.console import SITE_CONFIG, STRIP_API_PREFIX
from infra.components.nag import acknowledge
from infra.console_stack import ConsoleStack
from infra.wiring import route_roles

pytestmark = pytest.mark.infra


def synth(site_dir) -> tuple[dict, dict]:
    app = App()
    api_stack = Stack(app, "Api")
    api = apigw.RestApi(api_stack, "Api", cloud_watch_role=False, deploy_options=apigw.StageOptions(stage_name="v1"))
    api.root.add_resource("orders").add_method("GET", apigw.MockIntegration())
    acknowledge(api_stack, {i: "a stand-in API for this test" for i in (
        "AwsSolutions-APIG1", "AwsSolutions-APIG2", "AwsSolutions-APIG3", "AwsSolutions-APIG4", "AwsSolutions-APIG6",
        "AwsSolutions-COG4")})
    console = ConsoleStack(app, "Console", api=api, site_dir=site_dir)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    assembly = app.synth()  # raises on any cdk-nag finding not fixed or acknowledged
    return assembly.get_stack_by_name(console.stack_name).template, assembly.get_stack_by_name("Api").template


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    build = tmp_path_factory.mktemp("dist")
    (build / "index.html").write_text("<!doctype html><title>console</title>")
    return synth(build)[0]


def distribution(template: dict) -> dict:
    [config] = [r["Properties"]["DistributionConfig"] for r in template["Resources"].values()
                if r["Type"] == "AWS::CloudFront::Distribution"]
    return config


def test_the_site_bucket_is_private_and_read_through_origin_access_control(site):
    t = Template.from_json(site)
    t.has_resource_properties("AWS::S3::Bucket", {"PublicAccessBlockConfiguration": {
        "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True}})
    t.resource_count_is("AWS::CloudFront::OriginAccessControl", 1)
    config = distribution(site)
    s3_origin = next(o for o in config["Origins"] if "S3OriginConfig" in o)
    assert "OriginAccessControlId" in s3_origin
    assert config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    assert config["DefaultRootObject"] == "index.html"


def test_the_api_is_behind_the_same_distribution_under_api_uncached(site):
    [behaviour] = distribution(site)["CacheBehaviors"]
    assert behaviour["PathPattern"] == "/api/*"
    assert behaviour["ViewerProtocolPolicy"] == "https-only"
    assert {"POST", "PUT", "DELETE"} <= set(behaviour["AllowedMethods"])
    assert behaviour["CachePolicyId"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # Managed-CachingDisabled
    assert behaviour["FunctionAssociations"][0]["EventType"] == "viewer-request"
    api_origin = next(o for o in distribution(site)["Origins"] if o["Id"] == behaviour["TargetOriginId"])
    assert api_origin["CustomOriginConfig"]["OriginSSLProtocols"] == ["TLSv1.2"]
    assert "execute-api" in json.dumps(api_origin["DomainName"])


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js (as the CDK does)")
def test_the_viewer_function_hands_the_api_its_own_paths():
    script = STRIP_API_PREFIX + """
for (const uri of ["/api/orders", "/api/orders/o1/release", "/api"]) console.log(handler({request: {uri}}).uri);"""
    out = subprocess.run(["node", "-e", script], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["/orders", "/orders/o1/release", "/"]


def test_the_build_is_deployed_with_a_config_naming_the_api_path(site):
    [deployment] = [r for r in site["Resources"].values() if r["Type"] == "Custom::CDKBucketDeployment"]
    assert "DistributionId" in deployment["Properties"]  # the distribution is invalidated on every deployment
    assert len(deployment["Properties"]["SourceObjectKeys"]) == 2  # the build and config.json
    assert deployment["Properties"]["SystemMetadata"] == {"cache-control": "no-cache"}  # revalidated on every load
    # No key in the deployed site; who may call which route is the wiring's table (the console's gating).
    assert SITE_CONFIG == {"apiBase": "/api", "auth": "api-key", "routeRoles": route_roles()}
    print(f"console stack: {len(site['Resources'])} resources")


def test_without_a_build_nothing_is_deployed(tmp_path):
    template, _ = synth(None)
    assert not [r for r in template["Resources"].values() if r["Type"] in ("Custom::CDKBucketDeployment",
                                                                           "AWS::Lambda::Function")]
