"""The console's own stack (the operator console as a static site, infra/components/console.py), beside
the OMS stack in the same app: its bucket, distribution and BucketDeployment (a custom resource with a
Lambda function) stay out of the OMS stack's 500-resource budget, and `npx cdk deploy --all` deploys both."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_apigateway as apigw
from constructs import Construct

from infra.components.console import ConsoleSite


class ConsoleStack(Stack):
    def __init__(self, scope: Construct, id: str, *, api: apigw.RestApi, site_dir: Path | None,
                 cognito: dict[str, str] | None = None, console_key_id: str | None = None, **kwargs) -> None:
        super().__init__(scope, id, description="OMS operator console (static site)", **kwargs)
        site = ConsoleSite(self, "Console", api=api, site_dir=site_dir, cognito=cognito, console_key_id=console_key_id)
        CfnOutput(self, "ConsoleUrl", value=f"https://{site.distribution.distribution_domain_name}/")
