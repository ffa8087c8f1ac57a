"""The portal's access matrix on the local stack: links are scoped to one case and one participant, bad links of
every kind look the same, a GET changes nothing, forms need their CSRF token, requests are rate-limited, every
page carries the security headers, only the right staff issue links, and what an external does reaches staff."""

import json
import re
import secrets
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import pytest
from caseline_common.resources import PORTAL_TABLE

from caseline.local.stack import LocalStack

from .support import assert_problem, header, queue_depth, timeline, wait_until

FORM = "application/x-www-form-urlencoded"
PDF = b"%PDF-1.7 the receipt"


def template(key: str) -> dict[str, Any]:
    return {
        "key": key,
        "name": "Bike claim",
        "fields": [
            {"key": "purpose", "label": "Purpose", "type": "text"},
            {"key": "phone", "label": "Phone", "type": "phone"},
            {"key": "internal_note", "label": "Internal note", "type": "long_text"},
        ],
        "stages": [
            {"key": "submitted", "name": "Submitted", "required_fields": ["phone"]},
            {"key": "settled", "name": "Settled", "next": []},
        ],
        "document_types": [
            {
                "key": "receipt",
                "name": "Receipt",
                "content_types": ["application/pdf"],
                "max_size_bytes": 1024,
                "required_in_stages": ["submitted"],
                "external": True,
                "uploader_roles": ["handler", "client"],
            }
        ],
        "roles": [
            {
                "key": "handler",
                "name": "Handler",
                "permissions": [
                    "case.view",
                    "case.transition",
                    "participant.manage",
                    "document.upload",
                    "document.view",
                    "comment.internal",
                    "comment.external",
                ],
                "fields": {"*": "edit"},
            },
            {"key": "viewer", "name": "Viewer", "permissions": ["case.view"], "fields": {"*": "view"}},
            {
                "key": "client",
                "name": "Client",
                "kind": "external",
                "permissions": ["case.view", "document.upload", "document.view", "comment.external"],
                "fields": {"purpose": "view", "phone": "edit"},
            },
        ],
    }


# staff through the API


def staff(stack: LocalStack, name: str | None) -> str:
    """An admin when `name` is None, else a staff member (not an admin) whose subject is dev-<name>."""
    return stack.staff_token() if name is None else stack.staff_token(admin=False, email=f"{name}@demo.caseline.local")


def api(stack: LocalStack, method: str, path: str, body: Any = None, *, as_: str | None = None) -> tuple[int, Any]:
    return stack.request(method, path, body, staff(stack, as_))


def ok(response: tuple[int, Any], status: int = 200) -> Any:
    assert response[0] == status, response
    return response[1]


@dataclass(frozen=True)
class Claim:
    case_id: str
    title: str
    client: str  # the external participant's id


@pytest.fixture(scope="module")
def key(stack: LocalStack) -> str:
    key = f"portal-{uuid.uuid4().hex[:8]}"
    ok(api(stack, "POST", "/templates", template(key)), 201)
    return key


def open_claim(stack: LocalStack, key: str, title: str) -> Claim:
    """A case owned by alex (a handler, not an admin), with an external client."""
    case = ok(api(stack, "POST", "/cases", {"template_key": key, "title": title}, as_="alex"), 201)
    client = {"kind": "external", "role": "client", "name": f"Client of {title}", "email": "client@example.org"}
    case = ok(api(stack, "POST", f"/cases/{case['id']}/participants", client, as_="alex"))
    return Claim(case["id"], title, next(p["id"] for p in case["participants"] if p["kind"] == "external"))


@pytest.fixture(scope="module")
def claim_a(stack: LocalStack, key: str) -> Claim:
    return open_claim(stack, key, f"Claim A {uuid.uuid4().hex[:6]}")


@pytest.fixture(scope="module")
def claim_b(stack: LocalStack, key: str) -> Claim:
    return open_claim(stack, key, f"Claim B {uuid.uuid4().hex[:6]}")


def issue(stack: LocalStack, claim: Claim, *, days: int | None = None) -> dict[str, Any]:
    """A link for the claim's client, once the portal's read model knows the participant."""
    body: dict[str, Any] = {"participant_id": claim.client}
    if days is not None:
        body["expires_in_days"] = days
    found: dict[str, Any] = {}

    def issued() -> bool:
        status, reply = api(stack, "POST", f"/cases/{claim.case_id}/portal-links", body, as_="alex")
        found.update(reply if status == 201 else {})
        return status == 201

    wait_until(issued, what="the portal to know the participant")
    return found


def path_of(link: dict[str, Any]) -> str:
    path: str = urlsplit(link["url"]).path
    return path


def links_of(stack: LocalStack, claim: Claim) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = ok(api(stack, "GET", f"/cases/{claim.case_id}/portal-links", as_="alex"))["items"]
    return items


def link_summary(stack: LocalStack, claim: Claim, link_id: str) -> dict[str, Any]:
    return next(item for item in links_of(stack, claim) if item["id"] == link_id)


def case_of(stack: LocalStack, claim: Claim) -> dict[str, Any]:
    case: dict[str, Any] = ok(api(stack, "GET", f"/cases/{claim.case_id}"))
    return case


def comments_of(stack: LocalStack, claim: Claim) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = ok(api(stack, "GET", f"/cases/{claim.case_id}/comments"))["items"]
    return items


def commands_drained(stack: LocalStack) -> bool:
    return queue_depth(stack, stack.tenant.queues["case_commands"].url) == 0


# a browser, in-process


@dataclass(frozen=True)
class Page:
    status: int
    headers: dict[str, Any]
    raw: bytes

    @property
    def text(self) -> str:
        return self.raw.decode()

    def header(self, name: str) -> str | None:
        value = header(self.headers, name)
        return ", ".join(value) if isinstance(value, list) else value

    @property
    def set_cookies(self) -> list[str]:
        value = header(self.headers, "Set-Cookie")
        return [] if value is None else value if isinstance(value, list) else [value]

    @property
    def csrf(self) -> str:
        found = re.search(r'name="csrf" value="([^"]+)"', self.text) or re.search(r'data-csrf="([^"]+)"', self.text)
        assert found, self.text
        return found.group(1)


@dataclass
class Browser:
    """Keeps cookies like a browser would (paths aside) and calls the gateway in-process."""

    stack: LocalStack
    cookies: dict[str, str] = field(default_factory=dict)
    seen: list[Page] = field(default_factory=list)

    def send(
        self,
        method: str,
        path: str,
        *,
        form: Mapping[str, str | list[str]] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        raw: bytes | None = None,
    ) -> Page:
        sent = dict(headers or {})
        payload = raw
        if form is not None:
            sent["Content-Type"] = FORM
            payload = urlencode(form, doseq=True).encode()
        elif body is not None:
            sent["Content-Type"] = "application/json"
            payload = json.dumps(body).encode()
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        page = Page(*self.stack.api.handle(method, path, sent, payload))
        for cookie in page.set_cookies:
            name, _, value = cookie.split(";")[0].partition("=")
            if "Max-Age=0" in cookie:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        self.seen.append(page)
        return page

    def get(self, path: str) -> Page:
        return self.send("GET", path)

    def post(self, path: str, form: Mapping[str, str | list[str]]) -> Page:
        return self.send("POST", path, form=form)

    def enter(self, link: dict[str, Any]) -> Page:
        """Opens the link, passes the landing page and lands on the case page."""
        landing = self.get(path_of(link))
        assert landing.status == 200, landing.text
        started = self.post(f"{path_of(link)}/session", {"csrf": landing.csrf})
        assert (started.status, started.header("Location")) == (303, "/portal/case"), started.text
        page = self.get("/portal/case")
        assert page.status == 200, page.text
        return page

    def upload(self, page: Page, upload: dict[str, Any]) -> Page:
        return self.send("POST", "/portal/uploads", body=upload, headers={"X-CSRF-Token": page.csrf})


def upload_form(size: int = len(PDF)) -> dict[str, Any]:
    return {"type": "receipt", "filename": "receipt.pdf", "content_type": "application/pdf", "size": size}


def to_s3(target: dict[str, Any], content: bytes = PDF) -> None:
    posted = httpx.post(
        target["url"], data=target["fields"], files={"file": ("receipt.pdf", content, "application/pdf")}
    )
    assert posted.status_code in (200, 201, 204), posted.text


@pytest.fixture
def browser(stack: LocalStack) -> Browser:
    return Browser(stack)


def visit_service(stack: LocalStack) -> Any:
    """The visit service (links entered, sessions, pages) the gateway's copy of the portal runs."""
    return stack.api.service("portal").module("chalicelib.runtime").visit_service()


@contextmanager
def patched(target: Any, name: str, value: Any) -> Iterator[None]:
    saved = getattr(target, name)
    setattr(target, name, value)
    try:
        yield
    finally:
        setattr(target, name, saved)


def sessions(stack: LocalStack) -> int:
    """How many portal sessions exist (a Scan is fine on the emulator's small test table)."""
    dynamodb, total = stack.aws.dynamodb(), 0
    start: Any = None  # a LastEvaluatedKey, given back as it came
    while True:
        page = dynamodb.scan(
            TableName=stack.tenant.names.table(PORTAL_TABLE),
            Select="COUNT",
            FilterExpression="begins_with(pk, :session)",
            ExpressionAttributeValues={":session": {"S": "SESSION#"}},
            ConsistentRead=True,
            **({"ExclusiveStartKey": start} if start else {}),
        )
        total += page["Count"]
        start = page.get("LastEvaluatedKey")
        if not start:
            return total


def missing(stack: LocalStack) -> Page:
    """The one page every unusable link answers: that of a token nobody ever issued."""
    return Browser(stack).get(f"/p/{secrets.token_urlsafe(32)}")


# staff: issuing, listing, revoking and rotating links


def test_only_staff_who_manage_participants_issue_links(stack: LocalStack, key: str, claim_a: Claim) -> None:
    link = issue(stack, claim_a)  # alex owns the case as a handler
    base = f"/cases/{claim_a.case_id}/portal-links"
    body = {"participant_id": claim_a.client}
    assert api(stack, "POST", base, body, as_="casey")[0] == 404, "not on the case: not even found"
    assert api(stack, "GET", base, as_="casey")[0] == 404
    ok(
        api(
            stack,
            "POST",
            f"/cases/{claim_a.case_id}/participants",
            {"kind": "internal", "role": "viewer", "user_id": "dev-blake"},
        )
    )
    refused = wait_until(
        lambda: (status := api(stack, "POST", base, body, as_="blake"))[0] != 404 and status,
        what="the portal to know the viewer",
    )
    assert refused[0] == 403, "a viewer sees the case but may not give access to it"
    assert ok(api(stack, "POST", base, body), 201)["participant_id"] == claim_a.client, "an admin may"

    owner = next(p for p in case_of(stack, claim_a)["participants"] if p["user_id"] == "dev-alex")
    for participant_id, why in [(owner["id"], "internal"), ("01ARZ3NDEKTSV4RRFFQ69G5FAV", "unknown")]:
        status, problem = api(stack, "POST", base, {"participant_id": participant_id}, as_="alex")
        assert (status, problem["errors"][0]["pointer"]) == (422, "/participant_id"), why
    assert api(stack, "POST", base, {**body, "expires_in_days": 91}, as_="alex")[0] == 422

    token = path_of(link).removeprefix("/p/")
    assert len(token) >= 22, "at least 128 bits"
    status, _, raw = stack.api.handle("GET", base, {"Authorization": f"Bearer {staff(stack, 'alex')}"}, None)
    assert status == 200
    assert token.encode() not in raw, "a listed link never shows its token"
    for item in json.loads(raw)["items"]:
        assert "url" not in item
        assert "token_hash" not in item
    assert link["id"] in [item["id"] for item in json.loads(raw)["items"]]


def test_revoked_and_rotated_links_stop_working_and_are_on_the_timeline(
    stack: LocalStack, key: str, claim_a: Claim, claim_b: Claim
) -> None:
    first, second = issue(stack, claim_a), issue(stack, claim_a)
    visitor = Browser(stack)
    visitor.enter(first)
    base = f"/cases/{claim_a.case_id}/portal-links"

    assert api(stack, "POST", f"/cases/{claim_b.case_id}/portal-links/{first['id']}/revoke", as_="alex")[0] == 404, (
        "a link is revoked through its own case only"
    )
    revoked = ok(api(stack, "POST", f"{base}/{first['id']}/revoke", as_="alex"))
    assert revoked["revoked_at"] is not None
    assert visitor.get("/portal/case").status == 401, "its sessions end with it"

    rotated = ok(api(stack, "POST", f"{base}/{second['id']}/rotate", as_="alex"), 201)
    assert (rotated["participant_id"], rotated["revoked_at"]) == (claim_a.client, None)
    assert rotated["url"] != second["url"]
    assert link_summary(stack, claim_a, second["id"])["revoked_at"] is not None
    assert Browser(stack).get(path_of(rotated)).status == 200
    reference = missing(stack)
    for old in (first, second):
        page = Browser(stack).get(path_of(old))
        assert (page.status, page.raw) == (404, reference.raw)

    def recorded() -> set[tuple[str, str]]:
        return {
            (entry["event"]["type"], entry["event"]["data"].get("link_id", ""))
            for entry in timeline(stack, claim_a.case_id)
            if entry["event"]["type"].startswith("portal.")
        }

    expected = {
        ("portal.link_issued", first["id"]),
        ("portal.link_issued", second["id"]),
        ("portal.link_revoked", first["id"]),
        ("portal.link_revoked", second["id"]),
        ("portal.link_issued", rotated["id"]),
    }
    wait_until(lambda: recorded() >= expected, what="the link events on the case's timeline")
    issued = next(
        entry["event"]
        for entry in timeline(stack, claim_a.case_id)
        if (entry["event"]["type"], entry["event"]["data"].get("link_id")) == ("portal.link_issued", first["id"])
    )
    assert (issued["actor"]["kind"], issued["actor"]["id"]) == ("user", "dev-alex")
    assert first["url"].rsplit("/", 1)[1] not in json.dumps(timeline(stack, claim_a.case_id)), (
        "no token on the timeline"
    )


# the uniform 404


def test_bad_expired_revoked_and_rotated_tokens_all_get_the_same_404(
    stack: LocalStack, key: str, claim_a: Claim
) -> None:
    expiring, revoked, rotated = issue(stack, claim_a, days=1), issue(stack, claim_a), issue(stack, claim_a)
    visitor = Browser(stack)
    visitor.enter(expiring)
    ok(api(stack, "POST", f"/cases/{claim_a.case_id}/portal-links/{revoked['id']}/revoke", as_="alex"))
    ok(api(stack, "POST", f"/cases/{claim_a.case_id}/portal-links/{rotated['id']}/rotate", as_="alex"), 201)

    reference = missing(stack)
    assert reference.status == 404
    assert (reference.header("Content-Type") or "").startswith("text/html")
    bad_tokens = {
        "random": secrets.token_urlsafe(32),
        "too short": "abc",
        "odd characters": "!$'()*+,;=:@~",
        "encoded odd characters": "%E2%9C%93%00%3Cscript%3E",
        "300 characters": "x" * 300,
        "a hash of a real token": portal_link_hash(stack, revoked),
        "revoked": path_of(revoked).removeprefix("/p/"),
        "rotated": path_of(rotated).removeprefix("/p/"),
    }
    for why, token in bad_tokens.items():
        page = Browser(stack).get(f"/p/{token}")
        assert (page.status, page.raw) == (404, reference.raw), why
        assert page.set_cookies == [], why
        landing = Browser(stack)
        start = landing.post(f"/p/{token}/session", {"csrf": "x"})
        assert (start.status, start.raw) == (404, reference.raw), why

    assert Browser(stack).get(path_of(expiring)).status == 200, "still valid today"
    service = visit_service(stack)
    now = service._clock
    with patched(service, "_clock", lambda: now() + timedelta(days=1, minutes=1)):
        page = Browser(stack).get(path_of(expiring))
        assert (page.status, page.raw) == (404, reference.raw), "expired"
        assert visitor.get("/portal/case").status == 401, "a session ends when its link expires"
    assert Browser(stack).get(path_of(expiring)).status == 200


def portal_link_hash(stack: LocalStack, link: dict[str, Any]) -> str:
    """What the portal stores for a link: the hash, which must not work as a token either."""
    token_hash = stack.api.service("portal").module("chalicelib.domain.links").token_hash
    digest: str = token_hash(path_of(link).removeprefix("/p/"))
    return digest


def test_a_removed_participant_s_link_gets_the_same_404(stack: LocalStack, key: str) -> None:
    claim = open_claim(stack, key, "Claim of someone who leaves")
    link = issue(stack, claim)
    visitor = Browser(stack)
    visitor.enter(link)
    ok(api(stack, "DELETE", f"/cases/{claim.case_id}/participants/{claim.client}", as_="alex"))
    reference = missing(stack)
    wait_until(lambda: Browser(stack).get(path_of(link)).raw == reference.raw, what="the link to stop working")
    assert visitor.get("/portal/case").status == 401


# a GET changes nothing


def test_opening_a_link_changes_nothing_until_the_person_continues(stack: LocalStack, key: str, claim_a: Claim) -> None:
    link = issue(stack, claim_a)
    before = sessions(stack)
    scanner = Browser(stack)
    for _ in range(2):  # a mail scanner, and then the person
        page = scanner.get(path_of(link))
        assert page.status == 200
        assert b"/portal/case" not in page.raw
        assert [cookie.split("=")[0] for cookie in page.set_cookies] == ["cl_landing"]
    assert link_summary(stack, claim_a, link["id"])["last_used_at"] is None
    assert sessions(stack) == before, "a GET starts no session"
    assert scanner.get("/portal/case").status == 401

    started = scanner.post(f"{path_of(link)}/session", {"csrf": scanner.cookies["cl_landing"]})
    assert started.status == 303
    assert "cl_session" in scanner.cookies
    assert "cl_landing" not in scanner.cookies, "the landing cookie is spent"
    assert link_summary(stack, claim_a, link["id"])["last_used_at"] is not None
    assert sessions(stack) == before + 1
    assert scanner.get("/portal/case").status == 200


# CSRF


def test_the_session_needs_the_landing_page_s_token(stack: LocalStack, key: str, claim_a: Claim) -> None:
    link = issue(stack, claim_a)
    reference = missing(stack)
    before = sessions(stack)
    no_cookie = Browser(stack)
    csrf = no_cookie.get(path_of(link)).csrf
    no_cookie.cookies.clear()  # a cross-site form: the SameSite=Strict cookie does not come along
    for visitor, form in [
        (no_cookie, {"csrf": csrf}),
        (Browser(stack, cookies={"cl_landing": csrf}), {"csrf": "forged"}),
        (Browser(stack, cookies={"cl_landing": csrf}), {}),
        (Browser(stack, cookies={"cl_landing": ""}), {"csrf": ""}),
    ]:
        page = visitor.post(f"{path_of(link)}/session", form)
        assert (page.status, page.raw) == (404, reference.raw), form
        assert "cl_session" not in visitor.cookies
    assert sessions(stack) == before
    assert link_summary(stack, claim_a, link["id"])["last_used_at"] is None


def test_case_forms_and_uploads_need_the_session_s_csrf_token(stack: LocalStack, key: str) -> None:
    claim = open_claim(stack, key, "Claim with forged forms")
    visitor = Browser(stack)
    page = visitor.enter(issue(stack, claim))
    cookie = dict(visitor.cookies)
    for path, form in [
        ("/portal/messages", {"body": "forged"}),
        ("/portal/fields", {"phone": "+31600000000"}),
        ("/portal/signout", {}),
        ("/portal/tasks", {"task": "01JPTASK000000000000000000"}),
    ]:
        for csrf in (None, "forged", ""):
            visitor.cookies = dict(cookie)
            refused = visitor.post(path, form if csrf is None else {**form, "csrf": csrf})
            assert refused.status == 401, (path, csrf)
    visitor.cookies = dict(cookie)
    for headers in ({}, {"X-CSRF-Token": "forged"}):
        start = visitor.send("POST", "/portal/uploads", body=upload_form(), headers=headers)
        assert_problem((start.status, start.headers, start.raw), 401)
        confirm = visitor.send("POST", f"/portal/uploads/{'0' * 26}/confirm", body={}, headers=headers)
        assert_problem((confirm.status, confirm.headers, confirm.raw), 401)
    assert visitor.get("/portal/case").status == 200, "the refusals did not end the session itself"

    # a real message afterwards, so that anything the forged forms had sent would have arrived too
    assert visitor.post("/portal/messages", {"csrf": page.csrf, "body": "the real one"}).status == 303
    wait_until(lambda: comments_of(stack, claim), what="the real message")
    wait_until(lambda: commands_drained(stack), what="the portal commands to be applied")
    assert [comment["body"] for comment in comments_of(stack, claim)] == ["the real one"]
    case = case_of(stack, claim)
    assert "phone" not in case["fields"]
    assert case["documents"] == []


# one case only


def test_a_link_for_one_case_reaches_that_case_only(
    stack: LocalStack, key: str, claim_a: Claim, claim_b: Claim
) -> None:
    # case B has a shared receipt and an upload staff have not confirmed yet
    alex = {"Authorization": f"Bearer {staff(stack, 'alex')}", "Content-Type": "application/json"}

    def staff_upload() -> dict[str, Any]:
        status, _, raw = stack.api.handle(
            "POST", f"/cases/{claim_b.case_id}/documents/uploads", alex, json.dumps(upload_form()).encode()
        )
        assert status == 201, raw
        target: dict[str, Any] = json.loads(raw)
        to_s3(target)
        return target

    confirmed = staff_upload()
    ok(api(stack, "POST", f"/cases/{claim_b.case_id}/documents/uploads/{confirmed['upload_id']}/confirm", as_="alex"))
    pending = staff_upload()

    visitor = Browser(stack)
    page = visitor.enter(issue(stack, claim_a))
    assert claim_a.title in page.text
    assert claim_b.title not in page.text
    assert f"{claim_b.case_id[-8:-4]}-{claim_b.case_id[-4:]}" not in page.text, "not even B's reference"
    assert f"{claim_a.case_id[-8:-4]}-{claim_a.case_id[-4:]}" in page.text
    assert visitor.get("/portal/documents/receipt/1").status == 404, "B's receipt is not A's"

    # uploads go to A's quarantine, whatever the request says
    started = visitor.upload(page, {**upload_form(), "case_id": claim_b.case_id})
    assert started.status == 200, started.text
    target = json.loads(started.raw)
    assert target["fields"]["x-amz-meta-case-id"] == claim_a.case_id
    assert claim_a.case_id in target["fields"]["key"]
    assert claim_b.case_id not in json.dumps(target)

    # confirming B's pending upload from A's session does nothing to either case
    crafted = visitor.send(
        "POST", f"/portal/uploads/{pending['upload_id']}/confirm", body={}, headers={"X-CSRF-Token": page.csrf}
    )
    assert crafted.status in (200, 404, 422), crafted.text
    malformed = visitor.send(
        "POST", "/portal/uploads/not-an-upload/confirm", body={}, headers={"X-CSRF-Token": page.csrf}
    )
    assert_problem((malformed.status, malformed.headers, malformed.raw), 404)
    to_s3(target)
    confirm = visitor.send(
        "POST", f"/portal/uploads/{target['upload_id']}/confirm", body={}, headers={"X-CSRF-Token": page.csrf}
    )
    assert confirm.status == 200, confirm.text
    assert visitor.post("/portal/messages", {"csrf": page.csrf, "body": "For case A"}).status == 303
    assert visitor.post("/portal/fields", {"csrf": page.csrf, "phone": "+31611111111"}).status == 303

    def arrived() -> bool:
        case = case_of(stack, claim_a)
        return bool(case["documents"]) and "phone" in case["fields"] and bool(comments_of(stack, claim_a))

    wait_until(arrived, what="the portal's upload, message and answer on case A")
    wait_until(lambda: commands_drained(stack), what="the portal commands to be applied")
    case_a, case_b = case_of(stack, claim_a), case_of(stack, claim_b)
    [document] = case_a["documents"]
    assert [v["upload_id"] for v in document["versions"]] == [target["upload_id"]]
    assert document["versions"][0]["uploaded_by"] == claim_a.client
    assert [v["upload_id"] for v in case_b["documents"][0]["versions"]] == [confirmed["upload_id"]]
    assert "phone" not in case_b["fields"]
    assert "For case A" not in [comment["body"] for comment in comments_of(stack, claim_b)]
    again = ok(
        api(stack, "POST", f"/cases/{claim_b.case_id}/documents/uploads/{pending['upload_id']}/confirm", as_="alex")
    )
    assert len(again["documents"][0]["versions"]) == 2, "B's pending upload was still where B's staff left it"

    other = Browser(stack).enter(issue(stack, claim_b))
    assert claim_b.title in other.text
    assert claim_a.title not in other.text
    assert "For case A" not in other.text


# what externals do reaches staff


def test_what_an_external_does_shows_on_the_staff_side(stack: LocalStack, key: str) -> None:
    claim = open_claim(stack, key, "Claim with a message")
    visitor = Browser(stack)
    page = visitor.enter(issue(stack, claim))
    assert visitor.post("/portal/messages", {"csrf": page.csrf, "body": "Hello from the portal"}).status == 303
    [comment] = wait_until(lambda: comments_of(stack, claim), what="the message as a comment")
    assert (comment["body"], comment["external"], comment["author"]) == ("Hello from the portal", True, claim.client)

    def added() -> list[dict[str, Any]]:
        return [entry["event"] for entry in timeline(stack, claim.case_id) if entry["event"]["type"] == "comment.added"]

    [event] = wait_until(added, what="comment.added on the timeline")
    assert (event["actor"]["kind"], event["actor"]["id"], event["visibility"]) == ("external", claim.client, "external")
    shown = wait_until(
        lambda: "Hello from the portal" in (text := visitor.get("/portal/case").text) and text,
        what="the message in the portal's thread",
    )
    assert "Hello from the portal" in shown


# rate limits


def test_rate_limits_answer_429(stack: LocalStack, key: str, claim_a: Claim) -> None:
    link = issue(stack, claim_a)
    visitor = Browser(stack)
    page = visitor.enter(link)
    service = visit_service(stack)
    with patched(service, "_limit", 3):

        def limited(request: Any) -> Page:
            for _ in range(10):  # enough even when a new rate window starts half-way
                answer: Page = request()
                if answer.status == 429:
                    return answer
            raise AssertionError("never limited")

        landing = limited(lambda: Browser(stack).get(path_of(link)))
        assert landing.header("Retry-After") == "60"
        assert_secure(landing)
        assert limited(lambda: Browser(stack).get(f"/p/{secrets.token_urlsafe(32)}")).status == 429
        assert limited(lambda: visitor.get("/portal/case")).status == 429
        upload = limited(lambda: visitor.upload(page, upload_form()))
        assert_problem((upload.status, upload.headers, upload.raw), 429)
        assert upload.header("Retry-After") == "60"
    assert Browser(stack).get(path_of(link)).status == 200, "the limit is back"


# security headers


def assert_secure(page: Page) -> None:
    policy = page.header("Content-Security-Policy") or ""
    directives = {part.strip().split(" ")[0]: part.strip() for part in policy.split(";") if part.strip()}
    assert directives.get("default-src") == "default-src 'none'", policy
    assert "'unsafe-inline'" not in policy
    assert "'unsafe-eval'" not in policy
    assert directives.get("frame-ancestors") == "frame-ancestors 'none'", policy
    assert "script-src 'self'" in policy
    assert page.header("X-Frame-Options") == "DENY"
    assert page.header("Referrer-Policy") == "no-referrer"
    assert page.header("X-Content-Type-Options") == "nosniff"
    for cookie in page.set_cookies:
        assert "; HttpOnly" in cookie, cookie
        assert "; SameSite=Strict" in cookie, cookie
    if (page.header("Content-Type") or "").startswith("text/html"):
        for tag in re.findall(r"<script\b[^>]*>", page.text):
            assert "src=" in tag, f"inline script: {tag}"
        assert not re.search(r"\son[a-z]+\s*=", page.text), "inline event handler"


def test_every_page_carries_the_security_headers(stack: LocalStack, key: str) -> None:
    claim = open_claim(stack, key, "Claim with headers")
    link = issue(stack, claim)
    visitor = Browser(stack)
    page = visitor.enter(link)
    visitor.get("/portal/case?sent=message")
    visitor.post("/portal/messages", {"csrf": page.csrf, "body": " "})  # refused: an empty message
    visitor.post("/portal/fields", {"csrf": page.csrf, "phone": "not a phone"})  # refused with the form again
    visitor.get("/portal/documents/receipt/1")
    visitor.get("/portal/assets/portal.css")
    visitor.get("/portal/assets/portal.js")
    visitor.get("/portal/assets/nothing.js")
    visitor.get(f"/portal/theme/{key}/1.css")
    visitor.get(f"/portal/theme/{key}/{'9' * 5000}.css")
    visitor.get(f"/portal/documents/receipt/{'9' * 5000}")
    visitor.post("/portal/signout", {"csrf": page.csrf})
    visitor.get("/portal/case")
    visitor.get(f"/p/{secrets.token_urlsafe(32)}")
    Browser(stack).get(path_of(link))
    statuses = sorted({each.status for each in visitor.seen})
    assert statuses == [200, 303, 401, 404, 422], statuses
    assert all(each.status < 500 for each in visitor.seen)
    for each in visitor.seen:
        assert_secure(each)
    assert any("cl_session" in cookie for each in visitor.seen for cookie in each.set_cookies)
    assert any("cl_landing" in cookie for each in visitor.seen for cookie in each.set_cookies)


def test_odd_cookies_and_bodies_do_not_break_the_portal(stack: LocalStack, key: str) -> None:
    claim = open_claim(stack, key, "Claim with odd requests")
    visitor = Browser(stack)
    page = visitor.enter(issue(stack, claim))
    visitor.cookies = {"a<b": "1", **visitor.cookies, "tracking": '"quoted"'}  # another page's on the same host
    assert visitor.get("/portal/case").status == 200
    assert visitor.upload(page, upload_form()).status == 200

    json_headers = {"X-CSRF-Token": page.csrf, "Content-Type": "application/json"}
    for raw, status in [
        (b"[" * 100_000, 400),
        (b"{not json", 400),
        (b"\xff\xfe", 400),
        (json.dumps({**upload_form(), "filename": "x" * 300_000}).encode(), 413),
    ]:
        refused = visitor.send("POST", "/portal/uploads", raw=raw, headers=json_headers)
        assert_problem((refused.status, refused.headers, refused.raw), status)


# languages


def test_the_pages_speak_the_browser_s_language_and_keep_a_language_picked(
    stack: LocalStack, key: str, claim_a: Claim
) -> None:
    link = issue(stack, claim_a)
    visitor = Browser(stack)
    german = {"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"}
    landing = visitor.send("GET", path_of(link), headers=german)
    assert landing.status == 200, landing.text
    assert '<html lang="de">' in landing.text
    assert "Meinen Vorgang öffnen" in landing.text
    assert landing.header("Content-Language") == "de"
    started = visitor.send("POST", f"{path_of(link)}/session", form={"csrf": landing.csrf}, headers=german)
    assert started.status == 303, started.text
    page = visitor.send("GET", "/portal/case", headers=german)
    assert '<html lang="de">' in page.text
    assert "Was wir von Ihnen benötigen" in page.text
    assert "Aktenzeichen" in page.text
    assert '<a href="/portal/case?lang=en" lang="en" hreflang="en">English</a>' in page.text
    assert "cl_language" not in visitor.cookies, "the browser's language needs no cookie"

    english = visitor.send("GET", "/portal/case?lang=en", headers=german)
    assert '<html lang="en">' in english.text
    assert "What we need from you" in english.text
    assert visitor.cookies["cl_language"] == "en"
    again = visitor.send("GET", "/portal/case", headers=german)
    assert '<html lang="en">' in again.text, "a language picked outranks the browser's"
    assert Browser(stack).get(path_of(link)).header("Content-Language") == "en", "no preference: English"
