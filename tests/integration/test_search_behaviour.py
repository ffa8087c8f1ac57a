"""Case search, end to end through the indexer and the search use case, on the embedded engine (tantivy in a
temporary directory) with the search table in moto: what is found, by whom, with which highlights, facets, sorts
and pages, and that erasing a person takes their data out of the index."""

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from caseline_common.aws import AwsClients
from caseline_common.consumer import StatefulEvent
from caseline_common.contracts import CaseSnapshot, TemplateDefinition
from caseline_common.envelope import Actor, ActorKind, EventEnvelope
from caseline_common.errors import ForbiddenError, InvalidCursorError
from caseline_common.events import EventType
from caseline_common.resources import SEARCH_TABLE, TenantResourceNames
from caseline_common.tenant import Principal, StaffRole, TenantContext
from moto import mock_aws
from service_modules import loaded_module

from caseline.local.provision import _create_table

if TYPE_CHECKING:
    from services.search.chalicelib import service
    from services.search.chalicelib.adapters import dynamo_sources, tantivy_engine
    from services.search.chalicelib.domain import search as domain
else:
    service = loaded_module("search", "chalicelib.service")
    dynamo_sources = loaded_module("search", "chalicelib.adapters.dynamo_sources")
    tantivy_engine = loaded_module("search", "chalicelib.adapters.tantivy_engine")
    domain = loaded_module("search", "chalicelib.domain.search")

TENANT = "acme"
T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
TEMPLATE = TemplateDefinition.model_validate(
    {
        "key": "claim",
        "name": "Claim",
        "fields": [
            {"key": "policy", "label": "Policy number", "type": "text"},
            {"key": "city", "label": "City", "type": "text"},
            {"key": "amount", "label": "Amount", "type": "money"},
            {"key": "client", "label": "Client", "type": "party"},
            {"key": "kind", "label": "Kind", "type": "enum", "options": ["Water damage", "Fire"]},
            {"key": "fraud_note", "label": "Fraud note", "type": "long_text"},
        ],
        "stages": [{"key": "intake", "name": "Intake"}, {"key": "review", "name": "Review"}],
        "document_types": [
            {"key": "receipt", "name": "Receipt", "content_types": ["application/pdf"], "max_size_bytes": 1000}
        ],
        "decisions": [{"key": "payout", "label": "Payout", "options": ["pay", "refuse"], "decider_roles": ["handler"]}],
        "roles": [
            {
                "key": "handler",
                "name": "Handler",
                "permissions": ["case.view", "document.view"],
                "fields": {"*": "edit"},
                "groups": ["claims-team"],
            },
            {
                "key": "clerk",
                "name": "Clerk",
                "permissions": ["case.view"],
                "fields": {"*": "view", "fraud_note": "edit"},
                "groups": ["back-office"],
            },
            {
                "key": "auditor",
                "name": "Auditor",
                "permissions": ["case.view"],
                "fields": {"policy": "view", "city": "view"},
                "groups": ["auditors"],
            },
            {"key": "client", "name": "Client", "kind": "external", "permissions": ["case.view"]},
        ],
    }
)
OTHER_TEMPLATE = TEMPLATE.model_copy(
    update={
        "key": "complaint",
        "roles": [
            TEMPLATE.roles[0].model_copy(update={"groups": ["complaints-team"]}),
        ],
    }
)


def caller(*groups: str, subject: str = "ana") -> TenantContext:
    principal = Principal(subject=subject, groups=frozenset(groups))
    return TenantContext(tenant_id=TENANT, principal=principal, correlation_id="corr")


ADMIN = caller(StaffRole.ADMIN.value, subject="root")
HANDLER = caller(StaffRole.STAFF.value, "claims-team")
AUDITOR = caller(StaffRole.STAFF.value, "auditors", subject="aud")
COMPLAINTS = caller(StaffRole.STAFF.value, "complaints-team", subject="cora")


def make_case(number: int, *, template: TemplateDefinition = TEMPLATE, **changes: Any) -> CaseSnapshot:
    case: dict[str, Any] = {
        "id": f"01J{number:023d}",
        "tenant_id": TENANT,
        "template_key": template.key,
        "template_version": 1,
        "title": f"Claim {number}",
        "owner": "ana",
        "stage": "intake",
        "stage_entered_at": T0,
        "status": "open",
        "fields": {},
        "participants": [],
        "created_at": T0 + timedelta(hours=number),
        "created_by": "ana",
        "updated_at": T0 + timedelta(hours=number),
        "version": 1,
    }
    return CaseSnapshot.model_validate({**case, **changes})


def client_participant(participant_id: str, name: str, email: str) -> dict[str, Any]:
    return {
        "id": participant_id,
        "kind": "external",
        "role": "client",
        "name": name,
        "email": email,
        "added_at": T0,
        "added_by": "ana",
    }


def event(kind: str, case: CaseSnapshot | None, data: dict[str, Any], *, actor: str = "ana", **more: Any) -> Any:
    envelope = EventEnvelope.new(
        tenant_id=TENANT,
        case_id=case.id if case is not None else more.pop("case_id", None),
        type=kind,
        actor=Actor(kind=ActorKind.USER, id=actor),
        correlation_id="corr",
        data=data,
        occurred_at=T0,
    )
    return StatefulEvent.model_validate({**envelope.model_dump(), "case": case})


def published(template: TemplateDefinition) -> Any:
    data = {"template_key": template.key, "version": 1, "name": template.name, "definition": template.model_dump()}
    return event(EventType.TEMPLATE_PUBLISHED, None, data)


def changed(case: CaseSnapshot) -> Any:
    return event(EventType.CASE_FIELDS_CHANGED, case, {"version": case.version, "changes": {}})


@dataclass
class Search:
    indexer: "service.IndexingService"
    searcher: "service.SearchService"
    engine: "tantivy_engine.TantivyEngine"

    def ids(self, who: TenantContext, q: str = "", **options: Any) -> list[str]:
        return [hit.case_id for hit in self.page(who, q, **options).results.hits]

    def page(self, who: TenantContext, q: str = "", **options: Any) -> "service.SearchPage":
        return self.searcher.search(who, service.SearchRequest(q=q, **options))


@pytest.fixture
def search(tmp_path: Path) -> Iterator[Search]:
    with mock_aws():
        aws = AwsClients("eu-west-1")
        names = TenantResourceNames(tenant_id=TENANT)
        _create_table(aws, names, SEARCH_TABLE)
        sources = dynamo_sources.DynamoSearchSources(aws.dynamodb(), names.table(SEARCH_TABLE))
        engine = tantivy_engine.TantivyEngine(tmp_path / "index")
        indexer = service.IndexingService(sources, engine)
        indexer.index(published(TEMPLATE))
        indexer.index(published(OTHER_TEMPLATE))
        yield Search(indexer, service.SearchService(engine), engine)


def rich_case() -> CaseSnapshot:
    receipt = {
        "version": 1,
        "upload_id": "u1",
        "object_key": "k",
        "filename": "quittung-zahnarzt.pdf",
        "content_type": "application/pdf",
        "size": 10,
        "sha256": "0" * 64,
        "uploaded_by": "p-client",
        "uploaded_at": T0,
    }
    return make_case(
        1,
        title="Burst pipe at the bakery",
        fields={
            "policy": "POL-778812",
            "city": "Köln",
            "amount": {"amount": "1250.50", "currency": "EUR"},
            "client": {"kind": "person", "name": "Dorothea Quist", "email": "dq@example.org"},
            "kind": "Water damage",
            "fraud_note": "suspicious zeppelin receipts",
        },
        participants=[client_participant("p-client", "Dorothea Quist", "dq@example.org")],
        documents=[{"type": "receipt", "versions": [receipt]}],
        decisions=[
            {
                "id": "d1",
                "key": "payout",
                "outcome": "pay",
                "rationale": "plumber confirmed corrosion",
                "decided_by": "ana",
                "decided_at": T0,
                "template_version": 1,
            }
        ],
    )


def test_a_word_of_a_field_a_party_a_comment_a_file_name_and_a_decision_are_each_found(search: Search) -> None:
    case = rich_case()
    search.indexer.index(changed(case))
    comment = {"comment_id": "c1", "external": False, "body": "Called the loss adjuster Xanthippe"}
    search.indexer.index(event(EventType.COMMENT_ADDED, case, comment))
    for words in ("POL-778812", "778812", "Quist", "dq@example.org", "xanthippe", "zahnarzt", "corrosion", "1250.50"):
        assert search.ids(HANDLER, words) == [case.id], words
    assert search.ids(HANDLER, "water damage") == [case.id]  # the chosen option's label
    assert search.ids(HANDLER, "nothing-like-this") == []


def test_accents_and_case_do_not_matter_and_the_last_word_may_be_unfinished(search: Search) -> None:
    case = rich_case()
    search.indexer.index(changed(case))
    assert search.ids(HANDLER, "koln") == [case.id]
    assert search.ids(HANDLER, "KÖLN") == [case.id]
    assert search.ids(HANDLER, "burst pi") == [case.id]
    assert search.ids(HANDLER, "bak") == [case.id]
    assert search.ids(HANDLER, "ba burst") == []  # only the last word is a prefix


def test_the_highlight_says_where_and_marks_the_match(search: Search) -> None:
    search.indexer.index(changed(rich_case()))
    [hit] = search.page(HANDLER, "koln").results.hits
    [where] = hit.highlights
    assert (where.where, where.label) == (domain.Where.FIELD, "City")
    assert [(part.text, part.match) for part in where.parts] == [("Köln", True)]
    [hit] = search.page(HANDLER, "bakery pip").results.hits
    title = hit.highlights[0]
    assert [part.text for part in title.parts if part.match] == ["pipe", "bakery"]
    [hit] = search.page(HANDLER, "quist").results.hits
    assert {(each.where, each.label) for each in hit.highlights} == {
        (domain.Where.PARTICIPANT, "Client"),
        (domain.Where.FIELD, "Client"),
    }


def test_a_caller_who_may_not_view_the_case_never_finds_it(search: Search) -> None:
    case = rich_case()
    search.indexer.index(changed(case))
    assert search.ids(COMPLAINTS, "bakery") == []
    assert search.ids(COMPLAINTS) == []
    assert search.page(COMPLAINTS, "bakery").results.total == 0
    assert search.ids(ADMIN, "bakery") == [case.id]
    with pytest.raises(ForbiddenError):
        search.page(caller(subject="p-client").model_copy(update={"principal": Principal(subject="p", external=True)}))


def test_a_role_that_may_not_see_a_field_does_not_match_its_value_nor_see_it(search: Search) -> None:
    case = rich_case()
    search.indexer.index(changed(case))
    assert search.ids(HANDLER, "zeppelin") == [case.id]
    assert search.ids(AUDITOR, "zeppelin") == []  # the fraud note is hidden from auditors
    assert search.ids(AUDITOR, "quist") == [case.id]  # as a participant, not as the hidden party field
    assert search.ids(AUDITOR, "zahnarzt") == []  # no document.view
    [hit] = search.page(AUDITOR, "koln").results.hits
    shown = " ".join(part.text for highlight in hit.highlights for part in highlight.parts)
    assert "zeppelin" not in shown
    assert "1250" not in shown


def test_erasing_a_person_removes_their_data_from_the_index(search: Search) -> None:
    case = rich_case()
    search.indexer.index(changed(case))
    comment = {"comment_id": "c2", "external": True, "body": "my neighbour Ypsilanti saw it"}
    search.indexer.index(event(EventType.COMMENT_ADDED, case, comment, actor="p-client"))
    assert search.ids(ADMIN, "ypsilanti") == [case.id]
    erased = event(EventType.PERSONAL_DATA_ERASED, None, {"participant_id": "p-client", "entries": 3}, case_id=case.id)
    search.indexer.index(erased)
    for words in ("quist", "dq@example.org", "ypsilanti", "zahnarzt"):
        assert search.ids(ADMIN, words) == [], words
    assert search.ids(ADMIN, "bakery") == [case.id]
    search.indexer.index(changed(case.model_copy(update={"version": 2, "title": "Burst pipe, bakery"})))
    assert search.ids(ADMIN, "quist") == []  # a newer snapshot still names them: still left out


def test_replaying_or_delivering_events_late_changes_nothing(search: Search) -> None:
    first, second = rich_case(), rich_case().model_copy(update={"version": 2, "title": "Flooded bakery"})
    for each in (changed(first), changed(second), changed(first), changed(second)):
        search.indexer.index(each)
    assert search.ids(ADMIN, "flooded") == [first.id]
    assert search.ids(ADMIN, "burst") == []
    assert search.page(ADMIN).results.total == 1


def test_an_event_whose_template_has_not_arrived_is_retried(search: Search) -> None:
    stray = make_case(9, template_version=7)
    with pytest.raises(domain.CaseNotProjectedError):
        search.indexer.index(changed(stray))


def test_facets_count_cases_the_caller_may_view(search: Search) -> None:
    for number in range(1, 4):
        search.indexer.index(changed(make_case(number, stage="review" if number == 3 else "intake")))
    search.indexer.index(changed(make_case(4, template=OTHER_TEMPLATE)))
    facets = search.page(HANDLER, "claim").results.facets
    assert {(each.value, each.count) for each in facets["stage"]} == {("intake", 2), ("review", 1)}
    assert [(each.value, each.count) for each in facets["template_key"]] == [("claim", 3)]
    everything = search.page(ADMIN).results
    assert {(each.value, each.count) for each in everything.facets["template_key"]} == {("claim", 3), ("complaint", 1)}
    assert everything.total == 4
    assert search.ids(HANDLER, filters={"stage": "review"}) == [make_case(3).id]


def test_sorts(search: Search) -> None:
    cases = [
        make_case(1, title="Bravo", stage_due_at=T0 + timedelta(days=3)),
        make_case(2, title="alpha", stage_due_at=None),
        make_case(3, title="Charlie", stage_due_at=T0 + timedelta(days=1)),
    ]
    for case in cases:
        search.indexer.index(changed(case))
    ids = [case.id for case in cases]
    assert search.ids(ADMIN) == [ids[2], ids[1], ids[0]]  # the most recently updated first
    assert search.ids(ADMIN, sort=domain.Sort.CREATED) == [ids[2], ids[1], ids[0]]
    assert search.ids(ADMIN, sort=domain.Sort.TITLE) == [ids[1], ids[0], ids[2]]
    assert search.ids(ADMIN, sort=domain.Sort.DUE) == [ids[2], ids[0], ids[1]]  # no deadline last
    scored = search.page(ADMIN, "charlie").results.hits
    assert [hit.case_id for hit in scored] == [ids[2]]
    assert scored[0].score is not None


def test_pages_follow_each_other_without_gaps_or_repeats(search: Search) -> None:
    for number in range(1, 8):
        search.indexer.index(changed(make_case(number)))
    seen: list[str] = []
    page = search.page(HANDLER, "claim", limit=3, sort=domain.Sort.CREATED)
    while True:
        seen += [hit.case_id for hit in page.results.hits]
        assert page.results.total == 7
        if page.next_cursor is None:
            break
        page = search.page(HANDLER, "claim", limit=3, sort=domain.Sort.CREATED, cursor=page.next_cursor)
    assert seen == [make_case(number).id for number in range(7, 0, -1)]
    with pytest.raises(InvalidCursorError):
        search.page(HANDLER, "other words", limit=3, cursor=search.page(HANDLER, "claim", limit=3).next_cursor)


def test_a_caller_in_two_access_classes_finds_the_case_once(search: Search) -> None:
    case = rich_case()
    search.indexer.index(changed(case))
    both = caller(StaffRole.STAFF.value, "auditors", "back-office", subject="ben")
    assert search.ids(both, "koln") == [case.id]
    assert search.page(both, "koln").results.total == 1
    assert search.ids(both, "zeppelin") == [case.id]  # the clerk's class sees the fraud note


def test_a_case_history_in_any_order_leaves_the_same_index(search: Search) -> None:
    """Each order of the same history, on its own case: the same words find it, the erased ones never."""
    orders = random.Random(20).sample(list(itertools.permutations(range(4))), 8)
    found: list[set[str]] = []
    for number, order in enumerate(orders, start=10):
        first = rich_case().model_copy(update={"id": f"01J{number:023d}"})
        second = first.model_copy(update={"version": 2, "title": "Flooded bakery"})
        history = [
            changed(first),
            event(EventType.COMMENT_ADDED, first, {"comment_id": "c1", "external": True, "body": "Umberto called"}),
            changed(second),
            event(EventType.PERSONAL_DATA_ERASED, None, {"participant_id": "p-client", "entries": 1}, case_id=first.id),
        ]
        for index in order:
            search.indexer.index(history[index])
        words = ("flooded", "burst", "umberto", "quist", "koln", "zahnarzt")
        found.append({word for word in words if first.id in search.ids(ADMIN, word)})
    assert found == [{"flooded", "umberto", "koln"}] * len(orders)
