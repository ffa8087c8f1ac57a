"""Bad requests are refused with RFC 9457 problems, and a refused request writes nothing."""

import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from caseline.local.idp import DevIdentityProvider
from caseline.local.stack import LocalStack

from .support import assert_problem, count_cases, count_templates, header, pointers, timeline, wait_until

MAX_REQUEST_BYTES = 200 * 1024
UNKNOWN_CASE_ID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
GOOD_FIELDS: dict[str, Any] = {
    "employee": {"kind": "person", "name": "Lena Fischer", "email": "lena.fischer@example.org"},
    "start_date": "2027-03-01",
    "department": "people",
}
GOOD_CASE: dict[str, Any] = {
    "template_key": "employee-onboarding",
    "title": "Onboarding: Lena Fischer",
    "fields": GOOD_FIELDS,
}


def case_with(**changes: Any) -> bytes:
    return json.dumps({**GOOD_CASE, **changes}).encode()


def case_with_fields(**changes: Any) -> bytes:
    return case_with(fields={**GOOD_FIELDS, **changes})


@dataclass(frozen=True)
class Bad:
    """One bad request: `auth` names the credentials to send (see `_authorization`)."""

    method: str
    target: str
    status: int
    body: bytes | None = None
    content_type: str | None = "application/json"
    auth: str = "admin"
    pointers: frozenset[str] = field(default_factory=frozenset)


BAD_REQUESTS: dict[str, Bad] = {
    # the body
    "malformed json": Bad("POST", "/cases", 400, b'{"template_key": "employee-onboarding",'),
    "malformed json template": Bad("POST", "/templates", 400, b"{'key': 'single-quotes'}"),
    "body not utf-8": Bad("POST", "/cases", 400, b'{"title": "\xff\xfe"}'),
    "empty body": Bad("POST", "/cases", 400, b""),
    "text/plain": Bad("POST", "/cases", 415, case_with(), content_type="text/plain"),
    "form encoded": Bad("POST", "/cases", 415, b"title=x", content_type="application/x-www-form-urlencoded"),
    "no content type": Bad("POST", "/cases", 415, case_with(), content_type=None),
    "json array": Bad("POST", "/cases", 422, b"[]", pointers=frozenset({"/"})),
    "unknown template": Bad(
        "POST", "/cases", 422, case_with(template_key="no-such-template"), pointers=frozenset({"/template_key"})
    ),
    "wrong field types": Bad(
        "POST",
        "/cases",
        422,
        case_with_fields(remote="yes", department=5, start_date="next monday", mobile=46701234567),
        pointers=frozenset({"/fields/remote", "/fields/department", "/fields/start_date", "/fields/mobile"}),
    ),
    "wrong nested field types": Bad(
        "POST",
        "/cases",
        422,
        case_with_fields(annual_salary={"amount": "lots", "currency": "EUR"}, employee={"name": ""}),
        pointers=frozenset({"/fields/annual_salary/amount", "/fields/employee/name"}),
    ),
    "field value out of range": Bad(
        "POST",
        "/cases",
        422,
        case_with_fields(annual_salary={"amount": "-1", "currency": "JPY"}, department="legal"),
        pointers=frozenset({"/fields/annual_salary", "/fields/department"}),
    ),
    "missing required fields": Bad(
        "POST",
        "/cases",
        422,
        case_with(fields={}),
        pointers=frozenset({"/fields/employee", "/fields/start_date", "/fields/department"}),
    ),
    "unknown case field": Bad(
        "POST", "/cases", 422, case_with_fields(shoe_size=44), pointers=frozenset({"/fields/shoe_size"})
    ),
    "unknown body member": Bad("POST", "/cases", 422, case_with(priority="high"), pointers=frozenset({"/priority"})),
    "wrong body types": Bad(
        "POST", "/cases", 422, case_with(title=7, fields=[]), pointers=frozenset({"/title", "/fields"})
    ),
    "template with mistakes": Bad(
        "POST",
        "/templates",
        422,
        json.dumps(
            {
                "key": "broken-template",
                "name": "Broken",
                "fields": [
                    {"key": "a", "label": "A", "type": "text"},
                    {"key": "a", "label": "A again", "type": "enum"},
                ],
                "stages": [{"key": "only", "name": "Only"}],
            }
        ).encode(),
        pointers=frozenset({"/fields/1/options"}),  # and the duplicate key, at one of its two places
    ),
    "template already published": Bad(
        "POST",
        "/templates",
        422,
        json.dumps({"key": "employee-onboarding", "name": "Again", "stages": [{"key": "s", "name": "S"}]}).encode(),
        pointers=frozenset({"/key"}),
    ),
    "template without stages": Bad(
        "POST",
        "/templates",
        422,
        json.dumps({"key": "no-stages", "name": "No stages", "stages": []}).encode(),
        pointers=frozenset({"/stages"}),
    ),
    "body over 200 KiB": Bad("POST", "/cases", 413, case_with(title="x" * MAX_REQUEST_BYTES)),
    "template over 200 KiB": Bad("POST", "/templates", 413, b" " * (MAX_REQUEST_BYTES + 1)),
    "body over 10 MB": Bad("POST", "/cases", 413, b" " * (10 * 1024 * 1024 + 1)),
    # ids that cannot exist
    "case id over a DynamoDB key's size": Bad("GET", "/cases/" + "A" * 2000, 404),
    "template key with odd characters": Bad("GET", "/templates/%00%0A", 404),
    "timeline of an overlong case id": Bad("GET", "/cases/" + "B" * 1500 + "/timeline", 404),
    # credentials
    "no token": Bad("POST", "/cases", 401, case_with(), auth="none"),
    "not a bearer token": Bad("GET", "/cases", 401, auth="basic"),
    "garbage token": Bad("POST", "/cases", 401, case_with(), auth="garbage"),
    "expired token": Bad("POST", "/cases", 401, case_with(), auth="expired"),
    "token from another issuer": Bad("POST", "/cases", 401, case_with(), auth="other-issuer"),
    "token for another client": Bad("POST", "/cases", 401, case_with(), auth="other-client"),
    "token signed by another key": Bad("POST", "/cases", 401, case_with(), auth="other-key"),
    "forged token with our key id": Bad("POST", "/cases", 401, case_with(), auth="forged"),
    "unsigned token": Bad("GET", "/cases", 401, auth="alg-none"),
    "token without staff groups": Bad("POST", "/cases", 403, case_with(), auth="no-groups"),
    "token with foreign groups": Bad("GET", "/cases", 403, auth="foreign-groups"),
    "staff publishing a template": Bad(
        "POST",
        "/templates",
        403,
        json.dumps({"key": "staff-template", "name": "Staff", "stages": [{"key": "s", "name": "S"}]}).encode(),
        auth="staff",
    ),
    "timeline without staff groups": Bad("GET", f"/cases/{UNKNOWN_CASE_ID}/timeline", 403, auth="no-groups"),
    # what is asked for
    "unknown case": Bad("GET", f"/cases/{UNKNOWN_CASE_ID}", 404),
    "unknown template key": Bad("GET", "/templates/no-such-template", 404),
    "timeline of an unknown case": Bad("GET", f"/cases/{UNKNOWN_CASE_ID}/timeline", 404),
    "malformed cursor": Bad("GET", "/cases?cursor=not-a-cursor", 400),
    "cursor of another index": Bad("GET", "/cases?cursor=eyJwayI6IlRFTVBMQVRFUyIsInNrIjoiYSJ9", 400),
    "malformed template cursor": Bad("GET", "/templates?cursor=%7B%7D", 400),
    # Whether the caller may see the case comes first: an unknown case answers 404 whatever the cursor.
    "timeline cursor of an unknown case": Bad("GET", f"/cases/{UNKNOWN_CASE_ID}/timeline?cursor=AAAA", 404),
    "limit=0": Bad("GET", "/cases?limit=0", 422, pointers=frozenset({"/limit"})),
    "limit=101": Bad("GET", "/cases?limit=101", 422, pointers=frozenset({"/limit"})),
    "limit=ten": Bad("GET", "/cases?limit=ten", 422, pointers=frozenset({"/limit"})),
    "status=bogus": Bad("GET", "/cases?status=bogus", 422, pointers=frozenset({"/status"})),
    "stage=Bad-Stage": Bad("GET", "/cases?stage=Bad-Stage", 422, pointers=frozenset({"/stage"})),
    "unknown query parameter": Bad("GET", "/cases?sort=title", 422, pointers=frozenset({"/sort"})),
    "timeline order=sideways": Bad(
        "GET", f"/cases/{UNKNOWN_CASE_ID}/timeline?order=sideways", 422, pointers=frozenset({"/order"})
    ),
    "timeline filtered by 101 event types": Bad(
        "GET", f"/cases/{UNKNOWN_CASE_ID}/timeline?type=" + ",".join(f"a.t{n}" for n in range(101)), 422
    ),
    "unknown route": Bad("GET", "/tickets", 404),
    "unknown nested route": Bad("GET", f"/cases/{UNKNOWN_CASE_ID}/documents", 404),
    "wrong method": Bad("DELETE", "/cases", 405),
    "wrong method on a case": Bad("PUT", f"/cases/{UNKNOWN_CASE_ID}", 405, case_with()),
    "wrong method on a timeline": Bad("POST", f"/cases/{UNKNOWN_CASE_ID}/timeline", 405, b"{}"),
}


def _authorization(stack: LocalStack, auth: str) -> dict[str, str]:
    idp = stack.idp
    key_file = stack.options.state_dir / "dev-signing-key.pem"
    claims: dict[str, Any] = {"subject": "dev-mallory", "email": "mallory@example.org"}
    staff = ["caseline-admins", "caseline-staff"]
    tokens: dict[str, Callable[[], str]] = {
        "admin": lambda: stack.staff_token(admin=True),
        "staff": lambda: stack.staff_token(admin=False),
        "garbage": lambda: "not.a.jwt",
        "expired": lambda: idp.issue(**claims, groups=staff, lifetime_seconds=60, now=time.time() - 3600),
        "other-issuer": lambda: DevIdentityProvider("http://127.0.0.1:1/evil", key_file).issue(**claims, groups=staff),
        "other-client": lambda: _other_client(idp.issuer, key_file).issue(**claims, groups=staff),
        "other-key": lambda: DevIdentityProvider(idp.issuer).issue(**claims, groups=staff),
        "forged": lambda: _forged(stack),
        "alg-none": lambda: jwt.encode(
            {
                "sub": "x",
                "iss": idp.issuer,
                "aud": idp.client_id,
                "token_use": "id",
                "iat": int(time.time()),
                "exp": int(time.time()) + 600,
                "cognito:groups": staff,
            },
            key=None,  # type: ignore[arg-type]  # PyJWT's stubs want a key even for alg none, which takes none
            algorithm="none",
            headers={"kid": idp.key_id},
        ),
        "no-groups": lambda: idp.issue(**claims, groups=[]),
        "foreign-groups": lambda: idp.issue(**claims, groups=["admins", "caseline-admin", "Caseline-Staff"]),
    }
    if auth == "none":
        return {}
    if auth == "basic":
        return {"Authorization": "Basic ZGFuYTpzZWNyZXQ="}
    return {"Authorization": f"Bearer {tokens[auth]()}"}


def _other_client(issuer: str, key_file: Any) -> DevIdentityProvider:
    other = DevIdentityProvider(issuer, key_file)
    other.client_id = "someone-elses-app"
    return other


def _forged(stack: LocalStack) -> str:
    """A well-formed token with our issuer, client and key id, signed with a key that is not ours."""
    now = int(time.time())
    claims = {
        "sub": "dev-mallory",
        "iss": stack.idp.issuer,
        "aud": stack.idp.client_id,
        "token_use": "id",
        "iat": now,
        "exp": now + 600,
        "cognito:groups": ["caseline-admins"],
    }
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(claims, other_key, algorithm="RS256", headers={"kid": stack.idp.key_id})


@pytest.fixture
def unchanged(stack: LocalStack) -> Iterator[None]:
    """Fails the test if it changed how many cases or templates the tenant has."""
    before = count_cases(stack), count_templates(stack)
    yield
    assert (count_cases(stack), count_templates(stack)) == before, "a refused request wrote something"


def send(stack: LocalStack, bad: Bad) -> tuple[int, dict[str, str], bytes]:
    headers = _authorization(stack, bad.auth)
    if bad.content_type:
        headers["Content-Type"] = bad.content_type
    return stack.api.handle(bad.method, bad.target, headers, bad.body)


@pytest.mark.parametrize("bad", BAD_REQUESTS.values(), ids=BAD_REQUESTS.keys())
def test_bad_request_is_a_problem_and_writes_nothing(stack: LocalStack, unchanged: None, bad: Bad) -> None:
    problem = assert_problem(send(stack, bad), bad.status)
    assert set(problem) >= {"type", "title", "status"}
    assert bad.pointers <= pointers(problem), problem
    if bad.pointers:
        assert problem["type"] == "urn:caseline:problem:validation-error"


def test_problem_details_do_not_echo_secrets(stack: LocalStack) -> None:
    token = DevIdentityProvider(stack.idp.issuer).issue(subject="x", email="x@example.org", groups=[])
    _status, _headers, raw = stack.api.handle("GET", "/cases", {"Authorization": f"Bearer {token}"}, None)
    assert token not in raw.decode()
    assert_problem((_status, _headers, raw), 401)


def test_problem_names_the_request_and_carries_the_correlation_id(stack: LocalStack) -> None:
    headers = {"Authorization": f"Bearer {stack.staff_token()}", "X-Correlation-Id": "corr-bad-input-1"}
    response = stack.api.handle("GET", f"/cases/{UNKNOWN_CASE_ID}", headers, None)
    problem = assert_problem(response, 404)
    assert problem["instance"] == f"/cases/{UNKNOWN_CASE_ID}"
    assert problem["correlation_id"] == "corr-bad-input-1"
    assert header(response[1], "X-Correlation-Id") == "corr-bad-input-1"


def test_a_malformed_timeline_cursor_is_refused(stack: LocalStack) -> None:
    case_id = stack.seeded_case_ids[0]
    wait_until(lambda: timeline(stack, case_id), what="the seeded case's timeline")
    status, problem = stack.request("GET", f"/cases/{case_id}/timeline?cursor=AAAA")
    assert (status, problem["type"]) == (400, "urn:caseline:problem:invalid-cursor"), problem


def test_a_cursor_of_another_filter_is_refused(stack: LocalStack, unchanged: None) -> None:
    status, page = stack.request("GET", "/cases?limit=1")
    assert status == 200
    assert page["next_cursor"], "the seeded cases make two pages"
    token = stack.staff_token()
    target = f"/cases?limit=1&status=open&cursor={page['next_cursor']}"
    assert_problem(stack.api.handle("GET", target, {"Authorization": f"Bearer {token}"}, None), 400)
    target = f"/templates?cursor={page['next_cursor']}"
    assert_problem(stack.api.handle("GET", target, {"Authorization": f"Bearer {token}"}, None), 400)


# Idempotency-Key


def post_case(
    stack: LocalStack, body: bytes, key: str | None, token: str | None = None
) -> tuple[int, dict[str, str], bytes]:
    headers = {"Authorization": f"Bearer {token or stack.staff_token()}", "Content-Type": "application/json"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return stack.api.handle("POST", "/cases", headers, body)


def test_same_idempotency_key_twice_creates_one_case(stack: LocalStack) -> None:
    key = f"open-{uuid.uuid4()}"
    before = count_cases(stack)
    first_status, first_headers, first_raw = post_case(stack, case_with(), key)
    assert first_status == 201, first_raw
    assert header(first_headers, "Idempotent-Replayed") is None
    second_status, second_headers, second_raw = post_case(stack, case_with(), key)
    assert second_status == 201, second_raw
    assert header(second_headers, "Idempotent-Replayed") == "true"
    first, second = json.loads(first_raw), json.loads(second_raw)
    assert second["id"] == first["id"]
    assert second == first
    assert header(second_headers, "Location") == f"/cases/{first['id']}"
    assert count_cases(stack) == before + 1


def test_same_idempotency_key_with_another_body_is_refused(stack: LocalStack) -> None:
    key = f"open-{uuid.uuid4()}"
    status, _headers, raw = post_case(stack, case_with(), key)
    assert status == 201, raw
    before = count_cases(stack)
    problem = assert_problem(post_case(stack, case_with(title="Another title"), key), 422)
    assert problem["errors"] == [
        {"location": "header", "pointer": "/Idempotency-Key", "detail": "reused with another body"}
    ]
    assert count_cases(stack) == before


def test_idempotency_keys_are_per_caller(stack: LocalStack) -> None:
    key = f"open-{uuid.uuid4()}"
    before = count_cases(stack)
    first = post_case(stack, case_with(), key, token=stack.staff_token(email="ana@demo.caseline.local"))
    second = post_case(stack, case_with(), key, token=stack.staff_token(email="ben@demo.caseline.local"))
    assert first[0] == second[0] == 201
    assert header(second[1], "Idempotent-Replayed") is None
    assert json.loads(first[2])["id"] != json.loads(second[2])["id"]
    assert count_cases(stack) == before + 2


def test_idempotent_template_publish_replays(stack: LocalStack) -> None:
    key = f"publish-{uuid.uuid4()}"
    template_key = f"idem-{uuid.uuid4().hex[:12]}"
    body = json.dumps({"key": template_key, "name": "Idempotent", "stages": [{"key": "s", "name": "S"}]}).encode()
    headers = {
        "Authorization": f"Bearer {stack.staff_token()}",
        "Content-Type": "application/json",
        "Idempotency-Key": key,
    }
    before = count_templates(stack)
    first = stack.api.handle("POST", "/templates", headers, body)
    second = stack.api.handle("POST", "/templates", headers, body)
    assert first[0] == second[0] == 201, second[2]
    assert header(second[1], "Idempotent-Replayed") == "true"
    assert json.loads(first[2]) == json.loads(second[2])
    assert count_templates(stack) == before + 1


@pytest.mark.parametrize(
    "key",
    ["k" * 256, "k" * 300, "", "has space", "tab\tinside", "caf\u00e9"],
    ids=["256 chars", "300 chars", "empty", "space", "tab", "non-ascii"],
)
def test_invalid_idempotency_key_is_refused(stack: LocalStack, unchanged: None, key: str) -> None:
    problem = assert_problem(post_case(stack, case_with(), key), 400)
    assert problem["type"] == "urn:caseline:problem:invalid-idempotency-key"


def test_idempotency_key_on_a_read_is_refused(stack: LocalStack) -> None:
    headers = {"Authorization": f"Bearer {stack.staff_token()}", "Idempotency-Key": "read-1"}
    assert_problem(stack.api.handle("GET", "/cases", headers, None), 400)


def test_longest_valid_idempotency_key_is_accepted(stack: LocalStack) -> None:
    key = "~" + uuid.uuid4().hex + "k" * 222
    assert len(key) == 255
    status, _headers, raw = post_case(stack, case_with(), key)
    assert status == 201, raw


# Commands on a case: every refusal leaves the case exactly as it was

SEEDED = "{seeded}"
CASE_COMMANDS: dict[str, Bad] = {
    "patch without a precondition": Bad("PATCH", SEEDED, 428, b'{"fields": {"remote": true}}'),
    "patch with a malformed If-Match": Bad("PATCH", SEEDED, 400, b'{"fields": {"remote": true}}', auth="if-match-junk"),
    "patch with a stale If-Match": Bad("PATCH", SEEDED, 412, b'{"fields": {"remote": true}}', auth="if-match-stale"),
    "patch with a stale version": Bad("PATCH", SEEDED, 409, b'{"fields": {"remote": true}, "version": 999}'),
    "patch an unknown field": Bad(
        "PATCH", SEEDED, 422, b'{"fields": {"shoe_size": 44}, "version": 1}', pointers=frozenset({"/fields/shoe_size"})
    ),
    "patch a wrong type": Bad(
        "PATCH", SEEDED, 422, b'{"fields": {"remote": "yes"}, "version": 1}', pointers=frozenset({"/fields/remote"})
    ),
    "clear a required field": Bad(
        "PATCH",
        SEEDED,
        422,
        b'{"fields": {"department": null}, "version": 1}',
        pointers=frozenset({"/fields/department"}),
    ),
    "transition to an unknown stage": Bad(
        "POST", SEEDED + "/transitions", 422, b'{"to": "nowhere"}', pointers=frozenset({"/to"})
    ),
    "transition to the current stage": Bad(
        "POST", SEEDED + "/transitions", 422, b'{"to": "offer_signed"}', pointers=frozenset({"/to"})
    ),
    "skip a stage without a reason": Bad(
        "POST", SEEDED + "/transitions", 422, b'{"to": "first_month"}', pointers=frozenset({"/reason"})
    ),
    "transition without a target": Bad("POST", SEEDED + "/transitions", 422, b"{}", pointers=frozenset({"/to"})),
    "complete an unknown task": Bad("POST", SEEDED + f"/tasks/{UNKNOWN_CASE_ID}/complete", 404),
    "internal participant without a user id": Bad(
        "POST", SEEDED + "/participants", 422, b'{"kind": "internal", "role": "team"}', pointers=frozenset({"/user_id"})
    ),
    "participant with an unknown role": Bad(
        "POST",
        SEEDED + "/participants",
        422,
        b'{"kind": "internal", "role": "boss", "user_id": "dev-x"}',
        pointers=frozenset({"/role"}),
    ),
    "remove an unknown participant": Bad("DELETE", SEEDED + f"/participants/{UNKNOWN_CASE_ID}", 404),
    "an unknown decision": Bad(
        "POST", SEEDED + "/decisions", 422, b'{"key": "nope", "outcome": "yes"}', pointers=frozenset({"/key"})
    ),
    "upload of an unknown document type": Bad(
        "POST",
        SEEDED + "/documents/uploads",
        422,
        b'{"type": "passport", "filename": "p.pdf", "content_type": "application/pdf", "size": 10}',
        pointers=frozenset({"/type"}),
    ),
    "upload with a path in its name": Bad(
        "POST",
        SEEDED + "/documents/uploads",
        422,
        b'{"type": "passport", "filename": "../etc/passwd", "content_type": "text/plain", "size": 10}',
        pointers=frozenset({"/filename"}),
    ),
    "confirm an upload that never arrived": Bad("POST", SEEDED + f"/documents/uploads/{UNKNOWN_CASE_ID}/confirm", 404),
    "download a missing document": Bad("GET", SEEDED + "/documents/contract/versions/1", 404),
    "download version zero": Bad("GET", SEEDED + "/documents/contract/versions/0", 404),
    "download version abc": Bad("GET", SEEDED + "/documents/contract/versions/abc", 404),
    "close outside a final stage": Bad("POST", SEEDED + "/close", 409, b"{}"),
    "reopen an open case": Bad("POST", SEEDED + "/reopen", 409, b'{"reason": "why"}'),
    "cancel without a reason": Bad("POST", SEEDED + "/cancel", 422, b"{}", pointers=frozenset({"/reason"})),
    "an empty comment": Bad("POST", SEEDED + "/comments", 422, b'{"body": ""}', pointers=frozenset({"/body"})),
    "a comment over 10000 characters": Bad(
        "POST", SEEDED + "/comments", 422, json.dumps({"body": "x" * 10_001}).encode(), pointers=frozenset({"/body"})
    ),
    "assign to the current owner": Bad(
        "POST", SEEDED + "/assignment", 422, b'{"owner": "dev-admin"}', pointers=frozenset({"/owner"})
    ),
    "a command on an unknown case": Bad("POST", f"/cases/{UNKNOWN_CASE_ID}/transitions", 404, b'{"to": "paperwork"}'),
    "a command by a caller without a staff group": Bad(
        "POST", SEEDED + "/transitions", 403, b'{"to": "paperwork"}', auth="no-groups"
    ),
    # templates
    "a diff of a version that does not exist": Bad("GET", "/templates/employee-onboarding/diff?from=1&to=9", 404),
    "a diff without versions": Bad("GET", "/templates/employee-onboarding/diff", 422, pointers=frozenset({"/from"})),
    "a migration preview to a missing version": Bad(
        "GET", "/templates/employee-onboarding/migrations?to_version=9", 404
    ),
    "a migration of a case id no id could be": Bad(
        "POST",
        "/templates/employee-onboarding/migrations",
        422,
        json.dumps({"to_version": 1, "case_ids": [UNKNOWN_CASE_ID, "x" * 2048]}).encode(),
        pointers=frozenset({"/case_ids/1"}),
    ),
    "a draft under another key": Bad(
        "PUT",
        "/templates/employee-onboarding/draft",
        422,
        json.dumps({"key": "other-key", "name": "Other", "stages": [{"key": "s", "name": "S"}]}).encode(),
        pointers=frozenset({"/key"}),
    ),
    "publishing without a draft": Bad("POST", "/templates/employee-onboarding/versions", 404, b"{}"),
    "a version that is not a number": Bad("GET", "/templates/employee-onboarding/versions/latest", 404),
}


@pytest.mark.parametrize("bad", CASE_COMMANDS.values(), ids=CASE_COMMANDS.keys())
def test_a_refused_command_changes_nothing(stack: LocalStack, bad: Bad) -> None:
    case_id = stack.seeded_case_ids[0]
    before = stack.request("GET", f"/cases/{case_id}")[1]
    auth, extra = bad.auth, {}
    if auth.startswith("if-match"):
        auth, extra = "admin", {"If-Match": "yesterday" if auth == "if-match-junk" else '"999"'}
    headers = {**_authorization(stack, auth), **extra}
    if bad.body is not None:
        headers["Content-Type"] = "application/json"
    target = bad.target.replace(SEEDED, f"/cases/{case_id}")
    problem = assert_problem(stack.api.handle(bad.method, target, headers, bad.body), bad.status)
    assert bad.pointers <= pointers(problem), problem
    assert stack.request("GET", f"/cases/{case_id}")[1] == before, "a refused command changed the case"
    if bad.status in (409, 412) and bad.method == "PATCH":
        assert problem["current_version"] == before["version"]
