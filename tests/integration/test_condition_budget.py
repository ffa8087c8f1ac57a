"""Conditions have a cost limit (issue 13), through the in-process local stack: publishing and drafts refuse a
condition that could exceed its budget, with its pointer; the dry run is for template editors and answers an
over-budget condition as a failed rule at once, while the stack keeps answering; at run time a condition
that goes over its budget on a case's data fails its rule's run and leaves its criterion unmet, saying why."""

import json
import threading
from typing import Any

from caseline_common.conditions import BUDGET

from caseline.local.stack import LocalStack

from .support import assert_problem, pointers, wait_until

TEAM = {
    "key": "team",
    "name": "Team",
    "permissions": ["case.view", "case.transition", "comment.internal"],
    "fields": {"*": "edit"},
    "groups": ["caseline-staff"],
}
# Accepted at publishing, since it is small; on a case whose note is 10,000 characters long it would build a
# text of 210,000, over the 200,000 a value may have.
COPIES_OF_THE_NOTE = {"in": ["urgent", {"cat": [{"var": "fields.note"}] * 21}]}


def nested_maps(size: int = 300) -> dict[str, Any]:
    """The condition of the incident: three nested maps over 300-item lists, which ran for 67 s."""
    items = list(range(size))
    innermost = {"map": [items, {"+": [{"var": ""}, 1]}]}
    return {"some": [{"map": [items, {"map": [items, innermost]}]}, {"==": [{"var": ""}, -1]}]}


def template(key: str, condition: dict[str, Any]) -> dict[str, Any]:
    """A template whose first stage's exit criterion and whose one rule use `condition`."""
    return {
        "key": key,
        "name": key.replace("-", " ").capitalize(),
        "fields": [{"key": "note", "label": "Note", "type": "long_text"}],
        "stages": [
            {
                "key": "open",
                "name": "Open",
                "exit_criteria": [{"description": "The note is not urgent", "condition": condition}],
            },
            {"key": "done", "name": "Done", "next": []},
        ],
        "roles": [TEAM],
        "rules": [
            {
                "key": "urgent_note",
                "name": "Urgent note",
                "trigger": {"event_type": "case.opened"},
                "condition": condition,
                "actions": [{"type": "add_comment", "body": "Urgent"}],
            }
        ],
    }


def raw(
    stack: LocalStack, method: str, path: str, body: Any = None, token: str | None = None
) -> tuple[int, dict[str, str], bytes]:
    headers = {"Authorization": f"Bearer {token or stack.staff_token()}", "Content-Type": "application/json"}
    status, response_headers, payload = stack.api.handle(method, path, headers, json.dumps(body).encode())
    return status, dict(response_headers), payload


def test_publishing_and_drafts_refuse_a_condition_that_could_exceed_its_budget(stack: LocalStack) -> None:
    key = "budget-publish"
    problem = assert_problem(raw(stack, "POST", "/templates", template(key, nested_maps())), 422)
    assert pointers(problem) == {"/stages/0/exit_criteria/0/condition", "/rules/0/condition"}
    for issue in problem["errors"]:
        assert issue["detail"].startswith("over budget: the condition could take "), issue
        assert f"at most {BUDGET.operations:,}" in issue["detail"], issue

    status, published = stack.request("POST", "/templates", template(key, {"!!": [{"var": "fields.note"}]}))
    assert status == 201, published
    status, draft = stack.request("PUT", f"/templates/{key}/draft", template(key, nested_maps()))
    assert status == 200, draft
    assert {issue["pointer"] for issue in draft["issues"]} == {
        "/stages/0/exit_criteria/0/condition",
        "/rules/0/condition",
    }
    problem = assert_problem(raw(stack, "POST", f"/templates/{key}/versions", {}), 422)
    assert pointers(problem) == {"/stages/0/exit_criteria/0/condition", "/rules/0/condition"}
    assert stack.request("GET", f"/templates/{key}")[1]["version"] == 1


def test_the_dry_run_is_for_those_who_may_edit_templates(stack: LocalStack) -> None:
    status, case = stack.request("GET", f"/cases/{stack.seeded_case_ids[4]}")
    assert status == 200, case
    body = {"case": case, "event": {"type": "case.opened"}}
    problem = assert_problem(
        raw(stack, "POST", "/templates/insurance-claim/rules/test", body, stack.staff_token(admin=False)), 403
    )
    assert "edit templates" in problem["detail"]
    assert stack.request("POST", "/templates/insurance-claim/rules/test", body)[0] == 200


def test_an_over_budget_dry_run_fails_its_rule_and_the_stack_keeps_answering(stack: LocalStack) -> None:
    status, case = stack.request("GET", f"/cases/{stack.seeded_case_ids[0]}")
    assert status == 200, case
    body = {"definition": template("budget-dry-run", nested_maps()), "case": case, "event": {"type": "case.opened"}}
    answers: list[tuple[int, Any]] = []
    dry_run = threading.Thread(
        target=lambda: answers.append(stack.request("POST", "/templates/budget-dry-run/rules/test", body))
    )
    dry_run.start()
    health = [stack.request("GET", "/health/cases")[0]]
    while dry_run.is_alive():
        health.append(stack.request("GET", "/health/cases")[0])
    dry_run.join()
    health.append(stack.request("GET", "/health/cases")[0])

    assert set(health) == {200}
    [(status, result)] = answers
    assert status == 200, result
    [decision] = result["decisions"]
    assert (decision["rule"], decision["verdict"], decision["condition"], decision["actions"]) == (
        "urgent_note",
        "failed",
        None,
        [],
    )
    assert decision["error"] == f"over budget: the condition needs more than {BUDGET.operations:,} operations"


def test_at_run_time_a_condition_over_its_budget_fails_its_run_and_its_criterion(stack: LocalStack) -> None:
    key = "budget-run-time"
    status, published = stack.request("POST", "/templates", template(key, COPIES_OF_THE_NOTE))
    assert status == 201, published
    status, case = stack.request(
        "POST", "/cases", {"template_key": key, "title": "A long note", "fields": {"note": "n" * 10_000}}
    )
    assert status == 201, case

    def failed_runs() -> list[dict[str, Any]]:
        status, runs = stack.request("GET", f"/automations/runs?case_id={case['id']}")
        return [run for run in runs["items"] if run["verdict"] == "failed"] if status == 200 else []

    [run] = wait_until(failed_runs, what="the rule's failed run")
    assert (run["rule"], run["condition"], run["outcomes"]) == ("urgent_note", None, [])
    assert run["error"] == (
        "over budget: the condition builds a value of 210,000 characters; at most 200,000 (a list item counts as 100)"
    )

    status, problem = stack.request("POST", f"/cases/{case['id']}/transitions", {"to": "done"})
    assert status == 409, problem
    assert [item["description"] for item in problem["unmet"]] == [
        "The note is not urgent (cannot be checked: over budget: the condition builds a value of 210,000 "
        "characters; at most 200,000 (a list item counts as 100))"
    ]
    assert stack.request("GET", "/health/automations")[0] == 200
