"""Saved views in the search table.

    VIEW#<id>            VIEW               the view (its version is what If-Match checks)
    VIEW#<id>            AUDIENCE#<group>   a copy per group it is shared with; by_audience: AUDIENCE#<group>
    VIEWS#<owner>        VIEW#<id>          a copy in the owner's list
    VIEWS#<owner>        COUNT              how many views the owner has
    AUDIENCE#<group>     COUNT              how many views are shared with the group

Each change writes the view, its copies and the counts in one transaction, so a list never shows a copy older or
newer than the view, and the counts keep each list within one Query page however many people write at once.
"""

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from caseline_common.adapters.dynamo_claims import read_claim, transact_with_claim
from caseline_common.idempotency import Claim

from ..domain.views import (
    MAX_VIEWS_PER_AUDIENCE,
    MAX_VIEWS_PER_OWNER,
    AudienceFullError,
    OwnerFullError,
    SavedView,
    StaleViewError,
)

if TYPE_CHECKING:
    from types_boto3_dynamodb.client import DynamoDBClient

AUDIENCE_INDEX = "by_audience"
_VIEW = "VIEW"
_COUNT = "COUNT"


def _view_key(view_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"VIEW#{view_id}"}, "sk": {"S": _VIEW}}


def _share_key(view_id: str, group: str) -> dict[str, Any]:
    return {"pk": {"S": f"VIEW#{view_id}"}, "sk": {"S": f"AUDIENCE#{group}"}}


def _owned_key(view: SavedView) -> dict[str, Any]:
    return {"pk": {"S": f"VIEWS#{view.owner}"}, "sk": {"S": f"VIEW#{view.id}"}}


def _owner_count_key(owner: str) -> dict[str, Any]:
    return {"pk": {"S": f"VIEWS#{owner}"}, "sk": {"S": _COUNT}}


def _audience_count_key(group: str) -> dict[str, Any]:
    return {"pk": {"S": f"AUDIENCE#{group}"}, "sk": {"S": _COUNT}}


def _document(view: SavedView) -> dict[str, Any]:
    return {"view": {"S": view.model_dump_json()}, "version": {"N": str(view.version)}}


def _view_from(item: dict[str, Any]) -> SavedView:
    return SavedView.model_validate_json(item["view"]["S"])


class DynamoViews:
    def __init__(self, client: "DynamoDBClient", table: str) -> None:
        self._client = client
        self._table = table

    # Reads

    def view(self, view_id: str) -> SavedView | None:
        item = self._client.get_item(TableName=self._table, Key=_view_key(view_id), ConsistentRead=True).get("Item")
        return _view_from(item) if item else None

    def owned(self, owner: str) -> list[SavedView]:
        return [
            _view_from(item)
            for item in self._query(
                KeyConditionExpression="pk = :pk AND begins_with(sk, :views)",
                ExpressionAttributeValues={":pk": {"S": f"VIEWS#{owner}"}, ":views": {"S": "VIEW#"}},
            )
        ]

    def shared_with(self, group: str) -> list[SavedView]:
        return [
            _view_from(item)
            for item in self._query(
                IndexName=AUDIENCE_INDEX,
                KeyConditionExpression="gsi1pk = :audience",
                ExpressionAttributeValues={":audience": {"S": f"AUDIENCE#{group}"}},
            )
        ]

    def idempotency_claim(self, scope: str) -> Claim | None:
        return read_claim(self._client, self._table, scope)

    def _query(self, **query: Any) -> Iterator[dict[str, Any]]:
        """Every page; the limits keep each list to one."""
        request: dict[str, Any] = {"TableName": self._table, **query}
        while True:
            page = self._client.query(**request)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # Writes

    def create(self, view: SavedView, claim: Claim | None) -> None:
        writes = [
            self._put(_view_key(view.id), view, condition="attribute_not_exists(pk)"),
            self._put(_owned_key(view), view),
            self._count(_owner_count_key(view.owner), +1, at_most=MAX_VIEWS_PER_OWNER),
            *self._shares_added(view, view.shared_with),
        ]
        failed = transact_with_claim(self._client, self._table, writes, claim)
        if failed is not None:
            raise self._refusal(failed.positions, writes, view)

    def replace(self, current: SavedView, new: SavedView) -> None:
        kept = [group for group in new.shared_with if group in current.shared_with]
        writes = [
            self._put(_view_key(new.id), new, condition="version = :read", read=current.version),
            self._put(_owned_key(new), new),
            *(self._put(_share_key(new.id, group), new, audience=group) for group in kept),
            *self._shares_added(new, [group for group in new.shared_with if group not in current.shared_with]),
            *self._shares_removed(current, [group for group in current.shared_with if group not in new.shared_with]),
        ]
        failed = transact_with_claim(self._client, self._table, writes, None)
        if failed is not None:
            raise self._refusal(failed.positions, writes, new)

    def delete(self, current: SavedView) -> None:
        writes = [
            {
                "Delete": {
                    "TableName": self._table,
                    "Key": _view_key(current.id),
                    "ConditionExpression": "version = :read",
                    "ExpressionAttributeValues": {":read": {"N": str(current.version)}},
                }
            },
            {"Delete": {"TableName": self._table, "Key": _owned_key(current)}},
            self._count(_owner_count_key(current.owner), -1),
            *self._shares_removed(current, current.shared_with),
        ]
        if transact_with_claim(self._client, self._table, writes, None) is not None:
            raise StaleViewError(current.id)

    def _put(
        self,
        key: dict[str, Any],
        view: SavedView,
        *,
        audience: str | None = None,
        condition: str | None = None,
        read: int | None = None,
    ) -> dict[str, Any]:
        item = {**key, **_document(view)}
        if audience is not None:
            item |= {"gsi1pk": {"S": f"AUDIENCE#{audience}"}, "gsi1sk": {"S": f"VIEW#{view.id}"}}
        put: dict[str, Any] = {"TableName": self._table, "Item": item}
        if condition is not None:
            put["ConditionExpression"] = condition
        if read is not None:
            put["ExpressionAttributeValues"] = {":read": {"N": str(read)}}
        return {"Put": put}

    def _count(self, key: dict[str, Any], change: int, *, at_most: int | None = None) -> dict[str, Any]:
        update: dict[str, Any] = {
            "TableName": self._table,
            "Key": key,
            "UpdateExpression": "ADD n :change",
            "ExpressionAttributeValues": {":change": {"N": str(change)}},
        }
        if at_most is not None:
            update["ConditionExpression"] = "attribute_not_exists(n) OR n < :most"
            update["ExpressionAttributeValues"][":most"] = {"N": str(at_most)}
        return {"Update": update}

    def _shares_added(self, view: SavedView, groups: list[str]) -> Iterator[dict[str, Any]]:
        for group in groups:
            yield self._put(_share_key(view.id, group), view, audience=group)
            yield self._count(_audience_count_key(group), +1, at_most=MAX_VIEWS_PER_AUDIENCE)

    def _shares_removed(self, view: SavedView, groups: list[str]) -> Iterator[dict[str, Any]]:
        for group in groups:
            yield {"Delete": {"TableName": self._table, "Key": _share_key(view.id, group)}}
            yield self._count(_audience_count_key(group), -1)

    @staticmethod
    def _refusal(positions: set[int], writes: list[dict[str, Any]], view: SavedView) -> Exception:
        """What the failed conditions of a write mean, the view's own first."""
        if 0 in positions:
            return StaleViewError(view.id)
        for position in sorted(positions):
            key = writes[position].get("Update", {}).get("Key")
            if key == _owner_count_key(view.owner):
                return OwnerFullError(view.owner)
            if key is not None and key["pk"]["S"].startswith("AUDIENCE#"):
                return AudienceFullError(key["pk"]["S"].removeprefix("AUDIENCE#"))
        return StaleViewError(view.id)
