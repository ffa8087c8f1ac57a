"""The builder's dry run and condition picker in a real browser: a draft's rules are tried with a snapshot and an
event built from inputs of the draft's own fields and the event's data (no JSON typed), and a condition's field
or fact is picked from a list, the JSONLogic written from the choice."""

import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from console_session import clean, console_browser, requires_browser, screen, signed_in
from playwright.sync_api import Browser, expect

from caseline.local.stack import LocalStack

pytestmark = requires_browser

BIG = {">": [{"var": "fields.amount"}, 1000]}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with console_browser() as launched:
        yield launched


def expense_template(key: str) -> dict[str, Any]:
    return {
        "key": key,
        "name": f"Expenses {key}",
        "fields": [
            {"key": "amount", "label": "Amount claimed", "type": "number"},
            {"key": "urgent", "label": "Urgent", "type": "boolean"},
            {"key": "refund", "label": "Refund", "type": "money", "currencies": ["EUR", "CHF"]},
        ],
        "stages": [{"key": "submitted", "name": "Submitted"}, {"key": "review", "name": "In review", "next": []}],
        "roles": [{"key": "team", "name": "Team", "permissions": ["case.view"], "groups": ["caseline-staff"]}],
        "rules": [
            {
                "key": "big",
                "name": "Flag big claims",
                "trigger": {"event_type": "case.opened"},
                "condition": BIG,
                "actions": [{"type": "add_comment", "body": "A big claim."}],
            },
            {
                "key": "reviewing",
                "name": "Note the review",
                "trigger": {"event_type": "case.stage_changed"},
                "condition": {"==": [{"var": "event.data.to"}, "review"]},
                "actions": [{"type": "add_comment", "body": "In review."}],
            },
        ],
    }


def test_a_dry_run_from_inputs_and_a_condition_from_a_picker(stack: LocalStack, browser: Browser) -> None:
    key = f"dry-run-{uuid.uuid4().hex[:8]}"
    status, created = stack.request("POST", "/templates", expense_template(key))
    assert status == 201, created
    context, page, watch = signed_in(browser, stack, "admin")
    with context:
        page.goto(f"{stack.url}/console/#/templates/{key}")
        expect(page.get_by_role("heading", name=f"Template builder: Expenses {key}")).to_be_visible()
        dry_run = page.get_by_role("region", name="Dry run")
        # The snapshot's values are the draft's fields, each its own input; the JSON box stays folded away.
        snapshot = dry_run.get_by_role("group", name="The blank snapshot")
        expect(snapshot.get_by_label("Urgent")).to_be_visible()
        expect(snapshot.get_by_label("Currency")).to_have_text(re.compile("EUR.*CHF"))
        expect(dry_run.get_by_label("Other event data (JSON)")).to_be_hidden()
        results = dry_run.locator(".dry-run-results")
        run = dry_run.get_by_role("button", name="Run dry run")

        dry_run.get_by_label("Event type").select_option("case.opened")
        for amount, verdict in (("500", "Skipped"), ("2500", "Fired")):
            snapshot.get_by_label("Amount claimed").fill(amount)
            run.click()
            decision = results.locator("li.decision").filter(has_text="Flag big claims")
            expect(decision.locator(".badge")).to_have_text(verdict)

        # case.stage_changed: its stages are picked by name.
        dry_run.get_by_label("Event type").select_option("case.stage_changed")
        event_data = dry_run.get_by_role("group", name="Event data")
        for stage, verdict in (("submitted", "Skipped"), ("review", "Fired")):
            event_data.get_by_label("To stage").select_option(stage)
            run.click()
            decision = results.locator("li.decision").filter(has_text="Note the review")
            expect(decision.locator(".badge")).to_have_text(verdict)
        screen(page, "dry-run-form")

        # A fact is picked, grouped by where it comes from; the JSONLogic follows the choice.
        rule = page.get_by_role("group", name=re.compile(r"^Rule 1\b"))
        rule.get_by_role("button", name="Add condition").click()
        row = rule.get_by_role("group", name="Condition 2")
        picker = row.get_by_label("Field or fact")
        groups = picker.locator("optgroup").evaluate_all("(groups) => groups.map((group) => group.label)")
        assert groups == ["Fields of the template", "Facts of the case", "Event data of Case opened"]
        picker.select_option("case.status")
        row.get_by_label("Operator").select_option("!=")
        row.get_by_label("Value").fill("closed")
        rule.get_by_role("button", name="Advanced: edit JSONLogic").click()
        logic = rule.get_by_label("Rule 1 condition (JSONLogic)")
        assert json.loads(logic.input_value()) == {"and": [BIG, {"!=": [{"var": "case.status"}, "closed"]}]}

        # A variable the draft does not know stays chosen, marked as unknown.
        logic.fill(json.dumps({"==": [{"var": "fields.gone"}, 1]}))
        rule.get_by_role("button", name="Advanced: edit JSONLogic").click()
        expect(rule.get_by_label("Field or fact").locator("option:checked")).to_have_text("fields.gone (unknown)")
        # The stage-changed rule offers its event's data as facts.
        second = page.get_by_role("group", name=re.compile(r"^Rule 2\b"))
        expect(second.locator("optgroup[label='Event data of Case stage changed'] option")).to_contain_text(
            ["Event type", "From stage", "To stage"]
        )
        expect(second.get_by_label("Field or fact").locator("option:checked")).to_have_text("To stage")
        clean(watch, stack)
