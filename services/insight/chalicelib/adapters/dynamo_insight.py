"""Who may read each template's figures, in the insight table: the groups of every role of its newest published
version, from `template.published`.

    READERS / TEMPLATE#<key>   version, groups (a list; empty when no role names a group)
"""

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from types_boto3_dynamodb.client import DynamoDBClient

_READERS = "READERS"
_TEMPLATE = "TEMPLATE#"


class DynamoTemplateReaders:
    def __init__(self, dynamodb: "DynamoDBClient", table: str) -> None:
        self._dynamodb = dynamodb
        self._table = table

    def record(self, template_key: str, version: int, groups: list[str]) -> None:
        """Conditional on no newer version being kept: events of two versions may arrive in either order."""
        try:
            self._dynamodb.put_item(
                TableName=self._table,
                Item={
                    "pk": {"S": _READERS},
                    "sk": {"S": f"{_TEMPLATE}{template_key}"},
                    "version": {"N": str(version)},
                    "groups": {"L": [{"S": group} for group in groups]},
                },
                ConditionExpression="attribute_not_exists(pk) OR version <= :version",
                ExpressionAttributeValues={":version": {"N": str(version)}},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def all(self) -> dict[str, frozenset[str]]:
        readers: dict[str, frozenset[str]] = {}
        query: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :readers",
            "ExpressionAttributeValues": {":readers": {"S": _READERS}},
        }
        while True:
            response = self._dynamodb.query(**query)
            for item in response["Items"]:
                key = item["sk"]["S"].removeprefix(_TEMPLATE)
                readers[key] = frozenset(group["S"] for group in item["groups"]["L"])
            if "LastEvaluatedKey" not in response:
                return readers
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]
