"""Saved views and work on lists in the staff console, in a real browser: an administrator imports the views an
older console kept in the browser, saves the list they are looking at as a view shared with all staff, and renames
it; signing in again lands on that list, the last one used. A case worker, who lands on "My tasks", finds the view
under "Team views", read-only, and opens the same list from it; then closes two cases at once with one reason (one
was closed already: refused, the other closed) and goes through the list with the keyboard shortcuts."""

import json
import re
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from console_session import USERS, clean, console_browser, requires_browser, screen, signed_in
from playwright.sync_api import Browser, Page, expect
from waiting import wait_until

from caseline.local.stack import LocalStack

pytestmark = requires_browser
INDEX_WAIT_S = 20.0


def closable_template(key: str) -> dict[str, Any]:
    """One stage, so a final one: its cases close without a criterion to meet."""
    return {
        "key": key,
        "name": f"Bulk {key}",
        "stages": [{"key": "review", "name": "Review"}],
        "roles": [
            {
                "key": "handler",
                "name": "Handler",
                "permissions": ["case.view", "case.close"],
                "groups": ["caseline-staff"],
            }
        ],
    }


def two_cases_one_closed(stack: LocalStack, suffix: str) -> tuple[str, str]:
    """An open case and a closed one, both in the search index (which the case list's search asks)."""
    key = f"bulk-e2e-{suffix}"
    assert stack.request("POST", "/templates", closable_template(key))[0] == 201
    ids = []
    for title in (f"Bulk open {suffix}", f"Bulk closed {suffix}"):
        status, case = stack.request("POST", "/cases", {"template_key": key, "title": title})
        assert status == 201, case
        ids.append(case["id"])
    assert stack.request("POST", f"/cases/{ids[1]}/close", {"reason": "Settled by phone"})[0] == 200

    # as they are now: bulk actions act only on a case as the list showed it
    def indexed() -> bool:
        status, body = stack.request("GET", f"/search?{urlencode({'q': suffix, 'limit': 10})}")
        return status == 200 and {item["case_id"]: item["status"] for item in body["items"]} == {
            ids[0]: "open",
            ids[1]: "closed",
        }

    wait_until(indexed, what="both cases in the search index, as they are now", timeout=INDEX_WAIT_S)
    return ids[0], ids[1]


def sign_in_again(page: Page, user: str) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.get_by_label(USERS[user]).check()
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#user-name")).to_contain_text(user)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with console_browser() as launched:
        yield launched


def test_a_view_shared_with_a_group_is_a_team_view_for_its_members(stack: LocalStack, browser: Browser) -> None:
    suffix = uuid.uuid4().hex[:6]
    name, renamed, legacy = f"Open, newest {suffix}", f"Open cases {suffix}", f"Kept in the browser {suffix}"
    open_case, closed_case = two_cases_one_closed(stack, suffix)
    context, page, watch = signed_in(browser, stack, "admin")
    with context:
        expect(page).to_have_url(f"{stack.url}/console/#/tasks")  # no list used yet in this browser: My tasks
        expect(page.get_by_role("heading", name="My tasks")).to_be_visible()
        older = [{"name": legacy, "query": "status=closed&updated_since=2027-01-01"}]
        page.evaluate("views => localStorage.setItem('caseline.savedViews', views)", json.dumps(older))
        page.goto(f"{stack.url}/console/#/cases")
        expect(page.locator("#case-table tr[data-case-id]").first).to_be_visible()
        offer = page.get_by_role("region", name="Views saved in this browser")
        expect(offer).to_contain_text("1 view is saved only in this browser")
        offer.get_by_role("button", name="Import").click()
        mine = page.locator("#my-views")
        expect(mine.get_by_role("link", name=legacy)).to_have_attribute("href", "#/cases?status=closed")
        expect(offer).to_have_count(0)
        assert page.evaluate("localStorage.getItem('caseline.savedViews')") is None

        page.get_by_label("Status", exact=True).select_option("open")
        page.get_by_label("Sort by", exact=True).select_option("created")
        expect(page).to_have_url(f"{stack.url}/console/#/cases?status=open&sort=created")
        expect(page.locator("#case-table tr[data-case-id]").first).to_be_visible()
        page.get_by_label("Name of this view").fill(name)
        page.locator(".save-view").get_by_label("All staff").check()
        page.get_by_role("button", name="Save view").click()
        expect(mine.get_by_role("link", name=name)).to_be_visible()
        expect(mine.locator("li", has_text=name)).to_contain_text("Shared with All staff")
        screen(page, "views-1-mine")

        page.get_by_role("button", name=f"Rename {name}").click()
        page.get_by_role("dialog").get_by_label("Name").fill(renamed)
        page.get_by_role("dialog").get_by_role("button", name="Rename").click()
        expect(mine.get_by_role("link", name=renamed)).to_be_visible()
        expect(mine.get_by_role("link", name=name)).to_have_count(0)

        sign_in_again(page, "admin")  # lands on the list used last, as it was left
        expect(page).to_have_url(f"{stack.url}/console/#/cases?status=open&sort=created")
        expect(page.get_by_label("Status", exact=True)).to_have_value("open")
        clean(watch, stack)

    context, page, watch = signed_in(browser, stack, "agent")
    with context:
        expect(page.get_by_role("heading", name="My tasks")).to_be_visible()
        shortcuts_help_and_search(page, suffix)
        bulk_close(page, open_case, closed_case)
        rows_by_keyboard(page, stack)
        page.goto(f"{stack.url}/console/#/cases")
        team = page.locator("#team-views")
        shared = team.locator("li", has_text=renamed)
        expect(shared).to_contain_text("by Dana Admin")
        expect(team.get_by_role("link", name=legacy)).to_have_count(0)  # an unshared view stays its owner's
        expect(page.get_by_role("button", name=f"Rename {renamed}")).to_have_count(0)
        screen(page, "views-2-team")
        shared.get_by_role("link", name=renamed).click()
        expect(page.get_by_label("Status", exact=True)).to_have_value("open")
        expect(page.get_by_label("Sort by", exact=True)).to_have_value("created")
        expect(page.locator("#case-table tr[data-case-id]").first).to_be_visible()
        clean(watch, stack)


def shortcuts_help_and_search(page: Page, suffix: str) -> None:
    """ "?" lists the shortcuts in a dialog Escape closes; "/" from My tasks (no search box) goes to the case list's."""
    page.keyboard.press("?")
    help_dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(help_dialog).to_contain_text("Open a new case")
    screen(page, "views-3-shortcuts")
    page.keyboard.press("Escape")
    expect(help_dialog).to_have_count(0)
    expect(page.locator("#view")).to_be_focused()
    page.keyboard.press("/")
    search = page.get_by_role("searchbox", name="Search")
    expect(search).to_be_focused()
    page.keyboard.type(suffix)
    expect(page).to_have_url(re.compile(rf"#/cases\?q={suffix}$"))
    expect(page.locator("#case-table tr[data-case-id]")).to_have_count(2)


def bulk_close(page: Page, open_case: str, closed_case: str) -> None:
    """Both cases closed with one reason: each answers for itself, the one closed already refuses."""
    page.get_by_label("Select every case shown").check()
    expect(page.locator("#bulk-count")).to_have_text("2 cases selected.")
    page.get_by_label("Action", exact=True).select_option("close")
    # typed key by key: "c", "j" and "k" in a field are letters, never shortcuts
    page.get_by_label("Reason", exact=True).press_sequentially("Duplicates: check j and k")
    page.get_by_role("button", name="Apply").click()
    outcomes = page.get_by_role("list", name=re.compile("^Results: 1 of 2 done, 1 refused"))
    expect(outcomes.locator("li")).to_have_count(2)
    closed_now = outcomes.locator("li", has=page.locator(f'a[href="#/cases/{open_case}"]'))
    refused = outcomes.locator("li", has=page.locator(f'a[href="#/cases/{closed_case}"]'))
    expect(closed_now).to_contain_text("Done. Closed.")
    expect(refused).to_contain_text("Refused:")
    expect(refused).to_contain_text("The case is closed; reopen it first.")
    expect(page.locator("#bulk-count")).to_have_text("Select cases in the list to act on them together.")
    screen(page, "views-4-bulk-close")


def rows_by_keyboard(page: Page, stack: LocalStack) -> None:
    """ "j"/"k" move the focus through the rows, "o" opens the one reached, "c" opens a new case."""
    rows = page.locator("#case-table tbody tr")
    page.locator("#view").focus()
    page.keyboard.press("j")
    expect(rows.nth(0)).to_be_focused()
    page.keyboard.press("j")
    expect(rows.nth(1)).to_be_focused()
    page.keyboard.press("k")
    expect(rows.nth(0)).to_be_focused()
    first = rows.nth(0).get_attribute("data-case-id")
    page.keyboard.press("o")
    expect(page).to_have_url(f"{stack.url}/console/#/cases/{first}")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    page.keyboard.press("c")
    expect(page).to_have_url(f"{stack.url}/console/#/cases/new")
