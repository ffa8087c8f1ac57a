"""Moving a case between stages, and the tasks the template creates on entering one."""

from collections.abc import Callable
from datetime import datetime

from caseline_common.contracts import Key, Permission, StageDefinition, StageVisit, Task, TemplateDefinition
from caseline_common.events import EventType
from pydantic import ConfigDict, Field

from .criteria import TransitionBlockedError, unmet_entry_criteria, unmet_exit_criteria
from .templates import following_stages
from .work import MAX_STAGE_VISITS, CaseWork, Change, Prose, Request, due, issue, stage_of, task_summary


class TransitionRequest(Request):
    model_config = ConfigDict(json_schema_extra={"examples": [{"to": "assessment"}]})

    to: Key
    reason: Prose | None = Field(default=None, description="Why; required to move back, skip a stage or force.")
    force: bool = Field(default=False, description="Move despite unmet criteria (needs case.override and a reason).")


def stage_tasks(
    definition: TemplateDefinition,
    stage: StageDefinition,
    existing: list[Task],
    *,
    now: datetime,
    by: str,
    new_id: Callable[[], str],
) -> list[Task]:
    """Tasks the template creates on entering `stage`, except those the case already has from an earlier visit."""
    present = {(task.stage, task.key) for task in existing}
    return [
        Task(
            id=new_id(),
            key=task.key,
            title=task.title,
            stage=stage.key,
            required=task.required,
            assignee_role=task.assignee_role,
            due_at=due(now, task.due_in, definition),
            created_at=now,
            created_by=by,
        )
        for task in stage.tasks
        if (stage.key, task.key) not in present
    ]


def transition(work: CaseWork, request: TransitionRequest) -> Change:
    work.access.require(Permission.TRANSITION, "move the case between stages")
    work.require_open()
    definition = work.definition
    stage_keys = [stage.key for stage in definition.stages]
    if request.to not in stage_keys:
        raise issue("/to", f'unknown stage "{request.to}"')
    if request.to == work.case.stage:
        raise issue("/to", f'the case is already in stage "{request.to}"')
    current = stage_of(definition, work.case.stage)
    if request.to in following_stages(definition, current):
        direction = "forward"
    else:
        direction = "back" if stage_keys.index(request.to) < stage_keys.index(current.key) else "skip"
    reason = request.reason.strip() if request.reason else None
    if direction != "forward" or request.force:
        work.access.require(Permission.OVERRIDE, "move back, skip stages or override criteria")
        why = {"back": "move back", "skip": "skip stages", "forward": "override criteria"}[direction]
        reason = work.require_reason(reason, why)
    unmet = [] if direction == "back" else unmet_exit_criteria(definition, work.case)
    unmet += unmet_entry_criteria(definition, work.case, request.to)
    if unmet and not request.force:
        raise TransitionBlockedError(
            f'The case cannot move to "{request.to}" yet: ' + "; ".join(item.description for item in unmet) + ".",
            unmet,
            current_version=work.case.version,
        )
    target = stage_of(definition, request.to)
    created = stage_tasks(definition, target, work.case.tasks, now=work.now, by=work.subject, new_id=work.new_id)
    shown = definition.portal.stages is None or target.key in definition.portal.stages
    return work.change(
        EventType.CASE_STAGE_CHANGED,
        {
            "from": current.key,
            "to": target.key,
            "direction": direction,
            "reason": reason,
            "overridden": [item.description for item in unmet],
            "tasks_created": [task_summary(task) for task in created],
        },
        shown=shown,
        stage=target.key,
        stage_entered_at=work.now,
        stage_due_at=due(work.now, target.sla, definition),
        stage_history=[*work.case.stage_history[-(MAX_STAGE_VISITS - 1) :], _visit_ending(work)],
        tasks=[*work.case.tasks, *created],
    )


def _visit_ending(work: CaseWork) -> StageVisit:
    case = work.case
    return StageVisit(stage=case.stage, entered_at=case.stage_entered_at, due_at=case.stage_due_at, left_at=work.now)
