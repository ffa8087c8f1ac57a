"""What the timeline keeps of each event, and which events belong on a case's timeline."""

from enum import StrEnum

from caseline_common.envelope import EventEnvelope
from pydantic import BaseModel, ConfigDict


class Order(StrEnum):
    OLDEST_FIRST = "oldest"
    NEWEST_FIRST = "newest"


class TimelineEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    case_id: str
    event: EventEnvelope

    @classmethod
    def of(cls, event: EventEnvelope) -> "TimelineEntry | None":
        """Tenant-level events (no case) have no case timeline to join."""
        return cls(case_id=event.case_id, event=event) if event.case_id else None
