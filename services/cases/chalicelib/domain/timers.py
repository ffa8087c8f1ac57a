"""What a due timer (a stage's or task's SLA, a reminder, a rule's timer) stands for on the case."""

from typing import Any

from caseline_common.automation_commands import DueTimer, TimerKind
from caseline_common.contracts import CaseStatus, TaskStatus
from caseline_common.envelope import EventEnvelope
from caseline_common.events import EventType, event_data

from .work import CaseWork, visibility


def timer_event(work: CaseWork, timer: DueTimer) -> EventEnvelope | None:
    """The event a due timer stands for, or None when its reason is gone (the stage was left, the task
    done, the case closed): a cancelled timer that fired anyway changes nothing."""
    case = work.case
    if case.status is not CaseStatus.OPEN:
        return None
    data: dict[str, Any] = {"timer_id": timer.timer_id, "due_at": timer.due_at.isoformat()}
    if timer.kind in (TimerKind.STAGE_SLA, TimerKind.STAGE_REMINDER):
        if timer.stage != case.stage or case.stage_due_at != timer.due_at:
            return None  # the stage was left (or left and entered again: a new visit has its own timers)
        event_type = EventType.SLA_BREACHED if timer.kind is TimerKind.STAGE_SLA else EventType.SLA_WARNING
        data |= {"scope": "stage", "stage": timer.stage, "stage_due_at": case.stage_due_at.isoformat()}
    elif timer.kind in (TimerKind.TASK_DUE, TimerKind.TASK_REMINDER):
        task = next((each for each in case.tasks if each.id == timer.task_id), None)
        if task is None or task.status is TaskStatus.DONE or task.due_at is None:
            return None
        event_type = EventType.SLA_BREACHED if timer.kind is TimerKind.TASK_DUE else EventType.SLA_WARNING
        data |= {"scope": "task", "task_id": task.id, "title": task.title, "task_due_at": task.due_at.isoformat()}
    else:
        event_type, data = EventType.TIMER_FIRED, data | {"name": timer.name}
    return EventEnvelope.new(
        tenant_id=work.context.tenant_id,
        case_id=case.id,
        type=event_type,
        actor=work.context.principal.actor(),
        **work.context.caused(),
        occurred_at=work.now,
        data=event_data(event_type, **data),
        visibility=visibility(work.definition, event_type, shown=False),
    )
