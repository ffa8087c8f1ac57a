"""The staff console's case page in a real browser (Debian's Chromium, headless, laptop-sized).

On a case of a template published for the test, opened a moment before, the page catches up by itself with
the rule that ran on opening and the budget it asked the applicant for, shown as awaited (what, from whom, since
when). A case worker adds an ad hoc task, assigns it and completes it on a phone-sized screen; uploads a PDF
(which meets the request) straight to storage and downloads it again, byte for byte; adds a client as an external
participant, issues a portal link, copies it and revokes it; records a decision with its rationale; writes
an internal comment and one shared with the client; and filters the timeline, whose hash chain verifies.
People read as names (the directory, GET /people): the owner, the assignee picked by name, who completed and
decided, comment authors and timeline actors; the administrator who opened the case through the API is the same
person as the console's; the client, writing in the portal, reads as "Ines Moreau (Applicant)".
Every step is screenshotted into test-output/console/ and checked with axe-core; the API then confirms
each of them, and the timeline records them all.
"""

import hashlib
import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from console_session import WAIT_MS, clean, console_browser, requires_browser, screen, signed_in
from playwright.sync_api import Browser, ViewportSize, expect
from waiting import wait_until

from caseline.local.stack import LocalStack

pytestmark = requires_browser

PDF = (  # a tiny but well-formed PDF: the applicant's budget
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
TASK = "Call the applicant about the budget"
TASK_REASON = "The budget lists travel twice."
CLIENT = ("Ines Moreau", "ines.moreau@example.org")
RATIONALE = "A registered charity, and the project fits the fund's aims."
INTERNAL = "Budget looks plausible; travel line to be checked."
SHARED = "Thank you, we have everything we need for now."
FROM_CLIENT = "The budget's travel line is one trip, listed twice by mistake."
ASK = "Please send the budget plan as a PDF."
PHONE: ViewportSize = {"width": 390, "height": 844}
OFFICER = [
    "case.view",
    "case.transition",
    "case.assign",
    "case.close",
    "task.manage",
    "task.complete",
    "participant.manage",
    "document.upload",
    "document.view",
    "comment.internal",
    "comment.external",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with console_browser() as launched:
        yield launched


def _template(key: str) -> dict[str, Any]:
    return {
        "key": key,
        "name": "Small grant application",
        "fields": [
            {"key": "organisation", "label": "Organisation", "type": "text"},
            {"key": "amount", "label": "Amount requested", "type": "number", "minimum": 0},
        ],
        "stages": [{"key": "intake", "name": "Intake"}, {"key": "review", "name": "Review", "next": []}],
        "document_types": [
            {
                "key": "budget",
                "name": "Budget plan",
                "content_types": ["application/pdf"],
                "max_size_bytes": 1_048_576,
                "external": True,
            }
        ],
        "decisions": [
            {
                "key": "eligibility",
                "label": "Eligibility",
                "options": ["eligible", "not_eligible"],
                "decider_roles": ["officer"],
            }
        ],
        # Every staff member is a grant officer on these cases: the demo's case worker among them.
        "roles": [
            {
                "key": "officer",
                "name": "Grant officer",
                "permissions": OFFICER,
                "fields": {"*": "edit"},
                "groups": ["caseline-staff"],
            },
            {
                "key": "client",
                "name": "Applicant",
                "kind": "external",
                "permissions": ["case.view", "document.view", "comment.external"],
                "fields": {"organisation": "view"},
            },
        ],
        "owner_role": "officer",
        # On opening, the applicant is asked for the budget: a request the case page shows until it is met.
        "rules": [
            {
                "key": "ask_budget",
                "name": "Ask the applicant for the budget",
                "trigger": {"event_type": "case.opened"},
                "actions": [
                    {"type": "request_document", "document_type": "budget", "from_role": "client", "message": ASK},
                ],
            }
        ],
    }


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html) or re.search(r'data-csrf="([^"]+)"', html)
    assert found, html
    return found.group(1)


def _client_writes_in_the_portal(stack: LocalStack, link_url: str, body: str) -> None:
    """The applicant follows the link and sends a message, as a browser does (its cookies are kept by hand: they are
    Secure, which httpx would not send over the local gateway's plain HTTP)."""
    cookies: dict[str, str] = {}

    def send(method: str, url: str, form: dict[str, str] | None = None) -> httpx.Response:
        sent = {"Cookie": "; ".join(f"{name}={value}" for name, value in cookies.items())} if cookies else {}
        response = httpx.request(method, url, data=form, headers=sent, timeout=10)
        for cookie in response.headers.get_list("set-cookie"):
            name, _, value = cookie.split(";")[0].partition("=")
            cookies[name] = value
        return response

    landing = send("GET", link_url)
    assert send("POST", f"{link_url}/session", {"csrf": _csrf(landing.text)}).status_code == 303
    case_page = send("GET", f"{stack.url}/portal/case")
    sent = send("POST", f"{stack.url}/portal/messages", {"csrf": _csrf(case_page.text), "body": body})
    assert sent.status_code == 303, sent.text


def test_a_case_worker_uses_every_part_of_the_case_page(stack: LocalStack, browser: Browser) -> None:
    key = f"grant-{uuid.uuid4().hex[:8]}"
    staff = {"Authorization": f"Bearer {stack.staff_token()}"}
    with httpx.Client(base_url=stack.url, headers=staff, timeout=10) as api:
        published = api.post("/templates", json=_template(key))
        assert published.status_code == 201, published.text
        opened = api.post(
            "/cases",
            json={
                "template_key": key,
                "title": "Community garden, Rotterdam-Zuid",
                "fields": {"organisation": "Tuin van Zuid", "amount": 4800},
            },
        )
        assert opened.status_code == 201, opened.text
        case_id = opened.json()["id"]

    context, page, watch = signed_in(browser, stack, "agent")
    with context:
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=stack.url)
        page.goto(f"{stack.url}/console/#/cases/{case_id}")
        expect(page.get_by_role("heading", level=1, name="Community garden, Rotterdam-Zuid")).to_be_visible()
        # Opened a moment ago: the page catches up by itself with the rule that ran and the request it made.
        timeline = page.locator("#case-timeline")
        entries = timeline.locator("ol.timeline > li.entry")
        expect(page.locator("#case-automations")).to_contain_text("Ask the applicant for the budget")
        expect(page.locator("#case-automations")).to_contain_text("On case opened")
        expect(entries.and_(page.locator("[data-type='document.requested']"))).to_have_count(1)
        expect(entries.and_(page.locator("[data-type='automation.ran']"))).to_have_count(1)
        expect(page.locator("#timeline-chain")).to_contain_text("Chain verified")
        # The administrator who opened the case through the API (LocalStack.staff_token) is the console's admin.
        expect(page.locator(".case-meta")).to_contain_text("Dana Admin")
        opened_entry = page.locator("ol.timeline > li.entry[data-type='case.opened']")
        expect(opened_entry.locator(".entry-actor")).to_have_text("Dana Admin (staff)")
        # What the case waits for from outside: what, from whom, since when.
        expect(page.locator("#case-waiting")).to_have_text("Budget plan from Applicant")
        request = page.locator("#case-documents li.request")
        expect(request).to_contain_text("Budget plan from Applicant (nobody holds this role on the case yet), asked ")
        expect(request).to_contain_text(ASK)
        screen(page, "case-0-waiting")
        # The menu jumps to a section, far down the page.
        page.get_by_role("navigation", name="Sections of this case").get_by_role("button", name="Timeline").click()
        expect(page.locator("#case-timeline-title")).to_be_focused()
        expect(page.locator("#case-timeline-title")).to_be_in_viewport()

        # An ad hoc task: added with its reason, assigned to a person (picked by name), done.
        tasks = page.locator("#case-tasks")
        expect(tasks).to_contain_text("No tasks yet.")
        tasks.get_by_label("Task title").fill(TASK)
        tasks.get_by_label("Why it is needed").fill(TASK_REASON)
        tasks.get_by_role("button", name="Add task").click()
        row = tasks.get_by_role("row").filter(has_text=TASK)
        expect(row).to_contain_text(f"Ad hoc: {TASK_REASON}")
        expect(row).to_contain_text("Open")
        row.get_by_role("button", name=f"Assign “{TASK}”").click()
        assign = page.get_by_role("dialog", name=f"Assign “{TASK}”")
        assign.get_by_label("Assignee", exact=True).fill("Sam Agent")
        assign.get_by_label("Role").select_option(label="Grant officer")
        assign.get_by_role("button", name="Assign task").click()
        expect(assign).to_be_hidden()
        expect(row).to_contain_text("Sam Agent · role: Grant officer")
        # On a phone the page does not scroll sideways, and the task's Complete button is on screen.
        page.set_viewport_size(PHONE)
        assert page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth") <= 0
        complete = tasks.get_by_role("button", name=f"Complete “{TASK}”")
        complete.scroll_into_view_if_needed()
        box = complete.bounding_box()
        assert box is not None
        assert box["x"] >= 0, box
        assert box["x"] + box["width"] <= PHONE["width"], box
        screen(page, "case-1-phone")
        complete.click()
        page.set_viewport_size({"width": 1280, "height": 1000})
        expect(row.locator(".badge.task-done")).to_have_text("Done")
        expect(row).to_contain_text("by Sam Agent")
        expect(page.locator("#announcer")).to_contain_text(f"Task “{TASK}” is done.")
        screen(page, "case-1-tasks")

        # A document: uploaded by presigned POST to storage, listed as version 1, downloaded as it was.
        budget = page.get_by_role("group", name="Budget plan")
        expect(budget).to_contain_text("Nothing uploaded yet.")
        expect(budget.get_by_role("progressbar")).to_have_count(0)  # shown only while a file is sent
        budget.get_by_label("File for Budget plan").set_input_files(
            {"name": "budget.pdf", "mimeType": "application/pdf", "buffer": PDF}
        )
        budget.get_by_role("button", name="Upload Budget plan").click()
        expect(budget).to_contain_text("Uploaded budget.pdf as version 1 of Budget plan.")
        expect(page.locator("#case-documents li.request")).to_have_count(0)  # the request is met
        expect(page.locator("#case-waiting")).to_have_count(0)
        version = budget.get_by_role("row").filter(has_text="budget.pdf")
        expect(version).to_contain_text("v1")
        expect(version).to_contain_text(hashlib.sha256(PDF).hexdigest()[:12])
        with page.expect_download() as download_info:
            version.get_by_role("button", name="Download budget.pdf (version 1)").click()
        download = download_info.value
        assert download.suggested_filename == "budget.pdf"
        assert download.path().read_bytes() == PDF
        screen(page, "case-2-documents")

        # An external participant, and a portal link for them: issued, shown once, copied, revoked.
        people = page.locator("#case-participants")
        people.get_by_label("External (client, applicant, …)").check()
        people.get_by_label("Name", exact=True).fill(CLIENT[0])
        people.get_by_label("E-mail", exact=True).fill(CLIENT[1])
        people.get_by_label("Role", exact=True).select_option(label="Applicant")
        # the language the portal's pages and e-mails speak to them in, named in the reader's language
        people.get_by_label("Portal language", exact=True).select_option(label="German")
        people.get_by_role("button", name="Add participant").click()
        client = people.locator("li.participant-external").filter(has_text=CLIENT[0])
        expect(client).to_contain_text(CLIENT[1])
        expect(client).to_contain_text("External · Applicant · Language: German")
        client.get_by_label(f"Language of {CLIENT[0]}").select_option(label="Their browser's")
        client.get_by_role("button", name=f"Change language of {CLIENT[0]}").click()
        expect(client).to_contain_text("External · Applicant · Language: Their browser's")
        expect(client).to_contain_text("No portal link issued yet.")
        client.get_by_role("button", name=f"Issue link for {CLIENT[0]}").click()
        issued = people.get_by_label("Portal link")
        expect(issued).to_have_value(re.compile(r"^https?://\S+$"))
        link_url = issued.input_value()
        expect(people).to_contain_text(f"New portal link for {CLIENT[0]}")
        expect(client.locator(".badge.link-active")).to_have_text("Active")
        screen(page, "case-3-portal-link")
        people.get_by_role("button", name="Copy link").click()
        expect(people.locator(".issued-link")).to_contain_text("Copied.")
        assert page.evaluate("() => navigator.clipboard.readText()") == link_url
        # The client writes in the portal: staff see the message and its timeline entry by the client's name.
        _client_writes_in_the_portal(stack, link_url, FROM_CLIENT)
        page.reload()
        from_client = page.locator("#case-comments li.comment").filter(has_text=FROM_CLIENT)
        expect(from_client.locator(".comment-meta strong")).to_have_text(f"{CLIENT[0]} (Applicant)")
        client_entry = page.locator("ol.timeline > li.entry.actor-external[data-type='comment.added']")
        expect(client_entry.locator(".entry-actor")).to_have_text(f"{CLIENT[0]} (Applicant)")
        # Revoked, the link is no longer offered to copy.
        client.get_by_role("button", name=re.compile(r"^Revoke\b")).click()
        expect(people.locator(".issued-link")).to_have_count(0)
        expect(client.locator(".badge.link-revoked")).to_contain_text("Revoked")
        expect(client.get_by_role("button", name=re.compile(r"^Revoke\b"))).to_have_count(0)
        expect(page.locator("#announcer")).to_contain_text(f"Revoked the portal link for {CLIENT[0]}.")
        screen(page, "case-4-link-revoked")

        # A decision, with its reasons.
        decision = page.get_by_role("group", name="Eligibility")
        expect(decision).to_contain_text("Not decided yet.")
        decision.get_by_label("Eligibility Outcome").select_option(label="Eligible")
        decision.get_by_label("Eligibility Rationale").fill(RATIONALE)
        decision.get_by_role("button", name="Record decision Eligibility").click()
        latest = decision.locator("ol.decisions li.latest")
        expect(latest).to_contain_text("Eligible")
        expect(latest.locator(".rationale")).to_have_text(RATIONALE)
        expect(latest).to_contain_text("by Sam Agent")
        screen(page, "case-5-decision")

        # Two comments: one for the team, one shared with the applicant.
        comments = page.locator("#case-comments")
        comments.get_by_label("Comment", exact=True).fill(INTERNAL)
        comments.get_by_role("button", name="Add comment").click()
        expect(comments.locator("li.comment").filter(has_text=INTERNAL)).to_contain_text("Internal")
        expect(comments.locator("li.comment").filter(has_text=INTERNAL).locator("strong")).to_have_text("Sam Agent")
        comments.get_by_label("Comment", exact=True).fill(SHARED)
        comments.get_by_label("Share with external participants").check()
        comments.get_by_role("button", name="Add comment").click()
        expect(comments.locator("li.comment").filter(has_text=SHARED)).to_contain_text("Shared with externals")
        expect(comments.get_by_label("Share with external participants")).not_to_be_checked()
        screen(page, "case-6-comments")

        # The timeline, filtered to decisions: the one recorded, with its rationale; the chain verifies.
        expect(entries.and_(page.locator("[data-type='comment.added']"))).to_have_count(3)
        event_type = timeline.get_by_label("Event type")
        expect(event_type.locator("option[value='decision.recorded']")).to_have_count(1)
        event_type.select_option("decision.recorded")
        expect(timeline.locator("#timeline-count")).to_have_text("1 entry matches the filter, newest first.")
        expect(entries).to_have_count(1)
        expect(entries.first).to_have_attribute("data-type", "decision.recorded")
        expect(entries.first).to_contain_text(f"Eligibility: Eligible — {RATIONALE}")
        timeline.get_by_label("Done by").select_option(label="Automations")
        expect(timeline.locator("#timeline-count")).to_have_text("0 entries match the filter, newest first.")
        timeline.get_by_label("Done by").select_option(label="Anyone")
        event_type.select_option("")
        expect(entries.and_(page.locator("[data-type='task.completed']"))).to_have_count(1)
        expect(page.locator("#timeline-chain")).to_contain_text("Chain verified")
        screen(page, "case-7-timeline")

        # The list of cases names the owner too, and the owner filter takes the subject the directory gives.
        page.goto(f"{stack.url}/console/#/cases?owner=dev-admin")
        listed = page.locator("#case-table tr[data-case-id]").filter(has_text="Community garden, Rotterdam-Zuid")
        expect(listed.locator("td.case-col-owner")).to_have_text("Dana Admin")
        # Dark when the system is, and as readable.
        page.emulate_media(color_scheme="dark")
        assert page.evaluate("() => getComputedStyle(document.documentElement).backgroundColor") == "rgb(18, 22, 28)"
        screen(page, "case-8-dark")
        clean(watch, stack)

    # The API is the authority: each step is on the case, and on its verified timeline.
    with httpx.Client(base_url=stack.url, headers=staff, timeout=10) as api:
        case = api.get(f"/cases/{case_id}").json()
        [task] = case["tasks"]
        assert (task["title"], task["reason"], task["status"]) == (TASK, TASK_REASON, "done")
        assert (task["assignee"], task["assignee_role"], task["completed_by"]) == ("dev-agent", "officer", "dev-agent")

        [document] = case["documents"]
        [stored] = document["versions"]
        assert document["type"] == "budget"
        assert (stored["version"], stored["filename"], stored["size"]) == (1, "budget.pdf", len(PDF))
        assert stored["sha256"] == hashlib.sha256(PDF).hexdigest()

        [external] = [p for p in case["participants"] if p["kind"] == "external"]
        assert (external["name"], external["email"], external["role"]) == (*CLIENT, "client")
        assert external["language"] is None  # German when added, then their browser's
        [link] = api.get(f"/cases/{case_id}/portal-links").json()["items"]
        assert link["participant_id"] == external["id"]
        assert link["revoked_at"] is not None

        [decided] = case["decisions"]
        assert (decided["key"], decided["outcome"], decided["rationale"]) == ("eligibility", "eligible", RATIONALE)

        comments = api.get(f"/cases/{case_id}/comments").json()["items"]
        shown = [(c["body"], c["external"]) for c in comments]
        assert shown == [(FROM_CLIENT, True), (INTERNAL, False), (SHARED, True)]

        expected = {
            "case.opened",
            "automation.ran",
            "document.requested",
            "task.created",
            "task.assigned",
            "task.completed",
            "document.added",
            "participant.added",
            "portal.link_issued",
            "portal.link_revoked",
            "decision.recorded",
            "comment.added",
        }

        def everything_on_the_timeline() -> list[str] | None:
            items = api.get(f"/cases/{case_id}/timeline", params={"limit": 200}).json().get("items", [])
            types = [item["event"]["type"] for item in items]
            return types if expected <= set(types) and types.count("comment.added") == 3 else None

        wait_until(everything_on_the_timeline, what="every step on the case's timeline", timeout=WAIT_MS / 1000)
        assert api.get(f"/cases/{case_id}/timeline/verify").json()["valid"] is True
