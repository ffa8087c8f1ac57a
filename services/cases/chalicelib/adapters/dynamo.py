"""The cases table: templates, cases, the transactional outbox and idempotency claims.

Every state change is one TransactWriteItems together with its outbox event, so an event is
published if and only if the change happened.
"""

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from caseline_common.contracts import CaseSnapshot, PublishedTemplate
from caseline_common.envelope import EventEnvelope
from caseline_common.errors import ConflictError
from caseline_common.pagination import Page, decode_cursor, encode_cursor, query_page
from caseline_common.resources import CASES_TABLE

from ..service import (
    CaseFilter,
    IdempotencyClaim,
    IdempotencyKeyUsedError,
    TemplateExistsError,
    TemplateSummary,
)

if TYPE_CHECKING:
    from types_boto3_dynamodb.client import DynamoDBClient
    from types_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

OUTBOX_PREFIX = "OUTBOX#"
OUTBOX_RETENTION_SECONDS = 7 * 24 * 3600
TEMPLATES_PARTITION = "TEMPLATES"
CASES_PARTITION = "CASES"
_INDEX_BY_STATUS, _INDEX_BY_STAGE, _INDEX_BY_CREATED = (index.name for index in CASES_TABLE.indexes)


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


class TransactionConflict(Exception):
    def __init__(self, failed_positions: set[int]) -> None:
        super().__init__(failed_positions)
        self.failed_positions = failed_positions


class DynamoCasesRepository:
    def __init__(self, client: "DynamoDBClient", table_name: str, *, source: str = "cases") -> None:
        self._client = client
        self._table = table_name
        self._source = source

    # writes

    def _put(self, item: dict[str, Any], *, new_only: bool) -> "TransactWriteItemTypeDef":
        put: dict[str, Any] = {"TableName": self._table, "Item": item}
        if new_only:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        return {"Put": put}  # type: ignore[typeddict-item]

    def _outbox(self, event: EventEnvelope) -> "TransactWriteItemTypeDef":
        return self._put(
            {
                "pk": _s(f"{OUTBOX_PREFIX}{event.event_id}"),
                "sk": _s("OUTBOX"),
                "source": _s(self._source),
                "event": _s(event.to_json()),
                "expires_at": _n(int(time.time()) + OUTBOX_RETENTION_SECONDS),
            },
            new_only=True,
        )

    def _claim(self, claim: IdempotencyClaim) -> "TransactWriteItemTypeDef":
        return {
            "Put": {
                "TableName": self._table,
                "Item": {
                    "pk": _s(f"IDEMPOTENCY#{claim.scope}"),
                    "sk": _s("IDEMPOTENCY"),
                    "request_hash": _s(claim.request_hash),
                    "resource_id": _s(claim.resource_id),
                    "expires_at": _n(int(claim.expires_at.timestamp())),
                },
                # TTL deletes lazily, so an expired claim still on disk must not block the key.
                "ConditionExpression": "attribute_not_exists(pk) OR expires_at < :now",
                "ExpressionAttributeValues": {":now": _n(int(time.time()))},
            }
        }

    def _transact(self, items: list["TransactWriteItemTypeDef"]) -> None:
        try:
            self._client.transact_write_items(TransactItems=items)
        except ClientError as error:
            if error.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            reasons = error.response.get("CancellationReasons", [])
            if any(reason.get("Code") == "TransactionConflict" for reason in reasons):
                raise ConflictError("Another request changed the same data at the same moment; retry.") from error
            failed = {i for i, reason in enumerate(reasons) if reason.get("Code") == "ConditionalCheckFailed"}
            if not failed:
                raise
            raise TransactionConflict(failed) from error

    def _write_with_claim(self, items: list["TransactWriteItemTypeDef"], claim: IdempotencyClaim | None) -> set[int]:
        """Writes all items (plus the claim, last); returns the positions whose condition failed."""
        if claim is not None:
            items = [*items, self._claim(claim)]
        try:
            self._transact(items)
        except TransactionConflict as conflict:
            if claim is not None and len(items) - 1 in conflict.failed_positions:
                raise IdempotencyKeyUsedError(claim.scope) from conflict
            return conflict.failed_positions
        return set()

    def publish_template(
        self, template: PublishedTemplate, event: EventEnvelope, claim: IdempotencyClaim | None
    ) -> None:
        key = template.definition.key
        document = _s(template.model_dump_json())
        head = {
            "pk": _s(TEMPLATES_PARTITION),
            "sk": _s(key),
            "name": _s(template.definition.name),
            "latest_version": _n(template.version),
            "published_at": _s(template.published_at.isoformat()),
            "doc": document,
        }
        version = {"pk": _s(f"TEMPLATE#{key}"), "sk": _s(f"V#{template.version:06d}"), "doc": document}
        failed = self._write_with_claim(
            [self._put(head, new_only=True), self._put(version, new_only=True), self._outbox(event)], claim
        )
        if failed:
            raise TemplateExistsError(key)

    def create_case(self, case: CaseSnapshot, event: EventEnvelope, claim: IdempotencyClaim | None) -> None:
        failed = self._write_with_claim([self._put(self._case_item(case), new_only=True), self._outbox(event)], claim)
        if failed:
            raise RuntimeError(f"case id {case.id} collided: {sorted(failed)}")

    @staticmethod
    def _case_item(case: CaseSnapshot) -> dict[str, Any]:
        return {
            "pk": _s(f"CASE#{case.id}"),
            "sk": _s("CASE"),
            "tenant_id": _s(case.tenant_id),
            "version": _n(case.version),
            "doc": _s(case.model_dump_json()),
            "gsi1pk": _s(f"STATUS#{case.status.value}"),
            "gsi1sk": _s(case.id),
            "gsi2pk": _s(f"STAGE#{case.stage}"),
            "gsi2sk": _s(f"{case.status.value}#{case.id}"),
            "gsi3pk": _s(CASES_PARTITION),
            "gsi3sk": _s(case.id),
        }

    # reads

    def latest_template(self, key: str) -> PublishedTemplate | None:
        item = self._client.get_item(TableName=self._table, Key={"pk": _s(TEMPLATES_PARTITION), "sk": _s(key)}).get(
            "Item"
        )
        return PublishedTemplate.model_validate_json(item["doc"]["S"]) if item else None

    def list_templates(self, *, limit: int, cursor: str | None) -> Page[TemplateSummary]:
        start = decode_cursor(cursor, expected={"pk": TEMPLATES_PARTITION}, key_names={"pk", "sk"})
        query: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": _s(TEMPLATES_PARTITION)},
            "ProjectionExpression": "pk, sk, #name, latest_version, published_at",
            "ExpressionAttributeNames": {"#name": "name"},
            "Limit": limit,
        }
        response = query_page(self._client, query, start)
        return Page(
            items=[
                TemplateSummary(
                    key=item["sk"]["S"],
                    name=item["name"]["S"],
                    latest_version=int(item["latest_version"]["N"]),
                    published_at=datetime.fromisoformat(item["published_at"]["S"]),
                )
                for item in response["Items"]
            ],
            next_cursor=encode_cursor(response.get("LastEvaluatedKey")),
        )

    def get_case(self, case_id: str) -> CaseSnapshot | None:
        item = self._client.get_item(TableName=self._table, Key={"pk": _s(f"CASE#{case_id}"), "sk": _s("CASE")}).get(
            "Item"
        )
        return CaseSnapshot.model_validate_json(item["doc"]["S"]) if item else None

    def list_cases(self, case_filter: CaseFilter, *, limit: int, cursor: str | None) -> Page[CaseSnapshot]:
        if case_filter.stage is not None:
            index, partition_name, sort_name = _INDEX_BY_STAGE, "gsi2pk", "gsi2sk"
            partition = f"STAGE#{case_filter.stage}"
        elif case_filter.status is not None:
            index, partition_name, sort_name = _INDEX_BY_STATUS, "gsi1pk", "gsi1sk"
            partition = f"STATUS#{case_filter.status.value}"
        else:
            index, partition_name, sort_name = _INDEX_BY_CREATED, "gsi3pk", "gsi3sk"
            partition = CASES_PARTITION
        condition = f"{partition_name} = :pk"
        values: dict[str, Any] = {":pk": _s(partition)}
        if case_filter.stage is not None and case_filter.status is not None:
            condition += f" AND begins_with({sort_name}, :status)"
            values[":status"] = _s(f"{case_filter.status.value}#")
        start = decode_cursor(
            cursor, expected={partition_name: partition}, key_names={"pk", "sk", partition_name, sort_name}
        )
        query: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": index,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": False,
            "Limit": limit,
        }
        response = query_page(self._client, query, start)
        return Page(
            items=[CaseSnapshot.model_validate_json(item["doc"]["S"]) for item in response["Items"]],
            next_cursor=encode_cursor(response.get("LastEvaluatedKey")),
        )

    def idempotency_claim(self, scope: str) -> IdempotencyClaim | None:
        item = self._client.get_item(
            TableName=self._table,
            Key={"pk": _s(f"IDEMPOTENCY#{scope}"), "sk": _s("IDEMPOTENCY")},
            ConsistentRead=True,
        ).get("Item")
        if not item or int(item["expires_at"]["N"]) < time.time():
            return None
        return IdempotencyClaim(
            scope=scope,
            request_hash=item["request_hash"]["S"],
            resource_id=item["resource_id"]["S"],
            expires_at=datetime.fromtimestamp(int(item["expires_at"]["N"]), UTC),
        )
