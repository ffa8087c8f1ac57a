"""Timers a case needs: its stage's SLA, its open tasks' due dates, a warning before each, and the timers
rules started. Derived from the case after each event, so leaving a stage or finishing a task cancels
theirs, and a new visit to a stage starts new ones."""

from datetime import datetime

from caseline_common.automation_commands import TimerKind
from caseline_common.contracts import CaseSnapshot, CaseStatus, TaskStatus
from pydantic import BaseModel, ConfigDict, Field

from .rules import reminder_at


class Timer(BaseModel):
    model_config = ConfigDict(defer_build=True)

    timer_id: str
    case_id: str
    kind: TimerKind
    due_at: datetime
    stage: str | None = None
    task_id: str | None = None
    name: str | None = None
    case_version: int = Field(description="The case version it was derived from.")
    causation_depth: int = 0
    correlation_id: str
    fired_at: datetime | None = Field(default=None, description="Kept once fired, so it is not started again.")


def case_timers(case: CaseSnapshot, *, correlation_id: str) -> list[Timer]:
    """The SLA and due-date timers the case needs now (custom timers come from rules)."""
    if case.status is not CaseStatus.OPEN:
        return []
    common = {"case_id": case.id, "case_version": case.version, "correlation_id": correlation_id}
    timers = []
    if case.stage_due_at is not None:
        visit = f"stage:{case.stage}:{case.stage_entered_at.isoformat()}"
        timers += [
            Timer(
                timer_id=f"{visit}:sla", kind=TimerKind.STAGE_SLA, due_at=case.stage_due_at, stage=case.stage, **common
            ),
            Timer(
                timer_id=f"{visit}:warning",
                kind=TimerKind.STAGE_REMINDER,
                due_at=reminder_at(case.stage_entered_at, case.stage_due_at),
                stage=case.stage,
                **common,
            ),
        ]
    for task in case.tasks:
        if task.status is TaskStatus.DONE or task.due_at is None:
            continue
        timers += [
            Timer(
                timer_id=f"task:{task.id}:due", kind=TimerKind.TASK_DUE, due_at=task.due_at, task_id=task.id, **common
            ),
            Timer(
                timer_id=f"task:{task.id}:warning",
                kind=TimerKind.TASK_REMINDER,
                due_at=reminder_at(task.created_at, task.due_at),
                task_id=task.id,
                **common,
            ),
        ]
    return timers


class TimerChanges(BaseModel):
    model_config = ConfigDict(defer_build=True)

    start: list[Timer]
    cancel: list[Timer]


def reconcile(case: CaseSnapshot, existing: list[Timer], *, correlation_id: str) -> TimerChanges:
    """What to start and cancel so the case's timers are what it needs. A timer that fired stays on record,
    so it is not started again; state older than the timers' (an event arriving late) changes nothing."""
    if any(timer.case_version > case.version for timer in existing):
        return TimerChanges(start=[], cancel=[])
    if case.status is not CaseStatus.OPEN:  # what fired stays on record, so reopening does not fire it again
        return TimerChanges(start=[], cancel=[timer for timer in existing if timer.fired_at is None])
    wanted = {timer.timer_id: timer for timer in case_timers(case, correlation_id=correlation_id)}
    have = {timer.timer_id for timer in existing}
    return TimerChanges(
        start=[timer for timer_id, timer in wanted.items() if timer_id not in have],
        cancel=[
            timer
            for timer in existing
            if timer.fired_at is None and timer.timer_id not in wanted and timer.kind is not TimerKind.CUSTOM
        ],
    )
