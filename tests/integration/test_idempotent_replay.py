"""A request retried with the same Idempotency-Key answers what the first answered (status, body and
`Idempotent-Replayed: true`), whatever happened to the resource since, and acts once; the same key with another
body answers 422. On the in-process local stack, through every service that takes keys."""

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from caseline.local.stack import LocalStack

from .support import CallRecorder, Response, api_call, assert_problem, header, recording, timeline, wait_until

PDF = b"%PDF-1.7 the receipt"


def template(key: str, *, stages: int = 2) -> dict[str, Any]:
    return {
        "key": key,
        "name": "Replayed claim",
        "fields": [{"key": "purpose", "label": "Purpose", "type": "text"}],
        "stages": [
            {"key": "intake", "name": "Intake", "tasks": [{"key": "check", "title": "Check it"}]},
            *([{"key": "settled", "name": "Settled", "next": []}] if stages > 1 else []),
        ],
        "document_types": [
            {
                "key": "receipt",
                "name": "Receipt",
                "content_types": ["application/pdf"],
                "max_size_bytes": 1024,
                "external": True,
                "uploader_roles": ["handler"],
            }
        ],
        "roles": [
            {
                "key": "handler",
                "name": "Handler",
                "permissions": [
                    "case.view",
                    "case.transition",
                    "case.close",
                    "task.complete",
                    "participant.manage",
                    "document.upload",
                    "document.view",
                ],
                "fields": {"*": "edit"},
            },
            {"key": "client", "name": "Client", "kind": "external", "permissions": ["case.view"], "fields": {}},
        ],
    }


def token(stack: LocalStack, name: str | None) -> str:
    """An admin when `name` is None, else a staff member (not an admin) whose subject is dev-<name>."""
    return stack.staff_token() if name is None else stack.staff_token(admin=False, email=f"{name}@demo.caseline.local")


def send(
    stack: LocalStack, method: str, path: str, body: Any = None, *, key: str | None = None, as_: str | None = "alex"
) -> Response:
    headers = {"Idempotency-Key": key} if key is not None else None
    return api_call(stack, method, path, body, token=token(stack, as_), headers=headers)


def ok(response: Response, status: int = 200) -> Any:
    assert response[0] == status, response
    return response[2]


def assert_replayed(first: Response, again: Response) -> None:
    """The same status and body as the first answer, marked as a replay."""
    assert header(first[1], "Idempotent-Replayed") is None
    assert header(again[1], "Idempotent-Replayed") == "true", again
    assert again[0] == first[0], again
    assert again[2] == first[2]
    for name in ("ETag", "Location"):
        assert header(again[1], name) == header(first[1], name), name


def assert_refused_with_another_body(response: Response) -> None:
    status, headers, body = response
    problem = assert_problem((status, headers, json.dumps(body).encode()), 422)
    assert problem["errors"] == [
        {"location": "header", "pointer": "/Idempotency-Key", "detail": "reused with another body"}
    ]


def new_key() -> str:
    return f"retry-{uuid.uuid4()}"


def events_of(stack: LocalStack, case_id: str, event_type: str) -> list[dict[str, Any]]:
    return [item for item in timeline(stack, case_id) if item["event"]["type"] == event_type]


def once_on_the_timeline(stack: LocalStack, case_id: str, event_type: str) -> None:
    wait_until(lambda: events_of(stack, case_id, event_type), what=f"{event_type} on the timeline")
    assert len(events_of(stack, case_id, event_type)) == 1


@pytest.fixture(scope="module")
def key(stack: LocalStack) -> str:
    key = f"replay-{uuid.uuid4().hex[:8]}"
    ok(send(stack, "POST", "/templates", template(key), as_=None), 201)
    return key


@pytest.fixture
def case(stack: LocalStack, key: str) -> dict[str, Any]:
    """A fresh case owned by alex, a handler."""
    opened: dict[str, Any] = ok(send(stack, "POST", "/cases", {"template_key": key, "title": "A claim"}), 201)
    return opened


def current(stack: LocalStack, case_id: str) -> dict[str, Any]:
    found: dict[str, Any] = ok(send(stack, "GET", f"/cases/{case_id}"))
    return found


# case commands


def test_a_completed_task_replays_after_the_case_moved_on(stack: LocalStack, case: dict[str, Any]) -> None:
    path = f"/cases/{case['id']}/tasks/{case['tasks'][0]['id']}/complete"
    idempotency_key = new_key()
    first = send(stack, "POST", path, key=idempotency_key)
    assert ok(first)["version"] == 2
    ok(send(stack, "POST", f"/cases/{case['id']}/transitions", {"to": "settled"}))

    again = send(stack, "POST", path, key=idempotency_key)

    assert_replayed(first, again)
    assert again[2]["stage"] == "intake", "the case as the first answer left it, not as it is now"
    assert current(stack, case["id"])["version"] == 3, "the retry changed nothing"
    once_on_the_timeline(stack, case["id"], "task.completed")


def test_a_transition_replays_and_another_body_under_its_key_is_refused(
    stack: LocalStack, case: dict[str, Any]
) -> None:
    ok(send(stack, "POST", f"/cases/{case['id']}/tasks/{case['tasks'][0]['id']}/complete"))
    path, idempotency_key = f"/cases/{case['id']}/transitions", new_key()
    first = send(stack, "POST", path, {"to": "settled"}, key=idempotency_key)
    assert ok(first)["stage"] == "settled"

    assert_replayed(first, send(stack, "POST", path, {"to": "settled"}, key=idempotency_key))
    assert_refused_with_another_body(
        send(stack, "POST", path, {"to": "settled", "reason": "Again"}, key=idempotency_key)
    )
    assert current(stack, case["id"])["version"] == 3
    once_on_the_timeline(stack, case["id"], "case.stage_changed")


def test_a_refused_command_claims_nothing_so_its_retry_runs_again(stack: LocalStack, case: dict[str, Any]) -> None:
    path, idempotency_key = f"/cases/{case['id']}/transitions", new_key()
    blocked = send(stack, "POST", path, {"to": "settled"}, key=idempotency_key)
    assert blocked[0] == 409, "the task is still open"
    ok(send(stack, "POST", f"/cases/{case['id']}/tasks/{case['tasks'][0]['id']}/complete"))

    moved = send(stack, "POST", path, {"to": "settled"}, key=idempotency_key)

    assert ok(moved)["stage"] == "settled"
    assert header(moved[1], "Idempotent-Replayed") is None


def test_closing_replays_on_the_closed_case(stack: LocalStack, case: dict[str, Any]) -> None:
    ok(send(stack, "POST", f"/cases/{case['id']}/tasks/{case['tasks'][0]['id']}/complete"))
    ok(send(stack, "POST", f"/cases/{case['id']}/transitions", {"to": "settled"}))
    path, idempotency_key = f"/cases/{case['id']}/close", new_key()
    first = send(stack, "POST", path, {"reason": "Paid"}, key=idempotency_key)
    assert ok(first)["status"] == "closed"

    again = send(stack, "POST", path, {"reason": "Paid"}, key=idempotency_key)

    assert_replayed(first, again)
    assert_refused_with_another_body(send(stack, "POST", path, {"reason": "Paid twice"}, key=idempotency_key))
    assert current(stack, case["id"])["version"] == first[2]["version"]
    once_on_the_timeline(stack, case["id"], "case.closed")


def test_an_upload_and_its_confirmation_replay(stack: LocalStack, case: dict[str, Any]) -> None:
    form = {"type": "receipt", "filename": "receipt.pdf", "content_type": "application/pdf", "size": len(PDF)}
    uploads, upload_key = f"/cases/{case['id']}/documents/uploads", new_key()
    started = send(stack, "POST", uploads, form, key=upload_key)
    target = ok(started, 201)
    assert_replayed(started, send(stack, "POST", uploads, form, key=upload_key))
    assert_refused_with_another_body(send(stack, "POST", uploads, {**form, "filename": "other.pdf"}, key=upload_key))
    posted = httpx.post(target["url"], data=target["fields"], files={"file": ("receipt.pdf", PDF, "application/pdf")})
    assert posted.status_code in (200, 201, 204), posted.text

    confirm, confirm_key = f"{uploads}/{target['upload_id']}/confirm", new_key()
    first = send(stack, "POST", confirm, key=confirm_key)
    [document] = ok(first)["documents"]
    ok(send(stack, "POST", f"/cases/{case['id']}/tasks/{case['tasks'][0]['id']}/complete"))

    again = send(stack, "POST", confirm, key=confirm_key)

    assert_replayed(first, again)
    assert [len(each["versions"]) for each in current(stack, case["id"])["documents"]] == [1]
    assert document["versions"][0]["upload_id"] == target["upload_id"]
    once_on_the_timeline(stack, case["id"], "document.added")


def test_a_keyed_command_is_one_read_and_one_write_and_its_replay_one_read(
    stack: LocalStack, case: dict[str, Any]
) -> None:
    """The claim is read with the case, in one BatchGetItem, and holds the first answer."""
    client = stack.api.service("cases").module("chalicelib.runtime").runtime.aws.dynamodb()
    path, idempotency_key = f"/cases/{case['id']}/tasks/{case['tasks'][0]['id']}/complete", new_key()
    calls: CallRecorder
    with recording(client) as calls:
        ok(send(stack, "POST", path, key=idempotency_key))
    assert calls.operations == ["BatchGetItem", "TransactWriteItems"]
    with recording(client) as calls:
        assert header(send(stack, "POST", path, key=idempotency_key)[1], "Idempotent-Replayed") == "true"
    assert calls.operations == ["BatchGetItem"]


# portal links


@pytest.fixture
def client_case(stack: LocalStack, case: dict[str, Any]) -> tuple[str, str]:
    """The case with an external client: (case id, participant id)."""
    client = {"kind": "external", "role": "client", "name": "Ivy Client", "email": "ivy@example.org"}
    added = ok(send(stack, "POST", f"/cases/{case['id']}/participants", client, key=new_key()))
    return case["id"], next(p["id"] for p in added["participants"] if p["kind"] == "external")


def test_a_portal_link_replays_with_the_same_url_and_is_issued_once(
    stack: LocalStack, client_case: tuple[str, str]
) -> None:
    case_id, participant_id = client_case
    path, idempotency_key, body = f"/cases/{case_id}/portal-links", new_key(), {"participant_id": participant_id}
    issued: list[Response] = []

    def first_issued() -> bool:
        # Until the portal's read model knows the participant the answer is a refusal, which claims nothing.
        issued.append(send(stack, "POST", path, body, key=idempotency_key))
        return issued[-1][0] == 201

    wait_until(first_issued, what="the portal to know the participant")
    first = issued[-1]

    again = send(stack, "POST", path, body, key=idempotency_key)

    assert_replayed(first, again)
    assert again[2]["url"] == first[2]["url"], "the link itself, though only its token's hash is stored"
    assert_refused_with_another_body(send(stack, "POST", path, {**body, "expires_in_days": 3}, key=idempotency_key))
    assert [link["id"] for link in ok(send(stack, "GET", path))["items"]] == [first[2]["id"]]
    once_on_the_timeline(stack, case_id, "portal.link_issued")


def test_revoking_and_rotating_a_link_replay(stack: LocalStack, client_case: tuple[str, str]) -> None:
    case_id, participant_id = client_case
    path = f"/cases/{case_id}/portal-links"
    wait_until(lambda: send(stack, "POST", path, {"participant_id": participant_id})[0] == 201, what="a link")
    [link] = ok(send(stack, "GET", path))["items"]

    rotate_key = new_key()
    rotated = send(stack, "POST", f"{path}/{link['id']}/rotate", key=rotate_key)
    ok(rotated, 201)
    assert_replayed(rotated, send(stack, "POST", f"{path}/{link['id']}/rotate", key=rotate_key))
    revoke_key = new_key()
    revoked = send(stack, "POST", f"{path}/{rotated[2]['id']}/revoke", key=revoke_key)
    assert ok(revoked)["revoked_at"]
    assert_replayed(revoked, send(stack, "POST", f"{path}/{rotated[2]['id']}/revoke", key=revoke_key))

    links = ok(send(stack, "GET", path))["items"]
    assert [each["id"] for each in links] == [link["id"], rotated[2]["id"]], "one rotation, one new link"


# webhook subscriptions


@pytest.fixture
def webhook_ids(stack: LocalStack) -> Iterator[list[str]]:
    created: list[str] = []
    yield created
    for webhook_id in created:
        send(stack, "DELETE", f"/webhooks/{webhook_id}", as_=None)


def test_a_webhook_subscription_replays_with_its_secret_and_is_created_once(
    stack: LocalStack, webhook_ids: list[str]
) -> None:
    url = f"http://127.0.0.1:9/hooks/{uuid.uuid4().hex}"
    body, idempotency_key = {"url": url, "event_types": ["sla.breached"]}, new_key()
    first = send(stack, "POST", "/webhooks", body, key=idempotency_key, as_=None)
    webhook_ids.append(ok(first, 201)["id"])
    rotate_key = new_key()
    rotated = send(stack, "POST", f"/webhooks/{first[2]['id']}/secret", key=rotate_key, as_=None)
    ok(rotated)

    again = send(stack, "POST", "/webhooks", body, key=idempotency_key, as_=None)

    assert_replayed(first, again)
    assert again[2]["secret"] == first[2]["secret"], "the secret the first answer showed, though it was rotated since"
    assert_replayed(rotated, send(stack, "POST", f"/webhooks/{first[2]['id']}/secret", key=rotate_key, as_=None))
    other = {**body, "event_types": ["case.*"]}
    assert_refused_with_another_body(send(stack, "POST", "/webhooks", other, key=idempotency_key, as_=None))
    hooks = ok(send(stack, "GET", "/webhooks?limit=100", as_=None))["items"]
    assert [hook["id"] for hook in hooks if hook["url"] == url] == [first[2]["id"]]


# template versions and migration


def test_publishing_the_draft_and_migrating_cases_replay(stack: LocalStack) -> None:
    template_key = f"replay-{uuid.uuid4().hex[:8]}"
    ok(send(stack, "POST", "/templates", template(template_key, stages=1), as_=None), 201)
    opened = ok(send(stack, "POST", "/cases", {"template_key": template_key, "title": "To migrate"}), 201)
    ok(send(stack, "PUT", f"/templates/{template_key}/draft", template(template_key), as_=None))

    versions, publish_key = f"/templates/{template_key}/versions", new_key()
    published = send(stack, "POST", versions, {}, key=publish_key, as_=None)
    assert ok(published, 201)["version"] == 2
    assert_replayed(published, send(stack, "POST", versions, {}, key=publish_key, as_=None))  # the draft is gone

    migrations, migrate_key = f"/templates/{template_key}/migrations", new_key()
    body = {"to_version": 2, "case_ids": [opened["id"]]}
    first = send(stack, "POST", migrations, body, key=migrate_key, as_=None)
    assert ok(first)["results"] == [{"case_id": opened["id"], "migrated": True, "version": 2, "problem": None}]

    again = send(stack, "POST", migrations, body, key=migrate_key, as_=None)

    assert_replayed(first, again)
    assert_refused_with_another_body(
        send(stack, "POST", migrations, {**body, "case_ids": [opened["id"], "nope"]}, key=migrate_key, as_=None)
    )
    assert current(stack, opened["id"])["version"] == 2, "migrated once"
    once_on_the_timeline(stack, opened["id"], "case.migrated")


def test_an_erasure_retried_with_its_key_answers_the_first_report(stack: LocalStack) -> None:
    person = f"participant-{uuid.uuid4().hex[:8]}"
    key = str(uuid.uuid4())

    first = send(stack, "POST", f"/participants/{person}/erase", key=key, as_=None)
    again = send(stack, "POST", f"/participants/{person}/erase", key=key, as_=None)

    assert ok(again) == ok(first) == {"participant_id": person, "erased_links": 0, "cases": []}
    assert header(again[1], "Idempotent-Replayed") == "true"
    assert header(first[1], "Idempotent-Replayed") is None
