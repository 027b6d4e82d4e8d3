"""Every contract case runs on both stores: the in-memory fake (marked `unit`) and the DynamoDB
store on the moto server the integration tests use (marked `integration`), whose table is
provisioned by local.emulator.provision from the same wiring declaration. A case that passes on
one and fails on the other is drift.

The moto table is emptied between cases rather than the whole account reset and provisioned
again (what the integration tests' `aws` fixture does): a case needs nothing but the table, and
this keeps the contract suite to seconds. When the table is gone (an integration test reset the
account), the account is reset and provisioned again.
"""

from __future__ import annotations

import boto3
import pytest
import requests

from infra import wiring
from local.emulator import REGION, provision
from shared.adapters.dynamo import DynamoStore
from shared.adapters.memory import MemoryStore
from tests.integration.conftest import emulator  # noqa: F401  (fixture: the session's moto server)


def _session() -> boto3.Session:
    return boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)


@pytest.fixture(scope="session")
def dynamodb(emulator):  # noqa: F811
    """One client for every case (building one costs more than a case)."""
    return _session().client("dynamodb", endpoint_url=emulator)


def _emptied_table(client, endpoint: str) -> DynamoStore:
    name = wiring.DEFAULTS.table_name
    try:
        client.describe_table(TableName=name)
    except client.exceptions.ResourceNotFoundException:
        requests.post(f"{endpoint}/moto-api/reset", timeout=10)
        provision(_session(), endpoint, name, wiring.DEFAULTS.bus_name)
        return DynamoStore(client, name)
    for page in client.get_paginator("scan").paginate(TableName=name, ProjectionExpression="pk, sk"):
        for start in range(0, len(page["Items"]), 25):
            client.batch_write_item(RequestItems={name: [
                {"DeleteRequest": {"Key": key}} for key in page["Items"][start:start + 25]]})
    return DynamoStore(client, name)


@pytest.fixture(params=[pytest.param("memory", marks=pytest.mark.unit),
                        pytest.param("dynamo", marks=pytest.mark.integration)])
def store(request):
    if request.param == "memory":
        return MemoryStore.for_table()
    return _emptied_table(request.getfixturevalue("dynamodb"), request.getfixturevalue("emulator"))
