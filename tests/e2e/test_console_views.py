"""Saved views in the staff console, in a real browser: an administrator imports the views an older console kept
in the browser, saves the list they are looking at as a view shared with all staff, and renames it; a case
worker finds it under "Team views", read-only, and opens the same list from it."""

import json
import uuid
from collections.abc import Iterator

import pytest
from console_session import clean, console_browser, requires_browser, screen, signed_in
from playwright.sync_api import Browser, expect

from caseline.local.stack import LocalStack

pytestmark = requires_browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with console_browser() as launched:
        yield launched


def test_a_view_shared_with_a_group_is_a_team_view_for_its_members(stack: LocalStack, browser: Browser) -> None:
    suffix = uuid.uuid4().hex[:6]
    name, renamed, legacy = f"Open, newest {suffix}", f"Open cases {suffix}", f"Kept in the browser {suffix}"
    context, page, watch = signed_in(browser, stack, "admin")
    with context:
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
        clean(watch, stack)

    context, page, watch = signed_in(browser, stack, "agent")
    with context:
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
