"""Moving open cases to a newer template version: a preview that changes nothing, then the chosen cases."""

from typing import Any

from caseline_common.contracts import CaseSnapshot, PublishedTemplate
from caseline_common.errors import FieldIssue, InvalidInputError
from caseline_common.events import EventType
from caseline_common.examples import CASE_ID
from caseline_common.fields import validate_field_values
from caseline_common.text import Identifier
from pydantic import BaseModel, ConfigDict, Field

from .criteria import unmet_exit_criteria
from .work import CaseWork, Change


class MigrateRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", defer_build=True, json_schema_extra={"examples": [{"to_version": 2, "case_ids": [CASE_ID]}]}
    )

    to_version: int = Field(ge=1, le=1_000_000)
    case_ids: list[Identifier] = Field(min_length=1, max_length=25)


class MigrationResult(BaseModel):
    model_config = ConfigDict(defer_build=True)

    case_id: str
    migrated: bool
    version: int | None = None
    problem: str | None = None


class MigrationResults(BaseModel):
    model_config = ConfigDict(
        defer_build=True,
        json_schema_extra={"examples": [{"results": [{"case_id": CASE_ID, "migrated": True, "version": 8}]}]},
    )

    results: list[MigrationResult]


class MigrationPreview(BaseModel):
    model_config = ConfigDict(
        defer_build=True,
        json_schema_extra={
            "examples": [
                {
                    "case_id": CASE_ID,
                    "title": "Rear-end collision on the A7",
                    "stage": "assessment",
                    "from_version": 1,
                    "to_version": 2,
                    "can_migrate": True,
                    "problems": [],
                    "dropped_fields": [],
                    "unmet_criteria": [],
                }
            ]
        },
    )

    case_id: str
    title: str
    stage: str
    from_version: int
    to_version: int
    can_migrate: bool
    problems: list[str] = []
    dropped_fields: list[str] = []
    unmet_criteria: list[str] = []


def _migrated_fields(case: CaseSnapshot, target: PublishedTemplate) -> tuple[dict[str, Any], list[str], list[str]]:
    """The case's values under the target version, the fields it drops, and the values it refuses."""
    known = {field.key for field in target.definition.fields}
    dropped = sorted(key for key in case.fields if key not in known)
    kept = {key: value for key, value in case.fields.items() if key in known}
    try:
        return validate_field_values(target.definition, kept, require_all=False), dropped, []
    except InvalidInputError as error:
        return kept, dropped, [f"{issue.pointer.removeprefix('/fields/')}: {issue.detail}" for issue in error.issues]


def preview_migration(case: CaseSnapshot, target: PublishedTemplate) -> MigrationPreview:
    fields, dropped, problems = _migrated_fields(case, target)
    if case.template_key != target.definition.key:
        problems.insert(0, f"{case.id} is not a {target.definition.key}")
    stage_keys = {stage.key for stage in target.definition.stages}
    if case.stage not in stage_keys:
        problems.insert(0, f'version {target.version} has no stage "{case.stage}"')
    unmet: list[str] = []
    if not problems:
        moved = case.model_copy(update={"fields": fields, "template_version": target.version})
        unmet = [item.description for item in unmet_exit_criteria(target.definition, moved)]
    return MigrationPreview(
        case_id=case.id,
        title=case.title,
        stage=case.stage,
        from_version=case.template_version,
        to_version=target.version,
        can_migrate=not problems and case.template_version < target.version,
        problems=problems,
        dropped_fields=dropped,
        unmet_criteria=unmet,
    )


def migrate(work: CaseWork, target: PublishedTemplate) -> Change:
    preview = preview_migration(work.case, target)
    if not preview.can_migrate:
        reasons = preview.problems or [f"the case is already on version {work.case.template_version}"]
        raise InvalidInputError(
            f"Case {work.case.id} cannot move to version {target.version}.",
            [FieldIssue(pointer="/case_ids", detail=reason) for reason in reasons],
        )
    fields, dropped, _ = _migrated_fields(work.case, target)
    work.require_open()
    return work.change(
        EventType.CASE_MIGRATED,
        {
            "from_version": work.case.template_version,
            "to_version": target.version,
            "dropped_fields": dropped,
            "unmet_criteria": preview.unmet_criteria,
        },
        fields=fields,
        template_version=target.version,
    )
