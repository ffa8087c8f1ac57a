"""Puts outbox events on the tenant bus: batches of ten, failed entries retried with backoff."""

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from caseline_common.envelope import EventEnvelope

if TYPE_CHECKING:
    from types_boto3_events.client import EventBridgeClient

PUT_EVENTS_MAX_ENTRIES = 10
PUT_EVENTS_MAX_BYTES = 256 * 1024  # per entry and per request, as EventBridge counts them


def _entry_size(entry: dict[str, object]) -> int:
    """EventBridge's size of an entry: its Source, DetailType, Detail (UTF-8), and 14 bytes for Time."""
    return sum(len(str(entry[name]).encode()) for name in ("Source", "DetailType", "Detail")) + 14


@dataclass(frozen=True)
class Outgoing:
    """One event to publish; `record_id` names its stream record for partial-batch failure reports."""

    record_id: str
    source: str
    event: EventEnvelope
    case: str | None = None  # the case after the event (JSON), carried beside it when the entry can hold it

    def entry(self, bus_name: str) -> dict[str, object]:
        with_case = self.event.bus_entry(source_service=self.source, bus_name=bus_name, case=self.case)
        if self.case is None or _entry_size(with_case) <= PUT_EVENTS_MAX_BYTES:
            return with_case
        return self.event.bus_entry(source_service=self.source, bus_name=bus_name)


class EventBridgePublisher:
    def __init__(
        self,
        client: "EventBridgeClient",
        bus_name: str,
        *,
        attempts: int = 4,
        base_delay_seconds: float = 0.05,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._bus = bus_name
        self._attempts = attempts
        self._base_delay = base_delay_seconds
        self._sleep = sleep

    def publish(self, outgoing: Sequence[Outgoing]) -> list[str]:
        """Returns the record ids that could not be published after every retry, in input order."""
        failed: list[str] = []
        chunk: list[Outgoing] = []
        chunk_bytes = 0
        for item in outgoing:
            size = _entry_size(item.entry(self._bus))
            if size > PUT_EVENTS_MAX_BYTES:  # can never be accepted: report it rather than retry forever
                failed.append(item.record_id)
                continue
            if chunk and (len(chunk) == PUT_EVENTS_MAX_ENTRIES or chunk_bytes + size > PUT_EVENTS_MAX_BYTES):
                failed += self._publish_chunk(chunk)
                chunk, chunk_bytes = [], 0
            chunk.append(item)
            chunk_bytes += size
        if chunk:
            failed += self._publish_chunk(chunk)
        return sorted(failed, key=[item.record_id for item in outgoing].index)

    def _publish_chunk(self, pending: list[Outgoing]) -> list[str]:
        for attempt in range(self._attempts):
            if attempt:
                self._sleep(self._base_delay * 2 ** (attempt - 1))
            entries = [item.entry(self._bus) for item in pending]
            response = self._client.put_events(Entries=entries)  # type: ignore[arg-type]
            if not response.get("FailedEntryCount"):
                return []
            pending = [item for item, result in zip(pending, response["Entries"], strict=True) if "ErrorCode" in result]
        return [item.record_id for item in pending]
