"""The synthesised template against the wiring: what infra/wiring.py declares is what CloudFormation gets.

The app is built and synthesised once for the module (jsii starts Node; a synth takes seconds).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Annotations, Match, Template
from cdk_nag import AwsSolutionsChecks

from infra import wiring
from infra.app import STACK_NAME, build_app, cdk_json_context
from infra.components.functions import OmsFunction, function_logs
from infra.components.people import PEOPLE_ADMIN_ACTIONS
from infra.components.storage import OrdersTable
from infra.components.triggers import add_triggers
from infra.stack import construct_id
from shared.domain.principal import Role

pytestmark = pytest.mark.infra

FUNCTIONS = {fn.name: fn for fn in wiring.FUNCTIONS}
QUEUE_FUNCTIONS = [fn.name for fn in wiring.FUNCTIONS if fn.queue]


@pytest.fixture(scope="module")
def synthesised():
    app = build_app()
    assembly = app.synth()  # runs the cdk-nag plugin too: it raises on any unacknowledged finding
    return app, assembly


@pytest.fixture(scope="module")
def app(synthesised):
    return synthesised[0]


@pytest.fixture(scope="module")
def stack(app) -> Stack:
    return app.node.find_child(STACK_NAME)


@pytest.fixture(scope="module")
def template(synthesised) -> Template:
    return Template.from_json(synthesised[1].get_stack_by_name(STACK_NAME).template)


@pytest.fixture(scope="module")
def resources(template) -> dict:
    return template.to_json()["Resources"]


def of_type(resources: dict, type_: str) -> dict:
    return {lid: r for lid, r in resources.items() if r["Type"] == type_}


def only(items):
    items = list(items)
    assert len(items) == 1, items
    return items[0]


@pytest.fixture(scope="module")
def table_id(resources) -> str:
    return only(of_type(resources, "AWS::DynamoDB::Table"))


@pytest.fixture(scope="module")
def function_ids(resources) -> dict[str, str]:
    """wiring function name -> logical id of its AWS::Lambda::Function (found by its handler)."""
    by_handler = {r["Properties"]["Handler"]: lid for lid, r in of_type(resources, "AWS::Lambda::Function").items()}
    return {fn.name: by_handler[f"{fn.module}.lambda_handler"] for fn in wiring.FUNCTIONS}


def statements_of(resources: dict, function_id: str) -> list[dict]:
    """Every IAM statement of the policies attached to the function's role."""
    role = resources[function_id]["Properties"]["Role"]["Fn::GetAtt"][0]
    return [s for p in of_type(resources, "AWS::IAM::Policy").values()
            if {"Ref": role} in p["Properties"]["Roles"]
            for s in p["Properties"]["PolicyDocument"]["Statement"]]


def actions_on(statements: list[dict], resource_ref) -> set[str]:
    """Actions the statements allow on a resource (a Ref/GetAtt dict, or any when None)."""
    found = set()
    for s in statements:
        targets = s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]
        if resource_ref is None or any(json.dumps(resource_ref) in json.dumps(t) for t in targets):
            found |= set(s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    return found


# ---------------------------------------------------------------- table


def test_table_matches_the_wiring(template, resources, table_id):
    spec = wiring.TABLE
    template.has_resource("AWS::DynamoDB::Table", {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"})
    props = resources[table_id]["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"] == {"SSEEnabled": True}
    assert props["StreamSpecification"] == {"StreamViewType": "NEW_IMAGE"}
    assert props["TimeToLiveSpecification"] == {"AttributeName": spec.ttl_attribute, "Enabled": True}
    assert props["KeySchema"] == [{"AttributeName": spec.partition_key, "KeyType": "HASH"},
                                  {"AttributeName": spec.sort_key, "KeyType": "RANGE"}]
    assert props["GlobalSecondaryIndexes"] == [{
        "IndexName": i.name,
        "KeySchema": [{"AttributeName": i.partition_key, "KeyType": "HASH"},
                      {"AttributeName": i.sort_key, "KeyType": "RANGE"}],
        "Projection": {"ProjectionType": i.projection,
                       **({"NonKeyAttributes": list(i.non_key_attributes)} if i.non_key_attributes else {})},
    } for i in spec.indexes]
    assert all(a["AttributeType"] == "S" for a in props["AttributeDefinitions"])


# ---------------------------------------------------------------- functions


@pytest.mark.parametrize("name", FUNCTIONS)
def test_function_runtime_and_sizing_come_from_the_wiring(resources, function_ids, table_id, name):
    spec, props = FUNCTIONS[name], resources[function_ids[name]]["Properties"]
    assert props["Runtime"] == f"python{wiring.LAMBDA_PYTHON}"
    assert props["Architectures"] == ["arm64"]
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert props["MemorySize"] == spec.memory_mb
    assert props["Timeout"] == spec.timeout_s
    assert props.get("ReservedConcurrentExecutions") == spec.reserved_concurrency
    # Powertools and shared/, then the layers it names (the documents layer where PDFs are rendered),
    # and PyJWT behind keyed routes (people's tokens).
    assert len(props["Layers"]) == 2 + len(spec.layers) + spec.needs_api_principals
    assert ({"Ref": layer_id(resources, "PeopleTokenLayer")} in props["Layers"]) == spec.needs_api_principals
    documents_layer = {"Ref": layer_id(resources, "LayersDocuments")}
    assert (documents_layer in props["Layers"]) == (wiring.DOCUMENTS_LAYER in spec.layers)
    # The OMS's one function log group, with retention (Lambda names each stream after the function).
    function_logs = only(lid for lid in of_type(resources, "AWS::Logs::LogGroup") if lid.startswith("FunctionLogs"))
    assert props["LoggingConfig"] == {"LogGroup": {"Ref": function_logs}}
    assert resources[function_logs]["Properties"]["RetentionInDays"] == 30


def test_functions_write_to_one_log_group_and_no_other(resources, function_ids):
    groups = of_type(resources, "AWS::Logs::LogGroup")
    assert len(groups) == 2  # the functions' and the API's access log
    function_logs = only(lid for lid in groups if lid.startswith("FunctionLogs"))
    for fid in function_ids.values():
        log_writes = [s for s in statements_of(resources, fid)
                      if "logs:PutLogEvents" in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])]
        assert log_writes and all(function_logs in json.dumps(s["Resource"]) for s in log_writes)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_function_environment(resources, function_ids, table_id, name):
    env = resources[function_ids[name]]["Properties"]["Environment"]["Variables"]
    assert env[wiring.ENV.table] == {"Ref": table_id}
    assert wiring.ENV.bus in env
    assert env["POWERTOOLS_SERVICE_NAME"] == "oms"
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "OMS"
    assert (wiring.ENV.principals in env) == FUNCTIONS[name].needs_api_principals


def test_api_principals_map_every_key_id_to_its_client(resources, function_ids):
    env = resources[function_ids["orders-api"]]["Properties"]["Environment"]["Variables"]
    parts = env[wiring.ENV.principals]["Fn::Join"][1]
    key_ids = set(of_type(resources, "AWS::ApiGateway::ApiKey"))
    # {"<key id>":"<client>",...}: each Ref to a key is followed by its client's name.
    mapped = {parts[i]["Ref"]: parts[i + 1].split('"')[2] for i, p in enumerate(parts) if isinstance(p, dict)}
    assert set(mapped) == key_ids
    assert sorted(mapped.values()) == sorted([c.name for c in wiring.DEFAULT_CHANNELS] + [wiring.OPERATOR,
                                                                                     wiring.CONSOLE])


def test_powertools_layer_comes_from_the_public_ssm_parameter(template):
    version = cdk_json_context()["oms:powertoolsVersion"]
    template.has_parameter("*", {
        "Type": "AWS::SSM::Parameter::Value<String>",
        "Default": f"/aws/service/powertools/python/arm64/python{wiring.LAMBDA_PYTHON}/{version}",
    })


def layer_id(resources: dict, prefix: str) -> str:
    return only(lid for lid in of_type(resources, "AWS::Lambda::LayerVersion") if lid.startswith(prefix))


def layer_bundle(resources: dict, synthesised, prefix: str) -> Path:
    asset_hash = resources[layer_id(resources, prefix)]["Properties"]["Content"]["S3Key"].removesuffix(".zip")
    return Path(synthesised[1].directory) / f"asset.{asset_hash}"


def compiled_for_lambda(source: Path) -> Path:
    return source.parent / "__pycache__" / f"{source.stem}.cpython-{wiring.LAMBDA_PYTHON.replace('.', '')}.pyc"


def assert_precompiled(root: Path, deployed_at: str, probe: Path) -> None:
    """Every module has an unchecked-hash .pyc (flags 0b01) for the functions' Python, naming the file where
    Lambda unpacks it: the code and layers are read-only, so Python could never cache them itself."""
    import marshal

    sources = list(root.rglob("*.py"))
    assert sources and all(compiled_for_lambda(source).is_file() for source in sources)
    header = compiled_for_lambda(probe).read_bytes()
    assert int.from_bytes(header[4:8], "little") == 0b01
    assert marshal.loads(header[16:]).co_filename == f"{deployed_at}/{probe.relative_to(root)}"


def test_shared_layer_is_bundled_under_python_shared_precompiled(resources, synthesised):
    bundle = layer_bundle(resources, synthesised, "LayersShared")
    assert (bundle / "python" / "shared" / "__init__.py").is_file()
    assert (bundle / "python" / "shared" / "config.py").is_file()
    shared = bundle / "python" / "shared"
    assert_precompiled(shared, "/opt/python/shared", shared / "config.py")


def test_function_code_is_all_of_functions_precompiled_for_var_task(resources, synthesised):
    keys = {r["Properties"]["Code"]["S3Key"] for r in of_type(resources, "AWS::Lambda::Function").values()
            if "S3Key" in r["Properties"].get("Code", {}) and not isinstance(r["Properties"]["Code"]["S3Key"], dict)}
    code = [Path(synthesised[1].directory) / f"asset.{key.removesuffix('.zip')}" for key in keys]
    code = [path for path in code if (path / "orders_api" / "handler.py").is_file()]
    assert len(code) == 1
    assert_precompiled(code[0], "/var/task", code[0] / "orders_api" / "handler.py")


def test_a_bundles_asset_hash_follows_its_source_not_its_byte_code(tmp_path):
    from infra.components.layers import source_fingerprint

    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "m.py").write_text("X = {'a', 'b'}\n")
    before = source_fingerprint(tmp_path / "pkg")
    (tmp_path / "pkg" / "__pycache__").mkdir()
    (tmp_path / "pkg" / "__pycache__" / "m.cpython-313.pyc").write_bytes(b"anything")
    assert source_fingerprint(tmp_path / "pkg") == before  # compiling locally changes nothing
    (tmp_path / "pkg" / "m.py").write_text("X = {'a', 'c'}\n")
    assert source_fingerprint(tmp_path / "pkg") != before


def test_documents_layer_holds_fpdf2_and_its_pure_python_dependencies_precompiled(resources, synthesised):
    import marshal
    import subprocess
    import sys

    python = layer_bundle(resources, synthesised, "LayersDocuments") / "python"
    for package in ("fpdf", "fontTools", "defusedxml"):
        assert (python / package / "__init__.py").is_file(), package
    assert {p.name.split("-")[0] for p in python.glob("*.dist-info")} == {"fpdf2", "fonttools", "defusedxml"}
    assert not (python / "PIL").exists()
    # No native code: fontTools' compiled speed-ups (built for this machine, not arm64) are optional.
    assert [p.name for p in python.rglob("*") if p.suffix in (".so", ".pyd", ".c")] == []
    # Every module compiled, for the functions' Python, as unchecked-hash .pyc (flags 0b01): the layer
    # is read-only, so Python could never cache them itself.
    tag = f"cpython-{wiring.LAMBDA_PYTHON.replace('.', '')}"
    sources = list(python.rglob("*.py"))
    assert len(sources) > 300
    for source in sources:
        pyc = source.parent / "__pycache__" / f"{source.stem}.{tag}.pyc"
        assert pyc.is_file(), source
    header = (python / "fpdf" / "__pycache__" / f"__init__.{tag}.pyc").read_bytes()
    assert int.from_bytes(header[4:8], "little") == 0b01
    assert marshal.loads(header[16:]).co_filename == "/opt/python/fpdf/__init__.py"
    # Self-contained: with nothing but the standard library and the layer (no site-packages), fpdf
    # imports from the layer's byte code and renders without Pillow.
    probe = ("import sys, warnings; sys.path.insert(0, sys.argv[1]); sys.dont_write_bytecode = True\n"
             "warnings.simplefilter('ignore')\n"
             "from fpdf import FPDF\n"
             "pdf = FPDF(); pdf.add_page(); pdf.set_font('Helvetica', size=12); pdf.cell(0, 10, 'Invoice')\n"
             "import fpdf; print(bytes(pdf.output())[:5].decode(), fpdf.__file__.startswith(sys.argv[1]), "
             "'PIL.Image' in sys.modules)")
    out = subprocess.run([sys.executable, "-S", "-E", "-c", probe, str(python)], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    assert out.split() == ["%PDF-", "True", "False"]


@pytest.mark.parametrize("name", FUNCTIONS)
def test_function_permissions_are_what_the_wiring_declares(resources, function_ids, table_id, name):
    spec = FUNCTIONS[name]
    statements = statements_of(resources, function_ids[name])
    on_table = actions_on(statements, {"Fn::GetAtt": [table_id, "Arn"]})
    assert ("dynamodb:Query" in on_table) == (spec.table_access is not None)
    assert ("dynamodb:PutItem" in on_table) == (spec.table_access == "write")
    assert ("events:PutEvents" in actions_on(statements, None)) == spec.publishes_events


@pytest.mark.parametrize("name", FUNCTIONS)
def test_labels_secrets_email_and_direct_sends_are_granted_only_where_declared(resources, function_ids, name):
    spec = FUNCTIONS[name]
    statements = statements_of(resources, function_ids[name])
    env = resources[function_ids[name]]["Properties"]["Environment"]["Variables"]
    bucket = {"Fn::GetAtt": [bucket_id(resources, "Labels"), "Arn"]}
    documents = {"Fn::GetAtt": [bucket_id(resources, "Documents"), "Arn"]}
    secrets = of_type(resources, "AWS::SecretsManager::Secret")
    secret = {"Ref": only(lid for lid in secrets if lid.startswith("CarrierSecret"))}
    payment_secret = {"Ref": only(lid for lid in secrets if lid.startswith("PaymentSecret"))}
    actions = actions_on(statements, None)
    assert ("s3:GetObject*" in actions_on(statements, bucket)) == (spec.label_access is not None)
    assert ("s3:PutObject" in actions_on(statements, bucket)) == (spec.label_access == "write")
    assert (wiring.ENV.label_bucket in env) == (spec.label_access is not None)
    assert ("s3:GetObject*" in actions_on(statements, documents)) == (spec.documents_access is not None)
    assert ("s3:PutObject" in actions_on(statements, documents)) == (spec.documents_access == "write")
    assert (env.get(wiring.ENV.documents_bucket) == ({"Ref": bucket_id(resources, "Documents")}
                                                     if spec.documents_access else None))
    assert ("secretsmanager:GetSecretValue" in actions_on(statements, secret)) == spec.reads_carrier_secret
    assert (env.get(wiring.ENV.carrier_secret) == secret) == spec.reads_carrier_secret
    assert ("secretsmanager:GetSecretValue" in actions_on(statements, payment_secret)) == spec.reads_payment_secret
    assert (env.get(wiring.ENV.payment_secret) == payment_secret) == spec.reads_payment_secret
    assert ("ses:SendEmail" in actions) == spec.sends_email
    assert ("sms-voice:SendTextMessage" in actions) == spec.sends_sms
    work_queues = {lid for lid in of_type(resources, "AWS::SQS::Queue")
                   if "QueueTriggerQueue" in lid and "Dlq" not in lid}
    sends_to_work_queues = {lid for lid in work_queues
                            if "sqs:SendMessage" in actions_on(statements, {"Fn::GetAtt": [lid, "Arn"]})}
    owners = {construct_id(fn.name) for fn in wiring.FUNCTIONS if fn.queue and fn.queue.name in spec.sends_to}
    assert {lid.split("QueueTrigger")[0] for lid in sends_to_work_queues} == owners
    for queue in spec.sends_to:
        assert wiring.queue_url_env(queue) in env


def test_email_may_only_be_sent_from_the_configured_sender(resources, function_ids):
    statement = only(s for s in statements_of(resources, function_ids["notify-customers"])
                     if "ses:SendEmail" in s["Action"])
    sender = cdk_json_context()["oms:emailSender"]
    identities = json.dumps(statement["Resource"])
    assert f"identity/{sender}" in identities and f"identity/{sender.split('@')[1]}" in identities
    assert "*" not in identities.replace("arn:", "")


def test_text_messages_may_only_be_sent_from_this_accounts_sms_resources(resources, function_ids):
    statement = only(s for s in statements_of(resources, function_ids["notify-customers"])
                     if "sms-voice:SendTextMessage" in s["Action"])
    assert statement["Action"] == "sms-voice:SendTextMessage"
    assert statement["Resource"] == {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":sms-voice:",
                                                       {"Ref": "AWS::Region"}, ":", {"Ref": "AWS::AccountId"}, ":*"]]}


def bucket_id(resources: dict, construct: str) -> str:
    """The logical id of the bucket of the stack's `construct` (Labels, Documents)."""
    return only(lid for lid in of_type(resources, "AWS::S3::Bucket") if lid.startswith(f"{construct}Bucket"))


@pytest.mark.parametrize("construct", ["Labels", "Documents"])
def test_buckets_are_private_encrypted_tls_only_owner_enforced_and_retained(resources, construct):
    lid = bucket_id(resources, construct)
    assert (resources[lid]["DeletionPolicy"], resources[lid]["UpdateReplacePolicy"]) == ("Retain", "Retain")
    bucket = resources[lid]["Properties"]
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True}
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "AES256"}
    assert bucket["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    policy = only(p for p in of_type(resources, "AWS::S3::BucketPolicy").values()
                  if p["Properties"]["Bucket"] == {"Ref": lid})["Properties"]["PolicyDocument"]
    assert any(st["Effect"] == "Deny" and st["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
               for st in policy["Statement"])


def test_labels_expire_and_invoices_are_kept_for_their_legal_retention(resources):
    labels = resources[bucket_id(resources, "Labels")]["Properties"]
    assert only(labels["LifecycleConfiguration"]["Rules"])["ExpirationInDays"] == 400
    # Invoices: no lifecycle rule at all, neither an expiry nor a transition (a merchant decides).
    assert "LifecycleConfiguration" not in resources[bucket_id(resources, "Documents")]["Properties"]


def test_carrier_secret_value_is_generated_not_written_in_the_template(resources):
    secret = only(v for lid, v in of_type(resources, "AWS::SecretsManager::Secret").items()
                  if lid.startswith("CarrierSecret"))["Properties"]
    assert "SecretString" not in secret
    assert secret["GenerateSecretString"]["GenerateStringKey"] == "webhook_secret"


def test_payment_secret_is_created_empty_for_the_merchant_to_fill(resources):
    secret = only(v for lid, v in of_type(resources, "AWS::SecretsManager::Secret").items()
                  if lid.startswith("PaymentSecret"))["Properties"]
    assert json.loads(secret["SecretString"]) == {}  # Stripe issues the keys; nothing secret in the template


def test_api_docs_has_no_dynamodb_access(resources, function_ids):
    actions = actions_on(statements_of(resources, function_ids["api-docs"]), None)
    assert not {a for a in actions if a.startswith("dynamodb:")}


def test_publish_events_may_put_events_but_not_write_the_table(resources, function_ids, table_id):
    statements = statements_of(resources, function_ids["publish-events"])
    assert "events:PutEvents" in actions_on(statements, None)
    assert "dynamodb:PutItem" not in actions_on(statements, {"Fn::GetAtt": [table_id, "Arn"]})


def test_orders_api_may_not_put_events(resources, function_ids):
    assert "events:PutEvents" not in actions_on(statements_of(resources, function_ids["orders-api"]), None)


def test_snap_start_is_off_by_default(resources):
    # cdk.json `oms:snapStart` false: no snapshots, no versions to pay for; the API invokes $LATEST.
    # With it on: tests/infra/test_snapstart.py.
    assert cdk_json_context()["oms:snapStart"] is False
    assert not any("SnapStart" in f["Properties"] for f in of_type(resources, "AWS::Lambda::Function").values())
    assert of_type(resources, "AWS::Lambda::Version") == of_type(resources, "AWS::Lambda::Alias") == {}


@pytest.mark.parametrize("name", FUNCTIONS)
def test_every_function_has_an_errors_alarm(resources, function_ids, name):
    assert any(a["Properties"]["MetricName"] == "Errors"
               and a["Properties"]["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": function_ids[name]}}]
               for a in of_type(resources, "AWS::CloudWatch::Alarm").values())


# ---------------------------------------------------------------- queues, rules, stream


def mapping_of(resources: dict, function_id: str) -> dict:
    return only(m["Properties"] for m in of_type(resources, "AWS::Lambda::EventSourceMapping").values()
                if m["Properties"]["FunctionName"] == {"Ref": function_id})


def assert_alarmed(resources: dict, queue_id: str) -> None:
    assert any(a["Properties"]["MetricName"] == "ApproximateNumberOfMessagesVisible"
               and a["Properties"]["Threshold"] == 1
               and a["Properties"]["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
               and a["Properties"]["Dimensions"][0]["Value"] == {"Fn::GetAtt": [queue_id, "QueueName"]}
               for a in of_type(resources, "AWS::CloudWatch::Alarm").values())


@pytest.mark.parametrize("name", QUEUE_FUNCTIONS)
def test_queue_has_a_dlq_and_a_batch_mapping(resources, function_ids, name):
    spec = FUNCTIONS[name].queue
    mapping = mapping_of(resources, function_ids[name])
    assert mapping["BatchSize"] == spec.batch_size
    # The wiring's window reaches the mapping (the local runtime's pollers wait for it too).
    assert mapping.get("MaximumBatchingWindowInSeconds") == (spec.batching_window_s or None)
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping.get("ScalingConfig", {}).get("MaximumConcurrency") == spec.max_concurrency
    queue_id = mapping["EventSourceArn"]["Fn::GetAtt"][0]
    queue = resources[queue_id]["Properties"]
    assert queue["VisibilityTimeout"] == spec.visibility_timeout_s
    assert queue["SqsManagedSseEnabled"] is True
    assert queue["RedrivePolicy"]["maxReceiveCount"] == spec.max_receive_count
    dlq_id = queue["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
    assert resources[dlq_id]["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert_alarmed(resources, dlq_id)


@pytest.mark.parametrize("name", QUEUE_FUNCTIONS)
def test_one_rule_per_event_pattern_targets_the_queue(resources, function_ids, name):
    bus_id = only(of_type(resources, "AWS::Events::EventBus"))
    queue_arn = mapping_of(resources, function_ids[name])["EventSourceArn"]
    rules = [r["Properties"] for r in of_type(resources, "AWS::Events::Rule").values()
             if any(t["Arn"] == queue_arn for t in r["Properties"]["Targets"])]
    assert sorted(json.dumps(r["EventPattern"], sort_keys=True) for r in rules) == \
        sorted(json.dumps(p, sort_keys=True) for p in FUNCTIONS[name].queue.event_patterns)
    assert all(r["EventBusName"] == {"Ref": bus_id} for r in rules)


def test_outbox_relay_reads_inserted_outbox_items_from_the_stream(resources, function_ids, table_id):
    mapping = mapping_of(resources, function_ids["publish-events"])
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": [table_id, "StreamArn"]}
    assert mapping["StartingPosition"] == "TRIM_HORIZON"
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BisectBatchOnFunctionError"] is True
    assert mapping["MaximumRetryAttempts"] == 10
    # The wiring's window reaches the mapping: fuller batches, fewer PutEvents calls (docs/cost.md).
    assert FUNCTIONS["publish-events"].stream_batching_window_s > 0
    assert mapping["MaximumBatchingWindowInSeconds"] == FUNCTIONS["publish-events"].stream_batching_window_s
    assert json.loads(only(mapping["FilterCriteria"]["Filters"])["Pattern"]) == {
        "eventName": ["INSERT"], "dynamodb": {"NewImage": {"pk": {"S": [{"prefix": "EVENT#"}]}}}}
    dlq_id = mapping["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0]
    assert_alarmed(resources, dlq_id)


# ---------------------------------------------------------------- API


def method_routes(resources: dict) -> set[tuple[str, str, bool, str]]:
    """(method, path, api key required, serving function id) of every API Gateway method."""
    apigw_resources = of_type(resources, "AWS::ApiGateway::Resource")

    def path(resource_id) -> str:
        if "Fn::GetAtt" in resource_id:  # the API's root resource
            return ""
        props = apigw_resources[resource_id["Ref"]]["Properties"]
        return f"{path(props['ParentId'])}/{props['PathPart']}"

    routes = set()
    for m in of_type(resources, "AWS::ApiGateway::Method").values():
        props = m["Properties"]
        uri = json.dumps(props["Integration"]["Uri"])
        served_by = only(lid for lid in of_type(resources, "AWS::Lambda::Function") if f'"{lid}"' in uri)
        assert props["Integration"]["Type"] == "AWS_PROXY"
        routes.add((props["HttpMethod"], path(props["ResourceId"]), props["ApiKeyRequired"], served_by))
    return routes


def test_every_wiring_route_is_a_method_needing_a_key_unless_public(resources, function_ids):
    assert method_routes(resources) == {
        (route.method, route.path, not route.public, function_ids[fn.name]) for route, fn in wiring.routes()}


def test_one_usage_plan_per_channel_and_the_operator(resources):
    clients = [*wiring.DEFAULT_CHANNELS, wiring.ChannelSpec(wiring.OPERATOR), wiring.ChannelSpec(wiring.CONSOLE)]
    plans = {p["Properties"]["UsagePlanName"]: (lid, p["Properties"])
             for lid, p in of_type(resources, "AWS::ApiGateway::UsagePlan").items()}
    assert set(plans) == {f"oms-{c.name}" for c in clients}
    stage_id = only(of_type(resources, "AWS::ApiGateway::Stage"))
    plan_keys = [k["Properties"] for k in of_type(resources, "AWS::ApiGateway::UsagePlanKey").values()]
    for c in clients:
        plan_id, plan = plans[f"oms-{c.name}"]
        assert plan["Throttle"] == {"RateLimit": c.rate_limit_rps, "BurstLimit": c.burst_limit}
        assert only(plan["ApiStages"])["Stage"] == {"Ref": stage_id}
        assert sum(k["UsagePlanId"] == {"Ref": plan_id} for k in plan_keys) == 1
    assert len(of_type(resources, "AWS::ApiGateway::ApiKey")) == len(clients)


def test_stage_logs_traces_and_measures(resources):
    stage = only(of_type(resources, "AWS::ApiGateway::Stage").values())["Properties"]
    assert stage["TracingEnabled"] is True
    assert "DestinationArn" in stage["AccessLogSetting"]
    assert only(stage["MethodSettings"])["MetricsEnabled"] is True


def test_outputs_name_the_api_url_and_every_key_id(template):
    outputs = template.to_json()["Outputs"]
    assert "ApiUrl" in outputs
    # Not the cross-stack export of the console key's id (the console stack reads its value into config.json).
    key_outputs = [o for o in outputs.values() if "Ref" in o["Value"] and o["Value"]["Ref"].startswith("ApiKeys")
                   and "Export" not in o]
    assert len(key_outputs) == len(wiring.DEFAULT_CHANNELS) + 2  # and the operator's and the console's


# ---------------------------------------------------------------- people (the operator user pool)


def test_the_pool_admits_no_self_sign_up_and_asks_strong_passwords_and_mfa(resources):
    pool = only(of_type(resources, "AWS::Cognito::UserPool").values())["Properties"]
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    policy = pool["Policies"]["PasswordPolicy"]
    assert policy["MinimumLength"] >= 12
    assert all(policy[k] for k in ("RequireLowercase", "RequireUppercase", "RequireNumbers", "RequireSymbols"))
    assert pool["MfaConfiguration"] == "ON"
    assert "AliasAttributes" not in pool and "UsernameAttributes" not in pool  # usernames, never emails


def test_one_group_per_role(resources):
    groups = {g["Properties"]["GroupName"] for g in of_type(resources, "AWS::Cognito::UserPoolGroup").values()}
    assert groups == {r.value for r in Role}


def test_the_console_client_has_no_secret_and_signs_in_with_srp(resources):
    client = only(of_type(resources, "AWS::Cognito::UserPoolClient").values())["Properties"]
    assert client.get("GenerateSecret", False) is False
    assert "ALLOW_USER_SRP_AUTH" in client["ExplicitAuthFlows"]
    assert "ALLOW_USER_PASSWORD_AUTH" not in client["ExplicitAuthFlows"]
    # A disabled person's tokens verify until they expire (our code does not ask Cognito): 15 minutes.
    units = {"minutes": 1, "hours": 60, "days": 1440}
    validity = client["TokenValidityUnits"]
    for token in ("IdToken", "AccessToken"):
        assert client[f"{token}Validity"] * units[validity[token]] <= 15, token


@pytest.mark.parametrize("name", [n for n, f in FUNCTIONS.items() if f.needs_api_principals])
def test_keyed_functions_know_the_pool_and_their_routes_roles(resources, function_ids, name):
    env = resources[function_ids[name]]["Properties"]["Environment"]["Variables"]
    pool_id = only(of_type(resources, "AWS::Cognito::UserPool"))
    assert pool_id in json.dumps(env[wiring.ENV.user_pool_issuer])
    assert env[wiring.ENV.user_pool_client_ids] == {"Ref": only(of_type(resources, "AWS::Cognito::UserPoolClient"))}
    assert json.loads(env[wiring.ENV.route_roles]) == wiring.route_roles((FUNCTIONS[name],))


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_only_the_people_function_manages_people_and_only_in_the_pool(resources, function_ids, name):
    pool = {"Fn::GetAtt": [only(of_type(resources, "AWS::Cognito::UserPool")), "Arn"]}
    statements = statements_of(resources, function_ids[name])
    on_pool = actions_on(statements, pool)
    anywhere = {a for a in actions_on(statements, None) if a.startswith("cognito-idp:")}
    assert anywhere == on_pool  # nothing on another pool, nor on every pool
    assert on_pool == (set(PEOPLE_ADMIN_ACTIONS) if FUNCTIONS[name].manages_people else set())
    assert not {"cognito-idp:AdminDeleteUser", "cognito-idp:AdminSetUserPassword"} & on_pool


def test_functions_without_keyed_routes_get_no_pool(resources, function_ids):
    for name, spec in FUNCTIONS.items():
        if not spec.needs_api_principals:
            assert wiring.ENV.route_roles not in resources[function_ids[name]]["Properties"]["Environment"]["Variables"]


def test_token_layer_holds_pyjwt_precompiled_without_cryptography(resources, synthesised):
    bundle = layer_bundle(resources, synthesised, "PeopleTokenLayer")
    assert (bundle / "python" / "jwt" / "api_jwt.py").is_file()
    assert list((bundle / "python" / "jwt").glob("__pycache__/api_jwt.*.pyc"))
    # cryptography comes with the Powertools layer, built for Lambda's Python and arm64.
    assert not (bundle / "python" / "cryptography").exists()


# ---------------------------------------------------------------- cdk-nag


def test_cdk_nag_leaves_no_unacknowledged_finding(app, stack):
    # synthesised() already passed the plugin; this names the findings if one ever appears.
    report = AwsSolutionsChecks(app).validate_scope(app)
    assert [v.rule_name for v in report.violations] == []
    assert Annotations.from_stack(stack).find_error("*", Match.string_like_regexp("AwsSolutions-.*")) == []


def test_template_passes_cfn_lint(template):
    # cfn-lint checks properties against the CloudFormation resource spec, which CDK's L2s don't.
    # It comes with moto[server]; skip rather than fail where it isn't installed.
    cfnlint = pytest.importorskip("cfnlint.api")
    matches = cfnlint.lint(json.dumps(template.to_json()), config=cfnlint.ManualArgs(regions=["us-east-1"]))
    assert [f"{m.rule.id} {m.message}" for m in matches if m.rule.severity == "error"] == []


# ---------------------------------------------------------------- what today's wiring does not use


def function_with_triggers(spec: wiring.Function) -> tuple[Stack, OmsFunction]:
    """A bare stack with one function built from `spec` and its triggers (inline code, no layers)."""
    stack = Stack(App(), "Triggers")
    fn = OmsFunction(stack, "Fn", spec=spec, code=lambda_.Code.from_inline("def lambda_handler(e, c): pass"),
                     layers=[], environment={}, log_group=function_logs(stack))
    add_triggers(fn, table=OrdersTable(stack, "Orders").table, bus=events.EventBus(stack, "Bus"))
    return stack, fn


def test_schedule_minutes_become_a_schedule_rule_invoking_the_function():
    stack, fn = function_with_triggers(dataclasses.replace(wiring.function("api-docs"), schedule_minutes=5))
    Template.from_stack(stack).has_resource_properties("AWS::Events::Rule", {
        "ScheduleExpression": "rate(5 minutes)",
        "Targets": [Match.object_like({"Arn": stack.resolve(fn.function.function_arn)})],
    })


def test_a_queue_must_stay_invisible_longer_than_its_consumer_runs():
    spec = wiring.function("allocate-orders")
    with pytest.raises(ValueError, match="visibility timeout"):
        function_with_triggers(dataclasses.replace(spec, timeout_s=spec.queue.visibility_timeout_s + 1))


def test_a_schedule_can_be_retuned_at_deploy_time_without_editing_the_wiring():
    retuned = {f.name: f for f in wiring.with_schedules({"reconcile": 15})}
    assert retuned["reconcile"].schedule_minutes == 15
    assert {n: f for n, f in retuned.items() if n != "reconcile"} == {
        f.name: f for f in wiring.FUNCTIONS if f.name != "reconcile"}
    with pytest.raises(ValueError, match="no scheduled function"):
        wiring.with_schedules({"orders-api": 1})


def test_the_reconcile_schedule_in_the_template_is_the_configured_one(resources):
    minutes = cdk_json_context()["oms:scheduleMinutes"]["reconcile"]
    schedules = {lid: r["Properties"]["ScheduleExpression"] for lid, r in of_type(resources, "AWS::Events::Rule").items()
                 if "ScheduleExpression" in r["Properties"]}
    assert [v for k, v in schedules.items() if k.startswith("Reconcile")] == [f"rate({minutes} minutes)"]
    # and every scheduled function of the wiring has its schedule
    assert len(schedules) == len([f for f in wiring.FUNCTIONS if f.schedule_minutes])


@pytest.mark.parametrize("name", [fn.name for fn in wiring.FUNCTIONS if fn.metric_alarms])
def test_metric_alarms_watch_what_the_function_emits(resources, name):
    alarms = {r["Properties"]["MetricName"]: r["Properties"] for r in of_type(resources, "AWS::CloudWatch::Alarm").values()
              if r["Properties"].get("Namespace") == wiring.METRICS_NAMESPACE}
    for alarm in FUNCTIONS[name].metric_alarms:
        props = alarms[alarm.metric]
        assert props["Threshold"] == alarm.threshold and props["Statistic"] == "Sum"
        assert props["Dimensions"] == [{"Name": "service", "Value": "oms"}]
        assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"


def test_the_drift_alarm_names_a_metric_reconciliation_really_emits():
    from shared.services.reconciliation import metric_names

    for alarm in wiring.function("reconcile").metric_alarms:
        assert alarm.metric in metric_names(), alarm.metric


def test_settings_from_cdk_json_reach_every_function(resources, function_ids):
    settings = cdk_json_context()["oms:environment"]
    for name in FUNCTIONS:
        env = resources[function_ids[name]]["Properties"]["Environment"]["Variables"]
        assert {k: env.get(k) for k in settings} == settings


def test_the_function_that_makes_the_parts_is_updated_before_every_function_that_names_them(resources, function_ids):
    # A fulfilment order's id names its order and location since issue 15; the request-fulfillment of
    # before made other ids, so it must run the new code before any allocating function names new ids.
    first = function_ids["request-fulfillment"]
    assert [f.name for f in wiring.FUNCTIONS if f.deployed_first] == ["request-fulfillment"]
    for name, logical_id in function_ids.items():
        depends = resources[logical_id].get("DependsOn", [])
        assert (first in depends) == (name != "request-fulfillment"), name


def test_the_tests_run_on_the_functions_python():
    """make test and make run use the interpreter version the functions are deployed with."""
    import re
    import sys
    from pathlib import Path

    makefile = (Path(__file__).parents[2] / "Makefile").read_text()
    assert re.search(r"^PYTHON_VERSION := (\S+)$", makefile, re.M).group(1) == wiring.LAMBDA_PYTHON
    assert f"{sys.version_info.major}.{sys.version_info.minor}" == wiring.LAMBDA_PYTHON


def _actions(statements: list[dict], prefix: str) -> set[str]:
    found = set()
    for s in statements:
        actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
        found |= {a for a in actions if a.startswith(prefix)}
    return found


@pytest.mark.parametrize("name", FUNCTIONS)
def test_only_the_channel_functions_read_channel_secrets_and_only_channels_api_issues_keys(
        resources, function_ids, name):
    statements = statements_of(resources, function_ids[name])
    reads = [s for s in statements if "secretsmanager:GetSecretValue" in
             (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])]
    channel_secrets = [s for s in reads if "oms/channels/*" in json.dumps(s["Resource"])]
    assert bool(channel_secrets) == FUNCTIONS[name].reads_channel_secrets
    assert bool(_actions(statements, "apigateway:")) == FUNCTIONS[name].issues_api_keys
    env = resources[function_ids[name]]["Properties"]["Environment"]["Variables"]
    assert (wiring.ENV.api_id in env) == FUNCTIONS[name].issues_api_keys


def test_amazons_sp_api_account_may_send_to_the_notifications_queue_and_nothing_else(resources):
    policies = of_type(resources, "AWS::SQS::QueuePolicy")
    granted = [s for p in policies.values() for s in p["Properties"]["PolicyDocument"]["Statement"]
               if s.get("Effect") == "Allow" and "sqs:SendMessage" in json.dumps(s["Action"])
               and wiring.on.AMAZON_SP_API_ACCOUNT in json.dumps(s["Principal"])]
    [statement] = granted
    assert sorted(statement["Action"]) == ["sqs:GetQueueAttributes", "sqs:SendMessage"]
    assert "AmazonNotifications" in json.dumps(statement["Resource"])


def test_the_key_issuer_never_reads_keys_and_changes_only_what_it_tagged(resources, function_ids):
    statements = statements_of(resources, function_ids["channels-api"])
    issuing = [s for s in statements if any(a.startswith("apigateway:") for a in
                                           (s["Action"] if isinstance(s["Action"], list) else [s["Action"]]))]
    actions = {a for s in issuing for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])}
    assert "apigateway:GET" not in actions
    for statement in issuing:
        listed = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if "apigateway:PATCH" in listed:
            assert statement["Condition"] == {"Null": {"aws:ResourceTag/oms:channel": "false"}}


def test_the_stack_stays_within_cloudformations_500_resources(resources):
    """CloudFormation refuses a stack of more than 500 resources: a feature that would cross it must
    share functions and routes (or the stack must be split) before it can be deployed."""
    assert len(resources) <= 500, f"{len(resources)} resources"
