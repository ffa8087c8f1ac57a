"""What the search index is rendered from, in the search table.

    CASE#<id>      / CASE                the newest snapshot of the case (JSON, zlib-compressed when large), its version
    CASE#<id>      / COMMENT#<id>        a comment: body, external, author, at
    CASE#<id>      / ERASED#<person>     a person whose personal data was erased from the case
    TEMPLATE#<key> / V#<version:06d>     a published template version

A case's items are read in one Query; a snapshot is replaced only by a newer version (a conditional write)."""

import zlib
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from caseline_common.contracts import CaseSnapshot, TemplateDefinition

from ..domain.search import SearchComment, StoredCase

if TYPE_CHECKING:
    from types_boto3_dynamodb.client import DynamoDBClient

_CASE, _COMMENT, _ERASED = "CASE", "COMMENT#", "ERASED#"
COMPRESS_ABOVE = 8 * 1024  # bytes of JSON; DynamoDB items stop at 400 KB and are billed per KB


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _case_key(case_id: str) -> dict[str, str]:
    return _s(f"CASE#{case_id}")


def _snapshot(item: dict[str, Any]) -> CaseSnapshot:
    if "zdoc" in item:
        return CaseSnapshot.model_validate_json(zlib.decompress(item["zdoc"]["B"]))
    return CaseSnapshot.model_validate_json(item["doc"]["S"])


class DynamoSearchSources:
    def __init__(self, client: "DynamoDBClient", table: str) -> None:
        self._client = client
        self._table = table
        self._templates: dict[tuple[str, int], TemplateDefinition] = {}

    def save_template(self, key: str, version: int, definition: TemplateDefinition) -> None:
        self._client.put_item(
            TableName=self._table,
            Item={"pk": _s(f"TEMPLATE#{key}"), "sk": _s(f"V#{version:06d}"), "doc": _s(definition.model_dump_json())},
        )

    def template(self, key: str, version: int) -> TemplateDefinition | None:
        """Published versions never change, so each is read once per container."""
        cached = self._templates.get((key, version))
        if cached is None:
            item = self._client.get_item(
                TableName=self._table, Key={"pk": _s(f"TEMPLATE#{key}"), "sk": _s(f"V#{version:06d}")}
            ).get("Item")
            if item is None:
                return None
            cached = self._templates[(key, version)] = TemplateDefinition.model_validate_json(item["doc"]["S"])
        return cached

    def save_case(self, case: CaseSnapshot) -> None:
        raw = case.model_dump_json().encode()
        body = {"zdoc": {"B": zlib.compress(raw)}} if len(raw) > COMPRESS_ABOVE else {"doc": _s(raw.decode())}
        try:
            self._client.put_item(
                TableName=self._table,
                Item={"pk": _case_key(case.id), "sk": _s(_CASE), "version": {"N": str(case.version)}, **body},
                ConditionExpression="attribute_not_exists(pk) OR version < :version",
                ExpressionAttributeValues={":version": {"N": str(case.version)}},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise  # else: the same or a newer version is kept already

    def save_comment(self, case_id: str, comment: SearchComment) -> None:
        self._client.put_item(
            TableName=self._table,
            Item={
                "pk": _case_key(case_id),
                "sk": _s(f"{_COMMENT}{comment.id}"),
                "body": _s(comment.body),
                "external": {"BOOL": comment.external},
                "author": _s(comment.author),
                "at": _s(comment.at.isoformat()),
            },
        )

    def mark_erased(self, case_id: str, participant_id: str) -> None:
        self._client.put_item(
            TableName=self._table, Item={"pk": _case_key(case_id), "sk": _s(f"{_ERASED}{participant_id}")}
        )

    def stored_case(self, case_id: str) -> StoredCase:
        case: CaseSnapshot | None = None
        comments: list[SearchComment] = []
        erased: list[str] = []
        query: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": _case_key(case_id)},
            "ConsistentRead": True,
        }
        while True:  # one Query, unless a case's comments pass 1 MB
            response = self._client.query(**query)
            for item in response["Items"]:
                sk = item["sk"]["S"]
                if sk == _CASE:
                    case = _snapshot(item)
                elif sk.startswith(_COMMENT):
                    comments.append(
                        SearchComment(
                            id=sk.removeprefix(_COMMENT),
                            body=item["body"]["S"],
                            external=item["external"]["BOOL"],
                            author=item["author"]["S"],
                            at=datetime.fromisoformat(item["at"]["S"]),
                        )
                    )
                elif sk.startswith(_ERASED):
                    erased.append(sk.removeprefix(_ERASED))
            if "LastEvaluatedKey" not in response:
                return StoredCase(case=case, comments=comments, erased=erased)
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]
