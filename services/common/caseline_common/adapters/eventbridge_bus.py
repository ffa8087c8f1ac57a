"""Puts a service's events (and commands) on the tenant bus, one entry per call: for services whose events are not
the cases table's (those go through its stream, the outbox)."""

from typing import TYPE_CHECKING

from ..envelope import EventEnvelope
from ..errors import UnavailableError

if TYPE_CHECKING:
    from types_boto3_events.client import EventBridgeClient


class BusUnavailableError(UnavailableError):
    """EventBridge did not take the entry; nothing was sent, so the person can simply try again."""

    def __init__(self, code: str) -> None:
        super().__init__(f"The event bus did not take the request ({code}); try again.")


class EventBridgeBus:
    def __init__(self, client: "EventBridgeClient", bus_name: str, *, source_service: str) -> None:
        self._client = client
        self._bus = bus_name
        self._source = source_service

    def publish(self, event: EventEnvelope, *, command: bool = False) -> None:
        entry = event.bus_entry(source_service=self._source, bus_name=self._bus, command=command)
        response = self._client.put_events(Entries=[entry])  # type: ignore[list-item]
        if response.get("FailedEntryCount"):
            raise BusUnavailableError(str(response["Entries"][0].get("ErrorCode")))
