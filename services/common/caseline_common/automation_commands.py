"""What automation rules ask of the cases service: commands on the tenant bus.

The automations service never writes the cases table. For each action of a rule that changes a case it
publishes one command (source `caseline-command.automations`, actor the rule) whose id is derived from the
rule and the triggering event, so a repeated run sends the same command and the cases service applies it once.
The command carries its cause: `causation_id` is the triggering event, `causation_depth` one more than its.
"""

from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from .contracts import (
    AddCommentAction,
    AddParticipantAction,
    AssignAction,
    CreateTaskAction,
    MoveStageAction,
    RequestDocumentAction,
    SetFieldsAction,
)


class AutomationCommand(StrEnum):
    SET_FIELDS = "automation.set_fields"
    CREATE_TASK = "automation.create_task"
    ASSIGN = "automation.assign"
    MOVE_STAGE = "automation.move_stage"
    ADD_PARTICIPANT = "automation.add_participant"
    REQUEST_DOCUMENT = "automation.request_document"
    ADD_COMMENT = "automation.add_comment"
    TIMER_DUE = "automation.timer_due"


# The command each case-changing action travels as; its `data` is the action itself.
ACTION_COMMANDS: dict[type, AutomationCommand] = {
    SetFieldsAction: AutomationCommand.SET_FIELDS,
    CreateTaskAction: AutomationCommand.CREATE_TASK,
    AssignAction: AutomationCommand.ASSIGN,
    MoveStageAction: AutomationCommand.MOVE_STAGE,
    AddParticipantAction: AutomationCommand.ADD_PARTICIPANT,
    RequestDocumentAction: AutomationCommand.REQUEST_DOCUMENT,
    AddCommentAction: AutomationCommand.ADD_COMMENT,
}


class TimerKind(StrEnum):
    STAGE_SLA = "stage_sla"
    STAGE_REMINDER = "stage_reminder"
    TASK_DUE = "task_due"
    TASK_REMINDER = "task_reminder"
    CUSTOM = "custom"


class DueTimer(BaseModel):
    """The data of `automation.timer_due`: a timer the automations service set, now due. The cases service
    decides whether its reason still holds."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    timer_id: str = Field(min_length=1, max_length=200)
    kind: TimerKind
    due_at: AwareDatetime
    stage: str | None = Field(default=None, max_length=63)
    task_id: str | None = Field(default=None, max_length=64)
    name: str | None = Field(default=None, max_length=63, description="A custom timer's name (start_timer).")
