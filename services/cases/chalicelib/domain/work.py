"""What every case command shares: one command on one case (`CaseWork`), the change it returns, the limits of
the aggregate and the text a person types into a request.

Each command is a module function `verb(work, request) -> Change` in the module of its concern (stages, tasks,
participants, ...). Every command checks the caller's rights before the case's state, so that a refusal tells
someone who may not act on the case nothing about where it stands."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from caseline_common.access import CaseAccess
from caseline_common.calendar import deadline
from caseline_common.contracts import (
    CaseSnapshot,
    CaseStatus,
    Duration,
    FieldType,
    Participant,
    ParticipantKind,
    PublishedTemplate,
    RoleKind,
    StageDefinition,
    Task,
    TemplateDefinition,
)
from caseline_common.envelope import EventEnvelope, Visibility
from caseline_common.errors import ConflictError, FieldIssue, InvalidInputError
from caseline_common.events import EventType, event_data
from caseline_common.tenant import TenantContext
from caseline_common.text import MULTI_LINE, SINGLE_LINE
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

# Values of these types are about people: events carry them as personal data, which the timeline keeps
# outside its hash chain so that erasing a person never breaks the proof of history.
PERSONAL_FIELD_TYPES = frozenset({FieldType.PARTY, FieldType.EMAIL, FieldType.PHONE})
MAX_PARTICIPANTS = 50  # each internal one is a membership item in every change's transaction (100 items)
MAX_TASKS = 500
MAX_DOCUMENT_VERSIONS = 500
MAX_DECISIONS = 200
MAX_STAGE_VISITS = 200  # the oldest visits give way: insight needs recent history, not all of it

# Text a person writes: surrounding whitespace is dropped, and what remains may not be empty. Titles are one
# line; reasons, messages and comments may have several.
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), SINGLE_LINE]
Prose = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), MULTI_LINE]
LongProse = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10_000), MULTI_LINE]
PersonName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300), SINGLE_LINE]
Subject = Annotated[str, Field(min_length=1, max_length=256), SINGLE_LINE]  # a staff member's token subject
Email = Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=320), SINGLE_LINE]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


class ReasonRequest(Request):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"reason": "Asked for by the policyholder on the phone on 2 December."}]}
    )

    reason: Prose = Field(description="Why.")


@dataclass(frozen=True)
class Change:
    case: CaseSnapshot
    event: EventEnvelope


def issue(pointer: str, detail: str, message: str = "The request is invalid.") -> InvalidInputError:
    return InvalidInputError(message, [FieldIssue(pointer=pointer, detail=detail)])


def personal_keys(definition: TemplateDefinition) -> set[str]:
    return {field.key for field in definition.fields if field.type in PERSONAL_FIELD_TYPES}


def stage_of(definition: TemplateDefinition, key: str) -> StageDefinition:
    return next(stage for stage in definition.stages if stage.key == key)


def due(start: datetime, duration: Duration | None, definition: TemplateDefinition) -> datetime | None:
    return deadline(start, duration, definition.calendar) if duration else None


def participant_summary(participant: Participant) -> dict[str, Any]:
    """An internal participant as events name them (staff ids are not personal data; names and e-mails are)."""
    return {
        "participant_id": participant.id,
        "kind": participant.kind.value,
        "role": participant.role,
        "user_id": participant.user_id,
    }


def task_summary(task: Task) -> dict[str, Any]:
    return {
        "task_id": task.id,
        "key": task.key,
        "title": task.title,
        "required": task.required,
        "due_at": task.due_at.isoformat() if task.due_at else None,
    }


def visibility(definition: TemplateDefinition, event_type: EventType, *, shown: bool) -> Visibility:
    external = shown and definition.portal.enabled and event_type in definition.portal.timeline_events
    return Visibility.EXTERNAL if external else Visibility.INTERNAL


@dataclass(frozen=True)
class CaseWork:
    """One command on one case, by one caller, at one moment."""

    template: PublishedTemplate
    case: CaseSnapshot
    access: CaseAccess
    context: TenantContext
    now: datetime
    new_id: Callable[[], str]

    @property
    def definition(self) -> TemplateDefinition:
        return self.template.definition

    @property
    def subject(self) -> str:
        return self.context.principal.subject

    def change(
        self,
        event_type: EventType,
        data: dict[str, Any],
        *,
        personal: dict[str, Any] | None = None,
        subjects: list[str] | None = None,
        shown: bool = False,
        **updates: Any,
    ) -> Change:
        """The case after `updates` (version + 1) and the one event that records them, its `data` built through
        the catalogue's model of `event_type` (with the case's new `version` first)."""
        case = self.case.model_copy(update={**updates, "version": self.case.version + 1, "updated_at": self.now})
        event = EventEnvelope.new(
            tenant_id=self.context.tenant_id,
            case_id=case.id,
            type=event_type,
            actor=self.context.principal.actor(),
            **self.context.caused(),
            occurred_at=self.now,
            data=event_data(event_type, version=case.version, **data),
            personal=personal,
            subjects=subjects,
            visibility=visibility(self.definition, event_type, shown=shown),
        )
        return Change(CaseSnapshot.model_validate(case.model_dump()), event)

    def require_open(self) -> None:
        if self.case.status is not CaseStatus.OPEN:
            raise ConflictError(
                f"The case is {self.case.status.value}; reopen it first.", current_version=self.case.version
            )

    def require_reason(self, reason: str | None, why: str) -> str:
        if not reason or not reason.strip():
            raise issue("/reason", f"a reason is needed to {why}")
        return reason.strip()

    def new_participant(self, kind: ParticipantKind, role: str, **details: Any) -> Participant:
        return Participant(id=self.new_id(), kind=kind, role=role, added_at=self.now, added_by=self.subject, **details)

    def role_kind(self, role_key: str, pointer: str = "/role") -> RoleKind:
        role = next((role for role in self.definition.roles if role.key == role_key), None)
        if role is None:
            raise issue(pointer, f'unknown role "{role_key}"')
        return role.kind
