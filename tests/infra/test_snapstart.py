"""The SnapStart deploy option (cdk.json `oms:snapStart`): with it, every function behind the API runs
with SnapStart on a published version that API Gateway invokes through an alias; nothing else changes.
(Off by default: tests/infra/test_stack.py checks the default template has none of it.)

Its own synth, with the option given as the CLI gives `-c oms:snapStart=true`: a string.
"""

from __future__ import annotations

import json

import pytest

from infra import wiring
from infra.app import STACK_NAME, build_app, flag
from infra.components.functions import OmsFunction

pytestmark = pytest.mark.infra

API_FUNCTIONS = {fn.name for fn in wiring.FUNCTIONS if fn.routes}


@pytest.fixture(scope="module")
def resources() -> dict:
    assembly = build_app(context={"oms:snapStart": "true"}).synth()  # cdk-nag runs: any finding raises
    return assembly.get_stack_by_name(STACK_NAME).template["Resources"]


def of_type(resources: dict, type_: str) -> dict:
    return {lid: r for lid, r in resources.items() if r["Type"] == type_}


def function_ids(resources: dict) -> dict[str, str]:
    by_handler = {r["Properties"]["Handler"]: lid for lid, r in of_type(resources, "AWS::Lambda::Function").items()}
    return {fn.name: by_handler[f"{fn.module}.lambda_handler"] for fn in wiring.FUNCTIONS}


def test_the_option_reads_booleans_as_cdk_json_and_the_cli_give_them():
    assert flag(True) and flag("true") and flag("True")
    assert not flag(False) and not flag("false") and not flag(None)


def test_api_functions_and_only_they_snap_start_on_published_versions(resources):
    ids = function_ids(resources)
    for name, lid in ids.items():
        snap = resources[lid]["Properties"].get("SnapStart")
        assert snap == ({"ApplyOn": "PublishedVersions"} if name in API_FUNCTIONS else None), name


def test_each_api_function_has_one_version_and_the_live_alias_on_it(resources):
    ids = function_ids(resources)
    versions = {lid: v["Properties"] for lid, v in of_type(resources, "AWS::Lambda::Version").items()}
    aliases = [a["Properties"] for a in of_type(resources, "AWS::Lambda::Alias").values()]
    assert len(aliases) == len(versions) == len(API_FUNCTIONS)
    for name in API_FUNCTIONS:
        version_id = next(lid for lid, v in versions.items() if v["FunctionName"] == {"Ref": ids[name]})
        # A replaced version is deleted with its snapshot (billed while it exists), not retained.
        assert resources[version_id]["DeletionPolicy"] == "Delete"
        alias = next(a for a in aliases if a["FunctionName"] == {"Ref": ids[name]})
        assert alias["Name"] == OmsFunction.SNAP_START_ALIAS
        assert alias["FunctionVersion"] == {"Fn::GetAtt": [version_id, "Version"]}


def test_the_api_invokes_the_aliases(resources):
    aliases = set(of_type(resources, "AWS::Lambda::Alias"))
    methods = of_type(resources, "AWS::ApiGateway::Method").values()
    assert methods
    for method in methods:
        uri = json.dumps(method["Properties"]["Integration"]["Uri"])
        assert sum(f'"{alias}"' in uri for alias in aliases) == 1, uri
    # API Gateway may invoke each alias (the permission names the alias, not the unqualified function).
    allowed = {json.dumps(p["Properties"]["FunctionName"]) for p in of_type(resources, "AWS::Lambda::Permission").values()
               if p["Properties"]["Principal"] == "apigateway.amazonaws.com"}
    assert all(any(f'"{alias}"' in target for target in allowed) for alias in aliases)
