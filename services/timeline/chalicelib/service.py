"""Use cases of the timeline service."""

from enum import Enum
from typing import Protocol

from caseline_common.envelope import EventEnvelope
from caseline_common.errors import ForbiddenError, NotFoundError
from caseline_common.pagination import Page
from caseline_common.tenant import StaffRole, TenantContext

from .domain.timeline import Order, TimelineEntry


class TimelineRepository(Protocol):
    def append(self, entry: TimelineEntry) -> bool:
        """Stores the entry unless its event is already there; says whether it was new."""
        ...

    def entries(self, case_id: str, *, order: Order, limit: int, cursor: str | None) -> Page[EventEnvelope]: ...


class Recorded(Enum):
    APPENDED = "appended"
    DUPLICATE = "duplicate"
    NOT_A_CASE_EVENT = "not_a_case_event"


class TimelineService:
    def __init__(self, repository: TimelineRepository) -> None:
        self._repository = repository

    def record(self, event: EventEnvelope) -> Recorded:
        """Appends an event from the bus; duplicates (same event_id) are dropped."""
        entry = TimelineEntry.of(event)
        if entry is None:
            return Recorded.NOT_A_CASE_EVENT
        return Recorded.APPENDED if self._repository.append(entry) else Recorded.DUPLICATE

    def timeline(
        self, context: TenantContext, case_id: str, *, order: Order, limit: int, cursor: str | None
    ) -> Page[EventEnvelope]:
        if not context.principal.has_any(StaffRole.ADMIN, StaffRole.STAFF):
            raise ForbiddenError("Your role does not allow this.")
        page = self._repository.entries(case_id, order=order, limit=limit, cursor=cursor)
        if not page.items and cursor is None:  # unknown and invisible cases answer alike
            raise NotFoundError(f"No timeline for case {case_id}.")
        return page
