"""Use cases of the timeline service: append, query, verify, anchor, export, erase."""

import random
import time
from collections.abc import Callable
from datetime import datetime
from enum import Enum
from typing import Protocol

from caseline_common.access import CaseAccess, principal_terms, redact_event, roles_held
from caseline_common.chain import GENESIS_HASH, Anchor, Link, Verification, link_event, verify_chain
from caseline_common.contracts import Permission, TemplateDefinition
from caseline_common.envelope import EventEnvelope, new_id
from caseline_common.errors import ConflictError, ForbiddenError, NotFoundError
from caseline_common.events import EventType, PersonalDataErased, TemplatePublished, TimelineExported, data_of
from caseline_common.freshness import CaseArrival
from caseline_common.idempotency import Answer, Claim, KeyClaimedError, replay_of
from caseline_common.pagination import Page
from caseline_common.tenant import READERS, StaffRole, TenantContext
from pydantic import BaseModel, ConfigDict

from .domain.feed import FEED_RETENTION, FEED_SETTLE, EventFeed, FeedEntry, FeedItem, FeedReaders
from .domain.timeline import (
    CLOSING_EVENT_TYPES,
    CaseMembers,
    Order,
    TimelineEntry,
    TimelineFilter,
    render_history,
)


class Head(BaseModel):
    """The end of a case's chain, and who may read it (absent until an event carried the case)."""

    model_config = ConfigDict(defer_build=True)

    case_id: str
    seq: int
    hash: str
    members: CaseMembers | None = None


class Recorded(Enum):
    APPENDED = "appended"
    DUPLICATE = "duplicate"
    TEMPLATE_KEPT = "template_kept"
    NOT_A_CASE_EVENT = "not_a_case_event"


class AppendConflictError(Exception):
    """Another writer moved the head between our read and our write."""


class DuplicateEventError(Exception):
    """The event is already on this case's timeline."""


class TimelineRepository(Protocol):
    def head(self, case_id: str) -> Head | None: ...

    def append_point(self, case_id: str, event_id: str) -> tuple[Head | None, bool]:
        """The head to append after, in one read with whether the event is on the chain already (a redelivery;
        an append of it that stopped before moving the head is finished first)."""
        ...

    def append(
        self,
        link: Link,
        event: EventEnvelope,
        previous: Head | None,
        members: CaseMembers | None,
        readers: FeedReaders | None = None,
    ) -> None:
        """Writes the link, which is also its change feed entry (with `readers`), and moves the head (with
        `members`), only if the head is still `previous` (raises AppendConflictError) and the event is not on the
        timeline yet (raises DuplicateEventError)."""
        ...

    def save_template(self, key: str, version: int, definition: TemplateDefinition) -> None: ...

    def template(self, key: str, version: int) -> TemplateDefinition | None: ...

    def page(
        self, case_id: str, timeline_filter: TimelineFilter, *, order: Order, limit: int, cursor: str | None
    ) -> Page[Link]: ...

    def links(self, case_id: str) -> list[Link]: ...

    def feed(
        self,
        readers: frozenset[str] | None,
        *,
        types: tuple[str, ...],
        case_id: str | None,
        since: datetime,
        until: datetime,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[FeedItem], str, bool]:
        """One Query of the change feed: the entries recorded in [since, until) after the cursor's, of the cases
        one of `readers` may view (None: every case); then the cursor after them, and whether more remain before
        `until`. A cursor from before `since` raises InvalidCursorError."""
        ...

    def links_about(self, subject_id: str) -> dict[str, int]:
        """How many links of each case hold personal data about the subject."""
        ...

    def erase_subject(self, subject_id: str) -> dict[str, int]:
        """Removes the personal data of every link about the subject; returns links erased per case."""
        ...

    def unanchored_heads(self, limit: int) -> list[Head]: ...

    def claim(self, scope: str) -> Claim | None: ...

    def save_claim(self, claim: Claim) -> None:
        """Stores an answered claim (raises KeyClaimedError if another request holds the scope)."""
        ...

    def mark_anchored(self, head: Head) -> None: ...


class EventBus(Protocol):
    def publish(self, event: EventEnvelope) -> None: ...


class AnchorStore(Protocol):
    def put(self, anchor: Anchor) -> None: ...

    def latest(self, case_id: str) -> Anchor | None: ...


class Signer(Protocol):
    key_id: str

    def sign(self, message: bytes) -> bytes: ...

    def public_key_pem(self) -> str: ...


class ErasureReport(BaseModel):
    model_config = ConfigDict(
        defer_build=True,
        json_schema_extra={
            "examples": [
                {
                    "participant_id": "01JF3Z8KHY8W21WDHGHTVPCQ8G",
                    "erased_links": 7,
                    "cases": ["01JF3Z8Q4V6W7X8Y9Z0A1B2C3D"],
                }
            ]
        },
    )

    participant_id: str
    erased_links: int
    cases: list[str]


class SigningKey(BaseModel):
    model_config = ConfigDict(
        defer_build=True,
        json_schema_extra={
            "examples": [
                {
                    "key_id": "alias/caseline-nordlicht-timeline-signing",
                    "algorithm": "ECDSA_SHA_256",
                    "public_key_pem": (
                        "-----BEGIN PUBLIC KEY-----\n"
                        "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE581ULsWABRG23ONmko2vBSU4pSuz\n"
                        "ZfGh7P/yPJHeOsve4uoGAg4gQo82F8oKvMsXBMfVNudElrpUmyyOsOI34g==\n"
                        "-----END PUBLIC KEY-----\n"
                    ),
                }
            ]
        },
    )

    key_id: str
    algorithm: str = "ECDSA_SHA_256"
    public_key_pem: str


APPEND_ATTEMPTS = 8
# Consumers run side by side (as Lambda runs a queue's), so a case's events can arrive out of order: an event
# that carries its case at version v waits for the chain to hold version v - 1 (appended at that moment by another
# instance, as a rule) as long as the chain moves, until it has stood still ORDER_WAIT_SECONDS or the event has
# waited ORDER_WAIT_LIMIT_SECONDS. Then it is appended anyway: a lost event must not stall a chain. (0.15 s of
# stillness was too short on a loaded machine: the example templates' full runs saw a chain out of order.)
ORDER_WAIT_SECONDS = 0.5
ORDER_WAIT_LIMIT_SECONDS = 3.0
_FIRST_PAUSE_SECONDS = 0.02
_LONGEST_PAUSE_SECONDS = 0.2


def _comes_later(members: CaseMembers | None, head: Head | None) -> bool:
    """Whether an event that left its case at `members.version` is ahead of the chain: the chain does not yet
    hold the version before it. Unknown when the event carries no case or the head predates members."""
    if members is None:
        return False
    if head is None:
        return members.version > 1
    return head.members is not None and head.members.version < members.version - 1


class TimelineService:
    def __init__(
        self,
        repository: TimelineRepository,
        anchors: AnchorStore,
        signer: Signer,
        bus: EventBus,
        *,
        tenant_id: str,
        clock: Callable[[], datetime],
        new_salt: Callable[[], str],
        arrival: CaseArrival,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[float], float] = lambda most: random.uniform(0, most),  # noqa: S311 - not a secret
    ) -> None:
        self._repository = repository
        self._sleep = sleep
        self._jitter = jitter
        self._anchors = anchors
        self._signer = signer
        self._bus = bus
        self._tenant_id = tenant_id
        self._clock = clock
        self._new_salt = new_salt
        self._arrival = arrival
        # Event types recorded otherwise than on their case's chain: one entry per type.
        self._event_handlers: dict[str, Callable[[EventEnvelope, CaseMembers | None], Recorded]] = {
            EventType.TEMPLATE_PUBLISHED: self._keep_template
        }

    @staticmethod
    def _require(context: TenantContext, *roles: StaffRole) -> None:
        if not context.principal.has_any(*roles):
            raise ForbiddenError("Your role does not allow this.")

    # ingestion

    def record(self, event: EventEnvelope, members: CaseMembers | None = None) -> Recorded:
        """Appends an event from the bus at the end of its case's chain; a redelivered event is dropped. The case
        it left behind, when the event carries it, updates who may read the chain."""
        return self._event_handlers.get(event.type, self._append_case_event)(event, members)

    def _keep_template(self, event: EventEnvelope, _members: CaseMembers | None) -> Recorded:
        published = data_of(event, TemplatePublished)
        self._repository.save_template(published.template_key, published.version, published.definition)
        return Recorded.TEMPLATE_KEPT

    def _append_case_event(self, event: EventEnvelope, members: CaseMembers | None) -> Recorded:
        if not event.case_id:  # other tenant-level events carry no case id, or an empty one
            return Recorded.NOT_A_CASE_EVENT
        head = self._append(event.case_id, event, members)
        if head is None:
            return Recorded.DUPLICATE
        if event.type in CLOSING_EVENT_TYPES:
            self._anchor(head)
        return Recorded.APPENDED

    def _append(self, case_id: str, event: EventEnvelope, members: CaseMembers | None = None) -> Head | None:
        waited, quiet, pause, conflicts, seen = 0.0, 0.0, _FIRST_PAUSE_SECONDS, 0, -1
        while conflicts < APPEND_ATTEMPTS:
            previous, appended = self._repository.append_point(case_id, event.event_id)
            if appended:
                return None
            # While the chain moves, the change before is being appended (by another instance): wait on for it.
            position = previous.seq if previous else 0
            quiet, seen = (0.0 if position != seen else quiet), position
            if quiet < ORDER_WAIT_SECONDS and waited < ORDER_WAIT_LIMIT_SECONDS and _comes_later(members, previous):
                self._sleep(pause)
                waited, quiet, pause = waited + pause, quiet + pause, min(pause * 2, _LONGEST_PAUSE_SECONDS)
                continue
            link = link_event(
                case_id=case_id,
                seq=previous.seq + 1 if previous else 1,
                previous_hash=previous.hash if previous else GENESIS_HASH,
                event=event,
                recorded_at=self._clock(),
                salt=self._new_salt(),
            )
            kept = previous.members if previous else None
            latest = members.newer(kept) if members is not None else kept
            try:
                self._repository.append(link, event, previous, latest, self._feed_readers(latest))
            except DuplicateEventError:
                return None
            except AppendConflictError:
                conflicts += 1
                self._sleep(self._jitter(_FIRST_PAUSE_SECONDS * 2**conflicts))  # racers step apart
                continue
            return Head(case_id=case_id, seq=link.seq, hash=link.hash, members=latest)
        raise AppendConflictError(f"the head of case {case_id} kept moving; the message will be retried")

    def _feed_readers(self, members: CaseMembers | None) -> FeedReaders | None:
        """Who may read the entry in the change feed: the case as the event left it (or as the chain last knew it).
        A case's template reaches the timeline on the bus too, as a rule long before its cases: an event that
        overtook it waits for it as for the event before it (then admins alone read the entry)."""
        if members is None:
            return None
        waited, pause = 0.0, _FIRST_PAUSE_SECONDS
        while (template := self._repository.template(members.template_key, members.template_version)) is None:
            if waited >= ORDER_WAIT_LIMIT_SECONDS:
                return None
            self._sleep(pause)
            waited, pause = waited + pause, min(pause * 2, _LONGEST_PAUSE_SECONDS)
        return FeedReaders.of(template, members)

    # anchoring

    def _anchor(self, head: Head) -> None:
        self._anchors.put(Anchor(case_id=head.case_id, seq=head.seq, hash=head.hash, anchored_at=self._clock()))
        self._repository.mark_anchored(head)

    def anchor_unanchored(self, batch: int = 100, max_batches: int = 50) -> int:
        """The scheduled job: anchor every head that moved since its last anchor. The index it reads is
        eventually consistent, so heads it has just anchored may come back: it skips those, stops when a
        batch brings nothing new, and leaves anything beyond `max_batches` to the next run."""
        anchored: set[tuple[str, int]] = set()
        for _ in range(max_batches):
            fresh = [h for h in self._repository.unanchored_heads(batch) if (h.case_id, h.seq) not in anchored]
            if not fresh:
                break
            for head in fresh:
                self._anchor(head)
                anchored.add((head.case_id, head.seq))
        return len(anchored)

    # queries: each answers as the cases service would, from what the timeline learnt of the case

    def _access(self, context: TenantContext, case_id: str) -> CaseAccess:
        """The caller's rights on the case, or NotFound for a case they may not see (as for an unknown id)."""
        self._require(context, *READERS)
        if context.principal.has_any(StaffRole.ADMIN):  # admins read every chain, even one older than its members
            self._arrival.await_case(case_id, lambda: self._repository.head(case_id))
            return CaseAccess(admin=True, roles=())
        members, template = self._arrival.await_case(case_id, lambda: self._members(case_id))
        access = roles_held(template, members.participants, context.principal)
        if not access.can_view:
            raise NotFoundError(f"No case {case_id}.")
        return access

    def _members(self, case_id: str) -> tuple[CaseMembers, TemplateDefinition] | None:
        """Who takes part in the case and its template's roles, once both have reached the timeline."""
        head = self._repository.head(case_id)
        members = head.members if head else None
        template = self._repository.template(members.template_key, members.template_version) if members else None
        return (members, template) if members is not None and template is not None else None

    def timeline(
        self,
        context: TenantContext,
        case_id: str,
        timeline_filter: TimelineFilter,
        *,
        order: Order,
        limit: int,
        cursor: str | None,
    ) -> Page[TimelineEntry]:
        access = self._access(context, case_id)
        page = self._repository.page(case_id, timeline_filter, order=order, limit=limit, cursor=cursor)
        return Page(items=[self._shown(link, access) for link in page.items], next_cursor=page.next_cursor)

    @staticmethod
    def _shown(link: Link, access: CaseAccess) -> TimelineEntry:
        entry = TimelineEntry.of(link)
        if entry.event is None:
            return entry
        return entry.model_copy(update={"event": redact_event(entry.event, access)})

    def feed(
        self, context: TenantContext, *, types: tuple[str, ...], case_id: str | None, limit: int, cursor: str | None
    ) -> EventFeed:
        """The tenant's events in the order the timeline recorded them, of the cases the caller may view, each
        redacted for the caller's roles on its case: one Query, whatever the number of cases."""
        terms = principal_terms(context.principal)
        if not terms:
            raise ForbiddenError("The change feed is for the tenant's staff and viewers (a Caseline group).")
        principal = context.principal
        every_case = principal.has_any(StaffRole.ADMIN) or not principal.has_any(StaffRole.STAFF)  # admin, viewer
        now = self._clock()
        items, next_cursor, has_more = self._repository.feed(
            None if every_case else terms,
            types=types,
            case_id=case_id,
            since=now - FEED_RETENTION,
            until=now - FEED_SETTLE,
            limit=limit,
            cursor=cursor,
        )
        entries = []
        for item in items:
            access = self._feed_access(context, item)
            if access.can_view:  # the query's filter decided the same; this is what redaction is computed from
                event = redact_event(item.event, access)
                entries.append(FeedEntry(seq=item.seq, recorded_at=item.recorded_at, event=event))
        return EventFeed(items=entries, next_cursor=next_cursor, has_more=has_more)

    def _feed_access(self, context: TenantContext, item: FeedItem) -> CaseAccess:
        if item.readers is None:  # no event had carried the case: for admins alone
            return CaseAccess(admin=context.principal.has_any(StaffRole.ADMIN), roles=())
        readers = item.readers
        return readers.access(
            context.principal, lambda: self._repository.template(readers.template_key, readers.template_version)
        )

    def _links(self, case_id: str) -> list[Link]:
        links = self._repository.links(case_id)
        if not links:
            raise NotFoundError(f"No timeline for case {case_id}.")
        return links

    def verify(self, context: TenantContext, case_id: str) -> Verification:
        """Computed over the whole chain, whatever the caller's roles hide: the answer holds hashes only."""
        self._access(context, case_id)
        return verify_chain(self._links(case_id), self._anchors.latest(case_id))

    def export(self, context: TenantContext, case_id: str) -> bytes:
        """The full signed bundle, for admins and roles with `timeline.export`; the export is then recorded."""
        self._access(context, case_id).require(Permission.TIMELINE_EXPORT, "export the signed timeline")
        links = self._links(case_id)
        anchor = self._anchors.latest(case_id)
        verification = verify_chain(links, anchor)
        if not verification.valid:  # never sign a history that does not verify
            raise ConflictError(
                f"The timeline does not verify (sequence number {verification.first_bad_seq}: "
                f"{verification.reason}); it will not be signed."
            )
        from caseline_common.bundle import build_bundle  # zip and cryptography: only an export needs them

        bundle = build_bundle(
            tenant_id=self._tenant_id,
            case_id=case_id,
            links=links,
            history_html=render_history(case_id, [TimelineEntry.of(link) for link in links]),
            exported_at=self._clock(),
            key_id=self._signer.key_id,
            sign=self._signer.sign,
            anchor=anchor,
        )
        self._append(
            case_id,
            EventEnvelope.new(
                tenant_id=self._tenant_id,
                case_id=case_id,
                type=EventType.TIMELINE_EXPORTED,
                actor=context.principal.actor(),
                correlation_id=context.correlation_id,
                occurred_at=self._clock(),
                data=TimelineExported(length=verification.length, head_hash=verification.head_hash).dump(),
            ),
        )
        return bundle

    def signing_key(self, context: TenantContext) -> SigningKey:
        self._require(context, *READERS)
        return SigningKey(key_id=self._signer.key_id, public_key_pem=self._signer.public_key_pem())

    # erasure

    def erase(
        self, context: TenantContext, participant_id: str, idempotency_key: str | None = None
    ) -> Answer[ErasureReport]:
        """Removes a person's personal data from every timeline; the chains still verify, and each affected
        case's timeline records the erasure. A retry with the same key answers the first report again."""
        self._require(context, StaffRole.ADMIN)
        claim = Claim.of(context, f"erase#{participant_id}", idempotency_key, None, self._clock())
        replayed = replay_of(claim, self._repository.claim(claim.scope) if claim else None, ErasureReport)
        if replayed is not None:
            return replayed
        report = self._erase(context, participant_id)
        if claim is not None:
            try:
                self._repository.save_claim(claim.answering(report))
            except KeyClaimedError as raced:  # the same request ran at the same moment: one report for both
                return raced.replay(ErasureReport)
        return Answer(report)

    def _erase(self, context: TenantContext, participant_id: str) -> ErasureReport:
        # Announced on the bus before the links are erased, so the read models holding the person's data (the
        # search index) erase it too: if the request fails after, a retry finds the links and announces again.
        events = {
            case_id: EventEnvelope(
                event_id=new_id(),
                tenant_id=self._tenant_id,
                case_id=case_id,
                type=EventType.PERSONAL_DATA_ERASED,
                occurred_at=self._clock(),
                actor=context.principal.actor().model_copy(update={"display_name": None}),
                data=PersonalDataErased(participant_id=participant_id, entries=count).dump(),
                correlation_id=context.correlation_id,
            )
            for case_id, count in sorted(self._repository.links_about(participant_id).items())
        }
        for event in events.values():
            self._bus.publish(event)
        erased = self._repository.erase_subject(participant_id)
        for case_id, event in events.items():
            self._append(case_id, event)
        return ErasureReport(participant_id=participant_id, erased_links=sum(erased.values()), cases=sorted(erased))
