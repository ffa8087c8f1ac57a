"""The board, the templates, the builder (with a dry run) and insight for a browser whose first language is German:
no text a person sees is left in English where the catalog has German for it, and axe finds nothing serious or
critical in the light and the dark colour scheme."""

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from browser import Watch
from console_session import WAIT_MS, clean, console_browser, english_with_german, requires_browser, screen
from playwright.sync_api import Browser, Page, expect

from caseline.local.stack import LocalStack

pytestmark = requires_browser


# The visible text nodes, options of visible selects included, and the names given to controls, each trimmed.
SHOWN_JS = """(skipped) => {
  const texts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const parent = walker.currentNode.parentElement;
    const host = parent.closest("option") ? parent.closest("select") : parent;
    if (!host.checkVisibility() || parent.closest("pre, code") || (skipped && parent.closest(skipped))) continue;
    const text = walker.currentNode.textContent.trim();
    if (text) texts.push(text);
  }
  for (const element of document.querySelectorAll("[aria-label], [placeholder], [title]")) {
    if (!element.checkVisibility() || (skipped && element.closest(skipped))) continue;
    for (const name of ["aria-label", "placeholder", "title"]) {
      if (element.getAttribute(name)) texts.push(element.getAttribute(name).trim());
    }
  }
  return texts;
}"""


# Insight's figures keep the words the API names them by (a report's columns, its chart's series): data, not
# messages, though "Closed" is one too.
API_WORDS = "#insight-reports th[scope=col].number, #insight-reports .chart-legend, #insight-reports .chart-table th"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with console_browser() as launched:
        yield launched


def antrag(key: str) -> dict[str, Any]:
    """A template in German, so its data is never mistaken for English left untranslated."""
    return {
        "key": key,
        "name": f"Förderantrag {key}",
        "fields": [
            {"key": "betrag", "label": "Beantragte Summe", "type": "number"},
            {"key": "eilig", "label": "Eilt", "type": "boolean"},
            {"key": "sparte", "label": "Sparte", "type": "enum", "options": ["kultur", "sport"]},
        ],
        "stages": [
            {
                "key": "eingang",
                "name": "Eingang",
                "exit_criteria": [{"description": "Summe angegeben", "condition": {"!!": [{"var": "fields.betrag"}]}}],
            },
            {"key": "pruefung", "name": "Prüfung", "next": []},
        ],
        "roles": [
            {"key": "team", "name": "Sachbearbeitung", "permissions": ["case.view"], "groups": ["caseline-staff"]}
        ],
        "rules": [
            {
                "key": "gross",
                "name": "Große Anträge markieren",
                "trigger": {"event_type": "case.opened"},
                "condition": {">": [{"var": "fields.betrag"}, 1000]},
                "actions": [{"type": "add_comment", "body": "Großer Antrag."}],
            }
        ],
    }


def check(page: Page, name: str, english: set[str]) -> None:
    left = sorted({text for text in page.evaluate(SHOWN_JS, API_WORDS) if text in english})
    assert not left, f"{name}: English where the catalog has German: {left}"
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        screen(page, f"de-{name}-{scheme}")
    page.emulate_media(color_scheme="light")


def test_the_builder_and_its_neighbours_speak_german(stack: LocalStack, browser: Browser) -> None:
    key = f"antrag-{uuid.uuid4().hex[:8]}"
    status, created = stack.request("POST", "/templates", antrag(key))
    assert status == 201, created
    status, opened = stack.request("POST", "/cases", {"template_key": key, "title": "Sommerfest im Park"})
    assert status == 201, opened
    english = english_with_german(stack)

    context = browser.new_context(viewport={"width": 1280, "height": 1000}, locale="de-DE")
    context.set_default_timeout(WAIT_MS)
    watch = Watch(context, stack.url)
    with context:
        page = watch.page(context.new_page())
        page.goto(f"{stack.url}/console/")
        page.locator("#user-admin").check()
        page.locator("form.signin button[type=submit]").click()
        expect(page.locator("#user-name")).to_contain_text("admin")
        expect(page.locator("html")).to_have_attribute("lang", "de")

        page.goto(f"{stack.url}/console/#/board?choose=1")
        expect(page.get_by_role("heading", level=1, name="Board")).to_be_visible()
        check(page, "board-choice", english)
        page.goto(f"{stack.url}/console/#/board/{key}")
        expect(page.get_by_role("link", name="Sommerfest im Park")).to_be_visible()
        expect(page.locator("#board-summary")).to_contain_text("1 offener Fall.")
        check(page, "board", english)

        page.goto(f"{stack.url}/console/#/templates")
        expect(page.get_by_role("heading", level=1, name="Vorlagen")).to_be_visible()
        check(page, "templates", english)

        page.goto(f"{stack.url}/console/#/templates/{key}")
        expect(page.get_by_role("heading", name=f"Vorlagen-Editor: Förderantrag {key}")).to_be_visible()
        dry_run = page.get_by_role("region", name="Probelauf")
        dry_run.get_by_label("Beantragte Summe").fill("2500")
        dry_run.get_by_role("button", name="Probelauf starten").click()
        expect(dry_run.locator("li.decision .badge")).to_have_text("Ausgelöst")
        check(page, "builder", english)

        page.goto(f"{stack.url}/console/#/insight/{key}")
        expect(page.locator("#insight-reports[data-insight-ready=true]")).to_be_attached()
        expect(page.get_by_role("heading", level=1)).to_have_text(f"Auswertung: Förderantrag {key}")
        check(page, "insight", english)
        clean(watch, stack)
