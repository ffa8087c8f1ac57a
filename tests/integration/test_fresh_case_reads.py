"""Reads that other services answer from their own read models, which the bus feeds a moment after a case is
opened: from the moment the create returned they never answer 404 for the case (they wait for it, or answer 503
with Retry-After), an id nobody minted lately is unknown at once, and the access record the automations service
keeps tolerates events in any order."""

import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from caseline_common.contracts import Participant, ParticipantKind
from caseline_common.resources import AUTOMATIONS_TABLE
from ulid import ULID

from caseline.local.stack import LocalStack

from .support import header

TEAM = {
    "key": "team",
    "name": "Team",
    "permissions": ["case.view", "participant.manage", "comment.internal"],
    "fields": {"*": "edit"},
    "groups": ["caseline-staff"],
}
CLIENT = {"key": "client", "name": "Client", "kind": "external", "permissions": ["case.view"], "fields": {}}


@pytest.fixture(scope="module")
def key(stack: LocalStack) -> str:
    key = f"fresh-{uuid.uuid4().hex[:8]}"
    template = {
        "key": key,
        "name": "Fresh",
        "fields": [{"key": "note", "label": "Note", "type": "text"}],
        "stages": [{"key": "open", "name": "Open"}, {"key": "done", "name": "Done", "next": []}],
        "roles": [TEAM, CLIENT],
    }
    status, body = stack.request("POST", "/templates", template)
    assert status == 201, body
    return key


def opened(stack: LocalStack, key: str) -> str:
    status, body = stack.request("POST", "/cases", {"template_key": key, "title": "Just opened"})
    assert status == 201, body
    return str(body["id"])


def until_answered(stack: LocalStack, method: str, path: str, body: Any = None) -> tuple[int, Any, list[int]]:
    """Asks until the answer is not 503 (each 503 must say when to retry); returns it and every status seen."""
    seen: list[int] = []
    deadline = time.monotonic() + 30
    while True:
        headers = {"Authorization": f"Bearer {stack.staff_token()}", "Content-Type": "application/json"}
        payload = None if body is None else json.dumps(body).encode()
        status, answer_headers, raw = stack.api.handle(method, path, headers, payload)
        seen.append(status)
        if status != 503 or time.monotonic() > deadline:
            return status, json.loads(raw) if raw else None, seen
        assert header(answer_headers, "Retry-After") == "1"


def test_a_case_s_runs_are_listed_from_the_moment_it_is_opened(stack: LocalStack, key: str) -> None:
    case_id = opened(stack, key)
    status, body, seen = until_answered(stack, "GET", f"/automations/runs?case_id={case_id}")
    assert (status, body["items"]) == (200, []), seen
    assert 404 not in seen


def test_a_client_invited_as_soon_as_the_case_is_opened_gets_a_link(stack: LocalStack, key: str) -> None:
    """What an integrator does: open the case, add the client, ask for the client's link, one after the other."""
    case_id = opened(stack, key)
    client = {"kind": "external", "role": "client", "name": "Cleo", "email": "cleo@example.org"}
    status, case = stack.request("POST", f"/cases/{case_id}/participants", client)
    assert status == 200, case
    participant_id = next(p["id"] for p in case["participants"] if p["kind"] == "external")
    status, link, seen = until_answered(
        stack, "POST", f"/cases/{case_id}/portal-links", {"participant_id": participant_id}
    )
    assert status == 201, (seen, link)
    assert link["url"].startswith("http")
    assert not {404, 422} & set(seen), seen


@pytest.mark.parametrize(
    "case_id",
    [str(ULID.from_datetime(datetime(2020, 1, 1, tzinfo=UTC))), "not-a-ulid"],
    ids=["an old ulid", "not a ulid"],
)
def test_an_id_no_case_had_lately_is_unknown_at_once(stack: LocalStack, case_id: str) -> None:
    for method, path in [("GET", f"/automations/runs?case_id={case_id}"), ("GET", f"/cases/{case_id}/portal-links")]:
        started = time.monotonic()
        status, problem = stack.request(method, path)
        assert (status, problem["title"]) == (404, "Not found"), path
        assert time.monotonic() - started < 1, "nothing to wait for"


def test_a_participant_id_the_case_never_had_is_refused_at_once(stack: LocalStack, key: str) -> None:
    case_id = opened(stack, key)
    until_answered(stack, "GET", f"/cases/{case_id}/portal-links")
    old = str(ULID.from_datetime(datetime(2020, 1, 1, tzinfo=UTC)))
    status, problem = stack.request("POST", f"/cases/{case_id}/portal-links", {"participant_id": old})
    assert (status, problem["errors"][0]["pointer"]) == (422, "/participant_id")


def test_the_automations_access_record_keeps_the_newest_case_version(stack: LocalStack) -> None:
    """Events arrive in any order: an older case version never replaces a newer one."""
    automations = stack.api.service("automations")
    store = automations.module("chalicelib.adapters.dynamo_automations").DynamoAutomationsStore(
        stack.aws.dynamodb(), stack.tenant.names.table(AUTOMATIONS_TABLE)
    )
    members = automations.module("chalicelib.domain.members").CaseMembers
    case_id = str(ULID())

    def record(version: int, user: str) -> Any:
        participant = Participant(
            id=f"p-{user}",
            kind=ParticipantKind.INTERNAL,
            role="team",
            user_id=user,
            added_at=datetime.now(UTC),
            added_by=user,
        )
        return members(
            case_id=case_id, template_key="t", template_version=1, version=version, participants=[participant]
        )

    for version, user in [(3, "dev-c"), (2, "dev-b"), (3, "dev-c"), (1, "dev-a")]:
        store.save_members(record(version, user))
    kept = store.members(case_id)
    assert (kept.version, [p.user_id for p in kept.participants]) == (3, ["dev-c"])
    store.save_members(record(4, "dev-d"))
    assert store.members(case_id).participants[0].user_id == "dev-d"
