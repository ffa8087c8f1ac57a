"""What automation rules ask of the cases service: commands on the tenant bus.

The automations service never writes the cases table. For each action of a rule that changes a case it
publishes one command (source `caseline-command.automations`, actor the rule) whose id is derived from the
rule and the triggering event, so a repeated run sends the same command and the cases service applies it once.
The command carries its cause: `causation_id` is the triggering event, `causation_depth` one more than its.
"""

from enum import StrEnum

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
