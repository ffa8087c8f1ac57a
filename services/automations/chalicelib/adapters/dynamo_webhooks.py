"""Webhook subscriptions and deliveries in the automations table.

Items: subscriptions at pk=WEBHOOKS, sk=<subscription id>; deliveries at pk=DELIVERY#<subscription id>,
sk=<delivery id>. A pending delivery is on the sparse `by_due` index under DUE#DELIVERY, sorted by when
it is due; a dead one under DEAD#DELIVERY, sorted by when it died, so the sweep and the dead-letter list
are Queries. Every write puts the whole item, so a delivery leaves the index it no longer belongs to.
"""

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from caseline_common.adapters.dynamo_claims import read_claim, transact_with_claim
from caseline_common.errors import UnavailableError
from caseline_common.idempotency import Claim
from caseline_common.pagination import Page, decode_cursor, encode_cursor, query_page
from caseline_common.resources import AUTOMATIONS_TABLE

from ..domain.webhooks import Delivery, DeliveryStatus, Subscription

if TYPE_CHECKING:
    from types_boto3_dynamodb.client import DynamoDBClient

SUBSCRIPTIONS_PARTITION = "WEBHOOKS"
DELIVERY_PREFIX = "DELIVERY#"
DUE_PARTITION = "DUE#DELIVERY"
DEAD_PARTITION = "DEAD#DELIVERY"
# Finished deliveries (succeeded, or dead and not replayed) stay in the log this long.
FINISHED_RETENTION = timedelta(days=30)
_BY_DUE = AUTOMATIONS_TABLE.indexes[0]
_BATCH_WRITE_SIZE = 25
_BATCH_WRITE_ATTEMPTS = 5


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def _stamp(moment: datetime) -> str:
    """Fixed width, so index sort keys order by time."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _is_condition_failure(error: ClientError) -> bool:
    return error.response["Error"]["Code"] == "ConditionalCheckFailedException"


class DynamoWebhookStore:
    def __init__(self, client: "DynamoDBClient", table_name: str) -> None:
        self._client = client
        self._table = table_name

    # subscriptions

    def create_subscription(self, subscription: Subscription, claim: Claim | None) -> None:
        item = self._subscription_item(subscription)
        if not self._put(item, claim, ConditionExpression="attribute_not_exists(pk)"):
            raise RuntimeError(f"subscription id {subscription.id} collided")

    def save_subscription(
        self, subscription: Subscription, *, expected_revision: int, claim: Claim | None = None
    ) -> bool:
        return self._put_if_revision(self._subscription_item(subscription), expected_revision, claim)

    def claim(self, scope: str) -> Claim | None:
        return read_claim(self._client, self._table, scope)

    def get_subscription(self, subscription_id: str) -> Subscription | None:
        item = self._get(SUBSCRIPTIONS_PARTITION, subscription_id)
        return Subscription.model_validate_json(item["doc"]["S"]) if item else None

    def list_subscriptions(self, *, limit: int, cursor: str | None) -> Page[Subscription]:
        query: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": _s(SUBSCRIPTIONS_PARTITION)},
            "Limit": limit,
        }
        start = decode_cursor(cursor, expected={"pk": SUBSCRIPTIONS_PARTITION}, key_names={"pk", "sk"})
        response = query_page(self._client, query, start)
        return Page(
            items=[Subscription.model_validate_json(item["doc"]["S"]) for item in response["Items"]],
            next_cursor=encode_cursor(response.get("LastEvaluatedKey")),
        )

    def delete_subscription(self, subscription_id: str) -> bool:
        # The log goes first, so a deletion that fails half-way can be repeated. A delivery started meanwhile
        # outlives it: the sweep removes it if pending, its retention if finished.
        self._delete_partition(f"{DELIVERY_PREFIX}{subscription_id}")
        removed = self._client.delete_item(
            TableName=self._table,
            Key={"pk": _s(SUBSCRIPTIONS_PARTITION), "sk": _s(subscription_id)},
            ReturnValues="ALL_OLD",
        ).get("Attributes")
        return bool(removed)

    @staticmethod
    def _subscription_item(subscription: Subscription) -> dict[str, Any]:
        return {
            "pk": _s(SUBSCRIPTIONS_PARTITION),
            "sk": _s(subscription.id),
            "revision": _n(subscription.revision),
            "doc": _s(subscription.model_dump_json()),
        }

    # deliveries

    def create_delivery(self, delivery: Delivery) -> bool:
        try:
            self._client.put_item(
                TableName=self._table,
                Item=self._delivery_item(delivery),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            if _is_condition_failure(error):
                return False
            raise
        return True

    def save_delivery(self, delivery: Delivery, *, expected_revision: int, claim: Claim | None = None) -> bool:
        return self._put_if_revision(self._delivery_item(delivery), expected_revision, claim)

    def remove_delivery(self, delivery: Delivery) -> None:
        self._client.delete_item(
            TableName=self._table,
            Key={"pk": _s(f"{DELIVERY_PREFIX}{delivery.subscription_id}"), "sk": _s(delivery.id)},
        )

    def get_delivery(self, subscription_id: str, delivery_id: str) -> Delivery | None:
        item = self._get(f"{DELIVERY_PREFIX}{subscription_id}", delivery_id)
        return Delivery.model_validate_json(item["doc"]["S"]) if item else None

    def delivery_and_subscription(
        self, subscription_id: str, delivery_id: str
    ) -> tuple[Delivery | None, Subscription | None]:
        """One consistent BatchGetItem (its keys again, should DynamoDB leave any unprocessed)."""
        keys: list[Any] = [
            {"pk": _s(f"{DELIVERY_PREFIX}{subscription_id}"), "sk": _s(delivery_id)},
            {"pk": _s(SUBSCRIPTIONS_PARTITION), "sk": _s(subscription_id)},
        ]
        found: dict[str, dict[str, Any]] = {}
        for _ in range(_BATCH_WRITE_ATTEMPTS):
            response = self._client.batch_get_item(RequestItems={self._table: {"Keys": keys, "ConsistentRead": True}})
            for item in response.get("Responses", {}).get(self._table, []):
                found[item["pk"]["S"]] = item
            unprocessed: Any = dict(response.get("UnprocessedKeys") or {}).get(self._table) or {}
            keys = list(unprocessed.get("Keys", []))
            if not keys:
                break
        else:
            raise UnavailableError("The delivery could not be read now.")
        delivery = found.get(f"{DELIVERY_PREFIX}{subscription_id}")
        subscription = found.get(SUBSCRIPTIONS_PARTITION)
        return (
            Delivery.model_validate_json(delivery["doc"]["S"]) if delivery else None,
            Subscription.model_validate_json(subscription["doc"]["S"]) if subscription else None,
        )

    def list_deliveries(
        self, subscription_id: str, *, status: DeliveryStatus | None, limit: int, cursor: str | None
    ) -> Page[Delivery]:
        """Newest first (ids are ULIDs of the event's time). With a status, a page may hold fewer than
        `limit` while the cursor still walks every match."""
        partition = f"{DELIVERY_PREFIX}{subscription_id}"
        query: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": _s(partition)},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if status is not None:
            query["FilterExpression"] = "delivery_status = :status"
            query["ExpressionAttributeValues"][":status"] = _s(status.value)
        start = decode_cursor(cursor, expected={"pk": partition}, key_names={"pk", "sk"})
        return self._delivery_page(query, start)

    def dead_deliveries(self, *, limit: int, cursor: str | None) -> Page[Delivery]:
        query: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": _BY_DUE.name,
            "KeyConditionExpression": "gsi1pk = :dead",
            "ExpressionAttributeValues": {":dead": _s(DEAD_PARTITION)},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        start = decode_cursor(cursor, expected={"gsi1pk": DEAD_PARTITION}, key_names={"pk", "sk", "gsi1pk", "gsi1sk"})
        return self._delivery_page(query, start)

    def due_deliveries(self, now: datetime, *, limit: int) -> list[Delivery]:
        """Read from the index, so possibly a moment stale: claiming them is conditional on their revision."""
        response = self._client.query(
            TableName=self._table,
            IndexName=_BY_DUE.name,
            KeyConditionExpression="gsi1pk = :due AND gsi1sk < :after",
            # "$" sorts right after the "#" that follows the due time: everything due at or before `now`.
            ExpressionAttributeValues={":due": _s(DUE_PARTITION), ":after": _s(f"{_stamp(now)}$")},
            Limit=limit,
        )
        return [Delivery.model_validate_json(item["doc"]["S"]) for item in response["Items"]]

    def _delivery_page(self, query: dict[str, Any], start: dict[str, Any] | None) -> Page[Delivery]:
        response = query_page(self._client, query, start)
        return Page(
            items=[Delivery.model_validate_json(item["doc"]["S"]) for item in response["Items"]],
            next_cursor=encode_cursor(response.get("LastEvaluatedKey")),
        )

    @staticmethod
    def _delivery_item(delivery: Delivery) -> dict[str, Any]:
        item: dict[str, Any] = {
            "pk": _s(f"{DELIVERY_PREFIX}{delivery.subscription_id}"),
            "sk": _s(delivery.id),
            "revision": _n(delivery.revision),
            "delivery_status": _s(delivery.status.value),
            "doc": _s(delivery.model_dump_json()),
        }
        suffix = f"{delivery.subscription_id}#{delivery.id}"
        if delivery.status is DeliveryStatus.PENDING:
            assert delivery.next_attempt_at is not None
            item["gsi1pk"] = _s(DUE_PARTITION)
            item["gsi1sk"] = _s(f"{_stamp(delivery.next_attempt_at)}#{suffix}")
            return item
        finished_at = delivery.attempts[-1].at if delivery.attempts else delivery.created_at
        item["expires_at"] = _n(int((finished_at + FINISHED_RETENTION).timestamp()))
        if delivery.status is DeliveryStatus.DEAD:
            item["gsi1pk"] = _s(DEAD_PARTITION)
            item["gsi1sk"] = _s(f"{_stamp(finished_at)}#{suffix}")
        return item

    # shared

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        item: dict[str, Any] | None = self._client.get_item(
            TableName=self._table, Key={"pk": _s(pk), "sk": _s(sk)}, ConsistentRead=True
        ).get("Item")
        return item

    def _put_if_revision(self, item: dict[str, Any], expected_revision: int, claim: Claim | None) -> bool:
        return self._put(
            item,
            claim,
            ConditionExpression="revision = :expected",
            ExpressionAttributeValues={":expected": _n(expected_revision)},
        )

    def _put(self, item: dict[str, Any], claim: Claim | None, **condition: Any) -> bool:
        """Puts the item if its condition holds (else False); with a claim, in one transaction with it."""
        put = {"TableName": self._table, "Item": item, **condition}
        if claim is not None:
            return not transact_with_claim(self._client, self._table, [{"Put": put}], claim)
        try:
            self._client.put_item(**put)
        except ClientError as error:
            if _is_condition_failure(error):
                return False
            raise
        return True

    def _delete_partition(self, partition: str) -> None:
        query: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": _s(partition)},
            "ProjectionExpression": "pk, sk",
        }
        while True:
            response = self._client.query(**query)
            keys = response["Items"]
            for first in range(0, len(keys), _BATCH_WRITE_SIZE):
                self._delete_keys(keys[first : first + _BATCH_WRITE_SIZE])
            if "LastEvaluatedKey" not in response:
                return
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def _delete_keys(self, keys: list[dict[str, Any]]) -> None:
        requests: list[Any] = [{"DeleteRequest": {"Key": key}} for key in keys]
        for _ in range(_BATCH_WRITE_ATTEMPTS):
            response = self._client.batch_write_item(RequestItems={self._table: requests})
            requests = list(dict(response.get("UnprocessedItems") or {}).get(self._table, []))
            if not requests:
                return
        raise UnavailableError("The webhook's delivery log was not fully removed; delete the webhook again.")
