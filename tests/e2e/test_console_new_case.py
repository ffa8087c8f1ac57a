"""Opening a case in the staff console, in a real browser: a double click on "Open case" opens one case (the form
sends one Idempotency-Key and is disabled while its request is pending), and two templates of the same name are
told apart by their keys in the template picker."""

import uuid
from collections.abc import Iterator

import pytest
from console_session import clean, console_browser, requires_browser, signed_in
from playwright.sync_api import Browser, expect

from caseline.local.stack import LocalStack

pytestmark = requires_browser


def template(key: str, name: str) -> dict[str, object]:
    return {
        "key": key,
        "name": name,
        "stages": [{"key": "open", "name": "Open"}],
        "roles": [{"key": "team", "name": "Team", "permissions": ["case.view"], "groups": ["caseline-staff"]}],
    }


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with console_browser() as launched:
        yield launched


def test_a_double_click_opens_one_case_and_namesakes_show_their_keys(stack: LocalStack, browser: Browser) -> None:
    suffix = uuid.uuid4().hex[:8]
    name, first, second = f"Namesake {suffix}", f"namesake-a-{suffix}", f"namesake-b-{suffix}"
    for key in (first, second):
        assert stack.request("POST", "/templates", template(key, name))[0] == 201
    title = f"Opened once {suffix}"
    context, page, watch = signed_in(browser, stack, "agent")
    with context:
        page.goto(f"{stack.url}/console/#/cases/new?template={first}")
        picker = page.locator("#new-case-template")
        expect(picker.locator(f'option[value="{first}"]')).to_have_text(f"{name} ({first})")
        expect(picker.locator(f'option[value="{second}"]')).to_have_text(f"{name} ({second})")
        page.get_by_label("Title").fill(title)
        page.get_by_role("button", name="Open case").dblclick()
        expect(page.get_by_role("heading", name=title)).to_be_visible()
        clean(watch, stack)

    status, listed = stack.request("GET", f"/cases?template_key={first}")
    assert status == 200
    assert [case["title"] for case in listed["items"]] == [title]
