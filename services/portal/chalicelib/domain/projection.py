"""The portal's read model of a case: only what the template lets external participants see.

Built from events, which arrive at least once and in any order. Every attribute remembers the case
version that last set it and only a newer version changes it, so applying an event twice, or late, is
harmless. Events about a case the model does not know yet (other than `case.opened`) are not applied:
the consumer retries them until the case has been projected.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic

from caseline_common.contracts import FieldAccess, Participant, ParticipantKind, RoleKind, TemplateDefinition
from caseline_common.envelope import EventEnvelope, Visibility
from caseline_common.events import (
    CaseAssigned,
    CaseChange,
    CaseFieldsChanged,
    CaseMigrated,
    CaseOpened,
    CaseStageChanged,
    CommentAdded,
    DataT,
    DocumentAdded,
    DocumentRequested,
    EventType,
    ParticipantAdded,
    ParticipantLanguageChanged,
    ParticipantRemoved,
    ParticipantRoleChanged,
    ParticipantSummary,
    StatusChanged,
    TaskAssigned,
    TaskCompleted,
    TaskCreated,
    TaskReopened,
    TaskSummary,
    data_of,
)
from pydantic import BaseModel, ConfigDict, Field


class CaseNotProjectedError(Exception):
    """The event is about a case (or template) the read model has not seen yet; retry it later."""


class PortalParticipant(BaseModel):
    model_config = ConfigDict(defer_build=True)

    id: str
    kind: str
    role: str
    user_id: str | None = None
    name: str | None = None
    email: str | None = None
    language: str | None = None  # what staff chose to speak to them in; None: their browser's
    removed: bool = False

    @property
    def introduced(self) -> bool:
        """Whether its `participant.added` has been applied: a role, language or removal that came first left only a
        placeholder, which knows neither who it is nor how to reach them."""
        return (self.user_id, self.name, self.email) != (None, None, None)

    def as_participant(self) -> Participant:
        """The shape access rules take (caseline_common.access)."""
        return Participant(
            id=self.id,
            kind=ParticipantKind(self.kind),
            role=self.role,
            user_id=self.user_id,
            added_at=datetime.min,
            added_by="portal",
        )


class PortalDocument(BaseModel):
    model_config = ConfigDict(defer_build=True)

    type: str
    version: int
    upload_id: str
    filename: str
    content_type: str
    size: int
    sha256: str
    added_at: datetime

    def object_key(self, case_id: str) -> str:
        return f"cases/{case_id}/{self.type}/{self.upload_id}"


class PortalRequest(BaseModel):
    """A document the team asked the external participants of a role for, until one of its type arrives."""

    model_config = ConfigDict(defer_build=True)

    id: str
    version: int  # the case's, when asked
    document_type: str
    from_role: str
    message: str | None = None
    requested_at: datetime


class PortalTask(BaseModel):
    """A task of the case, as far as the portal needs it. Its title only while an external role is to do it: a task
    of an internal role keeps no words, only what lets events about it apply in any order."""

    model_config = ConfigDict(defer_build=True)

    id: str
    key: str | None = None  # the template's task, whose description the page shows
    title: str = ""
    assignee_role: str | None = None  # None also while the event that created it has not arrived
    due_at: datetime | None = None
    status: str = "open"  # or done


class PortalEntry(BaseModel):
    """One line of the external timeline, or one message of the thread."""

    model_config = ConfigDict(defer_build=True)

    id: str
    type: str
    at: datetime
    by_external: bool
    actor_id: str
    data: dict[str, Any] = Field(default_factory=dict)


class PortalCase(BaseModel):
    model_config = ConfigDict(defer_build=True)

    case_id: str
    template_key: str
    template_version: int
    title: str = ""
    owner: str = ""
    stage: str = ""
    status: str = "open"
    opened_at: datetime | None = None
    fields: dict[str, Any] = Field(default_factory=dict)
    participants: dict[str, PortalParticipant] = Field(default_factory=dict)
    documents: list[PortalDocument] = Field(default_factory=list)
    requests: list[PortalRequest] = Field(default_factory=list)
    tasks: dict[str, PortalTask] = Field(default_factory=dict)
    # The case version that last set each attribute ("title", "stage", "field:<key>", ...), of the newest
    # document of each type ("documents:<type>"), and of each task's status and role ("task:<id>", "task-role:<id>").
    versions: dict[str, int] = Field(default_factory=dict)

    def participant(self, participant_id: str) -> PortalParticipant | None:
        found = self.participants.get(participant_id)
        return found if found is not None and not found.removed else None


def concerns_portal(event: EventEnvelope) -> bool:
    """Whether the read model can take anything from the event. Others need not wait for their case."""
    return (
        event.type in MODEL_EVENTS or event.type == EventType.COMMENT_ADDED or event.visibility is Visibility.EXTERNAL
    )


def external_fields(template: TemplateDefinition) -> set[str]:
    """Fields some external role may view: the only field values the read model keeps."""
    keys = {field.key for field in template.fields}
    visible: set[str] = set()
    for role in template.roles:
        if role.kind is not RoleKind.EXTERNAL:
            continue
        for key in keys:
            if role.fields.get(key, role.fields.get("*")) in (FieldAccess.VIEW, FieldAccess.EDIT):
                visible.add(key)
    return visible


def _newer(case: PortalCase, attribute: str, version: int) -> bool:
    if case.versions.get(attribute, 0) >= version:
        return False
    case.versions[attribute] = version
    return True


def new_case(event: EventEnvelope) -> PortalCase:
    """The empty model a `case.opened` event starts from."""
    opened = data_of(event, CaseOpened)
    return PortalCase(
        case_id=str(event.case_id),
        template_key=opened.template_key,
        template_version=opened.template_version,
    )


class _Change:
    """One event being applied to one case: what its handler reads besides the event's data (its model, which the
    handler takes), and the helpers that set an attribute only when the event's case version is newer than the one
    that last set it (1 for `case.opened`, which opens version 1). `changed` says whether any did."""

    def __init__(self, case: PortalCase, template: TemplateDefinition, event: EventEnvelope, version: int) -> None:
        self.case, self.template, self.event = case, template, event
        self.personal = event.personal
        self.version = version
        self.visible = external_fields(template)
        self.changed = False

    def newer(self, attribute: str) -> bool:
        return _newer(self.case, attribute, self.version)

    def set_attribute(self, attribute: str, value: Any) -> None:
        if self.newer(attribute):
            setattr(self.case, attribute, value)
            self.changed = True

    def set_field(self, key: str, value: Any) -> None:
        if key in self.visible and self.newer(f"field:{key}"):
            if value is None:
                self.case.fields.pop(key, None)
            else:
                self.case.fields[key] = value
            self.changed = True

    def add_participant(self, summary: ParticipantSummary | ParticipantAdded, details_of: dict[str, Any]) -> None:
        case = self.case
        participant_id = summary.participant_id
        found = case.participants.get(participant_id)
        details = {
            "user_id": summary.user_id,
            "name": details_of.get("name"),
            "email": details_of.get("email"),
        }
        if found is None:
            case.participants[participant_id] = PortalParticipant(
                id=participant_id, kind=summary.kind, role=summary.role, **details
            )
            self.changed = True
        elif not found.introduced and any(details.values()):
            # a later role change or removal arrived first and kept only what it knew: who it is comes now
            found.user_id, found.name, found.email = details["user_id"], details["name"], details["email"]
            self.changed = True
        if f"participant:{participant_id}" not in case.versions:  # its role is older than any role change
            case.versions[f"participant:{participant_id}"], self.changed = self.version, True
            known = case.participants[participant_id]
            known.kind, known.role = summary.kind, summary.role  # a language chosen first knew neither
        if isinstance(summary, ParticipantAdded):
            self.set_language(participant_id, summary.language)

    def set_language(self, participant_id: str, language: str | None) -> None:
        """The language chosen when the participant was added, or since: a later choice keeps its place."""
        found = self.case.participants.get(participant_id)
        if found is not None and self.newer(f"language:{participant_id}"):
            found.language, self.changed = language, True

    def set_task_status(self, task_id: str, title: str, status: str, *, key: str | None = None) -> None:
        self._set_task(task_id, title, "status", status, key=key)

    def set_task_role(
        self, task_id: str, title: str, role: str | None, *, key: str | None = None, due_at: datetime | None = None
    ) -> None:
        self._set_task(task_id, title, "assignee_role", role, key=key, due_at=due_at)

    def _set_task(
        self,
        task_id: str,
        title: str,
        attribute: str,
        value: str | None,
        *,
        key: str | None,
        due_at: datetime | None = None,
    ) -> None:
        """Sets a task's status or role when the event is newer than the last that set it ("task:<id>",
        "task-role:<id>"). Its title never changes; `key` and `due_at` come with its creation only."""
        case = self.case
        before = case.tasks.get(task_id)
        task = before.model_copy() if before is not None else PortalTask(id=task_id)
        version_key = f"task:{task_id}" if attribute == "status" else f"task-role:{task_id}"
        if self.newer(version_key):
            setattr(task, attribute, value)
            self.changed = True
        task.title, task.key, task.due_at = task.title or title, task.key or key, task.due_at or due_at
        role_known = f"task-role:{task_id}" in case.versions
        if role_known and task.assignee_role not in self.external_roles:  # the team's own work: its words not kept
            task.title = ""
        if task != before:
            case.tasks[task_id], self.changed = task, True

    @property
    def external_roles(self) -> set[str]:
        return {role.key for role in self.template.roles if role.kind is RoleKind.EXTERNAL}

    def create_task(
        self, task_id: str, title: str, role: str | None, *, key: str | None, due_at: datetime | None
    ) -> None:
        self.set_task_role(task_id, title, role, key=key, due_at=due_at)
        self.set_task_status(task_id, title, "open")

    def create_tasks(self, created: list[TaskSummary]) -> None:
        """A stage's tasks, with the role the template gives each."""
        roles = {task.key: task.assignee_role for stage in self.template.stages for task in stage.tasks}
        for task in created:
            role = roles.get(task.key) if task.key is not None else None
            self.create_task(task.task_id, task.title, role, key=task.key, due_at=task.due_at)


def _case_opened(change: _Change, data: CaseOpened) -> None:
    case = change.case
    for summary in data.participants:  # the owner
        change.add_participant(summary, {})
    opened = {"title": data.title, "stage": data.stage, "status": data.status, "owner": data.owner}
    for attribute, value in opened.items():
        change.set_attribute(attribute, value)
    if case.opened_at is None:
        case.opened_at, change.changed = change.event.occurred_at, True
    for key, value in {**data.fields, **change.personal.get("fields", {})}.items():
        change.set_field(key, value)
    change.create_tasks(data.tasks_created)


def _fields_changed(change: _Change, data: CaseFieldsChanged) -> None:
    personal = change.personal.get("changes", {})
    afters = {**{key: diff.after for key, diff in data.changes.items()}, **{k: d["after"] for k, d in personal.items()}}
    for key, after in afters.items():
        change.set_field(key, after)
    if data.title is not None:
        change.set_attribute("title", data.title.after)


def _stage_changed(change: _Change, data: CaseStageChanged) -> None:
    change.set_attribute("stage", data.to)
    change.create_tasks(data.tasks_created)


def _task_created(change: _Change, data: TaskCreated) -> None:
    change.create_task(data.task_id, data.title, data.assignee_role, key=data.key, due_at=data.due_at)


def _task_completed(change: _Change, data: TaskCompleted) -> None:
    change.set_task_status(data.task_id, data.title, "done", key=data.key)


def _task_reopened(change: _Change, data: TaskReopened) -> None:
    change.set_task_status(data.task_id, data.title, "open")


def _task_assigned(change: _Change, data: TaskAssigned) -> None:
    change.set_task_role(data.task_id, data.title, data.after.assignee_role)


def _status_changed(change: _Change, data: StatusChanged) -> None:
    change.set_attribute("status", data.after)


def _assigned(change: _Change, data: CaseAssigned) -> None:
    change.set_attribute("owner", data.after)
    if data.participant is not None:  # the new owner joined with the owner role
        change.add_participant(data.participant, {})


def _migrated(change: _Change, data: CaseMigrated) -> None:
    change.set_attribute("template_version", data.to_version)


def _participant_added(change: _Change, data: ParticipantAdded) -> None:
    change.add_participant(data, change.personal)


def _participant_role_changed(change: _Change, data: ParticipantRoleChanged) -> None:
    case = change.case
    participant_id = data.participant_id
    if not change.newer(f"participant:{participant_id}"):
        return
    found = case.participants.get(participant_id)
    if found is None:  # before its `participant.added`: keep the role, which that event must not undo
        kinds = {role.key: role.kind.value for role in change.template.roles}
        found = case.participants[participant_id] = PortalParticipant(
            id=participant_id, kind=kinds.get(data.after, RoleKind.EXTERNAL.value), role=data.after
        )
    found.role, change.changed = data.after, True


def _participant_language_changed(change: _Change, data: ParticipantLanguageChanged) -> None:
    participant_id = data.participant_id
    if participant_id not in change.case.participants:  # before its `participant.added`, which fills in the rest
        change.case.participants[participant_id] = PortalParticipant(id=participant_id, kind="external", role="")
        change.changed = True
    change.set_language(participant_id, data.after)


def _participant_removed(change: _Change, data: ParticipantRemoved) -> None:
    case = change.case
    participant_id = data.participant_id
    found = case.participants.get(participant_id)
    if found is None:  # before its `participant.added`: remembered as removed, so that event cannot add it
        case.participants[participant_id] = PortalParticipant(
            id=participant_id, kind=data.kind, role=data.role, removed=True
        )
        change.changed = True
    elif not found.removed:
        found.removed, change.changed = True, True


def _document_requested(change: _Change, data: DocumentRequested) -> None:
    # a request older than a document of its type that arrived first was fulfilled by it
    case, version = change.case, change.version
    type_key = data.document_type
    fresh = version > case.versions.get(f"documents:{type_key}", 0)
    if fresh and all(request.id != data.request_id for request in case.requests):
        case.requests.append(
            PortalRequest(
                id=data.request_id,
                version=version,
                document_type=type_key,
                from_role=data.from_role,
                message=data.message,
                requested_at=change.event.occurred_at,
            )
        )
        change.changed = True


def _document_added(change: _Change, data: DocumentAdded) -> None:
    # the case drops every request of the type made before the document, whoever was asked
    case, version = change.case, change.version
    type_key = data.document_type
    if change.newer(f"documents:{type_key}"):
        case.requests = [r for r in case.requests if not (r.document_type == type_key and r.version < version)]
        change.changed = True
    shown = {document.key for document in change.template.document_types if document.external}
    known = {(document.type, document.version) for document in case.documents}
    key = (data.document_type, data.document_version)
    if data.document_type in shown and key not in known:
        case.documents.append(
            PortalDocument(
                type=data.document_type,
                version=data.document_version,
                upload_id=data.upload_id,
                filename=change.personal.get("filename", data.upload_id),
                content_type=data.content_type,
                size=data.size,
                sha256=data.sha256,
                added_at=change.event.occurred_at,
            )
        )
        change.changed = True


@dataclass(frozen=True)
class _Handler(Generic[DataT]):
    """A handler and the model of the data it takes (its event type's in the catalogue, or one it derives from)."""

    model: type[DataT]
    apply: Callable[[_Change, DataT], None]


# Each event type the read model takes, and the one handler that applies it. A new type is one entry here and
# one function above.
EVENT_HANDLERS: dict[str, _Handler[Any]] = {
    EventType.CASE_OPENED: _Handler(CaseOpened, _case_opened),
    EventType.CASE_FIELDS_CHANGED: _Handler(CaseFieldsChanged, _fields_changed),
    EventType.CASE_STAGE_CHANGED: _Handler(CaseStageChanged, _stage_changed),
    EventType.CASE_CLOSED: _Handler(StatusChanged, _status_changed),
    EventType.CASE_CANCELLED: _Handler(StatusChanged, _status_changed),
    EventType.CASE_REOPENED: _Handler(StatusChanged, _status_changed),
    EventType.CASE_ASSIGNED: _Handler(CaseAssigned, _assigned),
    EventType.CASE_MIGRATED: _Handler(CaseMigrated, _migrated),
    EventType.PARTICIPANT_ADDED: _Handler(ParticipantAdded, _participant_added),
    EventType.PARTICIPANT_ROLE_CHANGED: _Handler(ParticipantRoleChanged, _participant_role_changed),
    EventType.PARTICIPANT_REMOVED: _Handler(ParticipantRemoved, _participant_removed),
    EventType.PARTICIPANT_LANGUAGE_CHANGED: _Handler(ParticipantLanguageChanged, _participant_language_changed),
    EventType.DOCUMENT_ADDED: _Handler(DocumentAdded, _document_added),
    EventType.DOCUMENT_REQUESTED: _Handler(DocumentRequested, _document_requested),
    EventType.TASK_CREATED: _Handler(TaskCreated, _task_created),
    EventType.TASK_COMPLETED: _Handler(TaskCompleted, _task_completed),
    EventType.TASK_REOPENED: _Handler(TaskReopened, _task_reopened),
    EventType.TASK_ASSIGNED: _Handler(TaskAssigned, _task_assigned),
}

# The event types `apply` reads; with external comments and external-visible events, all the portal keeps.
MODEL_EVENTS = frozenset(EVENT_HANDLERS)


def apply(case: PortalCase, template: TemplateDefinition, event: EventEnvelope) -> bool:
    """Applies one case event through its type's handler, which takes the event's data as its model; True when the
    model changed."""
    handler = EVENT_HANDLERS.get(event.type)
    if handler is None:
        return False
    data = data_of(event, handler.model)
    change = _Change(case, template, event, data.version if isinstance(data, CaseChange) else 1)
    handler.apply(change, data)
    return change.changed


# What of each event's data a timeline line keeps.
_TIMELINE_DATA: dict[str, tuple[str, ...]] = {
    EventType.CASE_OPENED: ("title",),
    EventType.CASE_STAGE_CHANGED: ("from", "to"),
    EventType.DOCUMENT_ADDED: ("document_type", "document_version"),
    EventType.DOCUMENT_REQUESTED: ("document_type",),
    EventType.CASE_CLOSED: ("reason",),
    EventType.CASE_CANCELLED: ("reason",),
    EventType.CASE_REOPENED: ("reason",),
}


def timeline_entry(template: TemplateDefinition, event: EventEnvelope) -> PortalEntry | None:
    """The line an external participant sees for this event, if any: only events marked external and
    chosen in the template's portal settings. An external comment is also a line, which says only who wrote: its
    words are in the message thread."""
    if event.visibility is not Visibility.EXTERNAL or event.type not in template.portal.timeline_events:
        return None
    keep = _TIMELINE_DATA.get(event.type, ())
    return PortalEntry(
        id=event.event_id,
        type=event.type,
        at=event.occurred_at,
        by_external=event.actor.kind.value == "external",
        actor_id=event.actor.id,
        data={name: event.data.get(name) for name in keep},
    )


def message(event: EventEnvelope) -> PortalEntry | None:
    """A message of the thread: a comment shared with external participants."""
    if event.type != EventType.COMMENT_ADDED:
        return None
    comment = data_of(event, CommentAdded)
    if not comment.external:
        return None
    return PortalEntry(
        id=event.event_id,
        type=event.type,
        at=event.occurred_at,
        by_external=event.actor.kind.value == "external",
        actor_id=event.actor.id,
        data={"body": comment.body},
    )
