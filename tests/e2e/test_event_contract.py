"""The events as a contract, over real HTTP: one short case that makes many kinds of event, with a webhook receiver
subscribed to every event. Each delivery validates against its schema in the served OpenAPI document's `webhooks`,
and every event the services recorded for the case is in the catalogue and its `data` fits its type's model."""

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from caseline_common.events import DATA_MODELS, WEBHOOK_EVENTS, check_data
from jsonschema import Draft202012Validator
from waiting import wait_until

from caseline.local.stack import LocalStack
from caseline.local.webhook_receiver import webhook_receiver

WAIT_SECONDS = 30
KEY = f"contract-{uuid.uuid4().hex[:8]}"
TEMPLATE = {
    "key": KEY,
    "name": "Travel insurance claim",
    "fields": [
        {"key": "summary", "label": "Summary", "type": "text"},
        {"key": "claimant_email", "label": "Claimant e-mail", "type": "email"},
    ],
    "stages": [
        {"key": "intake", "name": "Intake", "tasks": [{"key": "review", "title": "Review the claim"}]},
        {"key": "settled", "name": "Settled", "next": []},
    ],
    "document_types": [
        {"key": "receipt", "name": "Receipt", "content_types": ["application/pdf"], "max_size_bytes": 4096}
    ],
    "decisions": [{"key": "payout", "label": "Payout", "options": ["pay", "decline"], "decider_roles": ["handler"]}],
    "roles": [
        {"key": "handler", "name": "Handler", "permissions": ["case.view"], "fields": {"*": "edit"}},
        {"key": "claimant", "name": "Claimant", "kind": "external", "permissions": ["case.view"]},
    ],
    "owner_role": "handler",
    "rules": [
        {
            "key": "check_policy",
            "name": "Check the policy",
            "trigger": {"event_type": "case.opened"},
            "actions": [{"type": "create_task", "title": "Check the policy"}],
        },
        {
            "key": "ask_receipt",
            "name": "Ask the claimant for the receipt",
            "trigger": {"event_type": "participant.added"},
            "actions": [{"type": "request_document", "document_type": "receipt", "from_role": "claimant"}],
        },
    ],
}


@pytest.fixture(scope="module")
def api(stack: LocalStack) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {stack.staff_token()}"}
    with httpx.Client(base_url=stack.url, headers=headers, timeout=10) as client:
        yield client


def ok(response: httpx.Response) -> Any:
    assert response.status_code in (200, 201), response.text
    return response.json()


def work_a_case(api: httpx.Client) -> str:
    """Open, change, staff it, ask and upload, decide, move, close, reopen and cancel: one case, many events."""
    ok(api.post("/templates", json=TEMPLATE))
    case = ok(
        api.post("/cases", json={"template_key": KEY, "title": "Lost luggage, Lisbon", "fields": {"summary": "Bag"}})
    )
    case_id = case["id"]
    changed = {"fields": {"claimant_email": "ana.ribeiro@example.pt"}, "version": case["version"]}
    ok(api.patch(f"/cases/{case_id}", json=changed))
    claimant = {"kind": "external", "role": "claimant", "name": "Ana Ribeiro", "email": "ana.ribeiro@example.pt"}
    case = ok(api.post(f"/cases/{case_id}/participants", json=claimant))
    participant_id = next(p["id"] for p in case["participants"] if p["role"] == "claimant")
    link = ok(api.post(f"/cases/{case_id}/portal-links", json={"participant_id": participant_id}))
    ok(api.post(f"/cases/{case_id}/portal-links/{link['id']}/revoke"))
    ok(api.post(f"/cases/{case_id}/comments", json={"body": "Receipt asked for."}))
    content = b"%PDF-1.7 receipt"
    upload = {"type": "receipt", "filename": "receipt.pdf", "content_type": "application/pdf", "size": len(content)}
    target = ok(api.post(f"/cases/{case_id}/documents/uploads", json=upload))
    posted = httpx.post(
        target["url"], data=target["fields"], files={"file": ("receipt.pdf", content, "application/pdf")}
    )
    assert posted.status_code in (200, 201, 204), posted.text
    ok(api.post(f"/cases/{case_id}/documents/uploads/{target['upload_id']}/confirm"))
    review = next(task for task in case["tasks"] if task["key"] == "review")
    ok(api.post(f"/cases/{case_id}/tasks/{review['id']}/complete"))
    ok(api.post(f"/cases/{case_id}/tasks/{review['id']}/reopen", json={"reason": "One more look"}))
    ok(api.post(f"/cases/{case_id}/tasks/{review['id']}/complete"))
    ok(api.post(f"/cases/{case_id}/decisions", json={"key": "payout", "outcome": "pay", "rationale": "Covered"}))
    ok(api.post(f"/cases/{case_id}/transitions", json={"to": "settled"}))
    ok(api.post(f"/cases/{case_id}/close", json={"reason": "Paid"}))
    ok(api.post(f"/cases/{case_id}/reopen", json={"reason": "Claimant appealed"}))
    ok(api.post(f"/cases/{case_id}/cancel", json={"reason": "Appeal withdrawn"}))
    return str(case_id)


def timeline_events(api: httpx.Client, case_id: str) -> list[dict[str, Any]]:
    return [entry["event"] for entry in ok(api.get(f"/cases/{case_id}/timeline", params={"limit": 200}))["items"]]


def test_every_event_is_catalogued_and_every_webhook_fits_its_schema(stack: LocalStack, api: httpx.Client) -> None:
    received: list[dict[str, Any]] = []

    def keep(_headers: Any, body: bytes) -> int:
        received.append(json.loads(body))
        return 204

    with webhook_receiver(keep) as url:
        hook = ok(api.post("/webhooks", json={"url": url, "event_types": []}))  # every event
        try:
            case_id = work_a_case(api)

            def delivered() -> bool:
                recorded = timeline_events(api, case_id)
                wanted = {event["event_id"] for event in recorded if event["type"] in WEBHOOK_EVENTS}
                got = {body["data"]["event_id"] for body in received if body["data"]["case_id"] == case_id}
                return any(event["type"] == "case.cancelled" for event in recorded) and wanted <= got

            wait_until(delivered, what="every event of the case on the timeline and delivered", timeout=WAIT_SECONDS)
        finally:
            api.delete(f"/webhooks/{hook['id']}")

    recorded = timeline_events(api, case_id)
    types = {event["type"] for event in recorded}
    assert len(types) >= 15, sorted(types)  # the scenario makes many kinds of event
    for event in recorded:  # every event the services emitted about the case is in the catalogue, and fits it
        assert event["type"] in DATA_MODELS, event["type"]
        check_data(event["type"], event["data"])

    document = ok(api.get("/openapi.json"))
    ours = [body for body in received if body["data"]["case_id"] == case_id]
    assert types & WEBHOOK_EVENTS <= {body["type"] for body in ours} <= WEBHOOK_EVENTS
    for body in ours:
        webhook = document["webhooks"][body["type"]]["post"]
        reference = webhook["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        validator = Draft202012Validator({"$ref": reference, "components": document["components"]})
        problems = [f"{list(error.absolute_path)}: {error.message}" for error in validator.iter_errors(body)]
        assert problems == [], (body["type"], problems)
