"""Requested documents in the portal: the read model keeps open requests whatever the order of arrival, the page
lists them for the role that was asked, and each asked participant is e-mailed one new link per event, however
often the event is delivered."""

import itertools
import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from caseline_common.contracts import TemplateDefinition
from caseline_common.envelope import Actor, ActorKind, EventEnvelope, Visibility
from caseline_common.events import EventType, event_data
from caseline_common.freshness import CaseArrival
from service_modules import loaded, loaded_module

from caseline.local.loader import LoadedService

if TYPE_CHECKING:
    from services.portal.chalicelib.domain import page, projection
else:
    projection = loaded_module("portal", "chalicelib.domain.projection")
    page = loaded_module("portal", "chalicelib.domain.page")

T0 = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)
CASE_ID = "01JPCASE0000000000000000AA"
IVY, WES, NOAH = "01JPIVY0000000000000000000", "01JPWES0000000000000000000", "01JPNOAH000000000000000000"
OWNER = "01JPOWNER00000000000000000"
RULE = Actor(kind=ActorKind.AUTOMATION, id="rule:ask-for-receipt")

TEMPLATE: dict[str, Any] = {
    "key": "claim",
    "name": "Claim",
    "portal": {"branding": {"name": "Acme Insurance"}},
    "stages": [{"key": "submitted", "name": "Submitted"}, {"key": "done", "name": "Done", "next": []}],
    "document_types": [
        {
            "key": "receipt",
            "name": "Receipt",
            "content_types": ["application/pdf"],
            "max_size_bytes": 1024,
            "external": True,
            "uploader_roles": ["claimant"],
        },
        {
            "key": "police_report",
            "name": "Police report",
            "content_types": ["application/pdf"],
            "max_size_bytes": 1024,
            "required_in_stages": ["submitted"],
            "external": True,
        },
    ],
    "roles": [
        {"key": "handler", "name": "Handler", "permissions": ["case.view", "participant.manage"]},
        {
            "key": "claimant",
            "name": "Claimant",
            "kind": "external",
            "permissions": ["case.view", "document.upload", "document.view"],
        },
        {"key": "witness", "name": "Witness", "kind": "external", "permissions": ["case.view", "document.upload"]},
    ],
}


@pytest.fixture(scope="module")
def portal() -> LoadedService:
    return loaded("portal")


@pytest.fixture
def template() -> TemplateDefinition:
    return TemplateDefinition.model_validate(TEMPLATE)


def event(kind: str, version: int, data: dict[str, Any], *, personal: dict[str, Any] | None = None) -> EventEnvelope:
    """An event as its producer sends it: its data built through the catalogue's model (which leaves out the
    `version` of a `case.opened`: it opens version 1)."""
    return EventEnvelope.new(
        tenant_id="acme",
        case_id=CASE_ID,
        type=kind,
        actor=RULE,
        correlation_id="corr-1",
        data=event_data(EventType(kind), version=version, **data),
        personal=personal,
        visibility=Visibility.EXTERNAL,
        occurred_at=T0 + timedelta(minutes=version),
    )


def opened() -> EventEnvelope:
    data = {"title": "Stolen bike", "template_key": "claim", "template_version": 1, "stage": "submitted"}
    owner = {"participant_id": OWNER, "kind": "internal", "role": "handler", "user_id": "dev-alex"}
    members = {"status": "open", "owner": "dev-alex", "participants": [owner], "fields": {}, "tasks_created": []}
    return event("case.opened", 1, data | members)


def added(
    version: int, participant_id: str, role: str, email: str | None, *, language: str | None = None
) -> EventEnvelope:
    data = {"participant_id": participant_id, "kind": "external", "role": role, "language": language}
    return event("participant.added", version, data, personal={"name": f"{role} {version}", "email": email})


def requested(version: int, type_key: str, role: str, *ids: str, message: str | None = None) -> EventEnvelope:
    data = {"request_id": f"req-{type_key}-{role}-{version}", "document_type": type_key, "from_role": role}
    return event("document.requested", version, data | {"participant_ids": list(ids), "message": message})


def document_added(version: int, type_key: str) -> EventEnvelope:
    data = {"document_type": type_key, "document_version": 1, "upload_id": f"01JPUPLOAD{version:016d}"}
    return event("document.added", version, data | {"content_type": "application/pdf", "size": 10, "sha256": "0" * 64})


def project(template: TemplateDefinition, events: list[EventEnvelope]) -> Any:
    case = projection.new_case(opened())
    for each in [opened(), *events]:
        projection.apply(case, template, each)
    return case


def open_requests(case: Any) -> set[tuple[str, str]]:
    return {(request.document_type, request.from_role) for request in case.requests}


# the read model


def test_a_request_stays_until_a_document_of_its_type_arrives(template: TemplateDefinition) -> None:
    history = [
        added(2, IVY, "claimant", "ivy@example.org"),
        requested(3, "receipt", "claimant", IVY, message="The shop's receipt, please"),
        requested(4, "police_report", "claimant", IVY),
        document_added(5, "receipt"),
    ]
    case = project(template, history)
    assert open_requests(case) == {("police_report", "claimant")}
    assert projection.apply(case, template, history[2]) is False, "applying an event again changes nothing"


def test_any_order_of_arrival_leaves_the_same_requests(template: TemplateDefinition) -> None:
    history = [
        added(2, IVY, "claimant", "ivy@example.org"),
        requested(3, "receipt", "claimant", IVY),
        requested(4, "receipt", "witness", IVY),
        document_added(5, "receipt"),
        requested(6, "receipt", "claimant", IVY, message="Another one"),
    ]
    outcomes = set()
    for order in itertools.permutations(history):
        case = project(template, list(order))
        outcomes.add(frozenset((r.id, r.message) for r in case.requests))
    assert outcomes == {frozenset({("req-receipt-claimant-6", "Another one")})}


# the page


def test_the_needs_list_what_the_participant_s_role_was_asked_for_with_the_message(
    template: TemplateDefinition,
) -> None:
    case = project(
        template,
        [
            added(2, IVY, "claimant", "ivy@example.org"),
            added(3, WES, "witness", "wes@example.org"),
            requested(4, "receipt", "claimant", IVY, message="The shop's receipt, please"),
            requested(5, "police_report", "claimant", IVY, message="With the case number"),
        ],
    )
    ivy = page.build_view(template, case, case.participant(IVY), timeline=[], messages=[])
    assert [(need.kind, need.key, need.message) for need in ivy.needs] == [
        ("document", "police_report", "With the case number"),  # the stage's own need, with the team's words
        ("document", "receipt", "The shop's receipt, please"),
    ]
    wes = page.build_view(template, case, case.participant(WES), timeline=[], messages=[])
    assert [(need.key, need.message) for need in wes.needs] == [("police_report", None)]


# the e-mail with a link


class FakeStore:
    """The parts of the portal table the consumer uses, with the conditional writes the table makes."""

    def __init__(self, template: TemplateDefinition) -> None:
        self._template = template
        self.case_item: tuple[Any, int] | None = None
        self.links: list[Any] = []
        self.notices: dict[tuple[str, str], Any] = {}

    def save_template(self, key: str, version: int, definition: TemplateDefinition) -> None:
        pass

    def template(self, key: str, version: int) -> TemplateDefinition | None:
        return self._template

    def case(self, case_id: str) -> tuple[Any, int] | None:
        if self.case_item is None:
            return None
        return self.case_item[0].model_copy(deep=True), self.case_item[1]

    def save_case(self, case: Any, revision: int | None) -> None:
        self.case_item = (case.model_copy(deep=True), (revision or 0) + 1)

    def add_entry(self, case_id: str, entry: Any, *, message: bool) -> None:
        pass

    def save_link(self, link: Any, claim: Any) -> None:
        self.links.append(link)

    def update_link(self, link: Any) -> None:
        self.links = [link if each.id == link.id else each for each in self.links]

    def links_of_case(self, case_id: str) -> list[Any]:
        return list(self.links)

    def claim_notice(self, notice: Any) -> Any:
        key = (notice.event_id, notice.participant_id)
        if key in self.notices:
            return self.notices[key]
        self.notices[key] = notice
        return None

    def take_over_notice(self, notice: Any, earlier: Any) -> bool:
        key = (notice.event_id, notice.participant_id)
        if self.notices[key].claimed_at != earlier.claimed_at:
            return False
        self.notices[key] = notice
        return True

    def save_notice(self, notice: Any) -> None:
        self.notices[(notice.event_id, notice.participant_id)] = notice


class FakeBus:
    def __init__(self) -> None:
        self.published: list[EventEnvelope] = []

    def publish(self, event: EventEnvelope, *, command: bool = False) -> None:
        self.published.append(event)


class FakeMailer:
    def __init__(self, failures: int = 0) -> None:
        self.sent: list[tuple[list[str], str, str]] = []
        self._failures = failures

    def send(self, to: list[str], subject: str, text: str, html: str | None = None) -> str:
        if self._failures:
            self._failures -= 1
            raise ConnectionError("SES did not answer")
        self.sent.append((to, subject, text))
        return f"message-{len(self.sent)}"


class Clock:
    def __init__(self) -> None:
        self.now = T0 + timedelta(hours=1)

    def __call__(self) -> datetime:
        return self.now


def service(portal: LoadedService, store: FakeStore, bus: FakeBus, mailer: FakeMailer, clock: Clock) -> Any:
    ids = (f"01JPLINK{number:018d}" for number in itertools.count(1))
    links = portal.module("chalicelib.link_service").LinkService(
        store,
        bus,
        tenant_id="acme",
        base_url="https://portal.example.org",
        link_days=14,
        clock=clock,
        new_id=lambda: next(ids),
        arrival=CaseArrival(clock=clock),
    )
    return portal.module("chalicelib.projection_service").ProjectionService(
        store, links, link_days=14, clock=clock, mailer=mailer
    )


def prepared(portal: LoadedService, template: TemplateDefinition, mailer: FakeMailer) -> tuple[Any, FakeStore, Clock]:
    store, clock = FakeStore(template), Clock()
    portal_service = service(portal, store, FakeBus(), mailer, clock)
    for each in [
        opened(),
        added(2, IVY, "claimant", "ivy@example.org"),
        added(3, WES, "witness", "wes@example.org"),
        added(4, NOAH, "claimant", None),
    ]:
        portal_service.project(each)
    return portal_service, store, clock


def test_each_asked_participant_with_an_address_gets_one_link_however_often_the_event_comes(
    portal: LoadedService, template: TemplateDefinition
) -> None:
    mailer = FakeMailer()
    portal_service, store, _ = prepared(portal, template, mailer)
    asked = requested(5, "receipt", "claimant", IVY, NOAH, message="The shop's receipt, please")
    portal_service.project(asked)
    portal_service.project(asked)

    [(to, subject, text)] = mailer.sent  # Noah has no address
    [link] = store.links
    assert to == ["ivy@example.org"]
    assert subject == "Acme Insurance: we need a document for your case 0000-00AA"
    assert "Receipt" in text
    assert "The shop's receipt, please" in text
    assert "https://portal.example.org/p/" in text
    assert (link.participant_id, link.created_by) == (IVY, "portal")


def test_a_delivery_that_died_before_sending_is_finished_by_a_later_one_with_a_fresh_link(
    portal: LoadedService, template: TemplateDefinition
) -> None:
    mailer = FakeMailer(failures=1)
    portal_service, store, clock = prepared(portal, template, mailer)
    asked = requested(5, "receipt", "claimant", IVY)
    with pytest.raises(ConnectionError):
        portal_service.project(asked)
    errors = portal.module("chalicelib.projection_service")
    with pytest.raises(errors.NoticeInProgressError):  # the first delivery might still be sending
        portal_service.project(asked)
    clock.now += errors.NOTICE_LEASE + timedelta(seconds=1)
    portal_service.project(asked)
    portal_service.project(asked)

    assert len(mailer.sent) == 1
    first, second = store.links
    assert first.revoked_at is not None, "the link whose e-mail may never have gone out stops working"
    token = re.search(r"https://portal\.example\.org/p/(\S+)", mailer.sent[0][2])
    assert token is not None
    assert second.revoked_at is None
    assert portal.module("chalicelib.domain.links").token_hash(token.group(1)) == second.token_hash


def test_no_e_mail_once_the_document_arrived(portal: LoadedService, template: TemplateDefinition) -> None:
    mailer = FakeMailer()
    portal_service, _, _ = prepared(portal, template, mailer)
    asked = requested(5, "receipt", "claimant", IVY)
    portal_service.project(document_added(6, "receipt"))
    portal_service.project(asked)  # late: the receipt is there already
    assert mailer.sent == []


def test_the_e_mail_speaks_the_language_staff_chose_with_its_date_as_that_language_writes_it(
    portal: LoadedService, template: TemplateDefinition
) -> None:
    """Ivy was added with German; Wes was given French, which the portal has no catalog for, so he reads English (an
    e-mail has no browser to ask); Noah was given German and then his browser's again."""
    mailer = FakeMailer()
    store, clock = FakeStore(template), Clock()
    portal_service = service(portal, store, FakeBus(), mailer, clock)
    for each in [
        opened(),
        added(2, IVY, "claimant", "ivy@example.org", language="de"),
        added(3, WES, "claimant", "wes@example.org"),
        event("participant.language_changed", 4, {"participant_id": WES, "before": None, "after": "fr"}),
        added(5, NOAH, "claimant", "noah@example.org", language="de"),
        event("participant.language_changed", 6, {"participant_id": NOAH, "before": "de", "after": None}),
    ]:
        portal_service.project(each)
    portal_service.project(requested(7, "receipt", "claimant", IVY, WES, NOAH, message="Der Kassenbon, bitte"))

    mails = {to[0]: (subject, text) for to, subject, text in mailer.sent}
    subject, text = mails["ivy@example.org"]
    assert subject == "Acme Insurance: Wir benötigen ein Dokument für Ihren Vorgang 0000-00AA"
    assert text.startswith("Guten Tag, claimant 2,\n\nfür Ihren Vorgang Stolen bike (Aktenzeichen 0000-00AA)")
    assert "benötigen wir ein Dokument von Ihnen: Receipt." in text, "the template's own words stay as written"
    assert "Unser Hinweis: Der Kassenbon, bitte" in text
    assert "Der Link gilt bis 28. März 2025." in text, "the link's 14 days, the date as German writes it"
    for english in ("wes@example.org", "noah@example.org"):
        subject, text = mails[english]
        assert subject == "Acme Insurance: we need a document for your case 0000-00AA"
        assert "Our note: Der Kassenbon, bitte" in text
        assert "The link works until 28 March 2025." in text


def test_a_request_waits_for_the_participant_a_language_change_overtook(
    portal: LoadedService, template: TemplateDefinition
) -> None:
    """The language change arrived before `participant.added`: the e-mail waits for who to write to, then speaks it."""
    mailer = FakeMailer()
    store, clock = FakeStore(template), Clock()
    portal_service = service(portal, store, FakeBus(), mailer, clock)
    portal_service.project(opened())
    portal_service.project(
        event("participant.language_changed", 3, {"participant_id": IVY, "before": None, "after": "de"})
    )
    asked = requested(4, "receipt", "claimant", IVY)
    with pytest.raises(projection.CaseNotProjectedError):
        portal_service.project(asked)
    assert mailer.sent == []
    portal_service.project(added(2, IVY, "claimant", "ivy@example.org"))
    portal_service.project(asked)  # delivered again, as SQS does
    [(to, subject, _)] = mailer.sent
    assert (to, subject) == (
        ["ivy@example.org"],
        "Acme Insurance: Wir benötigen ein Dokument für Ihren Vorgang 0000-00AA",
    )
