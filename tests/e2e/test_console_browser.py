"""The staff console in a real browser (Debian's Chromium, headless, laptop-sized).

An administrator builds a small template from scratch in the builder (two fields, three stages, one exit
condition, one rule) and publishes it. A case worker opens a case on it, fills its fields, is refused the
move to the next stage with the reason in words, satisfies it, moves the case to the end, and finds every
step on the case's timeline with its hash chain verified. A viewer can read but change nothing, and only
administrators reach the template builder. Every screen is screenshotted into test-output/console/ and
checked with axe-core; no screen asks a third-party origin or meets a Content-Security-Policy violation.
"""

import re
import uuid
from collections.abc import Iterator

import httpx
import pytest
from console_session import WAIT_MS, clean, console_browser, requires_browser, screen, signed_in
from playwright.sync_api import Browser, Dialog, ViewportSize, expect
from waiting import wait_until

from caseline.local.stack import LocalStack

CONDITION = "The amount is entered and above zero"

pytestmark = requires_browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with console_browser() as launched:
        yield launched


@pytest.fixture(scope="module")
def template_key() -> str:
    return f"expense-{uuid.uuid4().hex[:8]}"


def test_an_admin_builds_a_template_and_an_agent_works_a_case_through_it(
    stack: LocalStack, browser: Browser, template_key: str
) -> None:
    context, page, watch = signed_in(browser, stack, "admin")
    with context:
        page.goto(f"{stack.url}/console/#/templates")
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        screen(page, "1-templates")
        page.get_by_label("Template key").fill(template_key)
        page.get_by_label("Template name").fill("Expense claim")
        page.get_by_label("Start from").select_option("")
        page.get_by_role("button", name="Create template").click()
        expect(page.get_by_role("heading", name="Template builder: Expense claim")).to_be_visible()

        for index, (key, label, kind) in enumerate([("amount", "Amount", "number"), ("purpose", "Purpose", "text")]):
            page.get_by_role("button", name="Add field").click()
            field = page.get_by_role("group", name=re.compile(rf"^Field {index + 1}\b"))
            field.get_by_label("Key", exact=True).fill(key)
            field.get_by_label("Label", exact=True).fill(label)
            field.get_by_label("Type").select_option(kind)

        for index, (key, name) in enumerate([("submitted", "Submitted"), ("review", "Review"), ("paid", "Paid")]):
            page.get_by_role("button", name="Add stage").click()
            stage = page.get_by_role("group", name=re.compile(rf"^Stage {index + 1}\b"))
            stage.get_by_label("Key", exact=True).fill(key)
            stage.get_by_label("Name", exact=True).fill(name)

        # Half-finished work can be parked: a stage just added, still empty, is saved with its mistakes in words.
        page.get_by_role("button", name="Add stage").click()
        page.get_by_role("button", name="Save draft").click()
        summary = page.locator(".builder-summary")
        expect(summary).to_contain_text("Draft saved with 2 mistakes to fix before publishing")
        empty = page.get_by_role("group", name=re.compile(r"^Stage 4\b"))
        expect(empty.locator(".field-error").first).to_have_text(
            "use lower-case letters, digits and _, and start with a letter (at most 63 characters)"
        )
        page.get_by_role("button", name="Remove stage 4").click()
        # Unsaved, the work is not left by a link or by Back without a question; choosing to stay keeps it.
        asked: list[str] = []

        def stay(dialog: Dialog) -> None:
            asked.append(dialog.message)
            dialog.dismiss()

        builder = re.compile(rf"#/templates/{template_key}$")
        page.once("dialog", stay)
        page.get_by_role("link", name="← All templates").click()
        expect(page).to_have_url(builder)
        page.once("dialog", stay)
        page.go_back()
        expect(page).to_have_url(builder)
        assert asked == ["Leave the template builder? The changes since the draft was last saved will be lost."] * 2
        expect(page.get_by_role("group", name=re.compile(r"^Stage \d\b"))).to_have_count(3)
        page.get_by_role("group", name=re.compile(r"^Stage 3\b")).get_by_label(
            "After this stage a case may move to"
        ).select_option("final")

        first = page.get_by_role("group", name=re.compile(r"^Stage 1\b"))
        page.get_by_role("button", name="Add exit criterion to stage 1").click()
        criterion = first.get_by_role("group", name="Exit criterion 1")
        criterion.get_by_label("Description").fill(CONDITION)
        criterion.get_by_role("button", name="Add condition").click()
        row = criterion.get_by_role("group", name="Condition 1")
        row.get_by_label("Field or fact").select_option("fields.amount")
        row.get_by_label("Operator").select_option(">")
        row.get_by_label("Value").fill("0")

        page.get_by_role("button", name="Add rule").click()
        rule = page.get_by_role("group", name=re.compile(r"^Rule 1\b"))
        rule.get_by_label("Key", exact=True).fill("welcome")
        rule.get_by_label("Name", exact=True).fill("Acknowledge every claim")
        rule.get_by_label("Trigger event").select_option("case.opened")
        rule.get_by_role("button", name="Add action to rule 1").click()
        action = rule.get_by_role("group", name="Action 1")
        action.get_by_label("Action type").select_option("add_comment")
        action.get_by_label("Comment").fill("Received: we review expense claims within two days.")

        page.get_by_role("button", name="Save draft").click()
        expect(page.locator(".builder-summary")).to_contain_text("No mistakes found")
        screen(page, "2-builder")
        page.get_by_role("button", name="Publish", exact=True).click()
        expect(page.locator(".builder-summary")).to_contain_text("Published version 1.")
        screen(page, "3-published")
        page.emulate_media(color_scheme="dark")
        assert page.evaluate("() => getComputedStyle(document.documentElement).backgroundColor") == "rgb(18, 22, 28)"
        screen(page, "3-published-dark")
        clean(watch, stack)

    context, page, watch = signed_in(browser, stack, "agent")
    with context:
        # Only administrators build templates: no menu entry, and the page says so.
        expect(page.get_by_role("link", name="Templates")).to_be_hidden()
        page.goto(f"{stack.url}/console/#/templates")
        expect(page.get_by_role("heading", name="Not for your role")).to_be_visible()
        screen(page, "4-builder-refused")
        # The demo's case worker is in every example's front-line group: the seeded claim is theirs to work.
        page.goto(f"{stack.url}/console/#/board/insurance-claim")
        expect(page.locator("li.board-card").first.get_by_label("Move to")).to_be_visible()

        page.goto(f"{stack.url}/console/#/cases/new?template={template_key}")
        expect(page.get_by_role("heading", name="Open a case")).to_be_visible()
        page.get_by_label("Title").fill("Conference travel, Lisbon")
        page.get_by_label("Purpose").fill("Speaking at a public-sector records conference")
        screen(page, "5-new-case")
        page.get_by_role("button", name="Open case").click()
        expect(page.get_by_role("heading", name="Conference travel, Lisbon")).to_be_visible()
        case_id = page.url.rsplit("/", 1)[1]

        # The exit criterion holds the case: the refusal names it in words.
        page.locator("#case-move-to").select_option(label="Review")
        page.get_by_role("button", name="Move case").click()
        refusal = page.locator("#case-move-status [role=alert]")
        expect(refusal).to_contain_text(CONDITION)
        screen(page, "6-move-refused")

        page.get_by_label("Amount", exact=True).fill("412.50")
        page.get_by_role("button", name="Save changes").click()
        expect(page.locator("#announcer")).to_contain_text("Saved")
        page.locator("#case-move-to").select_option(label="Review")
        page.get_by_role("button", name="Move case").click()
        expect(page.locator("ol[aria-label='Stage progress'] li[aria-current='step']")).to_contain_text("Review")
        page.locator("#case-move-to").select_option(label="Paid")
        page.get_by_role("button", name="Move case").click()
        expect(page.locator("ol[aria-label='Stage progress'] li[aria-current='step']")).to_contain_text("Paid")

        # Every step is on the timeline, and its hash chain verifies.
        expected = {"case.opened", "case.fields_changed", "case.stage_changed", "comment.added", "automation.ran"}
        expect(page.locator("#timeline-chain")).to_contain_text("Chain verified")
        screen(page, "7-case-done")
        clean(watch, stack)

    staff = {"Authorization": f"Bearer {stack.staff_token()}"}
    with httpx.Client(base_url=stack.url, headers=staff, timeout=10) as api:
        events = [
            item["event"] for item in api.get(f"/cases/{case_id}/timeline", params={"limit": 200}).json()["items"]
        ]
        assert expected <= {event["type"] for event in events}
        moves = [event["data"]["to"] for event in events if event["type"] == "case.stage_changed"]
        assert moves == ["review", "paid"]
        assert api.get(f"/cases/{case_id}/timeline/verify").json()["valid"] is True


def test_a_viewer_reads_every_screen_and_can_change_nothing(
    stack: LocalStack, browser: Browser, template_key: str
) -> None:
    claim = stack.seeded_case_ids[4]
    context, page, watch = signed_in(browser, stack, "viewer")
    with context:
        expect(page.get_by_role("link", name="Templates")).to_be_hidden()
        expect(page).to_have_url(f"{stack.url}/console/#/cases")  # no tasks for a viewer: sign-in lands on the cases
        # A board chosen from the list of templates: Back returns to the list, Forward to the board.
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Board").click()
        choices = page.get_by_role("list", name="Templates")
        key = page.locator(".template-choice-meta", has_text=re.compile(r"^insurance-claim ·"))
        choices.get_by_role("link").filter(has=key).click()
        expect(page.get_by_role("heading", name=re.compile("^Board: "))).to_be_visible()
        page.go_back()
        expect(page.get_by_role("heading", level=1, name="Board", exact=True)).to_be_visible()
        page.go_forward()
        expect(page.get_by_role("heading", name=re.compile("^Board: "))).to_be_visible()
        expect(page.locator("li.board-card").first).to_be_visible()
        # Cards name the role a case is assigned to, never its key.
        card = page.locator(f"li.board-card[data-case-id='{claim}']")
        expect(card).to_contain_text("Senior claims reviewer")
        expect(card).not_to_contain_text("senior_reviewer")
        expect(page.get_by_label("Move to")).to_have_count(0)
        screen(page, "8-viewer-board")

        page.goto(f"{stack.url}/console/#/cases")
        expect(page.locator("#case-table tr[data-case-id]").first).to_be_visible()
        screen(page, "9-viewer-cases")
        expect(page.locator("#case-table input[type=checkbox]")).to_have_count(0)  # nothing to act on in bulk
        # The search engine's (GET /search): every word, any letter case, over every case the viewer may see.
        page.get_by_label("Search", exact=True).fill("KÖLN theft")
        page.get_by_role("button", name="Search", exact=True).click()
        # The seeded claim, and only cases with both words (other tests of this stack open namesakes of it).
        found = page.locator("#case-table tr[data-case-id]")
        for word in ("köln", "theft"):
            expect(found.filter(has_not_text=re.compile(word, re.IGNORECASE))).to_have_count(0)
        expect(page.locator(f"#case-table tr[data-case-id='{claim}']")).to_have_count(1)
        expect(page.locator(".case-active-filters")).to_contain_text("“KÖLN theft”")

        page.goto(f"{stack.url}/console/#/tasks")
        expect(page.get_by_role("heading", name="My tasks")).to_be_visible()
        screen(page, "10-viewer-tasks")

        page.goto(f"{stack.url}/console/#/insight/insurance-claim")
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        # Every report drawn: a chart and table, or (the lake a little behind the seeded case) no data yet.
        expect(page.locator("#insight-reports[data-insight-ready] section[data-insight]").first).to_be_visible()
        screen(page, "11-viewer-insight")

        page.goto(f"{stack.url}/console/#/cases/{claim}")
        expect(page.locator("#timeline-chain")).to_contain_text("Chain verified")
        for control in ("Save changes", "Move case", "Add comment", "Add participant", "Add task"):
            expect(page.get_by_role("button", name=control)).to_have_count(0)
        expect(page.locator("main form:not(:has(#timeline-type))")).to_have_count(0)
        screen(page, "12-viewer-case")

        page.goto(f"{stack.url}/console/#/templates")
        expect(page.get_by_role("heading", name="Not for your role")).to_be_visible()
        clean(watch, stack)

    # The API is the authority: the viewer's own token changes nothing either.
    token = stack.idp.issue(subject="dev-viewer", email="vic.viewer@demo.caseline.local", groups=["caseline-viewers"])
    with httpx.Client(base_url=stack.url, headers={"Authorization": f"Bearer {token}"}, timeout=10) as viewer:
        case = viewer.get(f"/cases/{claim}")
        assert case.status_code == 200, case.text
        version = case.json()["version"]
        refused = [
            viewer.patch(f"/cases/{claim}", json={"title": "Renamed"}, headers={"If-Match": f'"{version}"'}),
            viewer.post(f"/cases/{claim}/transitions", json={"to": "triage"}),
            viewer.post(f"/cases/{claim}/comments", json={"body": "Looks fine"}),
            viewer.post("/cases", json={"template_key": template_key, "title": "Mine", "fields": {}}),
            viewer.put(
                f"/templates/{template_key}/draft",
                json={"key": template_key, "name": "X", "stages": [{"key": "only", "name": "Only"}]},
            ),
        ]
        assert [response.status_code for response in refused] == [403] * len(refused), [r.text for r in refused]


def test_an_admin_moves_cases_by_dragging_them_and_migrates_them_to_a_new_version(
    stack: LocalStack, browser: Browser
) -> None:
    key = f"travel-{uuid.uuid4().hex[:8]}"
    definition = {
        "key": key,
        "name": "Travel request",
        "fields": [{"key": "amount", "label": "Amount", "type": "number"}],
        "stages": [
            {
                "key": "submitted",
                "name": "Submitted",
                "exit_criteria": [
                    {"description": CONDITION, "condition": {">": [{"var": "fields.amount"}, 0]}},
                ],
            },
            {"key": "review", "name": "Review"},
            {"key": "booked", "name": "Booked", "next": []},
        ],
    }
    staff = {"Authorization": f"Bearer {stack.staff_token()}"}
    with httpx.Client(base_url=stack.url, headers=staff, timeout=10) as api:
        assert api.post("/templates", json=definition).status_code == 201
        opened = {
            title: api.post("/cases", json={"template_key": key, "title": title, "fields": fields}).json()["id"]
            for title, fields in [
                ("Taxi to the airport", {"amount": 45}),
                ("Hotel, two nights", {}),
                ("Train to Utrecht", {"amount": 38}),
            ]
        }

    context, page, watch = signed_in(browser, stack, "admin")
    with context:
        page.goto(f"{stack.url}/console/#/board/{key}")
        expect(page.get_by_role("heading", name="Board: Travel request")).to_be_visible()
        column = {
            stage: page.locator(f"section.board-column[data-stage='{stage}']") for stage in ("submitted", "review")
        }
        card = {title: page.locator(f"li.board-card[data-case-id='{case_id}']") for title, case_id in opened.items()}
        expect(column["submitted"].locator("li.board-card")).to_have_count(3)

        # Dragged onto the next column, a case that meets the exit criterion moves there.
        card["Taxi to the airport"].drag_to(column["review"])
        expect(column["review"].locator(f"li[data-case-id='{opened['Taxi to the airport']}']")).to_be_visible()
        expect(page.locator("#announcer")).to_contain_text("Moved “Taxi to the airport” to Review")
        # One that does not stays put, and the board says why in words.
        card["Hotel, two nights"].drag_to(column["review"])
        refusal = page.locator("#board-alerts [role=alert]")
        expect(refusal).to_contain_text("cannot move to Review")
        expect(refusal).to_contain_text(CONDITION)
        expect(column["submitted"].locator(f"li[data-case-id='{opened['Hotel, two nights']}']")).to_be_visible()
        screen(page, "13-board-drag-refused")
        page.get_by_role("button", name="Dismiss").click()

        # Without a mouse: the card's "Move to" control, by keyboard alone.
        card["Train to Utrecht"].get_by_label("Move to").focus()
        page.keyboard.press("ArrowDown")  # the first choice after the prompt: the next stage, Review
        expect(card["Train to Utrecht"].get_by_label("Move to")).to_have_value("review")
        page.keyboard.press("Tab")
        expect(card["Train to Utrecht"].get_by_role("button", name="Move")).to_be_focused()
        page.keyboard.press("Enter")
        expect(column["review"].locator(f"li[data-case-id='{opened['Train to Utrecht']}']")).to_be_visible()
        expect(page.locator("#announcer")).to_contain_text("Moved “Train to Utrecht” to Review")
        expect(column["review"].locator("li.board-card")).to_have_count(2)

        # Version 2 adds a field; both open cases are previewed and migrated to it from the builder.
        page.goto(f"{stack.url}/console/#/templates/{key}")
        expect(page.get_by_role("heading", name="Template builder: Travel request")).to_be_visible()
        page.get_by_role("button", name="Add field").click()
        field = page.get_by_role("group", name=re.compile(r"^Field 2\b"))
        field.get_by_label("Key", exact=True).fill("cost_centre")
        field.get_by_label("Label", exact=True).fill("Cost centre")
        page.get_by_role("button", name="Publish", exact=True).click()
        expect(page.locator(".builder-summary")).to_contain_text("Published version 2.")

        versions = page.locator("#sec-versions")
        versions.get_by_role("button", name="Show diff").click()
        added = versions.locator("table.diff tr.change-added")
        expect(added).to_have_count(1)
        expect(added).to_contain_text("cost_centre")
        versions.get_by_role("button", name="Preview migration").click()
        for title in opened:
            expect(versions.get_by_label(f"Migrate {title}")).to_be_checked()
        screen(page, "14-migration-preview")
        versions.get_by_role("button", name="Migrate selected cases").click()
        expect(versions.get_by_role("table").filter(has_text="Migration results")).to_contain_text(
            "Migrated to version 2"
        )
        expect(page.locator("#announcer")).to_contain_text("3 of 3 cases migrated")
        screen(page, "15-migrated")
        clean(watch, stack)

    with httpx.Client(base_url=stack.url, headers=staff, timeout=10) as api:
        cases = {title: api.get(f"/cases/{case_id}").json() for title, case_id in opened.items()}
        assert {title: (case["stage"], case["template_version"]) for title, case in cases.items()} == {
            "Taxi to the airport": ("review", 2),
            "Hotel, two nights": ("submitted", 2),
            "Train to Utrecht": ("review", 2),
        }

        def migration_on_the_timeline() -> set[str] | None:
            timeline = api.get(f"/cases/{opened['Taxi to the airport']}/timeline", params={"limit": 200})
            types = {item["event"]["type"] for item in timeline.json().get("items", [])}
            return types if "case.migrated" in types else None

        types = wait_until(
            migration_on_the_timeline, what="the migration on the case's timeline", timeout=WAIT_MS / 1000
        )
        assert "case.stage_changed" in types


TABLET: ViewportSize = {
    "width": 768,
    "height": 1024,
}  # a tablet held upright: the narrowest screen the console is made for


def test_every_screen_fits_a_tablet_held_upright(stack: LocalStack, browser: Browser) -> None:
    claim = stack.seeded_case_ids[4]
    screens = {
        "board": ("#/board/insurance-claim", "li.board-card"),
        "cases": ("#/cases", "#case-table tr[data-case-id]"),
        "tasks": ("#/tasks", "main h1:text('My tasks')"),
        "case": (f"#/cases/{claim}", "#timeline-chain"),
        "new-case": ("#/cases/new?template=insurance-claim", "main form"),
        "builder": ("#/templates/insurance-claim", "#sec-versions-title"),
        "insight": ("#/insight/insurance-claim", "#insight-reports[data-insight-ready]"),
    }
    context, page, watch = signed_in(browser, stack, "admin")
    with context:
        page.set_viewport_size(TABLET)
        for name, (route, ready) in screens.items():
            page.goto(f"{stack.url}/console/{route}")
            expect(page.locator(ready).first).to_be_visible()
            # Wide content (the board's columns, long tables) scrolls inside its own region, never the page.
            overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"the {name} screen is {overflow} px wider than a tablet"
            screen(page, f"tablet-{name}")
        # The navigation stays reachable: every main entry is on screen without scrolling sideways.
        for entry in ("Board", "Cases", "My tasks", "Templates", "Insight"):
            link = page.get_by_role("link", name=entry, exact=True)
            expect(link).to_be_visible()
            box = link.bounding_box()
            assert box is not None, entry
            assert box["x"] + box["width"] <= TABLET["width"], entry
        clean(watch, stack)
