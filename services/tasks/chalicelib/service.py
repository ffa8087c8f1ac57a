"""Use cases of the task inbox: what each bus event does to it, a rebuild from the cases table, and the pages and
counts a caller asks for (only tasks on cases the caller may view)."""

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from caseline_common.access import principal_terms
from caseline_common.consumer import StatefulEvent
from caseline_common.contracts import CaseSnapshot, TaskStatus, TemplateDefinition
from caseline_common.errors import ConcurrentWriteError, ForbiddenError
from caseline_common.events import PORTAL_EVENTS, EventType, TemplatePublished, data_of
from caseline_common.pagination import Page
from caseline_common.tenant import Principal, StaffRole, TenantContext
from pydantic import BaseModel, ConfigDict, Field

from .domain.inbox import CaseNotProjectedError, InboxChange, InboxEntry, StoredCase, inbox_change, team_roles

# Reads and writes of a case's entries before a write that keeps losing to other consumers is left to the queue.
WRITE_ATTEMPTS = 3
# The team roles whose unassigned tasks the badge counts, so a caller in many groups costs a bounded number of calls.
MAX_TEAM_ROLES = 10


@dataclass(frozen=True)
class TaskFilter:
    """What a page of tasks is asked for; `assignee` is a subject ("me" already resolved)."""

    status: TaskStatus = TaskStatus.OPEN
    assignee: str | None = None
    role: str | None = None
    case_id: str | None = None
    template_key: str | None = None
    due_before: datetime | None = None
    unassigned: bool = False


class TaskInbox(Protocol):
    """Where the inbox is kept. `readers` filters to entries sharing a term with it; None (an admin) filters none."""

    def save_template(self, key: str, version: int, definition: TemplateDefinition) -> None: ...

    def template(self, key: str, version: int) -> TemplateDefinition | None: ...

    def role_groups(self) -> list[tuple[str, frozenset[str]]]: ...

    def stored_case(self, case_id: str) -> StoredCase | None: ...

    def apply(self, change: InboxChange, stored: StoredCase | None) -> None: ...

    def page(
        self, query: TaskFilter, readers: frozenset[str] | None, *, limit: int, cursor: str | None
    ) -> tuple[list[InboxEntry], str | None]: ...

    def count(self, query: TaskFilter, readers: frozenset[str] | None) -> tuple[int, bool]:
        """The number of entries, and whether it is exact (counting stops after a bounded number of Queries)."""
        ...


class TaskItem(BaseModel):
    """A task as a list shows it."""

    model_config = ConfigDict(
        defer_build=True,
        json_schema_extra={
            "examples": [
                {
                    "case_id": "01JF3Z8Q4V6W7X8Y9Z0A1B2C3D",
                    "task_id": "01JF3Z8H7C1Y8A925V0KZSQECP",
                    "title": "Acknowledge the claim to the policyholder",
                    "stage": "submitted",
                    "status": "open",
                    "required": True,
                    "assignee": None,
                    "assignee_role": "claims_handler",
                    "due_at": "2027-01-06T11:00:00Z",
                    "overdue": False,
                    "template_key": "insurance-claim",
                    "case_title": "Water damage from a burst pipe, Köln-Ehrenfeld",
                    "case_status": "open",
                }
            ]
        },
    )

    case_id: str
    task_id: str
    title: str
    stage: str
    status: TaskStatus
    required: bool
    assignee: str | None
    assignee_role: str | None
    due_at: datetime | None
    overdue: bool
    template_key: str
    case_title: str
    case_status: str


class TeamQueue(BaseModel):
    model_config = ConfigDict(defer_build=True)

    role: str
    unassigned: int


class TaskCounts(BaseModel):
    model_config = ConfigDict(
        defer_build=True,
        json_schema_extra={
            "examples": [
                {
                    "mine_open": 7,
                    "mine_overdue": 2,
                    "team_unassigned": 3,
                    "team": [{"role": "claims_handler", "unassigned": 3}],
                    "exact": True,
                }
            ]
        },
    )

    mine_open: int
    mine_overdue: int
    team_unassigned: int
    team: list[TeamQueue] = Field(description="The roles the caller holds through its groups, and their piles.")
    exact: bool = True  # False when a count stopped at its bound: the numbers are then at least these


class Consumed(StrEnum):
    PROJECTED = "projected"
    UNCHANGED = "unchanged"  # an older or repeated event
    TEMPLATE_KEPT = "template_kept"
    NOT_A_CASE_EVENT = "not_a_case_event"
    WITHOUT_CASE = "without_case"  # the case did not fit in the bus entry: the case's next event catches up


class InboxService:
    def __init__(self, inbox: TaskInbox, *, clock: Callable[[], datetime]) -> None:
        self._inbox, self._clock = inbox, clock
        # Event types handled otherwise than by projecting the case they carry: one entry per type.
        self._event_handlers: dict[str, Callable[[StatefulEvent], Consumed]] = {
            EventType.TEMPLATE_PUBLISHED: self._keep_template
        }

    # the projection

    def consume(self, event: StatefulEvent) -> Consumed:
        return self._event_handlers.get(event.type, self._project_event)(event)

    def _keep_template(self, event: StatefulEvent) -> Consumed:
        published = data_of(event, TemplatePublished)
        self.keep_template(published.template_key, published.version, published.definition)
        return Consumed.TEMPLATE_KEPT

    def keep_template(self, key: str, version: int, definition: TemplateDefinition) -> None:
        self._inbox.save_template(key, version, definition)

    def _project_event(self, event: StatefulEvent) -> Consumed:
        if event.case_id is None or event.type in PORTAL_EVENTS:  # the portal's own events never carry the case
            return Consumed.NOT_A_CASE_EVENT
        if event.case is None:
            return Consumed.WITHOUT_CASE
        return self.project(event.case)

    def project(self, case: CaseSnapshot, *, reconcile: bool = False) -> Consumed:
        """Sets the case's entries from its snapshot, if newer than what is stored (`reconcile`: or as new). A write
        another consumer got in before is read and tried again here, sooner than the queue would deliver it again."""
        template = self._inbox.template(case.template_key, case.template_version)
        if template is None:
            raise CaseNotProjectedError(f"template {case.template_key} v{case.template_version}")
        attempt = 1
        while True:
            stored = self._inbox.stored_case(case.id)
            change = inbox_change(stored, case, template, reconcile=reconcile)
            if change is None:
                return Consumed.UNCHANGED
            try:
                self._inbox.apply(change, stored)
                return Consumed.PROJECTED
            except ConcurrentWriteError:
                if attempt == WRITE_ATTEMPTS:
                    raise
                attempt += 1

    # what callers ask

    def tasks(self, tenant: TenantContext, query: TaskFilter, *, limit: int, cursor: str | None) -> Page[TaskItem]:
        readers = _readers(tenant.principal)
        if query.assignee == "me":
            query = replace(query, assignee=tenant.principal.subject)
        entries, next_cursor = self._inbox.page(query, readers, limit=limit, cursor=cursor)
        now = self._clock()
        return Page[TaskItem](items=[_item(entry, now) for entry in entries], next_cursor=next_cursor)

    def counts(self, tenant: TenantContext) -> TaskCounts:
        """Two counts of the caller's own open tasks and one per team role (at most MAX_TEAM_ROLES), each a
        bounded number of Queries, after one Query of the stored templates' roles."""
        principal = tenant.principal
        readers = _readers(principal)
        mine = TaskFilter(assignee=principal.subject)
        mine_open, open_exact = self._inbox.count(mine, readers)
        mine_overdue, overdue_exact = self._inbox.count(replace(mine, due_before=self._clock()), readers)
        roles = team_roles(self._inbox.role_groups(), principal.groups)
        team, team_exact = [], len(roles) <= MAX_TEAM_ROLES
        for role in roles[:MAX_TEAM_ROLES]:
            count, exact = self._inbox.count(TaskFilter(role=role, unassigned=True), readers)
            team.append(TeamQueue(role=role, unassigned=count))
            team_exact = team_exact and exact
        return TaskCounts(
            mine_open=mine_open,
            mine_overdue=mine_overdue,
            team_unassigned=sum(queue.unassigned for queue in team),
            team=team,
            exact=open_exact and overdue_exact and team_exact,
        )


def _readers(principal: Principal) -> frozenset[str] | None:
    """The caller's reader terms (None for an admin, who views every case); external callers are refused."""
    terms = principal_terms(principal)
    if not terms:
        raise ForbiddenError("The task inbox is for the tenant's staff and viewers (a Caseline group).")
    return None if principal.has_any(StaffRole.ADMIN) else terms


def _item(entry: InboxEntry, now: datetime) -> TaskItem:
    return TaskItem(
        case_id=entry.case_id,
        task_id=entry.task_id,
        title=entry.title,
        stage=entry.stage,
        status=entry.status,
        required=entry.required,
        assignee=entry.assignee,
        assignee_role=entry.assignee_role,
        due_at=entry.due_at,
        overdue=entry.overdue(now),
        template_key=entry.template_key,
        case_title=entry.case_title,
        case_status=entry.case_status,
    )
