"""The two layers every function runs with, AWS's public Powertools layer and our `shared/` package,
and the layers only some functions get (wiring `Function.layers`): `documents`, fpdf2 for the PDFs."""

from __future__ import annotations

import compileall
import hashlib
import importlib.metadata
import py_compile
import shutil
import sys
from pathlib import Path

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from infra.wiring import DOCUMENTS_LAYER, LAMBDA_PYTHON

RUNTIME = {"3.12": lambda_.Runtime.PYTHON_3_12, "3.13": lambda_.Runtime.PYTHON_3_13}[LAMBDA_PYTHON]
ARCHITECTURE = lambda_.Architecture.ARM_64
# Byte-code caches are per interpreter and per machine: never ship the working tree's (every bundle
# compiles its own, for the functions' Python: CopyCompiledSource, CopyDistributions).
PYTHON_CACHES = ["**/__pycache__", "**/*.pyc"]
# What the PDFs need (shared/documents/invoice_pdf.py): fpdf2 and its pure-Python dependencies.
# Not Pillow, which fpdf2 declares but loads only to place images (a native wheel, and 10 MB).
DOCUMENT_DISTRIBUTIONS = ("fpdf2", "fonttools", "defusedxml")
# Compiled extensions are built for the build machine, not for Lambda's arm64: fontTools' speed-ups
# (cu2qu, qu2cu, bezier tools, glyph pens) are optional, it falls back to their Python source.
# Their Cython-generated C sources are of no use at run time either.
NATIVE_SUFFIXES = (".so", ".pyd", ".dylib", ".c", ".pyx", ".pxd")
# Where Lambda unpacks a layer's python/: the source path compiled into its byte code (so the same
# distributions compile to the same bytes on any build machine, whatever its temporary directory).
LAYER_PYTHON = "/opt/python"
FUNCTION_ROOT = "/var/task"  # where Lambda unpacks a function's code


def powertools_parameter(version: str) -> str:
    """The public SSM parameter AWS publishes for each Powertools v3 layer release.

    Format documented by Powertools: /aws/service/powertools/python/{arch}/{python_version}/{version},
    where version is a release (3.37.0) or `latest`. Its value is the layer ARN
    (arn:aws:lambda:{region}:017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-arm64:N).
    """
    return f"/aws/service/powertools/python/{ARCHITECTURE.name}/{RUNTIME.name}/{version}"


@jsii.implements(ILocalBundling)
class CopyCompiledSource:
    """Bundles a source directory of ours in-process (no Docker) and compiles it to byte code for the
    functions' Python, as CopyDistributions does for the documents layer: Lambda's code and layers are
    read-only, so without .pyc Python compiles every module of ours at every cold start (50-140 ms a
    function, `bench/cold_start.py --as-deployed`). Unchecked-hash .pyc: loaded without looking at the
    source, which never changes under them; `ddir` is where Lambda unpacks the bundle, so tracebacks
    name /opt/python/shared/... or /var/task/..., whatever the build machine's directory.

    `shared/` goes to <output>/python/shared (layers are unpacked under /opt and /opt/python is on the
    runtime's sys.path, so `import shared` works); `functions/` to the output's root (/var/task)."""

    def __init__(self, package: Path, *, into: str, ddir: str) -> None:
        self.package = package
        self.into = into
        self.ddir = ddir

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_options) -> bool:
        _require_lambda_python()
        target = Path(output_dir) / self.into
        shutil.copytree(self.package, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
                        dirs_exist_ok=True)
        if not compileall.compile_dir(target, quiet=1, ddir=self.ddir,
                                      invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH):
            raise RuntimeError(f"could not compile {self.package.name}/")
        return True


def shared_layer_bundler(package: Path) -> CopyCompiledSource:
    return CopyCompiledSource(package, into=f"python/{package.name}", ddir=f"{LAYER_PYTHON}/{package.name}")


def function_code_bundler(package: Path) -> CopyCompiledSource:
    return CopyCompiledSource(package, into=".", ddir=FUNCTION_ROOT)


def source_fingerprint(package: Path) -> str:
    """A bundle's asset hash: its source files (paths and bytes) and the Python the byte code is for. Not
    the bundle's output: marshalled byte code can differ between two compilations of the same source (a
    frozenset constant's order follows string hashing, randomised per process), which would publish a new
    layer version on every deployment."""
    digest = hashlib.sha256(f"python{LAMBDA_PYTHON}\nunchecked-hash\n".encode())
    for path in sorted(p for p in package.rglob("*") if p.is_file()):
        if "__pycache__" in path.parts or path.suffix == ".pyc":
            continue
        digest.update(str(path.relative_to(package)).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


@jsii.implements(ILocalBundling)
class CopyDistributions:
    """Bundles installed distributions in-process (no Docker, nothing downloaded): their files as
    this machine's site-packages has them (importlib.metadata: the packages and their .dist-info),
    under <output>/python, without native extensions, then compiled to byte code.

    Precompiled because a layer is read-only: Python cannot write the .pyc files it would cache,
    so every cold start compiled fpdf2 and fontTools again (importing fpdf took 1.7-2.7 s). The
    .pyc files are unchecked-hash ones (what `compileall --invalidation-mode unchecked-hash` writes):
    Python loads them without looking at the source's mtime or hash; the layer never changes under
    them. They are compiled by the interpreter running the synth, which must be the functions'
    (wiring.LAMBDA_PYTHON): byte code is per Python version."""

    def __init__(self, distributions: tuple[str, ...]) -> None:
        self.distributions = distributions

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_options) -> bool:
        _require_lambda_python()
        root = Path(output_dir) / "python"
        for name in self.distributions:
            dist = importlib.metadata.distribution(name)
            for file in dist.files or ():
                # Console scripts and man pages sit outside site-packages (../../../bin/ttx).
                if file.parts[0] == ".." or "__pycache__" in file.parts or file.suffix in NATIVE_SUFFIXES:
                    continue
                # RECORD lists what we leave out, with hashes; nothing in Lambda installs or checks it.
                if file.name == "RECORD" and file.parent.name.endswith(".dist-info"):
                    continue
                target = root / file
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(Path(str(dist.locate_file(file))), target)
        if not compileall.compile_dir(root, quiet=1, ddir=LAYER_PYTHON,
                                      invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH):
            raise RuntimeError(f"could not compile the {', '.join(self.distributions)} layer")
        return True


def _require_lambda_python() -> None:
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    if running != LAMBDA_PYTHON:
        raise RuntimeError(f"the bundles are compiled for the functions' Python {LAMBDA_PYTHON}; "
                           f"synthesise with python{LAMBDA_PYTHON}, not {running}")


def distributions_fingerprint(distributions: tuple[str, ...]) -> str:
    """What the bundle is made of: the Python it is compiled for, each distribution's version, and what
    the bundler leaves out. The layer's asset hash: a new layer version exactly when one of them changes."""
    parts = [f"python{LAMBDA_PYTHON}", *NATIVE_SUFFIXES,
             *(f"{name}=={importlib.metadata.version(name)}" for name in distributions)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def distributions_layer(scope: Construct, construct_id: str, distributions: tuple[str, ...],
                        description: str) -> lambda_.LayerVersion:
    """A layer of installed distributions (CopyDistributions), its asset named by their versions."""
    return lambda_.LayerVersion(
        scope, construct_id,
        description=description,
        compatible_runtimes=[RUNTIME],
        compatible_architectures=[ARCHITECTURE],
        code=lambda_.Code.from_asset(
            # Only the bundling reads anything: the installed distributions, not this directory.
            str(Path(__file__).resolve().parent),
            asset_hash_type=AssetHashType.CUSTOM,
            asset_hash=distributions_fingerprint(distributions),
            bundling=BundlingOptions(
                image=DockerImage.from_registry(f"public.ecr.aws/sam/build-{RUNTIME.name}"),  # never pulled
                local=CopyDistributions(distributions),
            ),
        ),
    )


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
                asset_hash_type=AssetHashType.CUSTOM,
                asset_hash=source_fingerprint(shared_package),
                bundling=BundlingOptions(
                    # Never pulled: local bundling always succeeds, the image is only a required field.
                    image=DockerImage.from_registry(f"public.ecr.aws/sam/build-{RUNTIME.name}"),
                    local=shared_layer_bundler(shared_package),
                ),
            ),
        )

        # Only for the functions that render PDFs (wiring DOCUMENTS_LAYER): fpdf2's import is theirs to pay.
        self.documents = distributions_layer(
            self, "Documents", DOCUMENT_DISTRIBUTIONS,
            f"fpdf2, fontTools and defusedxml at {LAYER_PYTHON}, precompiled, without native code",
        )
        self.optional = {DOCUMENTS_LAYER: self.documents}

    @property
    def all(self) -> list[lambda_.ILayerVersion]:
        return [self.powertools, self.shared]

    def for_function(self, names: tuple[str, ...]) -> list[lambda_.ILayerVersion]:
        """Every function's layers, then the ones it names (wiring `Function.layers`)."""
        unknown = set(names) - set(self.optional)
        if unknown:
            raise ValueError(f"no layer named {sorted(unknown)}; known: {sorted(self.optional)}")
        return [*self.all, *(self.optional[name] for name in names)]
