"""People, not ids, in the staff console, in a real browser: where a template names a thing, the console shows
the name rather than the key. Two templates of one name are told apart by their keys in the case list's
Template filter; the team queue says which role a task waits for by the role's name, on the stage's name; the
template builder names field types ("Choice") and permissions ("View the case") in words, and its migration
preview gives each case's stage by its name.

The team queue reads the task inbox, a projection of the case events: the test waits through the API until
the task is there before drawing the queue, so one drawing shows it."""

import re
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from console_session import clean, console_browser, requires_browser, signed_in
from playwright.sync_api import Browser, expect
from waiting import wait_until

from caseline.local.stack import LocalStack

pytestmark = requires_browser

PROJECTION_WAIT_S = 20.0


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with console_browser() as launched:
        yield launched


def claims_template(key: str, role: str) -> dict[str, Any]:
    """Keys unlike their names, so a key shown where the name belongs is caught."""
    return {
        "key": key,
        "name": f"Claims {key}",
        "fields": [{"key": "cover", "label": "Cover", "type": "enum", "options": ["full_cover", "third_party"]}],
        "stages": [
            {
                "key": "triage",
                "name": "First look",
                "tasks": [{"key": "check", "title": "Check the claim form", "assignee_role": role}],
            },
            {"key": "settled", "name": "Settled", "next": []},
        ],
        "roles": [
            {
                "key": role,
                "name": "Claims lead",
                "permissions": ["case.view", "task.manage", "task.complete"],
                "groups": ["caseline-staff"],
            }
        ],
    }


def test_namesake_templates_show_their_keys_in_the_case_list_filter(stack: LocalStack, browser: Browser) -> None:
    suffix = uuid.uuid4().hex[:8]
    name, first, second = f"Twin {suffix}", f"twin-a-{suffix}", f"twin-b-{suffix}"
    for key in (first, second):
        definition = {
            "key": key,
            "name": name,
            "stages": [{"key": "open", "name": "Open"}],
            "roles": [{"key": "team", "name": "Team", "permissions": ["case.view"], "groups": ["caseline-staff"]}],
        }
        assert stack.request("POST", "/templates", definition)[0] == 201
    context, page, watch = signed_in(browser, stack, "agent")
    with context:
        page.goto(f"{stack.url}/console/#/cases")
        template_filter = page.locator("#filter-template")
        for key in (first, second):
            # A facet may add the count of cases after the label: "Twin … (twin-a-…) (0)".
            label = re.compile(rf"^{re.escape(name)} \({re.escape(key)}\)")
            expect(template_filter.locator(f'option[value="{key}"]')).to_have_text(label)
        clean(watch, stack)


def test_the_team_queue_names_the_role_and_stage_of_a_task(stack: LocalStack, browser: Browser) -> None:
    suffix = uuid.uuid4().hex[:8]
    # The queue shows at most ten of one's roles, in key order: a key early in the alphabet keeps this one there.
    key, role = f"labels-queue-{suffix}", f"a0_lead_{suffix}"
    assert stack.request("POST", "/templates", claims_template(key, role))[0] == 201
    status, case = stack.request("POST", "/cases", {"template_key": key, "title": f"Queued claim {suffix}"})
    assert status == 201, case
    [task] = case["tasks"]

    def queued() -> bool:
        status, body = stack.request("GET", f"/tasks?{urlencode({'role': role, 'status': 'open'})}")
        return status == 200 and any(item["task_id"] == task["id"] for item in body["items"])

    wait_until(queued, what="the task in the team queue", timeout=PROJECTION_WAIT_S)
    context, page, watch = signed_in(browser, stack, "agent")
    with context:
        page.goto(f"{stack.url}/console/#/queue?role={role}")
        row = page.locator(f'#task-table tr[data-task-id="{task["id"]}"]')
        expect(row.locator(".task-assignee")).to_have_text("Role: Claims lead")
        expect(row.locator("td").nth(1)).to_have_text("First look")
        expect(row.locator(".task-template")).to_have_text(f"Claims {key}")
        clean(watch, stack)


def test_the_builder_names_field_types_permissions_and_stages(stack: LocalStack, browser: Browser) -> None:
    suffix = uuid.uuid4().hex[:8]
    key, title = f"labels-builder-{suffix}", f"Claim to migrate {suffix}"
    first = claims_template(key, "lead")
    assert stack.request("POST", "/templates", first)[0] == 201
    status, case = stack.request("POST", "/cases", {"template_key": key, "title": title})
    assert status == 201, case
    second = {
        **first,
        "fields": [
            *first["fields"],
            {"key": "notes", "label": "Notes", "type": "multi_enum", "options": ["urgent", "fraud_check"]},
        ],
    }
    status, published = stack.request("POST", f"/templates/{key}/versions", {"definition": second})
    assert status == 201, published

    context, page, watch = signed_in(browser, stack, "admin")
    with context:
        page.goto(f"{stack.url}/console/#/templates/{key}")
        expect(page.get_by_role("heading", name=f"Template builder: Claims {key}")).to_be_visible()
        for index, words in ((0, "Choice"), (1, "Multiple choice")):
            expect(page.locator(f'select[data-pointer="/fields/{index}/type"] option:checked')).to_have_text(words)
        permissions = page.get_by_role("table", name="Permissions per role")
        expect(permissions.get_by_role("columnheader", name="View the case")).to_be_visible()
        expect(permissions.get_by_role("columnheader", name="case.view")).to_have_count(0)
        expect(permissions.get_by_label("Claims lead: View the case")).to_be_checked()
        # A condition on the stage or on a choice suggests values in words, the key being what it compares.
        page.get_by_role("button", name="Add exit criterion to stage 1").click()
        criterion = page.get_by_role("group", name="Exit criterion 1")
        criterion.get_by_role("button", name="Add condition").click()
        condition = criterion.get_by_role("group", name="Condition 1")
        for fact, key, words in (("case.stage", "triage", "First look"), ("fields.cover", "full_cover", "Full cover")):
            condition.get_by_label("Field or fact").select_option(fact)
            expect(condition.locator(f"datalist option[value='{key}']")).to_have_text(words)
        shown = page.get_by_role("group", name="Timeline events externals see")
        expect(shown.get_by_label("Case opened", exact=True)).to_be_checked()
        expect(shown.get_by_label("case.opened")).to_have_count(0)

        versions = page.locator("#sec-versions")
        versions.get_by_role("button", name="Preview migration").click()
        expect(versions.get_by_label(f"Migrate {title}")).to_be_checked()
        row = versions.get_by_role("row").filter(has_text=title)
        expect(row.locator("td").nth(2)).to_have_text("First look")
        clean(watch, stack)
