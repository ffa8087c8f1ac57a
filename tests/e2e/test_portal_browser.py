"""The portal in a real browser (Debian's Chromium, headless, phone-sized).

A claimant opens the link from their e-mail, passes the landing page by keyboard, sees where the claim
stands, uploads a police report straight to storage, answers the form (first wrongly, then rightly) and
writes to the team; staff then find each of these on the case, its comments and its timeline, done by
that external participant; the claimant also reads the case page in German. Every page is screenshotted
into test-output/portal/ and checked with axe-core from npm; the browser must meet no Content-Security-Policy
violation and ask no third-party origin.

`make browser` (a prerequisite of `make test`) installs Chromium from apt and axe-core from npm.
"""

import base64
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from browser import AXE, CHROMIUM, Watch, axe_check, launch_chromium, origin_of
from playwright.sync_api import Browser, BrowserContext, Page, expect
from waiting import wait_until

from caseline.local.stack import LocalStack

OUTPUT = Path(__file__).parents[2] / "test-output" / "portal"
WAIT_SECONDS = 20
FAILED_LOAD = "Failed to load resource: the server responded with a status of {}"
# The insurance template's logo lives on the insurer's own site, which does not exist here.
LOGO_ORIGIN = "https://www.nordlicht-versicherung.example"
LOGO_SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="32"><rect width="64" height="32"/></svg>'
PDF = (  # a tiny but well-formed PDF: the police report
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
# a one-pixel PNG: a photo of the damage
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
POLICE_REFERENCE = "HB-2026-0217-44"
MESSAGE = "The roofer can come on Monday; may I let him start the repair?"

# Run by hand without `make browser`, the tests skip; in CI (`make test`) a missing browser fails them.
pytestmark = pytest.mark.skipif(
    (not CHROMIUM.exists() or not AXE.exists()) and not os.environ.get("CI"),
    reason="Chromium or axe-core is missing: run `make browser`",
)


def _shot(page: Page, name: str) -> None:
    page.screenshot(path=OUTPUT / f"{name}.png", full_page=True)


@pytest.fixture(scope="module")
def staff(stack: LocalStack) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {stack.staff_token()}"}
    with httpx.Client(base_url=stack.url, headers=headers, timeout=10) as client:
        yield client


CLAIM_FIELDS = {
    "policyholder": {"kind": "person", "name": "Jana Vogt", "email": "jana.vogt@example.de"},
    "policyholder_email": "jana.vogt@example.de",
    "policy_number": "POL-30571942",
    "claim_type": "buildings",
    "incident_at": "2026-02-17T03:10:00+01:00",
    "incident_description": "A falling branch broke the roof of the garden shed during the storm.",
    "claim_amount": {"amount": "2400.00", "currency": "EUR"},
}


@pytest.fixture(scope="module")
def claim(stack: LocalStack, staff: httpx.Client) -> dict[str, str]:
    """A claim of its own on the seeded insurance template, a claimant added by staff, and their link."""
    return _claim_with_link(stack, staff, "Storm damage to a garden shed, Bremen", CLAIM_FIELDS)


def _claim_with_link(
    stack: LocalStack,
    staff: httpx.Client,
    title: str,
    fields: dict[str, Any],
    *,
    stage: str | None = None,
    template_key: str = "insurance-claim",
    language: str | None = None,
) -> dict[str, str]:
    opened = staff.post("/cases", json={"template_key": template_key, "title": title, "fields": fields})
    assert opened.status_code == 201, opened.text
    case_id = opened.json()["id"]
    if stage is not None:
        # staff's own task of the first stage is not this story's: the move is forced past it
        reason = "Acknowledged by phone."
        moved = staff.post(f"/cases/{case_id}/transitions", json={"to": stage, "force": True, "reason": reason})
        assert moved.status_code == 200, moved.text
    added = staff.post(
        f"/cases/{case_id}/participants",
        json={
            "kind": "external",
            "role": "claimant",
            "name": "Jana Vogt",
            "email": "jana.vogt@example.de",
            "language": language,
        },
    )
    assert added.status_code == 200, added.text
    participant_id = next(
        p["id"] for p in reversed(added.json()["participants"]) if p["kind"] == "external" and p["role"] == "claimant"
    )

    def issue() -> dict[str, Any] | None:
        # The portal's read model learns of the case and the participant from events, a moment later: it waits
        # for them, and asks for a retry (503) only when they are slower than that.
        issued = staff.post(f"/cases/{case_id}/portal-links", json={"participant_id": participant_id})
        assert issued.status_code in (201, 503), issued.text
        return dict(issued.json()) if issued.status_code == 201 else None

    link = wait_until(issue, what="the portal learning of the participant", timeout=WAIT_SECONDS)
    assert link["url"].startswith(f"{stack.url}/p/"), link
    return {"case_id": case_id, "participant_id": participant_id, "url": link["url"]}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    with launch_chromium() as launched:
        yield launched


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    with browser.new_context(viewport={"width": 412, "height": 915}, locale="en-GB") as opened:
        opened.set_default_timeout(10_000)
        yield opened


def test_a_claimant_follows_and_acts_on_their_claim(
    stack: LocalStack, staff: httpx.Client, claim: dict[str, str], context: BrowserContext
) -> None:
    watch = Watch(context, stack.url)
    context.route(f"{LOGO_ORIGIN}/**", lambda route: route.fulfill(body=LOGO_SVG, content_type="image/svg+xml"))
    page = watch.page(context.new_page())

    page.goto(claim["url"])
    expect(page.get_by_role("heading", level=1)).to_have_text("Your case")
    expect(page).to_have_title("Your case · Nordlicht Versicherung")
    _shot(page, "1-landing")
    axe_check(page, "landing")

    # By keyboard alone: the skip link comes first, then the switch to German, then the one button.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to the content")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Deutsch")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Open my case")).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_url(f"{stack.url}/portal/case")
    expect(page.get_by_role("heading", level=1)).to_have_text("Storm damage to a garden shed, Bremen")
    current = page.locator('.progress [aria-current="step"]')
    expect(current).to_have_count(1)
    expect(current).to_contain_text("Claim submitted")
    expect(current).to_have_css("border-top-color", "rgb(0, 59, 113)")  # the template's brand colour
    _shot(page, "2-case")
    axe_check(page, "case")

    # An upload: a presigned POST straight to storage, with progress, then confirmed.
    page.get_by_label("Kind of document").select_option(label="Police report")
    page.get_by_label("File", exact=True).set_input_files(
        {"name": "police-report.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("#upload-status")).to_have_text(re.compile("^Received"), timeout=WAIT_SECONDS * 1000)
    _shot(page, "3-uploaded")
    axe_check(page, "case after upload")

    # The form validates as the API does, says so in words, and keeps what was typed.
    details = page.locator("form#details")
    email = details.get_by_label("Policyholder e-mail")
    email.fill("not an e-mail")
    details.get_by_label("Police reference number").fill(POLICE_REFERENCE)
    details.get_by_role("button", name="Save").click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("Policyholder e-mail: Enter an e-mail address")
    expect(summary).to_be_focused()
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(email).to_have_accessible_description(re.compile("^Enter an e-mail address"))
    expect(details.get_by_label("Police reference number")).to_have_value(POLICE_REFERENCE)
    _shot(page, "4-form-errors")
    axe_check(page, "form with errors")

    email.fill("jana.vogt@example.de")
    details.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="Your answers were sent")).to_be_visible()
    _shot(page, "5-form-sent")

    page.get_by_label("Your message").fill(MESSAGE)
    page.get_by_role("button", name="Send message").click()
    expect(page.get_by_role("status").filter(has_text="Your message was sent")).to_be_visible()
    _shot(page, "6-message-sent")

    # Staff see all of it on the case, done by the claimant.
    case_id, participant_id = claim["case_id"], claim["participant_id"]

    def case_with_both() -> dict[str, Any] | None:
        case: dict[str, Any] = staff.get(f"/cases/{case_id}").json()
        uploaded = any(document["type"] == "police_report" for document in case["documents"])
        return case if uploaded and case["fields"].get("police_reference") == POLICE_REFERENCE else None

    case = wait_until(case_with_both, what="the upload and the answers reaching the case", timeout=WAIT_SECONDS)
    (report,) = [document for document in case["documents"] if document["type"] == "police_report"]
    (version,) = report["versions"]
    assert version["filename"] == "police-report.pdf"
    assert version["content_type"] == "application/pdf"
    assert version["size"] == len(PDF)
    assert version["uploaded_by"] == participant_id
    assert case["fields"]["policyholder_email"] == "jana.vogt@example.de"

    def comment() -> dict[str, Any] | None:
        listed = staff.get(f"/cases/{case_id}/comments")
        assert listed.status_code == 200, listed.text
        return next((each for each in listed.json()["items"] if each["body"] == MESSAGE), None)

    posted = wait_until(comment, what="the message reaching the case", timeout=WAIT_SECONDS)
    assert posted["external"] is True
    assert posted["author"] == participant_id

    wanted = {"document.added", "case.fields_changed", "comment.added"}

    def by_the_claimant() -> dict[str, dict[str, Any]] | None:
        listed = staff.get(f"/cases/{case_id}/timeline", params={"limit": 100})
        assert listed.status_code == 200, listed.text
        events = {entry["event"]["type"]: entry["event"] for entry in listed.json()["items"]}
        return events if wanted <= events.keys() else None

    events = wait_until(by_the_claimant, what="the timeline showing what the claimant did", timeout=WAIT_SECONDS)
    for kind in sorted(wanted):
        assert events[kind]["actor"]["kind"] == "external", events[kind]
        assert events[kind]["actor"]["id"] == participant_id, events[kind]
    assert events["case.fields_changed"]["data"]["changes"]["police_reference"]["after"] == POLICE_REFERENCE

    # The claimant sees their upload and message on the page once the portal's read model has them.
    def page_shows_both() -> bool:
        page.goto(f"{stack.url}/portal/case")
        shown = page.locator(".documents", has_text="police-report.pdf").count()
        return bool(shown and page.locator(".messages", has_text=MESSAGE).count())

    wait_until(
        page_shows_both, what="the portal page showing the upload and the message", timeout=WAIT_SECONDS, interval=0.5
    )
    # The claimant's message is also a line of what has happened (its words stay in the thread).
    expect(page.locator(".timeline li", has_text="You sent a message")).to_have_count(1)
    # Every time on the page is in the template's zone, which is named: the stored UTC moments of the thread and
    # the timeline, and the claim's own date and time (stored at +01:00).
    expect(page.get_by_text("Times on this page are in the Europe/Berlin time zone.")).to_be_visible()
    expect(page.locator(".field", has_text="When it happened")).to_contain_text("17 Feb 2026, 03:10 CET")
    shown = page.locator("main time").all_inner_texts()
    assert len(shown) >= 4, shown  # the claim's date, the message, and at least two lines of what has happened
    assert all(re.fullmatch(r"\d{1,2} \w{3} \d{4}, \d{2}:\d{2} CES?T", text) for text in shown), shown
    _shot(page, "7-case-after")
    axe_check(page, "case after everything")

    # The same page in German, picked on the page: its sentences, and times as German writes them, zone named.
    page.get_by_role("link", name="Deutsch").click()
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.get_by_role("heading", name="Was wir von Ihnen benötigen")).to_be_visible()
    expect(page.locator(".field", has_text="When it happened")).to_contain_text("17.02.2026, 03:10 MEZ")
    expect(page.locator(".timeline li", has_text="Sie haben eine Nachricht geschickt")).to_have_count(1)
    shown = page.locator("main time").all_inner_texts()
    assert all(re.fullmatch(r"\d{2}\.\d{2}\.\d{4}, \d{2}:\d{2} MES?Z", text) for text in shown), shown
    _shot(page, "7-case-after-in-german")
    axe_check(page, "case in German")
    page.get_by_role("link", name="English").click()  # and back: a pick outranks the browser's language
    expect(page.locator("html")).to_have_attribute("lang", "en")

    assert not watch.violations, watch.violations
    # The one error in the console is the form's own 422, for the answers that needed another look.
    assert watch.errors == [f"{stack.url}/portal/fields: {FAILED_LOAD.format('422 (Unprocessable Entity)')}"]
    storage = origin_of(stack.aws_endpoint)
    assert storage in watch.origins, watch.origins  # the file went straight to storage
    assert watch.origins <= {stack.url, storage, LOGO_ORIGIN}, watch.origins


def test_the_page_speaks_in_words_and_keeps_up_with_an_upload(
    stack: LocalStack, staff: httpx.Client, context: BrowserContext
) -> None:
    """A claim in its cover check, with damage photos to send: its options in words, a progress line that does
    not foretell the outcome, an Upload without a file answered in words, an upload shown without a reload, and a
    task the team gave the claimant's role, marked done by them."""
    fields = {
        **CLAIM_FIELDS,
        "claim_type": "home_contents",
        "incident_location": "Am Wall 12, Bremen",
        "damage_categories": ["property", "water"],
        "police_reported": False,
    }
    claim = _claim_with_link(stack, staff, "Water damage to the living room, Bremen", fields, stage="triage")
    # a task the team gives the claimant's role, due at 16:00 UTC (17:00 in Bremen)
    task = {
        "title": "Confirm the carpet is kept for the adjuster",
        "reason": "The adjuster wants to see the carpet.",
        "assignee_role": "claimant",
        "due_at": "2026-12-18T16:00:00Z",
    }
    given = staff.post(f"/cases/{claim['case_id']}/tasks", json=task)
    assert given.status_code == 200, given.text
    [task_id] = [each["id"] for each in given.json()["tasks"] if each["title"] == task["title"]]
    watch = Watch(context, stack.url)
    context.route(f"{LOGO_ORIGIN}/**", lambda route: route.fulfill(body=LOGO_SVG, content_type="image/svg+xml"))
    page = watch.page(context.new_page())
    page.goto(claim["url"])
    page.get_by_role("button", name="Open my case").click()
    page.wait_for_url(f"{stack.url}/portal/case")

    def in_cover_check() -> bool:
        page.goto(f"{stack.url}/portal/case")
        current = page.locator('.progress [aria-current="step"]', has_text="Cover check").count() == 1
        return current and page.locator(".task", has_text=task["title"]).count() == 1

    wait_until(
        in_cover_check, what="the portal learning of the cover check and the task", timeout=WAIT_SECONDS, interval=0.5
    )

    # Only the way the claim can still go: neither of its two ends is foretold. An answer's option in words.
    expect(page.locator(".progress .step-name")).to_have_text(
        ["Claim submitted", "Cover check", "Assessment", "Settlement decision"]
    )
    expect(page.locator("form#details .field", has_text="Type of claim")).to_contain_text("Home contents")

    # Upload without a file: said in words, tied to the file input, and nothing is sent.
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.url) if "/portal/uploads" in request.url else None)
    file = page.get_by_label("File", exact=True)
    page.get_by_role("button", name="Upload").click()
    expect(file).to_be_focused()
    expect(file).to_have_accessible_description(re.compile("No file is chosen yet"))
    expect(file).to_have_attribute("aria-invalid", "true")
    axe_check(page, "upload without a file")
    assert sent == []

    # An upload: the documents and what is needed follow it, without a reload.
    needs = page.locator("#needs-list")
    expect(needs).to_contain_text("Upload: Photos of the damage")
    page.get_by_label("Kind of document").select_option(label="Photos of the damage")
    file.set_input_files({"name": "living-room.png", "mimeType": "image/png", "buffer": PNG})
    expect(file).not_to_have_attribute("aria-invalid", "true")
    page.get_by_role("button", name="Upload").click()
    expect(page.locator(".documents")).to_contain_text("living-room.png", timeout=WAIT_SECONDS * 1000)
    expect(needs).not_to_contain_text("Photos of the damage")
    _shot(page, "10-upload-shown")
    axe_check(page, "case after the upload is shown")

    # The team's task for the claimant's role: shown with its due time in the template's zone, and done here.
    shown = needs.locator(".task", has_text=task["title"])
    expect(shown).to_contain_text("by 18 Dec 2026, 17:00 CET")
    axe_check(page, "a task to do")
    shown.get_by_role("button", name=f"Mark as done: {task['title']}").click()
    expect(page.get_by_role("status").filter(has_text="We have noted it as done")).to_be_visible()

    def done_by_the_claimant() -> dict[str, Any] | None:
        listed = staff.get(f"/cases/{claim['case_id']}/timeline", params={"limit": 100})
        assert listed.status_code == 200, listed.text
        events = [entry["event"] for entry in listed.json()["items"] if entry["event"]["type"] == "task.completed"]
        return events[0] if events else None

    completed = wait_until(done_by_the_claimant, what="the task done on the case", timeout=WAIT_SECONDS)
    assert (completed["data"]["task_id"], completed["actor"]["kind"]) == (task_id, "external"), completed
    assert completed["actor"]["id"] == claim["participant_id"], completed
    [done] = [each for each in staff.get(f"/cases/{claim['case_id']}").json()["tasks"] if each["id"] == task_id]
    assert (done["status"], done["completed_by"]) == ("done", claim["participant_id"])

    def task_gone() -> bool:
        page.goto(f"{stack.url}/portal/case")
        return page.locator(".task").count() == 0

    wait_until(task_gone, what="the done task leaving the page", timeout=WAIT_SECONDS, interval=0.5)
    _shot(page, "11-task-done")

    assert not watch.violations, watch.violations
    assert watch.errors == [], watch.errors


def test_a_claimant_staff_gave_german_reads_german_with_an_english_browser(
    stack: LocalStack, staff: httpx.Client, context: BrowserContext
) -> None:
    """The browser asks for English (the context's locale); staff added the claimant with German, which wins. A file
    the page cannot check itself (an empty one) is refused by the portal's API, in German too."""
    claim = _claim_with_link(stack, staff, "Hagelschaden am Carport, Kiel", CLAIM_FIELDS, language="de")
    watch = Watch(context, stack.url)
    context.route(f"{LOGO_ORIGIN}/**", lambda route: route.fulfill(body=LOGO_SVG, content_type="image/svg+xml"))
    page = watch.page(context.new_page())
    page.goto(claim["url"])
    expect(page.locator("html")).to_have_attribute("lang", "de")
    page.get_by_role("button", name="Meinen Vorgang öffnen").click()
    page.wait_for_url(f"{stack.url}/portal/case")
    expect(page.get_by_role("heading", name="Was wir von Ihnen benötigen")).to_be_visible()

    page.get_by_label("Art des Dokuments").select_option(label="Police report")
    file = page.get_by_label("Datei", exact=True)
    file.set_input_files({"name": "anzeige.pdf", "mimeType": "application/pdf", "buffer": b""})
    page.get_by_role("button", name="Hochladen").click()
    expect(page.locator("#upload-status")).to_have_text(
        "Diese Datei ist leer: Bitte wählen Sie die Datei, die Sie senden möchten."
    )
    expect(page.locator("#upload-status")).to_have_class(re.compile(r"\berror\b"))
    _shot(page, "12-german-by-the-participant-refused")
    axe_check(page, "case in the participant's German, an upload refused")

    # the refusal is a 422 the page expected, not a failure of the page
    assert watch.errors == [f"{stack.url}/portal/uploads: {FAILED_LOAD.format('422 (Unprocessable Entity)')}"]
    assert not watch.violations, watch.violations


def test_options_are_chosen_by_their_words(stack: LocalStack, staff: httpx.Client, context: BrowserContext) -> None:
    """A claimant answers a select and a multi-select by the options' words; the case keeps their keys."""
    key = f"portal-options-{uuid.uuid4().hex[:8]}"  # a template of this run's own
    published = staff.post(
        "/templates",
        json={
            "key": key,
            "name": "Travel claim",
            "fields": [
                {"key": "cause", "label": "Cause", "type": "enum", "options": ["lost_luggage", "flight_delay"]},
                {"key": "items", "label": "Items", "type": "multi_enum", "options": ["hand_luggage", "suitcase"]},
            ],
            "stages": [{"key": "submitted", "name": "Submitted"}, {"key": "settled", "name": "Settled"}],
            "roles": [
                {
                    "key": "handler",
                    "name": "Handler",
                    "permissions": ["case.view", "participant.manage"],
                    "fields": {"*": "edit"},
                },
                {
                    "key": "claimant",
                    "name": "Claimant",
                    "kind": "external",
                    "permissions": ["case.view"],
                    "fields": {"*": "edit"},
                },
            ],
        },
    )
    assert published.status_code == 201, published.text
    claim = _claim_with_link(stack, staff, "Suitcase lost on the way to Lisbon", {}, template_key=key)
    watch = Watch(context, stack.url)
    page = watch.page(context.new_page())
    page.goto(claim["url"])
    page.get_by_role("button", name="Open my case").click()
    page.wait_for_url(f"{stack.url}/portal/case")

    details = page.locator("form#details")
    details.get_by_label("Cause").select_option(label="Lost luggage")
    details.get_by_label("Suitcase").check()
    expect(details.get_by_role("group", name="Items")).to_contain_text("Hand luggage")
    axe_check(page, "options in words")
    details.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="Your answers were sent")).to_be_visible()

    def answered() -> dict[str, Any] | None:
        fields: dict[str, Any] = staff.get(f"/cases/{claim['case_id']}").json()["fields"]
        return fields if "cause" in fields else None

    fields = wait_until(answered, what="the answers reaching the case", timeout=WAIT_SECONDS)
    assert (fields["cause"], fields["items"]) == ("lost_luggage", ["suitcase"])
    assert not watch.violations, watch.violations
    assert watch.errors == [], watch.errors


def test_error_pages_are_plain_accessible_and_under_the_policy(stack: LocalStack, context: BrowserContext) -> None:
    watch = Watch(context, stack.url)
    page = watch.page(context.new_page())

    response = page.goto(f"{stack.url}/p/{'x' * 43}")  # shaped like a token, but none
    assert response is not None
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("This link does not work")
    _shot(page, "8-missing")
    axe_check(page, "missing link")

    response = page.goto(f"{stack.url}/portal/case")  # no session
    assert response is not None
    assert response.status == 401
    expect(page.get_by_role("heading", level=1)).to_have_text("Your session has ended")
    _shot(page, "9-session-ended")
    axe_check(page, "session ended")

    assert not watch.violations, watch.violations
    assert watch.errors == [
        f"{stack.url}/p/{'x' * 43}: {FAILED_LOAD.format('404 (Not Found)')}",
        f"{stack.url}/portal/case: {FAILED_LOAD.format('401 (Unauthorized)')}",
    ]
    assert watch.origins == {stack.url}

    # The watch does see a violation: an inline script, which the policy refuses.
    with pytest.raises(Exception, match="Content Security Policy"):
        page.add_script_tag(content="document.title = 'injected'")
    expect(page).not_to_have_title("injected")
    wait_until(
        lambda: any("script-src" in each for each in watch.violations),
        what="the violation being reported",
        timeout=WAIT_SECONDS,
    )


@pytest.mark.parametrize("locale", ["en-GB", "de-DE"])
def test_every_page_is_accessible_in_each_language_and_colour_scheme(
    stack: LocalStack, browser: Browser, claim: dict[str, str], locale: str
) -> None:
    """The landing page, the case page and the error pages: axe finds nothing serious in light or dark, in the
    browser's language (the participant has none of their own)."""
    with browser.new_context(viewport={"width": 412, "height": 915}, locale=locale) as context:
        context.route(f"{LOGO_ORIGIN}/**", lambda route: route.fulfill(body=LOGO_SVG, content_type="image/svg+xml"))
        watch = Watch(context, stack.url)
        page = watch.page(context.new_page())
        language = locale.split("-")[0]

        def each_scheme(name: str) -> None:
            expect(page.locator("html")).to_have_attribute("lang", language)
            for scheme in ("light", "dark"):
                page.emulate_media(color_scheme=scheme)
                background = page.evaluate("getComputedStyle(document.body).backgroundColor")
                assert (background == "rgb(255, 255, 255)") == (scheme == "light"), (name, scheme, background)
                axe_check(page, f"{name} ({language}, {scheme})")

        page.goto(claim["url"])
        each_scheme("landing")
        page.locator("form button[type=submit]").click()
        page.wait_for_url(f"{stack.url}/portal/case")
        each_scheme("case")
        page.goto(f"{stack.url}/p/{'x' * 43}")
        each_scheme("missing link")
        page.context.clear_cookies()
        page.goto(f"{stack.url}/portal/case")
        each_scheme("session ended")
        assert not watch.violations, watch.violations
