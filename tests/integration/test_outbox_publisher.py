"""The outbox publisher, invoked as Lambda invokes it with a DynamoDB stream batch, against the emulator."""

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.stub import Stubber
from caseline_common.envelope import Actor, ActorKind, EventEnvelope, new_id
from chalice.local import LambdaContext

from caseline.local.loader import LoadedService, load_service
from caseline.local.stack import LocalStack

from .support import BusProbe, bus_probe, recording, timeline, wait_until

_sequence = iter(range(10**20, 10**21))


def envelope(case_id: str | None = None, type_: str = "case.note_added") -> EventEnvelope:
    return EventEnvelope.new(
        tenant_id="demo",
        case_id=case_id or new_id(),
        type=type_,
        actor=Actor(kind=ActorKind.SYSTEM, id="outbox-test"),
        correlation_id=new_id(),
        data={"note": "from a stream record"},
    )


def stream_record(stack: LocalStack, image: dict[str, Any], event_name: str = "INSERT") -> dict[str, Any]:
    """One record as Lambda receives it from the cases table's stream (StreamViewType NEW_IMAGE)."""
    change: dict[str, Any] = {
        "ApproximateCreationDateTime": 1_800_000_000.0,
        "Keys": {"pk": image["pk"], "sk": image["sk"]},
        "SequenceNumber": str(next(_sequence)),
        "SizeBytes": len(json.dumps(image)),
        "StreamViewType": "NEW_IMAGE",
    }
    if event_name != "REMOVE":
        change["NewImage"] = image
    return {
        "eventID": uuid.uuid4().hex,
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": change,
        "eventSourceARN": stack.tenant.stream_arns["cases"],
    }


def outbox_image(event: EventEnvelope, source: str = "cases") -> dict[str, Any]:
    return {
        "pk": {"S": f"OUTBOX#{event.event_id}"},
        "sk": {"S": "OUTBOX"},
        "source": {"S": source},
        "event": {"S": event.to_json()},
        "expires_at": {"N": "1800604800"},
    }


def case_image(case_id: str) -> dict[str, Any]:
    return {
        "pk": {"S": f"CASE#{case_id}"},
        "sk": {"S": "CASE"},
        "tenant_id": {"S": "demo"},
        "version": {"N": "1"},
        "doc": {"S": "{}"},
        "gsi3pk": {"S": "CASES"},
        "gsi3sk": {"S": case_id},
    }


@dataclass
class Publisher:
    copy: LoadedService

    @property
    def events_client(self) -> Any:
        return self.copy.module("chalicelib.runtime").outbox_publisher()._client

    def __call__(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        context = LambdaContext(function_name="outbox_publisher", memory_size=512, max_runtime_ms=60_000)
        context.invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:outbox_publisher"
        response: dict[str, Any] = self.copy.function("outbox_publisher")({"Records": records}, context)
        return response


@pytest.fixture(scope="module")
def publisher(stack: LocalStack) -> Publisher:
    """A cold start of its own: the stack fixture has set the environment it reads."""
    return Publisher(load_service("cases"))


@pytest.fixture
def probe(stack: LocalStack) -> Iterator[BusProbe]:
    with bus_probe(stack) as probe:
        yield probe


def test_an_outbox_insert_is_published_to_the_tenant_bus(
    stack: LocalStack, publisher: Publisher, probe: BusProbe
) -> None:
    event = envelope()
    with recording(publisher.events_client) as calls:
        response = publisher([stream_record(stack, outbox_image(event))])

    assert response == {"batchItemFailures": []}
    assert calls.operations == ["PutEvents"]
    [delivered] = probe.receive([event])
    assert delivered["source"] == "caseline.cases"
    assert delivered["detail-type"] == "case.note_added"
    assert delivered["account"] == "123456789012"
    assert EventEnvelope.model_validate(delivered["detail"]) == event


def test_a_published_event_reaches_a_consumer(stack: LocalStack, publisher: Publisher) -> None:
    event = envelope()
    assert publisher([stream_record(stack, outbox_image(event))]) == {"batchItemFailures": []}
    entries = wait_until(lambda: timeline(stack, event.case_id or ""), what="the event on the case's timeline")
    assert [(entry["seq"], entry["event"]["event_id"]) for entry in entries] == [(1, event.event_id)]
    assert EventEnvelope.model_validate(entries[0]["event"]) == event


def test_records_that_carry_no_event_are_ignored(stack: LocalStack, publisher: Publisher) -> None:
    case_id = new_id()
    outbox_event = envelope(case_id)
    records = [
        stream_record(stack, case_image(case_id)),
        stream_record(stack, outbox_image(outbox_event), event_name="REMOVE"),  # an outbox item expiring
        stream_record(stack, {"pk": {"S": "TEMPLATES"}, "sk": {"S": "x"}, "name": {"S": "x"}}),
        stream_record(stack, {"pk": {"S": "IDEMPOTENCY#open_case#a#b"}, "sk": {"S": "IDEMPOTENCY"}}),
    ]
    with recording(publisher.events_client) as calls:
        response = publisher(records)

    assert response == {"batchItemFailures": []}
    assert "PutEvents" not in calls.operations


def test_a_case_item_modified_with_its_next_event_publishes_it_with_the_case(
    stack: LocalStack, publisher: Publisher
) -> None:
    """The entry is caught before the bus (a partial case on the bus would be refused by the consumers)."""
    event = envelope(type_="case.fields_changed")
    image = {**case_image(event.case_id or ""), "source": {"S": "cases"}, "event": {"S": event.to_json()}}
    image["doc"] = {"S": '{"id": "the case as the event left it"}'}
    client = publisher.events_client
    sent: list[dict[str, Any]] = []

    def catch(params: dict[str, Any], **_: Any) -> None:
        sent.append(params)

    client.meta.events.register("before-parameter-build.events.PutEvents", catch)
    try:
        with Stubber(client) as stubber:
            stubber.add_response("put_events", {"FailedEntryCount": 0, "Entries": [{"EventId": "1"}]})
            assert publisher([stream_record(stack, image, event_name="MODIFY")]) == {"batchItemFailures": []}
    finally:
        client.meta.events.unregister("before-parameter-build.events.PutEvents", catch)

    [entry] = sent[0]["Entries"]
    assert entry["DetailType"] == "case.fields_changed"
    assert json.loads(entry["Detail"])["case"] == {"id": "the case as the event left it"}


def test_a_mixed_batch_publishes_only_its_outbox_items(
    stack: LocalStack, publisher: Publisher, probe: BusProbe
) -> None:
    events = [envelope(type_=f"case.step_{word}") for word in ("one", "two", "three")]
    records = [stream_record(stack, case_image(new_id()))]
    for event in events:
        records += [stream_record(stack, outbox_image(event)), stream_record(stack, case_image(event.case_id or ""))]

    with recording(publisher.events_client) as calls:
        assert publisher(records) == {"batchItemFailures": []}

    assert calls.operations == ["PutEvents"], "one PutEvents for up to ten events"
    delivered = probe.receive(events)
    assert sorted(message["detail-type"] for message in delivered) == sorted(e.type for e in events)


def test_more_than_ten_events_go_out_in_batches_of_ten(
    stack: LocalStack, publisher: Publisher, probe: BusProbe
) -> None:
    events = [envelope() for _ in range(23)]
    with recording(publisher.events_client) as calls:
        assert publisher([stream_record(stack, outbox_image(event)) for event in events]) == {"batchItemFailures": []}
    assert calls.operations == ["PutEvents"] * 3
    assert len(probe.receive(events)) == 23


def test_events_the_bus_keeps_refusing_are_reported_by_sequence_number(stack: LocalStack, publisher: Publisher) -> None:
    """PutEvents accepts the first entry and refuses the second, every time: only the second is a failure."""
    first, second = envelope(), envelope()
    records = [stream_record(stack, outbox_image(first)), stream_record(stack, outbox_image(second))]
    refused = {"ErrorCode": "InternalException", "ErrorMessage": "try again"}
    with Stubber(publisher.events_client) as stubber:
        stubber.add_response("put_events", {"FailedEntryCount": 1, "Entries": [{"EventId": "e-1"}, refused]})
        for _ in range(3):
            stubber.add_response("put_events", {"FailedEntryCount": 1, "Entries": [refused]})
        response = publisher(records)
        stubber.assert_no_pending_responses()

    assert response == {"batchItemFailures": [{"itemIdentifier": records[1]["dynamodb"]["SequenceNumber"]}]}
