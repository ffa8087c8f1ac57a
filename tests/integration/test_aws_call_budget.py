"""Each request makes the AWS calls it needs and no more; nothing ever scans a table."""

import json
from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest

from caseline.local.stack import LocalStack

from .support import CallRecorder, recording, run_scheduled, timeline, wait_until

CASE = {
    "template_key": "employee-onboarding",
    "title": "Budget: Priya Natarajan, Sales",
    "fields": {
        "employee": {"name": "Priya Natarajan"},
        "start_date": "2027-02-01",
        "department": "sales",
    },
}


def _dynamodb_of(stack: LocalStack, service: str) -> Any:
    """The DynamoDB client of the copy of `service` that serves HTTP."""
    return stack.api.service(service).module("chalicelib.runtime").runtime.aws.dynamodb()


def _every_dynamodb_client(stack: LocalStack) -> list[Any]:
    clients = [stack.aws.dynamodb(), stack.aws.dynamodb_streams()]
    clients += [_dynamodb_of(stack, name) for name in ("cases", "timeline")]
    for loaded in stack.functions.values():
        runtime = loaded.module("chalicelib.runtime")
        clients.append(runtime.runtime.aws.dynamodb())
        if hasattr(runtime, "timeline_service"):  # the client the consumer really writes with
            clients.append(runtime.timeline_service()._repository._client)
    unique: dict[int, Any] = {id(client): client for client in clients}
    return list(unique.values())


@pytest.fixture(scope="module")
def stack_wide_calls(stack: LocalStack) -> Iterator[CallRecorder]:
    """Every DynamoDB call anything in the stack makes while this module runs."""
    # Let the pumps finish the seeded events first: the consumers build their clients on first use, in
    # their own threads, and a client asked for concurrently from here could be a second one.
    for case_id in stack.seeded_case_ids:
        wait_until(partial(timeline, stack, case_id), what=f"the timeline of {case_id}")
    clients = _every_dynamodb_client(stack)
    recorder = CallRecorder()
    recorder.register(*clients)
    yield recorder
    recorder.unregister(*clients)
    assert "Scan" not in recorder.operations


@pytest.fixture
def cases_calls(stack: LocalStack, stack_wide_calls: CallRecorder) -> Iterator[CallRecorder]:
    with recording(_dynamodb_of(stack, "cases")) as recorder:
        yield recorder


@pytest.fixture
def timeline_calls(stack: LocalStack, stack_wide_calls: CallRecorder) -> Iterator[CallRecorder]:
    with recording(_dynamodb_of(stack, "timeline")) as recorder:
        yield recorder


def test_opening_a_case_reads_the_template_and_writes_once(stack: LocalStack, cases_calls: CallRecorder) -> None:
    status, body = stack.request("POST", "/cases", CASE)
    assert status == 201, body
    assert cases_calls.operations == ["GetItem", "TransactWriteItems"]


def test_opening_a_case_with_an_idempotency_key_costs_no_extra_call(
    stack: LocalStack, cases_calls: CallRecorder
) -> None:
    headers = {
        "Authorization": f"Bearer {stack.staff_token()}",
        "Content-Type": "application/json",
        "Idempotency-Key": "budget-key-1",
    }
    status, _headers, raw = stack.api.handle("POST", "/cases", headers, json.dumps(CASE).encode())
    assert status == 201, raw
    assert cases_calls.operations == ["BatchGetItem", "TransactWriteItems"], "the template and the claim: one read"

    cases_calls.operations.clear()
    status, replay_headers, _raw = stack.api.handle("POST", "/cases", headers, json.dumps(CASE).encode())
    assert status == 201
    assert replay_headers.get("Idempotent-Replayed") == "true"
    # the claim holds the first answer
    assert cases_calls.operations == ["BatchGetItem"]


def test_getting_a_case_is_one_get_item(stack: LocalStack, cases_calls: CallRecorder) -> None:
    status, body = stack.request("GET", f"/cases/{stack.seeded_case_ids[0]}")
    assert status == 200, body
    assert cases_calls.operations == ["GetItem"]


def test_an_unknown_case_is_one_get_item(stack: LocalStack, cases_calls: CallRecorder) -> None:
    status, _body = stack.request("GET", "/cases/01ARZ3NDEKTSV4RRFFQ69G5FAV")
    assert status == 404
    assert cases_calls.operations == ["GetItem"]


@pytest.mark.parametrize(
    "query",
    ["", "?status=open", "?stage=offer_signed", "?status=open&stage=offer_signed", "?limit=1"],
)
def test_listing_cases_is_one_query_and_one_batch_read(
    stack: LocalStack, cases_calls: CallRecorder, query: str
) -> None:
    """The index names the cases (its copies hold keys and filter attributes only), one BatchGetItem reads them."""
    status, body = stack.request("GET", f"/cases{query}")
    assert status == 200, body
    assert body["items"], "the seeded cases match every one of these filters"
    assert cases_calls.operations == ["Query", "BatchGetItem"]


def test_the_next_page_of_cases_is_one_query_and_one_batch_read(stack: LocalStack, cases_calls: CallRecorder) -> None:
    status, first = stack.request("GET", "/cases?limit=1")
    assert status == 200
    assert first["next_cursor"]
    cases_calls.operations.clear()
    status, second = stack.request("GET", f"/cases?limit=1&cursor={first['next_cursor']}")
    assert status == 200, second
    assert second["items"][0]["id"] != first["items"][0]["id"]
    assert cases_calls.operations == ["Query", "BatchGetItem"]


def test_listing_templates_is_one_query(stack: LocalStack, cases_calls: CallRecorder) -> None:
    status, body = stack.request("GET", "/templates")
    assert status == 200, body
    assert cases_calls.operations == ["Query"]


def test_a_refused_request_makes_no_aws_call(stack: LocalStack, cases_calls: CallRecorder) -> None:
    status, _headers, _raw = stack.api.handle("GET", "/cases", {}, None)
    assert status == 401
    status, _headers, _raw = stack.api.handle("GET", "/cases?limit=0", {"Authorization": "Bearer x"}, None)
    assert status == 401
    status, _body = stack.request("GET", "/cases?limit=0")
    assert status == 422
    status, _body = stack.request("GET", "/cases?q=onboarding")
    assert status == 400, "words are GET /search's"
    assert cases_calls.operations == []


def test_a_timeline_is_one_query(stack: LocalStack, timeline_calls: CallRecorder) -> None:
    case_id = stack.seeded_case_ids[0]
    wait_until(lambda: timeline(stack, case_id), what="the seeded case's timeline")
    timeline_calls.operations.clear()
    status, body = stack.request("GET", f"/cases/{case_id}/timeline")
    assert status == 200, body
    assert [item["event"]["type"] for item in body["items"]] == ["case.opened"]
    assert [item["seq"] for item in body["items"]] == [1]
    assert timeline_calls.operations == ["GetItem", "Query"], "the head (who may read) and the page"


def test_a_staff_members_timeline_reads_the_template_once_per_container(
    stack: LocalStack, timeline_calls: CallRecorder
) -> None:
    status, case = stack.request("POST", "/cases", {**CASE, "title": "Budget: a staff reader"})
    assert status == 201, case
    wait_until(lambda: timeline(stack, case["id"]), what="the new case's timeline")
    staff = stack.staff_token(admin=False, email="sam.staff@demo.caseline.local")
    for _ in range(2):
        timeline_calls.operations.clear()
        status, body = stack.request("GET", f"/cases/{case['id']}/timeline", token=staff)
        assert status == 200, body
    assert timeline_calls.operations == ["GetItem", "Query"], "the template came from the container's cache"


def test_a_filtered_newest_first_timeline_is_one_query(stack: LocalStack, timeline_calls: CallRecorder) -> None:
    case_id = stack.seeded_case_ids[0]
    wait_until(lambda: timeline(stack, case_id), what="the seeded case's timeline")
    timeline_calls.operations.clear()
    status, body = stack.request("GET", f"/cases/{case_id}/timeline?order=newest&type=case.opened&visibility=external")
    assert status == 200, body
    assert [item["event"]["type"] for item in body["items"]] == ["case.opened"]
    assert timeline_calls.operations == ["GetItem", "Query"]


def test_verifying_a_short_timeline_is_one_query(stack: LocalStack, timeline_calls: CallRecorder) -> None:
    case_id = stack.seeded_case_ids[0]
    wait_until(lambda: timeline(stack, case_id), what="the seeded case's timeline")
    timeline_calls.operations.clear()
    status, body = stack.request("GET", f"/cases/{case_id}/timeline/verify")
    assert status == 200, body
    assert body["valid"] is True, body
    assert timeline_calls.operations == ["GetItem", "Query"], "the head, then the links in one consistent Query"


def test_nothing_in_the_stack_scans(stack: LocalStack, stack_wide_calls: CallRecorder) -> None:
    """Runs last in this module: by now the API, pumps, consumers and the anchoring job have all done work."""
    status, case = stack.request("POST", "/cases", {**CASE, "title": "Budget: no scans"})
    assert status == 201, case
    wait_until(lambda: timeline(stack, case["id"]), what="the timeline consumer's append")
    assert run_scheduled(stack, "anchor_heads")["anchored"] >= 1, "at least the new case's head was unanchored"
    status, _headers, bundle = stack.api.handle(
        "GET",
        f"/cases/{case['id']}/timeline/export",
        {"Authorization": f"Bearer {stack.staff_token()}", "Accept": "application/zip"},
        None,
    )
    assert status == 200, bundle
    assert {"GetItem", "Query", "TransactWriteItems", "UpdateItem"} <= set(stack_wide_calls.operations)
    assert "Scan" not in stack_wide_calls.operations


BUDGET_TEMPLATE = {
    "key": "budget-commands",
    "name": "Budget: commands",
    "fields": [{"key": "note", "label": "Note", "type": "text"}],
    "stages": [
        {"key": "one", "name": "One", "tasks": [{"key": "check", "title": "Check"}]},
        {"key": "two", "name": "Two"},
    ],
    "decisions": [{"key": "go", "label": "Go", "options": ["yes", "no"], "decider_roles": ["team"]}],
}


def test_every_case_command_is_one_read_and_one_write(stack: LocalStack, cases_calls: CallRecorder) -> None:
    """A command reads the case once and writes it with its event in one PutItem, or in one transaction when
    membership items change with it (members, or the status, stage or owner they copy); the pinned template
    version is immutable and comes from the container's cache."""
    status, body = stack.request("POST", "/templates", BUDGET_TEMPLATE)
    assert status == 201, body
    status, case = stack.request("POST", "/cases", {"template_key": "budget-commands", "title": "Budget: commands"})
    assert status == 201, case
    path = f"/cases/{case['id']}"
    task_id = case["tasks"][0]["id"]
    alone, with_members = "PutItem", "TransactWriteItems"
    commands: list[tuple[str, str, Any, str]] = [
        ("PATCH", path, {"fields": {"note": "first"}, "version": 1}, alone),
        ("POST", f"{path}/tasks/{task_id}/complete", None, alone),
        ("POST", f"{path}/participants", {"kind": "internal", "role": "team", "user_id": "dev-budget"}, with_members),
        ("POST", f"{path}/decisions", {"key": "go", "outcome": "yes", "rationale": "Budget"}, alone),
        ("POST", f"{path}/transitions", {"to": "two"}, with_members),
        ("POST", f"{path}/close", {"reason": "Done"}, with_members),
        ("POST", f"{path}/reopen", {"reason": "Again"}, with_members),
    ]
    for method, target, payload, write in commands:
        cases_calls.operations.clear()
        status, body = stack.request(method, target, payload)
        assert status == 200, (target, body)
        assert cases_calls.operations == ["GetItem", write], target
    cases_calls.operations.clear()
    status, body = stack.request("POST", f"{path}/comments", {"body": "Budget"})
    assert status == 201, body
    assert cases_calls.operations == ["GetItem", "PutItem"], "comments: the case for access, then the write"
