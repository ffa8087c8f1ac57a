"""The DynamoDB timeline adapter's time filters: DynamoDB compares the ISO strings, so both sides are in UTC."""

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, cast

from caseline_common.chain import GENESIS_HASH, link_event
from caseline_common.envelope import Actor, ActorKind, EventEnvelope
from service_modules import loaded_module

if TYPE_CHECKING:
    from types_boto3_dynamodb.client import DynamoDBClient

    from services.timeline.chalicelib.adapters import dynamo_timeline
    from services.timeline.chalicelib.domain import timeline as domain
else:
    dynamo_timeline = loaded_module("timeline", "chalicelib.adapters.dynamo_timeline")
    domain = loaded_module("timeline", "chalicelib.domain.timeline")

PARIS_SUMMER = timezone(timedelta(hours=2))


class RecordingClient:
    def __init__(self) -> None:
        self.queries: list[dict[str, Any]] = []
        self.puts: list[dict[str, Any]] = []

    def query(self, **kwargs: Any) -> dict[str, Any]:
        self.queries.append(kwargs)
        return {"Items": []}

    def get_item(self, **_kwargs: Any) -> dict[str, Any]:
        return {}  # nothing stored yet

    def put_item(self, *, Item: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
        self.puts.append(Item)
        return {}


def test_since_and_until_are_compared_in_utc() -> None:
    client = RecordingClient()
    repository = dynamo_timeline.DynamoTimelineRepository(cast("DynamoDBClient", client), "timeline")
    window = domain.TimelineFilter(
        since=datetime(2025, 3, 14, 10, 0, tzinfo=PARIS_SUMMER),
        until=datetime(2025, 3, 14, 23, 30, tzinfo=PARIS_SUMMER),
    )

    repository.page("case-1", window, order=domain.Order.OLDEST_FIRST, limit=10, cursor=None)

    values = client.queries[0]["ExpressionAttributeValues"]
    assert values[":since"] == {"S": "2025-03-14T08:00:00+00:00"}
    assert values[":until"] == {"S": "2025-03-14T21:30:00+00:00"}
    assert "occurred_at >= :since" in client.queries[0]["FilterExpression"]


def test_the_time_an_event_occurred_is_stored_in_utc() -> None:
    client = RecordingClient()
    repository = dynamo_timeline.DynamoTimelineRepository(cast("DynamoDBClient", client), "timeline")
    event = EventEnvelope.new(
        tenant_id="acme",
        case_id="case-1",
        type="case.opened",
        actor=Actor(kind=ActorKind.USER, id="user-1"),
        correlation_id="corr-1",
        occurred_at=datetime(2025, 3, 14, 1, 0, tzinfo=PARIS_SUMMER),
    )
    link = link_event(
        case_id="case-1", seq=1, previous_hash=GENESIS_HASH, event=event, recorded_at=datetime.now(UTC), salt="00" * 16
    )

    repository.append(link, event, None, None)

    [link_put] = [item for item in client.puts if item["sk"]["S"] == "LINK#000000000001"]
    assert link_put["occurred_at"] == {"S": "2025-03-13T23:00:00+00:00"}
    assert link.record["event"]["occurred_at"] == "2025-03-14T01:00:00+02:00"  # the hashed event keeps its offset


def test_a_batch_is_appended_case_by_case_in_the_order_of_the_versions_its_events_left() -> None:
    """SQS hands a batch out in any order; the consumer appends each case's events in version order."""
    handlers = loaded_module("timeline", "chalicelib.handlers")

    def record(case_id: str, version: int | None) -> dict[str, Any]:
        detail: dict[str, Any] = {"case_id": case_id, "occurred_at": "2027-01-04T09:00:00Z"}
        if version is not None:
            detail["case"] = {"version": version}
        return {"messageId": f"{case_id}-{version}", "body": json.dumps({"detail": detail})}

    shuffled = [record("b", 2), record("a", 3), record("b", 1), record("a", 1), record("a", 2), record("c", None)]
    unreadable = {"messageId": "bad", "body": "not json"}

    ordered = sorted([*shuffled, unreadable], key=handlers._chain_order)

    assert [each["messageId"] for each in ordered] == ["bad", "a-1", "a-2", "a-3", "b-1", "b-2", "c-None"]
