"""The timeline stays complete, duplicate-free and verifiable when delivery misbehaves.

30 cases x 15 events go through the local stack's real pumps (bus -> SQS -> consumer) while the timeline
consumer fails 20% of the messages it is handed (half before doing anything, half after appending: a crash
between the write and the acknowledgement), every event is published twice, and the publishing order is
shuffled.
"""

import random
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

import pytest
from caseline_common.envelope import Actor, ActorKind, EventEnvelope, Visibility, new_id

from caseline.local.pumps import QueuePump
from caseline.local.stack import LocalStack

if TYPE_CHECKING:
    from types_boto3_events.type_defs import PutEventsRequestEntryTypeDef

CASES, EVENTS_PER_CASE = 30, 15
FAILURE_RATE = 0.2
MAX_FAILURES_PER_MESSAGE = 3  # below the queue's maxReceiveCount (5): failures are transient, not poison
WAIT_SECONDS = 600
PUBLISH_CHUNK = 400  # entries published before waiting for the queue to shrink: moto's SQS is O(queue size)
EVENT_TYPES = ("case.fields_changed", "task.completed", "comment.added", "document.added", "decision.recorded")


class Chaos:
    """Wraps the consumer the pump invokes, and fails a random fifth of each batch."""

    def __init__(self, handler: Any, seed: int) -> None:
        self._handler = handler
        self._random = random.Random(seed)
        self._failures: dict[str, int] = {}
        self._lock = threading.Lock()
        self.injected = 0

    def _fails(self, message_id: str) -> bool:
        with self._lock:
            if self._failures.get(message_id, 0) >= MAX_FAILURES_PER_MESSAGE or self._random.random() >= FAILURE_RATE:
                return False
            self._failures[message_id] = self._failures.get(message_id, 0) + 1
            self.injected += 1
            return True

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        failing = {record["messageId"] for record in event["Records"] if self._fails(record["messageId"])}
        # Half of the failures never reach the consumer; the other half are processed, then reported failed.
        skipped = {message_id for message_id in failing if hash(message_id) % 2 == 0}
        records = [record for record in event["Records"] if record["messageId"] not in skipped]
        response = self._handler({"Records": records}, context) if records else {"batchItemFailures": []}
        failed = {failure["itemIdentifier"] for failure in response.get("batchItemFailures", [])} | failing
        return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in sorted(failed)]}


BYSTANDERS = ("automations", "portal")  # consumers of the same events that this test is not about


@pytest.fixture
def chaotic_timeline(stack: LocalStack) -> Iterator[Chaos]:
    """The timeline consumer under chaos. The other consumers of these synthetic events sit still meanwhile,
    and their queues are emptied afterwards: 16,000 deliveries each would only compete for the same cores."""
    pumps = {p.name: p for p in stack.pumps if isinstance(p, QueuePump)}
    pump = pumps["queue:timeline_consumer"]
    bystanders = [pumps[f"queue:{service}_consumer"] for service in BYSTANDERS]
    original = pump.handler
    chaos = Chaos(original, seed=20261126)
    pump.handler = chaos
    for bystander in bystanders:
        bystander.paused.set()
    try:
        yield chaos
    finally:
        pump.handler = original
        for service in BYSTANDERS:
            stack.aws.sqs().purge_queue(QueueUrl=stack.tenant.queues[f"{service}_consumer"].url)
        for bystander in bystanders:
            bystander.paused.clear()


def _events() -> dict[str, list[EventEnvelope]]:
    started = datetime.now(UTC)
    actor = Actor(kind=ActorKind.USER, id="fault-injector", display_name="fault.injector@example.org")
    by_case: dict[str, list[EventEnvelope]] = {}
    for _ in range(CASES):
        case_id = new_id()
        by_case[case_id] = [
            EventEnvelope.new(
                tenant_id="demo",
                case_id=case_id,
                type="case.opened" if index == 0 else EVENT_TYPES[index % len(EVENT_TYPES)],
                actor=actor,
                correlation_id=f"fault-{case_id}",
                occurred_at=started + timedelta(milliseconds=index),
                data={"index": index},
                personal={"note": f"about person {index}"} if index % 4 == 0 else None,
                subjects=[f"person-{index}"] if index % 4 == 0 else None,
                visibility=Visibility.EXTERNAL if index % 3 == 0 else Visibility.INTERNAL,
            )
            for index in range(EVENTS_PER_CASE)
        ]
    return by_case


def _wait_for_queue(stack: LocalStack, deadline: float, *, at_most: int) -> None:
    """Until the timeline queue holds at most `at_most` messages, visible or in flight."""
    sqs, url = stack.aws.sqs(), stack.tenant.queues["timeline_consumer"].url
    names: list[Any] = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    while time.monotonic() < deadline:
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
        if sum(int(attributes[name]) for name in names) <= at_most:
            return
        time.sleep(0.5)
    pytest.fail(f"the timeline queue did not drain within {WAIT_SECONDS} s")


def test_timelines_survive_failures_duplicates_and_reordering(stack: LocalStack, chaotic_timeline: Chaos) -> None:
    by_case = _events()
    bus = stack.tenant.names.event_bus()
    entries = [event.bus_entry(source_service="cases", bus_name=bus) for events in by_case.values() for event in events]
    entries = entries * 2
    random.Random(7).shuffle(entries)
    events_client = stack.aws.events()
    deadline = time.monotonic() + WAIT_SECONDS
    for chunk in range(0, len(entries), PUBLISH_CHUNK):
        for start in range(chunk, min(chunk + PUBLISH_CHUNK, len(entries)), 10):
            response = events_client.put_events(
                Entries=cast("list[PutEventsRequestEntryTypeDef]", entries[start : start + 10])
            )
            assert response["FailedEntryCount"] == 0
        _wait_for_queue(stack, deadline, at_most=PUBLISH_CHUNK // 2)
    _wait_for_queue(stack, deadline, at_most=0)

    token = stack.staff_token()
    assert chaotic_timeline.injected > 0.1 * len(entries), "the chaos did not fail enough messages to mean anything"

    for case_id, events in by_case.items():
        status, verification = stack.request("GET", f"/cases/{case_id}/timeline/verify", token=token)
        assert status == 200
        assert verification["valid"], verification
        assert verification["length"] == EVENTS_PER_CASE
        status, page = stack.request("GET", f"/cases/{case_id}/timeline?limit=200", token=token)
        assert status == 200
        assert [entry["seq"] for entry in page["items"]] == list(range(1, EVENTS_PER_CASE + 1))
        assert sorted(entry["event"]["event_id"] for entry in page["items"]) == sorted(e.event_id for e in events)
        assert {entry["event"]["event_id"]: entry["event"] for entry in page["items"]} == {
            event.event_id: event.model_dump(mode="json") for event in events
        }

    dead_letters = stack.aws.sqs().get_queue_attributes(
        QueueUrl=stack.tenant.queues["timeline_consumer"].dead_letter_url,
        AttributeNames=["ApproximateNumberOfMessages"],
    )["Attributes"]["ApproximateNumberOfMessages"]
    assert dead_letters == "0"
