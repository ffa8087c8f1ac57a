"""The timelines read back for rebuilding the event lake: every link of a tenant's chains, from the timeline table's
change feed index (`by_feed`: every link, in the order recorded, with its record), and the newest published version
of a template. Queries only, never a Scan; a link's personal part is never read (the index does not hold it).

A link's record holds the event as the cases service sent it, without its personal data and the actor's display
name (caseline_common.chain.split_personal), but not the case it left: the lake's rebuild folds each case's state
from its events (services/insight/chalicelib/domain/lake.py)."""

import json
import zlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from caseline_common.contracts import TemplateDefinition
from caseline_common.envelope import EventEnvelope
from caseline_common.resources import TIMELINE_TABLE
from pydantic import ValidationError

if TYPE_CHECKING:
    from types_boto3_dynamodb import DynamoDBClient

# The timeline table's layout (services/timeline/chalicelib/adapters/dynamo_timeline.py).
_FEED_INDEX = next(index for index in TIMELINE_TABLE.indexes if index.name == "by_feed")
_FEED = "FEED"
_LINK_PREFIX = "LINK#"

Link = tuple[str, int, EventEnvelope | None]  # case id, seq, the event (None: a record that cannot be read)


def _record(attribute: dict[str, Any]) -> dict[str, Any]:
    text = zlib.decompress(attribute["B"]).decode() if "B" in attribute else attribute["S"]
    record: dict[str, Any] = json.loads(text)
    return record


class TimelineSource:
    def __init__(self, client: "DynamoDBClient", table: str) -> None:
        self._client = client
        self._table = table

    def approximate_links(self) -> int:
        """How many links the feed holds, as DynamoDB last counted (about every six hours in AWS)."""
        table = self._client.describe_table(TableName=self._table)["Table"]
        indexes = {index["IndexName"]: index for index in table.get("GlobalSecondaryIndexes", [])}
        return int(indexes.get(_FEED_INDEX.name, {}).get("ItemCount", 0))

    def links(self) -> Iterator[Link]:
        """Every link of every case, in the order the timeline recorded them."""
        query: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": _FEED_INDEX.name,
            "KeyConditionExpression": "gsi2pk = :feed",
            "ExpressionAttributeValues": {":feed": {"S": _FEED}},
            "ExpressionAttributeNames": {"#record": "record"},
            "ProjectionExpression": "pk, sk, #record",
        }
        while True:
            response = self._client.query(**query)
            for item in response["Items"]:
                yield self._link(item)
            if "LastEvaluatedKey" not in response:
                return
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    @staticmethod
    def _link(item: dict[str, Any]) -> Link:
        case_id = item["pk"]["S"].removeprefix("CASE#")
        seq = int(item["sk"]["S"].removeprefix(_LINK_PREFIX))
        try:
            return case_id, seq, EventEnvelope.model_validate(_record(item["record"])["event"])
        except (KeyError, TypeError, ValueError, ValidationError, zlib.error):
            return case_id, seq, None

    def newest_template(self, key: str) -> tuple[int, TemplateDefinition] | None:
        """The newest version of a template the timeline keeps (from `template.published`), if any."""
        response = self._client.query(
            TableName=self._table,
            KeyConditionExpression="pk = :template AND begins_with(sk, :version)",
            ExpressionAttributeValues={":template": {"S": f"TEMPLATE#{key}"}, ":version": {"S": "VERSION#"}},
            ScanIndexForward=False,
            Limit=1,
        )
        if not response["Items"]:
            return None
        item = response["Items"][0]
        version = int(item["sk"]["S"].removeprefix("VERSION#"))
        return version, TemplateDefinition.model_validate_json(item["doc"]["S"])
