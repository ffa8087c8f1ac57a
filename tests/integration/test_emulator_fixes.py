"""The emulator's DynamoDB answers, after `caseline.local.moto_fixes` took its response writing and string
comparisons into its own hands: every kind of attribute value comes back as it was written, and keys still
order and page as DynamoDB's do."""

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from caseline.local.stack import LocalStack

EVERY_KIND: dict[str, Any] = {
    "pk": {"S": "item"},
    "sk": {"S": "0"},
    "text": {"S": 'naïve ✓ "quoted"'},
    "empty_text": {"S": ""},
    "number": {"N": "-12.50"},
    "binary": {"B": b"\x00\xffcaseline"},
    "flag": {"BOOL": False},
    "nothing": {"NULL": True},
    "strings": {"SS": ["a", "b"]},
    "numbers": {"NS": ["1", "2.5"]},
    "binaries": {"BS": [b"\x01", b"\x02\x03"]},
    "list": {"L": [{"S": "x"}, {"N": "3"}, {"B": b"\x04"}, {"L": [{"BOOL": True}]}, {"M": {"k": {"NULL": True}}}]},
    "map": {"M": {"inner": {"M": {"deep": {"B": b"\x05"}, "list": {"L": []}}}, "empty": {"M": {}}}},
}


@pytest.fixture
def table(stack: LocalStack) -> Iterator[str]:
    client = stack.aws.dynamodb()
    name = f"emulator-fixes-{uuid.uuid4().hex[:8]}"
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "gpk", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by_g",
                "KeySchema": [{"AttributeName": "gpk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    yield name
    client.delete_table(TableName=name)


def test_every_kind_of_attribute_value_reads_back_as_written(stack: LocalStack, table: str) -> None:
    client = stack.aws.dynamodb()
    client.put_item(TableName=table, Item=EVERY_KIND)
    key = {"pk": EVERY_KIND["pk"], "sk": EVERY_KIND["sk"]}

    assert client.get_item(TableName=table, Key=key)["Item"] == EVERY_KIND
    assert client.query(
        TableName=table, KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": "item"}}
    )["Items"] == [EVERY_KIND]
    assert client.scan(TableName=table)["Items"] == [EVERY_KIND]
    batch = client.batch_get_item(RequestItems={table: {"Keys": [key]}})
    assert batch["Responses"][table] == [EVERY_KIND]
    projected = client.get_item(
        TableName=table, Key=key, ProjectionExpression="#b, #m", ExpressionAttributeNames={"#b": "binary", "#m": "map"}
    )
    assert projected["Item"] == {"binary": EVERY_KIND["binary"], "map": EVERY_KIND["map"]}
    updated = client.update_item(
        TableName=table,
        Key=key,
        UpdateExpression="SET #t = :t",
        ExpressionAttributeNames={"#t": "text"},
        ExpressionAttributeValues={":t": {"S": "changed"}},
        ReturnValues="ALL_OLD",
    )
    assert updated["Attributes"] == EVERY_KIND


def test_string_keys_order_filter_and_page_as_in_dynamodb(stack: LocalStack, table: str) -> None:
    client = stack.aws.dynamodb()
    sort_keys = ["b", "a", "B", "ab", "", "10", "9", "é", "z"]
    for index, sort_key in enumerate(sk for sk in sort_keys if sk):
        client.put_item(
            TableName=table,
            Item={"pk": {"S": "p"}, "sk": {"S": sort_key}, "gpk": {"S": "g"}, "odd": {"BOOL": index % 2 == 1}},
        )
    client.put_item(TableName=table, Item={"pk": {"S": "other"}, "sk": {"S": "a"}, "gpk": {"S": "h"}})
    expected = sorted((sk for sk in sort_keys if sk), key=lambda text: text.encode())  # DynamoDB: UTF-8 bytes

    def pages(**query: Any) -> list[list[str]]:
        found: list[list[str]] = []
        start: Any = None  # a LastEvaluatedKey, given back as it came
        while True:
            page = client.query(TableName=table, Limit=2, **query, **({"ExclusiveStartKey": start} if start else {}))
            found.append([item["sk"]["S"] for item in page["Items"]])
            start = page.get("LastEvaluatedKey")
            if not start:
                return found

    forward = pages(KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p"}})
    assert [sk for page in forward for sk in page] == expected
    assert all(len(page) <= 2 for page in forward)
    backward = pages(
        IndexName="by_g",
        KeyConditionExpression="gpk = :g AND sk > :after",
        ExpressionAttributeValues={":g": {"S": "g"}, ":after": {"S": "a"}},
        ScanIndexForward=False,
    )
    assert [sk for page in backward for sk in page] == [sk for sk in reversed(expected) if sk.encode() > b"a"]
    odd = pages(
        KeyConditionExpression="pk = :p",
        FilterExpression="odd = :yes",
        ExpressionAttributeValues={":p": {"S": "p"}, ":yes": {"BOOL": True}},
    )
    odd_keys = {sk for index, sk in enumerate(sk for sk in sort_keys if sk) if index % 2 == 1}
    assert [sk for page in odd for sk in page] == [sk for sk in expected if sk in odd_keys]
