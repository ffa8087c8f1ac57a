"""Puts the automations service's commands and events on the tenant bus."""

from collections.abc import Sequence
from typing import TYPE_CHECKING

from caseline_common.contracts import CaseSnapshot
from caseline_common.envelope import EventEnvelope
from caseline_common.errors import UnavailableError

if TYPE_CHECKING:
    from types_boto3_events.client import EventBridgeClient

PUT_EVENTS_MAX_ENTRIES = 10
MAX_STATE_BYTES = 200_000  # an entry holds 256 KB, the envelope included


class EventBridgeBus:
    def __init__(self, client: "EventBridgeClient", bus_name: str) -> None:
        self._client = client
        self._bus = bus_name

    def publish(
        self, events: Sequence[EventEnvelope], *, command: bool = False, case: CaseSnapshot | None = None
    ) -> None:
        """All or an error: entries that failed are retried by the caller's redelivery, and every entry has
        a derived id, so what did get through is dropped as a duplicate by its consumer."""
        state = case.model_dump_json() if case is not None else None
        if state is not None and len(state.encode()) > MAX_STATE_BYTES:
            state = None  # too large for an entry: consumers record what could not run without it
        for start in range(0, len(events), PUT_EVENTS_MAX_ENTRIES):
            entries = [
                each.bus_entry(source_service="automations", bus_name=self._bus, command=command, case=state)
                for each in events[start : start + PUT_EVENTS_MAX_ENTRIES]
            ]
            response = self._client.put_events(Entries=entries)  # type: ignore[arg-type]
            if response.get("FailedEntryCount"):
                codes = sorted({str(entry.get("ErrorCode")) for entry in response["Entries"] if "ErrorCode" in entry})
                raise UnavailableError(f"The event bus did not take {response['FailedEntryCount']} entries: {codes}")
