"""CDK app: `python infra/app.py` synthesises into cdk.out/ without the CDK CLI or AWS credentials.

The CDK CLI (`npx cdk synth|deploy`, see cdk.json) runs this same file.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
# Run as a script, only infra/ is on sys.path; wiring imports `shared`, and we import `infra`.
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from aws_cdk import App, Validations  # noqa: E402
from cdk_nag import AwsSolutionsChecks  # noqa: E402

from infra import wiring  # noqa: E402
from infra.console_stack import ConsoleStack  # noqa: E402
from infra.stack import OmsStack  # noqa: E402

STACK_NAME = "Oms"
CONSOLE_STACK_NAME = "OmsConsole"
CONSOLE_BUILD = REPO_ROOT / "dashboard" / "dist"  # `make console` (npm ci, Vite) builds it


def cdk_json_context() -> dict:
    """cdk.json's context, so a plain `python infra/app.py` sees what the CLI would pass."""
    return json.loads((REPO_ROOT / "cdk.json").read_text()).get("context", {})


def flag(value: object) -> bool:
    """A boolean context value: cdk.json gives true/false, `-c oms:snapStart=true` gives the string."""
    return value is True or str(value).lower() in ("true", "1", "yes")


def build_app(outdir: str | None = None, context: dict | None = None) -> App:
    # Context given here is the default; the CLI's CDK_CONTEXT_JSON (cdk.json, -c) overrides it.
    # `context` overrides cdk.json's, as `-c` would (the tests' other deploy options).
    app = App(context={**cdk_json_context(), **(context or {})}, outdir=outdir)
    oms = OmsStack(
        app, STACK_NAME,
        bus_name=app.node.try_get_context("oms:busName") or wiring.DEFAULTS.bus_name,
        powertools_version=app.node.try_get_context("oms:powertoolsVersion") or "latest",
        email_sender=app.node.try_get_context("oms:emailSender") or wiring.DEFAULTS.email_sender,
        label_carrier=app.node.try_get_context("oms:labelCarrier") or wiring.DEFAULTS.label_carrier,
        base_currency=app.node.try_get_context("oms:baseCurrency") or wiring.DEFAULTS.base_currency,
        schedule_minutes=app.node.try_get_context("oms:scheduleMinutes") or {},
        extra_environment=app.node.try_get_context("oms:environment") or {},
        snap_start=flag(app.node.try_get_context("oms:snapStart")),
        console_url=app.node.try_get_context("oms:consoleUrl"),
        auth_domain_prefix=app.node.try_get_context("oms:authDomainPrefix"),
    )
    # The operator console's static site, its /api/* in front of the OMS stack's API. Its files are
    # deployed only when the build exists at synth time (`make console`); otherwise the bucket stays as it is.
    site_dir = Path(app.node.try_get_context("oms:consoleDir") or CONSOLE_BUILD)
    people = oms.node.find_child("People")
    ConsoleStack(app, CONSOLE_STACK_NAME, api=oms.node.find_child("Api").api,  # type: ignore[attr-defined]
                 site_dir=site_dir if (site_dir / "index.html").is_file() else None,
                 cognito=people.console_config(app.node.try_get_context("oms:consoleUrl")),  # type: ignore[attr-defined]
                 console_key_id=oms.node.find_child("ApiKeys").keys[wiring.CONSOLE].key_id)  # type: ignore[attr-defined]
    # Any AwsSolutions finding not fixed or acknowledged (with its reason) fails the synth.
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app


if __name__ == "__main__":
    # The CLI chooses the output directory itself (CDK_OUTDIR); a plain run writes to cdk.out/.
    build_app(outdir=None if os.environ.get("CDK_OUTDIR") else str(REPO_ROOT / "cdk.out")).synth()
