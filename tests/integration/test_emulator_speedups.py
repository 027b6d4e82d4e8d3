"""The emulator's cheaper answers (local/moto_speedups.py) read the same, through botocore, as
moto's own: the same requests go to the runtime's emulator and to a plain moto server in this
process, and every parsed answer is compared (less what moto makes up afresh each time)."""

from __future__ import annotations

import threading

import boto3
import pytest
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
        return {k: v for k, v in answer.items() if k != "ResponseMetadata"}
    return answer


def test_the_fast_answers_read_as_motos_own(emulator, plain_moto):
    fast, plain = conversation(emulator), conversation(plain_moto)

    assert fast == plain
    assert fast[3]["Item"]["blob"] == {"B": b"\x00\x01\xff"} and fast[4] == {}  # a blob, and an item not found
    assert len(fast[-1]) == 6  # the stream records of the writes that changed something
