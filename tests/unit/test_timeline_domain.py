"""The timeline use cases, with an in-memory repository behind the port."""

from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pytest
from caseline_common.envelope import Actor, ActorKind, EventEnvelope
from caseline_common.errors import ForbiddenError, NotFoundError
from caseline_common.pagination import Page
from caseline_common.tenant import TenantContext

from caseline.local.loader import LoadedService

ACTOR = Actor(kind=ActorKind.USER, id="user-1")


@pytest.fixture(scope="module")
def service_module(timeline: LoadedService) -> ModuleType:
    return timeline.module("chalicelib.service")


@pytest.fixture(scope="module")
def domain(timeline: LoadedService) -> ModuleType:
    return timeline.module("chalicelib.domain.timeline")


@dataclass
class InMemoryTimelineRepository:
    """One list of entries per case; an event id is stored at most once, like the conditional put."""

    entries_by_case: dict[str, list[Any]] = field(default_factory=dict)
    queries: list[dict[str, Any]] = field(default_factory=list)
    page_size_cap: int | None = None

    def append(self, entry: Any) -> bool:
        stored = self.entries_by_case.setdefault(entry.case_id, [])
        if any(existing.event.event_id == entry.event.event_id for existing in stored):
            return False
        stored.append(entry)
        return True

    def entries(self, case_id: str, *, order: Any, limit: int, cursor: str | None) -> Page[EventEnvelope]:
        self.queries.append({"case_id": case_id, "order": order, "limit": limit, "cursor": cursor})
        events = [entry.event for entry in self.entries_by_case.get(case_id, [])]
        if order.value == "newest":
            events.reverse()
        start = int(cursor) if cursor else 0
        page = events[start : start + limit]
        more = start + limit < len(events)
        return Page(items=page, next_cursor=str(start + limit) if more else None)


def event(case_id: str | None = "case-1", event_type: str = "case.opened", **data: Any) -> EventEnvelope:
    return EventEnvelope.new(
        tenant_id="acme", case_id=case_id, type=event_type, actor=ACTOR, correlation_id="corr-1", data=data
    )


@pytest.fixture
def repository() -> InMemoryTimelineRepository:
    return InMemoryTimelineRepository()


@pytest.fixture
def service(service_module: ModuleType, repository: InMemoryTimelineRepository) -> Any:
    return service_module.TimelineService(repository)


def test_a_case_event_is_appended_to_its_case(
    service: Any, service_module: ModuleType, repository: InMemoryTimelineRepository
) -> None:
    opened = event()

    assert service.record(opened) is service_module.Recorded.APPENDED

    [entry] = repository.entries_by_case["case-1"]
    assert entry.case_id == "case-1"
    assert entry.event == opened


def test_the_same_event_twice_is_a_duplicate_stored_once(
    service: Any, service_module: ModuleType, repository: InMemoryTimelineRepository
) -> None:
    opened = event()

    service.record(opened)
    again = EventEnvelope.model_validate_json(opened.to_json())

    assert service.record(again) is service_module.Recorded.DUPLICATE
    assert len(repository.entries_by_case["case-1"]) == 1


def test_another_event_of_the_same_case_is_appended(
    service: Any, service_module: ModuleType, repository: InMemoryTimelineRepository
) -> None:
    service.record(event())

    assert service.record(event(event_type="case.stage_changed")) is service_module.Recorded.APPENDED
    assert [entry.event.type for entry in repository.entries_by_case["case-1"]] == [
        "case.opened",
        "case.stage_changed",
    ]


@pytest.mark.parametrize("case_id", [None, ""])
def test_an_event_without_a_case_is_not_recorded(
    service: Any, service_module: ModuleType, repository: InMemoryTimelineRepository, case_id: str | None
) -> None:
    published = event(case_id=case_id, event_type="template.published")

    assert service.record(published) is service_module.Recorded.NOT_A_CASE_EVENT
    assert repository.entries_by_case == {}


def test_a_timeline_entry_exists_only_for_case_events(domain: ModuleType) -> None:
    opened = event()

    assert domain.TimelineEntry.of(opened) == domain.TimelineEntry(case_id="case-1", event=opened)
    assert domain.TimelineEntry.of(event(case_id=None, event_type="template.published")) is None


def test_staff_read_a_case_timeline_in_order(
    service: Any, domain: ModuleType, staff: TenantContext, repository: InMemoryTimelineRepository
) -> None:
    first, second = event(), event(event_type="case.stage_changed")
    service.record(first)
    service.record(second)
    service.record(event(case_id="case-2"))

    oldest = service.timeline(staff, "case-1", order=domain.Order.OLDEST_FIRST, limit=10, cursor=None)
    newest = service.timeline(staff, "case-1", order=domain.Order.NEWEST_FIRST, limit=10, cursor=None)

    assert oldest.items == [first, second]
    assert newest.items == [second, first]
    assert repository.queries[0] == {
        "case_id": "case-1",
        "order": domain.Order.OLDEST_FIRST,
        "limit": 10,
        "cursor": None,
    }


def test_admins_read_timelines_too(service: Any, domain: ModuleType, admin: TenantContext) -> None:
    service.record(event())

    assert len(service.timeline(admin, "case-1", order=domain.Order.OLDEST_FIRST, limit=5, cursor=None).items) == 1


def test_an_unknown_case_has_no_timeline(service: Any, domain: ModuleType, staff: TenantContext) -> None:
    service.record(event(case_id="case-2"))

    with pytest.raises(NotFoundError, match="case-1"):
        service.timeline(staff, "case-1", order=domain.Order.OLDEST_FIRST, limit=10, cursor=None)


def test_an_empty_later_page_is_not_an_error(service: Any, domain: ModuleType, staff: TenantContext) -> None:
    service.record(event())
    service.record(event(event_type="case.closed"))

    first = service.timeline(staff, "case-1", order=domain.Order.OLDEST_FIRST, limit=1, cursor=None)
    second = service.timeline(staff, "case-1", order=domain.Order.OLDEST_FIRST, limit=1, cursor=first.next_cursor)
    past_the_end = service.timeline(staff, "case-1", order=domain.Order.OLDEST_FIRST, limit=1, cursor="5")

    assert first.next_cursor == "1"
    assert [item.type for item in second.items] == ["case.closed"]
    assert second.next_cursor is None
    assert past_the_end.items == []


def test_a_caller_without_a_staff_role_is_forbidden(
    service: Any, domain: ModuleType, outsider: TenantContext, repository: InMemoryTimelineRepository
) -> None:
    service.record(event())

    with pytest.raises(ForbiddenError):
        service.timeline(outsider, "case-1", order=domain.Order.OLDEST_FIRST, limit=10, cursor=None)

    assert repository.queries == []


def test_forbidden_comes_before_not_found(service: Any, domain: ModuleType, outsider: TenantContext) -> None:
    with pytest.raises(ForbiddenError):
        service.timeline(outsider, "no-such-case", order=domain.Order.OLDEST_FIRST, limit=10, cursor=None)
