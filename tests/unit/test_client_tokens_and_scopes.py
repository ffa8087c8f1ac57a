"""Machine clients: their access tokens become principals with scopes, and every operation checks its scope."""

import json
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from aws_lambda_powertools import Logger
from caseline_common.auth import AuthenticationError, TokenVerifier
from caseline_common.envelope import Actor, ActorKind
from caseline_common.http import Call, HttpApi, Reply
from caseline_common.scopes import Scope, default_scope, ours
from caseline_common.tenant import Principal, StaffRole
from chalice.app import Blueprint, Chalice
from chalice.test import Client
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

ISSUER = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_pool"
STAFF_CLIENT = "staff-console"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
KEY_ID = "key-1"


@pytest.fixture
def verifier(monkeypatch: pytest.MonkeyPatch) -> TokenVerifier:
    checking = TokenVerifier(issuer=ISSUER, client_ids=[STAFF_CLIENT], jwks_url=f"{ISSUER}/.well-known/jwks.json")
    public = {**json.loads(RSAAlgorithm.to_jwk(KEY.public_key())), "kid": KEY_ID, "use": "sig", "alg": "RS256"}
    monkeypatch.setattr(checking._jwks, "fetch_data", lambda: {"keys": [public]})
    return checking


def client_token(scope: str, client_id: str = "integrator-7f3a", **changes: Any) -> str:
    """A client-credentials access token as Cognito issues it."""
    now = int(time.time())
    claims = {
        "sub": client_id,
        "client_id": client_id,
        "token_use": "access",
        "scope": scope,
        "iss": ISSUER,
        "iat": now,
        "exp": now + 600,
        "version": 2,
        **changes,
    }
    return jwt.encode(claims, KEY, algorithm="RS256", headers={"kid": KEY_ID})


def staff_access_token(scope: str) -> str:
    now = int(time.time())
    claims = {
        "sub": "b1f0c2d3-person",
        "client_id": STAFF_CLIENT,
        "token_use": "access",
        "scope": scope,
        "username": "dana",
        "cognito:groups": ["caseline-staff"],
        "iss": ISSUER,
        "iat": now,
        "exp": now + 600,
    }
    return jwt.encode(claims, KEY, algorithm="RS256", headers={"kid": KEY_ID})


def test_a_read_only_client_token_is_a_client_acting_as_viewer(verifier: TokenVerifier) -> None:
    principal = verifier.verify(client_token("caseline/cases.read"))

    assert principal == Principal(
        subject="integrator-7f3a",
        groups=frozenset({StaffRole.VIEWER.value}),
        client=True,
        scopes=frozenset({Scope.CASES_READ}),
        app_client="integrator-7f3a",  # its own usage plan's key
    )
    assert principal.actor() == Actor(kind=ActorKind.CLIENT, id="integrator-7f3a")


def test_a_client_with_any_write_scope_acts_as_administrator(verifier: TokenVerifier) -> None:
    principal = verifier.verify(client_token("caseline/cases.read caseline/webhooks.admin"))

    assert principal.client
    assert principal.roles == frozenset({StaffRole.ADMIN})
    assert principal.scopes == frozenset({Scope.CASES_READ, Scope.WEBHOOKS_ADMIN})


def test_a_client_of_any_app_client_of_the_issuer_is_accepted(verifier: TokenVerifier) -> None:
    # Clients are created at run time, so they are not among the configured client ids.
    assert verifier.verify(client_token("caseline/cases.write", client_id="made-later")).subject == "made-later"


@pytest.mark.parametrize(
    "scope", ["other-api/cases.read", "caseline/cases.delete", "openid", "", "caseline", "cases.read"]
)
def test_a_client_token_without_our_scopes_is_refused(verifier: TokenVerifier, scope: str) -> None:
    with pytest.raises(AuthenticationError):
        verifier.verify(client_token(scope))


def test_a_client_token_of_another_issuer_is_refused(verifier: TokenVerifier) -> None:
    with pytest.raises(AuthenticationError):
        verifier.verify(client_token("caseline/cases.read", iss="https://cognito-idp.eu-west-1.amazonaws.com/other"))


def test_a_client_token_cannot_claim_groups(verifier: TokenVerifier) -> None:
    groups: dict[str, Any] = {"cognito:groups": ["caseline-admins"]}
    principal = verifier.verify(client_token("caseline/cases.read", **groups))

    assert principal.roles == frozenset({StaffRole.VIEWER})


def test_a_persons_access_token_keeps_its_groups_and_carries_its_scopes(verifier: TokenVerifier) -> None:
    principal = verifier.verify(staff_access_token("openid email caseline/cases.read caseline/cases.write"))

    assert not principal.client
    assert principal.roles == frozenset({StaffRole.STAFF})
    assert principal.scopes == frozenset({Scope.CASES_READ, Scope.CASES_WRITE})
    assert principal.actor().kind is ActorKind.USER


def test_scopes_of_a_claim_are_ours_only() -> None:
    assert ours("caseline/cases.read other/cases.write caseline/nope caseline/templates.admin") == {
        Scope.CASES_READ,
        Scope.TEMPLATES_ADMIN,
    }
    assert ours(None) == frozenset()
    assert default_scope("GET") is Scope.CASES_READ
    assert default_scope("DELETE") is Scope.CASES_WRITE


@pytest.fixture
def scoped_app(verifier: TokenVerifier) -> Iterator[Client]:
    """Three operations: a read, a write and a template change, each answering with the caller's actor."""
    app = Chalice(app_name="scoped-things")
    blueprint = Blueprint("tests.scopes")
    api = HttpApi(
        service="scopes",
        blueprint=blueprint,
        tenant_id=lambda: "acme",
        verifier=lambda: verifier,
        max_request_bytes=lambda: 1024,
        logger=Logger(service="scopes"),
    )

    def who(call: Call) -> Reply:
        return Reply(call.tenant().principal.actor())

    for method, path, scope in [("GET", "/things", None), ("POST", "/things", None), ("PUT", "/forms", "admin")]:
        view = lambda call: who(call)  # noqa: E731 - one view per operation, named below
        view.__name__ = f"{method.lower()}_{path.strip('/')}"
        api.operation(method, path, summary=path, scope=Scope.TEMPLATES_ADMIN if scope else None)(view)
    app.register_blueprint(blueprint)
    with Client(app) as client:
        yield client


def _call(client: Client, method: str, path: str, token: str) -> Any:
    return client.http.request(method, path, headers={"Authorization": f"Bearer {token}"}, body=b"")


def test_a_read_client_reads_and_is_refused_a_write_naming_the_scope(scoped_app: Client) -> None:
    token = client_token("caseline/cases.read")

    read = _call(scoped_app, "GET", "/things", token)
    assert read.status_code == 200
    assert json.loads(read.body) == {"kind": "client", "id": "integrator-7f3a", "display_name": None}

    refused = _call(scoped_app, "POST", "/things", token)
    assert refused.status_code == 403
    assert refused.headers["Content-Type"] == "application/problem+json"
    problem = json.loads(refused.body)
    assert problem["type"] == "urn:caseline:problem:insufficient-scope"
    assert problem["required_scope"] == "caseline/cases.write"
    assert "caseline/cases.write" in problem["detail"]
    assert refused.headers["WWW-Authenticate"] == 'Bearer error="insufficient_scope", scope="caseline/cases.write"'


def test_an_operation_with_its_own_scope_asks_for_it_and_not_the_default(scoped_app: Client) -> None:
    assert _call(scoped_app, "PUT", "/forms", client_token("caseline/cases.write")).status_code == 403
    assert _call(scoped_app, "PUT", "/forms", client_token("caseline/templates.admin")).status_code == 200


def test_a_persons_access_token_is_checked_for_scopes_and_an_id_token_is_not(scoped_app: Client) -> None:
    assert _call(scoped_app, "POST", "/things", staff_access_token("openid caseline/cases.read")).status_code == 403
    now = int(time.time())
    id_token = jwt.encode(
        {"sub": "p-1", "aud": STAFF_CLIENT, "token_use": "id", "iss": ISSUER, "iat": now, "exp": now + 600},
        KEY,
        algorithm="RS256",
        headers={"kid": KEY_ID},
    )
    assert _call(scoped_app, "POST", "/things", id_token).status_code == 200  # its groups govern, in the use case


def test_public_and_session_operations_take_no_scope() -> None:
    api = HttpApi(
        service="s",
        blueprint=Blueprint("tests.noscope"),
        tenant_id=lambda: "acme",
        verifier=lambda: TokenVerifier(issuer=ISSUER, client_ids=["c"], jwks_url="https://x"),
        max_request_bytes=lambda: 1024,
        logger=Logger(service="s"),
    )
    with pytest.raises(ValueError, match="no scope"):
        api.operation("GET", "/open", summary="open", public=True, scope=Scope.CASES_READ)
