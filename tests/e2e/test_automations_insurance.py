"""The insurance claim, end to end over HTTP: a claim over EUR 10,000 is assigned to the senior reviewers,
the claimant is asked for the police report (and e-mailed a portal link), the stage's SLA breaches once the
clock is moved, and a webhook receiver on 127.0.0.1 gets the signed `sla.breached` delivery and verifies it
with the `standardwebhooks` library.

This module moves the local clock, so it runs a stack of its own: the session's stack keeps real time.
"""

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError
from waiting import wait_until

from caseline.local.stack import LocalStack, StackOptions
from caseline.local.webhook_receiver import webhook_receiver

INSURANCE_CLAIM = Path(__file__).parents[2] / "examples" / "templates" / "insurance-claim.json"
WAIT_SECONDS = 30
POLICYHOLDER = {"kind": "person", "name": "Mira Jansen", "email": "mira.jansen@example.nl"}


class Receiver:
    """A webhook endpoint on 127.0.0.1 that keeps what it is sent."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self._endpoint = webhook_receiver(self._keep, path="/hooks/caseline")

    def _keep(self, headers: Any, body: bytes) -> int:
        self.received.append((dict(headers), body))
        return 204

    def __enter__(self) -> "Receiver":
        self.url = self._endpoint.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._endpoint.__exit__(None, None, None)


@pytest.fixture(scope="module")
def clock_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    options = StackOptions(port=0, state_dir=tmp_path_factory.mktemp("clock-stack"), seed=False)
    with LocalStack(options) as running:
        yield running


@pytest.fixture(scope="module")
def api(clock_stack: LocalStack) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {clock_stack.staff_token()}"}
    with httpx.Client(base_url=clock_stack.url, headers=headers, timeout=10) as client:
        yield client


def _events(api: httpx.Client, case_id: str, event_type: str) -> list[dict[str, Any]]:
    response = api.get(f"/cases/{case_id}/timeline", params={"limit": 200})
    items = response.json()["items"] if response.status_code == 200 else []
    return [item["event"] for item in items if item["event"]["type"] == event_type]


def _mails(api: httpx.Client, to: str) -> list[dict[str, Any]]:
    return [mail for mail in api.get("/_dev/mailbox.json").json() if to in mail["destinations"]]


def test_a_large_claim_is_escalated_and_its_breached_deadline_reaches_the_integrator(
    clock_stack: LocalStack, api: httpx.Client
) -> None:
    assert api.post("/templates", json=json.loads(INSURANCE_CLAIM.read_text())).status_code == 201
    with Receiver() as receiver:
        created = api.post("/webhooks", json={"url": receiver.url, "event_types": ["sla.breached"]})
        assert created.status_code == 201, created.text
        secret = created.json()["secret"]

        opened = api.post(
            "/cases",
            json={
                "template_key": "insurance-claim",
                "title": "Water damage after a burst pipe, Utrecht",
                "fields": {
                    "policyholder": POLICYHOLDER,
                    "policyholder_email": POLICYHOLDER["email"],
                    "policy_number": "POL-77120045",
                    "claim_type": "buildings",
                    "incident_at": "2026-11-20T07:15:00+01:00",
                    "incident_description": "A pipe burst in the kitchen wall and flooded the ground floor.",
                    "claim_amount": {"amount": "18400.00", "currency": "EUR"},
                },
            },
        )
        assert opened.status_code == 201, opened.text
        case_id = opened.json()["id"]

        # Over EUR 10,000: the senior reviewers take it, and the claimant is asked for the police report.
        def escalated() -> dict[str, Any] | None:
            case = api.get(f"/cases/{case_id}").json()
            return case if case["assigned_role"] and case["requests"] else None

        case = wait_until(escalated, what="the large-claim rule applied", timeout=WAIT_SECONDS)
        assert case["assigned_role"] == "senior_reviewer"
        assert [(r["document_type"], r["from_role"]) for r in case["requests"]] == [("police_report", "claimant")]
        [claimant] = [p for p in case["participants"] if p["kind"] == "external"]
        assert (claimant["role"], claimant["email"]) == ("claimant", POLICYHOLDER["email"])
        asked = wait_until(
            lambda: [m for m in _mails(api, POLICYHOLDER["email"]) if "/p/" in m["body"]] or None,
            what="the claimant's e-mail with a portal link",
            timeout=WAIT_SECONDS,
        )
        assert len(asked) == 1
        assert "police report" in asked[0]["body"].lower()

        # Nothing is due yet; two weeks later the first stage's one-business-day SLA has long passed.
        assert not _events(api, case_id, "sla.breached")
        clock_stack.clock.advance(timedelta(days=14))

        def stage_breached() -> list[dict[str, Any]] | None:
            breaches = _events(api, case_id, "sla.breached")
            return breaches if any(b["data"]["scope"] == "stage" for b in breaches) else None

        breaches = wait_until(stage_breached, what="the stage's SLA breach", timeout=WAIT_SECONDS)
        [stage_breach] = [b for b in breaches if b["data"]["scope"] == "stage"]
        assert stage_breach["data"]["stage"] == "submitted"
        # Four fifths of the way to the deadline; due at the same moment as the breach after the jump, its timer
        # command may be applied after the breach's (commands of one sweep meet several instances, as in AWS).
        assert wait_until(lambda: _events(api, case_id, "sla.warning"), what="the warning", timeout=WAIT_SECONDS)

        # Every breach (the stage's, and its task's) reaches the receiver once, signed.
        deliveries = wait_until(
            lambda: receiver.received if len(receiver.received) >= len(_events(api, case_id, "sla.breached")) else None,
            what="the signed webhook deliveries",
            timeout=WAIT_SECONDS,
        )
        payloads = [Webhook(secret).verify(body, headers) for headers, body in deliveries]
        assert {p["type"] for p in payloads} == {"sla.breached"}
        assert stage_breach["event_id"] in {p["data"]["event_id"] for p in payloads}
        assert all(p["data"]["case_id"] == case_id for p in payloads)
        with pytest.raises(WebhookVerificationError):
            Webhook(secret).verify(deliveries[0][1] + b" ", deliveries[0][0])

        # The template's own escalation: the senior reviewers' mailbox and a comment on the case.
        wait_until(
            lambda: _mails(api, "senior-reviewer@nordlicht-versicherung.example") or None,
            what="the escalation e-mail",
            timeout=WAIT_SECONDS,
        )
        comments = api.get(f"/cases/{case_id}/comments").json()["items"]
        assert any("service level was breached" in comment["body"] for comment in comments) or wait_until(
            lambda: (
                any(
                    "service level was breached" in c["body"]
                    for c in api.get(f"/cases/{case_id}/comments").json()["items"]
                )
                or None
            ),
            what="the escalation comment",
            timeout=WAIT_SECONDS,
        )
        runs = api.get("/automations/runs", params={"case_id": case_id}).json()["items"]
        assert {run["rule"] for run in runs if run["verdict"] == "fired"} >= {
            "invite_claimant",
            "large_claim_opened",
            "sla_breached",
        }
    assert len(receiver.received) == len(_events(api, case_id, "sla.breached"))
