"""The local queue pumps run a mapping's function as Lambda does: up to its maximum concurrency of instances side
by side, each running one invocation at a time (in moto, in-process; counts, not timings)."""

import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from caseline_common.aws import AwsClients
from caseline_common.resources import WEBHOOK_DELIVERIES, ConsumerSpec, QueueSpec
from moto import mock_aws

from caseline.local.provision import ConsumerQueue
from caseline.local.pumps import QueuePump, queue_pumps

from .support import wait_until

MESSAGES = 24


class Instances:
    """Handlers that each hold their batch a moment, and note how many run at once, in all and each."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.running = 0
        self.most_at_once = 0
        self.running_per_instance: Counter[int] = Counter()
        self.most_per_instance = 0
        self.handled: Counter[int] = Counter()

    def new(self, number: int) -> Any:
        def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
            with self._lock:
                self.running += 1
                self.running_per_instance[number] += 1
                self.most_at_once = max(self.most_at_once, self.running)
                self.most_per_instance = max(self.most_per_instance, self.running_per_instance[number])
            time.sleep(0.1)
            with self._lock:
                self.running -= 1
                self.running_per_instance[number] -= 1
                self.handled[number] += len(event["Records"])
            return {"batchItemFailures": []}

        return handler


@pytest.fixture
def queue() -> Iterator[tuple[Any, ConsumerQueue]]:
    with mock_aws():
        sqs = AwsClients("us-east-1").sqs()
        url = sqs.create_queue(QueueName="pumped")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        spec = ConsumerSpec(
            service="timeline",
            function="pumped",
            name="pumped",
            event_pattern={},
            batch_size=1,
            max_concurrency=4,
        )
        yield sqs, ConsumerQueue(spec=spec, url=url, arn=arn, dead_letter_url=url)


def _run(pump: QueuePump, sqs: Any, url: str, handled: Any) -> None:
    for index in range(MESSAGES):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{index}")
    pump.start()
    try:
        wait_until(lambda: sum(handled.values()) == MESSAGES or None, what="every message", timeout=30)
    finally:
        pump.stop()
        pump.join(timeout=5)


def test_a_queue_pump_runs_up_to_the_mappings_maximum_concurrency_each_instance_one_invocation_at_a_time(
    queue: tuple[Any, ConsumerQueue],
) -> None:
    sqs, consumer = queue
    instances = Instances()
    made = iter(range(1, 100))
    [pump] = queue_pumps(
        sqs, [consumer], lambda _spec: instances.new(0), instance_for=lambda _spec: instances.new(next(made))
    )
    assert pump.max_concurrency == consumer.spec.max_concurrency == 4
    _run(pump, sqs, consumer.url, instances.handled)
    assert instances.most_at_once == pump.peak_concurrency == 4
    assert instances.most_per_instance == 1
    assert set(instances.handled) == {0, 1, 2, 3}, "every instance took batches"
    assert pump.invocations == MESSAGES  # batches of one


def test_a_pump_whose_handler_a_test_replaced_runs_one_invocation_at_a_time(queue: tuple[Any, ConsumerQueue]) -> None:
    sqs, consumer = queue
    instances = Instances()
    made = iter(range(1, 100))
    [pump] = queue_pumps(
        sqs, [consumer], lambda _spec: instances.new(0), instance_for=lambda _spec: instances.new(next(made))
    )
    pump.handler = instances.new(99)
    _run(pump, sqs, consumer.url, instances.handled)
    assert instances.most_at_once == 1
    assert set(instances.handled) == {99}


def test_without_more_instances_a_pump_runs_one_at_a_time() -> None:
    spec: QueueSpec = WEBHOOK_DELIVERIES
    assert spec.max_concurrency >= 2
    pump = QueuePump(None, "url", "arn", lambda _event, _context: None, spec.function)  # type: ignore[arg-type]
    assert pump.max_concurrency == 1


def test_a_pump_with_batches_over_ten_hands_on_at_once_what_several_receives_find_and_settles_it_all() -> None:
    with mock_aws():
        sqs = AwsClients("us-east-1").sqs()
        url = sqs.create_queue(QueueName="gathered")["QueueUrl"]
        batches: list[list[str]] = []

        def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
            bodies = [record["body"] for record in event["Records"]]
            batches.append(bodies)
            # The first batch fails one record; it comes back alone.
            failed = [r["messageId"] for r in event["Records"] if r["body"] == "m7"] if len(batches) == 1 else []
            return {"batchItemFailures": [{"itemIdentifier": identifier} for identifier in failed]}

        for start in range(0, 35, 10):
            sqs.send_message_batch(
                QueueUrl=url,
                Entries=[{"Id": str(i), "MessageBody": f"m{i}"} for i in range(start, min(start + 10, 35))],
            )
        pump = QueuePump(sqs, url, "arn", handler, "gathered", batch_size=1000, retry_delay_seconds=0)

        assert pump.poll_once()
        assert len(batches[0]) == 35  # four receives, one invocation, no window waited for
        assert pump.poll_once()
        assert batches[1] == ["m7"]  # the failed one, alone; the 34 others were deleted
        assert not pump.poll_once()
