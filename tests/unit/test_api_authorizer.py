"""The API's authorizer: the route's scope, the usage key of the app client a token came from, API Gateway's policy;
and the local gateway's usage plans (a token bucket per app client at its plan's rate and burst)."""

import time
from typing import Any

import jwt
import pytest
from caseline_common.auth import TokenVerifier
from caseline_common.authorizer import RouteScopes, authorizer_response, decide, operation_access
from caseline_common.scopes import Scope
from test_client_tokens_and_scopes import ISSUER, KEY, KEY_ID, STAFF_CLIENT, client_token, staff_access_token
from test_client_tokens_and_scopes import verifier as verifier

from caseline.local.client_limits import ClientLimits, Refusal, TokenBucket
from caseline.usage_plans import Limit, UsagePlanError

SCOPES = RouteScopes.of(
    [
        ("GET", "/cases/{case_id}", Scope.CASES_READ),
        ("POST", "/cases", Scope.CASES_WRITE),
        ("POST", "/templates/{key}/versions", Scope.TEMPLATES_ADMIN),
        ("GET", "/webhooks", Scope.WEBHOOKS_ADMIN),
    ]
)
METHOD_ARN = "arn:aws:execute-api:eu-west-1:111122223333:a1b2c3/api/GET/cases/01JCASE"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def person_id_token() -> str:
    now = int(time.time())
    claims = {"sub": "b1f0c2d3-person", "aud": STAFF_CLIENT, "token_use": "id", "iss": ISSUER, "iat": now,
              "exp": now + 600, "email": "dana@example.org", "cognito:groups": ["caseline-staff"]}  # fmt: skip
    return jwt.encode(claims, KEY, algorithm="RS256", headers={"kid": KEY_ID})


def test_only_routes_off_their_methods_default_scope_are_listed() -> None:
    assert set(SCOPES.others) == {"POST /templates/{key}/versions", "GET /webhooks"}
    assert SCOPES.needed("GET", "/cases/{case_id}") == Scope.CASES_READ
    assert SCOPES.needed("DELETE", "/cases/{case_id}/documents/{document_id}") == Scope.CASES_WRITE
    assert SCOPES.needed("GET", "/webhooks") == Scope.WEBHOOKS_ADMIN
    assert RouteScopes.model_validate_json(SCOPES.model_dump_json()) == SCOPES  # as the function's environment has it


def test_a_client_is_allowed_the_routes_of_its_scopes_and_is_its_own_usage_key(verifier: TokenVerifier) -> None:
    headers = bearer(client_token("caseline/cases.read", client_id="integrator-7f3a"))

    reading = decide(verifier, SCOPES, headers, "GET", "/cases/{case_id}")
    writing = decide(verifier, SCOPES, headers, "POST", "/cases")

    assert (reading.allowed, writing.allowed) == (True, False)
    assert reading.usage_identifier == writing.usage_identifier == "integrator-7f3a"


def test_people_count_against_the_staff_clients_plan(verifier: TokenVerifier) -> None:
    by_access_token = decide(verifier, SCOPES, bearer(staff_access_token("caseline/cases.read")), "GET", "/webhooks")
    by_id_token = decide(verifier, SCOPES, bearer(person_id_token()), "GET", "/webhooks")

    assert by_access_token.usage_identifier == by_id_token.usage_identifier == STAFF_CLIENT
    assert not by_access_token.allowed  # the access token's scopes are the finer guard
    assert by_id_token.allowed  # an ID token has no scopes: the person's groups govern, in the service


def policy_of(response: dict[str, Any]) -> tuple[str, list[str]]:
    (statement,) = response["policyDocument"]["Statement"]
    return statement["Effect"], statement["Resource"]


def request(token: str, method: str = "GET", resource: str = "/cases/{case_id}") -> dict[str, Any]:
    return {"type": "REQUEST", "methodArn": METHOD_ARN, "resource": resource, "path": "/cases/01JCASE",
            "httpMethod": method, "headers": bearer(token)}  # fmt: skip


def test_the_policy_covers_the_resource_with_any_path_parameter(verifier: TokenVerifier) -> None:
    response = authorizer_response(request(client_token("caseline/cases.read")), verifier, SCOPES)

    assert policy_of(response) == (
        "Allow",
        ["arn:aws:execute-api:eu-west-1:111122223333:a1b2c3/api/GET/cases/*"],
    )
    assert response["usageIdentifierKey"] == "integrator-7f3a"
    assert response["context"] == {"clientId": "integrator-7f3a"}
    assert response["principalId"] == "integrator-7f3a"


def test_a_token_without_the_routes_scope_is_denied(verifier: TokenVerifier) -> None:
    response = authorizer_response(
        request(client_token("caseline/cases.read"), "POST", "/templates/{key}/versions"), verifier, SCOPES
    )

    assert policy_of(response) == (
        "Deny",
        ["arn:aws:execute-api:eu-west-1:111122223333:a1b2c3/api/POST/templates/*/versions"],
    )


@pytest.mark.parametrize(
    "token",
    [
        client_token("caseline/cases.read", exp=int(time.time()) - 60),
        client_token("caseline/cases.read", iss="https://cognito-idp.eu-west-1.amazonaws.com/other"),
        client_token("other/scope"),
        "not-a-token",
    ],
    ids=["expired", "another issuer", "none of our scopes", "garbage"],
)
def test_an_invalid_token_fails_with_the_message_api_gateway_answers_401_to(
    verifier: TokenVerifier, token: str
) -> None:
    with pytest.raises(PermissionError, match=r"^Unauthorized$"):
        authorizer_response(request(token), verifier, SCOPES)


def test_operation_access_reads_the_openapi_security_requirement() -> None:
    assert operation_access({"security": [{"bearer": []}, {"oauth2": ["caseline/cases.read"]}]}) == (
        False,
        "caseline/cases.read",
    )
    assert operation_access({"security": []}) == (True, None)
    assert operation_access(None) == (False, None)  # undocumented: assumed to need a token


def test_a_bucket_allows_its_burst_then_its_rate() -> None:
    bucket = TokenBucket(Limit(rate_per_second=2, burst=3), now=0.0)

    assert [bucket.take(0.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.take(0.5)  # one token back after half a second at 2/s
    assert not bucket.take(0.5)
    assert [bucket.take(10.0) for _ in range(4)] == [True, True, True, False]  # never more than the burst


@pytest.mark.parametrize(("rate", "burst"), [(0, 5), (-1, 5), (5, 0), (20_000, 5), (5, 10_000)])
def test_limits_out_of_range_are_refused_in_words(rate: float, burst: int) -> None:
    with pytest.raises(UsagePlanError, match="must be"):
        Limit(rate, burst)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_one_clients_flood_spends_its_own_bucket_not_anothers(verifier: TokenVerifier) -> None:
    plans = {"noisy-client-000000000": Limit(1, 2), "quiet-client-000000000": Limit(1, 2), STAFF_CLIENT: Limit(50, 100)}
    clock = Clock()
    limits = ClientLimits(verifier, SCOPES, lambda: plans, clock)
    noisy = bearer(client_token("caseline/cases.read", client_id="noisy-client-000000000"))
    quiet = bearer(client_token("caseline/cases.read", client_id="quiet-client-000000000"))

    answers = [limits.admit(noisy, "GET", "/cases/{case_id}") for _ in range(5)]

    assert answers[:2] == [None, None]
    assert {(refusal.status, refusal.retry_after_seconds) for refusal in answers[2:] if refusal} == {(429, 1)}
    assert limits.admit(quiet, "GET", "/cases/{case_id}") is None
    assert limits.admit(bearer(person_id_token()), "GET", "/cases/{case_id}") is None
    clock.now += 1
    assert limits.admit(noisy, "GET", "/cases/{case_id}") is None  # refilled at its rate


def test_refusals_without_a_token_a_scope_or_a_plan(verifier: TokenVerifier) -> None:
    limits = ClientLimits(verifier, SCOPES, lambda: {}, Clock())

    anonymous = limits.admit({}, "GET", "/cases/{case_id}")
    denied = limits.admit(bearer(client_token("caseline/cases.read")), "POST", "/cases")
    planless = limits.admit(bearer(client_token("caseline/cases.read")), "GET", "/cases/{case_id}")

    assert anonymous == Refusal(401, "Unauthorized", "A valid bearer token is required.")
    assert denied == Refusal(403, "Forbidden", "The token does not grant this operation's scope.")
    assert planless is not None
    assert planless.status == 403
    assert "caseline client limit" in planless.detail
