"""The outbox publisher against a fake EventBridge client that fails chosen entries a chosen number of times."""

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import pytest
from caseline_common.envelope import Actor, ActorKind, EventEnvelope
from service_modules import loaded_module

if TYPE_CHECKING:
    from types_boto3_events.client import EventBridgeClient

    from services.cases.chalicelib.adapters import eventbridge_outbox
else:
    eventbridge_outbox = loaded_module("cases", "chalicelib.adapters.eventbridge_outbox")

BUS = "caseline-acme-bus"
ALWAYS = 1_000


@dataclass
class FakeEventsClient:
    """`put_events` fails each listed event (by `data.n`) that many times, then accepts it."""

    failures: dict[int, int] = field(default_factory=dict)
    calls: list[list[dict[str, Any]]] = field(default_factory=list)

    def put_events(self, *, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        assert 1 <= len(Entries) <= 10, "PutEvents takes one to ten entries"
        self.calls.append(Entries)
        results: list[dict[str, Any]] = []
        for entry in Entries:
            number = json.loads(entry["Detail"])["data"]["n"]
            if self.failures.get(number, 0) > 0:
                self.failures[number] -= 1
                results.append({"ErrorCode": "InternalException", "ErrorMessage": "try again"})
            else:
                results.append({"EventId": f"eb-{number}"})
        return {"FailedEntryCount": sum("ErrorCode" in result for result in results), "Entries": results}

    def numbers_per_call(self) -> list[list[int]]:
        return [[json.loads(entry["Detail"])["data"]["n"] for entry in call] for call in self.calls]


def outgoing(count: int) -> list[Any]:
    actor = Actor(kind=ActorKind.SYSTEM, id="outbox")
    return [
        eventbridge_outbox.Outgoing(
            record_id=f"record-{number:02d}",
            source="cases",
            event=EventEnvelope.new(
                tenant_id="acme", case_id=f"case-{number}", type="case.opened", actor=actor, correlation_id="c"
            ).model_copy(update={"data": {"n": number}}),
        )
        for number in range(count)
    ]


@dataclass
class Setup:
    client: FakeEventsClient
    sleeps: list[float]
    publisher: "eventbridge_outbox.EventBridgePublisher"


def make(failures: dict[int, int] | None = None, **options: Any) -> Setup:
    client = FakeEventsClient(failures=dict(failures or {}))
    sleeps: list[float] = []
    publisher = eventbridge_outbox.EventBridgePublisher(
        cast("EventBridgeClient", client), BUS, sleep=sleeps.append, **options
    )
    return Setup(client=client, sleeps=sleeps, publisher=publisher)


def test_nothing_to_publish_makes_no_call() -> None:
    setup = make()

    assert setup.publisher.publish([]) == []
    assert setup.client.calls == []


def test_events_go_out_in_chunks_of_ten_in_order() -> None:
    setup = make()

    assert setup.publisher.publish(outgoing(25)) == []

    assert setup.client.numbers_per_call() == [list(range(10)), list(range(10, 20)), list(range(20, 25))]
    assert setup.sleeps == []


def test_exactly_ten_events_is_one_call() -> None:
    setup = make()

    setup.publisher.publish(outgoing(10))

    assert [len(call) for call in setup.client.calls] == [10]


def test_each_entry_is_the_events_bus_entry() -> None:
    setup = make()
    items = outgoing(2)

    setup.publisher.publish(items)

    assert setup.client.calls[0] == [item.event.bus_entry(source_service="cases", bus_name=BUS) for item in items]
    assert {entry["Source"] for entry in setup.client.calls[0]} == {"caseline.cases"}
    assert {entry["EventBusName"] for entry in setup.client.calls[0]} == {BUS}


def test_only_the_failed_entries_are_retried_after_a_pause() -> None:
    setup = make(failures={3: 1, 7: 1})

    assert setup.publisher.publish(outgoing(10)) == []

    assert setup.client.numbers_per_call() == [list(range(10)), [3, 7]]
    assert setup.sleeps == [pytest.approx(0.05)]


def test_the_pause_doubles_with_each_retry() -> None:
    setup = make(failures={0: 1, 1: 3})

    assert setup.publisher.publish(outgoing(3)) == []

    assert setup.client.numbers_per_call() == [[0, 1, 2], [0, 1], [1], [1]]
    assert setup.sleeps == pytest.approx([0.05, 0.1, 0.2])


def test_an_entry_failing_every_attempt_is_returned() -> None:
    setup = make(failures={1: ALWAYS})

    assert setup.publisher.publish(outgoing(3)) == ["record-01"]

    assert setup.client.numbers_per_call() == [[0, 1, 2], [1], [1], [1]]
    assert setup.sleeps == pytest.approx([0.05, 0.1, 0.2])


def test_attempts_and_base_delay_are_configurable() -> None:
    setup = make(failures={0: ALWAYS}, attempts=2, base_delay_seconds=1.5)

    assert setup.publisher.publish(outgoing(1)) == ["record-00"]

    assert len(setup.client.calls) == 2
    assert setup.sleeps == [1.5]


def test_a_single_attempt_never_sleeps() -> None:
    setup = make(failures={0: 1}, attempts=1)

    assert setup.publisher.publish(outgoing(2)) == ["record-00"]
    assert setup.sleeps == []


def test_failures_across_chunks_come_back_in_input_order() -> None:
    setup = make(failures={17: ALWAYS, 2: ALWAYS, 9: ALWAYS, 12: ALWAYS, 5: 2})

    failed = setup.publisher.publish(outgoing(23))

    assert failed == ["record-02", "record-09", "record-12", "record-17"]
    assert setup.client.numbers_per_call() == [
        list(range(10)),
        [2, 5, 9],
        [2, 5, 9],
        [2, 9],
        list(range(10, 20)),
        [12, 17],
        [12, 17],
        [12, 17],
        [20, 21, 22],
    ]
    assert setup.sleeps == pytest.approx([0.05, 0.1, 0.2, 0.05, 0.1, 0.2])


def test_a_chunk_that_recovers_does_not_affect_the_next() -> None:
    setup = make(failures={0: 1})

    assert setup.publisher.publish(outgoing(12)) == []

    assert setup.client.numbers_per_call() == [list(range(10)), [0], [10, 11]]
    assert setup.sleeps == pytest.approx([0.05])
