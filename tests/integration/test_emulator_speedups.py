"""The emulator's cheaper paths (local/moto_speedups.py) answer as moto's own: the same requests
go to the runtime's emulator and to a plain moto server in this process, and every answer botocore
parses, or every error it raises, is compared (less what moto makes up afresh each time)."""

from __future__ import annotations

import threading

import boto3
import pytest
from botocore.exceptions import ClientError
from werkzeug.serving import make_server

from local import moto_speedups

TABLE = "speedups"
ITEM = {
    "pk": {"S": "ORDER#1"}, "sk": {"S": "ORDER"}, "gpk": {"S": "C#1"}, "gsk": {"S": "2026-01-01"},
    "total": {"N": "12.50"}, "blob": {"B": b"\x00\x01\xff"}, "blobs": {"BS": [b"a", b"b"]},
    "tags": {"SS": ["gift", "vip"]}, "qty": {"NS": ["1", "2"]}, "paid": {"BOOL": True}, "note": {"NULL": True},
    "lines": {"L": [{"M": {"sku": {"S": "SKU-1"}, "quantity": {"N": "2"}}}, {"S": "plain"}]},
}


@pytest.fixture(scope="module")
def plain_moto():
    """moto as shipped, in this process (the speed-ups are installed in the emulator's process only)."""
    from moto.server import DomainDispatcherApplication, create_backend_app

    assert not moto_speedups._installed, "this process must keep moto's own answers"
    server = make_server("127.0.0.1", 0, DomainDispatcherApplication(create_backend_app), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def clients(endpoint: str) -> tuple:
    session = boto3.Session(aws_access_key_id="local", aws_secret_access_key="local", region_name="us-east-1")
    return session.client("dynamodb", endpoint_url=endpoint), session.client("dynamodbstreams", endpoint_url=endpoint)


def conversation(endpoint: str) -> list:
    """Every fast-path operation, with the answers' variants (found, missing, projected, paged)."""
    ddb, streams = clients(endpoint)
    ddb.create_table(
        TableName=TABLE, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk", "gpk", "gsk")],
        GlobalSecondaryIndexes=[{"IndexName": "by-customer", "Projection": {"ProjectionType": "ALL"}, "KeySchema": [
            {"AttributeName": "gpk", "KeyType": "HASH"}, {"AttributeName": "gsk", "KeyType": "RANGE"}]}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    key = {"pk": ITEM["pk"], "sk": ITEM["sk"]}
    missing = {"pk": {"S": "ORDER#404"}, "sk": {"S": "ORDER"}}
    capacity = {"ReturnConsumedCapacity": "TOTAL"}
    answers = [
        ddb.put_item(TableName=TABLE, Item=ITEM, ReturnValues="ALL_OLD", **capacity),
        ddb.put_item(TableName=TABLE, Item=ITEM | {"total": {"N": "13"}}, ReturnValues="ALL_OLD"),
        ddb.put_item(TableName=TABLE, Item={"pk": {"S": "ORDER#2"}, "sk": {"S": "ORDER"}, "gpk": {"S": "C#1"},
                                            "gsk": {"S": "2026-01-02"}}),
        ddb.get_item(TableName=TABLE, Key=key, **capacity),
        ddb.get_item(TableName=TABLE, Key=missing),
        ddb.get_item(TableName=TABLE, Key=key, ProjectionExpression="#t, tags, #l",
                     ExpressionAttributeNames={"#t": "total", "#l": "lines"}),
        ddb.update_item(TableName=TABLE, Key=key, UpdateExpression="ADD qty :q SET paid = :f",
                        ExpressionAttributeValues={":q": {"NS": ["3"]}, ":f": {"BOOL": False}}, ReturnValues="ALL_NEW"),
        ddb.update_item(TableName=TABLE, Key=key, UpdateExpression="SET #t = :t", ExpressionAttributeNames={"#t": "total"},
                        ExpressionAttributeValues={":t": {"N": "1"}}, ReturnValues="UPDATED_OLD"),
        ddb.query(TableName=TABLE, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": ITEM["pk"]},
                  ReturnConsumedCapacity="INDEXES"),
        ddb.query(TableName=TABLE, IndexName="by-customer", KeyConditionExpression="gpk = :p",
                  ExpressionAttributeValues={":p": {"S": "C#1"}}, Limit=1),
        ddb.query(TableName=TABLE, IndexName="by-customer", KeyConditionExpression="gpk = :p",
                  ExpressionAttributeValues={":p": {"S": "C#1"}}, Select="COUNT"),
        ddb.scan(TableName=TABLE, Limit=1),
        ddb.batch_get_item(RequestItems={TABLE: {"Keys": [key, missing]}}),
        ddb.transact_get_items(TransactItems=[{"Get": {"TableName": TABLE, "Key": key}},
                                              {"Get": {"TableName": TABLE, "Key": missing}}]),
        ddb.delete_item(TableName=TABLE, Key=key, ReturnValues="ALL_OLD"),
    ]
    with pytest.raises(ddb.exceptions.ConditionalCheckFailedException) as refused:
        ddb.put_item(TableName=TABLE, Item=ITEM | {"pk": {"S": "ORDER#2"}}, ConditionExpression="attribute_not_exists(pk)")
    answers.append(refused.value.response["Error"])
    arn = ddb.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    records = streams.get_records(ShardIterator=iterator["ShardIterator"], Limit=100)
    answers.append([_comparable(r) for r in records["Records"]])
    return [_without_metadata(a) for a in answers]


def _comparable(record: dict) -> dict:
    """A stream record less what moto makes up per record (its id, its clock, and a size it
    measures on a text holding that clock)."""
    created = record["dynamodb"].pop("ApproximateCreationDateTime")
    assert created.tzinfo is not None  # botocore read a timestamp either way
    assert record["dynamodb"].pop("SizeBytes") > 0
    return {k: v for k, v in record.items() if k != "eventID"}


def _without_metadata(answer):
    if isinstance(answer, dict):
        return {k: _sets_sorted(v) for k, v in answer.items() if k != "ResponseMetadata"}
    return _sets_sorted(answer)


def _sets_sorted(value):
    """Sets have no order (moto's follows the process's string hashing): compare them sorted."""
    if isinstance(value, dict):
        return {k: sorted(v) if k in ("SS", "NS", "BS") else _sets_sorted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_sets_sorted(v) for v in value]
    return value


def test_the_fast_answers_read_as_motos_own(emulator, plain_moto):
    fast, plain = conversation(emulator), conversation(plain_moto)

    assert fast == plain
    assert fast[3]["Item"]["blob"] == {"B": b"\x00\x01\xff"} and fast[4] == {}  # a blob, and an item not found
    assert len(fast[-1]) == 6  # the stream records of the writes that changed something


def outcome(call, **kwargs):
    try:
        return _without_metadata(call(**kwargs))
    except ClientError as error:
        return error.response["Error"]


def expressions(endpoint: str) -> list:
    """Conditions and update expressions met again with other values and items (kept parses must
    not leak one request's values into the next), and the expressions moto refuses."""
    ddb, _ = clients(endpoint)
    table = f"{TABLE}-expressions"
    ddb.create_table(
        TableName=table, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk")])
    answers = []
    for n, reserve in ((1, "3"), (2, "5"), (1, "4"), (1, "1")):
        key = {"pk": {"S": f"STOCK#{n}"}, "sk": {"S": "LEVEL"}}
        add = {"TableName": table, "Key": key,
               "UpdateExpression": "ADD reserved :q SET #v = if_not_exists(#v, :zero) + :one",
               "ConditionExpression": "attribute_not_exists(reserved) OR reserved <= :max",
               "ExpressionAttributeNames": {"#v": "version"},
               "ExpressionAttributeValues": {":q": {"N": reserve}, ":one": {"N": "1"}, ":zero": {"N": "0"},
                                             ":max": {"N": "6"}}}
        answers.append(outcome(ddb.update_item, **add, ReturnValues="ALL_NEW"))  # the last refused: 10 > 6
        answers.append(outcome(ddb.transact_write_items, TransactItems=[{"Update": add}]))
    refused = [
        {"UpdateExpression": "SET a = :one SET b = :one"},                         # two SET clauses
        {"UpdateExpression": "SET a = :one, a = :one"},                            # one path twice
        {"UpdateExpression": "SET a.b = :one REMOVE a"},                           # overlapping paths
        {"UpdateExpression": "SET a = :one", "ExpressionAttributeNames": {"#unused": "x"}},
        {"UpdateExpression": "SET a = :one", "ConditionExpression": "#n = :one",
         "ExpressionAttributeNames": {"#n": "a", "#unused": "x"}},
        {"UpdateExpression": "SET a = :missing"},
        {"UpdateExpression": "SET pk = :one"},                                     # a key attribute
    ]
    for extra in refused * 2:  # the second time, the parses are kept ones
        request = {"TableName": table, "Key": {"pk": {"S": "STOCK#1"}, "sk": {"S": "LEVEL"}},
                   "ExpressionAttributeValues": {":one": {"N": "1"}}} | extra
        answers.append(outcome(ddb.update_item, **request))
    return answers


def test_kept_parses_answer_as_fresh_ones(emulator, plain_moto):
    fast, plain = expressions(emulator), expressions(plain_moto)

    assert fast == plain
    updates, transactions = fast[0:8:2], fast[1:8:2]
    assert [a.get("Attributes", {}).get("reserved") for a in updates[:3]] == [{"N": "3"}, {"N": "5"}, {"N": "10"}]
    assert "Code" in updates[3] and [("Code" in a) for a in transactions] == [False, False, True, True]
    assert all("Code" in a for a in fast[-14:])  # every refused expression is refused both times
