"""The two layers every function runs with: AWS's public Powertools layer and our `shared/` package."""

from __future__ import annotations

import shutil
from pathlib import Path

import jsii
from aws_cdk import BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from infra.wiring import LAMBDA_PYTHON

RUNTIME = {"3.12": lambda_.Runtime.PYTHON_3_12, "3.13": lambda_.Runtime.PYTHON_3_13}[LAMBDA_PYTHON]
ARCHITECTURE = lambda_.Architecture.ARM_64
# Byte-code caches are per interpreter and per machine: never ship them.
PYTHON_CACHES = ["**/__pycache__", "**/*.pyc"]


def powertools_parameter(version: str) -> str:
    """The public SSM parameter AWS publishes for each Powertools v3 layer release.

    Format documented by Powertools: /aws/service/powertools/python/{arch}/{python_version}/{version},
    where version is a release (3.37.0) or `latest`. Its value is the layer ARN
    (arn:aws:lambda:{region}:017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-arm64:N).
    """
    return f"/aws/service/powertools/python/{ARCHITECTURE.name}/{RUNTIME.name}/{version}"


@jsii.implements(ILocalBundling)
class CopySharedPackage:
    """Bundles `shared/` in-process (no Docker): Python layers are unpacked under /opt, and /opt/python
    is on the runtime's sys.path, so <output>/python/shared makes `import shared` work in Lambda."""

    def __init__(self, package: Path) -> None:
        self.package = package

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_options) -> bool:
        shutil.copytree(self.package, Path(output_dir) / "python" / self.package.name,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"), dirs_exist_ok=True)
        return True


class Layers(Construct):
    def __init__(self, scope: Construct, id: str, *, shared_package: Path, powertools_version: str) -> None:
        super().__init__(scope, id)
        # Resolved by CloudFormation at deploy time (a parameter of type AWS::SSM::Parameter::Value),
        # so synth needs no AWS credentials and the template shows which release it pins.
        powertools_arn = ssm.StringParameter.value_for_string_parameter(
            self, powertools_parameter(powertools_version))
        self.powertools = lambda_.LayerVersion.from_layer_version_arn(self, "Powertools", powertools_arn)
        self.shared = lambda_.LayerVersion(
            self, "Shared",
            description="The OMS shared package (domain, adapters, services) at /opt/python/shared",
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            code=lambda_.Code.from_asset(
                str(shared_package),
                exclude=PYTHON_CACHES,
                bundling=BundlingOptions(
                    # Never pulled: local bundling always succeeds, the image is only a required field.
                    image=DockerImage.from_registry(f"public.ecr.aws/sam/build-{RUNTIME.name}"),
                    local=CopySharedPackage(shared_package),
                ),
            ),
        )

    @property
    def all(self) -> list[lambda_.ILayerVersion]:
        return [self.powertools, self.shared]
