"""Puts the portal's events and commands on the tenant bus."""

from typing import TYPE_CHECKING

from caseline_common.envelope import EventEnvelope
from caseline_common.errors import UnavailableError

if TYPE_CHECKING:
    from types_boto3_events.client import EventBridgeClient


class BusUnavailableError(UnavailableError):
    """EventBridge did not take the entry; nothing was sent, so the person can simply try again."""

    def __init__(self, code: str) -> None:
        super().__init__(f"The event bus did not take the request ({code}); try again.")


class EventBridgeBus:
    def __init__(self, client: "EventBridgeClient", bus_name: str) -> None:
        self._client = client
        self._bus = bus_name

    def publish(self, event: EventEnvelope, *, command: bool = False) -> None:
        entry = event.bus_entry(source_service="portal", bus_name=self._bus, command=command)
        response = self._client.put_events(Entries=[entry])  # type: ignore[list-item]
        if response.get("FailedEntryCount"):
            raise BusUnavailableError(str(response["Entries"][0].get("ErrorCode")))
