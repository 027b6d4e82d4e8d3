"""Deployed sign-in for the console: the pool's app client and managed login (infra/components/people.py),
what the deployed config.json tells the console of the pool (infra/components/console.py), and the /api/*
behaviour passing a person's Authorization header on to the API."""

from __future__ import annotations

import json

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_apigateway as apigw

from infra.components.people import OperatorPool
from infra.console_stack import ConsoleStack

pytestmark = pytest.mark.infra

CONSOLE_URL = "https://console.example.com/"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # Managed-CachingDisabled
ALL_VIEWER_EXCEPT_HOST = "b689b0a8-53d0-40ab-baf2-68738e2966ac"  # Managed-AllViewerExceptHostHeader


def synth(console_url: str | None, site_dir) -> tuple[dict, dict, dict]:
    """The pool beside a stand-in API, and the console stack with the config the app gives it (infra/app.py)."""
    app = App()
    api_stack = Stack(app, "Api")
    api = apigw.RestApi(api_stack, "Api", cloud_watch_role=False, deploy_options=apigw.StageOptions(stage_name="v1"))
    api.root.add_resource("orders").add_method("GET", apigw.MockIntegration())
    pool = OperatorPool(api_stack, "People", console_url=console_url)
    key = apigw.ApiKey(api_stack, "ConsoleKey")
    console = ConsoleStack(app, "Console", api=api, site_dir=site_dir, cognito=pool.console_config(console_url),
                           console_key_id=key.key_id)
    assembly = app.synth()
    return (assembly.get_stack_by_name("Api").template, assembly.get_stack_by_name(console.stack_name).template,
            pool.console_config(console_url))


def of_type(template: dict, type_: str) -> list[dict]:
    return [r["Properties"] for r in template["Resources"].values() if r["Type"] == type_]


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    site = tmp_path_factory.mktemp("dist")
    (site / "index.html").write_text("<!doctype html><title>console</title>")
    return site


@pytest.fixture(scope="module")
def managed(build):
    return synth(CONSOLE_URL, build)


def test_with_the_console_url_people_sign_in_through_managed_login_with_the_code_and_pkce(managed):
    pool_stack, _, _ = managed
    [client] = of_type(pool_stack, "AWS::Cognito::UserPoolClient")
    assert client["AllowedOAuthFlowsUserPoolClient"] is True
    assert client["AllowedOAuthFlows"] == ["code"]  # no implicit grant: no token in an address
    assert client["AllowedOAuthScopes"] == ["openid"]
    assert client["CallbackURLs"] == [CONSOLE_URL] and client["LogoutURLs"] == [CONSOLE_URL]
    assert client.get("GenerateSecret", False) is False  # a browser keeps no secret: PKCE instead
    assert "ALLOW_REFRESH_TOKEN_AUTH" in client["ExplicitAuthFlows"]
    [domain] = of_type(pool_stack, "AWS::Cognito::UserPoolDomain")
    assert "oms-" in json.dumps(domain["Domain"])


def test_the_deployed_config_names_the_pool_client_domain_and_return_address(managed):
    _, console, config = managed
    assert set(config) == {"region", "clientId", "domain", "redirectUri"} and config["redirectUri"] == CONSOLE_URL
    [deployment] = of_type(console, "Custom::CDKBucketDeployment")
    # config.json's pool values are the OMS stack's, filled in at deployment: the app client and the domain.
    markers = json.dumps(deployment["SourceMarkers"])
    assert "ExportsOutputRefPeoplePoolConsole" in markers and "ExportsOutputRefPeoplePoolDomain" in markers


def test_without_the_console_url_there_is_no_managed_login_but_the_console_still_renews_tokens(build):
    pool_stack, _, config = synth(None, build)
    [client] = of_type(pool_stack, "AWS::Cognito::UserPoolClient")
    assert not client.get("AllowedOAuthFlowsUserPoolClient") and "CallbackURLs" not in client
    assert "ALLOW_REFRESH_TOKEN_AUTH" in client["ExplicitAuthFlows"]
    assert of_type(pool_stack, "AWS::Cognito::UserPoolDomain") == []
    assert set(config) == {"region", "clientId"}


def test_the_api_behaviour_passes_a_persons_authorization_header_on(managed):
    _, console, _ = managed
    [distribution] = of_type(console, "AWS::CloudFront::Distribution")
    [behaviour] = distribution["DistributionConfig"]["CacheBehaviors"]
    # With caching disabled, the AllViewer origin request policies pass Authorization on to the origin (an
    # origin request policy naming it alone is refused; a caching policy would have to key the cache on it).
    assert behaviour["PathPattern"] == "/api/*"
    assert (behaviour["CachePolicyId"], behaviour["OriginRequestPolicyId"]) == (CACHING_DISABLED, ALL_VIEWER_EXCEPT_HOST)


def test_the_deployed_config_carries_the_console_key_read_at_deployment(managed):
    _, console, _ = managed
    [read] = [r["Properties"] for r in console["Resources"].values() if r["Type"] == "Custom::AWS"]
    call = json.dumps(read["Update"])
    assert "getApiKey" in call and "includeValue" in call  # the value API Gateway generated, read once deployed
    [deployment] = of_type(console, "Custom::CDKBucketDeployment")
    assert "ConsoleConsoleKey" in json.dumps(deployment["SourceMarkers"])  # config.json's consoleKey is that answer
    # It may read that key alone: GetApiKey on its ARN, nothing else of API Gateway.
    statements = [s for p in of_type(console, "AWS::IAM::Policy") for s in p["PolicyDocument"]["Statement"]
                  if "apigateway:GET" in json.dumps(s["Action"])]
    assert len(statements) == 1 and "/apikeys/" in json.dumps(statements[0]["Resource"])
