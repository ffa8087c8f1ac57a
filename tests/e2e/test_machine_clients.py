"""Machine clients over real HTTP: `caseline client create`, a token from `/oauth2/token`, the API's scopes, and each
client's own usage plan (`--rate`, `--burst`, `caseline client limit`)."""

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner
from waiting import wait_until

from caseline.client_cli import client_app
from caseline.local.stack import DEMO_DIR, LocalStack

CASE_WAIT_SECONDS = 20


@pytest.fixture(scope="module")
def http(stack: LocalStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.url, timeout=10) as client:
        yield client


def create_client(stack: LocalStack, name: str, *scopes: str, limit: tuple[str, str] | None = None) -> dict[str, str]:
    """`caseline client create`, as an operator runs it against the local emulator's Cognito and API Gateway."""
    arguments = ["create", name, "--tenant", stack.options.tenant_id, "--endpoint-url", stack.aws_endpoint]
    for scope in scopes:
        arguments += ["--scope", scope]
    if limit is not None:
        arguments += ["--rate", limit[0], "--burst", limit[1]]
    result = CliRunner().invoke(client_app, arguments)
    assert result.exit_code == 0, result.output
    return dict(line.split(": ", 1) for line in result.stdout.splitlines() if ": " in line)


def token(http: httpx.Client, created: dict[str, str], **form: str) -> httpx.Response:
    return http.post(
        created["token_url"],
        auth=(created["client_id"], created["client_secret"]),
        data={"grant_type": "client_credentials", **form},
    )


def bearer(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_create_prints_the_client_its_secret_and_the_gateways_token_url(stack: LocalStack) -> None:
    created = create_client(stack, "ledger-sync", "cases.read")

    assert created["token_url"] == f"{stack.url}/oauth2/token"
    assert created["scopes"] == "caseline/cases.read"
    assert created["client_id"]
    assert created["client_secret"]
    listed = CliRunner().invoke(
        client_app, ["list", "--tenant", stack.options.tenant_id, "--endpoint-url", stack.aws_endpoint]
    )
    assert created["client_id"] in listed.stdout
    assert created["client_secret"] not in listed.stdout


def test_a_read_client_lists_cases_and_is_refused_a_write(stack: LocalStack, http: httpx.Client) -> None:
    created = create_client(stack, "reporting", "cases.read")
    issued = token(http, created)
    assert issued.json()["token_type"] == "Bearer"
    assert issued.headers["Cache-Control"] == "no-store"
    headers = bearer(issued)

    listed = http.get("/cases", headers=headers)
    assert listed.status_code == 200, listed.text
    assert listed.json()["items"]
    # The directory too: an integration names the people its cases mention.
    people = http.get("/people", params={"q": "dana admin"}, headers=headers)
    assert [person["subject"] for person in people.json()["items"]] == ["dev-admin"], people.text

    # Refused by the API's authorizer, before any function runs (API Gateway's answer in AWS).
    refused = http.post("/cases", headers=headers, json={"template_key": "employee-onboarding", "title": "x"})
    assert refused.status_code == 403
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert refused.json()["detail"] == "The token does not grant this operation's scope."
    assert http.post("/webhooks", headers=headers, json={}).status_code == 403


def test_a_write_client_opens_a_case_and_the_timeline_and_runs_name_it(stack: LocalStack, http: httpx.Client) -> None:
    created = create_client(stack, "claims-intake", "cases.read", "cases.write")
    # Form fields instead of HTTP Basic (RFC 6749 2.3.1 allows both), asking for part of its scopes then all.
    narrowed = http.post(
        created["token_url"],
        data={
            "grant_type": "client_credentials",
            "client_id": created["client_id"],
            "client_secret": created["client_secret"],
            "scope": "caseline/cases.read",
        },
    )
    assert http.post("/cases", headers=bearer(narrowed), json={}).status_code == 403
    headers = bearer(token(http, created))

    claim = json.loads((DEMO_DIR / "cases.json").read_text())[4]  # the insurance claim: its rules run on opening
    opened = http.post("/cases", headers=headers, json=claim)
    assert opened.status_code == 201, opened.text
    case_id = opened.json()["id"]
    client_actor = {"kind": "client", "id": created["client_id"], "display_name": None}

    def opening() -> dict[str, Any] | None:
        answer = http.get(f"/cases/{case_id}/timeline", headers=headers)
        items = answer.json()["items"] if answer.status_code == 200 else []
        return next((item["event"] for item in items if item["event"]["type"] == "case.opened"), None)

    event = wait_until(opening, timeout=CASE_WAIT_SECONDS, what="case.opened on the timeline")
    assert event["actor"] == client_actor

    def runs() -> list[dict[str, Any]] | None:
        items = http.get("/automations/runs", headers=headers, params={"case_id": case_id}).json()["items"]
        return [run for run in items if run["event_type"] == "case.opened"] or None

    on_opening = wait_until(runs, timeout=CASE_WAIT_SECONDS, what="the claim's rules ran on case.opened")
    assert {run["event_id"] for run in on_opening} == {event["event_id"]}
    assert all(run["triggered_by"] == client_actor for run in on_opening)


@pytest.mark.parametrize(
    ("secret", "form", "status", "error"),
    [
        ("wrong", {"grant_type": "client_credentials"}, 401, "invalid_client"),
        (None, {"grant_type": "client_credentials"}, 401, "invalid_client"),
        ("right", {"grant_type": "authorization_code"}, 400, "unsupported_grant_type"),
        ("right", {"grant_type": "client_credentials", "scope": "caseline/templates.admin"}, 400, "invalid_scope"),
    ],
    ids=["bad secret", "no credentials", "other grant", "scope it does not hold"],
)
def test_the_token_endpoint_answers_rfc_6749_errors(
    stack: LocalStack, http: httpx.Client, secret: str | None, form: dict[str, str], status: int, error: str
) -> None:
    created = create_client(stack, "errors", "cases.read")
    secrets = {"right": created["client_secret"], "wrong": "not-the-secret"}
    if secret is None:
        answer = http.post(created["token_url"], data=form)
    else:
        answer = http.post(created["token_url"], auth=(created["client_id"], secrets[secret]), data=form)

    assert answer.status_code == status
    assert answer.json()["error"] == error
    if status == 401:
        assert answer.headers["WWW-Authenticate"].startswith("Basic")


def test_create_refuses_an_unknown_scope_and_a_tenant_not_deployed(stack: LocalStack) -> None:
    runner = CliRunner()
    base = ["create", "x", "--endpoint-url", stack.aws_endpoint]
    bad_scope = runner.invoke(client_app, [*base, "--tenant", stack.options.tenant_id, "--scope", "cases.delete"])
    assert bad_scope.exit_code == 2
    assert "cases.delete" in bad_scope.output

    no_pool = runner.invoke(client_app, [*base, "--tenant", "nobody", "--scope", "cases.read"])
    assert no_pool.exit_code == 1
    assert "No API caseline-nobody-api: is the tenant 'nobody' deployed" in no_pool.output


def test_one_clients_flood_is_refused_while_another_client_and_staff_are_served(
    stack: LocalStack, http: httpx.Client
) -> None:
    noisy = create_client(stack, "noisy-sync", "cases.read", limit=("1", "3"))
    quiet = create_client(stack, "quiet-sync", "cases.read")
    assert noisy["limit"] == "1/s, burst 3"
    assert quiet["limit"] == "10/s, burst 20"  # the default plan
    noisy_headers, quiet_headers = bearer(token(http, noisy)), bearer(token(http, quiet))
    staff = {"Authorization": f"Bearer {stack.staff_token()}"}

    answers = [http.get("/cases", headers=noisy_headers, params={"limit": 1}) for _ in range(8)]

    assert answers[0].status_code == 200
    refused = [answer for answer in answers if answer.status_code == 429]
    assert len(refused) >= 3  # a burst of 3, then 1 a second
    assert refused[0].headers["Retry-After"] == "1"
    assert refused[0].headers["Content-Type"] == "application/problem+json"
    assert refused[0].json()["title"] == "Too many requests"
    assert http.get("/cases", headers=quiet_headers, params={"limit": 1}).status_code == 200
    assert http.get("/cases", headers=staff, params={"limit": 1}).status_code == 200

    raised = CliRunner().invoke(
        client_app,
        ["limit", noisy["client_id"], "--rate", "100", "--burst", "50", "--tenant", stack.options.tenant_id,
         "--endpoint-url", stack.aws_endpoint],
    )  # fmt: skip
    assert raised.exit_code == 0, raised.output
    listed = CliRunner().invoke(
        client_app, ["list", "--tenant", stack.options.tenant_id, "--endpoint-url", stack.aws_endpoint]
    )
    assert "100/s, burst 50" in listed.stdout

    def served_in_full() -> bool | None:  # the gateway reads plans again within 5 s, as API Gateway within a minute
        return all(http.get("/cases", headers=noisy_headers).status_code == 200 for _ in range(8)) or None

    wait_until(served_in_full, timeout=CASE_WAIT_SECONDS, what="the raised limit applied")

    deleted = CliRunner().invoke(
        client_app,
        ["delete", noisy["client_id"], "--tenant", stack.options.tenant_id, "--endpoint-url", stack.aws_endpoint],
    )
    assert deleted.exit_code == 0, deleted.output
    # Its token has not expired, but its plan is gone: refused (API Gateway: no usage plan for the key).
    gone = wait_until(
        lambda: ((answer := http.get("/cases", headers=noisy_headers)).status_code == 403 and answer) or None,
        timeout=CASE_WAIT_SECONDS,
        what="the deleted client's token refused",
    )
    assert "usage plan" in gone.json()["detail"]


def test_limits_out_of_range_are_refused_before_anything_is_made(stack: LocalStack) -> None:
    runner = CliRunner()
    base = ["--tenant", stack.options.tenant_id, "--endpoint-url", stack.aws_endpoint]
    zero = runner.invoke(client_app, ["create", "zero-rate", "--scope", "cases.read", "--rate", "0", *base])
    assert zero.exit_code == 1
    assert "The rate must be above 0" in zero.output
    listed = runner.invoke(client_app, ["list", *base])
    assert "zero-rate" not in listed.stdout
    unknown = runner.invoke(client_app, ["limit", "no-such-client", "--rate", "5", "--burst", "5", *base])
    assert unknown.exit_code == 1
    assert "No client no-such-client" in unknown.output
