"""The event catalogue: every event type the services emit and the shape of each one's `data`.

The types themselves are named in `event_types.py` (and re-exported here); each `data` model describes
exactly what its producer sends: `model_dump(mode="json")` gives the very dict on the wire. A field declared
`T | None` with no default is always sent (`null` when empty); one declared `T | None = None` is left out when
empty. Every bus consumer checks `data` with the same models (`check_data` in `consumer.sqs_consumer`), so an
event that does not fit fails loudly: SQS delivers it again, then moves it to the dead-letter queue; a handler
that reads it takes the model (`data_of`), not the plain dict. Commands
(`automation_commands.py`, `portal_commands.py`) are requests, not events, and keep their own enums.
"""

from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    PlainSerializer,
    SerializerFunctionWrapHandler,
    WithJsonSchema,
    model_serializer,
)

from .contracts import TemplateDefinition
from .envelope import EventEnvelope
from .event_examples import DATA as EXAMPLES
from .event_types import (
    CASE_EVENTS,
    CLOSING_EVENTS,
    PORTAL_EVENTS,
    PREFERENCE_EVENTS,
    RULE_TRIGGERS,
    TENANT_EVENTS,
    TIMELINE_EVENTS,
    WEBHOOK_EVENTS,
    EventType,
)

__all__ = [  # the names re-exported from event_types, beside the models defined here
    "CASE_EVENTS",
    "CLOSING_EVENTS",
    "PORTAL_EVENTS",
    "PREFERENCE_EVENTS",
    "RULE_TRIGGERS",
    "TENANT_EVENTS",
    "TIMELINE_EVENTS",
    "WEBHOOK_EVENTS",
    "EventType",
]


# A moment as the producers write it (`datetime.isoformat()`, "+00:00" rather than pydantic's "Z").
IsoDateTime = Annotated[
    datetime,
    PlainSerializer(lambda moment: moment.isoformat(), return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


class EventData(BaseModel):
    """An event's `data`. Optional members with a `None` default are left out when empty, as sent today."""

    # Built at first use: a function checks the data of a few event types, and builds those (~15 ms for all).
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True, defer_build=True)

    @model_serializer(mode="wrap")
    # No return annotation: pydantic would take it for the serialized schema, and the model's is the one wanted.
    def _leave_out_absent(self, handler: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]
        data = handler(self)
        for name, field in type(self).model_fields.items():
            key = field.serialization_alias or field.alias or name
            if not field.is_required() and field.default is None and key in data and data[key] is None:
                del data[key]
        return data

    def dump(self) -> dict[str, Any]:
        """The `data` dict as it travels."""
        dumped: dict[str, Any] = self.model_dump(mode="json")
        return dumped


class CaseChange(EventData):
    """An event of a command on the case: `version` is the case's version after it."""

    version: int = Field(description="The case's version after the change.")


class ParticipantSummary(EventData):
    participant_id: str
    kind: Literal["internal", "external"]
    role: str
    user_id: str | None


class TaskSummary(EventData):
    task_id: str
    key: str | None = Field(description="The template's task key; null for an ad hoc task.")
    title: str
    required: bool
    due_at: IsoDateTime | None


class ValueChange(BaseModel):
    model_config = ConfigDict(defer_build=True)

    before: JsonValue
    after: JsonValue


class TitleChange(BaseModel):
    model_config = ConfigDict(defer_build=True)

    before: str
    after: str


class TaskAssignees(BaseModel):
    model_config = ConfigDict(defer_build=True)

    assignee: str | None
    assignee_role: str | None


class RunTrigger(BaseModel):
    model_config = ConfigDict(defer_build=True)

    event_id: str
    type: str


class RanAction(BaseModel):
    model_config = ConfigDict(defer_build=True)

    index: int
    type: str
    status: str = Field(description="sent (a command to the cases service), done, skipped or failed")
    error: str | None


class CaseOpened(EventData):
    """A case was opened (personal field values travel in `personal.fields`)."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLES[EventType.CASE_OPENED]]})

    title: str
    template_key: str
    template_version: int
    stage: str
    status: str
    owner: str
    participants: list[ParticipantSummary]
    fields: dict[str, JsonValue] = Field(description="Field values but personal ones.")
    tasks_created: list[TaskSummary]


class CaseFieldsChanged(CaseChange):
    """Fields (or the title) changed (personal fields' changes travel in `personal.changes`)."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLES[EventType.CASE_FIELDS_CHANGED]]})

    changes: dict[str, ValueChange]
    title: TitleChange | None = None


class CaseStageChanged(CaseChange):
    """The case moved to another stage."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLES[EventType.CASE_STAGE_CHANGED]]})

    from_: str = Field(alias="from")
    to: str
    direction: Literal["forward", "back", "skip"]
    reason: str | None
    overridden: list[str] = Field(description="The criteria that were unmet and overridden.")
    tasks_created: list[TaskSummary]


class StatusChanged(CaseChange):
    before: str
    after: str
    reason: str | None
    overridden: list[str] | None = None


class CaseClosed(StatusChanged):
    """The case was closed (`overridden`: the criteria a forced close passed over)."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLES[EventType.CASE_CLOSED]]})


class CaseCancelled(StatusChanged):
    """The case was cancelled."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLES[EventType.CASE_CANCELLED]]})


class CaseReopened(StatusChanged):
    """A closed or cancelled case was reopened."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLES[EventType.CASE_REOPENED]]})


class CaseAssigned(CaseChange):
    """The case has another owner (`participant` when the owner joined the case with it)."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLES[EventType.CASE_ASSIGNED]]})

    before: str
    after: str
    participant: ParticipantSummary | None = None


class CaseRoleAssigned(CaseChange):
    """The case was assigned to an internal role."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLES[EventType.CASE_ROLE_ASSIGNED]]})

    before: str | None
    after: str


class CaseMigrated(CaseChange):
    """The case moved to another version of its template."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLES[EventType.CASE_MIGRATED]]})

    from_version: int
    to_version: int
    dropped_fields: list[str]
    unmet_criteria: list[str]


class TaskCreated(CaseChange):
    """An ad hoc task was added."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLES[EventType.TASK_CREATED]]})

    task_id: str
    key: str | None
    title: str
    required: bool
    due_at: IsoDateTime | None
    reason: str
    assignee: str | None
    assignee_role: str | None


class TaskCompleted(CaseChange):
    """A task was marked done."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLES[EventType.TASK_COMPLETED]]})

    task_id: str
    key: str | None
    title: str
    before: Literal["open"]
    after: Literal["done"]


class TaskReopened(CaseChange):
    """A done task was reopened."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLES[EventType.TASK_REOPENED]]})

    task_id: str
    title: str
    before: Literal["done"]
    after: Literal["open"]
    reason: str


class TaskAssigned(CaseChange):
    """A task was given another assignee or assignee role."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLES[EventType.TASK_ASSIGNED]]})

    task_id: str
    title: str
    before: TaskAssignees
    after: TaskAssignees


class ParticipantAdded(CaseChange):
    """Someone joined the case (an external participant's name and e-mail travel in `personal`)."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLES[EventType.PARTICIPANT_ADDED]]})

    participant_id: str
    kind: Literal["internal", "external"]
    role: str
    user_id: str | None = None
    language: str | None = Field(
        default=None, description="The language an external participant is spoken to in, when staff chose one."
    )


class ParticipantRoleChanged(CaseChange):
    """A participant holds another role."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLES[EventType.PARTICIPANT_ROLE_CHANGED]]})

    participant_id: str
    before: str
    after: str


class ParticipantLanguageChanged(CaseChange):
    """The portal and its e-mails speak another language to an external participant (null: their browser's)."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLES[EventType.PARTICIPANT_LANGUAGE_CHANGED]]})

    participant_id: str
    before: str | None
    after: str | None


class ParticipantRemoved(CaseChange):
    """A participant left the case."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLES[EventType.PARTICIPANT_REMOVED]]})

    participant_id: str
    kind: Literal["internal", "external"]
    role: str


class DocumentAdded(CaseChange):
    """A document version joined the case (its file name travels in `personal.filename`)."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLES[EventType.DOCUMENT_ADDED]]})

    document_type: str
    document_version: int = Field(description="1 for the first of its type.")
    upload_id: str
    content_type: str
    size: int
    sha256: str


class DocumentRequested(CaseChange):
    """A document was asked of the participants holding a role."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLES[EventType.DOCUMENT_REQUESTED]]})

    request_id: str
    document_type: str
    from_role: str
    participant_ids: list[str]
    message: str | None


class DecisionRecorded(CaseChange):
    """A decision was recorded (`before`: the previous outcome of that decision)."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLES[EventType.DECISION_RECORDED]]})

    decision_id: str
    key: str
    before: str | None
    after: str
    rationale: str | None
    template_version: int


class CommentAdded(EventData):
    """A comment was posted."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLES[EventType.COMMENT_ADDED]]})

    comment_id: str
    external: bool
    body: str


class SlaTimer(EventData):
    timer_id: str
    due_at: IsoDateTime
    scope: Literal["stage", "task"]
    stage: str | None = None
    stage_due_at: IsoDateTime | None = None
    task_id: str | None = None
    title: str | None = None
    task_due_at: IsoDateTime | None = None


class SlaBreached(SlaTimer):
    """A stage's SLA or a task's due date has passed (`scope`: `stage` or `task`)."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLES[EventType.SLA_BREACHED]]})


class SlaWarning(SlaTimer):
    """Four fifths of a stage's SLA or a task's time have passed."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLES[EventType.SLA_WARNING]]})


class TimerFired(EventData):
    """A rule's timer fired."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLES[EventType.TIMER_FIRED]]})

    timer_id: str
    due_at: IsoDateTime
    name: str


class AutomationRan(EventData):
    """A rule ran on an event."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLES[EventType.AUTOMATION_RAN]]})

    rule: str
    rule_name: str
    trigger: RunTrigger
    verdict: str
    condition: bool | None
    error: str | None
    actions: list[RanAction]


class AutomationRefused(EventData):
    """The cases service refused a rule's command."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLES[EventType.AUTOMATION_REFUSED]]})

    command_id: str
    command: str
    action: dict[str, Any]
    detail: str


class PortalLink(EventData):
    link_id: str
    participant_id: str
    expires_at: IsoDateTime


class PortalLinkIssued(PortalLink):
    """A portal link was issued to an external participant."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLES[EventType.PORTAL_LINK_ISSUED]]})


class PortalLinkRevoked(PortalLink):
    """A portal link was revoked."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLES[EventType.PORTAL_LINK_REVOKED]]})


class TemplatePublished(EventData):
    """A template version was published; the definition travels with it."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLES[EventType.TEMPLATE_PUBLISHED]]})

    template_key: str
    version: int
    name: str
    definition: TemplateDefinition


class TimelineExported(EventData):
    """The case's timeline was exported as a signed bundle."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLES[EventType.TIMELINE_EXPORTED]]})

    length: int
    head_hash: str


class PersonalDataErased(EventData):
    """A person's personal data was erased from the case's timeline."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLES[EventType.PERSONAL_DATA_ERASED]]})

    participant_id: str
    entries: int


DATA_MODELS: dict[EventType, type[EventData]] = {
    EventType.CASE_OPENED: CaseOpened,
    EventType.CASE_FIELDS_CHANGED: CaseFieldsChanged,
    EventType.CASE_STAGE_CHANGED: CaseStageChanged,
    EventType.CASE_ASSIGNED: CaseAssigned,
    EventType.CASE_ROLE_ASSIGNED: CaseRoleAssigned,
    EventType.CASE_CLOSED: CaseClosed,
    EventType.CASE_CANCELLED: CaseCancelled,
    EventType.CASE_REOPENED: CaseReopened,
    EventType.CASE_MIGRATED: CaseMigrated,
    EventType.TASK_CREATED: TaskCreated,
    EventType.TASK_COMPLETED: TaskCompleted,
    EventType.TASK_REOPENED: TaskReopened,
    EventType.TASK_ASSIGNED: TaskAssigned,
    EventType.PARTICIPANT_ADDED: ParticipantAdded,
    EventType.PARTICIPANT_ROLE_CHANGED: ParticipantRoleChanged,
    EventType.PARTICIPANT_REMOVED: ParticipantRemoved,
    EventType.PARTICIPANT_LANGUAGE_CHANGED: ParticipantLanguageChanged,
    EventType.DOCUMENT_ADDED: DocumentAdded,
    EventType.DOCUMENT_REQUESTED: DocumentRequested,
    EventType.DECISION_RECORDED: DecisionRecorded,
    EventType.COMMENT_ADDED: CommentAdded,
    EventType.SLA_BREACHED: SlaBreached,
    EventType.SLA_WARNING: SlaWarning,
    EventType.TIMER_FIRED: TimerFired,
    EventType.AUTOMATION_RAN: AutomationRan,
    EventType.AUTOMATION_REFUSED: AutomationRefused,
    EventType.PORTAL_LINK_ISSUED: PortalLinkIssued,
    EventType.PORTAL_LINK_REVOKED: PortalLinkRevoked,
    EventType.TEMPLATE_PUBLISHED: TemplatePublished,
    EventType.TIMELINE_EXPORTED: TimelineExported,
    EventType.PERSONAL_DATA_ERASED: PersonalDataErased,
}


# When each event fires, for the catalog in docs/api.md (what the event means is its data model's docstring).
FIRES_WHEN: dict[EventType, str] = {
    EventType.CASE_OPENED: "`POST /cases`",
    EventType.CASE_FIELDS_CHANGED: "`PATCH /cases/{case_id}`, a rule's `set_fields`, a form an external "
    "participant sends in the portal",
    EventType.CASE_STAGE_CHANGED: "`POST /cases/{case_id}/transitions`, a rule's `move_stage`",
    EventType.CASE_ASSIGNED: "`POST /cases/{case_id}/assignment` naming an owner, a rule's `assign`",
    EventType.CASE_ROLE_ASSIGNED: "`POST /cases/{case_id}/assignment` naming a role, a rule's `assign`",
    EventType.CASE_CLOSED: "`POST /cases/{case_id}/close`",
    EventType.CASE_CANCELLED: "`POST /cases/{case_id}/cancel`",
    EventType.CASE_REOPENED: "`POST /cases/{case_id}/reopen`",
    EventType.CASE_MIGRATED: "`POST /templates/{key}/migrations`, once per case moved",
    EventType.TASK_CREATED: "`POST /cases/{case_id}/tasks`, a rule's `create_task` (a stage's own tasks come in "
    "`tasks_created` of `case.opened` and `case.stage_changed`)",
    EventType.TASK_COMPLETED: "`POST /cases/{case_id}/tasks/{task_id}/complete`",
    EventType.TASK_REOPENED: "`POST /cases/{case_id}/tasks/{task_id}/reopen`",
    EventType.TASK_ASSIGNED: "`POST /cases/{case_id}/tasks/{task_id}/assignment`",
    EventType.PARTICIPANT_ADDED: "`POST /cases/{case_id}/participants`, a rule's `add_participant`, an owner "
    "who joins with `case.assigned`",
    EventType.PARTICIPANT_ROLE_CHANGED: "`POST /cases/{case_id}/participants/{participant_id}/role`",
    EventType.PARTICIPANT_REMOVED: "`DELETE /cases/{case_id}/participants/{participant_id}`",
    EventType.PARTICIPANT_LANGUAGE_CHANGED: "`POST /cases/{case_id}/participants/{participant_id}/language`",
    EventType.DOCUMENT_ADDED: "`POST /cases/{case_id}/documents/uploads/{upload_id}/confirm`, an upload in the portal",
    EventType.DOCUMENT_REQUESTED: "a rule's `request_document`",
    EventType.DECISION_RECORDED: "`POST /cases/{case_id}/decisions`",
    EventType.COMMENT_ADDED: "`POST /cases/{case_id}/comments`, a rule's `add_comment`, a message in the portal",
    EventType.SLA_BREACHED: "within a minute of the due time of a stage's SLA or a task",
    EventType.SLA_WARNING: "within a minute of four fifths of that time",
    EventType.TIMER_FIRED: "within a minute of the time a rule's `start_timer` set",
    EventType.AUTOMATION_RAN: "after a rule whose trigger matched an event was evaluated (acted or not)",
    EventType.AUTOMATION_REFUSED: "when the cases service refuses a command a rule sent",
    EventType.PORTAL_LINK_ISSUED: "`POST /cases/{case_id}/portal-links`, `.../rotate`, a document request e-mailed",
    EventType.PORTAL_LINK_REVOKED: "`POST /cases/{case_id}/portal-links/{link_id}/revoke`, `.../rotate`",
    EventType.TEMPLATE_PUBLISHED: "`POST /templates`, `POST /templates/{key}/versions`",
    EventType.TIMELINE_EXPORTED: "`GET /cases/{case_id}/timeline/export`",
    EventType.PERSONAL_DATA_ERASED: "`POST /participants/{participant_id}/erase`, on each case it touched",
}
# What an event keeps apart in `personal`, so that erasure can remove it: names, e-mails, personal field values,
# file names. Beside these, an event a person caused carries their e-mail as `actor.display_name`, kept apart too.
PERSONAL_PARTS: dict[EventType, str] = {
    EventType.CASE_OPENED: "`fields`: the values of personal fields (`email`, `phone`, `party`)",
    EventType.CASE_FIELDS_CHANGED: "`changes`: the before and after of personal fields",
    EventType.PARTICIPANT_ADDED: "`name`, `email` of an external participant",
    EventType.DOCUMENT_ADDED: "`filename`",
}


def _received_by(event_type: EventType) -> str:
    if event_type in WEBHOOK_EVENTS:
        return "webhooks, feed"
    if event_type in TENANT_EVENTS:
        return "neither (internal)"
    return "feed"


def event_data(event_type: EventType, **members: Any) -> dict[str, Any]:
    """The `data` of an event of this type, built (and so checked) through its model."""
    return DATA_MODELS[event_type].model_validate(members).dump()


DataT = TypeVar("DataT", bound=EventData)


def data_of(event: EventEnvelope, model: type[DataT]) -> DataT:
    """The event's `data` read, once, through its type's model in the catalogue: what a handler takes instead of
    the plain dict. `model` is that model, or one it derives from (`StatusChanged` for a closed, cancelled or
    reopened case); another is a mistake of the handler and raises `TypeError`. Data that does not fit raises
    `pydantic.ValidationError`, as at the consumer's boundary (`check_data`)."""
    catalogued = DATA_MODELS.get(event.type)  # type: ignore[call-overload]  # a str finds its StrEnum member
    if catalogued is None or not issubclass(catalogued, model):
        raise TypeError(f"{event.type} events do not carry {model.__name__} data")
    read: DataT = catalogued.model_validate(event.data)
    return read


def check_data(event_type: str, data: dict[str, Any]) -> EventData | None:
    """`data` read through its type's model: raises `pydantic.ValidationError` when it does not fit. None for a
    type outside the catalogue (a command, or a type a newer producer added), which its consumer ignores or
    reads on its own terms."""
    model = DATA_MODELS.get(event_type)  # type: ignore[call-overload]  # a str finds its StrEnum member
    return None if model is None else model.model_validate(data)


def catalogue_markdown() -> str:
    """The event catalog in docs/api.md, generated from the catalogue."""
    lines = [
        "| type | what happened | when it fires | `data` | kept apart in `personal` | received by |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for event_type in EventType:
        model = DATA_MODELS[event_type]
        members = ", ".join(
            f"`{field.alias or name}`{'?' if not field.is_required() and field.default is None else ''}"
            for name, field in model.model_fields.items()
        )
        lines.append(
            f"| `{event_type}` | {(model.__doc__ or '').strip()} | {FIRES_WHEN[event_type]} | {members} | "
            f"{PERSONAL_PARTS.get(event_type, '')} | {_received_by(event_type)} |"
        )
    return "\n".join(lines) + "\n"
