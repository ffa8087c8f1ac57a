"""Use cases of an external participant's visit: the landing page of their link, the session it starts, the
case page, and what they may do there (messages, field answers, uploads, their tasks, downloads), each checked
here and sent to the cases service as a command."""

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from caseline_common.adapters.s3_documents import quarantine_key
from caseline_common.contracts import DocumentTypeDefinition, FieldType, Permission, TemplateDefinition
from caseline_common.envelope import Actor, ActorKind, EventEnvelope
from caseline_common.errors import FieldIssue, InvalidInputError, NotFoundError
from caseline_common.fields import validate_field_values
from caseline_common.portal_commands import CompleteTask, ConfirmUpload, PortalCommand, PostMessage, SubmitFields
from caseline_common.text import FileName
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .domain.links import PortalLink, Session, new_token, session_expiry, token_hash
from .domain.page import PortalView, build_view, editable_fields, open_task, participant_access, values_from_form
from .domain.projection import PortalCase, PortalParticipant
from .domain.refusals import Invalid, Number, Refused, Said, Size, Unknown
from .ports import Bus, Documents, PortalStore, case_and_template

UPLOAD_WINDOW = timedelta(minutes=15)
DOWNLOAD_WINDOW = timedelta(minutes=5)
RATE_WINDOW_SECONDS = 60
MESSAGE_LENGTH = 10_000


class LinkUnavailableError(Exception):
    """Unknown, expired or revoked: all answer the same page, so a token cannot be probed."""


class SessionEndedError(Exception):
    pass


class RateLimitedError(Exception):
    pass


class PortalUploadRequest(BaseModel):
    model_config = ConfigDict(
        defer_build=True,
        json_schema_extra={
            "examples": [
                {
                    "type": "damage_photos",
                    "filename": "kitchen-ceiling.jpg",
                    "content_type": "image/jpeg",
                    "size": 3481722,
                }
            ]
        },
    )

    type: str = Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")
    filename: FileName
    content_type: str = Field(pattern=r"^[a-z]+/[a-z0-9.+-]+$", max_length=127)
    size: int = Field(ge=0, le=5 * 1024**3, description="In bytes; an empty file is refused in words (422).")


class PortalUploadTarget(BaseModel):
    model_config = ConfigDict(
        defer_build=True,
        json_schema_extra={
            "examples": [
                {
                    "upload_id": "01JF3Z9B6T2N8R4W1X5Y7Z3A9C",
                    "url": "https://caseline-nordlicht-documents.s3.amazonaws.com/",
                    "fields": {
                        "Content-Type": "image/jpeg",
                        "x-amz-meta-case-id": "01JF3Z8Q4V6W7X8Y9Z0A1B2C3D",
                        "x-amz-meta-document-type": "damage_photos",
                        "x-amz-meta-filename": "kitchen-ceiling.jpg",
                        "x-amz-meta-uploaded-by": "01JF3Z8KHY8W21WDHGHTVPCQ8G",
                        "key": "quarantine/01JF3Z8Q4V6W7X8Y9Z0A1B2C3D/01JF3Z9B6T2N8R4W1X5Y7Z3A9C",
                        "x-amz-algorithm": "AWS4-HMAC-SHA256",
                        "x-amz-credential": "ASIA4QZ7EXAMPLE2KD6M/20270104/eu-central-1/s3/aws4_request",
                        "x-amz-date": "20270104T090512Z",
                        "x-amz-security-token": (
                            "IQoJb3JpZ2luX2VjEJr//////////wEaDGV1LWNlbnRyYWwtMSJHMEUCIQD5example0session0token0for0th"
                            "e0portal0function"
                        ),
                        "policy": (
                            "eyJleHBpcmF0aW9uIjogIjIwMjctMDEtMDRUMDk6MjA6MTJaIiwgImNvbmRpdGlvbnMiOiBbeyJDb250ZW50LVR5"
                            "cGUiOiAiaW1hZ2UvanBlZyJ9LCB7IngtYW16LW1ldGEtY2FzZS1pZCI6ICIwMUpGM1o4UTRWNlc3WDhZOVowQTFC"
                            "MkMzRCJ9LCB7IngtYW16LW1ldGEtZG9jdW1lbnQtdHlwZSI6ICJkYW1hZ2VfcGhvdG9zIn0sIHsieC1hbXotbWV0"
                            "YS1maWxlbmFtZSI6ICJraXRjaGVuLWNlaWxpbmcuanBnIn0sIHsieC1hbXotbWV0YS11cGxvYWRlZC1ieSI6ICIw"
                            "MUpGM1o4S0hZOFcyMVdESEdIVFZQQ1E4RyJ9LCBbImNvbnRlbnQtbGVuZ3RoLXJhbmdlIiwgMSwgMjA5NzE1MjBd"
                            "LCB7ImJ1Y2tldCI6ICJjYXNlbGluZS1ub3JkbGljaHQtZG9jdW1lbnRzIn0sIHsia2V5IjogInF1YXJhbnRpbmUv"
                            "MDFKRjNaOFE0VjZXN1g4WTlaMEExQjJDM0QvMDFKRjNaOUI2VDJOOFI0VzFYNVk3WjNBOUMifSwgeyJ4LWFtei1h"
                            "bGdvcml0aG0iOiAiQVdTNC1ITUFDLVNIQTI1NiJ9LCB7IngtYW16LWNyZWRlbnRpYWwiOiAiQVNJQTRRWjdFWEFN"
                            "UExFMktENk0vMjAyNzAxMDQvZXUtY2VudHJhbC0xL3MzL2F3czRfcmVxdWVzdCJ9LCB7IngtYW16LWRhdGUiOiAi"
                            "MjAyNzAxMDRUMDkwNTEyWiJ9LCB7IngtYW16LXNlY3VyaXR5LXRva2VuIjogIklRb0piM0pwWjJsdVgyVmpFSnIv"
                            "Ly8vLy8vLy8vd0VhREdWMUxXTmxiblJ5WVd3dE1TSkhNRVVDSVFENWV4YW1wbGUwc2Vzc2lvbjB0b2tlbjBmb3Iw"
                            "dGhlMHBvcnRhbDBmdW5jdGlvbiJ9XX0="
                        ),
                        "x-amz-signature": "bb70cc48ce7a48f7c81d2dfc431d3006e7c28281258ec3e44af606d02b672ed8",
                    },
                    "expires_at": "2027-01-04T09:20:12Z",
                }
            ]
        },
    )

    upload_id: str
    url: str
    fields: dict[str, str]
    expires_at: datetime


class Brand(BaseModel):
    model_config = ConfigDict(defer_build=True)

    name: str
    logo_url: str | None
    theme: str | None  # "<template key>/<version>", the path of its colour sheet


class VisitService:
    def __init__(
        self,
        store: PortalStore,
        documents: Documents,
        bus: Bus,
        *,
        tenant_id: str,
        session_hours: int,
        requests_per_minute: int,
        clock: Callable[[], datetime],
        new_id: Callable[[], str],
    ) -> None:
        self._store, self._documents, self._bus = store, documents, bus
        self._tenant_id, self._session_hours, self._limit = tenant_id, session_hours, requests_per_minute
        self._clock, self._new_id = clock, new_id

    def brand(self, case_id: str) -> Brand:
        found = case_and_template(self._store, case_id)
        if found is None:
            return Brand(name="Caseline", logo_url=None, theme=None)
        case, template = found
        branding = template.portal.branding
        return Brand(
            name=branding.name or template.name,
            logo_url=branding.logo_url,
            theme=f"{template.key}/{case.template_version}" if branding.colour else None,
        )

    def brand_colour(self, template_key: str, version: int) -> str | None:
        template = self._store.template(template_key, version)
        return template.portal.branding.colour if template else None

    def _limit_rate(self, key: str) -> None:
        if self._store.hits(key, now=self._clock(), window_seconds=RATE_WINDOW_SECONDS) > self._limit:
            raise RateLimitedError(key)

    def landing(self, token: str, client: str) -> tuple[PortalLink, PortalParticipant]:
        """Looks only: a GET of the link (a mail scanner's, say) spends and changes nothing."""
        self._limit_rate(f"client#{client}")
        digest = token_hash(token)
        self._limit_rate(f"link#{digest}")
        link = self._store.link_by_token_hash(digest)
        if link is None or not link.usable(self._clock()):
            raise LinkUnavailableError
        found = self._store.case(link.case_id)
        participant = found[0].participant(link.participant_id) if found is not None else None
        if participant is None:
            raise LinkUnavailableError
        return link, participant

    def start_session(self, token: str, client: str) -> tuple[str, Session]:
        link, _ = self.landing(token, client)
        now = self._clock()
        session_id = new_token()
        session = Session(
            id_hash=token_hash(session_id),
            link_id=link.id,
            link_hash=link.token_hash,
            case_id=link.case_id,
            participant_id=link.participant_id,
            csrf_token=new_token(),
            expires_at=session_expiry(now, link, self._session_hours),
        )
        self._store.save_session(session)
        self._store.update_link(link.model_copy(update={"last_used_at": now}))
        return session_id, session

    def session(self, session_id: str | None) -> Session:
        """The live session of a cookie, as long as its link still works."""
        if not session_id:
            raise SessionEndedError
        digest = token_hash(session_id)
        self._limit_rate(f"session#{digest}")
        session = self._store.session(digest)
        now = self._clock()
        if session is None or session.expires_at <= now:
            raise SessionEndedError
        link = self._store.link_by_token_hash(session.link_hash)
        if link is None or not link.usable(now):
            raise SessionEndedError
        return session

    def participant_language(self, session: Session) -> str | None:
        """The language staff chose for the session's participant, if any (what a refusal is worded in)."""
        found = self._store.case(session.case_id)
        participant = found[0].participant(session.participant_id) if found is not None else None
        return participant.language if participant is not None else None

    def end_session(self, session_id: str) -> None:
        self._store.delete_session(token_hash(session_id))

    def _case_of(self, session: Session) -> tuple[PortalCase, TemplateDefinition, PortalParticipant]:
        found = self._store.case(session.case_id)
        if found is None:
            raise SessionEndedError
        case = found[0]
        template = self._store.template(case.template_key, case.template_version)
        participant = case.participant(session.participant_id)
        if template is None or participant is None:
            raise SessionEndedError
        return case, template, participant

    def page(self, session: Session) -> PortalView:
        case, timeline, messages = self._store.case_page(session.case_id)
        if case is None:
            raise SessionEndedError
        template = self._store.template(case.template_key, case.template_version)
        participant = case.participant(session.participant_id)
        if template is None or participant is None:
            raise SessionEndedError
        return build_view(template, case, participant, timeline=timeline, messages=messages)

    def _command(self, session: Session, kind: PortalCommand, data: BaseModel) -> None:
        self._bus.publish(
            EventEnvelope.new(
                tenant_id=self._tenant_id,
                case_id=session.case_id,
                type=kind.value,
                actor=Actor(kind=ActorKind.EXTERNAL, id=session.participant_id),
                correlation_id=self._new_id(),
                occurred_at=self._clock(),
                data=data.model_dump(mode="json"),
            ),
            command=True,
        )

    def post_message(self, session: Session, body: str) -> None:
        case, template, participant = self._case_of(session)
        if not participant_access(template, participant).can(Permission.COMMENT_EXTERNAL) or case.status != "open":
            raise Refused(Said("refused.messages"))
        text = body.strip()
        if not 1 <= len(text) <= MESSAGE_LENGTH:
            said = Said("refused.message_length", {"most": Number(MESSAGE_LENGTH)})
            raise Invalid(said, {"/body": said})
        try:
            message = PostMessage(body=text)
        except ValidationError as error:  # a control character or a bidi override: said and named, not sent
            code = str((error.errors(include_url=False)[0].get("ctx") or {}).get("code", "?"))
            said = Said("refused.message_characters", {"character": code})
            raise Invalid(said, {"/body": said}) from None
        self._command(session, PortalCommand.POST_MESSAGE, message)

    def submit_fields(self, session: Session, form: dict[str, list[str]]) -> dict[str, Any]:
        """Checks the form as the API would check it, then sends the values; returns what was sent."""
        case, template, participant = self._case_of(session)
        definitions = editable_fields(template, participant)
        if not definitions or case.status != "open":
            raise Refused(Said("refused.fields"))
        values, issues = values_from_form(definitions, form, template.calendar.timezone)
        clean: dict[str, Any] = {}
        try:
            clean = validate_field_values(
                template, {k: v for k, v in values.items() if k not in _keys(issues)}, require_all=False
            )
        except InvalidInputError as error:
            issues += error.issues
        if issues:
            raise InvalidInputError("Some answers need another look.", issues)
        # Compared in the form the cases service keeps, so an untouched answer is not sent as a change.
        changed = {
            key: clean.get(key) for key in values if not _same(case.fields.get(key), clean.get(key), template, key)
        }
        if changed:
            self._command(session, PortalCommand.SUBMIT_FIELDS, SubmitFields(fields=changed))
        return changed

    def complete_task(self, session: Session, task_id: str) -> None:
        """Marks a task of the participant's role done; the cases service checks it again as it applies it."""
        case, template, participant = self._case_of(session)
        if not open_task(template, case, participant, task_id):
            raise Unknown(Said("refused.task"))
        self._command(session, PortalCommand.COMPLETE_TASK, CompleteTask(task_id=task_id))

    def _upload_type(
        self, template: TemplateDefinition, participant: PortalParticipant, key: str
    ) -> DocumentTypeDefinition:
        access = participant_access(template, participant)
        for document in template.document_types:
            if (
                document.key == key
                and document.external
                and access.can(Permission.DOCUMENT_UPLOAD)
                and (not document.uploader_roles or access.role_keys() & set(document.uploader_roles))
            ):
                return document
        raise Invalid(Said("refused.upload_type"), {"/type": Said("refused.upload_type.issue")})

    def start_upload(self, session: Session, request: PortalUploadRequest) -> PortalUploadTarget:
        case, template, participant = self._case_of(session)
        if case.status != "open":
            raise Refused(Said("refused.closed"))
        document = self._upload_type(template, participant, request.type)
        if request.content_type not in document.content_types:
            said = Said("upload.wrong_type", {"types": ", ".join(document.content_types)})
            raise Invalid(said, {"/content_type": said})
        if request.size > document.max_size_bytes:
            said = Said("upload.too_big", {"size": Size(document.max_size_bytes)})
            raise Invalid(said, {"/size": said})
        if request.size == 0:
            said = Said("upload.empty")
            raise Invalid(said, {"/size": said})
        upload_id = self._new_id()
        url, fields = self._documents.upload_target(
            quarantine_key(case.case_id, upload_id),
            content_type=request.content_type,
            max_size=document.max_size_bytes,
            metadata={
                "case-id": case.case_id,
                "document-type": document.key,
                "filename": request.filename,
                "uploaded-by": participant.id,
            },
            expires_in=UPLOAD_WINDOW,
        )
        return PortalUploadTarget(upload_id=upload_id, url=url, fields=fields, expires_at=self._clock() + UPLOAD_WINDOW)

    def confirm_upload(self, session: Session, upload_id: str) -> None:
        """Asks the cases service to check the file and add it; it refuses anything the type does not allow."""
        self._case_of(session)
        try:
            command = ConfirmUpload(upload_id=upload_id)
        except ValidationError:  # not an upload id at all: nothing to pass on
            raise Unknown(Said("refused.upload_unknown")) from None
        self._command(session, PortalCommand.CONFIRM_UPLOAD, command)

    def download_url(self, session: Session, type_key: str, version: int) -> str:
        case, template, participant = self._case_of(session)
        document = next((d for d in case.documents if d.type == type_key and d.version == version), None)
        if document is None or not participant_access(template, participant).can(Permission.DOCUMENT_VIEW):
            raise NotFoundError("No such document.")
        return self._documents.download_url(
            document.object_key(case.case_id),
            filename=document.filename,
            content_type=document.content_type,
            expires_in=DOWNLOAD_WINDOW,
        )


def _keys(issues: list[FieldIssue]) -> set[str]:
    return {issue.pointer.removeprefix("/fields/").split("/")[0] for issue in issues}


def _same(before: Any, after: Any, template: TemplateDefinition, key: str) -> bool:
    """Equal values; a date and time is the same answer at another offset (the form sends local time)."""
    if before == after:
        return True
    definition = next((each for each in template.fields if each.key == key), None)
    if definition is None or definition.type is not FieldType.DATETIME or not before or not after:
        return False
    try:
        return datetime.fromisoformat(before) == datetime.fromisoformat(after)
    except (TypeError, ValueError):
        return False
