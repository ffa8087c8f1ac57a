"""The synthetic probe's steps against the local stack, as its function runs them against a tenant in AWS: a
machine client's token, the probe's own template, one case opened, moved, linked to the portal and closed."""

import uuid

import httpx
import pytest
from test_machine_clients import create_client

from caseline.local.stack import LocalStack
from infra.probe_function.probe import PROBE_TEMPLATE_KEY, Probe, ProbeFailedError, client_credentials

PROBE_SCOPES = ("cases.read", "cases.write", "templates.admin")


def test_a_probe_run_opens_works_and_closes_a_case_through_the_api_and_the_portal(stack: LocalStack) -> None:
    created = create_client(stack, "probe", *PROBE_SCOPES)
    token = client_credentials(created["token_url"], created["client_id"], created["client_secret"])
    run_id = uuid.uuid4().hex[:12]

    run = Probe(stack.url, token).run(run_id)

    assert list(run.seconds) == ["token", "template", "open", "move", "link", "portal", "close"]
    headers = {"Authorization": f"Bearer {token()}"}
    case = httpx.get(f"{stack.url}/cases/{run.case_id}", headers=headers, timeout=10).json()
    assert (case["template_key"], case["title"]) == (PROBE_TEMPLATE_KEY, f"Probe {run_id}")
    assert (case["stage"], case["status"]) == ("worked", "closed")
    assert [p["role"] for p in case["participants"] if p["kind"] == "external"] == ["recipient"]

    again = Probe(stack.url, token).run(uuid.uuid4().hex[:12])  # the template is there now: used, not published
    assert again.case_id != run.case_id
    versions = httpx.get(f"{stack.url}/templates/{PROBE_TEMPLATE_KEY}", headers=headers, timeout=10).json()
    assert versions["version"] == 1


def test_a_probe_without_write_scopes_fails_at_its_step_and_says_which(stack: LocalStack) -> None:
    created = create_client(stack, "probe-read-only", "cases.read")
    token = client_credentials(created["token_url"], created["client_id"], created["client_secret"])

    with pytest.raises(ProbeFailedError) as failed:
        Probe(stack.url, token).run(uuid.uuid4().hex[:12])

    assert failed.value.step in {"template", "open"}
    assert "403" in str(failed.value)
