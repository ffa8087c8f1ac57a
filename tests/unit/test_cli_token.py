"""`caseline token` mints for whom it is told (a console user by --role, or --group), never an administrator by
default, and says on stderr what it minted while stdout carries the token alone."""

import json
from pathlib import Path
from typing import Any

import jwt
import pytest
from typer.testing import CliRunner

from caseline import cli
from caseline.cli import TokenRole, app
from caseline.local.console import DEV_USERS, dev_token
from caseline.local.idp import DevIdentityProvider
from caseline.local.stack import LocalStack

runner = CliRunner()


@pytest.fixture
def issuer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DevIdentityProvider:
    """The development issuer of a `caseline dev` that ran once, with its key in the state directory."""
    monkeypatch.setattr(cli, "STATE_DIR", tmp_path)
    return DevIdentityProvider("http://127.0.0.1:8000/dev-idp", tmp_path / "dev-signing-key.pem")


def claims_of(token: str, issuer: DevIdentityProvider) -> dict[str, Any]:
    [key] = issuer.jwks()["keys"]
    public = jwt.PyJWK(key).key
    decoded: dict[str, Any] = jwt.decode(token, public, algorithms=["RS256"], audience=issuer.client_id)
    return decoded


def test_without_a_role_or_groups_nothing_is_minted(issuer: DevIdentityProvider) -> None:
    result = runner.invoke(app, ["token"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "--role admin|agent|viewer, or --group" in result.stderr


def test_a_role_and_groups_together_are_refused(issuer: DevIdentityProvider) -> None:
    result = runner.invoke(app, ["token", "--role", "agent", "--group", "caseline-admins"])
    assert result.exit_code == 2
    assert result.stdout == ""


@pytest.mark.parametrize("user", DEV_USERS, ids=[user.id for user in DEV_USERS])
def test_a_role_mints_the_console_user_and_says_so_on_stderr(issuer: DevIdentityProvider, user: Any) -> None:
    result = runner.invoke(app, ["token", "--role", user.id])
    assert result.exit_code == 0, result.stderr
    token = result.stdout.strip()
    claims = claims_of(token, issuer)
    subject = user.subject  # the console's sign-in's subject for this user (no longer dev-<e-mail's local part>)
    assert (claims["sub"], claims["email"], claims["cognito:groups"]) == (subject, user.email, list(user.groups))
    assert claims["exp"] - claims["iat"] == 12 * 3600
    said = result.stderr
    assert subject in said
    assert ", ".join(user.groups) in said
    assert "expires " in said
    assert token not in said


def test_the_viewer_token_is_not_an_administrator(issuer: DevIdentityProvider) -> None:
    result = runner.invoke(app, ["token", "--role", "viewer"])
    assert claims_of(result.stdout.strip(), issuer)["cognito:groups"] == ["caseline-viewers"]


def test_groups_mint_exactly_those_groups(issuer: DevIdentityProvider) -> None:
    result = runner.invoke(
        app, ["token", "--group", "caseline-staff", "--group", "hr-team", "--email", "pat@demo.caseline.local"]
    )
    assert result.exit_code == 0, result.stderr
    claims = claims_of(result.stdout.strip(), issuer)
    assert (claims["sub"], claims["cognito:groups"]) == ("dev-pat", ["caseline-staff", "hr-team"])
    assert "dev-pat (pat@demo.caseline.local), groups caseline-staff, hr-team" in result.stderr


def test_without_a_signing_key_it_says_to_run_dev_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "STATE_DIR", tmp_path)
    result = runner.invoke(app, ["token", "--role", "agent"])
    assert result.exit_code == 1
    assert "run `caseline dev` once first" in result.stderr


@pytest.mark.parametrize("user", DEV_USERS, ids=[user.id for user in DEV_USERS])
def test_a_role_mints_the_subject_the_console_sign_in_mints(issuer: DevIdentityProvider, user: Any) -> None:
    signed_in = dev_token(issuer, f"user={user.id}")
    assert signed_in is not None
    console_claims = claims_of(json.loads(signed_in[2])["id_token"], issuer)
    cli_claims = claims_of(runner.invoke(app, ["token", "--role", user.id]).stdout.strip(), issuer)
    assert cli_claims["sub"] == console_claims["sub"] == f"dev-{user.id}"


def test_the_roles_are_the_console_users() -> None:
    assert [role.value for role in TokenRole] == [user.id for user in DEV_USERS]


@pytest.mark.parametrize("user", DEV_USERS, ids=[user.id for user in DEV_USERS])
def test_a_console_users_address_mints_their_subject_however_asked(issuer: DevIdentityProvider, user: Any) -> None:
    """One person, one subject (issue 16): `--email` with a console user's address, and `LocalStack.staff_token`
    (which `caseline dev` prints), mint what the console's sign-in mints, not `dev-<local part>`."""
    by_email = runner.invoke(app, ["token", "--group", "caseline-staff", "--email", user.email])
    assert claims_of(by_email.stdout.strip(), issuer)["sub"] == user.subject
    stack = LocalStack()
    stack.idp = issuer
    assert claims_of(stack.staff_token(email=user.email), issuer)["sub"] == user.subject
    assert claims_of(stack.staff_token(email="pat@demo.caseline.local"), issuer)["sub"] == "dev-pat"
