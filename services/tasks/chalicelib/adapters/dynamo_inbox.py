"""The tasks table: stored templates, and per case a head (the version its entries stand at) and one item per task.

An entry in the queues carries the keys of the indexes that list it: by_assignee (`ASSIGNEE#<subject>#<status>`),
by_role (`ROLE#<role>#<status>`) and by_status (`STATUS#<status>`), each sorted by `<due>#<case>#<task>` where an
undated task's `~` sorts after every date; so a page is one Query, soonest due (overdue) first. `readers` is a
string set the Query filters on with the caller's terms."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from caseline_common.contracts import CaseStatus, TaskStatus, TemplateDefinition
from caseline_common.errors import ConcurrentWriteError
from caseline_common.pagination import count_items, decode_cursor, encode_cursor, query_page

from ..domain.inbox import InboxChange, InboxEntry, StoredCase
from ..service import TaskFilter

if TYPE_CHECKING:
    from types_boto3_dynamodb.client import DynamoDBClient

_HEAD, _TASK, _ROLES = "CASE", "TASK#", "ROLES"
_UNDATED = "~"
_TEMPLATE_CACHE_SIZE = 256
_INDEXES = {"gsi1pk": "by_assignee", "gsi2pk": "by_role", "gsi3pk": "by_status"}
_TRANSACTION_ITEMS = 100  # DynamoDB's limit per TransactWriteItems
# A count reads at most this many pages of its index (1 MB each, thousands of tasks), so a badge costs a bounded
# number of calls; past it the count says it is not exact.
MAX_COUNT_PAGES = 5


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def _case_pk(case_id: str) -> str:
    return f"CASE#{case_id}"


def _moment(value: datetime) -> str:
    """A fixed-width UTC form, so that moments compare as strings do."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _entry_item(entry: InboxEntry) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": _s(_case_pk(entry.case_id)),
        "sk": _s(f"{_TASK}{entry.task_id}"),
        "case_id": _s(entry.case_id),
        "task_id": _s(entry.task_id),
        "title": _s(entry.title),
        "stage": _s(entry.stage),
        "status": _s(entry.status),
        "required": {"BOOL": entry.required},
        "template_key": _s(entry.template_key),
        "case_title": _s(entry.case_title),
        "case_status": _s(entry.case_status),
        "case_version": _n(entry.case_version),
        "readers": {"SS": sorted(entry.readers)},
    }
    for name, value in (("assignee", entry.assignee), ("assignee_role", entry.assignee_role)):
        if value:
            item[name] = _s(value)
    if entry.due_at is not None:
        item["due_at"] = _s(_moment(entry.due_at))
    if entry.queued:
        order = f"{item['due_at']['S'] if entry.due_at else _UNDATED}#{entry.case_id}#{entry.task_id}"
        item |= {"gsi3pk": _s(f"STATUS#{entry.status}"), "gsi3sk": _s(order)}
        if entry.assignee:
            item |= {"gsi1pk": _s(f"ASSIGNEE#{entry.assignee}#{entry.status}"), "gsi1sk": _s(order)}
        if entry.assignee_role:
            item |= {"gsi2pk": _s(f"ROLE#{entry.assignee_role}#{entry.status}"), "gsi2sk": _s(order)}
    return item


def _entry(item: dict[str, Any]) -> InboxEntry:
    def text(name: str) -> str | None:
        return item[name]["S"] if name in item else None

    due = text("due_at")
    return InboxEntry(
        case_id=item["case_id"]["S"],
        task_id=item["task_id"]["S"],
        title=item["title"]["S"],
        stage=item["stage"]["S"],
        status=TaskStatus(item["status"]["S"]),
        required=item["required"]["BOOL"],
        assignee=text("assignee"),
        assignee_role=text("assignee_role"),
        due_at=datetime.fromisoformat(due) if due else None,
        template_key=item["template_key"]["S"],
        case_title=item["case_title"]["S"],
        case_status=CaseStatus(item["case_status"]["S"]),
        case_version=int(item["case_version"]["N"]),
        readers=frozenset(item["readers"]["SS"]),
    )


class _Expression:
    """A Query's key condition and filter, with their values, built term by term."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.filters: list[str] = []
        self.names: dict[str, str] = {}
        self.values: dict[str, Any] = {}

    def value(self, value: str) -> str:
        placeholder = f":v{len(self.values)}"
        self.values[placeholder] = _s(value)
        return placeholder

    def name(self, name: str) -> str:
        self.names[f"#{name}"] = name
        return f"#{name}"

    def key(self, condition: str) -> None:
        self.keys.append(condition)

    def filter(self, condition: str) -> None:
        self.filters.append(condition)

    def request(self) -> dict[str, Any]:
        request: dict[str, Any] = {
            "KeyConditionExpression": " AND ".join(self.keys),
            "ExpressionAttributeValues": self.values,
        }
        if self.filters:
            request["FilterExpression"] = " AND ".join(self.filters)
        if self.names:
            request["ExpressionAttributeNames"] = self.names
        return request


class DynamoTaskInbox:
    def __init__(self, client: "DynamoDBClient", table: str) -> None:
        self._client = client
        self._table = table
        self._templates: dict[tuple[str, int], TemplateDefinition] = {}

    # templates

    def save_template(self, key: str, version: int, definition: TemplateDefinition) -> None:
        """The definition, and its roles' groups in the one partition that lists every template's roles."""
        roles = {role.key: role.groups for role in definition.roles}
        self._client.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": {
                            "pk": _s(f"TEMPLATE#{key}"),
                            "sk": _s(f"V#{version:06d}"),
                            "doc": _s(definition.model_dump_json()),
                        },
                    }
                },
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": {"pk": _s(_ROLES), "sk": _s(f"{key}#V#{version:06d}"), "roles": _s(json.dumps(roles))},
                    }
                },
            ]
        )

    def template(self, key: str, version: int) -> TemplateDefinition | None:
        """Published versions never change, so each is read once per container."""
        cached = self._templates.get((key, version))
        if cached is not None:
            return cached
        item = self._client.get_item(
            TableName=self._table, Key={"pk": _s(f"TEMPLATE#{key}"), "sk": _s(f"V#{version:06d}")}
        ).get("Item")
        if not item:
            return None
        if len(self._templates) >= _TEMPLATE_CACHE_SIZE:
            self._templates.clear()
        template = self._templates[(key, version)] = TemplateDefinition.model_validate_json(item["doc"]["S"])
        return template

    def role_groups(self) -> list[tuple[str, frozenset[str]]]:
        found: list[tuple[str, frozenset[str]]] = []
        for item in self._all({"KeyConditionExpression": "pk = :pk", "ExpressionAttributeValues": {":pk": _s(_ROLES)}}):
            roles: dict[str, list[str]] = json.loads(item["roles"]["S"])
            found.extend((role, frozenset(groups)) for role, groups in roles.items())
        return found

    # the projection

    def _all(self, query: dict[str, Any]) -> Iterator[dict[str, Any]]:
        request: dict[str, Any] = {"TableName": self._table, **query}
        while True:
            response = self._client.query(**request)
            yield from response["Items"]
            if "LastEvaluatedKey" not in response:
                return
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def stored_case(self, case_id: str) -> StoredCase | None:
        head, entries = None, {}
        for item in self._all(
            {
                "KeyConditionExpression": "pk = :pk",
                "ExpressionAttributeValues": {":pk": _s(_case_pk(case_id))},
                "ConsistentRead": True,
            }
        ):
            if item["sk"]["S"] == _HEAD:
                head = item
            else:
                entry = _entry(item)
                entries[entry.task_id] = entry
        if head is None:
            return None
        return StoredCase(version=int(head["version"]["N"]), revision=int(head["rev"]["N"]), entries=entries)

    def apply(self, change: InboxChange, stored: StoredCase | None) -> None:
        """Moves the head to the change's version and writes the entries that changed, all conditional on the
        head's revision being the one read: a consumer that read the case before another wrote it starts over.
        More changes than a transaction takes go in several, each moving the revision on."""
        pk = _case_pk(change.case_id)
        revision = stored.revision if stored is not None else 0
        head = {"pk": _s(pk), "sk": _s(_HEAD), "version": _n(change.version), "rev": _n(revision + 1)}
        condition: dict[str, Any] = (
            {"ConditionExpression": "attribute_not_exists(pk)"}
            if stored is None
            else {"ConditionExpression": "rev = :rev", "ExpressionAttributeValues": {":rev": _n(revision)}}
        )
        writes: list[Any] = [{"Put": {"TableName": self._table, "Item": _entry_item(entry)}} for entry in change.put]
        writes += [
            {"Delete": {"TableName": self._table, "Key": {"pk": _s(pk), "sk": _s(f"{_TASK}{task_id}")}}}
            for task_id in change.delete
        ]
        try:
            if not writes:
                self._client.put_item(TableName=self._table, Item=head, **condition)
                return
            size = _TRANSACTION_ITEMS - 1
            for start in range(0, len(writes), size):
                put_head: Any = {"Put": {"TableName": self._table, "Item": head, **condition}}
                self._client.transact_write_items(TransactItems=[put_head, *writes[start : start + size]])
                revision += 1
                head = {**head, "rev": _n(revision + 1)}
                condition = {"ConditionExpression": "rev = :rev", "ExpressionAttributeValues": {":rev": _n(revision)}}
        except ClientError as error:
            if _lost_a_race(error):
                raise ConcurrentWriteError(f"The inbox of case {change.case_id} changed meanwhile.") from error
            raise

    # queries

    def page(
        self, query: TaskFilter, readers: frozenset[str] | None, *, limit: int, cursor: str | None
    ) -> tuple[list[InboxEntry], str | None]:
        """One Query: at most `limit` tasks, fewer when the filters leave some out (the cursor then goes on)."""
        request, index_keys = self._query(query, readers)
        start = decode_cursor(
            cursor,
            expected=index_keys,
            key_names={"pk", "sk", *(name.replace("pk", "sk") for name in index_keys), *index_keys},
        )
        response = query_page(self._client, {**request, "Limit": limit}, start)
        return [_entry(item) for item in response["Items"]], encode_cursor(response.get("LastEvaluatedKey"))

    def count(self, query: TaskFilter, readers: frozenset[str] | None) -> tuple[int, bool]:
        request, _ = self._query(query, readers)
        return count_items(self._client, request, MAX_COUNT_PAGES)

    def _query(self, query: TaskFilter, readers: frozenset[str] | None) -> tuple[dict[str, Any], dict[str, str]]:
        """The Query for a filter, and the partition key a cursor of it must name. It reads the narrowest
        partition the filter names: the case's, else the assignee's, the role's, or the status' index; what the
        key does not say is a filter."""
        expression = _Expression()
        if query.case_id is not None:
            keyed, names, partition = "case", ("pk", "sk"), _case_pk(query.case_id)
            expression.key(f"pk = {expression.value(partition)} AND begins_with(sk, {expression.value(_TASK)})")
            expression.filter(f"{expression.name('status')} = {expression.value(query.status)}")
            if query.due_before is not None:
                expression.filter(f"due_at < {expression.value(_moment(query.due_before))}")
        else:
            if query.assignee is not None:
                keyed, names, partition = "assignee", ("gsi1pk", "gsi1sk"), f"ASSIGNEE#{query.assignee}#{query.status}"
            elif query.role is not None:
                keyed, names, partition = "role", ("gsi2pk", "gsi2sk"), f"ROLE#{query.role}#{query.status}"
            else:
                keyed, names, partition = "status", ("gsi3pk", "gsi3sk"), f"STATUS#{query.status}"
            expression.key(f"{names[0]} = {expression.value(partition)}")
            if query.due_before is not None:
                expression.key(f"{names[1]} < {expression.value(_moment(query.due_before))}")
        if query.assignee is not None and keyed != "assignee":
            expression.filter(f"assignee = {expression.value(query.assignee)}")
        if query.role is not None and keyed != "role":
            expression.filter(f"assignee_role = {expression.value(query.role)}")
        if query.template_key is not None:
            expression.filter(f"template_key = {expression.value(query.template_key)}")
        if query.unassigned:
            expression.filter("attribute_not_exists(assignee)")
        if readers is not None:
            terms = " OR ".join(f"contains(readers, {expression.value(term)})" for term in sorted(readers))
            expression.filter(f"({terms})")
        request = {"TableName": self._table, **expression.request()}
        if keyed != "case":
            request["IndexName"] = _INDEXES[names[0]]
        return request, {names[0]: partition}


def _lost_a_race(error: ClientError) -> bool:
    code = error.response["Error"]["Code"]
    if code == "ConditionalCheckFailedException":
        return True
    reasons = error.response.get("CancellationReasons", [])
    return code == "TransactionCanceledException" and any(
        reason.get("Code") in {"ConditionalCheckFailed", "TransactionConflict"} for reason in reasons
    )
