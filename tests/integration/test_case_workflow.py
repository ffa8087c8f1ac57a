"""A case worked from opening to closure through the API on the local stack: fields with preconditions,
blocked and allowed transitions, tasks, participants and access, documents through S3, decisions,
comments, closing and reopening; then template drafts, versions, diffs and migration."""

import hashlib
import urllib.parse
import uuid
from collections.abc import Mapping
from typing import Any, cast

import httpx
import pytest

from caseline.local.stack import LocalStack

from .support import PROBLEM_JSON, Response, api_call, recording


def template(key: str) -> dict[str, Any]:
    return {
        "key": key,
        "name": "Expense claim",
        "fields": [
            {"key": "amount", "label": "Amount", "type": "money", "currencies": ["EUR"]},
            {"key": "purpose", "label": "Purpose", "type": "text"},
            {"key": "internal_note", "label": "Internal note", "type": "long_text"},
        ],
        "stages": [
            {
                "key": "submitted",
                "name": "Submitted",
                "required_fields": ["amount"],
                "tasks": [{"key": "check_receipt", "title": "Check the receipt", "assignee_role": "handler"}],
                "exit_criteria": [
                    {
                        "description": "The amount is at most 5000 EUR",
                        "condition": {"<=": [{"var": "fields.amount.amount"}, 5000]},
                    }
                ],
            },
            {"key": "approval", "name": "Approval"},
            {"key": "paid", "name": "Paid", "next": []},
        ],
        "document_types": [
            {
                "key": "receipt",
                "name": "Receipt",
                "content_types": ["application/pdf", "image/png"],
                "max_size_bytes": 1024,
                "required_in_stages": ["submitted"],
                "external": True,
                "uploader_roles": ["handler", "claimant"],
            }
        ],
        "decisions": [
            {
                "key": "approval",
                "label": "Approval",
                "options": ["approve", "reject"],
                "decider_roles": ["lead"],
                "required_in_stages": ["approval"],
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
                    "task.manage",
                    "participant.manage",
                    "document.upload",
                    "document.view",
                    "comment.internal",
                ],
                "fields": {"*": "edit", "internal_note": "view"},
            },
            {
                "key": "lead",
                "name": "Team lead",
                "permissions": ["case.view", "case.transition", "case.override", "case.reopen", "document.view"],
                "fields": {"*": "view"},
            },
            {
                "key": "claimant",
                "name": "Claimant",
                "kind": "external",
                "permissions": ["case.view", "document.upload"],
                "fields": {"amount": "view"},
            },
        ],
    }


@pytest.fixture(scope="module")
def key() -> str:
    return f"expense-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def published(stack: LocalStack, key: str) -> dict[str, Any]:
    status, body = stack.request("POST", "/templates", template(key))
    assert status == 201, body
    return cast(dict[str, Any], body)


def token(stack: LocalStack, name: str) -> str:
    """A staff member (not an admin) named `name`; their subject is dev-<name>."""
    return stack.staff_token(admin=False, email=f"{name}@demo.caseline.local")


def call(
    stack: LocalStack,
    method: str,
    path: str,
    body: Any = None,
    *,
    as_: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    return api_call(stack, method, path, body, token=token(stack, as_) if as_ else stack.staff_token(), headers=headers)


def ok(response: Response, status: int = 200) -> Any:
    assert response[0] == status, response
    return response[2]


def open_claim(stack: LocalStack, key: str, owner: str = "alex") -> dict[str, Any]:
    body = {"template_key": key, "title": "Train to Leeds", "fields": {"purpose": "Client visit"}}
    return cast(dict[str, Any], ok(call(stack, "POST", "/cases", body, as_=owner), 201))


def upload(stack: LocalStack, case_id: str, content: bytes, *, as_: str, content_type: str = "application/pdf") -> Any:
    target = ok(
        call(
            stack,
            "POST",
            f"/cases/{case_id}/documents/uploads",
            {"type": "receipt", "filename": "receipt.pdf", "content_type": content_type, "size": len(content)},
            as_=as_,
        ),
        201,
    )
    posted = httpx.post(target["url"], data=target["fields"], files={"file": ("receipt.pdf", content, content_type)})
    assert posted.status_code in (200, 201, 204), posted.text
    return target


def test_a_case_is_worked_from_opening_to_closure(stack: LocalStack, published: dict[str, Any], key: str) -> None:
    case = open_claim(stack, key)
    case_id = case["id"]
    assert case["stage"] == "submitted"
    [task] = case["tasks"]
    assert (task["title"], task["assignee_role"], task["status"]) == ("Check the receipt", "handler", "open")
    [owner] = case["participants"]
    assert (owner["user_id"], owner["role"]) == ("dev-alex", "handler")

    # field updates need a precondition, and a stale one is refused with the current version
    assert call(stack, "PATCH", f"/cases/{case_id}", {"fields": {"purpose": "x"}}, as_="alex")[0] == 428
    status, headers, problem = call(
        stack, "PATCH", f"/cases/{case_id}", {"fields": {"purpose": "x"}}, as_="alex", headers={"If-Match": '"7"'}
    )
    assert (status, headers["Content-Type"], problem["current_version"]) == (412, PROBLEM_JSON, 1)
    status, _, problem = call(
        stack, "PATCH", f"/cases/{case_id}", {"fields": {"purpose": "x"}, "version": 9}, as_="alex"
    )
    assert (status, problem["current_version"]) == (409, 1)
    # a field the role may only view
    assert (
        call(stack, "PATCH", f"/cases/{case_id}", {"fields": {"internal_note": "x"}, "version": 1}, as_="alex")[0]
        == 403
    )

    # leaving the first stage lists every unmet criterion in words
    status, _, problem = call(stack, "POST", f"/cases/{case_id}/transitions", {"to": "approval"}, as_="alex")
    assert status == 409
    assert [item["description"] for item in problem["unmet"]] == [
        '"Amount" has a value',
        'Task "Check the receipt" is done',
        'Document "Receipt" is uploaded',
    ]

    status, headers, case = call(
        stack,
        "PATCH",
        f"/cases/{case_id}",
        {"fields": {"amount": {"amount": "86.40", "currency": "EUR"}}},
        as_="alex",
        headers={"If-Match": '"1"'},
    )
    assert (status, headers["ETag"], case["version"]) == (200, '"2"', 2)
    case = ok(call(stack, "POST", f"/cases/{case_id}/tasks/{task['id']}/complete", as_="alex"))
    assert case["tasks"][0]["status"] == "done"

    # a document through S3: presigned POST into quarantine, confirmed, hashed, downloadable
    content = b"%PDF-1.7 receipt for 86.40 EUR"
    target = upload(stack, case_id, content, as_="alex")
    assert call(stack, "GET", f"/cases/{case_id}/documents/receipt/versions/1", as_="alex")[0] == 404
    case = ok(call(stack, "POST", f"/cases/{case_id}/documents/uploads/{target['upload_id']}/confirm", as_="alex"))
    [document] = case["documents"]
    [version] = document["versions"]
    assert (version["sha256"], version["size"], version["filename"]) == (
        hashlib.sha256(content).hexdigest(),
        len(content),
        "receipt.pdf",
    )
    again = ok(call(stack, "POST", f"/cases/{case_id}/documents/uploads/{target['upload_id']}/confirm", as_="alex"))
    assert again["version"] == case["version"], "confirming twice adds nothing"
    link = ok(call(stack, "GET", f"/cases/{case_id}/documents/receipt/versions/1", as_="alex"))
    assert httpx.get(link["url"]).content == content

    case = ok(call(stack, "POST", f"/cases/{case_id}/transitions", {"to": "approval"}, as_="alex"))
    assert case["stage"] == "approval"

    # only a lead decides; the lead joins as a participant
    status, _, problem = call(
        stack,
        "POST",
        f"/cases/{case_id}/decisions",
        {"key": "approval", "outcome": "approve", "rationale": "ok"},
        as_="alex",
    )
    assert status == 403, problem
    assert call(stack, "GET", f"/cases/{case_id}", as_="blake")[0] == 404, "not a participant: not found"
    case = ok(
        call(
            stack,
            "POST",
            f"/cases/{case_id}/participants",
            {"kind": "internal", "role": "lead", "user_id": "dev-blake"},
            as_="alex",
        )
    )
    assert call(stack, "GET", f"/cases/{case_id}", as_="blake")[0] == 200
    missing_rationale = call(
        stack, "POST", f"/cases/{case_id}/decisions", {"key": "approval", "outcome": "approve"}, as_="blake"
    )
    assert missing_rationale[0] == 422
    case = ok(
        call(
            stack,
            "POST",
            f"/cases/{case_id}/decisions",
            {"key": "approval", "outcome": "approve", "rationale": "Within policy"},
            as_="blake",
        )
    )
    assert case["decisions"][0]["template_version"] == 1

    # the lead may move on; closing needs the final stage
    assert call(stack, "POST", f"/cases/{case_id}/close", {}, as_="alex")[0] == 409
    case = ok(call(stack, "POST", f"/cases/{case_id}/transitions", {"to": "paid"}, as_="blake"))
    case = ok(call(stack, "POST", f"/cases/{case_id}/close", {"reason": "Paid out"}, as_="alex"))
    assert (case["status"], case["status_reason"]) == ("closed", "Paid out")
    assert (
        call(stack, "PATCH", f"/cases/{case_id}", {"fields": {"purpose": "y"}, "version": case["version"]}, as_="alex")[
            0
        ]
        == 409
    )
    assert call(stack, "POST", f"/cases/{case_id}/reopen", {}, as_="blake")[0] == 422, "reopening needs a reason"
    case = ok(call(stack, "POST", f"/cases/{case_id}/reopen", {"reason": "Wrong amount"}, as_="blake"))
    assert case["status"] == "open"

    comment = ok(call(stack, "POST", f"/cases/{case_id}/comments", {"body": "Refund 10 EUR"}, as_="alex"), 201)
    comments = ok(call(stack, "GET", f"/cases/{case_id}/comments", as_="blake"))
    assert [each["id"] for each in comments["items"]] == [comment["id"]]


def test_moving_back_needs_override_and_a_reason(stack: LocalStack, published: dict[str, Any], key: str) -> None:
    case = open_claim(stack, key)
    case_id = case["id"]
    ok(
        call(
            stack,
            "POST",
            f"/cases/{case_id}/participants",
            {"kind": "internal", "role": "lead", "user_id": "dev-blake"},
            as_="alex",
        )
    )
    status, _, problem = call(stack, "POST", f"/cases/{case_id}/transitions", {"to": "paid"}, as_="alex")
    assert status == 403, problem
    status, _, problem = call(stack, "POST", f"/cases/{case_id}/transitions", {"to": "paid"}, as_="blake")
    assert (status, problem["errors"][0]["pointer"]) == (422, "/reason")
    status, _, problem = call(
        stack, "POST", f"/cases/{case_id}/transitions", {"to": "paid", "reason": "Paid by card"}, as_="blake"
    )
    assert status == 409, "skipping still honours criteria unless forced"
    case = ok(
        call(
            stack,
            "POST",
            f"/cases/{case_id}/transitions",
            {"to": "paid", "reason": "Paid by card", "force": True},
            as_="blake",
        )
    )
    assert case["stage"] == "paid"


def test_external_participants_and_list_filters(stack: LocalStack, published: dict[str, Any], key: str) -> None:
    mine = open_claim(stack, key, owner="casey")
    theirs = open_claim(stack, key, owner="drew")
    case = ok(
        call(
            stack,
            "POST",
            f"/cases/{mine['id']}/participants",
            {"kind": "external", "role": "claimant", "name": "Ivy Claimant", "email": "ivy@example.org"},
            as_="casey",
        )
    )
    external = next(p for p in case["participants"] if p["kind"] == "external")
    assert (external["name"], external["email"]) == ("Ivy Claimant", "ivy@example.org")
    refused = call(
        stack,
        "POST",
        f"/cases/{mine['id']}/participants",
        {"kind": "internal", "role": "claimant", "user_id": "dev-x"},
        as_="casey",
    )
    assert refused[0] == 422

    listed = ok(call(stack, "GET", f"/cases?template_key={key}&limit=100", as_="casey"))
    ids = [each["id"] for each in listed["items"]]
    assert mine["id"] in ids
    assert theirs["id"] not in ids, "a non-admin sees only cases they may see"
    admin_ids = [each["id"] for each in ok(call(stack, "GET", f"/cases?template_key={key}&limit=100"))["items"]]
    assert {mine["id"], theirs["id"]} <= set(admin_ids)
    by_owner = ok(call(stack, "GET", "/cases?owner=dev-drew&limit=100"))
    assert [each["id"] for each in by_owner["items"]] == [theirs["id"]]
    by_member = ok(call(stack, "GET", "/cases?participant=dev-casey&limit=100"))
    assert [each["id"] for each in by_member["items"]] == [mine["id"]]
    since = ok(call(stack, "GET", f"/cases?template_key={key}&updated_since={case['updated_at'].replace('+', '%2B')}"))
    assert [each["id"] for each in since["items"]] == [mine["id"]], "only cases changed since then"

    removed = ok(call(stack, "DELETE", f"/cases/{mine['id']}/participants/{external['id']}", as_="casey"))
    assert all(p["kind"] == "internal" for p in removed["participants"])


def test_a_case_list_page_is_one_query_and_one_batch_read_and_words_go_to_search(
    stack: LocalStack, published: dict[str, Any], key: str
) -> None:
    for title in ("Flug nach Zürich", "Hotel in Zürich", "Taxi zum Flughafen"):
        ok(call(stack, "POST", "/cases", {"template_key": key, "title": title, "fields": {}}), 201)
    dynamodb = stack.api.service("cases").module("chalicelib.runtime").runtime.aws.dynamodb()
    with recording(dynamodb) as calls:
        page = ok(call(stack, "GET", f"/cases?template_key={key}&status=open&limit=2"))
    assert len(page["items"]) == 2
    assert page["next_cursor"]
    assert [name for name in calls.operations if name in ("Query", "BatchGetItem")] == ["Query", "BatchGetItem"]

    for sent in ("flug", "", "x" * 500):
        status, headers, problem = call(stack, "GET", f"/cases?template_key={key}&q={urllib.parse.quote(sent)}")
        assert status == 400, problem
        assert headers["Content-Type"] == PROBLEM_JSON
        assert "GET /search?q=" in problem["detail"]


def test_versions_drafts_diffs_and_migration(stack: LocalStack, published: dict[str, Any], key: str) -> None:
    case = open_claim(stack, key)
    broken = template(key)
    broken["stages"][0]["exit_criteria"][0]["condition"] = {"<=": [{"var": "fields.amout.amount"}, 5000]}
    draft = ok(call(stack, "PUT", f"/templates/{key}/draft", broken))
    assert [(issue["pointer"], issue["detail"]) for issue in draft["issues"]] == [
        ("/stages/0/exit_criteria/0/condition/<=/0/var", 'unknown field "amout"')
    ]
    status, _, problem = call(stack, "POST", f"/templates/{key}/versions", {})
    assert status == 422, problem
    assert call(stack, "PUT", f"/templates/{key}/draft", broken, as_="alex")[0] == 403, "only admins edit templates"
    # Half-finished work is parked too: a stage just added, still empty, is kept with what it lacks.
    unfinished = template(key)
    unfinished["stages"].append({"key": "", "name": ""})
    empty = f"/stages/{len(unfinished['stages']) - 1}"
    draft = ok(call(stack, "PUT", f"/templates/{key}/draft", unfinished))
    assert [issue["pointer"] for issue in draft["issues"]] == [f"{empty}/key", f"{empty}/name"]
    assert draft["issues"][0]["detail"].startswith("use lower-case letters, digits and _"), draft["issues"]
    assert ok(call(stack, "GET", f"/templates/{key}/draft"))["definition"] == unfinished
    status, _, problem = call(stack, "POST", f"/templates/{key}/versions", {})
    assert status == 422, problem
    assert [issue["pointer"] for issue in problem["errors"]] == [f"{empty}/key", f"{empty}/name"]

    fixed = template(key)
    fixed["fields"].append({"key": "cost_centre", "label": "Cost centre", "type": "text", "pattern": "^CC-[0-9]{4}$"})
    fixed["fields"] = [field for field in fixed["fields"] if field["key"] != "internal_note"]
    fixed["roles"][0]["fields"] = {"*": "edit"}
    ok(call(stack, "PUT", f"/templates/{key}/draft", fixed))
    version = ok(call(stack, "POST", f"/templates/{key}/versions", {}), 201)
    assert version["version"] == 2
    assert call(stack, "GET", f"/templates/{key}/draft")[0] == 404, "publishing consumes the draft"
    assert ok(call(stack, "GET", f"/templates/{key}"))["version"] == 2
    assert [v["version"] for v in ok(call(stack, "GET", f"/templates/{key}/versions"))["items"]] == [1, 2]

    diff = ok(call(stack, "GET", f"/templates/{key}/diff?from=1&to=2"))
    assert {(change["path"], change["change"]) for change in diff["changes"]} >= {
        ("/fields/cost_centre", "added"),
        ("/fields/internal_note", "removed"),
    }

    preview = ok(call(stack, "GET", f"/templates/{key}/migrations?to_version=2&limit=100"))
    mine = next(item for item in preview["items"] if item["case_id"] == case["id"])
    assert mine["can_migrate"] is True
    assert 'Task "Check the receipt" is done' in mine["unmet_criteria"]
    result = ok(
        call(stack, "POST", f"/templates/{key}/migrations", {"to_version": 2, "case_ids": [case["id"], "nope"]})
    )
    assert [(r["case_id"], r["migrated"]) for r in result["results"]] == [(case["id"], True), ("nope", False)]
    migrated = ok(call(stack, "GET", f"/cases/{case['id']}"))
    assert (migrated["template_version"], migrated["version"]) == (2, case["version"] + 1)
    schema = ok(call(stack, "GET", "/schemas/template"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_uploads_are_refused_by_type_and_size_before_and_after_they_arrive(
    stack: LocalStack, published: dict[str, Any], key: str
) -> None:
    case_id = open_claim(stack, key)["id"]
    form = {"type": "receipt", "filename": "r.pdf", "content_type": "application/pdf", "size": 10}
    changes: list[tuple[dict[str, Any], str]] = [
        ({"content_type": "application/zip"}, "/content_type"),
        ({"size": 4096}, "/size"),
        ({"type": "passport"}, "/type"),
    ]
    for change, pointer in changes:
        status, _, problem = call(stack, "POST", f"/cases/{case_id}/documents/uploads", {**form, **change}, as_="alex")
        assert (status, problem["errors"][0]["pointer"]) == (422, pointer), problem

    # declared small, but what arrived is larger than the type allows: refused and removed from quarantine
    target = ok(call(stack, "POST", f"/cases/{case_id}/documents/uploads", form, as_="alex"), 201)
    httpx.post(target["url"], data=target["fields"], files={"file": ("r.pdf", b"x" * 2048, "application/pdf")})
    status, _, problem = call(
        stack, "POST", f"/cases/{case_id}/documents/uploads/{target['upload_id']}/confirm", as_="alex"
    )
    assert (status, problem["errors"][0]["pointer"]) == (422, "/size"), problem
    again = call(stack, "POST", f"/cases/{case_id}/documents/uploads/{target['upload_id']}/confirm", as_="alex")
    assert again[0] == 404, "the refused file is gone"
    assert ok(call(stack, "GET", f"/cases/{case_id}", as_="alex"))["documents"] == []
    assert call(stack, "POST", f"/cases/{case_id}/documents/uploads/{'0' * 26}/confirm", as_="alex")[0] == 404
