"""HTTP routes of the task inbox: a page of tasks, and the counts the console's badges show."""

from datetime import datetime

from caseline_common.contracts import Key, TaskStatus, TemplateKey
from caseline_common.http import Call, Reply
from caseline_common.pagination import Page
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..runtime import inbox_service
from ..service import TaskCounts, TaskFilter, TaskItem
from . import http


class TaskQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    assignee: str | None = Field(
        default=None, min_length=1, max_length=256, description='"me", or a person\'s subject.'
    )
    role: Key | None = Field(default=None, description="An assignee role's key: that role's queue.")
    status: TaskStatus = TaskStatus.OPEN
    unassigned: bool = Field(default=False, description="Only tasks nobody is assigned to (a team queue's pile).")
    due_before: datetime | None = Field(default=None, description="Due before (ISO 8601 with offset).")
    template_key: TemplateKey | None = None
    case_id: str | None = Field(default=None, min_length=1, max_length=64)
    limit: int = Field(default=25, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=2048)

    @field_validator("due_before")
    @classmethod
    def _offset(cls, moment: datetime | None) -> datetime | None:
        if moment is not None and moment.tzinfo is None:
            raise ValueError("due_before needs a time zone offset, e.g. 2027-01-04T09:00:00Z")
        return moment

    def to_filter(self) -> TaskFilter:
        return TaskFilter(
            status=self.status,
            assignee=self.assignee,
            role=self.role,
            case_id=self.case_id,
            template_key=self.template_key,
            due_before=self.due_before,
            unassigned=self.unassigned,
        )


@http.operation(
    "GET",
    "/tasks",
    summary="Tasks on the cases you may view, by assignee, role or status; soonest due (overdue) first",
    query=TaskQuery,
    response=Page[TaskItem],
    errors=(400, 403, 422),
)
def list_tasks(call: Call) -> Reply:
    """The task inbox: tasks of the cases the caller may view, from the tasks service's projection of case events
    (a second or so behind a change). `assignee=me` (or a subject) for someone's tasks, `role` for a role's queue and
    `unassigned=true` for its pile; `status` (`open` by default, or `done`), `due_before`, `template_key`, `case_id`.
    Soonest due first, so overdue tasks lead and undated ones come last; with `case_id`, in the order the case made
    them. Open tasks of a closed or cancelled case leave every queue. A page is one query: it may hold fewer than
    `limit` tasks, even none, and still have a `next_cursor`.

    **Who:** `caseline-admins` and `caseline-viewers` (every case), and `caseline-staff` (the cases where a role from
    their groups or participation has `case.view`); external callers get 403. Changes nothing: a task is taken from
    a queue with `POST /cases/{case_id}/tasks/{task_id}/assignment`.

    **Errors:** 403 without a Caseline group; 422 for invalid parameters; 400 for a cursor of another query.
    """
    query = call.query_as(TaskQuery)
    page = inbox_service().tasks(call.tenant(), query.to_filter(), limit=query.limit, cursor=query.cursor)
    return Reply(page)


@http.operation(
    "GET",
    "/tasks/counts",
    summary="Your open and overdue tasks, and your teams' unassigned ones",
    response=TaskCounts,
    errors=(403,),
)
def task_counts(call: Call) -> Reply:
    """The console's badges: the caller's open tasks and how many of them are overdue, and for each role the caller
    holds through their groups in a published template (their teams; at most 10 are counted) the open tasks nobody
    is assigned to. Each count reads a bounded number of index pages: `exact: false` says one stopped there, and the
    numbers are then lower bounds.

    **Who:** `caseline-admins`, `caseline-staff` and `caseline-viewers`, counting only tasks on cases they may view;
    external callers get 403. Changes nothing.
    """
    return Reply(inbox_service().counts(call.tenant()))
