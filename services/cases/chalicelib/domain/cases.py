"""The case as a whole: opening it, its fields and title, its status (close, cancel, reopen), its owner and
assigned role, and comments; finding it by the words of its title, id or reference.

Each command checks the caller's rights and the pinned template, then the case's state, and returns the new
snapshot (version + 1) with exactly one event that records what changed, before and after."""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from caseline_common.contracts import (
    CaseSnapshot,
    CaseStatus,
    Key,
    Participant,
    ParticipantKind,
    Permission,
    PublishedTemplate,
    RoleKind,
)
from caseline_common.envelope import EventEnvelope
from caseline_common.errors import ConflictError, FieldIssue, ForbiddenError, InvalidInputError
from caseline_common.events import CaseOpened, CommentAdded, EventType
from caseline_common.examples import COMMENT
from caseline_common.fields import validate_field_values
from caseline_common.tenant import TenantContext
from pydantic import BaseModel, ConfigDict, Field

from .criteria import TransitionBlockedError, Unmet, unmet_exit_criteria
from .stages import stage_tasks
from .templates import following_stages
from .work import (
    CaseWork,
    Change,
    LongProse,
    Prose,
    ReasonRequest,
    Request,
    Subject,
    Title,
    due,
    issue,
    participant_summary,
    personal_keys,
    stage_of,
    task_summary,
    visibility,
)


class OpenCaseRequest(Request):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "template_key": "motor-claim",
                    "title": "Rear-end collision on the A7",
                    "fields": {
                        "policyholder": {"name": "Jonas Becker", "email": "jonas.becker@example.org"},
                        "policy_number": "MP-204518",
                        "incident_date": "2026-11-28",
                    },
                }
            ]
        }
    )

    template_key: str = Field(min_length=1, max_length=63)
    title: Title
    fields: dict[str, Any] = Field(default_factory=dict, max_length=500)
    owner: Subject | None = Field(default=None, description="Subject of the owning staff member; the caller if absent.")


class UpdateCaseRequest(Request):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"fields": {"claim_amount": {"amount": "2450.00", "currency": "EUR"}}}]}
    )

    title: Title | None = None
    fields: dict[str, Any] = Field(default_factory=dict, max_length=500, description="null clears a value.")
    version: int | None = Field(default=None, ge=1, description="The version you read; or send If-Match.")


class StatusChangeRequest(Request):
    """Closing a case: from a final stage with its criteria met, or with force."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"reason": "Settled: EUR 2,450.00 paid to the policyholder on 4 December."}]}
    )

    reason: Prose | None = Field(default=None, description="Why; required with force.")
    force: bool = Field(default=False, description="Close despite unmet criteria (needs case.override and a reason).")


class AssignRequest(Request):
    model_config = ConfigDict(json_schema_extra={"examples": [{"owner": "8a2d6f1c-4b3e-4f7a-9c1d-2e5f8a0b3c6d"}]})

    owner: Subject


class AssignRoleRequest(Request):
    role: Key = Field(description="The internal role expected to pick the case up.")


class CommentRequest(Request):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"body": "Called Mr Becker: the photos of the damage follow by e-mail today.", "external": False}
            ]
        }
    )

    body: LongProse
    external: bool = Field(default=False, description="Shared with the case's external participants.")


class Comment(BaseModel):
    model_config = ConfigDict(defer_build=True, json_schema_extra={"examples": [COMMENT]})

    id: str
    case_id: str
    body: str
    external: bool
    author: str
    created_at: datetime


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
        stage_due_at=due(now, first.sla, definition),
        status=CaseStatus.OPEN,
        fields=fields,
        participants=[owner_participant],
        tasks=tasks,
        created_at=now,
        created_by=principal.subject,
        updated_at=now,
        version=1,
    )
    personal = personal_keys(definition)
    personal_fields = {key: value for key, value in fields.items() if key in personal}
    event = EventEnvelope.new(
        tenant_id=context.tenant_id,
        case_id=case.id,
        type=EventType.CASE_OPENED,
        actor=principal.actor(),
        **context.caused(),
        occurred_at=now,
        data=CaseOpened.model_validate(
            {
                "title": case.title,
                "template_key": case.template_key,
                "template_version": case.template_version,
                "stage": case.stage,
                "status": case.status.value,
                "owner": case.owner,
                "participants": [participant_summary(owner_participant)],
                "fields": {key: value for key, value in fields.items() if key not in personal},
                "tasks_created": [task_summary(task) for task in tasks],
            }
        ).dump(),
        personal={"fields": personal_fields} if personal_fields else None,
        visibility=visibility(definition, EventType.CASE_OPENED, shown=True),
    )
    return Change(case, event)


# fields


def update(work: CaseWork, request: UpdateCaseRequest) -> Change | None:
    """None when nothing would change: no version, no event."""
    known = {field.key for field in work.definition.fields}
    hidden = [key for key in request.fields if key in known and work.access.field_access(key) is None]
    unknown = [key for key in request.fields if key not in known or key in hidden]
    if unknown:
        raise InvalidInputError(
            "Some fields do not exist.",
            [FieldIssue(pointer=f"/fields/{key}", detail=f'unknown field "{key}"') for key in unknown],
        )
    read_only = [key for key in request.fields if work.access.field_access(key) != "edit"]
    if read_only:
        raise ForbiddenError(f"Your role may view but not edit: {', '.join(sorted(read_only))}.")
    title = request.title.strip() if request.title else work.case.title
    if title != work.case.title and work.access.field_access("*") != "edit":
        # The title is governed like the fields a role does not name: by its "*" access.
        raise ForbiddenError("Your role may not rename the case.")
    work.require_open()
    clean = validate_field_values(work.definition, request.fields, require_all=False)
    after = {**work.case.fields, **clean}
    for key in (key for key, raw in request.fields.items() if raw is None):
        after.pop(key, None)
    changes = {
        key: {"before": work.case.fields.get(key), "after": after.get(key)}
        for key in request.fields
        if work.case.fields.get(key) != after.get(key)
    }
    if not changes and title == work.case.title:
        return None
    personal = personal_keys(work.definition)
    data: dict[str, Any] = {"changes": {key: diff for key, diff in changes.items() if key not in personal}}
    if title != work.case.title:
        data["title"] = {"before": work.case.title, "after": title}
    personal_changes = {key: diff for key, diff in changes.items() if key in personal}
    return work.change(
        EventType.CASE_FIELDS_CHANGED,
        data,
        personal={"changes": personal_changes} if personal_changes else None,
        fields=after,
        title=title,
    )


# status


def close(work: CaseWork, request: StatusChangeRequest) -> Change:
    work.access.require(Permission.CLOSE, "close the case")
    if request.force:
        work.access.require(Permission.OVERRIDE, "close despite unmet criteria")
    work.require_open()
    current = stage_of(work.definition, work.case.stage)
    unmet = unmet_exit_criteria(work.definition, work.case)
    if following_stages(work.definition, current):
        unmet.insert(0, Unmet(stage=current.key, description="The case is in a final stage"))
    reason = request.reason.strip() if request.reason else None
    if request.force:
        reason = work.require_reason(reason, "override")
    elif unmet:
        raise TransitionBlockedError(
            "The case cannot be closed yet: " + "; ".join(item.description for item in unmet) + ".",
            unmet,
            current_version=work.case.version,
        )
    return _status_change(
        work, EventType.CASE_CLOSED, CaseStatus.CLOSED, reason, overridden=[item.description for item in unmet]
    )


def cancel(work: CaseWork, request: ReasonRequest) -> Change:
    work.access.require(Permission.CLOSE, "cancel the case")
    work.require_open()
    return _status_change(
        work, EventType.CASE_CANCELLED, CaseStatus.CANCELLED, work.require_reason(request.reason, "cancel a case")
    )


def reopen(work: CaseWork, request: ReasonRequest) -> Change:
    work.access.require(Permission.REOPEN, "reopen the case")
    if work.case.status is CaseStatus.OPEN:
        raise ConflictError("The case is already open.", current_version=work.case.version)
    return _status_change(work, EventType.CASE_REOPENED, CaseStatus.OPEN, work.require_reason(request.reason, "reopen"))


def _status_change(
    work: CaseWork,
    event_type: EventType,
    status: CaseStatus,
    reason: str | None,
    *,
    overridden: list[str] | None = None,
) -> Change:
    data: dict[str, Any] = {"before": work.case.status.value, "after": status.value, "reason": reason}
    if overridden:
        data["overridden"] = overridden
    closed_at = work.now if status is not CaseStatus.OPEN else None
    return work.change(event_type, data, shown=True, status=status, status_reason=reason, closed_at=closed_at)


# assignment


def assign(work: CaseWork, request: AssignRequest) -> Change:
    work.access.require(Permission.ASSIGN, "assign the case")
    work.require_open()
    if request.owner == work.case.owner:
        raise issue("/owner", "already the owner")
    participants = list(work.case.participants)
    data: dict[str, Any] = {"before": work.case.owner, "after": request.owner}
    if not any(p.kind is ParticipantKind.INTERNAL and p.user_id == request.owner for p in participants):
        joined = work.new_participant(
            ParticipantKind.INTERNAL, work.definition.effective_owner_role(), user_id=request.owner
        )
        participants.append(joined)
        data["participant"] = participant_summary(joined)
    return work.change(
        EventType.CASE_ASSIGNED,
        data,
        owner=request.owner,
        participants=participants,
    )


def assign_role(work: CaseWork, request: AssignRoleRequest) -> Change | None:
    work.access.require(Permission.ASSIGN, "assign the case")
    work.require_open()
    if work.role_kind(request.role) is not RoleKind.INTERNAL:
        raise issue("/role", f'role "{request.role}" is not an internal role')
    if request.role == work.case.assigned_role:
        return None
    data = {"before": work.case.assigned_role, "after": request.role}
    return work.change(EventType.CASE_ROLE_ASSIGNED, data, assigned_role=request.role)


# comments: appended beside the case, so they never conflict with its version


def comment(work: CaseWork, request: CommentRequest) -> tuple[Comment, EventEnvelope]:
    permission = Permission.COMMENT_EXTERNAL if request.external else Permission.COMMENT_INTERNAL
    work.access.require(permission, "post this kind of comment")
    posted = Comment(
        id=work.new_id(),
        case_id=work.case.id,
        body=request.body.strip(),
        external=request.external,
        author=work.subject,
        created_at=work.now,
    )
    event = EventEnvelope.new(
        tenant_id=work.context.tenant_id,
        case_id=work.case.id,
        type=EventType.COMMENT_ADDED,
        actor=work.context.principal.actor(),
        **work.context.caused(),
        occurred_at=work.now,
        data=CommentAdded(comment_id=posted.id, external=posted.external, body=posted.body).dump(),
        visibility=visibility(work.definition, EventType.COMMENT_ADDED, shown=request.external),
    )
    return posted, event
