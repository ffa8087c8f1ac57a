"""The task inbox without AWS: entries kept from case snapshots in any order, the queues a task moves between as
it is assigned, reassigned, completed and reopened, a role's queue, access, and the badge counts."""

import random
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from caseline_common.consumer import StatefulEvent
from caseline_common.contracts import (
    CaseSnapshot,
    CaseStatus,
    Participant,
    ParticipantKind,
    Task,
    TaskStatus,
    TemplateDefinition,
)
from caseline_common.envelope import Actor, ActorKind, new_id
from caseline_common.errors import ConcurrentWriteError, ForbiddenError
from caseline_common.events import EventType
from caseline_common.tenant import Principal, TenantContext
from narrowing import present
from service_modules import loaded_module

if TYPE_CHECKING:
    from services.tasks.chalicelib import service
    from services.tasks.chalicelib.domain import inbox
else:
    inbox = loaded_module("tasks", "chalicelib.domain.inbox")
    service = loaded_module("tasks", "chalicelib.service")

NOW = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
CASE_ID, OTHER_CASE = "01JPCASE0000000000000000AA", "01JPCASE0000000000000000BB"
ACTOR = Actor(kind=ActorKind.USER, id="dev-alex")
ALEX = Principal(subject="dev-alex", groups=frozenset({"caseline-staff", "handlers"}))
BLAKE = Principal(subject="dev-blake", groups=frozenset({"caseline-staff", "handlers"}))
OUTSIDER = Principal(subject="dev-olly", groups=frozenset({"caseline-staff", "sales"}))
ADMIN = Principal(subject="dev-admin", groups=frozenset({"caseline-admins"}))
EXTERNAL = Principal(subject="01JPIVY0000000000000000000", external=True)

TEMPLATE = TemplateDefinition.model_validate(
    {
        "key": "claim",
        "name": "Claim",
        "stages": [{"key": "intake", "name": "Intake"}, {"key": "done", "name": "Done", "next": []}],
        "roles": [
            {
                "key": "handler",
                "name": "Handler",
                "permissions": ["case.view", "task.complete"],
                "groups": ["handlers"],
            },
            {"key": "expert", "name": "Expert", "permissions": ["case.view"]},
        ],
    }
)


def task(number: int, **changes: Any) -> Task:
    values: dict[str, Any] = {
        "id": f"01JPTASK00000000000000000{number}",
        "title": f"Task {number}",
        "stage": "intake",
        "required": True,
        "assignee_role": "handler",
        "created_at": NOW,
        "created_by": "dev-alex",
    }
    return Task.model_validate(values | changes)


def case(version: int, tasks: list[Task], *, case_id: str = CASE_ID, **changes: Any) -> CaseSnapshot:
    values: dict[str, Any] = {
        "id": case_id,
        "tenant_id": "acme",
        "template_key": "claim",
        "template_version": 1,
        "title": "Bike claim",
        "owner": "dev-alex",
        "stage": "intake",
        "stage_entered_at": NOW,
        "status": CaseStatus.OPEN,
        "fields": {},
        "tasks": tasks,
        "created_at": NOW,
        "created_by": "dev-alex",
        "updated_at": NOW,
        "version": version,
    }
    return CaseSnapshot.model_validate(values | changes)


def event(snapshot: CaseSnapshot | None, event_type: str = EventType.TASK_ASSIGNED) -> StatefulEvent:
    return StatefulEvent(
        event_id=new_id(),
        tenant_id="acme",
        case_id=CASE_ID,
        type=event_type,
        occurred_at=NOW,
        actor=ACTOR,
        correlation_id=new_id(),
        case=snapshot,
    )


def published(definition: TemplateDefinition = TEMPLATE, version: int = 1) -> StatefulEvent:
    data = {"template_key": definition.key, "version": version, "name": definition.name}
    return StatefulEvent(
        event_id=new_id(),
        tenant_id="acme",
        type=EventType.TEMPLATE_PUBLISHED,
        occurred_at=NOW,
        actor=ACTOR,
        correlation_id=new_id(),
        data=data | {"definition": definition.model_dump(mode="json")},
    )


def _order(entry: "inbox.InboxEntry") -> tuple[str, str, str]:
    due = entry.due_at.isoformat() if entry.due_at else "~"
    return due, entry.case_id, entry.task_id


@dataclass
class InMemoryTaskInbox:
    """The port as the DynamoDB adapter keeps it: a case's head and entries; queues list only queued entries."""

    templates: dict[tuple[str, int], TemplateDefinition] = field(default_factory=dict)
    cases: dict[str, "inbox.StoredCase"] = field(default_factory=dict)
    pages: int = 0
    # what other consumers write just before the next `stored_case` returns, to race this one
    others: list["inbox.StoredCase"] = field(default_factory=list)

    def save_template(self, key: str, version: int, definition: TemplateDefinition) -> None:
        self.templates[(key, version)] = definition

    def template(self, key: str, version: int) -> TemplateDefinition | None:
        return self.templates.get((key, version))

    def role_groups(self) -> list[tuple[str, frozenset[str]]]:
        return [(role.key, frozenset(role.groups)) for each in self.templates.values() for role in each.roles]

    def stored_case(self, case_id: str) -> "inbox.StoredCase | None":
        found = self.cases.get(case_id)
        if self.others:
            self.cases[case_id] = self.others.pop(0)
        return found

    def apply(self, change: "inbox.InboxChange", stored: "inbox.StoredCase | None") -> None:
        if self.cases.get(change.case_id) is not stored:
            raise ConcurrentWriteError(f"the inbox of case {change.case_id} changed meanwhile")
        entries = {**(stored.entries if stored else {}), **{entry.task_id: entry for entry in change.put}}
        for task_id in change.delete:
            del entries[task_id]
        revision = (stored.revision if stored else 0) + 1
        self.cases[change.case_id] = inbox.StoredCase(version=change.version, revision=revision, entries=entries)

    def _matching(self, query: "service.TaskFilter", readers: frozenset[str] | None) -> list["inbox.InboxEntry"]:
        found = []
        for stored in self.cases.values():
            for entry in stored.entries.values():
                checks = [
                    entry.status is query.status,
                    query.case_id is not None or entry.queued,
                    query.case_id in (None, entry.case_id),
                    query.assignee in (None, entry.assignee),
                    query.role in (None, entry.assignee_role),
                    query.template_key in (None, entry.template_key),
                    query.due_before is None or (entry.due_at is not None and entry.due_at < query.due_before),
                    not query.unassigned or entry.assignee is None,
                    readers is None or bool(readers & entry.readers),
                ]
                if all(checks):
                    found.append(entry)
        return sorted(found, key=_order)

    def page(
        self, query: "service.TaskFilter", readers: frozenset[str] | None, *, limit: int, cursor: str | None
    ) -> tuple[list["inbox.InboxEntry"], str | None]:
        self.pages += 1
        found, start = self._matching(query, readers), int(cursor or 0)
        more = start + limit < len(found)
        return found[start : start + limit], str(start + limit) if more else None

    def count(self, query: "service.TaskFilter", readers: frozenset[str] | None) -> tuple[int, bool]:
        return len(self._matching(query, readers)), True


@pytest.fixture
def store() -> InMemoryTaskInbox:
    return InMemoryTaskInbox()


@pytest.fixture
def tasks(store: InMemoryTaskInbox) -> "service.InboxService":
    inbox_service = service.InboxService(store, clock=lambda: NOW)
    assert inbox_service.consume(published()) is service.Consumed.TEMPLATE_KEPT
    return inbox_service


def context(principal: Principal) -> TenantContext:
    return TenantContext(tenant_id="acme", principal=principal, correlation_id=new_id())


def titles(tasks: "service.InboxService", principal: Principal, **query: Any) -> list[str]:
    page = tasks.tasks(context(principal), service.TaskFilter(**query), limit=100, cursor=None)
    return [item.title for item in page.items]


def test_a_task_moves_between_inboxes_as_it_is_assigned_reassigned_completed_and_reopened(
    tasks: "service.InboxService",
) -> None:
    tasks.consume(event(case(1, [task(1)]), EventType.CASE_OPENED))
    assert titles(tasks, ALEX, role="handler") == ["Task 1"]
    assert titles(tasks, ALEX, role="handler", unassigned=True) == ["Task 1"]
    assert titles(tasks, ALEX, assignee="me") == []

    tasks.consume(event(case(2, [task(1, assignee="dev-alex")])))
    assert titles(tasks, ALEX, assignee="me") == ["Task 1"]
    assert titles(tasks, ALEX, role="handler", unassigned=True) == []

    tasks.consume(event(case(3, [task(1, assignee="dev-blake")])))
    assert titles(tasks, ALEX, assignee="me") == []
    assert titles(tasks, BLAKE, assignee="me") == ["Task 1"]
    assert titles(tasks, ALEX, assignee="dev-blake") == ["Task 1"], "another's inbox, on a case Alex may view"

    done = task(1, assignee="dev-blake", status=TaskStatus.DONE, completed_at=NOW, completed_by="dev-blake")
    tasks.consume(event(case(4, [done]), EventType.TASK_COMPLETED))
    assert titles(tasks, BLAKE, assignee="me") == []
    assert titles(tasks, BLAKE, assignee="me", status=TaskStatus.DONE) == ["Task 1"]
    assert titles(tasks, ALEX, role="handler") == []

    tasks.consume(event(case(5, [task(1, assignee="dev-blake")]), EventType.TASK_REOPENED))
    assert titles(tasks, BLAKE, assignee="me") == ["Task 1"]
    assert titles(tasks, BLAKE, assignee="me", status=TaskStatus.DONE) == []


def test_a_roles_queue_holds_that_roles_tasks_soonest_due_first_undated_last(tasks: "service.InboxService") -> None:
    snapshot = case(
        1,
        [
            task(1, due_at=NOW + timedelta(days=3)),
            task(2),
            task(3, due_at=NOW - timedelta(days=1), assignee="dev-blake"),
            task(4, assignee_role="expert", due_at=NOW),
        ],
    )
    tasks.consume(event(snapshot, EventType.CASE_OPENED))
    assert titles(tasks, ALEX, role="handler") == ["Task 3", "Task 1", "Task 2"]
    assert titles(tasks, ALEX, role="handler", unassigned=True) == ["Task 1", "Task 2"]
    assert titles(tasks, ALEX, role="expert") == ["Task 4"]
    assert titles(tasks, ALEX, role="handler", due_before=NOW) == ["Task 3"]
    page = tasks.tasks(context(ALEX), service.TaskFilter(role="handler"), limit=100, cursor=None)
    assert [item.overdue for item in page.items] == [True, False, False]
    assert (page.items[0].case_title, page.items[0].template_key, page.items[0].stage) == (
        "Bike claim",
        "claim",
        "intake",
    )


def test_a_caller_outside_the_case_sees_none_of_its_tasks(tasks: "service.InboxService") -> None:
    tasks.consume(event(case(1, [task(1, assignee="dev-olly"), task(2)]), EventType.CASE_OPENED))
    for query in ({"role": "handler"}, {"assignee": "me"}, {}, {"case_id": CASE_ID}):
        assert titles(tasks, OUTSIDER, **query) == [], query
    assert titles(tasks, ALEX, case_id=CASE_ID) == ["Task 1", "Task 2"]
    assert titles(tasks, ADMIN) == ["Task 1", "Task 2"], "an admin views every case"
    assert tasks.counts(context(OUTSIDER)).model_dump() == {
        "mine_open": 0,
        "mine_overdue": 0,
        "team_unassigned": 0,
        "team": [],
        "exact": True,
    }
    expert = Participant(
        id="01JPPART00000000000000000A", kind=ParticipantKind.INTERNAL, role="expert", user_id="dev-olly",
        added_at=NOW, added_by="dev-alex",
    )  # fmt: skip
    tasks.consume(event(case(2, [task(1, assignee="dev-olly"), task(2)], participants=[expert])))
    assert titles(tasks, OUTSIDER, assignee="me") == ["Task 1"], "taking part in the case lets Olly view it"
    with pytest.raises(ForbiddenError):
        titles(tasks, EXTERNAL)


def test_the_open_tasks_of_a_closed_case_leave_the_queues_and_come_back_when_it_reopens(
    tasks: "service.InboxService",
) -> None:
    done = task(2, status=TaskStatus.DONE, assignee="dev-alex")
    tasks.consume(event(case(1, [task(1, assignee="dev-alex"), done]), EventType.CASE_OPENED))
    tasks.consume(event(case(2, [task(1, assignee="dev-alex"), done], status=CaseStatus.CLOSED)))
    assert titles(tasks, ALEX, assignee="me") == []
    assert titles(tasks, ALEX, assignee="me", status=TaskStatus.DONE) == ["Task 2"], "what was done stays listed"
    assert titles(tasks, ALEX, case_id=CASE_ID) == ["Task 1"], "the case's own tasks still show it"
    tasks.consume(event(case(3, [task(1, assignee="dev-alex"), done])))
    assert titles(tasks, ALEX, assignee="me") == ["Task 1"]


def test_counts_are_my_open_and_overdue_tasks_and_my_teams_unassigned_ones(tasks: "service.InboxService") -> None:
    snapshot = case(
        1,
        [
            task(1, assignee="dev-alex", due_at=NOW - timedelta(hours=1)),
            task(2, assignee="dev-alex"),
            task(3),
            task(4, assignee_role="expert"),
        ],
    )
    tasks.consume(event(snapshot, EventType.CASE_OPENED))
    counts = tasks.counts(context(ALEX))
    assert (counts.mine_open, counts.mine_overdue, counts.team_unassigned) == (2, 1, 1), "expert is no team of Alex"
    assert [(queue.role, queue.unassigned) for queue in counts.team] == [("handler", 1)]


def test_pages_follow_their_cursor_one_page_a_call(store: InMemoryTaskInbox, tasks: "service.InboxService") -> None:
    tasks.consume(event(case(1, [task(number) for number in range(1, 6)]), EventType.CASE_OPENED))
    seen, cursor = [], None
    while True:
        page = tasks.tasks(context(ALEX), service.TaskFilter(role="handler"), limit=2, cursor=cursor)
        seen += [item.title for item in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [f"Task {number}" for number in range(1, 6)]
    assert store.pages == 3


def test_an_event_without_its_case_or_before_its_template_is_not_applied(store: InMemoryTaskInbox) -> None:
    tasks = service.InboxService(store, clock=lambda: NOW)
    with pytest.raises(inbox.CaseNotProjectedError):
        tasks.consume(event(case(1, [task(1)]), EventType.CASE_OPENED))
    assert tasks.consume(event(None)) is service.Consumed.WITHOUT_CASE
    assert tasks.consume(event(None, EventType.PORTAL_LINK_ISSUED)) is service.Consumed.NOT_A_CASE_EVENT, (
        "the portal's own events never carry the case: nothing is missing"
    )
    assert store.cases == {}


def test_a_write_another_consumer_got_in_before_is_read_and_tried_again(store: InMemoryTaskInbox) -> None:
    tasks = service.InboxService(store, clock=lambda: NOW)
    tasks.keep_template("claim", 1, TEMPLATE)
    tasks.project(case(1, [task(1)]))
    newer = case(3, [task(1, assignee="dev-blake")])
    change = present(inbox.inbox_change(store.cases[CASE_ID], newer, TEMPLATE))
    entries = {**store.cases[CASE_ID].entries, **{entry.task_id: entry for entry in change.put}}
    store.others = [inbox.StoredCase(version=3, revision=2, entries=entries)]
    assert tasks.project(case(2, [task(1, assignee="dev-alex")])) is service.Consumed.UNCHANGED, "newer got in first"
    assert store.cases[CASE_ID].entries[task(1).id].assignee == "dev-blake"
    store.others = [replace(store.cases[CASE_ID]) for _ in range(service.WRITE_ATTEMPTS)]  # each a new write
    with pytest.raises(ConcurrentWriteError):  # left to the queue, which delivers the event again
        tasks.project(case(4, [task(1)]))


def history() -> list[StatefulEvent]:
    steps = [
        [task(1)],
        [task(1, assignee="dev-alex"), task(2, due_at=NOW)],
        [task(1, assignee="dev-blake"), task(2, due_at=NOW)],
        [task(1, assignee="dev-blake", status=TaskStatus.DONE), task(2, due_at=NOW, assignee_role="expert")],
        [task(1, assignee="dev-blake"), task(3)],
    ]
    return [event(case(version, each, title=f"Claim v{version}")) for version, each in enumerate(steps, start=1)]


def project(events: list[StatefulEvent]) -> InMemoryTaskInbox:
    store = InMemoryTaskInbox()
    tasks = service.InboxService(store, clock=lambda: NOW)
    tasks.consume(published())
    for each in events:
        tasks.consume(each)
    return store


def state(store: InMemoryTaskInbox) -> dict[str, Any]:
    return {
        case_id: (stored.version, {task_id: entry.model_dump() for task_id, entry in stored.entries.items()})
        for case_id, stored in store.cases.items()
    }


def test_applying_an_event_twice_changes_nothing() -> None:
    events = history()
    store = project(events)
    before = state(store)
    tasks = service.InboxService(store, clock=lambda: NOW)
    for each in events:
        assert tasks.consume(each) is service.Consumed.UNCHANGED, each.case
    assert state(store) == before


def test_any_order_of_arrival_gives_the_same_inbox() -> None:
    events = history()
    expected = state(project(events))
    shuffler = random.Random(7)
    for _ in range(60):
        shuffled = events[:]
        shuffler.shuffle(shuffled)
        assert state(project(shuffled)) == expected, [each.case.version for each in shuffled if each.case]
    late = [*events, *reversed(events)]  # every older event once more after the newest
    assert state(project(late)) == expected


def test_an_older_change_after_a_newer_one_is_ignored() -> None:
    events = history()
    store = project([events[0], events[2]])
    tasks = service.InboxService(store, clock=lambda: NOW)
    assert tasks.consume(events[1]) is service.Consumed.UNCHANGED
    [entry] = [each for each in store.cases[CASE_ID].entries.values() if each.task_id == task(1).id]
    assert (entry.assignee, entry.case_title, entry.case_version) == ("dev-blake", "Claim v3", 3)


def test_only_entries_an_event_changes_are_written() -> None:
    first = case(1, [task(1), task(2)])
    change = present(inbox.inbox_change(None, first, TEMPLATE))
    assert len(change.put) == 2
    stored = inbox.StoredCase(version=1, revision=1, entries={entry.task_id: entry for entry in change.put})
    change = present(inbox.inbox_change(stored, case(2, [task(1, assignee="dev-alex")]), TEMPLATE))
    assert ([entry.task_id for entry in change.put], change.delete) == ([task(1).id], (task(2).id,))
    same = present(inbox.inbox_change(stored, case(2, [task(1), task(2)]), TEMPLATE))
    assert (same.put, same.delete, same.version) == ((), (), 2), "only the version moves on"
    assert inbox.inbox_change(stored, first, TEMPLATE, reconcile=True) is None, (
        "a rebuild of what is there writes nothing"
    )
