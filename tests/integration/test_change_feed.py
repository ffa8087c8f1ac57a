"""The change feed (GET /events) on the timeline table: order and paging, no duplicate, who sees what, filters,
cursors, and one Query per page.

Most tests drive a TimelineService of their own over the stack's timeline table, with a clock set in 2033: the
feed's 30 days then hold only what these tests record, and the settle window is crossed by moving the clock. The
HTTP tests go through the whole stack (bus, consumer, API) in real time."""

import itertools
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from caseline_common.aws import AwsClients
from caseline_common.contracts import Participant, ParticipantKind, TemplateDefinition
from caseline_common.envelope import Actor, ActorKind, EventEnvelope, new_id
from caseline_common.errors import ForbiddenError, InvalidCursorError
from caseline_common.freshness import CaseArrival
from caseline_common.pagination import encode_cursor
from caseline_common.resources import TIMELINE_TABLE
from caseline_common.tenant import Principal, StaffRole, TenantContext
from service_modules import loaded_module

from caseline.local.stack import LocalStack

from .support import api_call, queue_depth, recording, wait_until

if TYPE_CHECKING:
    from services.timeline.chalicelib import service
    from services.timeline.chalicelib.adapters import dynamo_timeline
    from services.timeline.chalicelib.domain import feed, timeline
else:
    dynamo_timeline = loaded_module("timeline", "chalicelib.adapters.dynamo_timeline")
    service = loaded_module("timeline", "chalicelib.service")
    feed = loaded_module("timeline", "chalicelib.domain.feed")
    timeline = loaded_module("timeline", "chalicelib.domain.timeline")

SUFFIX = uuid.uuid4().hex[:8]
HIDDEN = f"HiddenValue{SUFFIX}"
PERSONAL = f"person.{SUFFIX}@example.org"
TEAM = f"claims-team-{SUFFIX}"
RITA = f"dev-rita-{SUFFIX}"
ACTOR = Actor(kind=ActorKind.USER, id="dev-feed", display_name=f"Dana {SUFFIX}")


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def context(*groups: str, subject: str = "dev-caller", external: bool = False) -> TenantContext:
    principal = Principal(subject=subject, groups=frozenset(groups), external=external)
    return TenantContext(tenant_id="demo", principal=principal, correlation_id="feed-test")


ADMIN = context(StaffRole.ADMIN, StaffRole.STAFF, subject="dev-admin")
TEAM_MEMBER = context(StaffRole.STAFF, TEAM, subject="dev-tom")
AUDITOR = context(StaffRole.STAFF, subject=RITA)
OUTSIDER = context(StaffRole.STAFF, subject="dev-oscar")
VIEWER = context(StaffRole.VIEWER, subject="dev-vera")


def definition(key: str) -> TemplateDefinition:
    return TemplateDefinition.model_validate(
        {
            "key": key,
            "name": "Motor claim",
            "fields": [
                {"key": "summary", "label": "Summary", "type": "text"},
                {"key": "secret_note", "label": "Secret note", "type": "long_text"},
            ],
            "stages": [{"key": "intake", "name": "Intake"}, {"key": "done", "name": "Done", "next": []}],
            "roles": [
                {
                    "key": "handler",
                    "name": "Handler",
                    "permissions": ["case.view"],
                    "fields": {"*": "edit"},
                    "groups": [TEAM],
                },
                {"key": "auditor", "name": "Auditor", "permissions": ["case.view"], "fields": {"summary": "view"}},
            ],
        }
    )


class World:
    """A service of its own over the stack's timeline table, its clock, and a template it knows."""

    def __init__(self, stack: LocalStack, start: datetime) -> None:
        self.clock = Clock(start)
        own_client = AwsClients(stack.aws.region, stack.aws.endpoint_url).dynamodb()  # so calls are counted alone
        self.repository = dynamo_timeline.DynamoTimelineRepository(own_client, stack.tenant.names.table(TIMELINE_TABLE))
        self.service = service.TimelineService(
            self.repository,
            anchors=None,  # type: ignore[arg-type]  # nothing here closes a case
            signer=None,  # type: ignore[arg-type]
            bus=None,  # type: ignore[arg-type]
            tenant_id="demo",
            clock=self.clock,
            new_salt=lambda: "00" * 16,
            arrival=CaseArrival(clock=self.clock),
            sleep=lambda _seconds: None,
        )
        self.key = f"feed-{uuid.uuid4().hex[:10]}"
        self.repository.save_template(self.key, 1, definition(self.key))

    def members(self, version: int, *, auditor: bool) -> "timeline.CaseMembers":
        joined = datetime(2033, 1, 1, tzinfo=UTC)
        participants = [
            Participant(
                id=new_id(), kind=ParticipantKind.INTERNAL, role="auditor", user_id=RITA, added_at=joined, added_by="x"
            )
        ]
        return timeline.CaseMembers(
            template_key=self.key,
            template_version=1,
            participants=participants if auditor else [],
            version=version,
        )

    def record(self, case_id: str, version: int, *, auditor: bool = False, after: timedelta) -> EventEnvelope:
        """A change of both fields, one visible to the auditor and one not, with personal data beside it."""
        self.clock.now += after
        event = EventEnvelope.new(
            tenant_id="demo",
            case_id=case_id,
            type="case.fields_changed",
            actor=ACTOR,
            correlation_id=new_id(),
            occurred_at=self.clock.now,
            data={
                "version": version,
                "changes": {
                    "summary": {"before": None, "after": f"Summary {version}"},
                    "secret_note": {"before": None, "after": HIDDEN},
                },
            },
            personal={"changes": {"contact": {"before": None, "after": PERSONAL}}},
            subjects=["p-1"],
        )
        assert self.service.record(event, self.members(version, auditor=auditor)) is service.Recorded.APPENDED
        return event

    def settle(self) -> None:
        """Moves the clock past the settle window of every entry recorded so far."""
        self.clock.now += feed.FEED_SETTLE + timedelta(milliseconds=1)

    def read_all(self, caller: TenantContext, **query: Any) -> tuple[list["feed.FeedEntry"], str, int]:
        """Every page from the start (or `after`), until the feed says no more: the entries, the last cursor and
        how many pages it took."""
        entries: list[feed.FeedEntry] = []
        cursor, pages = query.pop("after", None), 0
        while True:
            page = self.service.feed(
                caller,
                types=query.get("types", ()),
                case_id=query.get("case_id"),
                limit=query.get("limit", 2),
                cursor=cursor,
            )
            entries += page.items
            cursor, pages = page.next_cursor, pages + 1
            if not page.has_more:
                return entries, cursor, pages


WINDOWS = itertools.count(uuid.uuid4().int % 1000)


@pytest.fixture
def world(stack: LocalStack) -> World:
    # A window of its own for each test, years from now: the feed's 30 days hold only what the test records.
    return World(stack, datetime(2033, 1, 1, tzinfo=UTC) + next(WINDOWS) * (feed.FEED_RETENTION + timedelta(days=2)))


def ids(entries: list["feed.FeedEntry"]) -> list[str]:
    return [entry.event.event_id for entry in entries]


def test_the_feed_pages_in_the_order_entries_were_recorded_and_serves_only_settled_ones(world: World) -> None:
    first, second = new_id(), new_id()
    recorded = [
        world.record(first, 1, after=timedelta(seconds=1)),
        world.record(second, 1, after=timedelta(seconds=1)),
        world.record(first, 2, after=timedelta(milliseconds=3)),
        world.record(second, 2, after=timedelta(seconds=1)),
        world.record(first, 3, after=timedelta(seconds=1)),
    ]
    world.clock.now += timedelta(seconds=1.5)  # the last entry is 1.5 s old: not settled yet
    entries, cursor, pages = world.read_all(ADMIN)
    assert ids(entries) == [event.event_id for event in recorded[:4]]
    assert pages >= 2
    assert [(entry.event.case_id, entry.seq) for entry in entries] == [(first, 1), (second, 1), (first, 2), (second, 2)]

    world.clock.now += timedelta(seconds=1)  # now it is: a poll from the last cursor gets it, and only it
    page = world.service.feed(ADMIN, types=(), case_id=None, limit=10, cursor=cursor)
    assert ids(page.items) == [recorded[4].event_id]
    assert not page.has_more
    again = world.service.feed(ADMIN, types=(), case_id=None, limit=10, cursor=page.next_cursor)
    assert again.items == []
    assert again.next_cursor == page.next_cursor


def test_an_entry_carries_no_personal_data(world: World) -> None:
    event = world.record(new_id(), 1, after=timedelta(seconds=1))
    world.settle()
    [entry] = world.read_all(ADMIN)[0]
    assert entry.event.personal == {}
    assert entry.event.actor.display_name is None
    assert PERSONAL not in entry.model_dump_json()
    assert entry.event.data == event.data  # an admin sees every field
    assert entry.event.subjects == ["p-1"]


def test_each_caller_sees_the_cases_they_may_view_and_the_fields_their_roles_show(world: World) -> None:
    audited, other = new_id(), new_id()
    world.record(audited, 1, auditor=True, after=timedelta(seconds=1))
    world.record(other, 1, after=timedelta(seconds=1))
    world.settle()

    def seen(caller: TenantContext) -> dict[str, dict[str, Any]]:
        return {str(entry.event.case_id): entry.event.data["changes"] for entry in world.read_all(caller)[0]}

    both = {audited, other}
    for caller in (ADMIN, TEAM_MEMBER, VIEWER):  # all cases, every field (the handler role edits every field)
        changes = seen(caller)
        assert set(changes) == both
        assert all(HIDDEN in json.dumps(change) for change in changes.values())
    rita = seen(AUDITOR)
    assert set(rita) == {audited}  # the case she takes part in, as an auditor
    assert set(rita[audited]) == {"summary"}  # who may not view the secret note does not get it
    assert seen(OUTSIDER) == {}
    for refused in (context("marketing"), context(StaffRole.STAFF, external=True)):
        with pytest.raises(ForbiddenError):
            world.service.feed(refused, types=(), case_id=None, limit=10, cursor=None)


def test_types_and_a_case_filter_the_feed(world: World) -> None:
    case_id, other = new_id(), new_id()
    world.record(case_id, 1, after=timedelta(seconds=1))
    world.record(other, 1, after=timedelta(seconds=1))
    world.settle()
    assert [e.event.case_id for e in world.read_all(ADMIN, case_id=case_id)[0]] == [case_id]
    assert len(world.read_all(ADMIN, types=feed.expand_types(["case.*"]))[0]) == 2
    assert world.read_all(ADMIN, types=feed.expand_types(["task.*", "comment.added"]))[0] == []
    assert len(world.read_all(ADMIN, types=feed.expand_types(["case.fields_changed"]), case_id=other)[0]) == 1


def test_the_type_globs_expand_to_the_catalogue() -> None:
    assert set(feed.expand_types(["sla.*"])) == {"sla.breached", "sla.warning"}
    assert "timeline.exported" in feed.expand_types(["timeline.*"])
    for unknown in (["case.nope"], ["nope.*"], ["template.published"], ["template.*"]):
        with pytest.raises(ValueError, match="unknown event types"):
            feed.expand_types(unknown)


def test_a_cursor_must_be_the_feeds_and_within_its_window(world: World) -> None:
    world.record(new_id(), 1, after=timedelta(seconds=1))
    world.settle()
    cursor = world.service.feed(ADMIN, types=(), case_id=None, limit=10, cursor=None).next_cursor
    for foreign in (
        "not-a-cursor",
        encode_cursor({"pk": {"S": "CASE#x"}, "sk": {"S": "LINK#1"}}),
        encode_cursor({"after": {"S": "CASE#x"}}),
    ):
        with pytest.raises(InvalidCursorError, match=r"malformed|does not belong"):
            world.service.feed(ADMIN, types=(), case_id=None, limit=10, cursor=foreign)
    world.clock.now += feed.FEED_RETENTION + timedelta(seconds=1)
    with pytest.raises(InvalidCursorError, match="older than the change feed keeps"):
        world.service.feed(ADMIN, types=(), case_id=None, limit=10, cursor=cursor)
    assert world.service.feed(ADMIN, types=(), case_id=None, limit=10, cursor=None).items == []  # aged out


def test_a_page_is_one_query_whatever_the_cases(world: World) -> None:
    for version in range(1, 4):
        for _case in range(3):
            world.record(new_id(), version, auditor=True, after=timedelta(milliseconds=500))
    world.settle()
    for caller in (ADMIN, AUDITOR, TEAM_MEMBER):
        with recording(world.repository._client) as calls:
            entries, _cursor, pages = world.read_all(caller, limit=4)
        assert len(entries) == 9
        assert calls.operations == ["Query"] * pages  # the template came from the container's cache


def test_one_case_is_read_from_its_own_chain_whatever_else_the_tenant_records(world: World) -> None:
    case_id = new_id()
    for version in range(1, 6):  # many other cases' entries around it: a case's feed never pages through them
        for _other in range(4):
            world.record(new_id(), version, after=timedelta(milliseconds=100))
        world.record(case_id, version, after=timedelta(milliseconds=100))
    with recording(world.repository._client) as calls:
        entries, cursor, pages = world.read_all(ADMIN, case_id=case_id, limit=2)
    # Unsettled entries too: a chain is appended one link at a time, so reading it in order skips nothing.
    assert [entry.event.data["version"] for entry in entries] == [1, 2, 3, 4, 5]
    assert calls.operations == ["Query"] * pages
    assert pages == 3
    world.record(case_id, 6, after=timedelta(milliseconds=100))
    assert [e.event.data["version"] for e in world.read_all(ADMIN, case_id=case_id, after=cursor)[0]] == [6]
    # The cursor holds its position in the whole feed too: without the filter it goes on from there.
    world.settle()
    later = world.read_all(ADMIN, after=cursor)[0]
    assert [(e.event.case_id, e.event.data["version"]) for e in later] == [(case_id, 6)]


# through the stack


def test_a_redelivered_event_is_one_entry(stack: LocalStack) -> None:
    case_id = new_id()
    envelope = EventEnvelope.new(
        tenant_id="demo",
        case_id=case_id,
        type="comment.added",
        actor=ACTOR,
        correlation_id=new_id(),
        data={"comment_id": new_id(), "external": False, "body": "Sent twice"},
        occurred_at=datetime.now(UTC),
    )
    body = json.dumps(
        {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": envelope.type,
            "source": "caseline.cases",
            "account": "000000000000",
            "time": envelope.occurred_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": "eu-west-1",
            "resources": [],
            "detail": envelope.model_dump(mode="json"),
        }
    )
    queue = stack.tenant.queues["timeline_consumer"]
    stack.aws.sqs().send_message(QueueUrl=queue.url, MessageBody=body)
    stack.aws.sqs().send_message(QueueUrl=queue.url, MessageBody=body)
    wait_until(lambda: queue_depth(stack, queue.url) == 0, what="both deliveries to be consumed")

    def listed() -> list[dict[str, Any]] | None:
        status, _headers, page = api_call(stack, "GET", f"/events?case_id={case_id}", token=stack.staff_token())
        assert status == 200, page
        return page["items"] or None

    entries = wait_until(listed, what="the entry to settle")
    assert [entry["event"]["event_id"] for entry in entries] == [envelope.event_id]
    assert entries[0]["event"]["data"]["body"] == "Sent twice"


@pytest.mark.parametrize(
    ("query", "status", "slug"),
    [
        ("types=case.nope", 422, "validation-error"),
        ("types=case.", 422, "validation-error"),
        ("case_id=not-a-case", 422, "validation-error"),
        ("after=bm90LWEtY3Vyc29y", 400, "invalid-cursor"),
        ("limit=0", 422, "validation-error"),
    ],
)
def test_bad_queries_are_problems(stack: LocalStack, query: str, status: int, slug: str) -> None:
    answer_status, headers, problem = api_call(stack, "GET", f"/events?{query}", token=stack.staff_token())
    assert (answer_status, problem["type"]) == (status, f"urn:caseline:problem:{slug}")
    assert headers["Content-Type"] == "application/problem+json"
