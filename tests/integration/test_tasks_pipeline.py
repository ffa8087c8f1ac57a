"""The task inbox on the local stack: case events reach it through its queue and a claim moves a task from the team
queue to my inbox; `caseline tasks rebuild` builds the same inbox from the cases table, and again writes nothing."""

import uuid
from typing import Any

from caseline_common.resources import CASES_TABLE, TASKS_TABLE, TenantResourceNames
from typer.testing import CliRunner

from caseline.cli import app
from caseline.local.provision import _create_table
from caseline.local.stack import LOCAL_REGION, LocalStack
from caseline.tasks_cli import rebuild_inbox

from .support import wait_until


def template(key: str) -> dict[str, Any]:
    return {
        "key": key,
        "name": "Inbox",
        "stages": [
            {
                "key": "intake",
                "name": "Intake",
                "tasks": [
                    {
                        "key": "check",
                        "title": "Check the claim",
                        "assignee_role": "team",
                        "due_in": {"amount": 2, "unit": "days"},
                    },
                    {"key": "call", "title": "Call the client", "assignee_role": "team"},
                ],
            },
            {"key": "done", "name": "Done", "next": []},
        ],
        "roles": [{"key": "team", "name": "Team", "permissions": ["case.view", "task.manage"], "groups": [key]}],
    }


def tasks(stack: LocalStack, token: str, query: str) -> list[tuple[str, str]]:
    status, page = stack.request("GET", f"/tasks?{query}", token=token)
    assert status == 200, page
    return [(item["case_id"], item["title"]) for item in page["items"]]


def test_a_claim_moves_a_task_from_the_team_queue_to_my_inbox(stack: LocalStack) -> None:
    key = f"inbox-{uuid.uuid4().hex[:8]}"
    assert stack.request("POST", "/templates", template(key))[0] == 201
    status, opened = stack.request("POST", "/cases", {"template_key": key, "title": "Bike claim"})
    assert status == 201, opened
    agent = f"dev-{key}"  # a person of this test's own: the session's stack assigns tasks to the console's users
    mine = stack.idp.issue(subject=agent, email=f"{key}@demo.caseline.local", groups=["caseline-staff", key])
    stranger = stack.staff_token(admin=False, email="olly@demo.caseline.local")
    queue = f"role=team&template_key={key}"
    expected = [(opened["id"], "Check the claim"), (opened["id"], "Call the client")]
    wait_until(lambda: tasks(stack, mine, queue) == expected, what="the team queue, soonest due first")
    assert tasks(stack, stranger, queue) == [], "a caller outside the case sees none of its tasks"
    # Only my own count: the team counts take every role this caller holds through caseline-staff, which other
    # tests' templates on the session's stack grant too (test_tasks_inbox.py counts teams on data of its own).
    assert stack.request("GET", "/tasks/counts", token=mine)[1]["mine_open"] == 0

    check = opened["tasks"][0]["id"]
    claim = {"assignee": agent, "assignee_role": "team"}
    assert stack.request("POST", f"/cases/{opened['id']}/tasks/{check}/assignment", claim, token=mine)[0] == 200
    wait_until(lambda: tasks(stack, mine, "assignee=me") == expected[:1], what="the claimed task in my inbox")
    assert tasks(stack, mine, f"{queue}&unassigned=true") == expected[1:]
    assert stack.request("GET", "/tasks?status=closed", token=mine)[0] == 422


def test_rebuild_builds_the_inbox_from_the_cases_table_and_is_idempotent(stack: LocalStack) -> None:
    key = f"rebuild-{uuid.uuid4().hex[:8]}"
    assert stack.request("POST", "/templates", template(key))[0] == 201
    for n in range(3):
        assert stack.request("POST", "/cases", {"template_key": key, "title": f"Case {n}"})[0] == 201
    names = TenantResourceNames(tenant_id=stack.options.tenant_id)
    rebuilt = TenantResourceNames(tenant_id=f"rebuilt-{uuid.uuid4().hex[:6]}")
    _create_table(stack.aws, rebuilt, TASKS_TABLE)
    client = stack.aws.dynamodb()
    totals: list[int] = []

    def run() -> int:
        return rebuild_inbox(
            client, names.table(CASES_TABLE), rebuilt.table(TASKS_TABLE), started=totals.append, advance=lambda: None
        )

    assert run() == totals[0] >= 3, "every case is written into an empty inbox"
    assert run() == 0, "a second rebuild writes nothing"
    found = client.query(
        TableName=rebuilt.table(TASKS_TABLE),
        IndexName="by_role",
        KeyConditionExpression="gsi2pk = :queue",
        FilterExpression="template_key = :key",
        ExpressionAttributeValues={":queue": {"S": "ROLE#team#open"}, ":key": {"S": key}},
    )["Items"]
    assert len(found) == 6

    result = CliRunner().invoke(
        app,
        ["tasks", "rebuild", "--tenant", stack.options.tenant_id],
        env={"CASELINE_AWS_ENDPOINT_URL": stack.aws_endpoint, "AWS_REGION": LOCAL_REGION},
    )
    assert result.exit_code == 0, result.output
    assert "Rebuilt the task inbox" in result.output
