"""Stage criteria: everything that keeps a case in its stage or out of the next, in words a person understands."""

from typing import Any

from caseline_common.conditions import ConditionError, case_facts, evaluate
from caseline_common.contracts import CaseSnapshot, StageDefinition, TaskStatus, TemplateDefinition
from caseline_common.errors import ConflictError
from pydantic import BaseModel, ConfigDict

from .work import stage_of


class Unmet(BaseModel):
    model_config = ConfigDict(defer_build=True)

    stage: str
    description: str


class TransitionBlockedError(ConflictError):
    def __init__(self, detail: str, unmet: list[Unmet], *, current_version: int) -> None:
        super().__init__(detail, current_version=current_version)
        self.extensions["unmet"] = [item.model_dump() for item in unmet]


def unmet_exit_criteria(definition: TemplateDefinition, case: CaseSnapshot) -> list[Unmet]:
    """Everything that keeps a case in its stage, in words a person understands."""
    stage = stage_of(definition, case.stage)
    labels = {field.key: field.label for field in definition.fields}
    unmet = [
        Unmet(stage=stage.key, description=f'"{labels[key]}" has a value')
        for key in stage.required_fields
        if case.fields.get(key) in (None, "", [])
    ]
    unmet += [
        Unmet(stage=stage.key, description=f'Task "{task.title}" is done')
        for task in case.tasks
        if task.stage == stage.key and task.required and task.status is TaskStatus.OPEN
    ]
    uploaded = {document.type for document in case.documents if document.versions}
    unmet += [
        Unmet(stage=stage.key, description=f'Document "{document.name}" is uploaded')
        for document in definition.document_types
        if stage.key in document.required_in_stages and document.key not in uploaded
    ]
    decided = {decision.key for decision in case.decisions}
    unmet += [
        Unmet(stage=stage.key, description=f'Decision "{decision.label}" is recorded')
        for decision in definition.decisions
        if stage.key in decision.required_in_stages and decision.key not in decided
    ]
    return unmet + _unmet_conditions(stage, stage.exit_criteria, case)


def unmet_entry_criteria(definition: TemplateDefinition, case: CaseSnapshot, target: str) -> list[Unmet]:
    stage = stage_of(definition, target)
    return _unmet_conditions(stage, stage.entry_criteria, case)


def _unmet_conditions(stage: StageDefinition, criteria: list[Any], case: CaseSnapshot) -> list[Unmet]:
    facts = case_facts(case)
    unmet = []
    for criterion in criteria:
        try:
            met, description = evaluate(criterion.condition, facts), criterion.description
        except ConditionError as error:  # e.g. over its budget: unmet, saying why, never a 500
            met, description = False, f"{criterion.description} (cannot be checked: {error})"
        if not met:
            unmet.append(Unmet(stage=stage.key, description=description))
    return unmet
