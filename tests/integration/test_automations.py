"""Automation rules through the in-process local stack: commands reach the case once, however often the
triggering event arrives or however a first attempt ends; rule chains stop at the depth limit; a run is on
the case's timeline and in the runs list.

These tests do not move the local clock (tests/e2e/test_automations_insurance.py does, on a stack of its own).
"""

import json
from collections.abc import Iterator
from typing import Any

import pytest
from caseline_common.errors import ConcurrentWriteError
from chalice.local import LambdaContext

from caseline.local.pumps import QueuePump
from caseline.local.stack import LocalStack

from .support import timeline, wait_until


def _events(stack: LocalStack, case_id: str, event_type: str | None = None) -> list[dict[str, Any]]:
    """The events on the case's timeline, of one type if given."""
    events = [entry["event"] for entry in timeline(stack, case_id)]
    return [event for event in events if event_type in (None, event["type"])]


TEAM = {
    "key": "team",
    "name": "Team",
    "permissions": ["case.view", "comment.internal", "participant.manage", "case.transition", "task.manage"],
    "fields": {"*": "edit"},
    "groups": ["caseline-staff"],
    "email": "team@demo.example",
}


def _template(key: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "key": key,
        "name": key.replace("-", " ").capitalize(),
        "fields": [{"key": "note", "label": "Note", "type": "text"}],
        "stages": [{"key": "open", "name": "Open"}, {"key": "done", "name": "Done", "next": []}],
        "roles": [TEAM],
        "rules": rules,
    }


def _publish(stack: LocalStack, template: dict[str, Any]) -> None:
    status, body = stack.request("POST", "/templates", template)
    assert status == 201, body


def _open(stack: LocalStack, template_key: str) -> str:
    status, body = stack.request("POST", "/cases", {"template_key": template_key, "title": "Automated", "fields": {}})
    assert status == 201, body
    return str(body["id"])


def _comments(stack: LocalStack, case_id: str) -> list[str]:
    status, body = stack.request("GET", f"/cases/{case_id}/comments?limit=100")
    assert status == 200, body
    return [comment["body"] for comment in body["items"]]


def _runs(stack: LocalStack, case_id: str) -> list[dict[str, Any]]:
    """The case's runs; none (503, retry) while the case is still on its way to the automations service."""
    status, body = stack.request("GET", f"/automations/runs?case_id={case_id}&limit=100")
    if status == 503:
        return []
    assert status == 200, body
    return list(body["items"])


def _mails_to(stack: LocalStack, address: str) -> list[dict[str, Any]]:
    status, _headers, raw = stack.api.handle("GET", "/_dev/mailbox.json", {}, None)
    assert status == 200
    return [mail for mail in json.loads(raw) if address in mail["destinations"]]


@pytest.fixture
def automations_pump(stack: LocalStack) -> Iterator[QueuePump]:
    [pump] = [p for p in stack.pumps if isinstance(p, QueuePump) and p.name.endswith("automations_consumer")]
    handler = pump.handler
    yield pump
    pump.handler = handler


def test_the_insurance_claim_rules_assign_the_case_and_ask_for_the_police_report(stack: LocalStack) -> None:
    claim = stack.seeded_case_ids[4]  # a claim of EUR 12,500

    def settled() -> dict[str, Any] | None:
        status, case = stack.request("GET", f"/cases/{claim}")
        return case if status == 200 and case["assigned_role"] and case["requests"] else None

    case = wait_until(settled, what="the large-claim rule's commands applied")
    assert case["assigned_role"] == "senior_reviewer"
    assert [(r["document_type"], r["from_role"]) for r in case["requests"]] == [("police_report", "claimant")]
    assert [p["role"] for p in case["participants"] if p["kind"] == "external"] == ["claimant"]

    runs = {run["rule"]: run for run in _runs(stack, claim)}
    assert runs["large_claim_opened"]["verdict"] == "fired"
    assert [(o["type"], o["status"]) for o in runs["large_claim_opened"]["outcomes"]] == [
        ("assign", "sent"),
        ("request_document", "sent"),
    ]
    assert runs["invite_claimant"]["outcomes"][1]["status"] == "done"  # the e-mail to the policyholder
    ran = wait_until(
        lambda: _events(stack, claim, "automation.ran") or None,
        what="automation.ran on the timeline",
    )
    assert {entry["data"]["rule"] for entry in ran} >= {"invite_claimant", "large_claim_opened"}
    by_rule = [e for e in _events(stack, claim) if e["actor"]["kind"] == "automation"]
    assert {e["type"] for e in by_rule} >= {"participant.added", "case.role_assigned", "document.requested"}


def test_a_repeated_event_and_a_run_that_died_half_way_change_the_case_once(
    stack: LocalStack, automations_pump: QueuePump
) -> None:
    _publish(
        stack,
        _template(
            "crash-test",
            [
                {
                    "key": "three_steps",
                    "name": "Comment, mail the team, comment again",
                    "trigger": {"event_type": "case.opened"},
                    "actions": [
                        {"type": "add_comment", "body": "first step"},
                        {"type": "send_email", "to_role": "team", "subject": "{{ case.title }}", "body": "Opened."},
                        {"type": "add_comment", "body": "second step"},
                    ],
                }
            ],
        ),
    )
    delivered: list[dict[str, Any]] = []
    real_handler = automations_pump.handler
    service = stack.functions["automations_consumer"].module("chalicelib.runtime").automations_service()
    bus = service._bus
    real_publish = bus.publish
    crashes: list[bool] = []

    def publish_then_die(events: Any, **options: Any) -> None:
        """The function dies after the comment and the e-mail, before the last command goes out."""
        if not crashes and any(event.data.get("body") == "second step" for event in events):
            crashes.append(True)
            raise RuntimeError("the function died between two actions")
        real_publish(events, **options)

    def recording(event: dict[str, Any], context: Any) -> Any:
        delivered.extend(record for record in event["Records"] if '"case.opened"' in record["body"])
        return real_handler(event, context)

    automations_pump.handler = recording
    bus.publish = publish_then_die
    try:
        case_id = _open(stack, "crash-test")
        wait_until(lambda: len(_comments(stack, case_id)) == 2 or None, what="both comments", timeout=20)
        # The same event once more, as SQS may deliver it: nothing happens twice.
        [first] = [record for record in delivered if case_id in record["body"]][:1]
        context = LambdaContext(function_name="automations_consumer", memory_size=512, max_runtime_ms=60_000)
        context.invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:automations_consumer"
        response = real_handler({"Records": [first]}, context)
        assert response == {"batchItemFailures": []}
    finally:
        bus.publish = real_publish
    wait_until(lambda: any(r["verdict"] == "fired" for r in _runs(stack, case_id)) or None, what="the run")
    assert crashes == [True]
    assert sorted(_comments(stack, case_id)) == ["first step", "second step"]
    assert len([m for m in _mails_to(stack, "team@demo.example") if m["subject"] == "Automated"]) == 1
    [run] = _runs(stack, case_id)
    assert [o["status"] for o in run["outcomes"]] == ["sent", "skipped", "sent"]  # the last run: sent before


def test_a_rule_that_triggers_itself_stops_at_the_depth_limit(stack: LocalStack) -> None:
    _publish(
        stack,
        _template(
            "echo-chamber",
            [
                {
                    "key": "echo",
                    "name": "Answer every comment with a comment",
                    "trigger": {"event_type": "comment.added"},
                    "actions": [{"type": "add_comment", "body": "echo"}],
                }
            ],
        ),
    )
    case_id = _open(stack, "echo-chamber")
    status, body = stack.request("POST", f"/cases/{case_id}/comments", {"body": "hello"})
    assert status == 201, body

    stopped = wait_until(
        lambda: [run for run in _runs(stack, case_id) if run["verdict"] == "stopped"] or None,
        what="the chain's stop",
        timeout=30,
    )
    assert "chains stop at 5" in stopped[0]["error"]
    assert sorted(_comments(stack, case_id)) == ["echo"] * 5 + ["hello"]
    fired = [run for run in _runs(stack, case_id) if run["verdict"] == "fired"]
    assert sorted(run["causation_depth"] for run in fired) == [0, 1, 2, 3, 4]
    wait_until(
        lambda: [e for e in _events(stack, case_id, "automation.ran") if e["data"]["verdict"] == "stopped"] or None,
        what="the stop on the timeline",
    )


def test_a_refused_command_is_on_the_timeline(stack: LocalStack) -> None:
    """One command, refused whatever else happens: a rule's commands are applied side by side (the cases
    service's queue is read by several instances at once, in AWS and locally), so in no set order."""
    template = _template(
        "refusals",
        [
            {
                "key": "bad_value",
                "name": "Move on before the note is written",
                "trigger": {"event_type": "case.opened"},
                "actions": [{"type": "move_stage", "to": "done"}],
            }
        ],
    )
    template["stages"][0]["required_fields"] = ["note"]
    _publish(stack, template)
    case_id = _open(stack, "refusals")
    refused = wait_until(
        lambda: _events(stack, case_id, "automation.refused") or None,
        what="the refusal",
    )
    assert (refused[0]["actor"]["kind"], refused[0]["actor"]["id"]) == ("automation", "bad_value")
    assert '"Note" has a value' in refused[0]["data"]["detail"]  # the unmet criterion, in words


def test_a_command_whose_data_the_request_refuses_is_refused_not_retried(stack: LocalStack) -> None:
    """A blank comment or task title passes the template's contract but not the case's request models: the
    command is recorded as refused, and the consumer reports no failure for SQS to retry."""
    _publish(
        stack,
        _template(
            "blank-values",
            [
                {
                    "key": "blank_comment",
                    "name": "Write a blank comment",
                    "trigger": {"event_type": "case.opened"},
                    "actions": [{"type": "add_comment", "body": "   "}],
                },
                {
                    "key": "blank_task",
                    "name": "Add a task with a blank title",
                    "trigger": {"event_type": "case.opened"},
                    "actions": [{"type": "create_task", "title": "   "}],
                },
            ],
        ),
    )
    [pump] = [p for p in stack.pumps if isinstance(p, QueuePump) and p.name.endswith("case_commands")]
    real_handler = pump.handler
    answers: list[Any] = []

    def recording(event: dict[str, Any], context: Any) -> Any:
        answer = real_handler(event, context)
        answers.append(answer)
        return answer

    pump.handler = recording
    try:
        case_id = _open(stack, "blank-values")
        refused = wait_until(
            lambda: found if len(found := _events(stack, case_id, "automation.refused")) == 2 else None,
            what="both refusals",
        )
    finally:
        pump.handler = real_handler
    details = {event["actor"]["id"]: event["data"]["detail"] for event in refused}
    assert "/body" in details["blank_comment"]
    assert "/title" in details["blank_task"]
    assert _comments(stack, case_id) == []
    assert answers
    assert all(answer == {"batchItemFailures": []} for answer in answers)


def test_a_command_that_loses_a_race_is_retried_not_refused(stack: LocalStack) -> None:
    """A command whose write met another at the same moment (a lost race, a transaction conflict) is handed back
    to SQS, and its retry applies it; nothing is recorded as refused."""
    _publish(
        stack,
        _template(
            "lost-race",
            [
                {
                    "key": "comment",
                    "name": "Comment",
                    "trigger": {"event_type": "case.opened"},
                    "actions": [{"type": "add_comment", "body": "after a lost race"}],
                }
            ],
        ),
    )
    function = stack.functions["case_commands"]
    service = function.module("chalicelib.runtime").case_service()
    real_add_comment = service.add_comment
    lost: list[bool] = []
    # Every batch through the pump's first instance (the one patched here), not its others.
    [pump] = [p for p in stack.pumps if isinstance(p, QueuePump) and p.name.endswith("case_commands")]
    real_handler = pump.handler

    def lose_the_first_race(*args: Any, **kwargs: Any) -> Any:
        if not lost:
            lost.append(True)
            raise ConcurrentWriteError("Another request changed the same data at the same moment; retry.")
        return real_add_comment(*args, **kwargs)

    service.add_comment = lose_the_first_race
    pump.handler = lambda event, context: real_handler(event, context)
    try:
        case_id = _open(stack, "lost-race")
        wait_until(lambda: _comments(stack, case_id) or None, what="the comment", timeout=20)
    finally:
        service.add_comment = real_add_comment
        pump.handler = real_handler
    assert lost == [True]
    assert issubclass(function.module("chalicelib.case_service").RaceLostError, ConcurrentWriteError)
    assert _comments(stack, case_id) == ["after a lost race"]
    assert _events(stack, case_id, "automation.refused") == []


def test_the_dry_run_answers_what_rules_would_do_and_changes_nothing(stack: LocalStack) -> None:
    claim = stack.seeded_case_ids[4]
    status, case = stack.request("GET", f"/cases/{claim}")
    assert status == 200
    runs_before = len(_runs(stack, claim))
    big = {**case, "fields": {**case["fields"], "claim_amount": {"amount": "20000.00", "currency": "EUR"}}}
    status, result = stack.request(
        "POST",
        "/templates/insurance-claim/rules/test",
        {"case": big, "event": {"type": "case.opened", "data": {}}},
    )
    assert status == 200, result
    decisions = {decision["rule"]: decision for decision in result["decisions"]}
    assert decisions["large_claim_opened"]["verdict"] == "fired"
    assert decisions["large_claim_opened"]["actions"][0]["summary"] == "assign the case to the role senior_reviewer"
    assert decisions["invite_claimant"]["actions"][1]["detail"]["recipients"] == ["lukas.becker@example.de"]

    small = {**case, "fields": {**case["fields"], "claim_amount": {"amount": "900.00", "currency": "EUR"}}}
    status, result = stack.request(
        "POST", "/templates/insurance-claim/rules/test", {"case": small, "event": {"type": "case.opened"}}
    )
    assert status == 200, result
    assert {d["rule"]: d["verdict"] for d in result["decisions"]}["large_claim_opened"] == "skipped"
    assert len(_runs(stack, claim)) == runs_before

    status, problem = stack.request(
        "POST", "/templates/no-such-template/rules/test", {"case": small, "event": {"type": "case.opened"}}
    )
    assert status == 404, problem
