"""Use cases of the portal: the read model from events, access links for staff, and what an external
participant may see and do. The ports are declared here; adapters implement them."""

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from caseline_common.access import roles_held
from caseline_common.adapters.documents import quarantine_key
from caseline_common.contracts import (
    DocumentTypeDefinition,
    FieldType,
    Permission,
    TemplateDefinition,
)
from caseline_common.envelope import Actor, ActorKind, EventEnvelope
from caseline_common.errors import FieldIssue, ForbiddenError, InvalidInputError, NotFoundError, UnavailableError
from caseline_common.fields import validate_field_values
from caseline_common.freshness import RETRY_AFTER_SECONDS, CaseArrival, CaseNotYetVisibleError
from caseline_common.idempotency import Answer, Claim, KeyClaimedError, replay_of
from caseline_common.portal_commands import ConfirmUpload, PortalCommand, PostMessage, SubmitFields
from caseline_common.tenant import StaffRole, TenantContext
from caseline_common.text import FileName
from pydantic import BaseModel, Field, ValidationError

from .domain.links import (
    IssuedLink,
    LinkNotice,
    LinkSummary,
    PortalLink,
    SealedLink,
    Session,
    new_token,
    session_expiry,
    token_hash,
)
from .domain.page import PortalView, build_view, editable_fields, participant_access, reference, values_from_form
from .domain.projection import (
    CaseNotProjectedError,
    PortalCase,
    PortalEntry,
    PortalParticipant,
    apply,
    concerns_portal,
    message,
    new_case,
    timeline_entry,
)
from .strings import EN

UPLOAD_WINDOW = timedelta(minutes=15)
DOWNLOAD_WINDOW = timedelta(minutes=5)
RATE_WINDOW_SECONDS = 60
# How long a claim on an e-mail holds off another delivery of its event; after it, the sender is presumed dead.
NOTICE_LEASE = timedelta(minutes=2)
PORTAL_ACTOR = Actor(kind=ActorKind.SYSTEM, id="portal", display_name="Portal")


class LinkUnavailableError(Exception):
    """Unknown, expired or revoked: all answer the same page, so a token cannot be probed."""


class ParticipantNotYetVisibleError(UnavailableError):
    """The participant was added moments ago and its event has not reached the read model yet."""

    title = "Not available yet"

    def __init__(self, participant_id: str) -> None:
        super().__init__(f"Participant {participant_id} was added moments ago and is not known here yet; retry soon.")
        self.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)


class SessionEndedError(Exception):
    pass


class RateLimitedError(Exception):
    pass


class NoticeInProgressError(Exception):
    """Another delivery of the event is sending this e-mail right now; the event comes again later."""


class IssueLinkRequest(BaseModel):
    participant_id: str = Field(min_length=1, max_length=64)
    expires_in_days: int | None = Field(default=None, ge=1, le=90, description="The tenant's default if absent.")


class PortalUploadRequest(BaseModel):
    type: str = Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")
    filename: FileName
    content_type: str = Field(pattern=r"^[a-z]+/[a-z0-9.+-]+$", max_length=127)
    size: int = Field(ge=1, le=5 * 1024**3)


class PortalUploadTarget(BaseModel):
    upload_id: str
    url: str
    fields: dict[str, str]
    expires_at: datetime


class Brand(BaseModel):
    name: str
    logo_url: str | None
    theme: str | None  # "<template key>/<version>", the path of its colour sheet


class PortalStore(Protocol):
    def save_template(self, key: str, version: int, definition: TemplateDefinition) -> None: ...

    def template(self, key: str, version: int) -> TemplateDefinition | None: ...

    def case(self, case_id: str) -> tuple[PortalCase, int] | None: ...

    def save_case(self, case: PortalCase, revision: int | None) -> None: ...

    def add_entry(self, case_id: str, entry: PortalEntry, *, message: bool) -> None: ...

    def case_page(self, case_id: str) -> tuple[PortalCase | None, list[PortalEntry], list[PortalEntry]]: ...

    def save_link(self, link: PortalLink, claim: Claim | None) -> None:
        """With a claim, in the same transaction; KeyClaimedError and nothing written when it is taken."""
        ...

    def update_link(self, link: PortalLink) -> None: ...

    def link_by_token_hash(self, digest: str) -> PortalLink | None: ...

    def links_of_case(self, case_id: str) -> list[PortalLink]: ...

    def save_session(self, session: Session) -> None: ...

    def session(self, id_hash: str) -> Session | None: ...

    def delete_session(self, id_hash: str) -> None: ...

    def hits(self, key: str, *, now: datetime, window_seconds: int) -> int: ...

    def claim(self, scope: str) -> Claim | None: ...

    def save_claim(self, claim: Claim) -> None: ...

    def release_claim(self, claim: Claim) -> None: ...

    def claim_notice(self, notice: LinkNotice) -> LinkNotice | None: ...

    def take_over_notice(self, notice: LinkNotice, earlier: LinkNotice) -> bool: ...

    def save_notice(self, notice: LinkNotice) -> None: ...


class Documents(Protocol):
    def upload_target(
        self, key: str, *, content_type: str, max_size: int, metadata: dict[str, str], expires_in: timedelta
    ) -> tuple[str, dict[str, str]]: ...

    def download_url(self, key: str, *, filename: str, content_type: str, expires_in: timedelta) -> str: ...


class Bus(Protocol):
    def publish(self, event: EventEnvelope, *, command: bool = False) -> None: ...


class Mailer(Protocol):
    def send(self, to: list[str], subject: str, text: str, html: str | None = None) -> str: ...


class PortalService:
    def __init__(
        self,
        store: PortalStore,
        documents: Documents,
        bus: Bus,
        *,
        tenant_id: str,
        base_url: str,
        link_days: int,
        session_hours: int,
        requests_per_minute: int,
        clock: Callable[[], datetime],
        new_id: Callable[[], str],
        arrival: CaseArrival,
        mailer: Mailer | None = None,
    ) -> None:
        """Without a mailer, requested documents are shown on the page but nobody is e-mailed a link."""
        self._store, self._documents, self._bus, self._mailer = store, documents, bus, mailer
        self._tenant_id, self._base_url = tenant_id, base_url.rstrip("/")
        self._link_days, self._session_hours, self._limit = link_days, session_hours, requests_per_minute
        self._clock, self._new_id, self._arrival = clock, new_id, arrival
        # Event types handled otherwise than by projecting them on their case, and what else a type sets off
        # once projected: one entry per type.
        self._event_handlers: dict[str, Callable[[EventEnvelope], None]] = {"template.published": self._keep_template}
        self._after_projection: dict[str, Callable[[PortalCase, TemplateDefinition, EventEnvelope], None]] = {
            "document.requested": self._send_links_for_request
        }

    # the read model

    def project(self, event: EventEnvelope) -> None:
        self._event_handlers.get(event.type, self._project_case_event)(event)

    def _keep_template(self, event: EventEnvelope) -> None:
        definition = TemplateDefinition.model_validate(event.data["definition"])
        self._store.save_template(event.data["template_key"], event.data["version"], definition)

    def _project_case_event(self, event: EventEnvelope) -> None:
        if event.case_id is None or event.type.startswith("portal.") or not concerns_portal(event):
            return
        found = self._store.case(event.case_id)
        if found is None and event.type != "case.opened":
            raise CaseNotProjectedError(event.case_id)
        case, revision = found if found is not None else (new_case(event), None)
        template = self._store.template(case.template_key, case.template_version)
        if template is None:
            raise CaseNotProjectedError(f"template {case.template_key} v{case.template_version}")
        if apply(case, template, event) or revision is None:
            self._store.save_case(case, revision)
        entry = timeline_entry(template, event)
        if entry is not None:
            self._store.add_entry(case.case_id, entry, message=False)
        shared = message(event)
        if shared is not None:
            self._store.add_entry(case.case_id, shared, message=True)
        follow_up = self._after_projection.get(event.type)
        if follow_up is not None:
            follow_up(case, template, event)

    def _send_links_for_request(self, case: PortalCase, template: TemplateDefinition, event: EventEnvelope) -> None:
        """E-mails each asked participant a new link, once per event and participant."""
        still_open = any(request.id == event.data["request_id"] for request in case.requests)
        if self._mailer is None or case.status != "open" or not still_open:
            return
        for participant_id in event.data.get("participant_ids", []):
            if participant_id not in case.participants:  # its `participant.added` is still on the way
                raise CaseNotProjectedError(f"participant {participant_id} of case {case.case_id}")
            participant = case.participant(participant_id)
            if participant is not None and participant.kind == "external" and participant.email:
                self._send_link_once(case, template, participant, event)

    def _send_link_once(
        self, case: PortalCase, template: TemplateDefinition, participant: PortalParticipant, event: EventEnvelope
    ) -> None:
        assert self._mailer is not None
        now = self._clock()
        notice = LinkNotice(event_id=event.event_id, participant_id=participant.id, claimed_at=now)
        earlier = self._store.claim_notice(notice)
        if earlier is not None:
            if earlier.message_id is not None:
                return
            if earlier.claimed_at > now - NOTICE_LEASE or not self._store.take_over_notice(notice, earlier):
                raise NoticeInProgressError(f"{event.event_id} to {participant.id}")
            if earlier.link_id is not None:  # issued by a delivery that died; its token may never have been sent
                for unsent in self._store.links_of_case(case.case_id):
                    if unsent.id == earlier.link_id and unsent.revoked_at is None:
                        self._revoke(unsent, PORTAL_ACTOR, event.correlation_id, event.event_id)
        link = self._issue(
            case,
            participant,
            self._link_days,
            actor=PORTAL_ACTOR,
            correlation_id=event.correlation_id,
            causation_id=event.event_id,
        )
        notice = notice.model_copy(update={"link_id": link.id})
        self._store.save_notice(notice)
        subject, text = self._request_mail(case, template, participant, event, link)
        message_id = self._mailer.send([str(participant.email)], subject, text)
        self._store.save_notice(notice.model_copy(update={"message_id": message_id}))

    def _request_mail(
        self,
        case: PortalCase,
        template: TemplateDefinition,
        participant: PortalParticipant,
        event: EventEnvelope,
        link: IssuedLink,
    ) -> tuple[str, str]:
        brand = template.portal.branding.name or template.name
        names = {document.key: document.name for document in template.document_types}
        document = names.get(event.data["document_type"], event.data["document_type"])
        note = event.data.get("message")
        subject = EN["mail.request.subject"].format(brand=brand, reference=reference(case.case_id))
        text = EN["mail.request.text"].format(
            greeting=EN["mail.greeting"].format(name=participant.name) if participant.name else EN["mail.hello"],
            title=case.title,
            reference=reference(case.case_id),
            document=document,
            note=EN["mail.request.note"].format(message=note) if note else "",
            url=link.url,
            expires=link.expires_at.strftime("%d %B %Y"),
            brand=brand,
        )
        return subject, text

    # staff: access links

    def _staff_case(self, context: TenantContext, case_id: str) -> tuple[PortalCase, TemplateDefinition]:
        if not context.principal.has_any(StaffRole.ADMIN, StaffRole.STAFF):
            raise ForbiddenError("Your role does not allow this.")
        # a case opened moments ago is waited for: its first event may still be on its way to the read model
        case, template = self._arrival.await_case(case_id, lambda: self._case_and_template(case_id))
        # the owner and every other staff participant: events name each one's participation
        staff = [p.as_participant() for p in case.participants.values() if p.kind == "internal" and not p.removed]
        access = roles_held(template, staff, context.principal)
        if not access.can_view:
            raise NotFoundError(f"No case {case_id}.")
        access.require(Permission.PARTICIPANT_MANAGE, "give participants access to the portal")
        return case, template

    def _case_and_template(self, case_id: str) -> tuple[PortalCase, TemplateDefinition] | None:
        found = self._store.case(case_id)
        template = self._store.template(found[0].template_key, found[0].template_version) if found else None
        return (found[0], template) if found is not None and template is not None else None

    def _external(self, case: PortalCase, participant_id: str) -> PortalParticipant:
        """One added moments ago may not have reached the read model yet: its id is a ULID too, so it is waited
        for as a case is. An id the case never had is the caller's mistake."""
        try:
            participant = case.participants.get(participant_id) or self._arrival.await_case(
                participant_id, lambda: self._participant(case.case_id, participant_id)
            )
        except NotFoundError:
            participant = None
        except CaseNotYetVisibleError:
            raise ParticipantNotYetVisibleError(participant_id) from None
        if participant is None or participant.removed or participant.kind != "external":
            raise InvalidInputError(
                "No such external participant.",
                [FieldIssue(pointer="/participant_id", detail="not an external participant of this case")],
            )
        return participant

    def _participant(self, case_id: str, participant_id: str) -> PortalParticipant | None:
        found = self._store.case(case_id)
        return found[0].participants.get(participant_id) if found else None

    def _link_event(
        self, kind: str, link: PortalLink, actor: Actor, correlation_id: str, causation_id: str | None = None
    ) -> EventEnvelope:
        return EventEnvelope.new(
            tenant_id=self._tenant_id,
            case_id=link.case_id,
            type=kind,
            actor=actor,
            correlation_id=correlation_id,
            causation_id=causation_id,
            occurred_at=self._clock(),
            data={"link_id": link.id, "participant_id": link.participant_id, "expires_at": link.expires_at.isoformat()},
            subjects=[link.participant_id],
        )

    def issue_link(
        self, context: TenantContext, case_id: str, request: IssueLinkRequest, idempotency_key: str | None = None
    ) -> Answer[IssuedLink]:
        claim = Claim.of(context, f"portal_link#{case_id}", idempotency_key, request, self._clock())
        replayed = self._replayed_link(claim)
        if replayed is not None:
            return replayed
        case, _ = self._staff_case(context, case_id)
        participant = self._external(case, request.participant_id)
        days = request.expires_in_days or self._link_days
        actor = context.principal.actor()
        return self._issue_claimed(
            case, participant, days, actor=actor, correlation_id=context.correlation_id, claim=claim
        )

    def _replayed_link(self, claim: Claim | None) -> Answer[IssuedLink] | None:
        """The link an earlier request with this Idempotency-Key issued, read before anything else is checked."""
        if claim is None:
            return None
        sealed = replay_of(claim, self._store.claim(claim.scope), SealedLink)
        return Answer(sealed.resource.issued(claim.scope, self._base_url), replayed=True) if sealed else None

    def _issue_claimed(
        self,
        case: PortalCase,
        participant: PortalParticipant,
        days: int,
        *,
        actor: Actor,
        correlation_id: str,
        claim: Claim | None,
    ) -> Answer[IssuedLink]:
        try:
            return Answer(self._issue(case, participant, days, actor=actor, correlation_id=correlation_id, claim=claim))
        except KeyClaimedError as taken:
            assert claim is not None
            return Answer(taken.replay(SealedLink).resource.issued(claim.scope, self._base_url), replayed=True)

    def _issue(
        self,
        case: PortalCase,
        participant: PortalParticipant,
        days: int,
        *,
        actor: Actor,
        correlation_id: str,
        causation_id: str | None = None,
        claim: Claim | None = None,
    ) -> IssuedLink:
        now = self._clock()
        token = new_token()
        link = PortalLink(
            id=self._new_id(),
            token_hash=token_hash(token),
            case_id=case.case_id,
            participant_id=participant.id,
            created_at=now,
            created_by=actor.id,
            expires_at=now + timedelta(days=days),
        )
        sealed = claim and claim.answering(SealedLink.sealing(link, token, claim.scope))
        self._store.save_link(link, sealed)
        try:
            self._bus.publish(self._link_event("portal.link_issued", link, actor, correlation_id, causation_id))
        except Exception:
            self._store.update_link(link.model_copy(update={"revoked_at": now}))  # unrecorded links never work
            if sealed is not None:  # and a retry issues another
                self._store.release_claim(sealed)
            raise
        return IssuedLink(**LinkSummary.of(link).model_dump(), url=f"{self._base_url}/p/{token}")

    def list_links(self, context: TenantContext, case_id: str) -> list[LinkSummary]:
        self._staff_case(context, case_id)
        return [LinkSummary.of(link) for link in self._store.links_of_case(case_id)]

    def _link(self, case_id: str, link_id: str) -> PortalLink:
        link = next((each for each in self._store.links_of_case(case_id) if each.id == link_id), None)
        if link is None:
            raise NotFoundError(f"No link {link_id} on this case.")
        return link

    def revoke_link(
        self, context: TenantContext, case_id: str, link_id: str, idempotency_key: str | None = None
    ) -> Answer[LinkSummary]:
        claim = Claim.of(context, f"revoke_link#{case_id}#{link_id}", idempotency_key, None, self._clock())
        replayed = replay_of(claim, self._store.claim(claim.scope) if claim else None, LinkSummary)
        if replayed is not None:
            return replayed
        self._staff_case(context, case_id)
        link = self._link(case_id, link_id)
        if link.revoked_at is None:
            link = self._revoke(link, context.principal.actor(), context.correlation_id)
        answer = LinkSummary.of(link)
        if claim is not None:  # claimed after the fact: revoking again changes nothing and answers the same
            try:
                self._store.save_claim(claim.answering(answer))
            except KeyClaimedError as taken:
                return taken.replay(LinkSummary)
        return Answer(answer)

    def _revoke(
        self, link: PortalLink, actor: Actor, correlation_id: str, causation_id: str | None = None
    ) -> PortalLink:
        link = link.model_copy(update={"revoked_at": self._clock()})
        self._store.update_link(link)
        self._bus.publish(self._link_event("portal.link_revoked", link, actor, correlation_id, causation_id))
        return link

    def rotate_link(
        self, context: TenantContext, case_id: str, link_id: str, idempotency_key: str | None = None
    ) -> Answer[IssuedLink]:
        """A new token for the same participant; the old one stops working at once."""
        claim = Claim.of(context, f"rotate_link#{case_id}#{link_id}", idempotency_key, None, self._clock())
        replayed = self._replayed_link(claim)
        if replayed is not None:
            return replayed
        case, _ = self._staff_case(context, case_id)
        old = self._link(case_id, link_id)
        participant = self._external(case, old.participant_id)
        self.revoke_link(context, case_id, link_id)
        actor = context.principal.actor()
        return self._issue_claimed(
            case, participant, self._link_days, actor=actor, correlation_id=context.correlation_id, claim=claim
        )

    # external participants

    def brand(self, case_id: str) -> Brand:
        found = self._store.case(case_id)
        template = self._store.template(found[0].template_key, found[0].template_version) if found else None
        if found is None or template is None:
            return Brand(name="Caseline", logo_url=None, theme=None)
        branding = template.portal.branding
        return Brand(
            name=branding.name or template.name,
            logo_url=branding.logo_url,
            theme=f"{template.key}/{found[0].template_version}" if branding.colour else None,
        )

    def brand_colour(self, template_key: str, version: int) -> str | None:
        template = self._store.template(template_key, version)
        return template.portal.branding.colour if template else None

    def _limit_rate(self, key: str) -> None:
        if self._store.hits(key, now=self._clock(), window_seconds=RATE_WINDOW_SECONDS) > self._limit:
            raise RateLimitedError(key)

    def landing(self, token: str, client: str) -> PortalLink:
        """Looks only: a GET of the link (a mail scanner's, say) spends and changes nothing."""
        self._limit_rate(f"client#{client}")
        digest = token_hash(token)
        self._limit_rate(f"link#{digest}")
        link = self._store.link_by_token_hash(digest)
        if link is None or not link.usable(self._clock()):
            raise LinkUnavailableError
        found = self._store.case(link.case_id)
        if found is None or found[0].participant(link.participant_id) is None:
            raise LinkUnavailableError
        return link

    def start_session(self, token: str, client: str) -> tuple[str, Session]:
        link = self.landing(token, client)
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
            raise ForbiddenError("Messages cannot be sent on this case.")
        text = body.strip()
        if not 1 <= len(text) <= 10_000:
            raise InvalidInputError(
                "The message is empty or too long.",
                [FieldIssue(pointer="/body", detail="write between 1 and 10,000 characters")],
            )
        try:
            message = PostMessage(body=text)
        except ValidationError as error:  # a control character or a bidi override: said, not sent
            detail = error.errors(include_url=False)[0]["msg"]
            raise InvalidInputError(f"The message {detail}.", [FieldIssue(pointer="/body", detail=detail)]) from None
        self._command(session, PortalCommand.POST_MESSAGE, message)

    def submit_fields(self, session: Session, form: dict[str, list[str]]) -> dict[str, Any]:
        """Checks the form as the API would check it, then sends the values; returns what was sent."""
        case, template, participant = self._case_of(session)
        definitions = editable_fields(template, participant)
        if not definitions or case.status != "open":
            raise ForbiddenError("Nothing on this case can be changed here.")
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
        raise InvalidInputError(
            "You cannot upload this kind of document.", [FieldIssue(pointer="/type", detail="not requested from you")]
        )

    def start_upload(self, session: Session, request: PortalUploadRequest) -> PortalUploadTarget:
        case, template, participant = self._case_of(session)
        if case.status != "open":
            raise ForbiddenError("The case is closed.")
        document = self._upload_type(template, participant, request.type)
        if request.content_type not in document.content_types:
            raise InvalidInputError(
                f"{document.name} must be one of: {', '.join(document.content_types)}.",
                [
                    FieldIssue(
                        pointer="/content_type", detail=f"{document.name} accepts {', '.join(document.content_types)}"
                    )
                ],
            )
        if request.size > document.max_size_bytes:
            raise InvalidInputError(
                f"{document.name} may be at most {document.max_size_bytes} bytes.",
                [FieldIssue(pointer="/size", detail=f"at most {document.max_size_bytes} bytes")],
            )
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
        self._command(session, PortalCommand.CONFIRM_UPLOAD, ConfirmUpload(upload_id=upload_id))

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
