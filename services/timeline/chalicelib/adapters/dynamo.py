"""The timeline table: one item per event, keyed by case and event id, written only if absent."""

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from caseline_common.envelope import EventEnvelope
from caseline_common.pagination import Page, decode_cursor, encode_cursor

from ..domain.timeline import Order, TimelineEntry

if TYPE_CHECKING:
    from types_boto3_dynamodb.client import DynamoDBClient


class DynamoTimelineRepository:
    def __init__(self, client: "DynamoDBClient", table_name: str) -> None:
        self._client = client
        self._table = table_name

    def append(self, entry: TimelineEntry) -> bool:
        event = entry.event
        try:
            self._client.put_item(
                TableName=self._table,
                Item={
                    "pk": {"S": f"CASE#{entry.case_id}"},
                    "sk": {"S": f"EVENT#{event.event_id}"},
                    "type": {"S": event.type},
                    "occurred_at": {"S": event.occurred_at.isoformat()},
                    "event": {"S": event.to_json()},
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def entries(self, case_id: str, *, order: Order, limit: int, cursor: str | None) -> Page[EventEnvelope]:
        partition = f"CASE#{case_id}"
        query: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": partition}},
            "ScanIndexForward": order is Order.OLDEST_FIRST,
            "Limit": limit,
        }
        start = decode_cursor(cursor, expected={"pk": partition}, key_names={"pk", "sk"})
        if start:
            query["ExclusiveStartKey"] = start
        response = self._client.query(**query)
        return Page(
            items=[EventEnvelope.model_validate_json(item["event"]["S"]) for item in response["Items"]],
            next_cursor=encode_cursor(response.get("LastEvaluatedKey")),
        )
