"""The source of truth the read plane is rebuilt from: every published template, case and comment of a tenant, read
from the cases table with Queries on its keys and its `by_updated` index (never a Scan), page by page.

`caseline tasks rebuild` and `caseline search reindex` feed what this reads through their projections' own code,
so a rebuilt read model is the one the bus would have built."""

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from caseline_common.contracts import CaseSnapshot, PublishedTemplate, TemplateDefinition
from caseline_common.errors import UnavailableError
from caseline_common.resources import CASES_TABLE
from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from types_boto3_dynamodb import DynamoDBClient

# The cases table's layout (services/cases/chalicelib/adapters/dynamo_cases.py): the templates' partition lists
# each template once, its versions live under TEMPLATE#<key>, a case under CASE#<id> with its comments beside it.
TEMPLATES_PARTITION = "TEMPLATES"
CASES_PARTITION = "CASES"
_BY_UPDATED = next(index for index in CASES_TABLE.indexes if index.name == "by_updated")
_BATCH_GET_ATTEMPTS = 5


class SourceComment(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    body: str
    external: bool
    author: str
    created_at: datetime


class CaseSource:
    def __init__(self, client: "DynamoDBClient", table: str) -> None:
        self._client = client
        self._table = table

    def _responses(self, query: dict[str, Any]) -> Iterator[Any]:
        start: dict[str, Any] | None = None
        while True:
            response = self._client.query(**({**query, "ExclusiveStartKey": start} if start else query))
            yield response
            start = response.get("LastEvaluatedKey")
            if not start:
                return

    def _pages(self, query: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
        for response in self._responses(query):
            yield list(response["Items"])

    def _under(self, partition: str, prefix: str = "") -> Iterator[dict[str, Any]]:
        query: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": partition}},
        }
        if prefix:
            query["KeyConditionExpression"] += " AND begins_with(sk, :prefix)"
            query["ExpressionAttributeValues"][":prefix"] = {"S": prefix}
        for page in self._pages(query):
            yield from page

    def templates(self) -> Iterator[tuple[str, int, TemplateDefinition]]:
        """Every published version of every template, oldest version first."""
        for listed in self._under(TEMPLATES_PARTITION):
            for item in self._under(f"TEMPLATE#{listed['sk']['S']}", "V#"):
                published = PublishedTemplate.model_validate_json(item["doc"]["S"])
                yield published.definition.key, published.version, published.definition

    def _case_query(self, **extra: Any) -> dict[str, Any]:
        return {
            "TableName": self._table,
            "IndexName": _BY_UPDATED.name,
            "KeyConditionExpression": f"{_BY_UPDATED.key.partition} = :pk",
            "ExpressionAttributeValues": {":pk": {"S": CASES_PARTITION}},
            **extra,
        }

    def count(self) -> int:
        """How many cases there are (for a progress bar)."""
        return sum(int(response["Count"]) for response in self._responses(self._case_query(Select="COUNT")))

    def cases(self, page_size: int = 100) -> Iterator[list[CaseSnapshot]]:
        """Every case, a page at a time, most recently changed first."""
        for page in self._pages(self._case_query(ProjectionExpression="case_id", Limit=page_size)):
            if page:
                yield self._cases_by_id([item["case_id"]["S"] for item in page])

    def _cases_by_id(self, case_ids: list[str]) -> list[CaseSnapshot]:
        found: dict[str, CaseSnapshot] = {}
        for start in range(0, len(case_ids), 100):  # BatchGetItem takes at most 100 keys
            keys: list[Any] = [
                {"pk": {"S": f"CASE#{case_id}"}, "sk": {"S": "CASE"}} for case_id in case_ids[start:][:100]
            ]
            for _ in range(_BATCH_GET_ATTEMPTS):
                response = self._client.batch_get_item(
                    RequestItems={self._table: {"Keys": keys, "ProjectionExpression": "doc"}}
                )
                for item in response["Responses"].get(self._table, []):
                    case = CaseSnapshot.model_validate_json(item["doc"]["S"])
                    found[case.id] = case
                unprocessed: dict[str, Any] = dict(response.get("UnprocessedKeys") or {})
                keys = list(unprocessed.get(self._table, {}).get("Keys", []))
                if not keys:
                    break
            else:
                raise UnavailableError("The cases table did not answer every read; run the command again.")
        return [found[case_id] for case_id in case_ids if case_id in found]

    def comments(self, case_id: str) -> list[SourceComment]:
        """The case's comments, oldest first."""
        return [
            SourceComment.model_validate_json(item["doc"]["S"]) for item in self._under(f"CASE#{case_id}", "COMMENT#")
        ]
