"""The task inbox on DynamoDB (moto), on a table made from the real spec: the queues a task moves between, access
filtered in the Query, one Query per page at any volume, counts in a bounded number of calls, and writes that
cannot move a case's inbox backwards."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from caseline_common.aws import AwsClients
from caseline_common.consumer import StatefulEvent
from caseline_common.contracts import CaseSnapshot, CaseStatus, Task, TaskStatus, TemplateDefinition
from caseline_common.envelope import Actor, ActorKind, new_id
from caseline_common.errors import ConcurrentWriteError, InvalidCursorError
from caseline_common.events import EventType
from caseline_common.resources import TASKS_TABLE, TenantResourceNames
from caseline_common.tenant import Principal, TenantContext
from moto import mock_aws
from narrowing import present
from service_modules import loaded_module

from caseline.local.provision import _create_table

from .support import recording

if TYPE_CHECKING:
    from services.tasks.chalicelib import service
    from services.tasks.chalicelib.adapters import dynamo_inbox
    from services.tasks.chalicelib.domain import inbox as domain
else:
    domain = loaded_module("tasks", "chalicelib.domain.inbox")
    service = loaded_module("tasks", "chalicelib.service")
    dynamo_inbox = loaded_module("tasks", "chalicelib.adapters.dynamo_inbox")

NOW = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
ACTOR = Actor(kind=ActorKind.USER, id="dev-alex")
ALEX = Principal(subject="dev-alex", groups=frozenset({"caseline-staff", "handlers"}))
BLAKE = Principal(subject="dev-blake", groups=frozenset({"caseline-staff", "handlers"}))
OUTSIDER = Principal(subject="dev-olly", groups=frozenset({"caseline-staff", "sales"}))
TEMPLATE = TemplateDefinition.model_validate(
    {
        "key": "claim",
        "name": "Claim",
        "stages": [{"key": "intake", "name": "Intake"}, {"key": "done", "name": "Done", "next": []}],
        "roles": [
            {"key": "handler", "name": "Handler", "permissions": ["case.view"], "groups": ["handlers"]},
            {"key": "expert", "name": "Expert", "permissions": ["case.view"], "groups": ["experts"]},
        ],
    }
)


def task(number: int, **changes: Any) -> Task:
    values: dict[str, Any] = {
        "id": f"01JPTASK{number:018d}",
        "title": f"Task {number}",
        "stage": "intake",
        "required": True,
        "assignee_role": "handler",
        "created_at": NOW,
        "created_by": "dev-alex",
    }
    return Task.model_validate(values | changes)


def case(case_id: str, version: int, tasks: list[Task], **changes: Any) -> CaseSnapshot:
    values: dict[str, Any] = {
        "id": case_id,
        "tenant_id": "acme",
        "template_key": "claim",
        "template_version": 1,
        "title": f"Case {case_id[-4:]}",
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


def event(snapshot: CaseSnapshot) -> StatefulEvent:
    return StatefulEvent(
        event_id=new_id(),
        tenant_id="acme",
        case_id=snapshot.id,
        type=EventType.TASK_ASSIGNED,
        occurred_at=NOW,
        actor=ACTOR,
        correlation_id=new_id(),
        case=snapshot,
    )


def context(principal: Principal) -> TenantContext:
    return TenantContext(tenant_id="acme", principal=principal, correlation_id=new_id())


@dataclass
class Inbox:
    tasks: "service.InboxService"
    store: "dynamo_inbox.DynamoTaskInbox"
    client: Any

    def titles(self, principal: Principal, **query: Any) -> list[str]:
        """Every page of the query; each page must be exactly one Query."""
        found, cursor = [], None
        while True:
            with recording(self.client) as calls:
                page = self.tasks.tasks(context(principal), service.TaskFilter(**query), limit=3, cursor=cursor)
            assert calls.operations == ["Query"], calls.operations
            found += [item.title for item in page.items]
            cursor = page.next_cursor
            if cursor is None:
                return found


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    with mock_aws():
        aws = AwsClients("eu-west-1")
        names = TenantResourceNames(tenant_id="tasks")
        _create_table(aws, names, TASKS_TABLE)
        client = aws.dynamodb()
        store = dynamo_inbox.DynamoTaskInbox(client, names.table(TASKS_TABLE))
        tasks = service.InboxService(store, clock=lambda: NOW)
        tasks.keep_template("claim", 1, TEMPLATE)
        yield Inbox(tasks, store, client)


CASE = "01JPCASE000000000000000001"


def test_a_task_moves_between_inboxes_as_it_is_assigned_reassigned_completed_and_reopened(inbox: Inbox) -> None:
    inbox.tasks.project(case(CASE, 1, [task(1)]))
    assert inbox.titles(ALEX, role="handler", unassigned=True) == ["Task 1"]
    inbox.tasks.project(case(CASE, 2, [task(1, assignee="dev-alex")]))
    assert (inbox.titles(ALEX, assignee="dev-alex"), inbox.titles(ALEX, role="handler", unassigned=True)) == (
        ["Task 1"],
        [],
    )
    inbox.tasks.project(case(CASE, 3, [task(1, assignee="dev-blake")]))
    assert (inbox.titles(ALEX, assignee="dev-alex"), inbox.titles(BLAKE, assignee="me")) == ([], ["Task 1"])
    inbox.tasks.project(case(CASE, 4, [task(1, assignee="dev-blake", status=TaskStatus.DONE)]))
    assert inbox.titles(BLAKE, assignee="me") == []
    assert inbox.titles(BLAKE, assignee="me", status=TaskStatus.DONE) == ["Task 1"]
    inbox.tasks.project(case(CASE, 5, [task(1, assignee="dev-blake")]))
    assert inbox.titles(BLAKE, assignee="me") == ["Task 1"]
    assert inbox.titles(BLAKE, assignee="me", status=TaskStatus.DONE) == []


def test_queues_are_sorted_by_due_date_and_filtered_in_the_query(inbox: Inbox) -> None:
    other = "01JPCASE000000000000000002"
    inbox.tasks.project(
        case(
            CASE,
            1,
            [
                task(1, due_at=NOW + timedelta(days=2)),
                task(2),
                task(3, due_at=NOW - timedelta(days=1), assignee="dev-alex"),
                task(4, assignee_role="expert", due_at=NOW),
            ],
        )
    )
    inbox.tasks.project(case(other, 1, [task(5, due_at=NOW + timedelta(days=1))]))
    assert inbox.titles(ALEX, role="handler") == ["Task 3", "Task 5", "Task 1", "Task 2"]
    assert inbox.titles(ALEX, role="handler", due_before=NOW + timedelta(days=1, seconds=1)) == ["Task 3", "Task 5"]
    assert inbox.titles(ALEX, role="expert") == ["Task 4"]
    assert inbox.titles(ALEX) == ["Task 3", "Task 4", "Task 5", "Task 1", "Task 2"], "by status: every queued task"
    assert inbox.titles(ALEX, case_id=other) == ["Task 5"]
    assert inbox.titles(ALEX, case_id=CASE, role="expert") == ["Task 4"]
    assert inbox.titles(ALEX, assignee="me", template_key="other") == []
    page = inbox.tasks.tasks(context(ALEX), service.TaskFilter(role="handler"), limit=1, cursor=None)
    assert (page.items[0].overdue, page.items[0].case_title) == (True, "Case 0001")
    with pytest.raises(InvalidCursorError):
        inbox.tasks.tasks(context(ALEX), service.TaskFilter(role="expert"), limit=1, cursor=page.next_cursor)


def test_a_caller_outside_the_case_sees_none_of_its_tasks(inbox: Inbox) -> None:
    inbox.tasks.project(case(CASE, 1, [task(1, assignee="dev-olly"), task(2)]))
    for query in ({"role": "handler"}, {"assignee": "me"}, {}, {"case_id": CASE}):
        assert inbox.titles(OUTSIDER, **query) == [], query
    assert inbox.titles(ALEX, case_id=CASE) == ["Task 1", "Task 2"]


def test_counts_take_a_bounded_number_of_queries(inbox: Inbox) -> None:
    inbox.tasks.project(
        case(
            CASE,
            1,
            [task(1, assignee="dev-alex", due_at=NOW - timedelta(hours=1)), task(2, assignee="dev-alex"), task(3)],
        )
    )
    with recording(inbox.client) as calls:
        counts = inbox.tasks.counts(context(ALEX))
    assert (counts.mine_open, counts.mine_overdue, counts.team_unassigned, counts.exact) == (2, 1, 1, True)
    assert calls.operations == ["Query"] * 4, "the team roles, my open, my overdue, one per team role (handler)"


def test_a_case_with_more_changes_than_a_transaction_takes_is_written_whole(inbox: Inbox) -> None:
    many = [task(number) for number in range(1, 231)]
    with recording(inbox.client) as calls:
        inbox.tasks.project(case(CASE, 1, many))
    assert calls.operations.count("TransactWriteItems") == 3
    stored = present(inbox.store.stored_case(CASE))
    assert (stored.version, stored.revision, len(stored.entries)) == (1, 3, 230)
    with recording(inbox.client) as calls:
        inbox.tasks.project(case(CASE, 2, [*many[:-1], task(230, assignee="dev-alex")]))
    written = calls.operations
    assert written == ["Query", "TransactWriteItems"], "reads the case, writes the head and the one changed task"


def test_a_write_from_a_stale_read_is_refused(inbox: Inbox) -> None:
    inbox.tasks.project(case(CASE, 1, [task(1)]))
    stale = inbox.store.stored_case(CASE)
    inbox.tasks.project(case(CASE, 3, [task(1, assignee="dev-blake")]))
    for older in (case(CASE, 2, [task(1, assignee="dev-alex")]), case(CASE, 2, [task(1)])):  # entries; head only
        with pytest.raises(ConcurrentWriteError):
            inbox.store.apply(present(domain.inbox_change(stale, older, TEMPLATE)), stale)
    assert inbox.titles(BLAKE, assignee="me") == ["Task 1"]
