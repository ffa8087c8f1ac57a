"""Puts outbox events on the tenant bus: batches of ten, failed entries retried with backoff."""

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from caseline_common.envelope import EventEnvelope

if TYPE_CHECKING:
    from types_boto3_events.client import EventBridgeClient

PUT_EVENTS_MAX_ENTRIES = 10


@dataclass(frozen=True)
class Outgoing:
    """One event to publish; `record_id` names its stream record for partial-batch failure reports."""

    record_id: str
    source: str
    event: EventEnvelope


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
        for start in range(0, len(outgoing), PUT_EVENTS_MAX_ENTRIES):
            failed += self._publish_chunk(list(outgoing[start : start + PUT_EVENTS_MAX_ENTRIES]))
        return failed

    def _publish_chunk(self, pending: list[Outgoing]) -> list[str]:
        for attempt in range(self._attempts):
            if attempt:
                self._sleep(self._base_delay * 2 ** (attempt - 1))
            entries = [item.event.bus_entry(source_service=item.source, bus_name=self._bus) for item in pending]
            response = self._client.put_events(Entries=entries)  # type: ignore[arg-type]
            if not response.get("FailedEntryCount"):
                return []
            pending = [item for item, result in zip(pending, response["Entries"], strict=True) if "ErrorCode" in result]
        return [item.record_id for item in pending]
