"""The notifications table: per person (`pk` = `PERSON#<subject>`) their preferences (`sk` = `PREFERENCES`) and one
item per notification (`sk` = `N#<event id>#<kind>`; event ids are ULIDs, so a reverse Query is newest first).

An unread notification shown in the app carries the keys of the sparse `by_unread` index (`gsi1pk` =
`UNREAD#<subject>`), which marking it read removes: the bell's count is one Query of that index. `mail` is `pending`
until SES took the notification's e-mail, then `sent`. Notifications expire after `RETENTION_DAYS`."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from caseline_common.pagination import count_items, decode_cursor, encode_cursor, query_page

from ..domain.notifications import Notice, NotificationKind, Preferences
from ..notification_service import Notification

if TYPE_CHECKING:
    from types_boto3_dynamodb.client import DynamoDBClient

RETENTION_DAYS = 90
# The bell counts at most this many pages of the unread index (keys only: thousands each); past it, not exact.
MAX_COUNT_PAGES = 3
_PREFERENCES = "PREFERENCES"
_NOTIFICATION = "N#"


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _pk(subject: str) -> str:
    return f"PERSON#{subject}"


def _sk(notification_id: str) -> str:
    """`<event id>-<kind>` as a sort key; an id of another form names no notification (and no other item)."""
    event_id, _, kind = notification_id.partition("-")
    return f"{_NOTIFICATION}{event_id}#{kind}"


def _unread_pk(subject: str) -> str:
    return f"UNREAD#{subject}"


class DynamoNotifications:
    def __init__(self, client: "DynamoDBClient", table: str, *, clock: Callable[[], datetime]) -> None:
        self._client, self._table, self._clock = client, table, clock

    # preferences

    def preferences(self, subject: str) -> Preferences:
        item = self._client.get_item(TableName=self._table, Key={"pk": _s(_pk(subject)), "sk": _s(_PREFERENCES)}).get(
            "Item"
        )
        return Preferences.model_validate_json(item["doc"]["S"]) if item else Preferences()

    def save_preferences(self, subject: str, preferences: Preferences) -> None:
        item = {"pk": _s(_pk(subject)), "sk": _s(_PREFERENCES), "doc": _s(preferences.model_dump_json())}
        self._client.put_item(TableName=self._table, Item=item)

    # delivery

    def add(self, notice: Notice, *, in_app: bool, mail: bool) -> bool:
        expires = self._clock() + timedelta(days=RETENTION_DAYS)
        item: dict[str, Any] = {
            "pk": _s(_pk(notice.recipient)),
            "sk": _s(_sk(notice.id)),
            "doc": _s(notice.model_dump_json()),
            "in_app": {"BOOL": in_app},
            "expires_at": {"N": str(int(expires.timestamp()))},
        }
        if in_app:
            item |= {"gsi1pk": _s(_unread_pk(notice.recipient)), "gsi1sk": item["sk"]}
        if mail:
            item["mail"] = _s("pending")
        try:
            self._client.put_item(TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)")
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def mail_pending(self, recipient: str, notification_id: str) -> bool:
        item = self._client.get_item(
            TableName=self._table,
            Key={"pk": _s(_pk(recipient)), "sk": _s(_sk(notification_id))},
            ConsistentRead=True,
        ).get("Item")
        return item is not None and item.get("mail", {}).get("S") == "pending"

    def mark_mailed(self, recipient: str, notification_id: str) -> None:
        self._client.update_item(
            TableName=self._table,
            Key={"pk": _s(_pk(recipient)), "sk": _s(_sk(notification_id))},
            UpdateExpression="SET mail = :sent",
            ExpressionAttributeValues={":sent": _s("sent")},
        )

    # what a person reads

    def page(self, recipient: str, *, limit: int, cursor: str | None) -> tuple[list[Notification], str | None]:
        """One Query, newest first; notifications sent by e-mail only are left out (so a page may be short)."""
        partition = _pk(recipient)
        start = decode_cursor(cursor, expected={"pk": partition}, key_names={"pk", "sk"})
        request = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :n)",
            "FilterExpression": "in_app = :shown",
            "ExpressionAttributeValues": {":pk": _s(partition), ":n": _s(_NOTIFICATION), ":shown": {"BOOL": True}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        response = query_page(self._client, request, start)
        return [_notification(item) for item in response["Items"]], encode_cursor(response.get("LastEvaluatedKey"))

    def unread(self, recipient: str) -> tuple[int, bool]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": "by_unread",
            "KeyConditionExpression": "gsi1pk = :pk",
            "ExpressionAttributeValues": {":pk": _s(_unread_pk(recipient))},
        }
        return count_items(self._client, request, MAX_COUNT_PAGES)

    def mark_read(self, recipient: str, notification_id: str) -> bool:
        """Conditional on the notification being there, so an unknown id answers 404 rather than creating one."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"pk": _s(_pk(recipient)), "sk": _s(_sk(notification_id))},
                UpdateExpression="SET #read = :true REMOVE gsi1pk, gsi1sk",
                ConditionExpression="attribute_exists(pk) AND in_app = :true",
                ExpressionAttributeNames={"#read": "read"},
                ExpressionAttributeValues={":true": {"BOOL": True}},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def mark_all_read(self, recipient: str) -> int:
        """Every unread notification, a page of the unread index at a time."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": "by_unread",
            "KeyConditionExpression": "gsi1pk = :pk",
            "ExpressionAttributeValues": {":pk": _s(_unread_pk(recipient))},
        }
        marked = 0
        while True:
            response = self._client.query(**request)
            for item in response["Items"]:
                self._client.update_item(
                    TableName=self._table,
                    Key={"pk": item["pk"], "sk": item["sk"]},
                    UpdateExpression="SET #read = :true REMOVE gsi1pk, gsi1sk",
                    ExpressionAttributeNames={"#read": "read"},
                    ExpressionAttributeValues={":true": {"BOOL": True}},
                )
                marked += 1
            if "LastEvaluatedKey" not in response:
                return marked
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def _notification(item: dict[str, Any]) -> Notification:
    notice = Notice.model_validate_json(item["doc"]["S"])
    return Notification(
        id=notice.id,
        kind=NotificationKind(notice.kind),
        event_type=notice.event_type,
        case_id=notice.case_id,
        case_title=notice.case_title,
        task_id=notice.task_id,
        summary=notice.summary,
        actor=notice.actor,
        occurred_at=notice.occurred_at.astimezone(UTC),
        read=item.get("read", {}).get("BOOL", False),
    )
