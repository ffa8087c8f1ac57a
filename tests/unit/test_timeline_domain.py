"""The timeline use cases: an in-memory repository, anchor store and a real P-256 signer behind the ports."""

import io
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from caseline_common.bundle import EVENTS_FILE, HISTORY_FILE, verify_bundle
from caseline_common.chain import GENESIS_HASH, Anchor, Link, chain_hash, verify_chain
from caseline_common.contracts import CaseSnapshot, CaseStatus, TemplateDefinition
from caseline_common.envelope import Actor, ActorKind, EventEnvelope, Visibility
from caseline_common.errors import ForbiddenError, NotFoundError
from caseline_common.events import TemplatePublished
from caseline_common.freshness import CaseArrival
from caseline_common.idempotency import Claim, KeyClaimedError
from caseline_common.pagination import Page
from caseline_common.tenant import TenantContext
from chains import T0, case_event
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from service_modules import loaded_module

if TYPE_CHECKING:
    from services.timeline.chalicelib import service as service_module
    from services.timeline.chalicelib.domain import feed as feed_domain
    from services.timeline.chalicelib.domain import timeline as domain
else:
    service_module = loaded_module("timeline", "chalicelib.service")
    domain = loaded_module("timeline", "chalicelib.domain.timeline")
    feed_domain = loaded_module("timeline", "chalicelib.domain.feed")

TENANT_ID = "acme"  # as the contexts of conftest.py
PAT = "person-pat"


# Fakes behind the ports


@dataclass
class InMemoryTimelineRepository:
    """Keeps the promises of the TimelineRepository port the way the DynamoDB adapter does: an append is
    refused if the event is already there (checked first) or if the head moved, the head of every case that
    moved is unanchored until marked, a page applies `limit` before the filter (DynamoDB's Limit counts the
    items read, not the items returned), and each person a link is about gets a marker that erasure consumes.
    """

    links_by_case: dict[str, list[Link]] = field(default_factory=dict)
    filter_attributes: dict[tuple[str, int], EventEnvelope] = field(default_factory=dict)
    feed_readers: dict[tuple[str, int], Any] = field(default_factory=dict)
    event_ids: dict[str, set[str]] = field(default_factory=dict)
    heads: dict[str, Any] = field(default_factory=dict)
    unanchored: dict[str, Any] = field(default_factory=dict)
    subject_markers: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    before_append: Callable[[], object] | None = None
    attempts: int = 0
    page_calls: list[dict[str, Any]] = field(default_factory=list)
    marked: list[Any] = field(default_factory=list)

    templates: dict[tuple[str, int], TemplateDefinition] = field(default_factory=dict)

    def head(self, case_id: str) -> Any:
        return self.heads.get(case_id)

    claims: dict[str, Claim] = field(default_factory=dict)

    def claim(self, scope: str) -> Claim | None:
        return self.claims.get(scope)

    def save_claim(self, claim: Claim) -> None:
        if claim.scope in self.claims:
            raise KeyClaimedError(claim, self.claims[claim.scope])
        self.claims[claim.scope] = claim

    def save_template(self, key: str, version: int, definition: TemplateDefinition) -> None:
        self.templates[(key, version)] = definition

    def template(self, key: str, version: int) -> TemplateDefinition | None:
        return self.templates.get((key, version))

    def append_point(self, case_id: str, event_id: str) -> tuple[Any, bool]:
        return self.head(case_id), event_id in self.event_ids.get(case_id, set())

    def append(self, link: Link, event: EventEnvelope, previous: Any, members: Any, readers: Any = None) -> None:
        self.attempts += 1
        if self.before_append is not None:  # another writer gets in between the service's read and write
            hook, self.before_append = self.before_append, None
            hook()
        case_id = link.record["case_id"]
        if event.event_id in self.event_ids.get(case_id, set()):
            raise service_module.DuplicateEventError(event.event_id)
        if self.heads.get(case_id) != previous:
            raise service_module.AppendConflictError(case_id)
        assert link.seq == (previous.seq + 1 if previous else 1)
        assert link.prev_hash == (previous.hash if previous else GENESIS_HASH)
        self.links_by_case.setdefault(case_id, []).append(link)
        self.filter_attributes[(case_id, link.seq)] = event
        self.feed_readers[(case_id, link.seq)] = readers
        self.event_ids.setdefault(case_id, set()).add(event.event_id)
        head = service_module.Head(case_id=case_id, seq=link.seq, hash=link.hash, members=members)
        self.heads[case_id] = head
        self.unanchored[case_id] = head
        people = set(event.subjects) | ({event.actor.id} if event.actor.display_name else set())
        for person in sorted(people):
            self.subject_markers.setdefault(person, []).append((case_id, link.seq))

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
    ) -> tuple[list[Any], str, bool]:
        """In recorded order from the cursor (a count of entries read), `limit` read before the filter."""
        recorded = sorted(
            (datetime.fromisoformat(link.record["recorded_at"]), self.filter_attributes[(case, link.seq)], case, link)
            for case, links in self.links_by_case.items()
            for link in links
        )
        window = [entry for entry in recorded if since <= entry[0] < until]
        start = int(cursor) if cursor else 0
        read = window[start : start + limit]
        items = [
            feed_domain.FeedItem(
                seq=link.seq,
                recorded_at=at,
                event=sent.model_copy(update={"personal": {}}),
                readers=self.feed_readers[(case, link.seq)],
            )
            for at, sent, case, link in read
            if (not types or sent.type in types)
            and (case_id is None or case == case_id)
            and (
                readers is None
                or (self.feed_readers[(case, link.seq)] and readers & self.feed_readers[(case, link.seq)].readers)
            )
        ]
        return items, str(start + len(read)), start + len(read) < len(window)

    def _matches(self, case_id: str, link: Link, timeline_filter: Any) -> bool:
        event = self.filter_attributes[(case_id, link.seq)]
        return (
            (not timeline_filter.types or event.type in timeline_filter.types)
            and (timeline_filter.actor_id is None or event.actor.id == timeline_filter.actor_id)
            and (timeline_filter.actor_kind is None or event.actor.kind == timeline_filter.actor_kind)
            and (timeline_filter.visibility is None or event.visibility == timeline_filter.visibility)
            and (timeline_filter.since is None or event.occurred_at >= timeline_filter.since)
            and (timeline_filter.until is None or event.occurred_at < timeline_filter.until)
        )

    def page(self, case_id: str, timeline_filter: Any, *, order: Any, limit: int, cursor: str | None) -> Page[Link]:
        self.page_calls.append({"case_id": case_id, "order": order, "limit": limit, "cursor": cursor})
        links = list(self.links_by_case.get(case_id, []))
        if order.value == "newest":
            links.reverse()
        start = int(cursor) if cursor else 0
        read = links[start : start + limit]
        items = [link for link in read if self._matches(case_id, link, timeline_filter)]
        return Page(items=items, next_cursor=str(start + limit) if len(read) == limit else None)

    def links(self, case_id: str) -> list[Link]:
        return list(self.links_by_case.get(case_id, []))

    def links_about(self, subject_id: str) -> dict[str, int]:
        return dict(Counter(case_id for case_id, _seq in self.subject_markers.get(subject_id, [])))

    def erase_subject(self, subject_id: str) -> dict[str, int]:
        erased: dict[str, int] = {}
        for case_id, seq in self.subject_markers.pop(subject_id, []):
            links = self.links_by_case[case_id]
            links[seq - 1] = links[seq - 1].model_copy(update={"personal": None, "salt": None})
            erased[case_id] = erased.get(case_id, 0) + 1
        return erased

    def unanchored_heads(self, limit: int) -> list[Any]:
        return list(self.unanchored.values())[:limit]

    def mark_anchored(self, head: Any) -> None:
        self.marked.append(head)
        if self.unanchored.get(head.case_id) == head:  # conditional on the head not having moved
            del self.unanchored[head.case_id]


class RecordingBus:
    """The tenant bus as the timeline sees it: what was published, and what the repository held at that moment."""

    def __init__(self, repository: "InMemoryTimelineRepository") -> None:
        self.repository = repository
        self.published: list[tuple[EventEnvelope, bool]] = []

    def publish(self, event: EventEnvelope) -> None:
        assert event.case_id is not None
        still_there = any(link.personal for link in self.repository.links_by_case.get(event.case_id, []))
        self.published.append((event, still_there))


@dataclass
class InMemoryAnchorStore:
    anchors: dict[tuple[str, int], Anchor] = field(default_factory=dict)

    def put(self, anchor: Anchor) -> None:
        self.anchors[(anchor.case_id, anchor.seq)] = anchor

    def latest(self, case_id: str) -> Anchor | None:
        mine = [anchor for (case, _), anchor in self.anchors.items() if case == case_id]
        return max(mine, key=lambda anchor: anchor.seq, default=None)


class EcdsaSigner:
    """What KMS does with an ECC_NIST_P256 key and ECDSA_SHA_256, with the private key in memory."""

    key_id = "alias/caseline-acme-timeline-signing"

    def __init__(self) -> None:
        self._key = ec.generate_private_key(ec.SECP256R1())
        self.signed: list[bytes] = []

    def sign(self, message: bytes) -> bytes:
        self.signed.append(message)
        return self._key.sign(message, ec.ECDSA(hashes.SHA256()))

    def public_key_pem(self) -> str:
        return self._key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def salts() -> Callable[[], str]:
    counter: Iterator[int] = iter(range(1, 1_000_000))
    return lambda: f"{next(counter):032x}"


@pytest.fixture
def repository() -> InMemoryTimelineRepository:
    return InMemoryTimelineRepository()


@pytest.fixture
def anchors() -> InMemoryAnchorStore:
    return InMemoryAnchorStore()


@pytest.fixture(scope="module")
def signer() -> EcdsaSigner:
    return EcdsaSigner()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def published(definition: TemplateDefinition, version: int = 1) -> EventEnvelope:
    return case_event(
        "template.published",
        case_id=None,
        data=TemplatePublished(
            template_key=definition.key, version=version, name=definition.name, definition=definition
        ).dump(),
    )


# A template with the default "team" role, which every caseline-staff member holds through their group.
TEAM_TEMPLATE = TemplateDefinition.model_validate(
    {"key": "onboarding", "name": "Onboarding", "stages": [{"key": "start", "name": "Start"}]}
)


def snapshot(case_id: str, version: int, template: TemplateDefinition = TEAM_TEMPLATE, **changes: Any) -> CaseSnapshot:
    return CaseSnapshot.model_validate(
        {
            "id": case_id,
            "tenant_id": TENANT_ID,
            "template_key": template.key,
            "template_version": 1,
            "title": "A case",
            "owner": "user-1",
            "stage": template.stages[0].key,
            "stage_entered_at": T0,
            "status": CaseStatus.OPEN,
            "fields": {},
            "created_at": T0,
            "created_by": "user-1",
            "updated_at": T0,
            "version": version,
            **changes,
        }
    )


class FedLikeTheBus:
    """The service as the bus feeds it: each case event comes with the case it left behind, a case of
    TEAM_TEMPLATE that every staff member may read, unless the test passes its own."""

    def __init__(self, service: Any) -> None:
        self._service = service
        self._versions: dict[str, int] = {}
        service.record(published(TEAM_TEMPLATE))

    def record(self, sent: EventEnvelope, case: CaseSnapshot | None = None) -> Any:
        if case is None and sent.case_id:
            self._versions[sent.case_id] = self._versions.get(sent.case_id, 0) + 1
            case = snapshot(sent.case_id, self._versions[sent.case_id])
        return self._service.record(sent, domain.CaseMembers.of(case) if case is not None else None)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._service, name)


@pytest.fixture
def bus(repository: InMemoryTimelineRepository) -> RecordingBus:
    return RecordingBus(repository)


@pytest.fixture
def service(
    repository: InMemoryTimelineRepository,
    anchors: InMemoryAnchorStore,
    signer: EcdsaSigner,
    bus: RecordingBus,
    clock: Clock,
) -> Any:
    arrival = CaseArrival(clock=clock, sleep=lambda _: None)
    return FedLikeTheBus(
        service_module.TimelineService(
            repository,
            anchors,
            signer,
            bus,
            tenant_id=TENANT_ID,
            clock=clock,
            new_salt=salts(),
            arrival=arrival,
            sleep=lambda _: None,
        )
    )


def event(event_type: str = "case.stage_changed", **changes: Any) -> EventEnvelope:
    """Keyword arguments other than the envelope's own become its data."""
    own = {
        name: changes.pop(name)
        for name in ("case_id", "actor", "personal", "subjects", "visibility", "occurred_at")
        if name in changes
    }
    return case_event(event_type, data=changes, **own)


def everything() -> Any:
    return domain.TimelineFilter()


def domain_members(case: CaseSnapshot) -> Any:
    return domain.CaseMembers.of(case)


# Recording events from the bus


def test_a_case_event_is_appended_as_the_first_link_of_its_chain(
    service: Any, repository: InMemoryTimelineRepository
) -> None:
    opened = event("case.opened", personal={"email": "pat@example.org"}, subjects=[PAT])

    assert service.record(opened) is service_module.Recorded.APPENDED

    [link] = repository.links_by_case["case-1"]
    assert link.seq == 1
    assert link.prev_hash == GENESIS_HASH
    assert link.hash == chain_hash(GENESIS_HASH, link.record)
    assert link.record["case_id"] == "case-1"
    assert link.record["recorded_at"] == (T0 + timedelta(seconds=1)).isoformat()
    assert link.salt == f"{1:032x}"
    assert link.event() == opened
    head = repository.heads["case-1"]
    assert (head.case_id, head.seq, head.hash) == ("case-1", 1, link.hash)
    assert head.members == domain_members(snapshot("case-1", 1))


def test_events_of_a_case_are_numbered_1_to_n_and_each_chains_to_the_one_before(
    service: Any, repository: InMemoryTimelineRepository
) -> None:
    sent = [event("case.opened"), *(event(step=index) for index in range(4)), event("case.comment_added")]
    service.record(event("case.opened", case_id="case-2"))  # another case has a chain of its own

    for each in sent:
        service.record(each)

    links = repository.links_by_case["case-1"]
    assert [link.seq for link in links] == [1, 2, 3, 4, 5, 6]
    assert [link.prev_hash for link in links] == [GENESIS_HASH, *(link.hash for link in links[:-1])]
    assert [link.event() for link in links] == sent
    assert verify_chain(links).valid
    assert [link.seq for link in repository.links_by_case["case-2"]] == [1]


def test_a_redelivered_event_is_a_duplicate_and_stored_once(
    service: Any, repository: InMemoryTimelineRepository
) -> None:
    opened = event("case.opened")
    service.record(opened)
    service.record(event())
    head = repository.heads["case-1"]

    again = EventEnvelope.model_validate_json(opened.to_json())

    assert service.record(again) is service_module.Recorded.DUPLICATE
    assert len(repository.links_by_case["case-1"]) == 2
    assert repository.heads["case-1"] == head


def test_the_same_event_id_on_another_case_is_not_a_duplicate(
    service: Any, repository: InMemoryTimelineRepository
) -> None:
    opened = event("case.opened")
    service.record(opened)

    moved = opened.model_copy(update={"case_id": "case-2"})

    assert service.record(moved) is service_module.Recorded.APPENDED
    assert len(repository.links_by_case["case-2"]) == 1


@pytest.mark.parametrize("case_id", [None, ""])
def test_an_event_without_a_case_is_not_recorded(
    service: Any, repository: InMemoryTimelineRepository, case_id: str | None
) -> None:
    tenant_level = event("tenant.settings_changed", case_id=case_id)

    assert service.record(tenant_level) is service_module.Recorded.NOT_A_CASE_EVENT
    assert repository.links_by_case == {}
    assert repository.attempts == 0


def test_an_append_that_loses_a_race_is_retried_on_the_new_head(
    service: Any, repository: InMemoryTimelineRepository, clock: Clock
) -> None:
    service.record(event("case.opened"))
    theirs, ours = event("case.comment_added"), event("case.stage_changed")
    other_writer = service_module.TimelineService(
        repository,
        InMemoryAnchorStore(),
        EcdsaSigner(),
        RecordingBus(repository),
        tenant_id=TENANT_ID,
        clock=clock,
        new_salt=salts(),
        arrival=CaseArrival(clock=clock),
        sleep=lambda _: None,
    )
    repository.before_append = lambda: other_writer.record(theirs)
    repository.attempts = 0

    assert service.record(ours) is service_module.Recorded.APPENDED

    links = repository.links_by_case["case-1"]
    assert [link.event() for link in links] == [links[0].event(), theirs, ours]
    assert [link.seq for link in links] == [1, 2, 3]
    assert links[2].prev_hash == links[1].hash
    assert verify_chain(links).valid
    assert repository.attempts == 3  # ours (conflict), theirs, ours again


def test_a_race_with_a_redelivery_of_the_same_event_ends_as_a_duplicate(
    service: Any, repository: InMemoryTimelineRepository, clock: Clock
) -> None:
    ours = event()
    twin = service_module.TimelineService(
        repository,
        InMemoryAnchorStore(),
        EcdsaSigner(),
        RecordingBus(repository),
        tenant_id=TENANT_ID,
        clock=clock,
        new_salt=salts(),
        arrival=CaseArrival(clock=clock),
        sleep=lambda _: None,
    )
    repository.before_append = lambda: twin.record(EventEnvelope.model_validate_json(ours.to_json()))

    assert service.record(ours) is service_module.Recorded.DUPLICATE
    assert len(repository.links_by_case["case-1"]) == 1


def test_an_append_gives_up_when_the_head_keeps_moving(service: Any, repository: InMemoryTimelineRepository) -> None:
    def always_conflict(link: Link, event: EventEnvelope, previous: Any, members: Any, readers: Any = None) -> None:
        repository.attempts += 1
        raise service_module.AppendConflictError(link.record["case_id"])

    repository.append = always_conflict  # type: ignore[method-assign]

    with pytest.raises(service_module.AppendConflictError, match="case-1"):
        service.record(event())

    assert repository.attempts == service_module.APPEND_ATTEMPTS


def test_an_event_ahead_of_its_case_waits_for_the_change_before_it(
    repository: InMemoryTimelineRepository, anchors: InMemoryAnchorStore, signer: EcdsaSigner, clock: Clock
) -> None:
    """Consumers run side by side: version 2's event arrives while version 1's is still being appended."""
    opened, moved = event("case.opened"), event("case.stage_changed")
    pauses: list[float] = []

    def meanwhile(seconds: float) -> None:  # the other instance appends version 1 during the first pause
        pauses.append(seconds)
        if len(pauses) == 1:
            timeline.record(opened, domain.CaseMembers.of(snapshot("case-1", 1)))

    timeline = service_module.TimelineService(
        repository, anchors, signer, RecordingBus(repository), tenant_id=TENANT_ID, clock=clock, new_salt=salts(),
        arrival=CaseArrival(clock=clock, sleep=lambda _: None), sleep=meanwhile,
    )  # fmt: skip
    timeline.record(published(TEAM_TEMPLATE))

    assert timeline.record(moved, domain.CaseMembers.of(snapshot("case-1", 2))) is service_module.Recorded.APPENDED

    assert [link.event() for link in repository.links_by_case["case-1"]] == [opened, moved]
    assert len(pauses) == 1


def test_an_event_ahead_of_its_case_waits_on_while_the_chain_moves_towards_it(
    repository: InMemoryTimelineRepository, anchors: InMemoryAnchorStore, signer: EcdsaSigner, clock: Clock
) -> None:
    """Another instance appends versions 1 to 6, one during each pause: version 7 waits for all of them, longer
    than the chain may stand still, and is appended last."""
    earlier = [event("case.opened"), *(event("case.stage_changed") for _ in range(5))]
    pauses: list[float] = []

    def meanwhile(seconds: float) -> None:
        pauses.append(seconds)
        if len(pauses) <= len(earlier):
            version = len(pauses)
            timeline.record(earlier[version - 1], domain.CaseMembers.of(snapshot("case-1", version)))

    timeline = service_module.TimelineService(
        repository, anchors, signer, RecordingBus(repository), tenant_id=TENANT_ID, clock=clock, new_salt=salts(),
        arrival=CaseArrival(clock=clock, sleep=lambda _: None), sleep=meanwhile,
    )  # fmt: skip
    timeline.record(published(TEAM_TEMPLATE))
    last = event("case.stage_changed")

    assert timeline.record(last, domain.CaseMembers.of(snapshot("case-1", 7))) is service_module.Recorded.APPENDED

    assert [link.event() for link in repository.links_by_case["case-1"]] == [*earlier, last]
    assert sum(pauses) > service_module.ORDER_WAIT_SECONDS


def test_an_event_whose_earlier_change_never_comes_is_appended_after_a_while(
    repository: InMemoryTimelineRepository, anchors: InMemoryAnchorStore, signer: EcdsaSigner, clock: Clock
) -> None:
    pauses: list[float] = []
    service = service_module.TimelineService(
        repository, anchors, signer, RecordingBus(repository), tenant_id=TENANT_ID, clock=clock, new_salt=salts(),
        arrival=CaseArrival(clock=clock, sleep=lambda _: None), sleep=pauses.append,
    )  # fmt: skip
    service.record(published(TEAM_TEMPLATE))
    service.record(event("case.opened"), domain.CaseMembers.of(snapshot("case-1", 1)))

    later = event("case.stage_changed")  # version 3: version 2's event is lost
    assert service.record(later, domain.CaseMembers.of(snapshot("case-1", 3))) is service_module.Recorded.APPENDED

    assert repository.links_by_case["case-1"][-1].event() == later
    assert service_module.ORDER_WAIT_SECONDS <= sum(pauses) < service_module.ORDER_WAIT_SECONDS + 0.5


# Anchoring


@pytest.mark.parametrize("closing", ["case.closed", "case.cancelled"])
def test_closing_a_case_anchors_its_head(
    service: Any, repository: InMemoryTimelineRepository, anchors: InMemoryAnchorStore, closing: str
) -> None:
    service.record(event("case.opened"))
    assert anchors.anchors == {}

    service.record(event(closing))

    head = repository.heads["case-1"]
    anchor = anchors.latest("case-1")
    assert anchor is not None
    assert (anchor.case_id, anchor.seq, anchor.hash) == ("case-1", 2, head.hash)
    assert anchor.anchored_at > T0
    assert "case-1" not in repository.unanchored


def test_a_redelivered_closing_event_does_not_anchor_again(
    service: Any, repository: InMemoryTimelineRepository, anchors: InMemoryAnchorStore
) -> None:
    closed = event("case.closed")
    service.record(closed)
    anchors.anchors.clear()

    service.record(EventEnvelope.model_validate_json(closed.to_json()))

    assert anchors.anchors == {}


def test_the_scheduled_job_anchors_every_head_that_moved(
    service: Any, repository: InMemoryTimelineRepository, anchors: InMemoryAnchorStore
) -> None:
    for case_id in ("case-1", "case-2", "case-3"):
        service.record(event("case.opened", case_id=case_id))
    service.record(event(case_id="case-2"))
    service.record(event("case.closed", case_id="case-3"))  # anchored on close already

    assert service.anchor_unanchored(batch=1) == 2

    assert {(a.case_id, a.seq) for a in anchors.anchors.values()} == {("case-1", 1), ("case-2", 2), ("case-3", 2)}
    assert repository.unanchored == {}
    assert service.anchor_unanchored() == 0


def test_a_head_that_moves_after_its_anchor_is_anchored_again_next_time(
    service: Any, repository: InMemoryTimelineRepository, anchors: InMemoryAnchorStore
) -> None:
    service.record(event("case.opened"))
    service.anchor_unanchored()
    service.record(event())

    assert service.anchor_unanchored() == 1

    latest = anchors.latest("case-1")
    assert latest is not None
    assert latest.seq == 2


# Reading a timeline


def test_staff_read_a_case_timeline_oldest_or_newest_first(
    service: Any, staff: TenantContext, repository: InMemoryTimelineRepository
) -> None:
    first, second = event("case.opened"), event("case.closed")
    service.record(first)
    service.record(second)
    service.record(event(case_id="case-2"))

    oldest = service.timeline(staff, "case-1", everything(), order=domain.Order.OLDEST_FIRST, limit=10, cursor=None)
    newest = service.timeline(staff, "case-1", everything(), order=domain.Order.NEWEST_FIRST, limit=10, cursor=None)

    assert [entry.event for entry in oldest.items] == [first, second]
    assert [entry.event for entry in newest.items] == [second, first]
    assert [entry.seq for entry in oldest.items] == [1, 2]
    assert oldest.items[1].prev_hash == oldest.items[0].hash
    assert oldest.items[0] == domain.TimelineEntry.of(repository.links_by_case["case-1"][0])
    assert repository.page_calls[0] == {
        "case_id": "case-1",
        "order": domain.Order.OLDEST_FIRST,
        "limit": 10,
        "cursor": None,
    }


def test_admins_read_timelines_too(service: Any, admin: TenantContext) -> None:
    service.record(event())

    page = service.timeline(admin, "case-1", everything(), order=domain.Order.OLDEST_FIRST, limit=5, cursor=None)

    assert len(page.items) == 1


def test_a_timeline_pages_with_a_cursor(service: Any, staff: TenantContext) -> None:
    for index in range(3):
        service.record(event(step=index))

    def read(cursor: str | None) -> Any:
        return service.timeline(staff, "case-1", everything(), order=domain.Order.OLDEST_FIRST, limit=2, cursor=cursor)

    first = read(None)
    second = read(first.next_cursor)

    assert [entry.seq for entry in first.items] == [1, 2]
    assert first.next_cursor is not None
    assert [entry.seq for entry in second.items] == [3]
    assert second.next_cursor is None


def test_an_empty_later_page_is_not_an_error(service: Any, staff: TenantContext) -> None:
    service.record(event())
    service.record(event("case.closed"))

    first = service.timeline(staff, "case-1", everything(), order=domain.Order.OLDEST_FIRST, limit=2, cursor=None)
    past_the_end = service.timeline(
        staff, "case-1", everything(), order=domain.Order.OLDEST_FIRST, limit=2, cursor=first.next_cursor
    )

    assert first.next_cursor is not None  # DynamoDB hands out a key when it stops at the limit
    assert past_the_end.items == []
    assert past_the_end.next_cursor is None


def test_an_unknown_case_has_no_timeline(service: Any, staff: TenantContext) -> None:
    service.record(event(case_id="case-2"))

    with pytest.raises(NotFoundError, match="case-1"):
        service.timeline(staff, "case-1", everything(), order=domain.Order.OLDEST_FIRST, limit=10, cursor=None)


def test_a_filter_on_an_unknown_case_is_still_not_found(service: Any, staff: TenantContext) -> None:
    only_closed = domain.TimelineFilter(types=("case.closed",))

    with pytest.raises(NotFoundError):
        service.timeline(staff, "case-1", only_closed, order=domain.Order.OLDEST_FIRST, limit=10, cursor=None)


def test_a_filter_that_matches_nothing_on_an_existing_case_is_an_empty_page(service: Any, staff: TenantContext) -> None:
    service.record(event("case.opened"))
    service.record(event())

    page = service.timeline(
        staff,
        "case-1",
        domain.TimelineFilter(types=("case.closed",)),
        order=domain.Order.OLDEST_FIRST,
        limit=10,
        cursor=None,
    )

    assert page.items == []
    assert page.next_cursor is None


def test_a_filtered_first_page_may_be_empty_yet_lead_to_more(service: Any, staff: TenantContext) -> None:
    service.record(event("case.opened"))
    service.record(event())
    service.record(event("case.closed"))
    only_closed = domain.TimelineFilter(types=("case.closed",))

    first = service.timeline(staff, "case-1", only_closed, order=domain.Order.OLDEST_FIRST, limit=2, cursor=None)
    second = service.timeline(
        staff, "case-1", only_closed, order=domain.Order.OLDEST_FIRST, limit=2, cursor=first.next_cursor
    )

    assert first.items == []
    assert first.next_cursor is not None
    assert [entry.event.type for entry in second.items] == ["case.closed"]


def test_filters_reach_the_repository(service: Any, staff: TenantContext) -> None:
    bot = Actor(kind=ActorKind.AUTOMATION, id="rule-1")
    service.record(event("case.opened", occurred_at=T0))
    service.record(event(actor=bot, visibility=Visibility.EXTERNAL, occurred_at=T0 + timedelta(hours=1)))
    service.record(event("case.closed", occurred_at=T0 + timedelta(hours=2)))

    def types(**criteria: Any) -> list[str]:
        page = service.timeline(
            staff,
            "case-1",
            domain.TimelineFilter(**criteria),
            order=domain.Order.OLDEST_FIRST,
            limit=10,
            cursor=None,
        )
        return [entry.event.type for entry in page.items]

    assert types(types=("case.opened", "case.closed")) == ["case.opened", "case.closed"]
    assert types(actor_id="rule-1") == ["case.stage_changed"]
    assert types(actor_kind=ActorKind.USER) == ["case.opened", "case.closed"]
    assert types(visibility=Visibility.EXTERNAL) == ["case.stage_changed"]
    assert types(since=T0 + timedelta(hours=1)) == ["case.stage_changed", "case.closed"]
    assert types(until=T0 + timedelta(hours=1)) == ["case.opened"]


def test_a_caller_without_a_staff_role_is_forbidden(
    service: Any, outsider: TenantContext, repository: InMemoryTimelineRepository
) -> None:
    service.record(event())

    with pytest.raises(ForbiddenError):
        service.timeline(outsider, "case-1", everything(), order=domain.Order.OLDEST_FIRST, limit=10, cursor=None)

    assert repository.page_calls == []


def test_forbidden_comes_before_not_found(service: Any, outsider: TenantContext) -> None:
    with pytest.raises(ForbiddenError):
        service.timeline(outsider, "no-such-case", everything(), order=domain.Order.OLDEST_FIRST, limit=10, cursor=None)


# Verifying and exporting


def test_a_recorded_chain_verifies_against_its_latest_anchor(
    service: Any, staff: TenantContext, repository: InMemoryTimelineRepository, anchors: InMemoryAnchorStore
) -> None:
    service.record(event("case.opened"))
    service.anchor_unanchored()
    service.record(event("case.closed"))
    service.record(event("case.comment_added"))

    result = service.verify(staff, "case-1")

    assert result.valid
    assert result.length == 3
    assert result.head_hash == repository.heads["case-1"].hash
    assert result.anchor == anchors.latest("case-1")
    assert result.anchor is not None
    assert result.anchor.seq == 2


def test_verify_catches_a_tail_cut_off_behind_the_latest_anchor(
    service: Any, staff: TenantContext, repository: InMemoryTimelineRepository
) -> None:
    service.record(event("case.opened"))
    service.anchor_unanchored()
    service.record(event())
    service.anchor_unanchored()
    del repository.links_by_case["case-1"][-1]

    result = service.verify(staff, "case-1")

    assert not result.valid
    assert result.first_bad_seq == 2
    assert result.reason == "the chain ends before its anchor at sequence number 2"


def test_verify_catches_an_edited_link(
    service: Any, staff: TenantContext, repository: InMemoryTimelineRepository
) -> None:
    for index in range(3):
        service.record(event(step=index))
    links = repository.links_by_case["case-1"]
    links[1] = links[1].model_copy(update={"record": {**links[1].record, "recorded_at": T0.isoformat()}})

    result = service.verify(staff, "case-1")

    assert not result.valid
    assert result.first_bad_seq == 2


def test_verify_without_an_anchor_still_checks_the_chain(service: Any, staff: TenantContext) -> None:
    service.record(event())

    result = service.verify(staff, "case-1")

    assert result.valid
    assert result.anchor is None


def test_an_export_verifies_offline_with_the_signers_public_key(
    service: Any, staff: TenantContext, repository: InMemoryTimelineRepository, signer: EcdsaSigner
) -> None:
    service.record(event("case.opened", personal={"email": "pat@example.org"}, subjects=[PAT]))
    service.record(event("case.closed"))
    head = repository.heads["case-1"]

    data = service.export(staff, "case-1")

    result = verify_bundle(data, service.signing_key(staff).public_key_pem.encode())
    assert result.valid, result.problems
    assert result.case_id == "case-1"
    assert result.length == 2
    assert result.head_hash == head.hash
    assert not verify_bundle(data, EcdsaSigner().public_key_pem().encode()).valid


def test_an_export_holds_the_links_and_a_readable_history(service: Any, staff: TenantContext) -> None:
    service.record(event("case.opened"))
    service.record(event("case.closed"))

    with zipfile.ZipFile(io.BytesIO(service.export(staff, "case-1"))) as archive:
        lines = archive.read(EVENTS_FILE).decode().splitlines()
        history = archive.read(HISTORY_FILE).decode()

    assert [Link.model_validate_json(line).seq for line in lines] == [1, 2]
    assert "History of case case-1" in history
    assert "case.closed" in history


def test_the_signing_key_is_the_signers(service: Any, staff: TenantContext, signer: EcdsaSigner) -> None:
    key = service.signing_key(staff)

    assert key.key_id == signer.key_id
    assert key.algorithm == "ECDSA_SHA_256"
    assert key.public_key_pem == signer.public_key_pem()


@pytest.mark.parametrize("use_case", ["verify", "export"])
def test_verify_and_export_of_an_unknown_case_are_not_found(
    service: Any, staff: TenantContext, signer: EcdsaSigner, use_case: str
) -> None:
    signed = len(signer.signed)

    with pytest.raises(NotFoundError):
        getattr(service, use_case)(staff, "case-404")

    assert len(signer.signed) == signed


@pytest.mark.parametrize("use_case", ["verify", "export"])
def test_verify_and_export_need_a_staff_role(
    service: Any, outsider: TenantContext, signer: EcdsaSigner, use_case: str
) -> None:
    service.record(event())
    signed = len(signer.signed)

    with pytest.raises(ForbiddenError):
        getattr(service, use_case)(outsider, "case-1")

    assert len(signer.signed) == signed


def test_the_signing_key_needs_a_staff_role(service: Any, outsider: TenantContext) -> None:
    with pytest.raises(ForbiddenError):
        service.signing_key(outsider)


# Erasure


@pytest.fixture
def two_cases_about_pat(service: Any) -> list[EventEnvelope]:
    pat_as_actor = Actor(kind=ActorKind.EXTERNAL, id=PAT, display_name="Pat Doe")
    sent = [
        event("case.opened", personal={"email": "pat@example.org"}, subjects=[PAT]),
        event("case.comment_added", actor=pat_as_actor, visibility=Visibility.EXTERNAL),
        event("case.stage_changed", actor=Actor(kind=ActorKind.AUTOMATION, id="rule-1")),
        event("case.opened", case_id="case-2", personal={"name": "Pat Doe"}, subjects=[PAT, "person-sam"]),
        event("case.opened", case_id="case-3", personal={"name": "Sam Roe"}, subjects=["person-sam"]),
    ]
    for each in sent:
        service.record(each)
    return sent


def test_erasure_removes_a_persons_data_from_every_timeline(
    service: Any,
    admin: TenantContext,
    repository: InMemoryTimelineRepository,
    two_cases_about_pat: list[EventEnvelope],
) -> None:
    report = service.erase(admin, PAT).resource

    assert report.participant_id == PAT
    assert report.erased_links == 3
    assert report.cases == ["case-1", "case-2"]
    case_1 = repository.links_by_case["case-1"]
    assert [link.personal for link in case_1[:2]] == [None, None]
    assert [link.salt for link in case_1[:2]] == [None, None]
    assert case_1[0].event().personal == {}
    assert case_1[0].event().actor.display_name is None  # Ann's name went with the entry about Pat
    assert case_1[1].event().actor == Actor(kind=ActorKind.EXTERNAL, id=PAT)
    assert repository.links_by_case["case-2"][0].personal is None
    assert repository.links_by_case["case-3"][0].personal == {
        "data": {"name": "Sam Roe"},
        "actor_display_name": "Ann Example",
    }
    for links in repository.links_by_case.values():
        assert "pat@example.org" not in str([link.model_dump() for link in links])
        assert "Pat Doe" not in str([link.model_dump() for link in links])


def test_erasure_is_recorded_on_each_affected_timeline(
    service: Any,
    admin: TenantContext,
    repository: InMemoryTimelineRepository,
    two_cases_about_pat: list[EventEnvelope],
) -> None:
    service.erase(admin, PAT)

    for case_id, erased in (("case-1", 2), ("case-2", 1)):
        last = repository.links_by_case[case_id][-1].event()
        assert last.type == "personal_data.erased"
        assert last.data == {"participant_id": PAT, "entries": erased}
        assert last.actor == Actor(kind=ActorKind.USER, id="admin-1")  # no name: nothing new to erase later
        assert last.correlation_id == admin.correlation_id
        assert last.tenant_id == TENANT_ID
    assert [link.event().type for link in repository.links_by_case["case-3"]] == ["case.opened"]
    assert len(repository.links_by_case["case-1"]) == 4


def test_erasure_is_announced_on_the_bus_before_the_links_are_erased(
    service: Any, admin: TenantContext, bus: RecordingBus, two_cases_about_pat: list[EventEnvelope]
) -> None:
    service.erase(admin, PAT)

    assert [(event.case_id, event.data, still_there) for event, still_there in bus.published] == [
        ("case-1", {"participant_id": PAT, "entries": 2}, True),
        ("case-2", {"participant_id": PAT, "entries": 1}, True),
    ]
    # The entries announced are those recorded on each chain.
    recorded = {case: links[-1].event() for case, links in bus.repository.links_by_case.items()}
    assert [recorded[event.case_id] for event, _ in bus.published if event.case_id] == [e for e, _ in bus.published]


def test_the_chains_still_verify_after_erasure(
    service: Any,
    admin: TenantContext,
    staff: TenantContext,
    repository: InMemoryTimelineRepository,
    signer: EcdsaSigner,
    two_cases_about_pat: list[EventEnvelope],
) -> None:
    service.anchor_unanchored()
    hashes_before = {case: [link.hash for link in links] for case, links in repository.links_by_case.items()}

    service.erase(admin, PAT)

    for case_id, before in hashes_before.items():
        assert [link.hash for link in repository.links_by_case[case_id]][: len(before)] == before
        result = service.verify(staff, case_id)
        assert result.valid, result.reason
        assert result.anchor is not None
        bundle = service.export(staff, case_id)
        assert verify_bundle(bundle, signer.public_key_pem().encode()).valid
        with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
            exported = archive.read(EVENTS_FILE)
        assert b"pat@example.org" not in exported
        assert (b"Sam Roe" in exported) is (case_id == "case-3")


def test_erased_entries_are_flagged_on_the_timeline(
    service: Any, admin: TenantContext, staff: TenantContext, two_cases_about_pat: Any
) -> None:
    service.erase(admin, PAT)

    page = service.timeline(staff, "case-1", everything(), order=domain.Order.OLDEST_FIRST, limit=10, cursor=None)

    assert [entry.personal_data_erased for entry in page.items] == [True, True, False, False]


def test_erasing_again_finds_nothing_and_records_nothing(
    service: Any, admin: TenantContext, repository: InMemoryTimelineRepository, two_cases_about_pat: Any
) -> None:
    service.erase(admin, PAT)
    lengths = {case: len(links) for case, links in repository.links_by_case.items()}

    report = service.erase(admin, PAT).resource

    assert report.erased_links == 0
    assert report.cases == []
    assert {case: len(links) for case, links in repository.links_by_case.items()} == lengths


def test_an_erasure_retried_with_its_key_answers_the_first_report(
    service: Any, admin: TenantContext, repository: InMemoryTimelineRepository, two_cases_about_pat: Any
) -> None:
    first = service.erase(admin, PAT, "erase-pat-1")
    links = {case: len(chain) for case, chain in repository.links_by_case.items()}

    again = service.erase(admin, PAT, "erase-pat-1")

    assert (again.resource, again.replayed) == (first.resource, True)
    assert first.resource.erased_links == 3
    assert {case: len(chain) for case, chain in repository.links_by_case.items()} == links, "nothing recorded again"


def test_erasing_someone_unknown_changes_nothing(
    service: Any, admin: TenantContext, repository: InMemoryTimelineRepository, two_cases_about_pat: Any
) -> None:
    before = {case: list(links) for case, links in repository.links_by_case.items()}

    report = service.erase(admin, "person-nobody").resource

    assert report.erased_links == 0
    assert repository.links_by_case == before


def test_only_admins_may_erase(
    service: Any, staff: TenantContext, outsider: TenantContext, repository: InMemoryTimelineRepository
) -> None:
    service.record(event(personal={"email": "pat@example.org"}, subjects=[PAT]))

    for caller in (staff, outsider):
        with pytest.raises(ForbiddenError):
            service.erase(caller, PAT)

    assert repository.links_by_case["case-1"][0].personal is not None
    assert PAT in repository.subject_markers


# Who may read a timeline: the cases service's rule, from what the events told the timeline

CLAIM = TemplateDefinition.model_validate(
    {
        "key": "claim",
        "name": "Claim",
        "fields": [
            {"key": "amount", "label": "Amount", "type": "number"},
            {"key": "diagnosis", "label": "Diagnosis", "type": "text"},
            {"key": "claimant", "label": "Claimant", "type": "party"},
        ],
        "stages": [{"key": "submitted", "name": "Submitted"}],
        "roles": [
            {
                "key": "handler",
                "name": "Handler",
                "permissions": ["case.view", "timeline.export"],
                "fields": {"*": "edit"},
            },
            {
                "key": "auditor",
                "name": "Auditor",
                "permissions": ["case.view"],
                "fields": {"amount": "view"},
                "groups": ["auditors"],
            },
        ],
        "owner_role": "handler",
    }
)
CLAIM_ID = "01H00000000000000000000001"  # minted in 2023, long before the test clock


def claim_case(version: int, *handlers: str) -> CaseSnapshot:
    participants = [
        {
            "id": f"p-{user}",
            "kind": "internal",
            "role": "handler",
            "user_id": user,
            "added_at": T0,
            "added_by": "user-1",
        }
        for user in handlers
    ]
    return snapshot(CLAIM_ID, version, CLAIM, participants=participants)


@pytest.fixture
def claim(service: Any) -> Any:
    """A claim handled by user-1, opened with a hidden diagnosis and a claimant (personal), then changed."""
    service.record(published(CLAIM))
    fields = {"amount": 1200, "diagnosis": "DIAG-SECRET"}
    service.record(
        event(
            "case.opened",
            case_id=CLAIM_ID,
            fields=fields,
            personal={"fields": {"claimant": "CLAIMANT-SECRET"}},
        ),
        claim_case(1, "user-1"),
    )
    service.record(
        event(
            "case.fields_changed",
            case_id=CLAIM_ID,
            changes={
                "diagnosis": {"before": "DIAG-SECRET", "after": "DIAG-2"},
                "amount": {"before": 1200, "after": 900},
            },
            personal={"changes": {"claimant": {"before": "CLAIMANT-SECRET", "after": "CLAIMANT-2"}}},
        ),
        claim_case(2, "user-1"),
    )
    return service


def read(service: Any, context: TenantContext) -> list[Any]:
    page = service.timeline(context, CLAIM_ID, everything(), order=domain.Order.OLDEST_FIRST, limit=50, cursor=None)
    return [entry.event for entry in page.items]


def test_a_participant_reads_the_whole_timeline(claim: Any, context_for: Any) -> None:
    events = read(claim, context_for("caseline-staff", subject="user-1"))

    assert events[0].data["fields"] == {"amount": 1200, "diagnosis": "DIAG-SECRET"}
    assert events[0].personal == {"fields": {"claimant": "CLAIMANT-SECRET"}}


@pytest.mark.parametrize("use_case", ["timeline", "verify", "export"])
def test_staff_outside_the_case_get_not_found_as_for_an_unknown_id(
    claim: Any, context_for: Any, signer: EcdsaSigner, use_case: str
) -> None:
    outsider = context_for("caseline-staff", subject="user-2")
    calls: dict[str, Callable[[], object]] = {
        "timeline": lambda: read(claim, outsider),
        "verify": lambda: claim.verify(outsider, CLAIM_ID),
        "export": lambda: claim.export(outsider, CLAIM_ID),
    }
    signed = len(signer.signed)

    with pytest.raises(NotFoundError) as refused:
        calls[use_case]()

    assert str(refused.value) == f"No case {CLAIM_ID}."
    assert len(signer.signed) == signed


def test_a_role_that_sees_some_fields_reads_the_others_redacted_everywhere(claim: Any, context_for: Any) -> None:
    auditor = context_for("caseline-staff", "auditors", subject="user-3")

    opened, changed = read(claim, auditor)

    assert opened.data["fields"] == {"amount": 1200}
    assert opened.personal == {"fields": {}}
    assert changed.data["changes"] == {"amount": {"before": 1200, "after": 900}}
    assert changed.personal == {"changes": {}}
    assert "SECRET" not in str([opened, changed])


def test_a_redacted_reader_still_verifies_the_whole_chain(claim: Any, context_for: Any) -> None:
    auditor = context_for("caseline-staff", "auditors", subject="user-3")

    result = claim.verify(auditor, CLAIM_ID)

    assert result.valid
    assert result.length == 2


def test_only_admins_and_roles_with_timeline_export_take_the_signed_export(
    claim: Any, context_for: Any, admin: TenantContext
) -> None:
    auditor = context_for("caseline-staff", "auditors", subject="user-3")
    handler = context_for("caseline-staff", subject="user-1")

    with pytest.raises(ForbiddenError, match=r"timeline\.export"):
        claim.export(auditor, CLAIM_ID)
    assert claim.export(handler, CLAIM_ID)
    assert claim.export(admin, CLAIM_ID)


def test_each_export_is_recorded_on_the_timeline_with_who_took_it(
    claim: Any, context_for: Any, repository: InMemoryTimelineRepository
) -> None:
    handler = context_for("caseline-staff", subject="user-1")

    claim.export(handler, CLAIM_ID)

    last = read(claim, handler)[-1]
    assert last.type == "timeline.exported"
    assert last.actor.id == "user-1"
    assert last.data == {"length": 2, "head_hash": repository.links_by_case[CLAIM_ID][1].hash}
    assert verify_chain(repository.links_by_case[CLAIM_ID]).valid


def test_a_participant_added_later_may_read_and_one_removed_may_not(claim: Any, context_for: Any) -> None:
    newcomer = context_for("caseline-staff", subject="user-4")
    claim.record(event("participant.added", case_id=CLAIM_ID), claim_case(3, "user-1", "user-4"))
    assert len(read(claim, newcomer)) == 3

    claim.record(event("participant.removed", case_id=CLAIM_ID), claim_case(4, "user-1"))
    with pytest.raises(NotFoundError):
        read(claim, newcomer)


def test_a_late_event_does_not_bring_back_who_the_case_had_before(claim: Any, context_for: Any) -> None:
    newcomer = context_for("caseline-staff", subject="user-4")
    claim.record(event("participant.added", case_id=CLAIM_ID), claim_case(4, "user-1", "user-4"))

    claim.record(event("case.stage_changed", case_id=CLAIM_ID), claim_case(3, "user-1"))  # delivered late

    assert len(read(claim, newcomer)) == 4


def test_a_case_whose_template_has_not_arrived_is_not_shown_to_staff_yet(
    service: Any, context_for: Any, admin: TenantContext
) -> None:
    service.record(event("case.opened", case_id=CLAIM_ID), claim_case(1, "user-1"))

    with pytest.raises(NotFoundError):  # an id minted long before the test clock's now: not on its way
        read(service, context_for("caseline-staff", subject="user-1"))
    assert len(read(service, admin)) == 1

    service.record(published(CLAIM))
    assert len(read(service, context_for("caseline-staff", subject="user-1"))) == 1


def test_a_viewer_reads_every_field_but_may_not_export(claim: Any, context_for: Any) -> None:
    viewer = context_for("caseline-viewers", subject="user-5")

    assert read(claim, viewer)[0].data["fields"]["diagnosis"] == "DIAG-SECRET"
    with pytest.raises(ForbiddenError):
        claim.export(viewer, CLAIM_ID)


def test_a_damaged_stored_entry_is_shown_as_damaged_and_verify_reports_it(
    claim: Any, context_for: Any, repository: InMemoryTimelineRepository
) -> None:
    handler = context_for("caseline-staff", subject="user-1")
    links = repository.links_by_case[CLAIM_ID]
    links[1] = links[1].model_copy(update={"record": {"seq": 2, "unreadable": True}})

    page = claim.timeline(handler, CLAIM_ID, everything(), order=domain.Order.OLDEST_FIRST, limit=9, cursor=None)
    result = claim.verify(handler, CLAIM_ID)

    assert page.items[1].event is None
    assert page.items[1].damaged
    assert (result.valid, result.first_bad_seq) == (False, 2)


def test_each_link_carries_who_may_read_it_in_the_change_feed(
    service: Any, repository: InMemoryTimelineRepository
) -> None:
    service.record(event(case_id="c1"))
    [readers] = repository.feed_readers.values()
    assert (readers.template_key, readers.template_version) == (TEAM_TEMPLATE.key, 1)
    assert "group:caseline-staff" in readers.readers  # the default team role, through the staff group


def test_an_event_whose_template_never_reaches_the_timeline_is_read_by_admins_alone_in_the_feed(
    service: Any, repository: InMemoryTimelineRepository
) -> None:
    unknown = TEAM_TEMPLATE.model_copy(update={"key": "never-published"})
    assert service.record(event(case_id="c1"), snapshot("c1", 1, unknown)) is service_module.Recorded.APPENDED
    assert list(repository.feed_readers.values()) == [None]


def test_the_feed_shows_each_caller_the_entries_of_the_cases_they_may_view_in_recorded_order(
    service: Any, context_for: Any
) -> None:
    sent = ["c1", "c2", "c1"]
    for case_id in sent:
        service.record(event(case_id=case_id))
    for _ in range(3):  # the clock ticks a second a reading: the last entry settles
        service.feed(context_for("caseline-admins"), types=(), case_id=None, limit=10, cursor=None)
    page = service.feed(context_for("caseline-staff"), types=(), case_id=None, limit=2, cursor=None)
    assert ([entry.event.case_id for entry in page.items], page.has_more) == (sent[:2], True)
    rest = service.feed(context_for("caseline-staff"), types=(), case_id=None, limit=2, cursor=page.next_cursor)
    assert ([entry.event.case_id for entry in rest.items], rest.has_more) == (sent[2:], False)
    with pytest.raises(ForbiddenError):  # no Caseline group
        service.feed(context_for("marketing"), types=(), case_id=None, limit=9, cursor=None)
