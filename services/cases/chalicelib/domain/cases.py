"""The case aggregate: each command checks the caller's rights and the template, and returns the new
snapshot (version + 1) with exactly one event that records what changed, before and after."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from caseline_common.access import CaseAccess
from caseline_common.automation_commands import DueTimer, TimerKind
from caseline_common.calendar import deadline
from caseline_common.conditions import ConditionError, case_facts, evaluate
from caseline_common.contracts import (
    CaseDocument,
    CaseSnapshot,
    CaseStatus,
    Decision,
    DocumentRequest,
    DocumentTypeDefinition,
    DocumentVersion,
    Duration,
    FieldType,
    Key,
    Participant,
    ParticipantKind,
    Permission,
    PublishedTemplate,
    RoleKind,
    StageDefinition,
    StageVisit,
    Task,
    TaskStatus,
    TemplateDefinition,
)
from caseline_common.envelope import EventEnvelope, Visibility
from caseline_common.errors import ConflictError, FieldIssue, ForbiddenError, InvalidInputError, NotFoundError
from caseline_common.fields import validate_field_values
from caseline_common.tenant import TenantContext
from caseline_common.text import MULTI_LINE, SINGLE_LINE
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from .templates import following_stages

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


def case_reference(case_id: str) -> str:
    """The short reference people quote (the console shows it): the id's last eight characters in two groups
    of four, such as 9TBW-6RAH."""
    tail = case_id[-8:].upper()
    return f"{tail[:4]}-{tail[4:]}"


@dataclass(frozen=True)
class CaseSearch:
    """What a person typed to find a case: every word must appear in its title, id or reference, in any
    letter case (Unicode case folding, so "STRASSE" finds "Straße")."""

    words: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> "CaseSearch":
        return cls(words=tuple(text.casefold().split()))

    def matches(self, case: CaseSnapshot) -> bool:
        haystack = f"{case.title} {case.id} {case_reference(case.id)}".casefold()
        return all(word in haystack for word in self.words)


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OpenCaseRequest(Request):
    template_key: str = Field(min_length=1, max_length=63)
    title: Title
    fields: dict[str, Any] = Field(default_factory=dict, max_length=500)
    owner: Subject | None = Field(default=None, description="Subject of the owning staff member; the caller if absent.")


class UpdateCaseRequest(Request):
    title: Title | None = None
    fields: dict[str, Any] = Field(default_factory=dict, max_length=500, description="null clears a value.")
    version: int | None = Field(default=None, ge=1, description="The version you read; or send If-Match.")


class TransitionRequest(Request):
    to: Key
    reason: Prose | None = Field(default=None, description="Why; required to move back, skip a stage or force.")
    force: bool = Field(default=False, description="Move despite unmet criteria (needs case.override and a reason).")


class StatusChangeRequest(Request):
    """Closing a case: from a final stage with its criteria met, or with force."""

    reason: Prose | None = Field(default=None, description="Why; required with force.")
    force: bool = Field(default=False, description="Close despite unmet criteria (needs case.override and a reason).")


class AssignRequest(Request):
    owner: Subject


class AssignRoleRequest(Request):
    role: Key = Field(description="The internal role expected to pick the case up.")


class RequestDocumentRequest(Request):
    document_type: Key
    from_role: Key = Field(description="The external role whose participants are asked.")
    message: LongProse | None = None


class AddTaskRequest(Request):
    title: Title
    reason: Prose = Field(description="Why this ad hoc task is needed.")
    assignee: Subject | None = None
    assignee_role: Key | None = None
    due_at: AwareDatetime | None = None
    required: bool = False


class AssignTaskRequest(Request):
    assignee: Subject | None = None
    assignee_role: Key | None = None


class ReasonRequest(Request):
    reason: Prose = Field(description="Why.")


class AddParticipantRequest(Request):
    kind: ParticipantKind
    role: Key
    user_id: Subject | None = None
    name: PersonName | None = None
    email: Email | None = None


class ChangeRoleRequest(Request):
    role: Key


class RecordDecisionRequest(Request):
    key: Key
    outcome: str = Field(min_length=1, max_length=100)
    rationale: LongProse | None = Field(
        default=None, description="Why this outcome; required unless the decision sets rationale_required to false."
    )


class CommentRequest(Request):
    body: LongProse
    external: bool = Field(default=False, description="Shared with the case's external participants.")


class Comment(BaseModel):
    id: str
    case_id: str
    body: str
    external: bool
    author: str
    created_at: datetime


class Unmet(BaseModel):
    stage: str
    description: str


class TransitionBlockedError(ConflictError):
    def __init__(self, detail: str, unmet: list[Unmet], *, current_version: int) -> None:
        super().__init__(detail, current_version=current_version)
        self.extensions["unmet"] = [item.model_dump() for item in unmet]


@dataclass(frozen=True)
class Change:
    case: CaseSnapshot
    event: EventEnvelope


def _issue(pointer: str, detail: str, message: str = "The request is invalid.") -> InvalidInputError:
    return InvalidInputError(message, [FieldIssue(pointer=pointer, detail=detail)])


def _personal_keys(definition: TemplateDefinition) -> set[str]:
    return {field.key for field in definition.fields if field.type in PERSONAL_FIELD_TYPES}


def _stage(definition: TemplateDefinition, key: str) -> StageDefinition:
    return next(stage for stage in definition.stages if stage.key == key)


def _due(start: datetime, duration: Duration | None, definition: TemplateDefinition) -> datetime | None:
    return deadline(start, duration, definition.calendar) if duration else None


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
            due_at=_due(now, task.due_in, definition),
            created_at=now,
            created_by=by,
        )
        for task in stage.tasks
        if (stage.key, task.key) not in present
    ]


def _participant_summary(participant: Participant) -> dict[str, Any]:
    """An internal participant as events name them (staff ids are not personal data; names and e-mails are)."""
    return {
        "participant_id": participant.id,
        "kind": participant.kind.value,
        "role": participant.role,
        "user_id": participant.user_id,
    }


def _task_summary(task: Task) -> dict[str, Any]:
    return {
        "task_id": task.id,
        "key": task.key,
        "title": task.title,
        "required": task.required,
        "due_at": task.due_at.isoformat() if task.due_at else None,
    }


def unmet_exit_criteria(definition: TemplateDefinition, case: CaseSnapshot) -> list[Unmet]:
    """Everything that keeps a case in its stage, in words a person understands."""
    stage = _stage(definition, case.stage)
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
    stage = _stage(definition, target)
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


def open_case(
    template: PublishedTemplate,
    request: OpenCaseRequest,
    context: TenantContext,
    *,
    case_id: str,
    now: datetime,
    new_id: Callable[[], str],
) -> Change:
    definition = template.definition
    fields = validate_field_values(definition, request.fields, require_all=True)
    principal = context.principal
    owner = request.owner or principal.subject
    first = definition.stages[0]
    owner_participant = Participant(
        id=new_id(),
        kind=ParticipantKind.INTERNAL,
        role=definition.effective_owner_role(),
        user_id=owner,
        added_at=now,
        added_by=principal.subject,
    )
    tasks = stage_tasks(definition, first, [], now=now, by=principal.subject, new_id=new_id)
    case = CaseSnapshot(
        id=case_id,
        tenant_id=context.tenant_id,
        template_key=definition.key,
        template_version=template.version,
        title=request.title.strip(),
        owner=owner,
        stage=first.key,
        stage_entered_at=now,
        stage_due_at=_due(now, first.sla, definition),
        status=CaseStatus.OPEN,
        fields=fields,
        participants=[owner_participant],
        tasks=tasks,
        created_at=now,
        created_by=principal.subject,
        updated_at=now,
        version=1,
    )
    personal_keys = _personal_keys(definition)
    personal_fields = {key: value for key, value in fields.items() if key in personal_keys}
    event = EventEnvelope.new(
        tenant_id=context.tenant_id,
        case_id=case.id,
        type="case.opened",
        actor=principal.actor(),
        **context.caused(),
        occurred_at=now,
        data={
            "title": case.title,
            "template_key": case.template_key,
            "template_version": case.template_version,
            "stage": case.stage,
            "status": case.status.value,
            "owner": case.owner,
            "participants": [_participant_summary(owner_participant)],
            "fields": {key: value for key, value in fields.items() if key not in personal_keys},
            "tasks_created": [_task_summary(task) for task in tasks],
        },
        personal={"fields": personal_fields} if personal_fields else None,
        visibility=_visibility(definition, "case.opened", shown=True),
    )
    return Change(case, event)


def _visibility(definition: TemplateDefinition, event_type: str, *, shown: bool) -> Visibility:
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

    def _change(
        self,
        event_type: str,
        data: dict[str, Any],
        *,
        personal: dict[str, Any] | None = None,
        subjects: list[str] | None = None,
        shown: bool = False,
        **updates: Any,
    ) -> Change:
        case = self.case.model_copy(update={**updates, "version": self.case.version + 1, "updated_at": self.now})
        event = EventEnvelope.new(
            tenant_id=self.context.tenant_id,
            case_id=case.id,
            type=event_type,
            actor=self.context.principal.actor(),
            **self.context.caused(),
            occurred_at=self.now,
            data={"version": case.version, **data},
            personal=personal,
            subjects=subjects,
            visibility=_visibility(self.definition, event_type, shown=shown),
        )
        return Change(CaseSnapshot.model_validate(case.model_dump()), event)

    def migrated(self, data: dict[str, Any], **updates: Any) -> Change:
        """The case moved to another template version (checked by the migration module)."""
        self._require_open()
        return self._change("case.migrated", data, **updates)

    # Every command checks the caller's rights before the case's state, so that a refusal tells someone who may
    # not act on the case nothing about where it stands.
    def _require_open(self) -> None:
        if self.case.status is not CaseStatus.OPEN:
            raise ConflictError(
                f"The case is {self.case.status.value}; reopen it first.", current_version=self.case.version
            )

    def _require_reason(self, reason: str | None, why: str) -> str:
        if not reason or not reason.strip():
            raise _issue("/reason", f"a reason is needed to {why}")
        return reason.strip()

    # fields

    def update(self, request: UpdateCaseRequest) -> Change | None:
        """None when nothing would change: no version, no event."""
        known = {field.key for field in self.definition.fields}
        hidden = [key for key in request.fields if key in known and self.access.field_access(key) is None]
        unknown = [key for key in request.fields if key not in known or key in hidden]
        if unknown:
            raise InvalidInputError(
                "Some fields do not exist.",
                [FieldIssue(pointer=f"/fields/{key}", detail=f'unknown field "{key}"') for key in unknown],
            )
        read_only = [key for key in request.fields if self.access.field_access(key) != "edit"]
        if read_only:
            raise ForbiddenError(f"Your role may view but not edit: {', '.join(sorted(read_only))}.")
        title = request.title.strip() if request.title else self.case.title
        if title != self.case.title and self.access.field_access("*") != "edit":
            # The title is governed like the fields a role does not name: by its "*" access.
            raise ForbiddenError("Your role may not rename the case.")
        self._require_open()
        clean = validate_field_values(self.definition, request.fields, require_all=False)
        after = {**self.case.fields, **clean}
        for key in (key for key, raw in request.fields.items() if raw is None):
            after.pop(key, None)
        changes = {
            key: {"before": self.case.fields.get(key), "after": after.get(key)}
            for key in request.fields
            if self.case.fields.get(key) != after.get(key)
        }
        if not changes and title == self.case.title:
            return None
        personal_keys = _personal_keys(self.definition)
        data: dict[str, Any] = {"changes": {key: diff for key, diff in changes.items() if key not in personal_keys}}
        if title != self.case.title:
            data["title"] = {"before": self.case.title, "after": title}
        personal_changes = {key: diff for key, diff in changes.items() if key in personal_keys}
        return self._change(
            "case.fields_changed",
            data,
            personal={"changes": personal_changes} if personal_changes else None,
            fields=after,
            title=title,
        )

    # stages

    def transition(self, request: TransitionRequest) -> Change:
        self.access.require(Permission.TRANSITION, "move the case between stages")
        self._require_open()
        definition = self.definition
        stage_keys = [stage.key for stage in definition.stages]
        if request.to not in stage_keys:
            raise _issue("/to", f'unknown stage "{request.to}"')
        if request.to == self.case.stage:
            raise _issue("/to", f'the case is already in stage "{request.to}"')
        current = _stage(definition, self.case.stage)
        if request.to in following_stages(definition, current):
            direction = "forward"
        else:
            direction = "back" if stage_keys.index(request.to) < stage_keys.index(current.key) else "skip"
        reason = request.reason.strip() if request.reason else None
        if direction != "forward" or request.force:
            self.access.require(Permission.OVERRIDE, "move back, skip stages or override criteria")
            why = {"back": "move back", "skip": "skip stages", "forward": "override criteria"}[direction]
            reason = self._require_reason(reason, why)
        unmet = [] if direction == "back" else unmet_exit_criteria(definition, self.case)
        unmet += unmet_entry_criteria(definition, self.case, request.to)
        if unmet and not request.force:
            raise TransitionBlockedError(
                f'The case cannot move to "{request.to}" yet: ' + "; ".join(item.description for item in unmet) + ".",
                unmet,
                current_version=self.case.version,
            )
        target = _stage(definition, request.to)
        created = stage_tasks(definition, target, self.case.tasks, now=self.now, by=self.subject, new_id=self.new_id)
        shown = definition.portal.stages is None or target.key in definition.portal.stages
        return self._change(
            "case.stage_changed",
            {
                "from": current.key,
                "to": target.key,
                "direction": direction,
                "reason": reason,
                "overridden": [item.description for item in unmet],
                "tasks_created": [_task_summary(task) for task in created],
            },
            shown=shown,
            stage=target.key,
            stage_entered_at=self.now,
            stage_due_at=_due(self.now, target.sla, definition),
            stage_history=[*self.case.stage_history[-(MAX_STAGE_VISITS - 1) :], self._visit_ending()],
            tasks=[*self.case.tasks, *created],
        )

    def _visit_ending(self) -> StageVisit:
        case = self.case
        return StageVisit(
            stage=case.stage, entered_at=case.stage_entered_at, due_at=case.stage_due_at, left_at=self.now
        )

    # status

    def close(self, request: StatusChangeRequest) -> Change:
        self.access.require(Permission.CLOSE, "close the case")
        if request.force:
            self.access.require(Permission.OVERRIDE, "close despite unmet criteria")
        self._require_open()
        current = _stage(self.definition, self.case.stage)
        unmet = unmet_exit_criteria(self.definition, self.case)
        if following_stages(self.definition, current):
            unmet.insert(0, Unmet(stage=current.key, description="The case is in a final stage"))
        reason = request.reason.strip() if request.reason else None
        if request.force:
            reason = self._require_reason(reason, "override")
        elif unmet:
            raise TransitionBlockedError(
                "The case cannot be closed yet: " + "; ".join(item.description for item in unmet) + ".",
                unmet,
                current_version=self.case.version,
            )
        return self._status_change(
            "case.closed", CaseStatus.CLOSED, reason, overridden=[item.description for item in unmet]
        )

    def cancel(self, request: ReasonRequest) -> Change:
        self.access.require(Permission.CLOSE, "cancel the case")
        self._require_open()
        return self._status_change(
            "case.cancelled", CaseStatus.CANCELLED, self._require_reason(request.reason, "cancel a case")
        )

    def reopen(self, request: ReasonRequest) -> Change:
        self.access.require(Permission.REOPEN, "reopen the case")
        if self.case.status is CaseStatus.OPEN:
            raise ConflictError("The case is already open.", current_version=self.case.version)
        return self._status_change("case.reopened", CaseStatus.OPEN, self._require_reason(request.reason, "reopen"))

    def _status_change(
        self, event_type: str, status: CaseStatus, reason: str | None, *, overridden: list[str] | None = None
    ) -> Change:
        data: dict[str, Any] = {"before": self.case.status.value, "after": status.value, "reason": reason}
        if overridden:
            data["overridden"] = overridden
        closed_at = self.now if status is not CaseStatus.OPEN else None
        return self._change(event_type, data, shown=True, status=status, status_reason=reason, closed_at=closed_at)

    def assign(self, request: AssignRequest) -> Change:
        self.access.require(Permission.ASSIGN, "assign the case")
        self._require_open()
        if request.owner == self.case.owner:
            raise _issue("/owner", "already the owner")
        participants = list(self.case.participants)
        data: dict[str, Any] = {"before": self.case.owner, "after": request.owner}
        if not any(p.kind is ParticipantKind.INTERNAL and p.user_id == request.owner for p in participants):
            joined = self._participant(
                ParticipantKind.INTERNAL, self.definition.effective_owner_role(), user_id=request.owner
            )
            participants.append(joined)
            data["participant"] = _participant_summary(joined)
        return self._change(
            "case.assigned",
            data,
            owner=request.owner,
            participants=participants,
        )

    def assign_role(self, request: AssignRoleRequest) -> Change | None:
        self.access.require(Permission.ASSIGN, "assign the case")
        self._require_open()
        if self._role_kind(request.role) is not RoleKind.INTERNAL:
            raise _issue("/role", f'role "{request.role}" is not an internal role')
        if request.role == self.case.assigned_role:
            return None
        data = {"before": self.case.assigned_role, "after": request.role}
        return self._change("case.role_assigned", data, assigned_role=request.role)

    def request_document(self, request: RequestDocumentRequest) -> Change:
        """Asks the external participants of a role for a document: the portal shows the request to whoever
        holds the role, and sends those who hold it now a link."""
        self.access.require(Permission.PARTICIPANT_MANAGE, "ask participants for documents")
        self._require_open()
        known = {document.key: document for document in self.definition.document_types}
        if request.document_type not in known:
            raise _issue("/document_type", f'unknown document type "{request.document_type}"')
        if self._role_kind(request.from_role, "/from_role") is not RoleKind.EXTERNAL:
            raise _issue("/from_role", f'role "{request.from_role}" is not an external role')
        asked = [
            p for p in self.case.participants if p.kind is ParticipantKind.EXTERNAL and p.role == request.from_role
        ]
        pending = next(
            (
                each
                for each in self.case.requests
                if (each.document_type, each.from_role) == (request.document_type, request.from_role)
            ),
            None,
        )
        if pending is not None:
            raise ConflictError("That document has been asked for already.", current_version=self.case.version)
        asked_for = DocumentRequest(
            id=self.new_id(),
            document_type=request.document_type,
            from_role=request.from_role,
            message=request.message,
            requested_at=self.now,
            requested_by=self.subject,
        )
        return self._change(
            "document.requested",
            {
                "request_id": asked_for.id,
                "document_type": request.document_type,
                "from_role": request.from_role,
                "participant_ids": [participant.id for participant in asked],
                "message": request.message,
            },
            shown=True,
            requests=[*self.case.requests, asked_for],
        )

    def timer_event(self, timer: DueTimer) -> EventEnvelope | None:
        """The event a due timer stands for, or None when its reason is gone (the stage was left, the task
        done, the case closed): a cancelled timer that fired anyway changes nothing."""
        if self.case.status is not CaseStatus.OPEN:
            return None
        data: dict[str, Any] = {"timer_id": timer.timer_id, "due_at": timer.due_at.isoformat()}
        if timer.kind in (TimerKind.STAGE_SLA, TimerKind.STAGE_REMINDER):
            if timer.stage != self.case.stage or self.case.stage_due_at != timer.due_at:
                return None  # the stage was left (or left and entered again: a new visit has its own timers)
            event_type = "sla.breached" if timer.kind is TimerKind.STAGE_SLA else "sla.warning"
            data |= {"scope": "stage", "stage": timer.stage, "stage_due_at": self.case.stage_due_at.isoformat()}
        elif timer.kind in (TimerKind.TASK_DUE, TimerKind.TASK_REMINDER):
            task = next((each for each in self.case.tasks if each.id == timer.task_id), None)
            if task is None or task.status is TaskStatus.DONE or task.due_at is None:
                return None
            event_type = "sla.breached" if timer.kind is TimerKind.TASK_DUE else "sla.warning"
            data |= {"scope": "task", "task_id": task.id, "title": task.title, "task_due_at": task.due_at.isoformat()}
        else:
            event_type, data = "timer.fired", data | {"name": timer.name}
        return EventEnvelope.new(
            tenant_id=self.context.tenant_id,
            case_id=self.case.id,
            type=event_type,
            actor=self.context.principal.actor(),
            **self.context.caused(),
            occurred_at=self.now,
            data=data,
            visibility=_visibility(self.definition, event_type, shown=False),
        )

    # tasks

    def _task(self, task_id: str) -> Task:
        for task in self.case.tasks:
            if task.id == task_id:
                return task
        raise NotFoundError(f"No task {task_id} on this case.")

    def _replace_task(self, updated: Task) -> list[Task]:
        return [updated if task.id == updated.id else task for task in self.case.tasks]

    def _check_assignee_role(self, role: str | None) -> None:
        if role is not None and role not in {each.key for each in self.definition.roles}:
            raise _issue("/assignee_role", f'unknown role "{role}"')

    def add_task(self, request: AddTaskRequest) -> Change:
        self.access.require(Permission.TASK_MANAGE, "add tasks")
        self._require_open()
        self._check_assignee_role(request.assignee_role)
        if len(self.case.tasks) >= MAX_TASKS:
            raise ConflictError(f"A case holds at most {MAX_TASKS} tasks.", current_version=self.case.version)
        task = Task(
            id=self.new_id(),
            title=request.title.strip(),
            stage=self.case.stage,
            required=request.required,
            assignee=request.assignee,
            assignee_role=request.assignee_role,
            due_at=request.due_at,
            created_at=self.now,
            created_by=self.subject,
            reason=request.reason.strip(),
        )
        return self._change(
            "task.created",
            {
                **_task_summary(task),
                "reason": task.reason,
                "assignee": task.assignee,
                "assignee_role": task.assignee_role,
            },
            tasks=[*self.case.tasks, task],
        )

    def complete_task(self, task_id: str) -> Change:
        self.access.require(Permission.TASK_COMPLETE, "complete tasks")
        self._require_open()
        task = self._task(task_id)
        if task.status is TaskStatus.DONE:
            raise ConflictError(f'Task "{task.title}" is already done.', current_version=self.case.version)
        done = task.model_copy(
            update={"status": TaskStatus.DONE, "completed_at": self.now, "completed_by": self.subject}
        )
        return self._change(
            "task.completed",
            {"task_id": task.id, "key": task.key, "title": task.title, "before": "open", "after": "done"},
            tasks=self._replace_task(done),
        )

    def reopen_task(self, task_id: str, request: ReasonRequest) -> Change:
        self.access.require(Permission.TASK_MANAGE, "reopen tasks")
        self._require_open()
        task = self._task(task_id)
        if task.status is TaskStatus.OPEN:
            raise ConflictError(f'Task "{task.title}" is already open.', current_version=self.case.version)
        reason = self._require_reason(request.reason, "reopen a task")
        reopened = task.model_copy(update={"status": TaskStatus.OPEN, "completed_at": None, "completed_by": None})
        return self._change(
            "task.reopened",
            {"task_id": task.id, "title": task.title, "before": "done", "after": "open", "reason": reason},
            tasks=self._replace_task(reopened),
        )

    def assign_task(self, task_id: str, request: AssignTaskRequest) -> Change:
        self.access.require(Permission.TASK_MANAGE, "assign tasks")
        self._require_open()
        task = self._task(task_id)
        self._check_assignee_role(request.assignee_role)
        if request.assignee is None and request.assignee_role is None:
            raise _issue("", "name an assignee, an assignee_role or both")
        assigned = task.model_copy(update={"assignee": request.assignee, "assignee_role": request.assignee_role})
        return self._change(
            "task.assigned",
            {
                "task_id": task.id,
                "title": task.title,
                "before": {"assignee": task.assignee, "assignee_role": task.assignee_role},
                "after": {"assignee": request.assignee, "assignee_role": request.assignee_role},
            },
            tasks=self._replace_task(assigned),
        )

    # participants

    def _participant(self, kind: ParticipantKind, role: str, **details: Any) -> Participant:
        return Participant(id=self.new_id(), kind=kind, role=role, added_at=self.now, added_by=self.subject, **details)

    def _role_kind(self, role_key: str, pointer: str = "/role") -> RoleKind:
        role = next((role for role in self.definition.roles if role.key == role_key), None)
        if role is None:
            raise _issue(pointer, f'unknown role "{role_key}"')
        return role.kind

    def _participant_by_id(self, participant_id: str) -> Participant:
        for participant in self.case.participants:
            if participant.id == participant_id:
                return participant
        raise NotFoundError(f"No participant {participant_id} on this case.")

    def add_participant(self, request: AddParticipantRequest) -> Change:
        self.access.require(Permission.PARTICIPANT_MANAGE, "manage participants")
        self._require_open()
        if self._role_kind(request.role).value != request.kind.value:
            raise _issue("/role", f'role "{request.role}" is for {self._role_kind(request.role).value} participants')
        if len(self.case.participants) >= MAX_PARTICIPANTS:
            raise ConflictError(
                f"A case holds at most {MAX_PARTICIPANTS} participants.", current_version=self.case.version
            )
        if request.kind is ParticipantKind.INTERNAL:
            if request.user_id is None or request.name or request.email:
                raise _issue("/user_id", "an internal participant is named by user_id alone")
            if any(p.user_id == request.user_id for p in self.case.participants):
                raise ConflictError(
                    "That person already participates; change their role instead.", current_version=self.case.version
                )
            participant = self._participant(request.kind, request.role, user_id=request.user_id)
            data = {
                "participant_id": participant.id,
                "kind": "internal",
                "role": request.role,
                "user_id": request.user_id,
            }
            return self._change("participant.added", data, participants=[*self.case.participants, participant])
        if request.user_id is not None or not request.name or not request.email:
            raise _issue("/email", "an external participant needs a name and an e-mail address, and no user_id")
        participant = self._participant(request.kind, request.role, name=request.name, email=request.email)
        return self._change(
            "participant.added",
            {"participant_id": participant.id, "kind": "external", "role": request.role},
            personal={"name": request.name, "email": request.email},
            subjects=[participant.id],
            participants=[*self.case.participants, participant],
        )

    def change_participant_role(self, participant_id: str, request: ChangeRoleRequest) -> Change:
        self.access.require(Permission.PARTICIPANT_MANAGE, "manage participants")
        self._require_open()
        participant = self._participant_by_id(participant_id)
        if self._role_kind(request.role).value != participant.kind.value:
            raise _issue("/role", f'role "{request.role}" is not for {participant.kind.value} participants')
        if participant.role == request.role:
            raise _issue("/role", "the participant already holds that role")
        changed = participant.model_copy(update={"role": request.role})
        return self._change(
            "participant.role_changed",
            {"participant_id": participant.id, "before": participant.role, "after": request.role},
            participants=[changed if p.id == participant.id else p for p in self.case.participants],
        )

    def remove_participant(self, participant_id: str) -> Change:
        self.access.require(Permission.PARTICIPANT_MANAGE, "manage participants")
        self._require_open()
        participant = self._participant_by_id(participant_id)
        if participant.user_id == self.case.owner:
            raise ConflictError(
                "The owner cannot be removed; assign the case to someone else first.", current_version=self.case.version
            )
        return self._change(
            "participant.removed",
            {"participant_id": participant.id, "kind": participant.kind.value, "role": participant.role},
            participants=[p for p in self.case.participants if p.id != participant.id],
        )

    # documents

    def document_type(self, type_key: str, *, content_type: str, size: int) -> DocumentTypeDefinition:
        """The document type an upload is for, once the caller, the content type and the size are allowed."""
        self.access.require(Permission.DOCUMENT_UPLOAD, "upload documents")
        definition = next((each for each in self.definition.document_types if each.key == type_key), None)
        if definition is None:
            raise _issue("/type", f'unknown document type "{type_key}"')
        if (
            definition.uploader_roles
            and not self.access.admin
            and not (self.access.role_keys() & set(definition.uploader_roles))
        ):
            raise ForbiddenError(f'Only {", ".join(definition.uploader_roles)} may upload "{definition.name}".')
        self._require_open()
        if content_type not in definition.content_types:
            raise _issue("/content_type", f"{definition.name} accepts {', '.join(definition.content_types)}")
        if size > definition.max_size_bytes:
            raise _issue("/size", f"{definition.name} is at most {definition.max_size_bytes} bytes")
        return definition

    def add_document_version(self, type_key: str, upload: DocumentVersion) -> Change:
        definition = self.document_type(type_key, content_type=upload.content_type, size=upload.size)
        documents = list(self.case.documents)
        existing = next((document for document in documents if document.type == type_key), None)
        if sum(len(document.versions) for document in documents) >= MAX_DOCUMENT_VERSIONS:
            raise ConflictError(
                f"A case holds at most {MAX_DOCUMENT_VERSIONS} document versions.", current_version=self.case.version
            )
        version = upload.model_copy(update={"version": len(existing.versions) + 1 if existing else 1})
        if existing:
            documents = [
                CaseDocument(type=type_key, versions=[*existing.versions, version])
                if document is existing
                else document
                for document in documents
            ]
        else:
            documents.append(CaseDocument(type=type_key, versions=[version]))
        return self._change(
            "document.added",
            {
                "document_type": type_key,
                "document_version": version.version,
                "upload_id": version.upload_id,
                "content_type": version.content_type,
                "size": version.size,
                "sha256": version.sha256,
            },
            personal={"filename": version.filename},
            shown=definition.external,
            documents=documents,
            requests=[each for each in self.case.requests if each.document_type != type_key],  # fulfilled
        )

    # decisions

    def record_decision(self, request: RecordDecisionRequest) -> Change:
        definition = next((each for each in self.definition.decisions if each.key == request.key), None)
        if definition is None:
            raise _issue("/key", f'unknown decision "{request.key}"')
        if not self.access.admin and not (self.access.role_keys() & set(definition.decider_roles)):
            raise ForbiddenError(f'Only {", ".join(definition.decider_roles)} may decide "{definition.label}".')
        self._require_open()
        if request.outcome not in definition.options:
            raise _issue("/outcome", f"must be one of {', '.join(definition.options)}")
        if definition.rationale_required and not (request.rationale and request.rationale.strip()):
            raise _issue("/rationale", f'"{definition.label}" needs a rationale')
        if len(self.case.decisions) >= MAX_DECISIONS:
            raise ConflictError(f"A case holds at most {MAX_DECISIONS} decisions.", current_version=self.case.version)
        decision = Decision(
            id=self.new_id(),
            key=request.key,
            outcome=request.outcome,
            rationale=request.rationale.strip() if request.rationale else None,
            decided_by=self.subject,
            decided_at=self.now,
            template_version=self.case.template_version,
        )
        previous = next((d.outcome for d in reversed(self.case.decisions) if d.key == request.key), None)
        return self._change(
            "decision.recorded",
            {
                "decision_id": decision.id,
                "key": decision.key,
                "before": previous,
                "after": decision.outcome,
                "rationale": decision.rationale,
                "template_version": decision.template_version,
            },
            decisions=[*self.case.decisions, decision],
        )

    # comments: appended beside the case, so they never conflict with its version

    def comment(self, request: CommentRequest) -> tuple[Comment, EventEnvelope]:
        permission = Permission.COMMENT_EXTERNAL if request.external else Permission.COMMENT_INTERNAL
        self.access.require(permission, "post this kind of comment")
        comment = Comment(
            id=self.new_id(),
            case_id=self.case.id,
            body=request.body.strip(),
            external=request.external,
            author=self.subject,
            created_at=self.now,
        )
        event = EventEnvelope.new(
            tenant_id=self.context.tenant_id,
            case_id=self.case.id,
            type="comment.added",
            actor=self.context.principal.actor(),
            **self.context.caused(),
            occurred_at=self.now,
            data={"comment_id": comment.id, "external": comment.external, "body": comment.body},
            visibility=_visibility(self.definition, "comment.added", shown=request.external),
        )
        return comment, event
