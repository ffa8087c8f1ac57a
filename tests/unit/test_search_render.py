"""Rendering a case into search documents, one per access class, each with only what its class may see; field
values as words; erasure; highlights cut around their match; the search use case's refusals, defaults and cursors;
and the embedded engine waiting for another process's writer."""

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from caseline_common.access import case_readers
from caseline_common.contracts import CaseSnapshot, FieldDefinition, TemplateDefinition
from caseline_common.errors import ForbiddenError, InvalidCursorError
from caseline_common.tenant import Principal, StaffRole, TenantContext
from service_modules import loaded_module

if TYPE_CHECKING:
    from services.search.chalicelib import service
    from services.search.chalicelib.adapters import tantivy_engine
    from services.search.chalicelib.domain import search as domain
else:
    service = loaded_module("search", "chalicelib.service")
    tantivy_engine = loaded_module("search", "chalicelib.adapters.tantivy_engine")
    domain = loaded_module("search", "chalicelib.domain.search")

T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
TEMPLATE = TemplateDefinition.model_validate(
    {
        "key": "claim",
        "name": "Claim",
        "fields": [
            {"key": "policy", "label": "Policy", "type": "text"},
            {"key": "client", "label": "Client", "type": "party"},
            {"key": "secret", "label": "Secret", "type": "text"},
        ],
        "stages": [{"key": "intake", "name": "Intake"}],
        "document_types": [
            {"key": "receipt", "name": "Receipt", "content_types": ["application/pdf"], "max_size_bytes": 9}
        ],
        "roles": [
            {
                "key": "handler",
                "name": "Handler",
                "permissions": ["case.view", "document.view"],
                "fields": {"*": "edit"},
                "groups": ["claims"],
            },
            {
                "key": "auditor",
                "name": "Auditor",
                "permissions": ["case.view"],
                "fields": {"policy": "view", "client": "view"},
                "groups": ["auditors"],
            },
            {
                "key": "reviewer",
                "name": "Reviewer",
                "permissions": ["case.view"],
                "fields": {"client": "view", "policy": "edit"},
            },
            {"key": "clerk", "name": "Clerk", "permissions": ["task.complete"], "groups": ["back-office"]},
            {"key": "client", "name": "Client", "kind": "external", "permissions": ["case.view"]},
        ],
    }
)


def participant(participant_id: str, role: str, **more: Any) -> dict[str, Any]:
    kind = "external" if role == "client" else "internal"
    return {"id": participant_id, "kind": kind, "role": role, "added_at": T0, "added_by": "ana", **more}


def snapshot(**changes: Any) -> CaseSnapshot:
    receipt = {
        "version": 1,
        "upload_id": "u1",
        "object_key": "k",
        "filename": "scan-of-bill.pdf",
        "content_type": "application/pdf",
        "size": 9,
        "sha256": "0" * 64,
        "uploaded_by": "p-client",
        "uploaded_at": T0,
    }
    case = {
        "id": "01J00000000000000000ABCD1234",
        "tenant_id": "acme",
        "template_key": "claim",
        "template_version": 1,
        "title": "Water in the cellar",
        "owner": "ana",
        "stage": "intake",
        "stage_entered_at": T0,
        "status": "open",
        "fields": {
            "policy": "P-1",
            "client": {"name": "Ines Ortega", "email": "ines@example.org"},
            "secret": "hush",
        },
        "participants": [
            participant("p-client", "client", name="Ines Ortega", email="ines@example.org"),
            participant("p-rev", "reviewer", user_id="rita"),
        ],
        "documents": [{"type": "receipt", "versions": [receipt]}],
        "created_at": T0,
        "created_by": "ana",
        "updated_at": T0,
        "version": 3,
    }
    return CaseSnapshot.model_validate({**case, **changes})


def words(document: "domain.SearchDocument") -> set[str]:
    return {text.text for text in document.texts}


def test_a_case_has_the_full_class_and_one_class_per_distinct_view_of_its_other_roles() -> None:
    full, partial = domain.render(snapshot(), TEMPLATE)
    assert full.access_class == domain.FULL_CLASS
    assert full.readers == {"admin", "viewer", "group:claims"}  # the handler sees everything
    assert partial.readers == {"group:auditors", "user:rita"}  # auditor and reviewer see the same
    assert "hush" in words(full)
    assert "hush" not in words(partial)
    assert "scan-of-bill.pdf" in words(full)
    assert "scan-of-bill.pdf" not in words(partial)  # no document.view
    assert {"P-1", "Ines Ortega", "ines@example.org"} <= words(partial)
    assert full.readers | partial.readers == case_readers(TEMPLATE, snapshot().participants)
    assert {(full.doc_id, partial.doc_id)} == {(f"{snapshot().id}:full", f"{snapshot().id}:{partial.access_class}")}


def test_a_class_nobody_holds_is_not_rendered() -> None:
    [full] = domain.render(snapshot(participants=[]), TEMPLATE.model_copy(update={"roles": TEMPLATE.roles[2:]}))
    assert full.readers == {"admin", "viewer"}


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ({"type": "number"}, 1250.0, ["1250"]),
        ({"type": "number"}, 0.5, ["0.5"]),
        ({"type": "money"}, {"amount": "99.90", "currency": "EUR"}, ["99.90 EUR"]),
        ({"type": "enum", "options": ["Water damage"]}, "Water damage", ["Water damage"]),
        ({"type": "multi_enum", "options": ["a", "b"]}, ["a", "b"], ["a", "b"]),
        ({"type": "party"}, {"kind": "organisation", "name": "Acme"}, ["Acme"]),
        ({"type": "date"}, "2027-03-01", ["2027-03-01"]),
        ({"type": "boolean"}, True, []),
        ({"type": "file"}, "01J00000000000000000000000", []),
    ],
)
def test_field_values_as_words(field: dict[str, Any], value: Any, said: list[str]) -> None:
    definition = FieldDefinition.model_validate({"key": "f", "label": "F", **field})
    assert domain.field_texts(definition, value) == said


def test_an_erased_person_is_left_out_of_every_document() -> None:
    comments = [
        domain.SearchComment("c1", "from the client", True, "p-client", T0),
        domain.SearchComment("c2", "from the team", False, "ana", T0),
    ]
    for document in domain.render(snapshot(), TEMPLATE, comments, erased=["p-client"]):
        said = " ".join(words(document))
        for gone in ("Ortega", "ines@example.org", "from the client", "scan-of-bill"):
            assert gone not in said, gone
        assert "from the team" in said


def test_a_highlight_is_cut_around_its_first_match() -> None:
    text = domain.Text(domain.Where.COMMENT, "Comment", "a" * 300 + " needle " + "b" * 300)
    shown = domain.highlight(text, [(301, 307)], width=40)
    assert shown is not None
    assert [part.text for part in shown.parts if part.match] == ["needle"]
    assert shown.parts[0].text == "…"
    assert shown.parts[-1].text == "…"
    assert sum(len(part.text) for part in shown.parts) == 42
    assert domain.highlight(text, []) is None


class RecordingEngine:
    def __init__(self) -> None:
        self.queries: list[domain.SearchQuery] = []

    def search(self, query: "domain.SearchQuery") -> "domain.SearchResults":
        self.queries.append(query)
        hit = domain.SearchHit("c", "t", "k", 1, "s", "open", "o", T0, T0, None, None)
        return domain.SearchResults(hits=[hit] * query.limit, facets={}, total=5000)


def context(principal: Principal) -> TenantContext:
    return TenantContext(tenant_id="acme", principal=principal, correlation_id="c")


STAFF = context(Principal(subject="ana", groups=frozenset({StaffRole.STAFF.value, "claims"})))


def test_the_search_filters_on_the_callers_terms_and_refuses_externals() -> None:
    engine = RecordingEngine()
    searching = service.SearchService(engine)  # type: ignore[arg-type]
    searching.search(STAFF, service.SearchRequest(q="  water "))
    query = engine.queries[-1]
    assert query.readers == {"user:ana", "group:claims", "group:caseline-staff"}
    assert (query.text, query.sort) == ("water", domain.Sort.RELEVANCE)
    searching.search(STAFF, service.SearchRequest(sort=domain.Sort.RELEVANCE))
    assert engine.queries[-1].sort is domain.Sort.UPDATED  # relevance needs words
    with pytest.raises(ForbiddenError):
        searching.search(context(Principal(subject="p-client", external=True)), service.SearchRequest(q="water"))


def test_cursors_page_to_the_depth_limit_and_belong_to_their_search() -> None:
    engine = RecordingEngine()
    searching = service.SearchService(engine)  # type: ignore[arg-type]
    request = service.SearchRequest(q="water", limit=100)
    offsets = []
    cursor = None
    while True:
        page = searching.search(STAFF, service.SearchRequest(q="water", limit=100, cursor=cursor))
        offsets.append(engine.queries[-1].offset)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert offsets == list(range(0, service.MAX_DEPTH, 100))
    first = searching.search(STAFF, request).next_cursor
    assert first is not None
    for other in (service.SearchRequest(q="fire", cursor=first), service.SearchRequest(q="water", cursor="garbage")):
        with pytest.raises(InvalidCursorError):
            searching.search(STAFF, other)


def test_the_embedded_engine_waits_for_another_processs_writer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = tantivy_engine.TantivyEngine(tmp_path)
    other_process = tantivy_engine.TantivyEngine(tmp_path)._index.writer(15_000_000, 1)  # holds the lock
    waited: list[float] = []

    def pause(seconds: float) -> None:  # the other writer finishes while ours waits
        waited.append(seconds)
        other_process.wait_merging_threads()

    monkeypatch.setattr("time.sleep", pause)
    engine.replace_case(snapshot().id, domain.render(snapshot(), TEMPLATE))
    assert len(waited) == 1
    admin = domain.SearchQuery(text="cellar", readers=frozenset({"admin"}))
    assert [hit.case_id for hit in engine.search(admin).hits] == [snapshot().id]
