"""Insight results cached in the insight table, one item per report, range, grouping and readable templates.

    REPORT#<sha-256 of the query>   RESULT   the rows (JSON, zlib-compressed), when computed; expires_at (TTL)

DynamoDB deletes an expired item within a day or two, so a read also checks `expires_at` itself. A result too big
for one item (400 KB) is not cached: it is computed again, which is correct, only slower.
"""

import zlib
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..report_service import CachedReport

if TYPE_CHECKING:
    from types_boto3_dynamodb.client import DynamoDBClient

_RESULT = "RESULT"
# Below DynamoDB's 400 KB item limit, with room for the keys and attributes.
MAX_CACHED_BYTES = 380_000


def _key(key: str) -> dict[str, Any]:
    return {"pk": {"S": f"REPORT#{key}"}, "sk": {"S": _RESULT}}


class DynamoReportCache:
    def __init__(self, dynamodb: "DynamoDBClient", table: str) -> None:
        self._dynamodb = dynamodb
        self._table = table

    def get(self, key: str, now: datetime) -> CachedReport | None:
        item = self._dynamodb.get_item(TableName=self._table, Key=_key(key)).get("Item")
        if item is None or int(item["expires_at"]["N"]) <= now.timestamp():
            return None
        return CachedReport.model_validate_json(zlib.decompress(item["result"]["B"]))

    def put(self, key: str, report: CachedReport, expires_at: datetime) -> None:
        body = zlib.compress(report.model_dump_json().encode(), level=6)
        if len(body) > MAX_CACHED_BYTES:
            return
        self._dynamodb.put_item(
            TableName=self._table,
            Item={**_key(key), "result": {"B": body}, "expires_at": {"N": str(int(expires_at.timestamp()))}},
        )
