"""Insight in the staff console, in a real browser, from cases worked through the API: the console draws the
figures of the event lake (GET /insight/{report}) for a template of the test's own, as a chart and a table;
grouping by month and narrowing the range redraw them; the CSV download is the report's table; and axe-core
finds nothing serious on the template's page or on the overview of every template.

The lake is written by a consumer a little behind the cases: the test waits through the API, with the very
parameters the console asks for, until the figures are there (the answer is then cached for the console)."""

import csv
import io
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from console_session import clean, console_browser, requires_browser, screen, signed_in
from playwright.sync_api import Browser, Locator, Page, expect
from waiting import wait_until

from caseline.local.stack import LocalStack

pytestmark = requires_browser

LAKE_WAIT_S = 60.0
RUN = uuid.uuid4().hex[:8]
KEY = f"console-insight-{RUN}"
TEMPLATE = {
    "key": KEY,
    "name": f"Insight claims {RUN}",
    "stages": [
        {"key": "submitted", "name": "Submitted claim", "next": ["approved"]},
        {"key": "approved", "name": "Approved claim", "next": []},
    ],
    "roles": [{"key": "team", "name": "Team", "permissions": ["case.view"], "groups": ["caseline-staff"]}],
}
TODAY = datetime.now(UTC).date()
# What the console asks for at first: the last 90 days (UTC), per week.
FIRST_VIEW = {"template": KEY, "from": (TODAY - timedelta(days=89)).isoformat(), "to": TODAY.isoformat(), "by": "week"}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with console_browser() as launched:
        yield launched


@pytest.fixture(scope="module")
def admin(stack: LocalStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.url, headers={"Authorization": f"Bearer {stack.staff_token()}"}) as client:
        yield client


def ok(response: httpx.Response) -> Any:
    assert response.status_code in (200, 201), response.text
    return response.json()


@pytest.fixture(scope="module")
def worked(admin: httpx.Client) -> None:
    """Three claims opened today: two approved, one of them closed. Open now: one submitted, one approved."""
    ok(admin.post("/templates", json=TEMPLATE))
    ids = [ok(admin.post("/cases", json={"template_key": KEY, "title": f"Claim {n} {RUN}"}))["id"] for n in range(3)]
    for case_id in ids[:2]:
        ok(admin.post(f"/cases/{case_id}/transitions", json={"to": "approved"}))
    ok(admin.post(f"/cases/{ids[0]}/close", json={"reason": "Paid"}))


def catalogued(admin: httpx.Client, report: str) -> tuple[str, dict[str, str]]:
    """A report's title and its columns' labels by key, as GET /insight lists them."""
    [summary] = [item for item in ok(admin.get("/insight"))["reports"] if item["name"] == report]
    return summary["title"], {column["key"]: column["label"] for column in summary["columns"]}


def settled(admin: httpx.Client) -> tuple[str, dict[str, str]]:
    """Until the lake holds every event of `worked` (and the console's first question is answered with them):
    the throughput table's title and its columns' labels by key (the week's first)."""

    def reached() -> dict[str, Any] | None:
        table: dict[str, Any] = ok(admin.get("/insight/throughput", params=FIRST_VIEW))
        return table if [(row["opened"], row["closed"]) for row in table["rows"]] == [(3, 1)] else None

    table = wait_until(reached, what="the worked claims in the lake", timeout=LAKE_WAIT_S, interval=1.0)
    return table["title"], {column["key"]: column["label"] for column in table["columns"]}


def section(page: Page, report: str) -> Locator:
    return page.locator(f'section[data-insight="{report}"]')


def cell(table: Locator, header: str) -> Locator:
    """The first row's cell under the column headed `header`."""
    headers = table.locator("thead th").all_inner_texts()
    return table.locator("tbody tr").first.locator("th, td").nth(headers.index(header))


@pytest.mark.usefixtures("worked")
def test_the_console_charts_tables_and_downloads_the_figures_of_worked_cases(
    stack: LocalStack, admin: httpx.Client, browser: Browser
) -> None:
    title, throughput = settled(admin)
    _, open_stages = catalogued(admin, "open-stages")
    context, page, watch = signed_in(browser, stack, "admin")
    with context:
        page.goto(f"{stack.url}/console/#/insight/{KEY}")
        expect(page.get_by_role("heading", level=1)).to_have_text(f"Insight: Insight claims {RUN}")
        expect(page.locator("#insight-reports[data-insight-ready]")).to_be_attached()

        weekly = section(page, "throughput")
        expect(weekly).to_have_attribute("data-state", "ready")
        expect(weekly.locator("svg[role=img]")).to_be_visible()
        weekly.get_by_text("Table", exact=True).click()
        table = weekly.get_by_role("table")
        expect(cell(table, throughput["opened"])).to_have_text("3")
        expect(cell(table, throughput["closed"])).to_have_text("1")
        # Open now, per stage by the stage's name: one claim still submitted, one approved and open.
        bar = 'rect.chart-bar[data-series="{}"][data-category="{}"]'
        for stage in ("Submitted claim", "Approved claim"):
            open_bar = section(page, "open-stages").locator(bar.format(open_stages["open_cases"], stage))
            expect(open_bar).to_have_attribute("data-value", "1")
        screen(page, "insight-1-template")

        with page.expect_download() as download:
            weekly.get_by_role("button", name=f"Download CSV of {title}").click()
        assert download.value.suggested_filename.startswith("throughput-")
        lines = list(csv.reader(io.StringIO(download.value.path().read_text(encoding="utf-8"))))
        assert lines[0] == list(throughput.values())
        [row] = [dict(zip(throughput, line, strict=True)) for line in lines[1:]]
        assert (row["opened"], row["closed"]) == ("3", "1")

        page.get_by_label("Group by").select_option("month")
        monthly_view = {"from": FIRST_VIEW["from"], "to": FIRST_VIEW["to"], "by": "month"}
        expect(page).to_have_url(f"{stack.url}/console/#/insight/{KEY}?{urlencode(monthly_view)}")
        monthly = section(page, "throughput")
        monthly.get_by_text("Table", exact=True).click()
        table = monthly.get_by_role("table")
        expect(table.locator("tbody tr").first).to_contain_text(TODAY.strftime("%B %Y"))
        expect(cell(table, throughput["opened"])).to_have_text("3")

        # Per team role: the three claims under one role (none is expected of them), their template's only row.
        page.get_by_label("Group by").select_option("role")
        per_role = section(page, "throughput")
        per_role.get_by_text("Table", exact=True).click()
        expect(per_role.get_by_role("table").locator("tbody tr")).to_have_count(1)
        expect(cell(per_role.get_by_role("table"), throughput["opened"])).to_have_text("3")

        # Filtered to the Team role: no claim is assigned to it, so nothing; any team brings them back. The filter
        # is in the address, so the view can be bookmarked.
        page.get_by_label("Team role", exact=True).select_option("team")
        expect(section(page, "throughput")).to_have_attribute("data-state", "empty")
        assert "role=team" in page.url
        page.get_by_label("Team role", exact=True).select_option("")
        expect(section(page, "throughput")).to_have_attribute("data-state", "ready")

        # A range that ends before the claims were opened has nothing to show yet.
        yesterday = (TODAY - timedelta(days=1)).isoformat()
        page.get_by_label("From (UTC day)").fill(yesterday)
        page.get_by_label("To (UTC day)").fill(yesterday)
        page.get_by_role("button", name="Show", exact=True).click()
        expect(section(page, "throughput")).to_have_attribute("data-state", "empty")
        expect(section(page, "throughput")).to_contain_text("No data in this range yet")
        page.get_by_role("button", name="Last 30 days").click()
        expect(section(page, "throughput")).to_have_attribute("data-state", "ready")

        page.get_by_label("Template", exact=True).select_option("")
        expect(page.get_by_role("heading", level=1)).to_have_text("Insight: all templates")
        expect(page.locator("#insight-reports[data-insight-ready]")).to_be_attached()
        screen(page, "insight-2-overview")
        clean(watch, stack)
