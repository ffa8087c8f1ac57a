"""What the portal page shows one external participant, and how its form becomes field values."""

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from caseline_common.access import CaseAccess, roles_held
from caseline_common.contracts import (
    DocumentTypeDefinition,
    FieldAccess,
    FieldDefinition,
    FieldType,
    Permission,
    TemplateDefinition,
    case_reference,
)
from caseline_common.errors import FieldIssue
from caseline_common.tenant import Principal
from pydantic import BaseModel, ConfigDict

from .projection import PortalCase, PortalDocument, PortalEntry, PortalParticipant

# Types a person can type into a form; parties and file references are set by the team.
FORM_TYPES = frozenset(FieldType) - {FieldType.PARTY, FieldType.FILE}


class StageStep(BaseModel):
    model_config = ConfigDict(defer_build=True)

    key: str
    name: str
    state: str  # done, current or upcoming


class Need(BaseModel):
    model_config = ConfigDict(defer_build=True)

    kind: str  # document or field
    key: str
    label: str
    message: str | None = None  # the team's words when they asked for this document


class TaskView(BaseModel):
    """A task the participant's role is to do, which they mark done here."""

    model_config = ConfigDict(defer_build=True)

    id: str
    title: str
    description: str | None
    due_at: datetime | None


class FieldView(BaseModel):
    model_config = ConfigDict(defer_build=True)

    key: str
    label: str
    type: str
    description: str | None
    value: Any
    editable: bool
    required: bool
    options: list[str]
    option_labels: dict[str, str]  # each option's words, as the team's console shows them
    currencies: list[str]


class PortalView(BaseModel):
    model_config = ConfigDict(defer_build=True)

    case_id: str
    reference: str
    title: str
    status: str
    participant_name: str
    participant_language: str | None  # what staff chose to speak to them in
    brand_name: str
    logo_url: str | None
    template_key: str
    theme: str | None  # "<template key>/<version>" of its colour sheet, when the template sets a colour
    stages: list[StageStep]
    needs: list[Need]
    tasks: list[TaskView]
    fields: list[FieldView]
    upload_types: list[DocumentTypeDefinition]
    documents: list[PortalDocument]
    timeline: list[PortalEntry]
    messages: list[PortalEntry]
    can_message: bool
    document_names: dict[str, str]
    stage_names: dict[str, str]
    timezone: str  # the template's: every time on the page is shown in it, and the form's are read in it


def participant_access(template: TemplateDefinition, participant: PortalParticipant) -> CaseAccess:
    principal = Principal(subject=participant.id, external=True)
    return roles_held(template, [participant.as_participant()], principal)


def option_label(option: str) -> str:
    """An option key in words ("home_contents" is "Home contents"), as the team's console shows it."""
    text = option.replace("_", " ").replace(".", " ").strip()
    return text[:1].upper() + text[1:]


def _reachable(template: TemplateDefinition, start: str) -> set[str]:
    """The stages a case in `start` can still move on to, however many steps away."""
    keys = [stage.key for stage in template.stages]
    following = {
        stage.key: stage.next if stage.next is not None else keys[index + 1 : index + 2]
        for index, stage in enumerate(template.stages)
    }
    seen: set[str] = set()
    ahead = list(following.get(start, []))
    while ahead:
        key = ahead.pop()
        if key not in seen:
            seen.add(key)
            ahead.extend(following.get(key, []))
    return seen - {start}


def _stages(template: TemplateDefinition, case: PortalCase) -> list[StageStep]:
    """Where the case has been and where it can still go. The end stages it may reach are left out when there
    are several of them: which one it ends in is not known yet, and a step to come must not predict it."""
    keys = [stage.key for stage in template.stages]
    current = keys.index(case.stage) if case.stage in keys else -1
    ahead = _reachable(template, case.stage)
    ends = {key for key in ahead if not _reachable(template, key)}
    if len(ends) > 1:
        ahead -= ends
    shown = template.portal.stages
    steps = []
    for index, stage in enumerate(template.stages):
        if shown is not None and stage.key not in shown and stage.key != case.stage:
            continue
        if index == current:
            steps.append(StageStep(key=stage.key, name=stage.name, state="current"))
        elif index < current and case.stage in _reachable(template, stage.key):
            steps.append(StageStep(key=stage.key, name=stage.name, state="done"))
        elif stage.key in ahead:
            steps.append(StageStep(key=stage.key, name=stage.name, state="upcoming"))
    return steps


def _uploadable(template: TemplateDefinition, access: CaseAccess) -> list[DocumentTypeDefinition]:
    if not access.can(Permission.DOCUMENT_UPLOAD):
        return []
    return [
        document
        for document in template.document_types
        if document.external and (not document.uploader_roles or access.role_keys() & set(document.uploader_roles))
    ]


def _local(value: Any, timezone: str) -> Any:
    """A date and time in the template's time zone, as the form's datetime-local input shows and sends it."""
    try:
        return datetime.fromisoformat(value).astimezone(ZoneInfo(timezone)).isoformat()
    except (TypeError, ValueError):
        return value


def local_time(moment: datetime | str, timezone: str) -> datetime:
    """A moment (or a stored date and time) in the zone the page shows every time in."""
    at = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return at.astimezone(ZoneInfo(timezone))


def _field_view(definition: FieldDefinition, case: PortalCase, access: CaseAccess, timezone: str) -> FieldView:
    value = case.fields.get(definition.key)
    return FieldView(
        key=definition.key,
        label=definition.label,
        type=definition.type.value,
        description=definition.description,
        value=_local(value, timezone) if definition.type is FieldType.DATETIME else value,
        editable=access.field_access(definition.key) == FieldAccess.EDIT and definition.type in FORM_TYPES,
        required=definition.required,
        options=definition.options or [],
        option_labels={option: option_label(option) for option in definition.options or []},
        currencies=definition.currencies or [],
    )


def _requested(
    template: TemplateDefinition, case: PortalCase, participant: PortalParticipant, needs: list[Need]
) -> list[Need]:
    """Documents the team asked this participant's role for: the stage's own need carries the message,
    any other request is a need of its own."""
    if case.status != "open":
        return []
    names = {document.key: document.name for document in template.document_types}
    added: list[Need] = []
    for request in sorted(case.requests, key=lambda each: each.requested_at):
        if request.from_role != participant.role:
            continue
        same = next(
            (need for need in [*needs, *added] if (need.kind, need.key) == ("document", request.document_type)), None
        )
        if same is None:
            label = names.get(request.document_type, request.document_type)
            added.append(Need(kind="document", key=request.document_type, label=label, message=request.message))
        elif request.message and not same.message:
            same.message = request.message
    return added


def _tasks(template: TemplateDefinition, case: PortalCase, access: CaseAccess) -> list[TaskView]:
    """The open tasks of the participant's role, soonest due first (undated last)."""
    if case.status != "open" or not access.can(Permission.TASK_COMPLETE):
        return []
    described = {task.key: task.description for stage in template.stages for task in stage.tasks}
    mine = [
        task
        for task in case.tasks.values()
        if task.status == "open" and task.assignee_role is not None and task.assignee_role in access.role_keys()
    ]
    mine.sort(key=lambda task: (task.due_at is None, task.due_at or datetime.min.replace(tzinfo=UTC), task.id))
    return [
        TaskView(
            id=task.id, title=task.title, description=described.get(task.key) if task.key else None, due_at=task.due_at
        )
        for task in mine
    ]


def open_task(template: TemplateDefinition, case: PortalCase, participant: PortalParticipant, task_id: str) -> bool:
    """Whether the participant may mark this task done now."""
    return any(task.id == task_id for task in _tasks(template, case, participant_access(template, participant)))


def build_view(
    template: TemplateDefinition,
    case: PortalCase,
    participant: PortalParticipant,
    *,
    timeline: list[PortalEntry],
    messages: list[PortalEntry],
) -> PortalView:
    access = participant_access(template, participant)
    fields = [
        _field_view(definition, case, access, template.calendar.timezone)
        for definition in template.fields
        if access.field_access(definition.key) is not None
    ]
    upload_types = _uploadable(template, access) if case.status == "open" else []
    uploaded = {document.type for document in case.documents}
    stage = next((each for each in template.stages if each.key == case.stage), None)
    needs = [
        Need(kind="document", key=document.key, label=document.name)
        for document in upload_types
        if stage is not None and stage.key in document.required_in_stages and document.key not in uploaded
    ]
    needs += _requested(template, case, participant, needs)
    editable = {view.key: view for view in fields if view.editable} if case.status == "open" else {}
    needs += [
        Need(kind="field", key=key, label=editable[key].label)
        for key in (stage.required_fields if stage else [])
        if key in editable and case.fields.get(key) in (None, "", [])
    ]
    branding = template.portal.branding
    return PortalView(
        case_id=case.case_id,
        reference=case_reference(case.case_id),
        title=case.title,
        status=case.status,
        participant_name=participant.name or "",
        participant_language=participant.language,
        brand_name=branding.name or template.name,
        logo_url=branding.logo_url,
        template_key=template.key,
        theme=f"{template.key}/{case.template_version}" if branding.colour else None,
        stages=_stages(template, case),
        needs=needs,
        tasks=_tasks(template, case, access),
        fields=fields if case.status == "open" else [view.model_copy(update={"editable": False}) for view in fields],
        upload_types=upload_types,
        documents=sorted(case.documents, key=lambda document: document.added_at, reverse=True)
        if access.can(Permission.DOCUMENT_VIEW)
        else [],
        timeline=timeline,
        messages=messages,
        can_message=access.can(Permission.COMMENT_EXTERNAL) and case.status == "open",
        document_names={document.key: document.name for document in template.document_types},
        stage_names={each.key: each.name for each in template.stages},
        timezone=template.calendar.timezone,
    )


def editable_fields(template: TemplateDefinition, participant: PortalParticipant) -> list[FieldDefinition]:
    access = participant_access(template, participant)
    return [
        definition
        for definition in template.fields
        if definition.type in FORM_TYPES and access.field_access(definition.key) == FieldAccess.EDIT
    ]


def values_from_form(
    definitions: list[FieldDefinition], form: dict[str, list[str]], timezone: str
) -> tuple[dict[str, Any], list[FieldIssue]]:
    """Typed values from a submitted form (every editable field is on it; an empty input clears its value),
    or the inputs that are not even of the right kind. Everything else is checked like the API checks it."""
    values: dict[str, Any] = {}
    issues: list[FieldIssue] = []
    for definition in definitions:
        key = definition.key
        raw = (form.get(key) or [""])[0].strip()
        if definition.type is FieldType.BOOLEAN:
            values[key] = raw == "on"
        elif definition.type is FieldType.MULTI_ENUM:
            values[key] = [item for item in form.get(key, []) if item] or None
        elif definition.type is FieldType.MONEY:
            amount = (form.get(f"{key}.amount") or [""])[0].strip()
            currency = (form.get(f"{key}.currency") or [""])[0].strip()
            values[key] = {"amount": amount, "currency": currency} if amount else None
        elif not raw:
            values[key] = None
        elif definition.type is FieldType.NUMBER:
            try:
                number = Decimal(raw)
                if not number.is_finite():
                    raise InvalidOperation(raw)
                if number != number.to_integral_value():
                    values[key] = float(number)
                elif number.adjusted() < 16:  # int() of "1e999999999" would take the function down
                    values[key] = int(number)
                else:
                    detail = "must be between -(2**53 - 1) and 2**53 - 1"
                    issues.append(FieldIssue(pointer=f"/fields/{key}", detail=detail))
            except InvalidOperation:
                issues.append(FieldIssue(pointer=f"/fields/{key}", detail="not a number"))
        elif definition.type is FieldType.DATETIME:
            try:
                local = datetime.fromisoformat(raw)
                aware = local if local.tzinfo else local.replace(tzinfo=ZoneInfo(timezone))
                values[key] = aware.isoformat()
            except ValueError:
                issues.append(FieldIssue(pointer=f"/fields/{key}", detail="not a date and time"))
        else:
            values[key] = raw
    return values, issues
