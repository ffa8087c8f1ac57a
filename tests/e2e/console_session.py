"""What the staff console's browser tests share: a launched Chromium, a signed-in session by the development
user picker, a screen checked (screenshot, axe-core, no stray JavaScript value) and a session checked clean
(no policy violation, no third-party origin, no unexpected console error)."""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
from babel.messages.pofile import read_po
from browser import AXE, CHROMIUM, Watch, axe_check, launch_chromium
from playwright.sync_api import Browser, BrowserContext, Page, expect

from caseline.local.stack import LocalStack
from caseline.paths import ROOT

OUTPUT = Path(__file__).parents[2] / "test-output" / "console"
WAIT_MS = 20_000
USERS = {
    "admin": "Dana Admin (administrator)",
    "agent": "Sam Agent (case worker)",
    "viewer": "Vic Viewer (read only)",
}

# Run by hand without `make browser`, the tests skip; in CI (`make test`) a missing browser fails them.
requires_browser = pytest.mark.skipif(
    (not CHROMIUM.exists() or not AXE.exists()) and not os.environ.get("CI"),
    reason="Chromium or axe-core is missing: run `make browser`",
)


@contextmanager
def console_browser() -> Iterator[Browser]:
    """Chromium for a module's tests, with the screenshots' folder ready."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    with launch_chromium() as launched:
        yield launched


def signed_in(browser: Browser, stack: LocalStack, user: str) -> tuple[BrowserContext, Page, Watch]:
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, locale="en-GB")
    context.set_default_timeout(WAIT_MS)
    watch = Watch(context, stack.url)
    page = watch.page(context.new_page())
    page.goto(f"{stack.url}/console/")
    expect(page.get_by_role("heading", name="Sign in to Caseline")).to_be_visible()
    if user == "admin":
        screen(page, "0-sign-in")
    page.get_by_label(USERS[user]).check()
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#user-name")).to_contain_text(user)
    return context, page, watch


# Text nodes that are only a JavaScript value's name: a null or undefined that slipped into the page.
STRAY_VALUES_JS = """() => {
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const stray = [];
  while (walker.nextNode()) {
    if (walker.currentNode.parentElement.closest("pre, code")) continue;  // JSON shown as JSON
    const text = walker.currentNode.textContent.trim();
    if (["null", "undefined", "NaN", "[object Object]"].includes(text)) stray.push(text);
  }
  return stray;
}"""


def screen(page: Page, name: str) -> None:
    page.screenshot(path=OUTPUT / f"{name}.png", full_page=True)
    axe_check(page, name)
    assert page.evaluate(STRAY_VALUES_JS) == [], f"the {name} screen shows a stray JavaScript value"


def clean(watch: Watch, stack: LocalStack) -> None:
    """No policy violation, no third-party request; console errors only for refusals the test asked for."""
    assert not watch.violations, watch.violations
    assert watch.origins <= {stack.url, stack.aws_endpoint.rstrip("/")}, watch.origins
    unexpected = [error for error in watch.errors if "Failed to load resource" not in error]
    assert not unexpected, unexpected


def english_with_german(stack: LocalStack) -> set[str]:
    """Each English message of the console (every form of a plural one) whose German differs: what a German screen
    must not show. Less the names of the stack's templates, which are data whatever words they use (another module of
    the same stack names one "Search")."""
    with (ROOT / "console" / "locale" / "de.po").open("rb") as file:
        catalog = read_po(file, locale="de")
    found: set[str] = set()
    for message in catalog:
        if not message.id:
            continue
        english = list(message.id) if isinstance(message.id, tuple) else [message.id]
        german = list(message.string) if isinstance(message.string, tuple) else [message.string]
        found.update(str(text) for text in english if str(text) not in german)
    names: set[str] = set()
    cursor = ""
    while True:
        status, page = stack.request("GET", f"/templates?limit=100{cursor}")
        assert status == 200, page
        assert isinstance(page, dict)
        names.update(str(item["name"]) for item in page["items"])
        if not page.get("next_cursor"):
            return found - names
        cursor = f"&cursor={quote(str(page['next_cursor']))}"
