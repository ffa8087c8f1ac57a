"""DynamoCasesRepository against the emulator, each test on a fresh table made from the real spec."""

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from caseline_common.adapters.dynamo_claims import claim_key
from caseline_common.contracts import CaseSnapshot, CaseStatus, PublishedTemplate, TemplateDefinition
from caseline_common.envelope import Actor, ActorKind, EventEnvelope, new_id
from caseline_common.idempotency import Claim, KeyClaimedError
from caseline_common.pagination import InvalidCursorError
from caseline_common.resources import CASES_TABLE, TenantResourceNames
from narrowing import present
from service_modules import loaded_module

from caseline.local.provision import _create_table
from caseline.local.stack import LocalStack

from .support import recording

if TYPE_CHECKING:
    from services.cases.chalicelib import ports
    from services.cases.chalicelib.adapters import dynamo_cases
else:
    ports = loaded_module("cases", "chalicelib.ports")  # its filter and exception types, of the adapter's copy
    dynamo_cases = loaded_module("cases", "chalicelib.adapters.dynamo_cases")

ACTOR = Actor(kind=ActorKind.USER, id="dev-adapter", display_name="adapter@example.org")
NOW = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)


@dataclass
class Repo:
    repository: "dynamo_cases.DynamoCasesRepository"
    client: Any
    table: str

    def item(self, pk: str, sk: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self.client.get_item(
            TableName=self.table, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True
        ).get("Item")
        return found


@pytest.fixture
def repo(stack: LocalStack) -> Iterator[Repo]:
    names = TenantResourceNames(tenant_id=f"adapter-{uuid.uuid4().hex[:8]}")
    _create_table(stack.aws, names, CASES_TABLE)
    table = names.table(CASES_TABLE)
    client = stack.aws.dynamodb()
    yield Repo(dynamo_cases.DynamoCasesRepository(client, table), client, table)
    client.delete_table(TableName=table)


def make_case(*, stage: str = "intake", status: CaseStatus = CaseStatus.OPEN, title: str = "A case") -> CaseSnapshot:
    return CaseSnapshot(
        id=new_id(),
        tenant_id="demo",
        template_key="claims",
        template_version=1,
        title=title,
        owner="dev-adapter",
        stage=stage,
        stage_entered_at=NOW,
        status=status,
        fields={"amount": {"amount": "12.50", "currency": "EUR"}},
        created_at=NOW,
        created_by="dev-adapter",
        updated_at=NOW,
        version=1,
    )


def opened(case: CaseSnapshot) -> EventEnvelope:
    return EventEnvelope.new(
        tenant_id="demo",
        case_id=case.id,
        type="case.opened",
        actor=ACTOR,
        correlation_id=new_id(),
        data={"title": case.title},
    )


def make_template(key: str = "claims", name: str = "Claims") -> tuple[PublishedTemplate, EventEnvelope]:
    definition = TemplateDefinition(key=key, name=name, stages=[{"key": "intake", "name": "Intake"}])
    template = PublishedTemplate(definition=definition, version=1, published_at=NOW, published_by="dev-adapter")
    event = EventEnvelope.new(
        tenant_id="demo", type="template.published", actor=ACTOR, correlation_id=new_id(), data={"template_key": key}
    )
    return template, event


def claim(scope: str, answer: str, *, expires_in: timedelta = timedelta(hours=24)) -> Claim:
    return Claim(scope=scope, request_hash="hash-" + scope, expires_at=datetime.now(UTC) + expires_in, answer=answer)


def outbox_item(repo: Repo, event: EventEnvelope) -> dict[str, Any] | None:
    return repo.item(f"OUTBOX#{event.event_id}", "OUTBOX")


# the outbox: the table's stream of items that carry an event


def test_a_case_is_written_with_its_event_in_one_item(repo: Repo) -> None:
    case = make_case()
    event = opened(case)
    repo.repository.create_case(case, event, None)

    stored = repo.item(f"CASE#{case.id}", "CASE")
    assert stored is not None
    assert CaseSnapshot.model_validate_json(stored["doc"]["S"]) == case
    assert stored["gsi3pk"] == {"S": "CASES"}
    assert repo.repository.get_case(case.id) == case
    assert stored["source"] == {"S": "cases"}
    assert EventEnvelope.model_validate_json(stored["event"]["S"]) == event
    assert "case" not in stored, "the case's own item holds the state as its doc, not twice"
    assert outbox_item(repo, event) is None, "no second item"


def test_an_event_that_changes_no_case_has_an_outbox_item_that_expires(repo: Repo) -> None:
    case = make_case()
    repo.repository.create_case(case, opened(case), None)
    timer = opened(case).model_copy(update={"event_id": new_id(), "type": "timer.due"})
    repo.repository.record_event(timer, case)

    outbox = outbox_item(repo, timer)
    assert outbox is not None
    assert outbox["source"] == {"S": "cases"}
    assert EventEnvelope.model_validate_json(outbox["event"]["S"]) == timer
    assert CaseSnapshot.model_validate_json(outbox["case"]["S"]) == case
    week = 7 * 24 * 3600
    assert abs(int(outbox["expires_at"]["N"]) - (time.time() + week)) < 60, "the outbox item expires after a week"


def test_a_template_and_its_outbox_event_are_written_together(repo: Repo) -> None:
    template, event = make_template()
    repo.repository.publish_template(template, event, None)
    assert repo.repository.latest_template("claims") == template
    assert repo.item("TEMPLATE#claims", "V#000001") is not None
    outbox = outbox_item(repo, event)
    assert outbox is not None
    assert json.loads(outbox["event"]["S"])["type"] == "template.published"


def test_a_failed_condition_writes_neither_the_change_nor_its_event(repo: Repo) -> None:
    case = make_case(title="First")
    repo.repository.create_case(case, opened(case), None)
    clash = case.model_copy(update={"title": "Second"})
    clash_event = opened(clash)

    with pytest.raises(RuntimeError, match="collided"):
        repo.repository.create_case(clash, clash_event, None)

    assert present(repo.repository.get_case(case.id)).title == "First"
    assert outbox_item(repo, clash_event) is None


def test_publishing_an_existing_template_raises_and_writes_nothing(repo: Repo) -> None:
    first, first_event = make_template(name="Claims")
    repo.repository.publish_template(first, first_event, None)
    again, again_event = make_template(name="Claims, again")

    with pytest.raises(ports.TemplateExistsError):
        repo.repository.publish_template(again, again_event, None)

    assert repo.repository.latest_template("claims") == first
    assert outbox_item(repo, again_event) is None


def test_an_idempotency_claim_is_written_with_the_case(repo: Repo) -> None:
    case = make_case()
    repo.repository.create_case(case, opened(case), claim("open_case#dev-adapter#k1", case.model_dump_json()))
    earlier = repo.repository.idempotency_claim("open_case#dev-adapter#k1")
    assert earlier is not None
    assert earlier.answer == case.model_dump_json()
    assert earlier.request_hash == "hash-open_case#dev-adapter#k1"


def test_a_case_and_the_claim_on_a_key_are_one_read_and_the_key_is_not_stored(repo: Repo) -> None:
    case = make_case()
    repo.repository.create_case(case, opened(case), claim("open_case#dev-adapter#secret-key", case.id))
    with recording(repo.client) as calls:
        found, earlier = repo.repository.case_and_claim(case.id, "open_case#dev-adapter#secret-key")
        missing, none = repo.repository.case_and_claim(new_id(), "open_case#dev-adapter#other-key")
    assert (found, earlier.answer if earlier else None) == (case, case.id)
    assert (missing, none) == (None, None)
    assert calls.operations == ["BatchGetItem", "BatchGetItem"]
    stored = repo.client.get_item(TableName=repo.table, Key=claim_key("open_case#dev-adapter#secret-key"))["Item"]
    assert "secret-key" not in stored["pk"]["S"], "only a hash of the scope is kept"


def test_a_used_idempotency_claim_raises_and_writes_nothing(repo: Repo) -> None:
    first = make_case()
    repo.repository.create_case(first, opened(first), claim("open_case#dev-adapter#k2", first.id))
    second = make_case()
    second_event = opened(second)

    with pytest.raises(KeyClaimedError) as taken:
        repo.repository.create_case(second, second_event, claim("open_case#dev-adapter#k2", second.id))

    assert taken.value.earlier.answer == first.id, "the earlier claim comes back with the failed condition"
    assert repo.repository.get_case(second.id) is None
    assert outbox_item(repo, second_event) is None
    assert present(repo.repository.idempotency_claim("open_case#dev-adapter#k2")).answer == first.id


def test_a_used_claim_wins_over_an_existing_template(repo: Repo) -> None:
    template, event = make_template()
    repo.repository.publish_template(template, event, claim("publish_template#dev-adapter#k", "claims"))
    again, again_event = make_template()
    with pytest.raises(KeyClaimedError):
        repo.repository.publish_template(again, again_event, claim("publish_template#dev-adapter#k", "claims"))


def test_an_expired_claim_still_on_disk_does_not_block_its_key(repo: Repo) -> None:
    old = make_case()
    repo.repository.create_case(old, opened(old), claim("open_case#dev-adapter#k3", old.id, expires_in=-timedelta(1)))
    assert repo.repository.idempotency_claim("open_case#dev-adapter#k3") is None, "expired claims are not replayed"

    new = make_case()
    repo.repository.create_case(new, opened(new), claim("open_case#dev-adapter#k3", new.id))
    assert repo.repository.get_case(new.id) == new
    assert present(repo.repository.idempotency_claim("open_case#dev-adapter#k3")).answer == new.id


# reads


def collect(repo: Repo, case_filter: Any, limit: int) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor = None
    while True:
        page = repo.repository.list_cases(case_filter, limit=limit, cursor=cursor)
        pages.append([case.id for case in page.items])
        cursor = page.next_cursor
        if cursor is None:
            return pages
        assert len(pages) < 10, "pagination does not end"


def test_cases_page_newest_first_across_three_pages(repo: Repo) -> None:
    ids = []
    for number in range(7):
        case = make_case(title=f"Case {number}")
        repo.repository.create_case(case, opened(case), None)
        ids.append(case.id)

    pages = collect(repo, ports.CaseFilter(), limit=3)

    assert [len(page) for page in pages] == [3, 3, 1]
    listed = [case_id for page in pages for case_id in page]
    assert listed == sorted(ids, reverse=True), "newest (largest ULID) first, each case once"


def test_an_exact_multiple_of_the_limit_ends_with_an_empty_page_or_none(repo: Repo) -> None:
    for _ in range(6):
        case = make_case()
        repo.repository.create_case(case, opened(case), None)
    pages = collect(repo, ports.CaseFilter(), limit=3)
    assert [len(page) for page in pages] in ([3, 3], [3, 3, 0])


def test_cases_filter_by_stage_and_status(repo: Repo) -> None:
    made: dict[tuple[str, CaseStatus], list[str]] = {}
    for stage, status, count in [
        ("intake", CaseStatus.OPEN, 4),
        ("intake", CaseStatus.CLOSED, 2),
        ("review", CaseStatus.OPEN, 1),
        ("review", CaseStatus.CANCELLED, 1),
    ]:
        for _ in range(count):
            case = make_case(stage=stage, status=status)
            repo.repository.create_case(case, opened(case), None)
            made.setdefault((stage, status), []).append(case.id)

    def listed(limit: int = 100, **criteria: Any) -> list[str]:
        case_filter = ports.CaseFilter(**criteria)
        return [case_id for page in collect(repo, case_filter, limit) for case_id in page]

    def expected(**criteria: Any) -> list[str]:
        return sorted(
            (
                case_id
                for (stage, status), case_ids in made.items()
                if criteria.get("stage", stage) == stage and criteria.get("status", status) == status
                for case_id in case_ids
            ),
            reverse=True,
        )

    every_criteria: list[dict[str, Any]] = [
        {"stage": "intake", "status": CaseStatus.OPEN},
        {"stage": "intake", "status": CaseStatus.CLOSED},
        {"stage": "review", "status": CaseStatus.OPEN},
        {"stage": "review", "status": CaseStatus.CLOSED},
        {"stage": "intake"},
        {"status": CaseStatus.OPEN},
        {"status": CaseStatus.CANCELLED},
        {},
    ]
    for criteria in every_criteria:
        assert sorted(listed(**criteria), reverse=True) == expected(**criteria), criteria
    # stage + status: a Query on the stage index narrowed by status, so a page may hold fewer than the limit,
    # but the cursor walks every match once, newest first
    intake_open = collect(repo, ports.CaseFilter(stage="intake", status=CaseStatus.OPEN), limit=3)
    assert all(len(page) <= 3 for page in intake_open)
    assert [case_id for page in intake_open for case_id in page] == expected(stage="intake", status=CaseStatus.OPEN)


def test_a_cursor_only_continues_the_query_it_came_from(repo: Repo) -> None:
    for stage in ("intake", "intake", "review"):
        case = make_case(stage=stage)
        repo.repository.create_case(case, opened(case), None)
    everything = repo.repository.list_cases(ports.CaseFilter(), limit=1, cursor=None)
    intake = repo.repository.list_cases(ports.CaseFilter(stage="intake"), limit=1, cursor=None)
    assert everything.next_cursor
    assert intake.next_cursor

    for case_filter, cursor in [
        (ports.CaseFilter(stage="intake"), everything.next_cursor),
        (ports.CaseFilter(stage="review"), intake.next_cursor),
        (ports.CaseFilter(status=CaseStatus.OPEN), intake.next_cursor),
    ]:
        with pytest.raises(InvalidCursorError):
            repo.repository.list_cases(case_filter, limit=1, cursor=cursor)
    with pytest.raises(InvalidCursorError):
        repo.repository.list_templates(limit=1, cursor=everything.next_cursor)


def test_templates_page(repo: Repo) -> None:
    for key in ("alpha", "bravo", "charlie"):
        template, event = make_template(key=key, name=key.title())
        repo.repository.publish_template(template, event, None)
    first = repo.repository.list_templates(limit=2, cursor=None)
    second = repo.repository.list_templates(limit=2, cursor=first.next_cursor)
    assert [summary.key for summary in first.items] == ["alpha", "bravo"]
    assert [summary.key for summary in second.items] == ["charlie"]
    assert second.next_cursor is None
    assert second.items[0].name == "Charlie"
    assert second.items[0].latest_version == 1


def test_missing_things_read_as_none(repo: Repo) -> None:
    assert repo.repository.get_case(new_id()) is None
    assert repo.repository.latest_template("nothing") is None
    assert repo.repository.idempotency_claim("open_case#nobody#nothing") is None
    assert repo.repository.list_cases(ports.CaseFilter(), limit=5, cursor=None).items == []
