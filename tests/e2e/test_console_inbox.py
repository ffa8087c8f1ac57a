"""The read plane in the staff console, in a real browser (Debian's Chromium, headless).

A case worker takes an unassigned task of their role from the team queue with "Assign to me", finds it in "My
tasks" with the nav badge counting it, completes it there and sees it leave; and the case list searches as
one types, marking the matched words in each result's snippets (a word only in a comment; "koln" for "Köln").

The task inbox and the search index are projections of the case events (a second or so behind a change), and
a view reads them once when it is drawn: where the test waits for a projection it draws the view again
(a reload, as a person would) until Playwright's retrying expect sees the change, never sleeping blindly.
"""

import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
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
REDRAW_AFTER_MS = 2_000  # how long one drawing of a view is given to show a projection's change
PROJECTION_WAIT_S = 20.0


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with console_browser() as launched:
        yield launched


def agent_token(stack: LocalStack) -> str:
    """The token the console's development sign-in gives the case worker: same subject, same groups."""
    return stack.idp.issue(subject=AGENT.subject, email=AGENT.email, groups=[str(group) for group in AGENT.groups])


def redrawn_until(page: Page, check: Callable[[], None], what: str) -> None:
    """Draws the current view again until `check` (retrying expects) passes: a view, and the nav's badges, read
    the projections once per drawing, so only a new drawing shows what reached them since."""
    deadline = time.monotonic() + PROJECTION_WAIT_S
    while True:
        try:
            check()
            return
        except AssertionError as error:
            if time.monotonic() >= deadline:
                raise AssertionError(f"the console never showed {what}") from error
            page.reload()


def my_open_tasks(page: Page, count: int) -> None:
    """The nav's badge for my open tasks says `count` (hidden at none)."""
    badge = page.locator("#badge-tasks")
    if count:
        words = "open task" if count == 1 else "open tasks"
        expect(badge).to_have_text(re.compile(rf"^{count}\+? {words}\b"), timeout=REDRAW_AFTER_MS)
    else:
        expect(badge).to_be_hidden(timeout=REDRAW_AFTER_MS)


def humanized(key: str) -> str:
    """What the console's `humanize` makes of a key."""
    text = key.replace("_", " ").replace(".", " ").strip()
    return text[:1].upper() + text[1:]


def inbox_template(key: str, role: str, task: str) -> dict[str, Any]:
    return {
        "key": key,
        "name": f"Inbox {key}",
        "stages": [
            {"key": "intake", "name": "Intake", "tasks": [{"key": "check", "title": task, "assignee_role": role}]},
            {"key": "done", "name": "Done", "next": []},
        ],
        "roles": [
            {
                "key": role,
                "name": "Clerk",
                "permissions": ["case.view", "task.manage", "task.complete"],
                "groups": ["caseline-staff"],
            }
        ],
    }


def test_a_task_taken_from_the_team_queue_is_mine_until_completed(stack: LocalStack, browser: Browser) -> None:
    suffix = uuid.uuid4().hex[:6]
    # The team counts at most ten roles, in key order: a key early in the alphabet keeps this one among them.
    role, key, title = f"aa_clerk_{suffix}", f"inbox-e2e-{suffix}", f"Check the intake form {suffix}"
    assert stack.request("POST", "/templates", inbox_template(key, role, title))[0] == 201
    status, case = stack.request("POST", "/cases", {"template_key": key, "title": f"Inbox case {suffix}"})
    assert status == 201, case
    [task] = case["tasks"]
    token = agent_token(stack)

    context, page, watch = signed_in(browser, stack, "agent")
    with context:
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Team queue").click()
        expect(page.get_by_role("heading", name="Team queue")).to_be_visible()
        tabs = page.get_by_role("navigation", name="Your roles")
        tabs.get_by_role("link", name=re.compile(rf"^{humanized(role)}\b")).click()
        expect(page).to_have_url(re.compile(rf"#/queue\?role={role}$"))
        row = page.locator(f'#task-table tr[data-task-id="{task["id"]}"]')
        redrawn_until(page, lambda: expect(row).to_be_visible(timeout=REDRAW_AFTER_MS), "the task in the queue")
        expect(row.get_by_role("rowheader")).to_contain_text(title)
        expect(row.locator(".task-assignee")).to_have_text("Role: Clerk")
        screen(page, "inbox-1-team-queue")
        status, counts = stack.request("GET", "/tasks/counts", token=token)
        assert status == 200, counts
        before = counts["mine_open"]

        row.get_by_role("button", name="Assign to me").click()
        expect(row.locator(".task-assignee")).to_have_text("You")
        expect(row.get_by_role("button", name="Assign to me")).to_have_count(0)
        row.get_by_role("link", name="In my tasks").click()
        expect(page.get_by_role("heading", name="My tasks")).to_be_visible()
        mine = page.locator(f'#task-table tr[data-task-id="{task["id"]}"]')
        # My tasks waits for the task just claimed to reach the inbox: it shows without a reload.
        expect(mine).to_be_visible(timeout=10_000)

        # The badges are read again on each drawing of a page: once one shows the claimed task, they count it.
        def claimed() -> None:
            expect(mine).to_be_visible(timeout=REDRAW_AFTER_MS)
            my_open_tasks(page, before + 1)

        redrawn_until(page, claimed, "the claimed task in My tasks, counted by the badge")
        expect(mine.get_by_role("rowheader")).to_contain_text(title)
        expect(mine.get_by_role("link", name=f"Inbox case {suffix}")).to_be_visible()
        screen(page, "inbox-2-my-tasks")

        mine.get_by_role("button", name="Complete").click()
        expect(mine).to_have_count(0)
        expect(page.locator("#announcer")).to_contain_text(f"Completed “{title}”")

        def completed() -> None:
            expect(mine).to_have_count(0, timeout=REDRAW_AFTER_MS)
            my_open_tasks(page, before)

        nav = page.get_by_role("navigation", name="Main")
        nav.get_by_role("link", name="Board").click()
        nav.get_by_role("link", name="My tasks").click()
        expect(page.locator("#task-summary")).to_be_visible()
        redrawn_until(page, completed, "My tasks and its badge without the completed task")
        clean(watch, stack)

    status, done = stack.request("GET", f"/tasks?{urlencode({'case_id': case['id'], 'status': 'done'})}", token=token)
    assert status == 200, done
    assert [(item["task_id"], item["assignee"]) for item in done["items"]] == [(task["id"], AGENT.subject)]


def search_template(key: str) -> dict[str, Any]:
    return {
        "key": key,
        "name": f"Search {key}",
        "fields": [{"key": "city", "label": "City", "type": "text"}],
        "stages": [{"key": "open", "name": "Open"}],
        "roles": [
            {
                "key": "team",
                "name": "Team",
                "permissions": ["case.view", "comment.internal"],
                "fields": {"*": "view"},
                "groups": ["caseline-staff"],
            }
        ],
    }


def opened(stack: LocalStack, key: str, title: str, city: str, comment: str) -> str:
    status, case = stack.request("POST", "/cases", {"template_key": key, "title": title, "fields": {"city": city}})
    assert status == 201, case
    case_id: str = case["id"]
    assert stack.request("POST", f"/cases/{case_id}/comments", {"body": comment})[0] == 201
    return case_id


def test_the_case_list_searches_as_one_types_and_marks_the_matches(stack: LocalStack, browser: Browser) -> None:
    suffix = uuid.uuid4().hex[:6]
    key, word = f"search-e2e-{suffix}", f"quokka{suffix}"
    assert stack.request("POST", "/templates", search_template(key))[0] == 201
    commented = opened(stack, key, f"Roof leak {suffix}", "Lyon", f"The {word} was seen near the gutter.")
    cologne = opened(stack, key, f"Burst pipe {suffix}", "Köln", "Plumber booked.")
    unrelated = opened(stack, key, f"Broken window {suffix}", "Berlin", "Glazier booked.")
    assert stack.request("POST", f"/cases/{unrelated}/assignment", {"owner": AGENT.subject})[0] == 200
    token = agent_token(stack)

    # The list asks the index once per query typed; the index is a projection, so the test lets it catch up first.
    def indexed() -> bool:
        status, body = stack.request("GET", f"/search?{urlencode({'q': suffix, 'limit': 10})}", token=token)
        owners = {item["case_id"]: item["owner"] for item in body["items"]} if status == 200 else {}
        return owners.keys() >= {commented, cologne, unrelated} and owners[unrelated] == AGENT.subject

    wait_until(indexed, what="the three cases in the search index", timeout=PROJECTION_WAIT_S)

    context, page, watch = signed_in(browser, stack, "agent")
    with context:
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Cases").click()
        rows = page.locator("#case-table tr[data-case-id]")
        expect(rows.first).to_be_visible()
        search = page.get_by_role("searchbox", name="Search")

        search.press_sequentially(word, delay=40)
        found = page.locator(f'#case-table tr[data-case-id="{commented}"]')
        expect(found).to_be_visible()
        expect(rows).to_have_count(1)
        expect(page).to_have_url(re.compile(rf"#/cases\?q={word}$"))
        expect(page.get_by_label("Sort by", exact=True)).to_have_value("relevance")
        snippet = found.locator(".case-highlights li", has_text="Comment")
        expect(snippet.locator("mark")).to_have_text([word])
        expect(snippet).to_contain_text(f"The {word} was seen near the gutter.")
        expect(page.locator(f'#case-table tr[data-case-id="{unrelated}"]')).to_have_count(0)
        screen(page, "inbox-3-search-comment")

        search.fill("")
        search.press_sequentially("koln", delay=40)
        expect(page).to_have_url(re.compile(r"#/cases\?q=koln$"))
        hit = page.locator(f'#case-table tr[data-case-id="{cologne}"]')
        expect(hit).to_be_visible()
        city = hit.locator(".case-highlights li", has_text="City")
        expect(city.locator("mark")).to_have_text(["Köln"])
        for other in (commented, unrelated):
            expect(page.locator(f'#case-table tr[data-case-id="{other}"]')).to_have_count(0)
        screen(page, "inbox-4-search-accents")
        owner_filter_shows_a_name(page, suffix, unrelated)
        clean(watch, stack)


def owner_filter_shows_a_name(page: Page, suffix: str, owned: str) -> None:
    """The owner filter offers people by name; picking one (the datalist puts its value in the field) filters by
    their subject, and the field keeps showing the name, after a reload too."""
    page.get_by_role("searchbox", name="Search").fill(suffix)
    page.get_by_role("searchbox", name="Search").press("Enter")
    expect(page.locator("#case-table tr[data-case-id]")).to_have_count(3)
    expect(page.locator("#filter-owner-options option[value='Sam Agent']")).to_have_count(1)
    owner = page.get_by_label("Owner", exact=True)
    owner.fill("Sam Agent")
    owner.press("Tab")
    expect(page).to_have_url(re.compile(rf"owner={AGENT.subject}(&|$)"))
    expect(page.locator("#case-table tr[data-case-id]")).to_have_count(1)
    expect(page.locator(f'#case-table tr[data-case-id="{owned}"]')).to_be_visible()
    expect(owner).to_have_value("Sam Agent")
    page.reload()
    expect(page.locator(f'#case-table tr[data-case-id="{owned}"]')).to_be_visible()
    expect(page.get_by_label("Owner", exact=True)).to_have_value("Sam Agent")


def test_a_task_assigned_to_me_rings_my_bell_once_and_mails_me_once(stack: LocalStack, browser: Browser) -> None:
    """The administrator (through the API) assigns a task to the case worker: the worker's bell counts it, the list
    links to the case and marks it read, and the development mailbox holds one e-mail about it."""
    suffix = uuid.uuid4().hex[:6]
    key, title = f"notify-e2e-{suffix}", f"Notified case {suffix}"
    assert stack.request("POST", "/templates", inbox_template(key, f"aa_notify_{suffix}", "Call back"))[0] == 201
    status, case = stack.request("POST", "/cases", {"template_key": key, "title": title})
    assert status == 201, case
    token = agent_token(stack)

    def unread() -> int:
        status, page = stack.request("GET", "/notifications?limit=1", token=token)
        assert status == 200, page
        count: int = page["unread"]
        return count

    before = unread()
    assigned = {"assignee": AGENT.subject}
    assert stack.request("POST", f"/cases/{case['id']}/tasks/{case['tasks'][0]['id']}/assignment", assigned)[0] == 200
    wait_until(lambda: unread() == before + 1, what="the worker's notification", timeout=PROJECTION_WAIT_S)

    def mails() -> list[dict[str, Any]]:
        status, _headers, raw = stack.api.handle("GET", "/_dev/mailbox.json", {}, None)
        assert status == 200
        return [mail for mail in json.loads(raw) if AGENT.email in mail["destinations"] and title in mail["subject"]]

    wait_until(lambda: len(mails()) == 1, what="the worker's e-mail")

    context, page, watch = signed_in(browser, stack, "agent")
    with context:
        bell = page.locator("#bell")
        expect(bell).to_have_attribute("aria-label", f"Notifications, {before + 1} unread")
        bell.click()
        expect(page.get_by_role("heading", name="Notifications", exact=True)).to_be_visible()
        item = page.locator("#notification-list li", has_text=title)
        expect(item).to_contain_text("Task assigned to you: Call back")
        expect(item).to_contain_text("Dana Admin")  # the actor's name, from the directory
        expect(item.get_by_role("link", name=title)).to_have_attribute("href", f"#/cases/{case['id']}")
        screen(page, "notifications-1-list")
        item.get_by_role("button", name=re.compile(r"^Mark read")).click()
        expect(item.get_by_role("button")).to_have_count(0)
        expect(bell).to_have_attribute("aria-label", re.compile(rf"^Notifications, ({before} unread|none unread)$"))
        clean(watch, stack)
    assert unread() == before
    assert len(mails()) == 1
