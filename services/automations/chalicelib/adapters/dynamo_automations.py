"""The automations table: published templates and who may read each case (from events), runs, timers and
sent-mail markers.

Items keep their pydantic document in `doc`. Pending timers carry gsi1pk `DUE#TIMER` and a gsi1sk that
starts with their due time, so the sweep queries what is due and nothing else.
"""

import contextlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from caseline_common.contracts import PublishedTemplate
from caseline_common.pagination import Page, decode_cursor, encode_cursor, query_page

from ..domain.members import CaseMembers
from ..domain.runs import AutomationRun
from ..domain.timers import Timer

if TYPE_CHECKING:
    from types_boto3_dynamodb.client import DynamoDBClient

DUE_TIMERS = "DUE#TIMER"
RUN_RETENTION_SECONDS = 400 * 24 * 3600
_MEMBERS_REMEMBERED = 10_000


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _stamp(moment: datetime) -> str:
    """UTC and fixed width, so that comparing the text compares the times."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _due_key(timer: Timer) -> str:
    return f"{_stamp(timer.due_at)}#{timer.case_id}#{timer.timer_id}"


class DynamoAutomationsStore:
    def __init__(self, client: "DynamoDBClient", table_name: str) -> None:
        self._client = client
        self._table = table_name
        self._templates: dict[tuple[str, int], PublishedTemplate] = {}
        # Per case, the newest version this container put members for (or saw refused: a version as new or newer
        # was stored). Putting one no newer would be refused, so it is not sent.
        self._members_at: dict[str, int] = {}

    # templates

    def save_template(self, template: PublishedTemplate) -> None:
        key = template.definition.key
        self._client.put_item(
            TableName=self._table,
            Item={
                "pk": _s(f"TEMPLATE#{key}"),
                "sk": _s(f"V#{template.version:06d}"),
                "doc": _s(template.model_dump_json()),
            },
        )

    def template(self, key: str, version: int) -> PublishedTemplate | None:
        """Published versions never change, so each is read once per container."""
        cached = self._templates.get((key, version))
        if cached is not None:
            return cached
        item = self._client.get_item(
            TableName=self._table, Key={"pk": _s(f"TEMPLATE#{key}"), "sk": _s(f"V#{version:06d}")}
        ).get("Item")
        if item is None:
            return None
        template = PublishedTemplate.model_validate_json(item["doc"]["S"])
        if len(self._templates) < 256:
            self._templates[(key, version)] = template
        return template

    def latest_template(self, key: str) -> PublishedTemplate | None:
        items = self._client.query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :v)",
            ExpressionAttributeValues={":pk": _s(f"TEMPLATE#{key}"), ":v": _s("V#")},
            ScanIndexForward=False,
            Limit=1,
        )["Items"]
        return PublishedTemplate.model_validate_json(items[0]["doc"]["S"]) if items else None

    # who may read each case's runs, from the newest case version seen

    def save_members(self, members: CaseMembers) -> None:
        """Only a newer case version replaces what is kept: events arrive in any order. Every event of a case
        carries its members, and several carry the same version (a change's event, the runs it sets off, its
        comments), so a version this container put already is not put again."""
        if self._members_at.get(members.case_id, 0) >= members.version:
            return
        with contextlib.suppress(self._client.exceptions.ConditionalCheckFailedException):
            self._client.put_item(
                TableName=self._table,
                Item={
                    "pk": _s(f"CASE#{members.case_id}"),
                    "sk": _s("MEMBERS"),
                    "version": {"N": str(members.version)},
                    "doc": _s(members.model_dump_json()),
                },
                ConditionExpression="attribute_not_exists(pk) OR version < :version",
                ExpressionAttributeValues={":version": {"N": str(members.version)}},
            )
        # Put, or refused for a version as new or newer: either way what is stored is at least this version.
        if len(self._members_at) >= _MEMBERS_REMEMBERED:
            self._members_at.clear()
        self._members_at[members.case_id] = members.version

    def members(self, case_id: str) -> CaseMembers | None:
        item = self._client.get_item(TableName=self._table, Key={"pk": _s(f"CASE#{case_id}"), "sk": _s("MEMBERS")}).get(
            "Item"
        )
        return CaseMembers.model_validate_json(item["doc"]["S"]) if item else None

    # runs

    def save_run(self, run: AutomationRun, expires_at: int) -> None:
        self._client.put_item(
            TableName=self._table,
            Item={
                "pk": _s(f"RUNS#{run.case_id}"),
                "sk": _s(run.run_id),
                "doc": _s(run.model_dump_json()),
                "expires_at": {"N": str(expires_at)},
            },
        )

    def runs(self, case_id: str, *, limit: int, cursor: str | None) -> Page[AutomationRun]:
        partition = f"RUNS#{case_id}"
        query: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": _s(partition)},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        start = decode_cursor(cursor, expected={"pk": partition}, key_names={"pk", "sk"})
        response = query_page(self._client, query, start)
        return Page(
            items=[AutomationRun.model_validate_json(item["doc"]["S"]) for item in response["Items"]],
            next_cursor=encode_cursor(response.get("LastEvaluatedKey")),
        )

    # timers

    def timers(self, case_id: str) -> list[Timer]:
        items = self._client.query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": _s(f"TIMER#{case_id}")},
        )["Items"]
        return [Timer.model_validate_json(item["doc"]["S"]) for item in items]

    def start_timer(self, timer: Timer) -> None:
        """Once per timer id: starting it again (a repeated event) changes nothing."""
        with contextlib.suppress(self._client.exceptions.ConditionalCheckFailedException):
            self._client.put_item(
                TableName=self._table,
                Item={
                    "pk": _s(f"TIMER#{timer.case_id}"),
                    "sk": _s(timer.timer_id),
                    "doc": _s(timer.model_dump_json()),
                    "gsi1pk": _s(DUE_TIMERS),
                    "gsi1sk": _s(_due_key(timer)),
                },
                ConditionExpression="attribute_not_exists(pk)",
            )

    def cancel_timer(self, timer: Timer) -> None:
        self._client.delete_item(
            TableName=self._table, Key={"pk": _s(f"TIMER#{timer.case_id}"), "sk": _s(timer.timer_id)}
        )

    def due_timers(self, now: datetime, *, limit: int = 100) -> list[Timer]:
        items = self._client.query(
            TableName=self._table,
            IndexName="by_due",
            KeyConditionExpression="gsi1pk = :due AND gsi1sk <= :now",
            ExpressionAttributeValues={":due": _s(DUE_TIMERS), ":now": _s(f"{_stamp(now)}~")},
            Limit=limit,
        )["Items"]
        return [Timer.model_validate_json(item["doc"]["S"]) for item in items]

    def mark_fired(self, timer: Timer, fired_at: datetime) -> None:
        """Off the due index, kept on record; only if it is still there (a cancel may have won)."""
        fired = timer.model_copy(update={"fired_at": fired_at})
        with contextlib.suppress(self._client.exceptions.ConditionalCheckFailedException):
            self._client.update_item(
                TableName=self._table,
                Key={"pk": _s(f"TIMER#{timer.case_id}"), "sk": _s(timer.timer_id)},
                UpdateExpression="SET doc = :doc REMOVE gsi1pk, gsi1sk",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":doc": _s(fired.model_dump_json())},
            )

    # e-mail markers: a rule's e-mail is sent at most once per run and action

    def claim_mail(self, mail_id: str, expires_at: int) -> bool:
        try:
            self._client.put_item(
                TableName=self._table,
                Item={"pk": _s(f"MAIL#{mail_id}"), "sk": _s("MAIL"), "expires_at": {"N": str(expires_at)}},
                ConditionExpression="attribute_not_exists(pk)",
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def release_mail(self, mail_id: str) -> None:
        self._client.delete_item(TableName=self._table, Key={"pk": _s(f"MAIL#{mail_id}"), "sk": _s("MAIL")})
