"""Template and case contracts shared by every service (the cases service owns their behaviour).

A template is what a team configures without code; its JSON Schema is generated from these models and
served by the API, so an editor validates a template as a person types it.
"""

from datetime import datetime
from enum import StrEnum
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from . import formats
from .event_types import EventType
from .examples import CASE_SNAPSHOT, PUBLISHED_TEMPLATE, TEMPLATE_DEFINITION
from .text import MULTI_LINE, SINGLE_LINE, SingleLineText

Key = Annotated[str, Field(pattern=formats.KEY, description="Lower-case identifier: a-z, 0-9, _")]
TemplateKey = Annotated[str, Field(pattern=formats.TEMPLATE_KEY, description="Lower-case slug: a-z, 0-9, -")]
Language = Annotated[
    str, Field(pattern=formats.LANGUAGE, description='A language: its ISO 639 code, as a BCP 47 tag begins ("de").')
]
Condition = Annotated[
    dict[str, Any],
    Field(
        description="A JSONLogic expression (jsonlogic.com). It reads `fields.<key>`, `case.stage`, `case.status`, "
        "`case.owner`, `documents.<type>` (number of versions), `decisions.<key>` (latest outcome), "
        "`tasks.open_required` and, in automation rules, `event.type` and `event.data.*`.",
        min_length=1,
        max_length=1,
    ),
]
ContentType = Annotated[str, Field(pattern=formats.CONTENT_TYPE, max_length=127)]
# What people write in a template: labels and names on one line, descriptions and messages on several.
ShortText = Annotated[str, Field(min_length=1, max_length=200), SINGLE_LINE]
LongText = Annotated[str, Field(max_length=5000), MULTI_LINE]


class Contract(BaseModel):
    # Built at first use, not at import (docs/architecture.md, "Cold start"): most functions use few contracts.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class FieldType(StrEnum):
    TEXT = "text"
    LONG_TEXT = "long_text"
    NUMBER = "number"
    MONEY = "money"
    DATE = "date"
    DATETIME = "datetime"
    ENUM = "enum"
    MULTI_ENUM = "multi_enum"
    BOOLEAN = "boolean"
    EMAIL = "email"
    PHONE = "phone"
    PARTY = "party"
    FILE = "file"


class FieldDefinition(Contract):
    key: Key
    label: ShortText
    type: FieldType
    required: bool = Field(default=False, description="Needed to open the case, and cannot be cleared.")
    description: Annotated[str, Field(max_length=2000), MULTI_LINE] | None = None
    options: list[SingleLineText] | None = Field(
        default=None, description="Allowed values of an enum or multi_enum field."
    )
    minimum: float | None = Field(default=None, allow_inf_nan=False, description="Smallest number, or money amount.")
    maximum: float | None = Field(default=None, allow_inf_nan=False, description="Largest number, or money amount.")
    max_length: int | None = Field(default=None, ge=1, le=100_000, description="Longest text.")
    pattern: Annotated[str, Field(max_length=500), SINGLE_LINE] | None = Field(
        default=None, description="Regular expression a text must match."
    )
    currencies: list[Annotated[str, Field(pattern=formats.CURRENCY)]] | None = Field(
        default=None, description="ISO 4217 currencies a money field accepts; any when absent."
    )


class DurationUnit(StrEnum):
    MINUTES = "minutes"
    HOURS = "hours"
    DAYS = "days"
    BUSINESS_HOURS = "business_hours"
    BUSINESS_DAYS = "business_days"


class Duration(Contract):
    amount: int = Field(ge=1, le=100_000)
    unit: DurationUnit


class BusinessCalendar(Contract):
    """When the team works; business_hours and business_days durations count only this time."""

    timezone: Annotated[str, Field(max_length=64), SINGLE_LINE] = Field(
        default="UTC", description="IANA time zone, e.g. Europe/Amsterdam."
    )
    workdays: list[Annotated[int, Field(ge=1, le=7)]] = Field(
        default=[1, 2, 3, 4, 5], min_length=1, max_length=7, description="ISO weekdays: 1 is Monday."
    )
    opens: str = Field(default="09:00", pattern=formats.TIME_OF_DAY)
    closes: str = Field(default="17:00", pattern=formats.TIME_OF_DAY)
    holidays: list[Annotated[str, Field(pattern=formats.DAY)]] = Field(default_factory=list)


class Criterion(Contract):
    description: ShortText = Field(description="What must hold, in words a person understands.")
    condition: Condition


class TaskDefinition(Contract):
    key: Key
    title: ShortText
    description: LongText | None = None
    assignee_role: Key | None = None
    due_in: Duration | None = None
    required: bool = True


class StageDefinition(Contract):
    key: Key
    name: ShortText
    description: LongText | None = None
    entry_criteria: list[Criterion] = Field(default_factory=list, max_length=50)
    exit_criteria: list[Criterion] = Field(default_factory=list, max_length=50)
    required_fields: list[Key] = Field(default_factory=list, description="Fields that must have a value to leave.")
    tasks: list[TaskDefinition] = Field(default_factory=list, max_length=50, description="Created on entry.")
    next: list[Key] | None = Field(
        default=None,
        description="Stages a case may move on to; the following stage when absent. An empty list ends the flow.",
    )
    sla: Duration | None = Field(default=None, description="How long a case may stay in this stage.")


class DocumentTypeDefinition(Contract):
    key: Key
    name: ShortText
    description: LongText | None = None
    content_types: list[ContentType] = Field(min_length=1, max_length=50)
    max_size_bytes: int = Field(ge=1, le=5 * 1024**3)
    required_in_stages: list[Key] = Field(default_factory=list, description="Stages that cannot be left without it.")
    external: bool = Field(default=False, description="Visible to external participants in the portal.")
    uploader_roles: list[Key] = Field(
        default_factory=list, description="Roles that may upload it; any role with document.upload when empty."
    )


class DecisionDefinition(Contract):
    key: Key
    label: ShortText
    options: list[Annotated[str, Field(min_length=1, max_length=100), SINGLE_LINE]] = Field(min_length=1, max_length=50)
    decider_roles: list[Key] = Field(min_length=1)
    rationale_required: bool = True
    required_in_stages: list[Key] = Field(default_factory=list)


class Permission(StrEnum):
    VIEW = "case.view"
    TRANSITION = "case.transition"
    OVERRIDE = "case.override"
    ASSIGN = "case.assign"
    CLOSE = "case.close"
    REOPEN = "case.reopen"
    TASK_MANAGE = "task.manage"
    TASK_COMPLETE = "task.complete"
    PARTICIPANT_MANAGE = "participant.manage"
    DOCUMENT_UPLOAD = "document.upload"
    DOCUMENT_VIEW = "document.view"
    COMMENT_INTERNAL = "comment.internal"
    COMMENT_EXTERNAL = "comment.external"
    # Taking the full signed export of the timeline, with every value a reader's roles would hide.
    TIMELINE_EXPORT = "timeline.export"


EXTERNAL_PERMISSIONS = frozenset(
    {
        Permission.VIEW,
        Permission.TASK_COMPLETE,
        Permission.DOCUMENT_UPLOAD,
        Permission.DOCUMENT_VIEW,
        Permission.COMMENT_EXTERNAL,
    }
)


class RoleKind(StrEnum):
    INTERNAL = "internal"
    EXTERNAL = "external"


class FieldAccess(StrEnum):
    VIEW = "view"
    EDIT = "edit"


class RoleDefinition(Contract):
    key: Key
    name: ShortText
    kind: RoleKind = RoleKind.INTERNAL
    permissions: list[Permission] = Field(default_factory=list)
    fields: dict[str, FieldAccess] = Field(
        default_factory=dict, description='Access per field key; "*" sets the default. Fields not listed are hidden.'
    )
    groups: list[Annotated[str, Field(min_length=1, max_length=128), SINGLE_LINE]] = Field(
        default_factory=list,
        description="Token groups whose members hold this role on every case of the template (internal roles).",
    )
    email: Annotated[str, Field(pattern=formats.EMAIL, max_length=320), SINGLE_LINE] | None = Field(
        default=None, description="The team mailbox that e-mail to this (internal) role goes to."
    )


@cache
def default_roles() -> tuple[RoleDefinition, ...]:
    """The roles of a template that names none (built at first use, like the models)."""
    return (
        RoleDefinition(
            key="team",
            name="Team",
            permissions=list(Permission),
            fields={"*": FieldAccess.EDIT},
            groups=["caseline-staff"],
        ),
    )


class EventTrigger(Contract):
    event_type: str = Field(pattern=formats.EVENT_TYPE)
    pattern: dict[str, Any] | None = Field(default=None, description="An EventBridge-style pattern on the event.")


class SetFieldsAction(Contract):
    type: Literal["set_fields"]
    values: dict[str, Any] = Field(min_length=1)


class CreateTaskAction(Contract):
    type: Literal["create_task"]
    title: ShortText
    assignee_role: Key | None = None
    due_in: Duration | None = None
    required: bool = False


class AssignAction(Contract):
    type: Literal["assign"]
    owner: Annotated[str, Field(min_length=1, max_length=256), SINGLE_LINE] | None = None
    role: Key | None = Field(default=None, description="Assign to the role rather than a person.")
    task_key: Key | None = Field(default=None, description="Assign this task rather than the case.")


class MoveStageAction(Contract):
    type: Literal["move_stage"]
    to: Key


class AddParticipantAction(Contract):
    type: Literal["add_participant"]
    role: Key
    user_id: Annotated[str, Field(min_length=1, max_length=256), SINGLE_LINE] | None = None
    party_field: Key | None = Field(default=None, description="A party field naming the external participant.")


class RequestDocumentAction(Contract):
    type: Literal["request_document"]
    document_type: Key
    from_role: Key
    message: LongText | None = None


class SendEmailAction(Contract):
    type: Literal["send_email"]
    to_role: Key | None = None
    to_field: Key | None = None
    subject: ShortText
    body: LongText


class CallWebhookAction(Contract):
    type: Literal["call_webhook"]
    url: Annotated[str, Field(pattern=formats.HTTPS_URL, max_length=2000), SINGLE_LINE]


class StartTimerAction(Contract):
    type: Literal["start_timer"]
    name: Key
    after: Duration


class AddCommentAction(Contract):
    type: Literal["add_comment"]
    body: Annotated[LongText, Field(min_length=1)]
    external: bool = False


RuleAction = Annotated[
    SetFieldsAction
    | CreateTaskAction
    | AssignAction
    | MoveStageAction
    | AddParticipantAction
    | RequestDocumentAction
    | SendEmailAction
    | CallWebhookAction
    | StartTimerAction
    | AddCommentAction,
    Field(discriminator="type"),
]


class AutomationRule(Contract):
    key: Key
    name: ShortText
    enabled: bool = True
    trigger: EventTrigger
    condition: Condition | None = None
    actions: list[RuleAction] = Field(min_length=1, max_length=20)


class Branding(Contract):
    name: ShortText | None = None
    colour: str | None = Field(default=None, pattern=formats.COLOUR)
    logo_url: Annotated[str, Field(pattern=formats.HTTPS_URL, max_length=2000), SINGLE_LINE] | None = None


def _default_timeline_events() -> list[str]:
    shown = (EventType.CASE_OPENED, EventType.CASE_STAGE_CHANGED, EventType.DOCUMENT_ADDED, EventType.COMMENT_ADDED)
    return [event_type.value for event_type in shown]


class PortalSettings(Contract):
    """What externals see beyond their role's fields and the external document types."""

    enabled: bool = True
    stages: list[Key] | None = Field(default=None, description="Stages shown on the progress line; all when absent.")
    timeline_events: list[SingleLineText] = Field(
        default_factory=_default_timeline_events,
        description="Event types externals see on their timeline (external comments and documents only).",
    )
    branding: Branding = Field(default_factory=Branding)


class TemplateDefinition(Contract):
    """What a person configures. Published versions of it are immutable."""

    model_config = ConfigDict(json_schema_extra={"examples": [TEMPLATE_DEFINITION]})

    key: TemplateKey
    name: ShortText
    description: LongText | None = None
    fields: list[FieldDefinition] = Field(default_factory=list, max_length=500)
    stages: list[StageDefinition] = Field(min_length=1, max_length=100)
    document_types: list[DocumentTypeDefinition] = Field(default_factory=list, max_length=100)
    decisions: list[DecisionDefinition] = Field(default_factory=list, max_length=100)
    roles: list[RoleDefinition] = Field(
        default_factory=lambda: list(default_roles()),
        min_length=1,
        max_length=50,
        description='Defaults to one "team" role held by every caseline-staff member.',
    )
    owner_role: Key | None = Field(
        default=None, description="Role of the case owner; the first internal role when absent."
    )
    calendar: BusinessCalendar = Field(default_factory=BusinessCalendar)
    rules: list[AutomationRule] = Field(default_factory=list, max_length=200)
    portal: PortalSettings = Field(default_factory=PortalSettings)

    def effective_owner_role(self) -> str:
        if self.owner_role:
            return self.owner_role
        return next(role.key for role in self.roles if role.kind is RoleKind.INTERNAL)


class PublishedTemplate(Contract):
    model_config = ConfigDict(json_schema_extra={"examples": [PUBLISHED_TEMPLATE]})

    definition: TemplateDefinition
    version: int = Field(ge=1)
    published_at: datetime
    published_by: str


class CaseStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class ParticipantKind(StrEnum):
    INTERNAL = "internal"
    EXTERNAL = "external"


class Participant(Contract):
    id: str
    kind: ParticipantKind
    role: str
    user_id: str | None = Field(default=None, description="Subject of an internal participant.")
    name: str | None = Field(default=None, description="Name of an external participant.")
    email: str | None = Field(default=None, description="E-mail of an external participant.")
    language: str | None = Field(
        default=None,
        description='The language the portal and its e-mails speak to an external participant (such as "de"); '
        "null: their browser's.",
    )
    added_at: datetime
    added_by: str


class TaskStatus(StrEnum):
    OPEN = "open"
    DONE = "done"


class Task(Contract):
    id: str
    key: str | None = Field(default=None, description="The template task it came from; none for ad hoc tasks.")
    title: str
    stage: str = Field(description="The stage it belongs to.")
    required: bool
    status: TaskStatus = TaskStatus.OPEN
    assignee: str | None = None
    assignee_role: str | None = None
    due_at: datetime | None = None
    created_at: datetime
    created_by: str
    reason: str | None = Field(default=None, description="Why an ad hoc task was added.")
    completed_at: datetime | None = None
    completed_by: str | None = None


class DocumentVersion(Contract):
    version: int = Field(ge=1)
    upload_id: str
    object_key: str
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: str
    uploaded_at: datetime


class CaseDocument(Contract):
    type: str
    versions: list[DocumentVersion]


class Decision(Contract):
    id: str
    key: str
    outcome: str
    rationale: str | None
    decided_by: str
    decided_at: datetime
    template_version: int = Field(description="The template version whose policy applied.")


class StageVisit(Contract):
    """A stage the case has left: how long it stayed, and whether it overran the stage's SLA."""

    stage: str
    entered_at: datetime
    due_at: datetime | None = None
    left_at: datetime


class DocumentRequest(Contract):
    id: str
    document_type: str
    from_role: str
    message: str | None = None
    requested_at: datetime
    requested_by: str


def case_reference(case_id: str) -> str:
    """A short reference a person can read out on the phone: the ULID's random tail, grouped (`9TBW-6RAH`)."""
    tail = case_id[-8:]
    return f"{tail[:4]}-{tail[4:]}"


class CaseSnapshot(Contract):
    """A case as it is stored and served."""

    model_config = ConfigDict(json_schema_extra={"examples": [CASE_SNAPSHOT]})

    id: str
    tenant_id: str
    template_key: str
    template_version: int
    title: str
    owner: str
    stage: str
    stage_entered_at: datetime
    stage_due_at: datetime | None = Field(default=None, description="When the stage's SLA runs out.")
    stage_history: list[StageVisit] = Field(default_factory=list, description="Stages left, oldest first.")
    status: CaseStatus
    status_reason: str | None = None
    closed_at: datetime | None = Field(default=None, description="When it was closed or cancelled.")
    assigned_role: str | None = Field(default=None, description="The role expected to pick the case up.")
    requests: list["DocumentRequest"] = Field(
        default_factory=list, description="Documents asked of external participants."
    )
    fields: dict[str, Any]
    participants: list[Participant] = Field(default_factory=list)
    tasks: list[Task] = Field(default_factory=list)
    documents: list[CaseDocument] = Field(default_factory=list)
    decisions: list[Decision] = Field(default_factory=list)
    created_at: datetime
    created_by: str
    updated_at: datetime
    version: int = Field(ge=1, description="Increases with every change; writes are conditional on it.")
