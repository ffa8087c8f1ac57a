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
    return Reply(inbox_service().counts(call.tenant()))
