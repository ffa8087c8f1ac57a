"""Use cases of portal links for staff: issue, list, revoke and rotate the links external participants enter
the portal by. The projection issues and revokes links through them too, when a request e-mails one."""

from collections.abc import Callable
from datetime import datetime, timedelta

from caseline_common.access import roles_held
from caseline_common.contracts import Permission, TemplateDefinition
from caseline_common.envelope import Actor, EventEnvelope
from caseline_common.errors import FieldIssue, ForbiddenError, InvalidInputError, NotFoundError, UnavailableError
from caseline_common.events import EventType, event_data
from caseline_common.freshness import RETRY_AFTER_SECONDS, CaseArrival, CaseNotYetVisibleError
from caseline_common.idempotency import Answer, Claim, KeyClaimedError, replay_of
from caseline_common.tenant import StaffRole, TenantContext
from pydantic import BaseModel, ConfigDict, Field

from .domain.links import IssuedLink, LinkSummary, PortalLink, SealedLink, new_token, token_hash
from .domain.projection import PortalCase, PortalParticipant
from .ports import Bus, PortalStore, case_and_template


class ParticipantNotYetVisibleError(UnavailableError):
    """The participant was added moments ago and its event has not reached the read model yet."""

    title = "Not available yet"

    def __init__(self, participant_id: str) -> None:
        super().__init__(f"Participant {participant_id} was added moments ago and is not known here yet; retry soon.")
        self.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)


class IssueLinkRequest(BaseModel):
    model_config = ConfigDict(
        defer_build=True,
        json_schema_extra={"examples": [{"participant_id": "01JF3Z8KHY8W21WDHGHTVPCQ8G", "expires_in_days": 30}]},
    )

    participant_id: str = Field(min_length=1, max_length=64)
    expires_in_days: int | None = Field(default=None, ge=1, le=90, description="The tenant's default if absent.")


class LinkService:
    def __init__(
        self,
        store: PortalStore,
        bus: Bus,
        *,
        tenant_id: str,
        base_url: str,
        link_days: int,
        clock: Callable[[], datetime],
        new_id: Callable[[], str],
        arrival: CaseArrival,
    ) -> None:
        self._store, self._bus = store, bus
        self._tenant_id, self._base_url, self._link_days = tenant_id, base_url.rstrip("/"), link_days
        self._clock, self._new_id, self._arrival = clock, new_id, arrival

    def _staff_case(self, context: TenantContext, case_id: str) -> tuple[PortalCase, TemplateDefinition]:
        if not context.principal.has_any(StaffRole.ADMIN, StaffRole.STAFF):
            raise ForbiddenError("Your role does not allow this.")
        # a case opened moments ago is waited for: its first event may still be on its way to the read model
        case, template = self._arrival.await_case(case_id, lambda: case_and_template(self._store, case_id))
        # the owner and every other staff participant: events name each one's participation
        staff = [p.as_participant() for p in case.participants.values() if p.kind == "internal" and not p.removed]
        access = roles_held(template, staff, context.principal)
        if not access.can_view:
            raise NotFoundError(f"No case {case_id}.")
        access.require(Permission.PARTICIPANT_MANAGE, "give participants access to the portal")
        return case, template

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
        self, kind: EventType, link: PortalLink, actor: Actor, correlation_id: str, causation_id: str | None = None
    ) -> EventEnvelope:
        return EventEnvelope.new(
            tenant_id=self._tenant_id,
            case_id=link.case_id,
            type=kind,
            actor=actor,
            correlation_id=correlation_id,
            causation_id=causation_id,
            occurred_at=self._clock(),
            data=event_data(kind, link_id=link.id, participant_id=link.participant_id, expires_at=link.expires_at),
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
            return Answer(self.issue(case, participant, days, actor=actor, correlation_id=correlation_id, claim=claim))
        except KeyClaimedError as taken:
            assert claim is not None
            return Answer(taken.replay(SealedLink).resource.issued(claim.scope, self._base_url), replayed=True)

    def issue(
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
            self._bus.publish(self._link_event(EventType.PORTAL_LINK_ISSUED, link, actor, correlation_id, causation_id))
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
            link = self.revoke(link, context.principal.actor(), context.correlation_id)
        answer = LinkSummary.of(link)
        if claim is not None:  # claimed after the fact: revoking again changes nothing and answers the same
            try:
                self._store.save_claim(claim.answering(answer))
            except KeyClaimedError as taken:
                return taken.replay(LinkSummary)
        return Answer(answer)

    def revoke(
        self, link: PortalLink, actor: Actor, correlation_id: str, causation_id: str | None = None
    ) -> PortalLink:
        link = link.model_copy(update={"revoked_at": self._clock()})
        self._store.update_link(link)
        self._bus.publish(self._link_event(EventType.PORTAL_LINK_REVOKED, link, actor, correlation_id, causation_id))
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
