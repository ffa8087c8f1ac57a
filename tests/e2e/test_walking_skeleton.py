"""The promise of `make dev`, over real HTTP: publish a template, open a case, list it, see its history."""

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from caseline.local.stack import LocalStack

TIMELINE_WAIT_SECONDS = 20


@pytest.fixture(scope="module")
def running(stack: LocalStack) -> LocalStack:
    """The session's stack: started in-process on free ports, served over HTTP like `caseline dev`."""
    return stack


@pytest.fixture(scope="module")
def client(running: LocalStack) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {running.staff_token()}"}
    with httpx.Client(base_url=running.url, headers=headers, timeout=10) as http:
        yield http


def _wait_for_timeline(client: httpx.Client, case_id: str) -> list[dict[str, Any]]:
    deadline = time.monotonic() + TIMELINE_WAIT_SECONDS
    while time.monotonic() < deadline:
        response = client.get(f"/cases/{case_id}/timeline")
        if response.status_code == 200:
            return list(response.json()["items"])
        assert response.status_code == 404, response.text
        time.sleep(0.1)
    pytest.fail(f"case.opened did not reach the timeline of {case_id} within {TIMELINE_WAIT_SECONDS} s")


def test_binds_loopback_only(running: LocalStack) -> None:
    assert running.url.startswith("http://127.0.0.1:")
    assert running.aws_endpoint.startswith("http://127.0.0.1:")


def test_publish_open_list_and_see_the_timeline(client: httpx.Client, demo_template: dict[str, Any]) -> None:
    template = {**demo_template, "key": "e2e-onboarding", "name": "E2E onboarding"}
    published = client.post("/templates", json=template)
    assert published.status_code == 201, published.text
    assert published.headers["Location"] == "/templates/e2e-onboarding"
    assert published.json()["version"] == 1

    opened = client.post(
        "/cases",
        json={
            "template_key": "e2e-onboarding",
            "title": "Onboarding: Priya Nair",
            "fields": {
                "employee": {"name": "Priya Nair", "email": "priya@example.org"},
                "start_date": "2027-03-01",
                "department": "people",
                "annual_salary": {"amount": "61000.00", "currency": "GBP"},
            },
        },
        headers={"Idempotency-Key": "e2e-open-1"},
    )
    assert opened.status_code == 201, opened.text
    case = opened.json()
    assert case["stage"] == "offer_signed"
    assert case["status"] == "open"
    assert case["fields"]["annual_salary"] == {"amount": "61000.00", "currency": "GBP"}

    fetched = client.get(f"/cases/{case['id']}")
    assert fetched.status_code == 200
    assert fetched.json() == case

    listed = client.get("/cases", params={"status": "open", "stage": "offer_signed", "limit": 100})
    assert listed.status_code == 200
    assert case["id"] in [item["id"] for item in listed.json()["items"]]

    timeline = _wait_for_timeline(client, case["id"])
    assert [entry["event"]["type"] for entry in timeline] == ["case.opened"]
    assert timeline[0]["seq"] == 1
    assert timeline[0]["event"]["data"]["title"] == "Onboarding: Priya Nair"
    assert timeline[0]["event"]["correlation_id"] == opened.headers["X-Correlation-Id"]


def test_seeded_demo_is_there(running: LocalStack, client: httpx.Client) -> None:
    assert len(running.seeded_case_ids) == 8, "two onboarding cases, one on each example template"
    keys: set[str] = set()
    cursor: str | None = None
    while True:  # every page: the session's stack holds the templates other tests published too
        page = client.get("/templates", params={"limit": 100, **({"cursor": cursor} if cursor else {})}).json()
        keys |= {template["key"] for template in page["items"]}
        cursor = page.get("next_cursor")
        if not cursor:
            break
    assert {
        "employee-onboarding",
        "hr-employee-onboarding",
        "legal-client-intake",
        "insurance-claim",
        "healthcare-patient-referral",
        "university-admission",
        "kyc-compliance-review",
    } <= keys
    claim = running.seeded_case_ids[4]  # the insurance claim, whose rules invite the policyholder to the portal
    for case_id in running.seeded_case_ids:
        deadline = time.monotonic() + TIMELINE_WAIT_SECONDS
        while True:
            events = [entry["event"] for entry in _wait_for_timeline(client, case_id)]
            by_people = [event["type"] for event in events if event["actor"]["kind"] == "user"]
            by_rules = {event["type"] for event in events if event["actor"]["kind"] == "automation"}
            if by_people == ["case.opened"] and (case_id != claim or "participant.added" in by_rules):
                break
            assert time.monotonic() < deadline, f"the timeline of {case_id} holds {[e['type'] for e in events]}"
            time.sleep(0.1)


def test_docs_and_openapi_are_served(client: httpx.Client) -> None:
    document = client.get("/openapi.json").json()
    assert document["openapi"] == "3.1.0"
    assert {"/templates", "/cases", "/cases/{case_id}", "/cases/{case_id}/timeline"} <= set(document["paths"])
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert "swagger-ui-bundle.js" in docs.text
    assert client.get("/docs/static/swagger-ui-bundle.js").status_code == 200


def test_errors_are_problem_details_over_http(client: httpx.Client) -> None:
    response = client.post("/cases", content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["title"] == "Malformed JSON"
    anonymous = httpx.get(f"{client.base_url}/cases", timeout=10)
    assert anonymous.status_code == 401
    assert anonymous.headers["Content-Type"] == "application/problem+json"
