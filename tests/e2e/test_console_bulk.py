"""Bulk actions on the case list, in a real browser: an administrator gives three cases a new owner at once while
someone else changes one of them (that one is refused, as the list showed it at an older version: each request is
conditional on the version read, If-Match), then moves the three to the next stage; each case answers for itself,
and the API shows what really changed. The same holds for a list answered by the search index, whose results carry
no version: a case changed since the list was drawn is refused too."""

import re
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from console_session import clean, console_browser, requires_browser, screen, signed_in
from playwright.sync_api import Browser, Page, expect
from waiting import wait_until

from caseline.local.console import DEV_USERS
from caseline.local.stack import LocalStack

pytestmark = requires_browser

AGENT = next(user for user in DEV_USERS if user.id == "agent")
ADMIN = next(user for user in DEV_USERS if user.id == "admin")
INDEX_WAIT_S = 20.0


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with console_browser() as launched:
        yield launched


def two_stage_template(key: str) -> dict[str, Any]:
    return {
        "key": key,
        "name": f"Bulk moves {key}",
        "stages": [{"key": "intake", "name": "Intake"}, {"key": "review", "name": "Review"}],
        "roles": [
            {
                "key": "handler",
                "name": "Handler",
                "permissions": ["case.view", "case.assign", "case.transition"],
                "groups": ["caseline-staff"],
            }
        ],
    }


def case_of(stack: LocalStack, case_id: str) -> dict[str, Any]:
    status, case = stack.request("GET", f"/cases/{case_id}")
    assert status == 200, case
    return dict(case)


def outcome(page: Page, results: str, case_id: str) -> Any:
    return page.get_by_role("list", name=re.compile(f"^{re.escape(results)}")).locator(
        "li", has=page.locator(f'a[href="#/cases/{case_id}"]')
    )


def test_bulk_owner_and_stage_act_on_each_case_as_the_list_showed_it(stack: LocalStack, browser: Browser) -> None:
    suffix = uuid.uuid4().hex[:6]
    key = f"bulk-moves-{suffix}"
    assert stack.request("POST", "/templates", two_stage_template(key))[0] == 201
    ids = []
    for number in range(3):
        status, case = stack.request("POST", "/cases", {"template_key": key, "title": f"Bulk {number} {suffix}"})
        assert status == 201, case
        ids.append(case["id"])
    before = {case_id: case_of(stack, case_id)["owner"] for case_id in ids}

    context, page, watch = signed_in(browser, stack, "admin")
    with context:
        # Newest first within a template: GET /cases answers, with each case's version.
        page.goto(f"{stack.url}/console/#/cases?template_key={key}&sort=created")
        rows = page.locator("#case-table tr[data-case-id]")
        expect(rows).to_have_count(3)
        page.get_by_label("Select every case shown").check()
        expect(page.locator("#bulk-count")).to_have_text("3 cases selected.")

        # Someone renames the last case while the list is on the screen.
        changed = ids[2]
        version = case_of(stack, changed)["version"]
        renamed = stack.request("PATCH", f"/cases/{changed}", {"title": f"Renamed {suffix}", "version": version})
        assert renamed[0] == 200, renamed

        page.get_by_label("Action", exact=True).select_option("assign")
        page.get_by_label("New owner", exact=True).fill("Sam Agent")
        page.get_by_role("button", name="Apply").click()
        results = "Results: 2 of 3 done, 1 refused."
        expect(page.get_by_role("list", name=re.compile(f"^{re.escape(results)}")).locator("li")).to_have_count(3)
        for case_id in ids[:2]:
            expect(outcome(page, results, case_id)).to_contain_text("Done. Now owned by Sam Agent.")
        expect(outcome(page, results, changed)).to_contain_text(
            "Refused: The case changed since the list was loaded; reload the list to see it as it is now."
        )
        screen(page, "bulk-1-owner-refused-one")
        assert [case_of(stack, case_id)["owner"] for case_id in ids] == [AGENT.subject, AGENT.subject, before[changed]]

        # The list was drawn again after the actions: each case at its new version, all three moved at once.
        expect(rows).to_have_count(3)
        expect(page.locator(f'#case-table tr[data-case-id="{changed}"]')).to_contain_text(f"Renamed {suffix}")
        page.get_by_label("Select every case shown").check()
        page.get_by_label("Action", exact=True).select_option("move")
        page.get_by_label("Move to stage", exact=True).select_option("review")
        page.get_by_role("button", name="Apply").click()
        results = "Results: 3 of 3 done."
        for case_id in ids:
            expect(outcome(page, results, case_id)).to_contain_text("Done. Moved to Review.")
        screen(page, "bulk-2-moved")
        assert [case_of(stack, case_id)["stage"] for case_id in ids] == ["review"] * 3
        search_results_changed_meanwhile_are_refused(stack, page, key, ids)
        clean(watch, stack)


def search_results_changed_meanwhile_are_refused(stack: LocalStack, page: Page, key: str, ids: list[str]) -> None:
    """Filtered and sorted by the last change, the list comes from the search index, as the cases are now."""

    def indexed() -> bool:
        status, body = stack.request("GET", f"/search?{urlencode({'template_key': key, 'limit': 10})}")
        return status == 200 and {item["case_id"]: item["stage"] for item in body["items"]} == dict.fromkeys(
            ids, "review"
        )

    wait_until(indexed, what="the moved cases in the search index", timeout=INDEX_WAIT_S)
    page.goto(f"{page.url.split('#')[0]}#/cases?template_key={key}")
    expect(page.locator("#case-table tr[data-case-id]")).to_have_count(3)
    page.get_by_label("Select every case shown").check()
    changed = ids[2]  # still the administrator's: the other two become theirs
    version = case_of(stack, changed)["version"]
    assert stack.request("PATCH", f"/cases/{changed}", {"title": "Renamed again", "version": version})[0] == 200
    page.get_by_label("Action", exact=True).select_option("assign")
    page.get_by_label("New owner", exact=True).fill("Dana Admin")
    page.get_by_role("button", name="Apply").click()
    results = "Results: 2 of 3 done, 1 refused."
    expect(outcome(page, results, changed)).to_contain_text("Refused: The case changed since the list was loaded")
    for case_id in ids[:2]:
        expect(outcome(page, results, case_id)).to_contain_text("Done. Now owned by Dana Admin.")
    assert [case_of(stack, case_id)["owner"] for case_id in ids] == [ADMIN.subject] * 3
