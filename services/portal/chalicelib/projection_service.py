"""Use cases of the portal's read model: what each bus event does to it, and the e-mails a document request
sets off (a new link for each asked external participant, once per event and participant)."""

from collections.abc import Callable
from datetime import datetime, timedelta
from types import ModuleType

from caseline_common.coldstart import deferred
from caseline_common.contracts import TemplateDefinition, case_reference
from caseline_common.envelope import Actor, ActorKind, EventEnvelope
from caseline_common.events import PORTAL_EVENTS, DocumentRequested, EventType, TemplatePublished, data_of

from .domain.links import IssuedLink, LinkNotice
from .domain.page import local_time
from .domain.projection import (
    CaseNotProjectedError,
    PortalCase,
    PortalParticipant,
    apply,
    concerns_portal,
    message,
    new_case,
    timeline_entry,
)
from .link_service import LinkService
from .ports import Mailer, PortalStore

# How long a claim on an e-mail holds off another delivery of its event; after it, the sender is presumed dead.
NOTICE_LEASE = timedelta(minutes=2)
PORTAL_ACTOR = Actor(kind=ActorKind.SYSTEM, id="portal", display_name="Portal")


class NoticeInProgressError(Exception):
    """Another delivery of the event is sending this e-mail right now; the event comes again later."""


class ProjectionService:
    def __init__(
        self,
        store: PortalStore,
        links: LinkService,
        *,
        link_days: int,
        clock: Callable[[], datetime],
        mailer: Mailer | None = None,
    ) -> None:
        """Without a mailer, requested documents are shown on the page but nobody is e-mailed a link."""
        self._store, self._links, self._mailer = store, links, mailer
        self._link_days, self._clock = link_days, clock
        # Event types handled otherwise than by projecting them on their case, and what else a type sets off
        # once projected: one entry per type.
        self._event_handlers: dict[str, Callable[[EventEnvelope], None]] = {
            EventType.TEMPLATE_PUBLISHED: self._keep_template
        }
        self._after_projection: dict[str, Callable[[PortalCase, TemplateDefinition, EventEnvelope], None]] = {
            EventType.DOCUMENT_REQUESTED: self._send_links_for_request
        }

    def project(self, event: EventEnvelope) -> None:
        self._event_handlers.get(event.type, self._project_case_event)(event)

    def _keep_template(self, event: EventEnvelope) -> None:
        published = data_of(event, TemplatePublished)
        self._store.save_template(published.template_key, published.version, published.definition)

    def _project_case_event(self, event: EventEnvelope) -> None:
        if event.case_id is None or event.type in PORTAL_EVENTS or not concerns_portal(event):
            return
        found = self._store.case(event.case_id)
        if found is None and event.type != EventType.CASE_OPENED:
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
        requested = data_of(event, DocumentRequested)
        still_open = any(request.id == requested.request_id for request in case.requests)
        if self._mailer is None or case.status != "open" or not still_open:
            return
        for participant_id in requested.participant_ids:
            known = case.participants.get(participant_id)
            if known is None or not known.introduced:  # its `participant.added` is still on the way
                raise CaseNotProjectedError(f"participant {participant_id} of case {case.case_id}")
            participant = case.participant(participant_id)
            if participant is not None and participant.kind == "external" and participant.email:
                self._send_link_once(case, template, participant, event, requested)

    def _send_link_once(
        self,
        case: PortalCase,
        template: TemplateDefinition,
        participant: PortalParticipant,
        event: EventEnvelope,
        requested: DocumentRequested,
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
                        self._links.revoke(unsent, PORTAL_ACTOR, event.correlation_id, event.event_id)
        link = self._links.issue(
            case,
            participant,
            self._link_days,
            actor=PORTAL_ACTOR,
            correlation_id=event.correlation_id,
            causation_id=event.event_id,
        )
        notice = notice.model_copy(update={"link_id": link.id})
        self._store.save_notice(notice)
        subject, text = request_mail(case, template, participant, requested, link)
        message_id = self._mailer.send([str(participant.email)], subject, text)
        self._store.save_notice(notice.model_copy(update={"message_id": message_id}))


@deferred
def _languages() -> ModuleType:
    """The catalogs and Babel, loaded in Lambda at the first e-mail rather than with every event."""
    from . import languages

    return languages


def request_mail(
    case: PortalCase,
    template: TemplateDefinition,
    participant: PortalParticipant,
    requested: DocumentRequested,
    link: IssuedLink,
) -> tuple[str, str]:
    """The subject and text of the e-mail asking a participant for a document: in the language staff chose for them
    when the portal speaks it, else English (no browser to ask), its date as that language writes it and in the
    template's zone. The team's own words (the template's names, their note) are as written."""
    spoken = _languages()
    language = participant.language if participant.language in spoken.languages() else spoken.SOURCE
    t, writing = spoken.messages(language), spoken.Writing(language)
    brand = template.portal.branding.name or template.name
    names = {document.key: document.name for document in template.document_types}
    document = names.get(requested.document_type, requested.document_type)
    note = requested.message
    subject = t["mail.request.subject"].format(brand=brand, reference=case_reference(case.case_id))
    text = t["mail.request.text"].format(
        greeting=t["mail.greeting"].format(name=participant.name) if participant.name else t["mail.hello"],
        title=case.title,
        reference=case_reference(case.case_id),
        document=document,
        note=t["mail.request.note"].format(message=note) if note else "",
        url=link.url,
        expires=writing.long_day(local_time(link.expires_at, template.calendar.timezone)),
        brand=brand,
    )
    return subject, text
