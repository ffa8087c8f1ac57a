"""Case search on the local stack: a change reaches the index through the bus and the indexer's queue and is found
with `GET /search` (waited for, not timed); bad queries are refused as problems; and `caseline search reindex`
rebuilds the same index from the cases table, twice over with the same result."""

import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from caseline_common.resources import CASES_TABLE, SEARCH_TABLE, TenantResourceNames
from caseline_common.tenant import Principal, StaffRole, TenantContext

from caseline.case_source import CaseSource
from caseline.local.stack import LocalStack
from caseline.search_cli import reindex

from .support import wait_until

if TYPE_CHECKING:
    from services.search.chalicelib import service
    from services.search.chalicelib.adapters import dynamo_sources, tantivy_engine
else:
    from service_modules import loaded_module

    service = loaded_module("search", "chalicelib.service")
    dynamo_sources = loaded_module("search", "chalicelib.adapters.dynamo_sources")
    tantivy_engine = loaded_module("search", "chalicelib.adapters.tantivy_engine")


def searched(stack: LocalStack, **query: Any) -> tuple[int, Any]:
    return stack.request("GET", f"/search?{urlencode(query)}")


def open_case(stack: LocalStack, word: str) -> str:
    key = f"search-{uuid.uuid4().hex[:8]}"
    template = {
        "key": key,
        "name": "Search",
        "fields": [{"key": "city", "label": "City", "type": "text"}],
        "stages": [{"key": "open", "name": "Open"}],
        "roles": [
            {
                "key": "team",
                "name": "Team",
                "permissions": ["case.view", "comment.internal"],
                "fields": {"*": "edit"},
                "groups": ["caseline-staff"],
            }
        ],
    }
    assert stack.request("POST", "/templates", template)[0] == 201
    opened = {"template_key": key, "title": f"{word} claim", "fields": {"city": "Köln"}}
    status, case = stack.request("POST", "/cases", opened)
    assert status == 201
    case_id: str = case["id"]
    assert stack.request("POST", f"/cases/{case_id}/comments", {"body": f"{word}comment noted"})[0] == 201
    return case_id


def test_a_change_is_found_through_the_bus_with_the_documented_answer(stack: LocalStack) -> None:
    word = f"w{uuid.uuid4().hex[:10]}"
    case_id = open_case(stack, word)

    def found() -> Any:
        status, body = searched(stack, q=f"{word}comment koln")
        return body if status == 200 and body["items"] else None

    body = wait_until(found, what="the comment in the index")
    [item] = body["items"]
    assert item["case_id"] == case_id
    assert set(item) == {
        "case_id",
        "title",
        "template_key",
        "template_version",
        "stage",
        "status",
        "owner",
        "created_at",
        "updated_at",
        "stage_due_at",
        "score",
        "highlights",
    }
    assert {highlight["where"] for highlight in item["highlights"]} == {"comment", "field"}
    assert set(body["facets"]) == {"template_key", "stage", "status", "owner"}
    assert (body["total"], body["next_cursor"]) == (1, None)


def test_bad_search_queries_are_problems_not_errors(stack: LocalStack) -> None:
    assert searched(stack, q="x" * 201)[0] == 422
    assert searched(stack, limit=0)[0] == 422
    assert searched(stack, sort="shoe size")[0] == 422
    assert searched(stack, cursor="not-a-cursor")[0] == 400


def test_reindex_rebuilds_the_same_index_from_the_cases_table(stack: LocalStack, tmp_path: Path) -> None:
    word = f"r{uuid.uuid4().hex[:10]}"
    case_id = open_case(stack, word)
    wait_until(lambda: searched(stack, q=word)[1]["items"] or None, what="the case in the live index")
    names = TenantResourceNames(tenant_id=stack.options.tenant_id)
    client = stack.aws.dynamodb()
    source = CaseSource(client, names.table(CASES_TABLE))
    engine = tantivy_engine.TantivyEngine(tmp_path / "rebuilt")
    indexing = service.IndexingService(dynamo_sources.DynamoSearchSources(client, names.table(SEARCH_TABLE)), engine)
    admin = TenantContext(
        tenant_id=stack.options.tenant_id,
        principal=Principal(subject="root", groups=frozenset({StaffRole.ADMIN.value})),
        correlation_id="reindex",
    )
    answers = []
    for _ in range(2):
        advanced: list[int] = []
        indexed = reindex(source, indexing, advanced.append)
        assert indexed == sum(advanced) == source.count()
        page = service.SearchService(engine).search(admin, service.SearchRequest(q=f"{word}comment kol"))
        answers.append(([hit.case_id for hit in page.results.hits], page.results.total))
    assert answers[0] == answers[1] == ([case_id], 1)


def test_erasing_a_person_removes_their_name_from_the_index(stack: LocalStack) -> None:
    word = f"w{uuid.uuid4().hex[:10]}"
    key = f"erase-{uuid.uuid4().hex[:8]}"
    template = {
        "key": key,
        "name": "Erasure",
        "stages": [{"key": "open", "name": "Open"}],
        "roles": [
            {
                "key": "team",
                "name": "Team",
                "permissions": ["case.view", "participant.manage"],
                "groups": ["caseline-staff"],
            },
            {"key": "client", "name": "Client", "kind": "external", "permissions": ["case.view"]},
        ],
    }
    assert stack.request("POST", "/templates", template)[0] == 201
    status, case = stack.request("POST", "/cases", {"template_key": key, "title": "A client's claim"})
    assert status == 201
    client = {"kind": "external", "role": "client", "name": f"Lukas {word}", "email": f"{word}@example.org"}
    status, changed = stack.request("POST", f"/cases/{case['id']}/participants", client)
    assert status == 200, changed
    [added] = [each for each in changed["participants"] if each.get("email") == client["email"]]

    def found(expected: bool) -> Any:
        status, body = searched(stack, q=word)
        return (status == 200 and bool(body["items"]) is expected) or None

    wait_until(lambda: found(True), what="the client's name in the index")
    status, report = stack.request("POST", f"/participants/{added['id']}/erase")
    assert status == 200, report
    assert case["id"] in report["cases"]
    wait_until(lambda: found(False), what="the client's name gone from the index")
    assert searched(stack, q="client's claim")[1]["items"][0]["case_id"] == case["id"]
