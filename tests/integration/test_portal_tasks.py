"""A task the template gives an external role, on the local stack: the portal shows it only to the participant who
holds that role and refuses any other task in words; the cases service applies the command the portal sends as that
participant, once however often it arrives, and refuses (never fails on) a task of another role or one already done."""

import uuid
from typing import Any

import pytest
from caseline_common.envelope import Actor, ActorKind, EventEnvelope

from caseline.local.stack import LocalStack

from .test_portal_access import Browser, Claim, api, case_of, issue, ok, open_claim, template


def tasks_template(key: str) -> dict[str, Any]:
    """The bike claim, whose first stage asks the client to sign the form and the handler to check it."""
    definition = template(key)
    definition["stages"][0]["tasks"] = [
        {"key": "sign_form", "title": "Sign the claim form", "assignee_role": "client", "required": False},
        {"key": "check_form", "title": "Check the claim form", "assignee_role": "handler", "required": False},
    ]
    client = next(role for role in definition["roles"] if role["key"] == "client")
    client["permissions"].append("task.complete")
    return definition


@pytest.fixture(scope="module")
def claim(stack: LocalStack) -> Claim:
    key = f"portal-tasks-{uuid.uuid4().hex[:8]}"
    ok(api(stack, "POST", "/templates", tasks_template(key)), 201)
    return open_claim(stack, key, f"Claim with tasks {uuid.uuid4().hex[:6]}")


def completion(stack: LocalStack, claim: Claim, task_id: str, command_id: str | None = None) -> EventEnvelope:
    """The command the portal publishes when the client marks a task done."""
    return EventEnvelope.new(
        tenant_id=stack.options.tenant_id,
        case_id=claim.case_id,
        type="portal.task_completed",
        actor=Actor(kind=ActorKind.EXTERNAL, id=claim.client),
        correlation_id=f"test-{uuid.uuid4().hex}",
        data={"task_id": task_id},
        event_id=command_id,
    )


def test_the_client_marks_their_own_task_done_and_no_other(stack: LocalStack, claim: Claim) -> None:
    tasks = {task["key"]: task for task in case_of(stack, claim)["tasks"]}
    sign, check = tasks["sign_form"]["id"], tasks["check_form"]["id"]

    visitor = Browser(stack)
    page = visitor.enter(issue(stack, claim))
    assert "Sign the claim form" in page.text
    assert "Check the claim form" not in page.text, "the handler's task is not the client's"
    refused = visitor.post("/portal/tasks", {"csrf": page.csrf, "task": check})
    assert refused.status == 404, refused.text
    assert "This task is not open for you" in refused.text
    assert visitor.post("/portal/tasks", {"csrf": page.csrf, "task": "not a task"}).status == 404

    apply = stack.functions["case_commands"].module("chalicelib.handlers")._apply_command
    version = case_of(stack, claim)["version"]
    apply(completion(stack, claim, check))  # refused and logged: the handler's task is not the client's
    assert case_of(stack, claim)["version"] == version

    command = completion(stack, claim, sign)
    apply(command)
    case = case_of(stack, claim)
    done = {task["key"]: task for task in case["tasks"]}
    assert (done["sign_form"]["status"], done["sign_form"]["completed_by"]) == ("done", claim.client)
    assert (done["check_form"]["status"], case["version"]) == ("open", version + 1)
    apply(completion(stack, claim, sign))  # another press of the button: the task is done already
    assert case_of(stack, claim)["version"] == version + 1

    # staff reopen it; the first command, delivered again, is answered from its claim and does not close it again
    ok(api(stack, "POST", f"/cases/{claim.case_id}/tasks/{sign}/reopen", {"reason": "The signature is missing."}))
    apply(command)
    reopened = case_of(stack, claim)
    assert reopened["version"] == version + 2
    assert next(task for task in reopened["tasks"] if task["id"] == sign)["status"] == "open"
