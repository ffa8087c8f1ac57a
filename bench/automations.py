"""Automations (issue 5): rule evaluation throughput, trigger-to-effect latency, and timer firing accuracy.

Run by `make bench` after the other sections. The timer figure moves the local stack's clock, so it runs last.
"""

import statistics
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from caseline_common.consumer import StatefulEvent
from caseline_common.contracts import CaseSnapshot, CaseStatus, TemplateDefinition
from caseline_common.envelope import Actor, ActorKind
from caseline_common.event_types import EventType
from caseline_common.resources import AUTOMATIONS_TABLE
from rich.console import Console

from caseline.local.stack import LocalStack

RULE_COUNT = 50
RULE_ITERATIONS = 400
LATENCY_SAMPLES = 30
TIMER_SAMPLES = 10
POLL_SECONDS = 0.01
WAIT_SECONDS = 30.0
console = Console()


def _p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20, method="inclusive")[18]


def _wait(check: Callable[[], Any], what: str, *, timeout: float = WAIT_SECONDS) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(POLL_SECONDS)


# 1. rule evaluation in process

REGIONS = ("north", "south", "east", "west")


def _condition(index: int) -> dict[str, Any]:
    """Conditions of the size people write: two to four comparisons on fields under and/or."""
    amount = {">=": [{"var": "fields.amount"}, 500 * (index % 12)]}
    region = {"==": [{"var": "fields.region"}, REGIONS[index % len(REGIONS)]]}
    changed = {"!!": [{"var": f"event.data.changes.{('amount', 'region', 'priority')[index % 3]}"}]}
    if index % 3 == 0:
        return {"and": [amount, region]}
    if index % 3 == 1:
        return {"and": [changed, {"or": [region, {"in": [{"var": "fields.priority"}, ["high", "urgent"]]}]}]}
    return {"or": [{"and": [amount, {"<": [{"var": "fields.score"}, 10 * (index % 9)]}]}, {"!": [region]}]}


def _actions(index: int, *, mail: bool = True) -> list[dict[str, Any]]:
    """One of the three kinds, spread across the condition kinds; a second one on every other rule."""
    kinds: tuple[dict[str, Any], ...] = (
        {"type": "set_fields", "values": {"priority": "high", "flag": f"rule-{index}"}},
        {"type": "add_comment", "body": f"Rule {index}: the amount or region needs a second look."},
        {
            "type": "send_email",
            "to_field": "contact_email",
            "subject": "{{ case.title }}: amount {{ fields.amount }} ({{ event.type }})",
            "body": "Hello,\n\nthe case {{ case.title }} in {{ fields.region }} changed.\n",
        },
    )
    first = kinds[(index // 3) % (3 if mail else 2)]
    if index % 2:
        return [first, {"type": "add_comment", "body": "Checked automatically.", "external": False}]
    return [first]


def bench_template(rule_count: int = RULE_COUNT, *, mail: bool = True) -> TemplateDefinition:
    return TemplateDefinition.model_validate(
        {
            "key": "bench-rules",
            "name": "Bench rules",
            "fields": [
                {"key": "amount", "label": "Amount", "type": "number"},
                {"key": "score", "label": "Score", "type": "number"},
                {"key": "region", "label": "Region", "type": "enum", "options": list(REGIONS)},
                {"key": "priority", "label": "Priority", "type": "enum", "options": ["low", "high", "urgent"]},
                {"key": "flag", "label": "Flag", "type": "text"},
                {"key": "contact_email", "label": "Contact", "type": "email"},
            ],
            "stages": [{"key": "open", "name": "Open"}, {"key": "done", "name": "Done", "next": []}],
            "rules": [
                {
                    "key": f"rule_{index}",
                    "name": f"Rule {index}",
                    "trigger": {"event_type": EventType.CASE_FIELDS_CHANGED},
                    "condition": _condition(index),
                    "actions": _actions(index, mail=mail),
                }
                for index in range(rule_count)
            ],
        }
    )


def _decide_timing(
    rules: Any, template: TemplateDefinition, case: CaseSnapshot, event: Any
) -> tuple[float, list[float]]:
    """Rules per second and per-event milliseconds of decide() over RULE_ITERATIONS events."""
    for _ in range(20):  # warm
        rules.decide(template, case, event, max_depth=5)
    latencies = []
    started = time.perf_counter()
    for _ in range(RULE_ITERATIONS):
        begun = time.perf_counter()
        rules.decide(template, case, event, max_depth=5)
        latencies.append((time.perf_counter() - begun) * 1000)
    return len(template.rules) * RULE_ITERATIONS / (time.perf_counter() - started), latencies


def rule_evaluation(stack: LocalStack) -> None:
    rules = stack.api.service("automations").module("chalicelib.domain.rules")
    template = bench_template()
    now = datetime.now(UTC)
    fields = {"amount": 2_750, "score": 35, "region": "east", "priority": "low", "contact_email": "a@example.org"}
    case = CaseSnapshot(
        id="bench-case",
        tenant_id="demo",
        template_key=template.key,
        template_version=1,
        title="Bench case",
        owner="dev-admin",
        stage="open",
        stage_entered_at=now,
        status=CaseStatus.OPEN,
        fields=fields,
        created_at=now,
        created_by="dev-admin",
        updated_at=now,
        version=3,
    )
    event = StatefulEvent.new(
        tenant_id="demo",
        case_id=case.id,
        type=EventType.CASE_FIELDS_CHANGED,
        actor=Actor(kind=ActorKind.USER, id="dev-admin", display_name="dana.admin@demo.caseline.local"),
        correlation_id="bench",
        data={"changes": {"amount": {"before": 1_200, "after": 2_750}}},
    ).model_copy(update={"case": case})
    decisions = rules.decide(template, case, event, max_depth=5)
    assert len(decisions) == RULE_COUNT, decisions
    assert not [decision for decision in decisions if decision.verdict == "failed"], decisions
    fired = [decision for decision in decisions if decision.verdict == "fired"]
    planned = Counter(action.type for decision in fired for action in decision.actions)
    described = ", ".join(f"{count} {kind}" for kind, count in sorted(planned.items()))
    rate, latencies = _decide_timing(rules, template, case, event)
    plain_rate, plain = _decide_timing(rules, bench_template(mail=False), case, event)
    console.print(
        f"Rule evaluation, decide() on a template of {RULE_COUNT} case.fields_changed rules, "
        f"{RULE_ITERATIONS} events in process ({len(fired)} fire, planning {described}; "
        f"{RULE_COUNT - len(fired)} skip): {rate:,.0f} rules/s; per event p50 {statistics.median(latencies):.2f} ms, "
        f"p95 {_p95(latencies):.2f} ms. The same rules with set_fields in place of send_email (no mail to render): "
        f"{plain_rate:,.0f} rules/s, per event p50 {statistics.median(plain):.2f} ms"
    )


# 2. trigger to effect through the local stack

TRIGGER_TEMPLATE = {
    "key": "bench-trigger",
    "name": "Bench trigger",
    "fields": [
        {"key": "status_flag", "label": "Status flag", "type": "text"},
        {"key": "ack", "label": "Acknowledged", "type": "text"},
    ],
    "stages": [{"key": "open", "name": "Open"}, {"key": "done", "name": "Done", "next": []}],
    "rules": [
        {
            "key": "acknowledge",
            "name": "Acknowledge go",
            "trigger": {"event_type": EventType.CASE_FIELDS_CHANGED},
            "condition": {"==": [{"var": "fields.status_flag"}, "go"]},
            "actions": [{"type": "set_fields", "values": {"ack": "yes"}}],
        }
    ],
}


def _publish(stack: LocalStack, template: dict[str, Any], token: str) -> None:
    status, body = stack.request("POST", "/templates", template, token=token)
    assert status == 201, body


def _open(stack: LocalStack, template_key: str, fields: dict[str, Any], token: str) -> dict[str, Any]:
    status, case = stack.request(
        "POST", "/cases", {"template_key": template_key, "title": "Bench automation", "fields": fields}, token=token
    )
    assert status == 201, case
    _wait(lambda: stack.request("GET", f"/cases/{case['id']}/timeline", token=token)[0] == 200, EventType.CASE_OPENED)
    return dict(case)


def _trigger_sample(stack: LocalStack, token: str, *, timeout: float = WAIT_SECONDS) -> float:
    """A fresh case per sample, so no rule run left over from the last one can answer for this one."""
    case = _open(stack, "bench-trigger", {"status_flag": "wait"}, token)
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "If-Match": f'"{case["version"]}"',
    }
    status, _headers, raw = stack.api.handle(
        "PATCH", f"/cases/{case['id']}", headers, b'{"fields": {"status_flag": "go"}}'
    )
    assert status == 200, raw
    started = time.perf_counter()

    def acknowledged() -> bool:
        status, body = stack.request("GET", f"/cases/{case['id']}", token=token)
        return status == 200 and body["fields"].get("ack") == "yes"

    _wait(acknowledged, "the rule's set_fields", timeout=timeout)
    return (time.perf_counter() - started) * 1000


def trigger_to_effect(stack: LocalStack) -> None:
    token = stack.staff_token()
    _publish(stack, TRIGGER_TEMPLATE, token)
    # Warm; it also waits for the automations service to have the template, behind whatever the sections
    # before left in its queue (the console's 500 cases).
    _trigger_sample(stack, token, timeout=300)
    latencies = [_trigger_sample(stack, token) for _ in range(LATENCY_SAMPLES)]
    console.print(
        f"Rule trigger to effect, from the PATCH response (status_flag -> go) until GET /cases/{{id}} shows the "
        f"rule's set_fields (stream pump -> bus -> automations queue -> command -> cases queue), polled every "
        f"{POLL_SECONDS * 1000:.0f} ms, {LATENCY_SAMPLES} cases: p50 {statistics.median(latencies):.0f} ms, "
        f"p95 {_p95(latencies):.0f} ms, max {max(latencies):.0f} ms"
    )


# 3. timer firing, on a moved clock


def _timeline_event(stack: LocalStack, case_id: str, event_type: str, token: str) -> dict[str, Any] | None:
    status, body = stack.request("GET", f"/cases/{case_id}/timeline?limit=200", token=token)
    if status != 200:
        return None
    return next((item["event"] for item in body["items"] if item["event"]["type"] == event_type), None)


def _timer_sample(stack: LocalStack, sample: int, token: str) -> tuple[float, float]:
    """Wall ms from the clock move until sla.breached is on the timeline, and until the event occurred."""
    key = f"bench-sla-{sample}"
    template = {
        "key": key,
        "name": f"Bench SLA {sample}",
        "fields": [{"key": "note", "label": "Note", "type": "text"}],
        "stages": [
            {"key": "triage", "name": "Triage", "sla": {"amount": sample, "unit": "minutes"}},
            {"key": "done", "name": "Done", "next": []},
        ],
    }
    _publish(stack, template, token)
    case_id = str(_open(stack, key, {}, token)["id"])
    dynamodb = stack.aws.dynamodb()
    timers_table = stack.tenant.names.table(AUTOMATIONS_TABLE)

    def sla_timer() -> bool:
        items = dynamodb.query(
            TableName=timers_table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"TIMER#{case_id}"}},
        )["Items"]
        return any('"stage_sla"' in item["doc"]["S"] for item in items)

    _wait(sla_timer, "the stage SLA timer")  # started once the automations service has seen case.opened
    due_wall = datetime.now(UTC)
    stack.clock.advance(timedelta(minutes=1, seconds=1))
    started = time.perf_counter()
    breach = _wait(lambda: _timeline_event(stack, case_id, EventType.SLA_BREACHED, token), EventType.SLA_BREACHED)
    visible_ms = (time.perf_counter() - started) * 1000
    return visible_ms, (datetime.fromisoformat(breach["occurred_at"]) - due_wall).total_seconds() * 1000


def timer_firing(stack: LocalStack) -> None:
    """Each sample moves the clock once (61 s), so its template's SLA is a minute longer than the last one's:
    opened on a clock already moved k-1 times, case k is due k minutes after opening, not at once."""
    token = stack.staff_token()
    samples = [_timer_sample(stack, sample, token) for sample in range(1, TIMER_SAMPLES + 1)]
    visible = [seen for seen, _ in samples]
    occurred = [at for _, at in samples]
    every = stack.options.due_work_every_seconds
    console.print(
        f"Timer firing, from the moment a stage SLA is due (clock moved past it) until sla.breached, "
        f"{TIMER_SAMPLES} cases, sweep every {every:.0f} s locally: on the timeline p50 "
        f"{statistics.median(visible):.0f} ms, p95 {_p95(visible):.0f} ms, max {max(visible):.0f} ms; "
        f"event occurred_at p50 {statistics.median(occurred):.0f} ms, p95 {_p95(occurred):.0f} ms. "
        f"In AWS the sweep runs every minute: add up to 60 s"
    )


def automations(stack: LocalStack) -> None:
    """All three; the last moves the stack's clock for good."""
    for pump in stack.pumps:
        pump.paused.set()
    try:
        rule_evaluation(stack)
    finally:
        for pump in stack.pumps:
            pump.paused.clear()
    trigger_to_effect(stack)
    timer_firing(stack)
