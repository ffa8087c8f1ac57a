"""Background loops that do locally what AWS does in production.

- StreamPump: DynamoDB Streams -> Lambda event source mapping (batches, ReportBatchItemFailures).
- QueuePump: SQS -> Lambda event source mapping (exact SQS event shape, partial batch responses; failed
  messages return after a backoff and the queue's redrive policy moves poison messages to the DLQ), with up to
  the mapping's maximum concurrency of instances side by side, each running one invocation at a time.
EventBridge rule -> SQS delivery is moto's own.
"""

import hashlib
import logging
import queue
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from chalice.local import LambdaContext

if TYPE_CHECKING:
    from caseline_common.resources import QueueSpec
    from types_boto3_dynamodbstreams.client import DynamoDBStreamsClient
    from types_boto3_sqs.client import SQSClient

    from .provision import ProvisionedQueue

LambdaHandler = Callable[[dict[str, Any], Any], Any]
LONG_POLL_SECONDS = 1  # short, so a pump stops (or pauses) within a second
SQS_RECEIVE_MAX = 10  # messages one ReceiveMessage returns at most
log = logging.getLogger("caseline.local.pumps")


def invoke(handler: LambdaHandler, function_name: str, event: dict[str, Any]) -> set[str]:
    """Invokes a handler as Lambda does; returns the failed item identifiers (all of them if it raised)."""
    context = LambdaContext(function_name=function_name, memory_size=512, max_runtime_ms=60_000)
    context.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
    try:
        response = handler(event, context)
    except Exception:
        log.exception("%s failed; the whole batch will be retried", function_name)
        return {"*"}
    failures = (response or {}).get("batchItemFailures", [])
    identifiers = {failure.get("itemIdentifier") for failure in failures}
    if not all(isinstance(identifier, str) and identifier for identifier in identifiers):
        return {"*"}  # Lambda treats an empty or missing identifier as a failure of the whole batch
    return identifiers


class Pump(threading.Thread, ABC):
    """Polls as fast as there is work, and backs off to `max_idle_interval` while there is none."""

    max_idle_interval = 0.25

    def __init__(self, name: str, poll_interval: float) -> None:
        super().__init__(name=name, daemon=True)
        self._stop_event = threading.Event()
        self.paused = threading.Event()  # set: the pump idles (benchmarks keep background work out of timings)
        self._poll_interval = poll_interval
        self.invocations = 0

    def stop(self) -> None:
        self._stop_event.set()

    def run(self) -> None:
        idle_interval = self._poll_interval
        while not self._stop_event.is_set():
            if self.paused.is_set():
                self._stop_event.wait(self._poll_interval)
                continue
            try:
                busy = self.poll()
            except Exception:
                if self._stop_event.is_set():
                    return
                log.exception("%s poll failed", self.name)
                busy = False
            if busy:
                idle_interval = self._poll_interval
            else:
                self._stop_event.wait(idle_interval)
                idle_interval = min(idle_interval * 2, self.max_idle_interval)

    @abstractmethod
    def poll_once(self) -> bool:
        """Moves one batch; says whether there was anything to move."""

    def poll(self) -> bool:
        """What the pump's thread does each time round: `poll_once` unless a pump runs batches side by side."""
        return self.poll_once()


class StreamPump(Pump):
    def __init__(
        self,
        streams: "DynamoDBStreamsClient",
        stream_arn: str,
        handler: LambdaHandler,
        function_name: str,
        *,
        batch_size: int = 100,
        max_retries: int = 3,
        poll_interval: float = 0.05,
    ) -> None:
        super().__init__(f"stream:{function_name}", poll_interval)
        self._streams = streams
        self._arn = stream_arn
        self.handler = handler  # public: tests wrap it to inject faults
        self._function = function_name
        self._batch_size = batch_size
        self._max_retries = max_retries
        self._iterators: dict[str, str | None] = {}
        self._pending: dict[str, list[dict[str, Any]]] = {}
        self._attempts: dict[str, int] = {}
        self._next_shard_refresh = 0.0

    def _refresh_shards(self) -> None:
        if self._iterators and time.monotonic() < self._next_shard_refresh:
            return
        self._next_shard_refresh = time.monotonic() + 5
        shards = self._streams.describe_stream(StreamArn=self._arn)["StreamDescription"].get("Shards", [])
        for shard in shards:
            shard_id = shard["ShardId"]
            if shard_id not in self._iterators:
                self._iterators[shard_id] = self._streams.get_shard_iterator(
                    StreamArn=self._arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]
                self._pending[shard_id] = []

    def _lambda_record(self, record: dict[str, Any]) -> dict[str, Any]:
        change = dict(record["dynamodb"])
        created = change.get("ApproximateCreationDateTime")
        if isinstance(created, datetime):
            change["ApproximateCreationDateTime"] = created.timestamp()
        return {**record, "dynamodb": change, "eventSourceARN": self._arn}

    def poll_once(self) -> bool:
        self._refresh_shards()
        moved = False
        for shard_id, iterator in self._iterators.items():
            pending = self._pending[shard_id]
            if not pending and iterator:
                response = self._streams.get_records(ShardIterator=iterator, Limit=self._batch_size)
                self._iterators[shard_id] = response.get("NextShardIterator")
                pending.extend(self._lambda_record(record) for record in response.get("Records", []))  # type: ignore[arg-type]
            if pending:
                moved = True
                self._deliver(shard_id, pending)
        return moved

    def _deliver(self, shard_id: str, pending: list[dict[str, Any]]) -> None:
        self.invocations += 1
        failed = invoke(self.handler, self._function, {"Records": list(pending)})
        if not failed:
            pending.clear()
            self._attempts.pop(shard_id, None)
            return
        sequences = [record["dynamodb"]["SequenceNumber"] for record in pending]
        known = [sequences.index(sequence) for sequence in failed if sequence in sequences]
        # Like Lambda: resume from the lowest failed sequence number; an unknown one fails the whole batch.
        start = min(known) if known and "*" not in failed and len(known) == len(failed) else 0
        del pending[:start]
        attempts = self._attempts.get(shard_id, 0) + 1
        self._attempts[shard_id] = attempts
        if attempts > self._max_retries:
            log.error("%s: dropping %d stream records after %d retries", self._function, len(pending), attempts - 1)
            pending.clear()
            self._attempts.pop(shard_id, None)
        else:
            time.sleep(0.05 * 2**attempts)


class QueuePump(Pump):
    """Lambda's SQS poller for one event source mapping. Like Lambda, it runs up to `max_concurrency` instances of
    the function side by side, each its own copy (a Lambda execution environment: its own clients and caches),
    each running one invocation at a time. This thread polls whenever an instance is idle and hands each batch to
    one, so a backlog is read as fast as the instances take it and an idle queue costs one long poll at a time.

    A test that replaces `handler` (to record or inject faults) gets every batch through it, one at a time, in
    this thread (as `poll_once` does). What only watches (a benchmark) adds to `observers` instead: each is called
    after every invocation, of any instance, with its records and those that failed.
    """

    def __init__(
        self,
        sqs: "SQSClient",
        queue_url: str,
        queue_arn: str,
        handler: LambdaHandler,
        function_name: str,
        *,
        batch_size: int = 10,
        more_instances: Sequence[LambdaHandler] = (),
        retry_delay_seconds: int = 1,
        poll_interval: float = 0.05,
        region: str = "us-east-1",
    ) -> None:
        super().__init__(f"queue:{function_name}", poll_interval)
        self._sqs = sqs
        self._url = queue_url
        self._arn = queue_arn
        self.handler = handler  # public: tests wrap it to inject faults
        self._own_handler = handler
        self._function = function_name
        self._batch_size = batch_size
        self._retry_delay = retry_delay_seconds
        self._region = region
        self.max_concurrency = 1 + len(more_instances)
        self._idle: queue.SimpleQueue[LambdaHandler] = queue.SimpleQueue()  # instances not running an invocation
        for instance in (handler, *more_instances):
            self._idle.put(instance)
        self._instances = ThreadPoolExecutor(self.max_concurrency, thread_name_prefix=self.name)
        self._lock = threading.Lock()
        self._running = 0
        self.peak_concurrency = 0  # the most invocations that ever ran at once
        self.observers: list[Callable[[list[dict[str, Any]], set[str]], None]] = []

    def _lambda_record(self, message: dict[str, Any]) -> dict[str, Any]:
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": message.get("MessageAttributes", {}),
            "md5OfBody": message.get("MD5OfBody") or hashlib.md5(message["Body"].encode()).hexdigest(),  # noqa: S324
            "eventSource": "aws:sqs",
            "eventSourceARN": self._arn,
            "awsRegion": self._region,
        }

    def join(self, timeout: float | None = None) -> None:
        super().join(timeout)
        self._instances.shutdown(wait=True, cancel_futures=True)

    def poll_once(self) -> bool:
        """One batch, handled in this thread by `handler`."""
        messages = self._receive()
        if messages:
            self._invoke(self.handler, messages)
        return bool(messages)

    def poll(self) -> bool:
        """One batch for the next idle instance (waiting a moment for one). Long polling, as Lambda's poller does:
        a message is taken as soon as it arrives, and an idle queue costs a poll a second."""
        if self.handler is not self._own_handler:
            return self.poll_once()
        try:
            instance = self._idle.get(timeout=self._poll_interval)
        except queue.Empty:
            return True  # every instance is busy: there is work
        started = time.monotonic()
        try:
            messages = self._receive(wait_seconds=LONG_POLL_SECONDS)
        except BaseException:
            self._idle.put(instance)
            raise
        if not messages:
            self._idle.put(instance)
            return time.monotonic() - started >= LONG_POLL_SECONDS / 2  # it waited: poll again at once
        if self.handler is not self._own_handler:  # replaced while this poll waited: the batch is the new one's
            self._idle.put(instance)
            self._invoke(self.handler, messages)
            return True
        self._instances.submit(self._run_instance, instance, messages)
        return True

    def _run_instance(self, instance: LambdaHandler, messages: list[dict[str, Any]]) -> None:
        try:
            self._invoke(instance, messages)
        except Exception:
            log.exception(
                "%s: settling a batch failed; its messages come back after their visibility timeout", self.name
            )
        finally:
            self._idle.put(instance)

    def _receive(self, wait_seconds: int = 0) -> list[dict[str, Any]]:
        """A batch of up to `batch_size`: SQS hands out at most 10 messages a call, so a larger batch is what several
        calls find waiting. Lambda's poller would also wait out the mapping's batching window for more; locally
        the batch is what is there now, so a change reaches its consumer at once."""
        messages: list[dict[str, Any]] = []
        while len(messages) < self._batch_size:
            received: list[dict[str, Any]] = self._sqs.receive_message(  # type: ignore[assignment]
                QueueUrl=self._url,
                MaxNumberOfMessages=min(self._batch_size - len(messages), SQS_RECEIVE_MAX),
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
                WaitTimeSeconds=0 if messages else wait_seconds,
            ).get("Messages", [])
            messages += received
            if not received or self._batch_size <= SQS_RECEIVE_MAX:
                break
        return messages

    def _invoke(self, handler: LambdaHandler, messages: list[dict[str, Any]]) -> None:
        with self._lock:
            self.invocations += 1
            self._running += 1
            self.peak_concurrency = max(self.peak_concurrency, self._running)
        records = [self._lambda_record(m) for m in messages]
        try:
            failed = invoke(handler, self._function, {"Records": records})
        finally:
            with self._lock:
                self._running -= 1
        for observe in self.observers:
            observe(records, failed)
        self._settle(messages, failed)

    def _settle(self, messages: list[Any], failed: set[str]) -> None:
        known = {m["MessageId"] for m in messages}
        if not failed <= known:
            failed = {"*"}  # an identifier not in the batch: Lambda fails the whole batch
        done = [m for m in messages if "*" not in failed and m["MessageId"] not in failed]
        retry = [m for m in messages if m not in done]
        # Each batch call takes at most 10 entries, as a receive returns at most 10 messages.
        for start in range(0, len(done), SQS_RECEIVE_MAX):
            self._sqs.delete_message_batch(
                QueueUrl=self._url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(done[start : start + SQS_RECEIVE_MAX])
                ],
            )
        for start in range(0, len(retry), SQS_RECEIVE_MAX):
            # Lambda waits out the visibility timeout; locally a short delay keeps retries quick.
            self._sqs.change_message_visibility_batch(
                QueueUrl=self._url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": self._retry_delay}
                    for i, m in enumerate(retry[start : start + SQS_RECEIVE_MAX])
                ],
            )


def queue_pumps(
    sqs: "SQSClient",
    queues: Iterable["ProvisionedQueue[Any]"],
    handler_for: Callable[["QueueSpec"], LambdaHandler],
    *,
    instance_for: Callable[["QueueSpec"], LambdaHandler] | None = None,
    retry_delay_seconds: int = 1,
    region: str = "us-east-1",
) -> list[QueuePump]:
    """One pump per queue, each reading it into its own function (a service may have several). With
    `instance_for` (another copy of the function each call), each pump runs up to its spec's `max_concurrency`
    instances; without, one."""
    return [
        QueuePump(
            sqs,
            queue.url,
            queue.arn,
            handler_for(queue.spec),
            queue.spec.function,
            batch_size=queue.spec.batch_size,
            more_instances=[instance_for(queue.spec) for _ in range(queue.spec.max_concurrency - 1)]
            if instance_for
            else (),
            retry_delay_seconds=retry_delay_seconds,
            region=region,
        )
        for queue in queues
    ]


class SchedulePump(Pump):
    """EventBridge Scheduler: invokes a function at a fixed rate with a scheduled-event payload."""

    def __init__(
        self,
        handler: LambdaHandler,
        function_name: str,
        *,
        every_seconds: float,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(f"schedule:{function_name}", min(every_seconds, 1.0))
        self.max_idle_interval = min(every_seconds, 1.0)
        self.handler = handler  # public: tests wrap it to inject faults
        self._function = function_name
        self._every = every_seconds
        self._next_run = time.monotonic() + every_seconds
        self._clock = clock

    def poll_once(self) -> bool:
        if time.monotonic() < self._next_run:
            return False
        self._next_run = time.monotonic() + self._every
        self.invocations += 1
        invoke(self.handler, self._function, scheduled_event(self._function, self._clock()))
        return False


def scheduled_event(function_name: str, at: datetime | None = None) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "account": "123456789012",
        "time": (at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "us-east-1",
        "resources": [f"arn:aws:scheduler:us-east-1:123456789012:schedule/default/{function_name}"],
        "detail": {},
    }
