"""The case event envelope: the `detail` of every event on the tenant bus."""

import hashlib
import json
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from . import formats

EVENT_SOURCE_PREFIX = "caseline."
# Commands (requests to a service, e.g. from the portal) travel on the same bus under another source, so
# consumers of events, the timeline among them, never see them.
COMMAND_SOURCE_PREFIX = "caseline-command."


class ActorKind(StrEnum):
    USER = "user"
    EXTERNAL = "external"
    AUTOMATION = "automation"
    SYSTEM = "system"
    CLIENT = "client"  # an integrator's machine client (OAuth 2.0 client credentials); id is its client id


class Visibility(StrEnum):
    INTERNAL = "internal"
    EXTERNAL = "external"


class Actor(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    kind: ActorKind
    id: str = Field(min_length=1, max_length=256)
    display_name: str | None = Field(default=None, max_length=256)


def new_id() -> str:
    from ulid import ULID  # python-ulid reads its package metadata on import (~10 ms): at the first id, not at import

    return str(ULID())


def derived_id(moment: datetime, *parts: str) -> str:
    """A ULID that is always the same for the same parts: what makes a retried step publish the same
    command or event (which its consumer then drops as a duplicate) rather than a new one."""
    from ulid import ULID

    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()[:10]
    return str(ULID.from_bytes(int(moment.timestamp() * 1000).to_bytes(6, "big") + digest))


def utc_now() -> datetime:
    return datetime.now(UTC)


class EventEnvelope(BaseModel):
    """One domain event. `case_id` is empty only for tenant-level events such as `template.published`."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    event_id: str = Field(pattern=formats.ULID)
    tenant_id: str
    case_id: str | None = None
    type: str = Field(pattern=formats.EVENT_TYPE)
    occurred_at: datetime
    actor: Actor
    data: dict[str, Any] = Field(default_factory=dict)
    personal: dict[str, Any] = Field(
        default_factory=dict,
        description="Personal data (names, contact details), kept apart from `data` so it can be erased "
        "without breaking the timeline's hash chain.",
    )
    subjects: list[str] = Field(default_factory=list, description="Ids of the people `personal` is about.")
    visibility: Visibility = Visibility.INTERNAL
    correlation_id: str
    causation_id: str | None = None
    causation_depth: int = Field(
        default=0,
        ge=0,
        description="How many automation steps led here: 0 for what a person did, one more for each rule "
        "whose command caused it. Rule chains stop at a limit.",
    )

    @classmethod
    def new(
        cls,
        *,
        tenant_id: str,
        type: str,
        actor: Actor,
        correlation_id: str,
        case_id: str | None = None,
        data: dict[str, Any] | None = None,
        personal: dict[str, Any] | None = None,
        subjects: list[str] | None = None,
        visibility: Visibility = Visibility.INTERNAL,
        causation_id: str | None = None,
        causation_depth: int = 0,
        occurred_at: datetime | None = None,
        event_id: str | None = None,
    ) -> "EventEnvelope":
        return cls(
            event_id=event_id or new_id(),
            tenant_id=tenant_id,
            case_id=case_id,
            type=type,
            occurred_at=occurred_at or utc_now(),
            actor=actor,
            data=data or {},
            personal=personal or {},
            subjects=subjects or [],
            visibility=visibility,
            correlation_id=correlation_id,
            causation_id=causation_id,
            causation_depth=causation_depth,
        )

    def to_json(self) -> str:
        return self.model_dump_json()

    def bus_entry(
        self, *, source_service: str, bus_name: str, command: bool = False, case: str | None = None
    ) -> dict[str, Any]:
        """The PutEvents entry that carries this event (or command) on the tenant bus. `case` is the case as
        it stood after the change (JSON), carried beside the envelope for consumers that act on its state."""
        detail = self.model_dump(mode="json")
        if case is not None:
            detail["case"] = json.loads(case)
        return {
            "Source": f"{COMMAND_SOURCE_PREFIX if command else EVENT_SOURCE_PREFIX}{source_service}",
            "DetailType": self.type,
            "Detail": json.dumps(detail, separators=(",", ":"), ensure_ascii=False),
            "EventBusName": bus_name,
            "Time": self.occurred_at,
        }
