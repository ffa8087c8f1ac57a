"""Notifications on the local stack: a task assigned through the API reaches its assignee's list (from the bus,
through the notifications' own queue) and mailbox once; a batch the queue delivers again writes and mails nothing
twice; a person reads and marks only their own, and chooses their channels (problem+json for nonsense)."""

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from caseline_common.consumer import StatefulEvent
from caseline_common.envelope import Actor, ActorKind, new_id, utc_now
from caseline_common.events import EventType

from caseline.local.pumps import invoke, scheduled_event
from caseline.local.stack import PEOPLE_SYNC_FUNCTION, LocalStack

from .support import assert_problem, pointers, wait_until

NOTIFY = "notify_consumer"


@dataclass(frozen=True)
class Someone:
    subject: str
    email: str
    token: str


def _refresh_directory(stack: LocalStack) -> None:
    function = stack.functions[PEOPLE_SYNC_FUNCTION].function(PEOPLE_SYNC_FUNCTION)
    assert invoke(function, PEOPLE_SYNC_FUNCTION, scheduled_event(PEOPLE_SYNC_FUNCTION)) == set()


@pytest.fixture(scope="module")
def people(stack: LocalStack) -> Iterator[tuple[str, list[Someone]]]:
    """Three people of this module's own, in the tenant's pool and so in the directory, with their e-mail."""
    cognito, pool = stack.aws.cognito_idp(), stack.tenant.user_pool_id
    key = f"notify-{uuid.uuid4().hex[:8]}"
    found = []
    for n in range(3):
        email = f"{key}-{n}@insurer.example"
        created = cognito.admin_create_user(
            UserPoolId=pool,
            Username=email,
            MessageAction="SUPPRESS",
            UserAttributes=[{"Name": "name", "Value": f"Person {n} {key}"}, {"Name": "email", "Value": email}],
        )
        subject = next(a["Value"] for a in created["User"]["Attributes"] if a["Name"] == "sub")
        token = stack.idp.issue(subject=subject, email=email, groups=["caseline-staff", key])
        found.append(Someone(subject, email, token))
    _refresh_directory(stack)
    try:
        yield key, found
    finally:
        for someone in found:
            cognito.admin_delete_user(UserPoolId=pool, Username=someone.email)
        _refresh_directory(stack)


def _template(key: str) -> dict[str, Any]:
    return {
        "key": key,
        "name": "Notified",
        "stages": [
            {"key": "intake", "name": "Intake", "tasks": [{"key": "check", "title": "Check the claim"}]},
            {"key": "done", "name": "Done", "next": []},
        ],
        "roles": [{"key": "team", "name": "Team", "permissions": ["case.view", "task.manage"], "groups": [key]}],
    }


def _mails_to(stack: LocalStack, address: str) -> list[dict[str, Any]]:
    status, _headers, raw = stack.api.handle("GET", "/_dev/mailbox.json", {}, None)
    assert status == 200
    return [mail for mail in json.loads(raw) if address in mail["destinations"]]


def _mine(stack: LocalStack, someone: Someone) -> dict[str, Any]:
    status, page = stack.request("GET", "/notifications", token=someone.token)
    assert status == 200, page
    assert isinstance(page, dict)
    return page


def test_an_assigned_task_is_notified_once_in_the_list_and_by_mail(
    stack: LocalStack, people: tuple[str, list[Someone]]
) -> None:
    key, (assignee, other, _) = people
    assert stack.request("POST", "/templates", _template(key))[0] == 201
    status, case = stack.request("POST", "/cases", {"template_key": key, "title": f"Claim {key}"})
    assert status == 201, case
    task = case["tasks"][0]["id"]
    assigned = {"assignee": assignee.subject, "assignee_role": "team"}
    status, answer = stack.request("POST", f"/cases/{case['id']}/tasks/{task}/assignment", assigned)
    assert status == 200, answer

    wait_until(lambda: _mine(stack, assignee)["unread"] == 1, what="the assignee's bell")
    [notification] = _mine(stack, assignee)["items"]
    assert (notification["kind"], notification["case_id"], notification["task_id"]) == ("assigned", case["id"], task)
    assert notification["actor"] == "dev-admin"
    wait_until(lambda: len(_mails_to(stack, assignee.email)) == 1, what="the assignee's e-mail")
    assert _mine(stack, other)["items"] == [], "nobody else sees it"
    assert_problem(stack.api.handle("POST", f"/notifications/{notification['id']}/read", _bearer(other), None), 404)

    status, marked = stack.request("POST", f"/notifications/{notification['id']}/read", token=assignee.token)
    assert (status, marked) == (200, {"marked": 1, "unread": 0})
    assert stack.request("POST", "/notifications/read", token=assignee.token)[1] == {"marked": 0, "unread": 0}
    assert _mine(stack, assignee)["items"][0]["read"] is True
    assert len(_mails_to(stack, assignee.email)) == 1


def _bearer(someone: Someone) -> dict[str, str]:
    return {"Authorization": f"Bearer {someone.token}"}


def _sqs_batch(event: StatefulEvent) -> dict[str, Any]:
    body = {
        "version": "0",
        "id": new_id(),
        "detail-type": event.type,
        "source": "caseline.cases",
        "account": "123456789012",
        "time": "2027-01-04T09:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": event.model_dump(mode="json"),
    }
    record = {
        "messageId": new_id(),
        "receiptHandle": "test",
        "body": json.dumps(body),
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "0",
            "SenderId": "test",
            "ApproximateFirstReceiveTimestamp": "0",
        },
        "messageAttributes": {},
        "md5OfBody": "0",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:test",
        "awsRegion": "us-east-1",
    }
    return {"Records": [record]}


def test_a_batch_delivered_again_writes_and_mails_once(stack: LocalStack, people: tuple[str, list[Someone]]) -> None:
    key, (_, _, owner) = people
    assert stack.request("POST", "/templates", _template(f"{key}-again"))[0] == 201
    status, case = stack.request("POST", "/cases", {"template_key": f"{key}-again", "title": "Redelivered"})
    assert status == 201, case
    event = StatefulEvent.model_validate(
        {
            "event_id": new_id(),
            "tenant_id": stack.options.tenant_id,
            "case_id": case["id"],
            "type": EventType.CASE_ASSIGNED,
            "occurred_at": utc_now(),
            "actor": Actor(kind=ActorKind.USER, id="dev-admin"),
            "data": {"version": case["version"] + 1, "before": case["owner"], "after": owner.subject},
            "correlation_id": new_id(),
            "case": {**case, "owner": owner.subject},
        }
    )
    consumer = stack.functions[NOTIFY].function(NOTIFY)
    batch = _sqs_batch(event)
    assert invoke(consumer, NOTIFY, batch) == set()
    assert invoke(consumer, NOTIFY, batch) == set()
    assert [item["id"] for item in _mine(stack, owner)["items"]] == [f"{event.event_id}-assigned"]
    assert len(_mails_to(stack, owner.email)) == 1


def test_a_person_chooses_their_channels(stack: LocalStack, people: tuple[str, list[Someone]]) -> None:
    _, (_, someone, _) = people
    status, defaults = stack.request("GET", "/notifications/preferences", token=someone.token)
    assert (status, defaults) == (
        200,
        {"assigned": "both", "mentioned": "both", "client_activity": "in_app", "sla": "both"},
    )
    chosen = {**defaults, "sla": "none", "client_activity": "email"}
    assert stack.request("PUT", "/notifications/preferences", chosen, token=someone.token) == (200, chosen)
    assert stack.request("GET", "/notifications/preferences", token=someone.token) == (200, chosen)
    headers = {**_bearer(someone), "Content-Type": "application/json"}
    problem = assert_problem(
        stack.api.handle("PUT", "/notifications/preferences", headers, json.dumps({"sla": "pigeon"}).encode()), 422
    )
    assert "/sla" in pointers(problem)
