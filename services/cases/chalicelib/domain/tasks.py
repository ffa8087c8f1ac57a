"""Tasks on a case: ad hoc ones added with a reason, completed, reopened and assigned."""

from caseline_common.contracts import Key, Permission, Task, TaskStatus
from caseline_common.errors import ConflictError, ForbiddenError, NotFoundError
from caseline_common.events import EventType
from pydantic import AwareDatetime, ConfigDict, Field

from .work import MAX_TASKS, CaseWork, Change, Prose, ReasonRequest, Request, Subject, Title, issue, task_summary


class AddTaskRequest(Request):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "title": "Ask the garage for photos of the rear bumper",
                    "reason": "The estimate replaces the bumper, which the policyholder's photos do not show.",
                    "assignee_role": "claims_handler",
                    "due_at": "2026-12-03T17:00:00Z",
                    "required": True,
                }
            ]
        }
    )

    title: Title
    reason: Prose = Field(description="Why this ad hoc task is needed.")
    assignee: Subject | None = None
    assignee_role: Key | None = None
    due_at: AwareDatetime | None = None
    required: bool = False


class AssignTaskRequest(Request):
    model_config = ConfigDict(json_schema_extra={"examples": [{"assignee": "8a2d6f1c-4b3e-4f7a-9c1d-2e5f8a0b3c6d"}]})

    assignee: Subject | None = None
    assignee_role: Key | None = None


def _task(work: CaseWork, task_id: str) -> Task:
    for task in work.case.tasks:
        if task.id == task_id:
            return task
    raise NotFoundError(f"No task {task_id} on this case.")


def _replace_task(work: CaseWork, updated: Task) -> list[Task]:
    return [updated if task.id == updated.id else task for task in work.case.tasks]


def _check_assignee_role(work: CaseWork, role: str | None) -> None:
    if role is not None and role not in {each.key for each in work.definition.roles}:
        raise issue("/assignee_role", f'unknown role "{role}"')


def add_task(work: CaseWork, request: AddTaskRequest) -> Change:
    work.access.require(Permission.TASK_MANAGE, "add tasks")
    work.require_open()
    _check_assignee_role(work, request.assignee_role)
    if len(work.case.tasks) >= MAX_TASKS:
        raise ConflictError(f"A case holds at most {MAX_TASKS} tasks.", current_version=work.case.version)
    task = Task(
        id=work.new_id(),
        title=request.title.strip(),
        stage=work.case.stage,
        required=request.required,
        assignee=request.assignee,
        assignee_role=request.assignee_role,
        due_at=request.due_at,
        created_at=work.now,
        created_by=work.subject,
        reason=request.reason.strip(),
    )
    return work.change(
        EventType.TASK_CREATED,
        {
            **task_summary(task),
            "reason": task.reason,
            "assignee": task.assignee,
            "assignee_role": task.assignee_role,
        },
        tasks=[*work.case.tasks, task],
    )


def complete_task(work: CaseWork, task_id: str) -> Change:
    work.access.require(Permission.TASK_COMPLETE, "complete tasks")
    work.require_open()
    task = _task(work, task_id)
    if work.context.principal.external and task.assignee_role not in work.access.role_keys():
        # staff with task.complete may finish any task; someone outside the team, only what was asked of them
        raise ForbiddenError("Only the tasks of your own role can be marked done here.")
    if task.status is TaskStatus.DONE:
        raise ConflictError(f'Task "{task.title}" is already done.', current_version=work.case.version)
    done = task.model_copy(update={"status": TaskStatus.DONE, "completed_at": work.now, "completed_by": work.subject})
    return work.change(
        EventType.TASK_COMPLETED,
        {"task_id": task.id, "key": task.key, "title": task.title, "before": "open", "after": "done"},
        tasks=_replace_task(work, done),
    )


def reopen_task(work: CaseWork, task_id: str, request: ReasonRequest) -> Change:
    work.access.require(Permission.TASK_MANAGE, "reopen tasks")
    work.require_open()
    task = _task(work, task_id)
    if task.status is TaskStatus.OPEN:
        raise ConflictError(f'Task "{task.title}" is already open.', current_version=work.case.version)
    reason = work.require_reason(request.reason, "reopen a task")
    reopened = task.model_copy(update={"status": TaskStatus.OPEN, "completed_at": None, "completed_by": None})
    return work.change(
        EventType.TASK_REOPENED,
        {"task_id": task.id, "title": task.title, "before": "done", "after": "open", "reason": reason},
        tasks=_replace_task(work, reopened),
    )


def assign_task(work: CaseWork, task_id: str, request: AssignTaskRequest) -> Change:
    work.access.require(Permission.TASK_MANAGE, "assign tasks")
    work.require_open()
    task = _task(work, task_id)
    _check_assignee_role(work, request.assignee_role)
    if request.assignee is None and request.assignee_role is None:
        raise issue("", "name an assignee, an assignee_role or both")
    assigned = task.model_copy(update={"assignee": request.assignee, "assignee_role": request.assignee_role})
    return work.change(
        EventType.TASK_ASSIGNED,
        {
            "task_id": task.id,
            "title": task.title,
            "before": {"assignee": task.assignee, "assignee_role": task.assignee_role},
            "after": {"assignee": request.assignee, "assignee_role": request.assignee_role},
        },
        tasks=_replace_task(work, assigned),
    )
