"""The embedded DynamoDB's transactions (scripts/dynamodb_server.py rolls a cancelled one back from
copies of the items it names, not of whole tables): all or nothing, stream records included."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.support import database


@pytest.fixture
def ddb() -> Iterator[tuple[Any, str, str]]:
    client = boto3.client(
        "dynamodb",
        endpoint_url=database.endpoint(),
        region_name="us-east-1",
        aws_access_key_id="t",
        aws_secret_access_key="t",
    )
    ranged, plain = f"journal-r-{secrets.token_hex(3)}", f"journal-h-{secrets.token_hex(3)}"
    client.create_table(
        TableName=ranged,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    client.create_table(
        TableName=plain,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    yield client, ranged, plain
    client.delete_table(TableName=ranged)
    client.delete_table(TableName=plain)


def stream_records(client: Any, table: str) -> int:
    streams = boto3.client(
        "dynamodbstreams",
        endpoint_url=database.endpoint(),
        region_name="us-east-1",
        aws_access_key_id="t",
        aws_secret_access_key="t",
    )
    arn = client.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    return len(streams.get_records(ShardIterator=it, Limit=1000)["Records"])


def writes(ranged: str, plain: str, condition: str) -> list[dict[str, Any]]:
    """An update, a new item, a delete and a condition on a third item of the ranged table."""
    return [
        {
            "Update": {
                "TableName": ranged,
                "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}},
                "UpdateExpression": "SET n = n + :one",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            }
        },
        {"Put": {"TableName": ranged, "Item": {"pk": {"S": "b"}, "sk": {"N": "1"}, "n": {"N": "7"}}}},
        {"Delete": {"TableName": plain, "Key": {"id": {"S": "x"}}}},
        {
            "ConditionCheck": {
                "TableName": ranged,
                "Key": {"pk": {"S": "c"}, "sk": {"N": "1"}},
                "ConditionExpression": condition,
            }
        },
    ]


def seed(client: Any, ranged: str, plain: str) -> None:
    client.put_item(TableName=ranged, Item={"pk": {"S": "a"}, "sk": {"N": "1"}, "n": {"N": "1"}})
    client.put_item(TableName=ranged, Item={"pk": {"S": "a"}, "sk": {"N": "2"}, "n": {"N": "5"}})
    client.put_item(TableName=plain, Item={"id": {"S": "x"}, "v": {"N": "1"}})


def test_a_cancelled_transaction_leaves_items_and_stream_as_they_were(ddb: tuple[Any, str, str]) -> None:
    client, ranged, plain = ddb
    seed(client, ranged, plain)
    before = stream_records(client, ranged)
    with pytest.raises(ClientError) as refused:
        client.transact_write_items(TransactItems=writes(ranged, plain, "attribute_exists(pk)"))
    assert refused.value.response["Error"]["Code"] == "TransactionCanceledException"
    item = client.get_item(TableName=ranged, Key={"pk": {"S": "a"}, "sk": {"N": "1"}}, ConsistentRead=True)
    assert item["Item"]["n"] == {"N": "1"}
    assert "Item" not in client.get_item(TableName=ranged, Key={"pk": {"S": "b"}, "sk": {"N": "1"}})
    assert client.get_item(TableName=plain, Key={"id": {"S": "x"}})["Item"]["v"] == {"N": "1"}
    assert client.scan(TableName=ranged)["Count"] == 2  # the other item under the same hash key too
    assert stream_records(client, ranged) == before


def test_a_transaction_that_holds_writes_everything_once(ddb: tuple[Any, str, str]) -> None:
    client, ranged, plain = ddb
    seed(client, ranged, plain)
    before = stream_records(client, ranged)
    client.transact_write_items(TransactItems=writes(ranged, plain, "attribute_not_exists(pk)"))
    item = client.get_item(TableName=ranged, Key={"pk": {"S": "a"}, "sk": {"N": "1"}})
    assert item["Item"]["n"] == {"N": "2"}
    assert client.get_item(TableName=ranged, Key={"pk": {"S": "b"}, "sk": {"N": "1"}})["Item"]["n"] == {"N": "7"}
    assert "Item" not in client.get_item(TableName=plain, Key={"id": {"S": "x"}})
    assert stream_records(client, ranged) == before + 2
