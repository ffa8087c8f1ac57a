"""The cases table: templates, cases, comments, outbox events and idempotency claims.

The table's stream is the outbox. Every item written with an `event` attribute is written once for that event,
in the same write as the change it records, so an event is published if and only if the change happened:
- a case's item carries the event of its version, and its `doc` is the state the event left;
- a comment's item carries its `comment.added` event and the case it was added to (`case`);
- an event that changes no item (a template published, a due timer) has an item of its own, `OUTBOX#<id>`,
  which expires after a week.
So a change costs one write of the case item, a transaction only when more must change with it (membership
items, an idempotency claim).

Index copies are kept small, and only `by_updated` follows every change (see docs/architecture.md, "What a
change writes"): the filter indexes hold a case's keys and filter attributes, sorted by case id (newest case
first), so a change that leaves status, stage, template and owner alone writes none of them; membership items
are written only when the members or those attributes change. A list page is one Query of an index and one
BatchGetItem of the cases it names.
"""

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from caseline_common.adapters.dynamo_claims import (
    claim_from_item,
    claim_key,
    read_claim,
    transact_with_claim,
    write_claim,
)
from caseline_common.contracts import CaseSnapshot, ParticipantKind, PublishedTemplate
from caseline_common.envelope import EventEnvelope
from caseline_common.errors import UnavailableError
from caseline_common.idempotency import Claim
from caseline_common.pagination import Page, decode_cursor, encode_cursor, query_page
from caseline_common.resources import CASES_TABLE, IndexSpec
from pydantic import BaseModel

from ..domain.cases import Comment
from ..domain.work import Change
from ..ports import (
    CaseFilter,
    StaleVersionError,
    TemplateDraft,
    TemplateExistsError,
    TemplateSummary,
)

if TYPE_CHECKING:
    from types_boto3_dynamodb.client import DynamoDBClient
    from types_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

DocT = TypeVar("DocT", bound=BaseModel)
OUTBOX_PREFIX = "OUTBOX#"
OUTBOX_RETENTION_SECONDS = 7 * 24 * 3600
# An outbox item travels as one bus entry (256 KB at most) and is one table item (400 KB at most).
OUTBOX_STATE_MAX_BYTES = 200_000
TEMPLATES_PARTITION = "TEMPLATES"
CASES_PARTITION = "CASES"
MEMBER_PREFIX = "MEMBER#"
COMMENT_PREFIX = "COMMENT#"
_BY_STATUS, _BY_STAGE, _BY_UPDATED, _BY_TEMPLATE, _BY_OWNER, _BY_MEMBER = (index for index in CASES_TABLE.indexes)
# Published versions never change, so each is read once per container.
_TEMPLATE_CACHE_SIZE = 256
_BATCH_GET_ATTEMPTS = 5


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def _sort_key(case: CaseSnapshot) -> str:
    return f"{case.updated_at.isoformat()}#{case.id}"


def carried_event(image: Mapping[str, Any]) -> tuple[str, str, str | None] | None:
    """(source, event JSON, case JSON or None) of a stream image that carries an event; None for any other."""
    event = image.get("event")
    if not isinstance(event, str):
        return None
    case = image.get("doc") if image.get("sk") == "CASE" else image.get("case")
    return str(image["source"]), event, case if isinstance(case, str) else None


@dataclass(frozen=True)
class _ListPlan:
    index: IndexSpec
    partition: str
    filters: dict[str, str]  # those the Query filters on
    wanted: dict[str, str]  # all of them


class DynamoCasesRepository:
    def __init__(self, client: "DynamoDBClient", table_name: str, *, source: str = "cases") -> None:
        self._client = client
        self._table = table_name
        self._source = source
        self._versions: dict[tuple[str, int], PublishedTemplate] = {}

    # writes

    def _put(self, item: dict[str, Any], *, new_only: bool) -> "TransactWriteItemTypeDef":
        put: dict[str, Any] = {"TableName": self._table, "Item": item}
        if new_only:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        return {"Put": put}  # type: ignore[typeddict-item]

    def _delete(self, pk: str, sk: str) -> "TransactWriteItemTypeDef":
        return {"Delete": {"TableName": self._table, "Key": {"pk": _s(pk), "sk": _s(sk)}}}

    def _carrying(
        self, item: dict[str, Any], event: EventEnvelope, case: CaseSnapshot | None, *, case_item: bool = False
    ) -> dict[str, Any]:
        """`item` with the event it is the one write of (see the module's docstring) and the state the event
        left the case in, when the item can hold it; a case's own item holds that state as its `doc`."""
        event_json = event.to_json()
        carried = {**item, "source": _s(self._source), "event": _s(event_json)}
        if case is not None and not case_item:
            state = case.model_dump_json()
            if len(state.encode()) + len(event_json.encode()) <= OUTBOX_STATE_MAX_BYTES:
                carried["case"] = _s(state)
        return carried

    def _outbox(self, event: EventEnvelope, case: CaseSnapshot | None = None) -> "TransactWriteItemTypeDef":
        """An event that changes no other item, in an item of its own."""
        item = {
            "pk": _s(f"{OUTBOX_PREFIX}{event.event_id}"),
            "sk": _s("OUTBOX"),
            "expires_at": _n(int(time.time()) + OUTBOX_RETENTION_SECONDS),
        }
        return self._put(self._carrying(item, event, case), new_only=True)

    def publish_template(self, template: PublishedTemplate, event: EventEnvelope, claim: Claim | None) -> None:
        key = template.definition.key
        document = _s(template.model_dump_json())
        head: dict[str, Any] = {
            "Put": {
                "TableName": self._table,
                "Item": {
                    "pk": _s(TEMPLATES_PARTITION),
                    "sk": _s(key),
                    "name": _s(template.definition.name),
                    "latest_version": _n(template.version),
                    "published_at": _s(template.published_at.isoformat()),
                    "doc": document,
                },
            }
        }
        if template.version == 1:
            head["Put"]["ConditionExpression"] = "attribute_not_exists(pk)"
        else:  # the next version only if no one published it meanwhile
            head["Put"]["ConditionExpression"] = "latest_version = :previous"
            head["Put"]["ExpressionAttributeValues"] = {":previous": _n(template.version - 1)}
        version = {"pk": _s(f"TEMPLATE#{key}"), "sk": _s(f"V#{template.version:06d}"), "doc": document}
        items = [head, self._put(version, new_only=True), self._delete(f"TEMPLATE#{key}", "DRAFT"), self._outbox(event)]
        if transact_with_claim(self._client, self._table, items, claim):
            raise TemplateExistsError(key)

    def save_draft(self, key: str, draft: TemplateDraft) -> None:
        self._client.put_item(
            TableName=self._table,
            Item={"pk": _s(f"TEMPLATE#{key}"), "sk": _s("DRAFT"), "doc": _s(draft.model_dump_json())},
        )

    def draft(self, key: str) -> TemplateDraft | None:
        item = self._client.get_item(
            TableName=self._table, Key={"pk": _s(f"TEMPLATE#{key}"), "sk": _s("DRAFT")}, ConsistentRead=True
        ).get("Item")
        return TemplateDraft.model_validate_json(item["doc"]["S"]) if item else None

    def create_case(self, case: CaseSnapshot, event: EventEnvelope, claim: Claim | None) -> None:
        case_item = self._carrying(self._case_item(case), event, case, case_item=True)
        items = [self._put(case_item, new_only=True), *self._memberships(case)]
        failed = transact_with_claim(self._client, self._table, items, claim)
        if failed:
            raise RuntimeError(f"case id {case.id} collided: {sorted(failed.positions)}")

    def save_change(self, before: CaseSnapshot, change: Change, claim: Claim | None) -> None:
        case = change.case
        put_case: dict[str, Any] = {
            "Put": {
                "TableName": self._table,
                "Item": self._carrying(self._case_item(case), change.event, case, case_item=True),
                "ConditionExpression": "version = :expected",
                "ExpressionAttributeValues": {":expected": _n(before.version)},
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }
        members = {p.user_id for p in case.participants if p.kind is ParticipantKind.INTERNAL}
        left = {
            p.user_id
            for p in before.participants
            if p.kind is ParticipantKind.INTERNAL and p.user_id and p.user_id not in members
        }
        # Membership items copy the filter attributes: rewritten only when those or the members change.
        unchanged = self._filter_attributes(before) == self._filter_attributes(case)
        members_before = {p.user_id for p in before.participants if p.kind is ParticipantKind.INTERNAL}
        items = [
            put_case,
            *(self._memberships(case) if not unchanged or members != members_before else []),
            *(self._delete(f"CASE#{case.id}", f"{MEMBER_PREFIX}{user}") for user in sorted(left)),
        ]
        failed = transact_with_claim(self._client, self._table, items, claim)
        if failed is None:
            return
        if 0 in failed.items:
            raise StaleVersionError(int(failed.items[0]["version"]["N"]))
        current = self.get_case(case.id)
        raise StaleVersionError(current.version if current else None)

    def record_event(self, event: EventEnvelope, case: CaseSnapshot) -> None:
        """An event that changes no state (a due timer): only its outbox item, once per event id."""
        try:
            self._client.transact_write_items(TransactItems=[self._outbox(event, case)])
        except self._client.exceptions.TransactionCanceledException as cancelled:
            reasons = [reason.get("Code") for reason in cancelled.response.get("CancellationReasons", [])]
            if reasons != ["ConditionalCheckFailed"]:
                raise  # throttled or in conflict: the command is retried
            # Already recorded: the id is derived from the timer, so a repeat is the same event.

    def add_comment(self, comment: Comment, event: EventEnvelope, claim: Claim | None, case: CaseSnapshot) -> None:
        item = {
            "pk": _s(f"CASE#{comment.case_id}"),
            "sk": _s(f"{COMMENT_PREFIX}{comment.id}"),
            "doc": _s(comment.model_dump_json()),
        }
        if transact_with_claim(
            self._client, self._table, [self._put(self._carrying(item, event, case), new_only=True)], claim
        ):
            raise RuntimeError(f"comment id {comment.id} collided")

    @staticmethod
    def _case_item(case: CaseSnapshot) -> dict[str, Any]:
        newest_case_first = _s(case.id)  # ULIDs sort by when they were minted
        return {
            "pk": _s(f"CASE#{case.id}"),
            "sk": _s("CASE"),
            "tenant_id": _s(case.tenant_id),
            "version": _n(case.version),
            "doc": _s(case.model_dump_json()),
            **DynamoCasesRepository._filter_attributes(case),
            "gsi1pk": _s(f"STATUS#{case.status.value}"),
            "gsi1sk": newest_case_first,
            "gsi2pk": _s(f"STAGE#{case.stage}"),
            "gsi2sk": newest_case_first,
            "gsi3pk": _s(CASES_PARTITION),
            "gsi3sk": _s(_sort_key(case)),
            "gsi4pk": _s(f"TEMPLATE#{case.template_key}"),
            "gsi4sk": newest_case_first,
            "gsi5pk": _s(f"OWNER#{case.owner}"),
            "gsi5sk": newest_case_first,
        }

    @staticmethod
    def _filter_attributes(case: CaseSnapshot) -> dict[str, Any]:
        return {
            "case_id": _s(case.id),
            "case_status": _s(case.status.value),
            "case_stage": _s(case.stage),
            "template_key": _s(case.template_key),
            "case_owner": _s(case.owner),
        }

    def _memberships(self, case: CaseSnapshot) -> list["TransactWriteItemTypeDef"]:
        """One item per internal participant, so `participant=` lists are a Query on an index."""
        return [
            self._put(
                {
                    "pk": _s(f"CASE#{case.id}"),
                    "sk": _s(f"{MEMBER_PREFIX}{participant.user_id}"),
                    **self._filter_attributes(case),
                    "gsi6pk": _s(f"{MEMBER_PREFIX}{participant.user_id}"),
                    "gsi6sk": _s(case.id),
                },
                new_only=False,
            )
            for participant in case.participants
            if participant.kind is ParticipantKind.INTERNAL and participant.user_id
        ]

    # reads

    def latest_template(self, key: str) -> PublishedTemplate | None:
        item = self._client.get_item(TableName=self._table, Key={"pk": _s(TEMPLATES_PARTITION), "sk": _s(key)}).get(
            "Item"
        )
        if not item:
            return None
        return self._remember(PublishedTemplate.model_validate_json(item["doc"]["S"]))

    def _remember(self, template: PublishedTemplate) -> PublishedTemplate:
        if len(self._versions) >= _TEMPLATE_CACHE_SIZE:
            self._versions.clear()
        self._versions[(template.definition.key, template.version)] = template
        return template

    def template_version(self, key: str, version: int) -> PublishedTemplate | None:
        cached = self._versions.get((key, version))
        if cached is not None:
            return cached
        item = self._client.get_item(
            TableName=self._table, Key={"pk": _s(f"TEMPLATE#{key}"), "sk": _s(f"V#{version:06d}")}
        ).get("Item")
        return self._remember(PublishedTemplate.model_validate_json(item["doc"]["S"])) if item else None

    def list_template_versions(self, key: str, *, limit: int, cursor: str | None) -> Page[PublishedTemplate]:
        return self._documents_under(f"TEMPLATE#{key}", "V#", PublishedTemplate, limit=limit, cursor=cursor)

    def _documents_under(
        self, partition: str, prefix: str, model: type[DocT], *, limit: int, cursor: str | None
    ) -> Page[DocT]:
        """A page of the `doc`s of one partition's items whose sort key starts with `prefix`, in key order."""
        start = decode_cursor(cursor, expected={"pk": partition}, key_names={"pk", "sk"})
        query: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {":pk": _s(partition), ":prefix": _s(prefix)},
            "Limit": limit,
        }
        response = query_page(self._client, query, start)
        return Page(
            items=[model.model_validate_json(item["doc"]["S"]) for item in response["Items"]],
            next_cursor=encode_cursor(response.get("LastEvaluatedKey")),
        )

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

    @staticmethod
    def _plan(case_filter: CaseFilter) -> _ListPlan:
        """The most selective index for the filter; the other filters narrow what that Query returns."""
        filters = {
            "case_status": case_filter.status.value if case_filter.status else None,
            "case_stage": case_filter.stage,
            "template_key": case_filter.template_key,
            "case_owner": case_filter.owner,
        }
        if case_filter.participant is not None:
            index, partition, used = _BY_MEMBER, f"{MEMBER_PREFIX}{case_filter.participant}", None
        elif case_filter.updated_since is not None:  # only by_updated is sorted by change
            index, partition, used = _BY_UPDATED, CASES_PARTITION, None
        elif case_filter.owner is not None:
            index, partition, used = _BY_OWNER, f"OWNER#{case_filter.owner}", "case_owner"
        elif case_filter.stage is not None:
            index, partition, used = _BY_STAGE, f"STAGE#{case_filter.stage}", "case_stage"
        elif case_filter.template_key is not None:
            index, partition, used = _BY_TEMPLATE, f"TEMPLATE#{case_filter.template_key}", "template_key"
        elif case_filter.status is not None:
            index, partition, used = _BY_STATUS, f"STATUS#{case_filter.status.value}", "case_status"
        else:
            index, partition, used = _BY_UPDATED, CASES_PARTITION, None
        return _ListPlan(
            index=index,
            partition=partition,
            filters={name: value for name, value in filters.items() if value is not None and name != used},
            wanted={name: value for name, value in filters.items() if value is not None},
        )

    def list_cases(self, case_filter: CaseFilter, *, limit: int, cursor: str | None) -> Page[CaseSnapshot]:
        plan = self._plan(case_filter)
        partition_name, sort_name = plan.index.key.partition, str(plan.index.key.sort)
        condition = f"{partition_name} = :pk"
        values: dict[str, Any] = {":pk": _s(plan.partition)}
        since = case_filter.updated_since.astimezone(UTC).isoformat() if case_filter.updated_since else None
        if since is not None and plan.index is _BY_UPDATED:
            condition += f" AND {sort_name} >= :since"
            values[":since"] = _s(since)
        query: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": plan.index.name,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": False,
            "Limit": limit,
            "ProjectionExpression": "case_id",
        }
        if plan.filters:
            query["FilterExpression"] = " AND ".join(f"{name} = :{name}" for name in plan.filters)
            values.update({f":{name}": _s(value) for name, value in plan.filters.items()})
        start = decode_cursor(
            cursor, expected={partition_name: plan.partition}, key_names={"pk", "sk", partition_name, sort_name}
        )
        response = query_page(self._client, query, start)
        # The index is a moment behind the cases: a case that changed since is held to the filter again.
        cases = [
            case
            for case in self._cases_by_id([item["case_id"]["S"] for item in response["Items"]])
            if all(self._filter_attributes(case)[name]["S"] == value for name, value in plan.wanted.items())
            and (since is None or case.updated_at.astimezone(UTC).isoformat() >= since)
        ]
        return Page(items=cases, next_cursor=encode_cursor(response.get("LastEvaluatedKey")))

    def _cases_by_id(self, case_ids: list[str]) -> list[CaseSnapshot]:
        if not case_ids:
            return []
        found: dict[str, CaseSnapshot] = {}
        keys: list[Any] = [{"pk": _s(f"CASE#{case_id}"), "sk": _s("CASE")} for case_id in case_ids]
        for _ in range(_BATCH_GET_ATTEMPTS):
            request: dict[str, Any] = {self._table: {"Keys": keys, "ProjectionExpression": "doc"}}
            response = self._client.batch_get_item(RequestItems=request)
            for item in response["Responses"].get(self._table, []):
                case = CaseSnapshot.model_validate_json(item["doc"]["S"])
                found[case.id] = case
            unprocessed: dict[str, Any] = dict(response.get("UnprocessedKeys") or {})
            keys = list(unprocessed.get(self._table, {}).get("Keys", []))
            if not keys:
                return [found[case_id] for case_id in case_ids if case_id in found]
        raise UnavailableError("The cases could not be read; retry.")

    def list_comments(self, case_id: str, *, limit: int, cursor: str | None) -> Page[Comment]:
        return self._documents_under(f"CASE#{case_id}", COMMENT_PREFIX, Comment, limit=limit, cursor=cursor)

    def idempotency_claim(self, scope: str) -> Claim | None:
        return read_claim(self._client, self._table, scope)

    def save_claim(self, claim: Claim) -> None:
        write_claim(self._client, self._table, claim)

    def case_and_claim(self, case_id: str, scope: str) -> tuple[CaseSnapshot | None, Claim | None]:
        item, claim = self._with_claim({"pk": _s(f"CASE#{case_id}"), "sk": _s("CASE")}, scope)
        return (CaseSnapshot.model_validate_json(item["doc"]["S"]) if item else None), claim

    def latest_template_and_claim(self, key: str, scope: str) -> tuple[PublishedTemplate | None, Claim | None]:
        item, claim = self._with_claim({"pk": _s(TEMPLATES_PARTITION), "sk": _s(key)}, scope)
        template = self._remember(PublishedTemplate.model_validate_json(item["doc"]["S"])) if item else None
        return template, claim

    def _with_claim(self, key: dict[str, Any], scope: str) -> tuple[dict[str, Any] | None, Claim | None]:
        """An item and the claim on a request's key in one consistent read: a retry that comes at once must
        find the claim its first attempt wrote."""
        wanted = claim_key(scope)
        keys: list[Any] = [key, wanted]
        found: list[dict[str, Any]] = []
        for _ in range(_BATCH_GET_ATTEMPTS):
            response = self._client.batch_get_item(RequestItems={self._table: {"Keys": keys, "ConsistentRead": True}})
            found += list(response["Responses"].get(self._table, []))
            unprocessed: dict[str, Any] = dict(response.get("UnprocessedKeys") or {})
            keys = list(unprocessed.get(self._table, {}).get("Keys", []))
            if not keys:
                item = next((each for each in found if each["pk"] == key["pk"] and each["sk"] == key["sk"]), None)
                earlier = next((each for each in found if each["pk"] == wanted["pk"]), None)
                return item, claim_from_item(scope, earlier)
        raise UnavailableError("The case could not be read; retry.")
