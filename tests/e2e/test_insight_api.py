"""Insight over real HTTP, from cases worked through the API to the figures: the lake writer's consumer fills the
lake, DuckDB answers each report, the cache serves a repeat, CSV downloads, and staff read only the templates
their groups hold a role on."""

import csv
import io
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from caseline_common.tenant import StaffRole
from waiting import wait_until

from caseline.local.stack import LocalStack

WAIT_SECONDS = 40
RUN = uuid.uuid4().hex[:8]
KEY = f"insight-{RUN}"
GROUP = f"insight-team-{RUN}"
TEMPLATE = {
    "key": KEY,
    "name": "Expense claim",
    "fields": [{"key": "amount", "label": "Amount", "type": "number"}],
    "stages": [
        {"key": "submitted", "name": "Submitted", "next": ["approved"]},
        {"key": "approved", "name": "Approved", "next": []},
    ],
    "roles": [
        {
            "key": "approver",
            "name": "Approver",
            "groups": [GROUP],
            "permissions": ["case.view"],
            "fields": {"*": "edit"},
        },
        {"key": "claimant", "name": "Claimant", "kind": "external", "permissions": ["case.view"]},
    ],
    "owner_role": "approver",
}
TODAY = datetime.now(UTC).date().isoformat()
GROUP_COLUMNS = {"week": "period", "month": "period", "owner": "owner", "role": "role"}


@pytest.fixture(scope="module")
def admin(stack: LocalStack) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=stack.url, headers={"Authorization": f"Bearer {stack.staff_token()}"}, timeout=30
    ) as client:
        yield client


def staff(stack: LocalStack, *groups: str) -> dict[str, str]:
    token = stack.idp.issue(
        subject=f"insight-{RUN}-{len(groups)}",
        email=f"insight-{RUN}@demo.caseline.local",
        groups=[StaffRole.STAFF.value, *groups],
    )
    return {"Authorization": f"Bearer {token}"}


def ok(response: httpx.Response) -> Any:
    assert response.status_code in (200, 201), response.text
    return response.json()


@pytest.fixture(scope="module")
def worked(admin: httpx.Client) -> None:
    """Three expense claims: all opened today, two approved and closed, one of them reopened; a portal link issued
    on the third (an event the portal sends without the case)."""
    ok(admin.post("/templates", json=TEMPLATE))
    ids = [ok(admin.post("/cases", json={"template_key": KEY, "title": f"Claim {n}"}))["id"] for n in range(3)]
    for case_id in ids[:2]:
        ok(admin.post(f"/cases/{case_id}/transitions", json={"to": "approved"}))
        ok(admin.post(f"/cases/{case_id}/close", json={"reason": "Paid"}))
    ok(admin.post(f"/cases/{ids[0]}/reopen", json={"reason": "Receipt missing"}))
    claimant = {"kind": "external", "role": "claimant", "name": "Ana Ribeiro", "email": f"ana-{RUN}@example.org"}
    case = ok(admin.post(f"/cases/{ids[2]}/participants", json=claimant))
    participant_id = next(p["id"] for p in case["participants"] if p["role"] == "claimant")
    ok(admin.post(f"/cases/{ids[2]}/portal-links", json={"participant_id": participant_id}))


def throughput(client: httpx.Client, **params: str) -> dict[str, Any]:
    table: dict[str, Any] = ok(
        client.get("/insight/throughput", params={"template": KEY, "from": TODAY, "to": TODAY, **params})
    )
    return table


def settled(client: httpx.Client) -> dict[str, Any]:
    """The template's throughput once every event of the fixture reached the lake (and no cached answer hides it)."""

    def reached() -> dict[str, Any] | None:
        table = throughput(client, by="week")
        rows = table["rows"]
        counted = len(rows) == 1 and (rows[0]["opened"], rows[0]["closed"], rows[0]["reopened"]) == (3, 2, 1)
        return table if counted else None

    return wait_until(reached, what="the fixture's events in the figures", timeout=WAIT_SECONDS, interval=0.5)


def test_the_catalogue_lists_every_report_and_the_delivery_interval(admin: httpx.Client) -> None:
    catalog = ok(admin.get("/insight"))

    names = {report["name"] for report in catalog["reports"]}
    assert {"throughput", "open-stages", "stage-times", "time-to-close", "sla", "automations", "portal"} <= names
    assert catalog["templates"] is None
    assert catalog["delivery_seconds"] >= 0
    assert all(report["description"] and report["columns"] for report in catalog["reports"])


@pytest.mark.usefixtures("worked")
def test_worked_cases_reach_the_figures_and_a_repeat_is_cached(admin: httpx.Client) -> None:
    table = settled(admin)

    row = table["rows"][0]
    assert row["template_key"] == KEY
    assert row["reopen_rate"] == pytest.approx(0.5)
    assert table["engine"] == "duckdb"
    again = throughput(admin, by="week")
    assert again["rows"] == table["rows"]
    assert again["cached"] or again["computed_at"] > table["computed_at"]

    open_now = ok(admin.get("/insight/open-stages", params={"template": KEY}))["rows"]
    assert {(row["stage"], row["open_cases"]) for row in open_now} == {("submitted", 1), ("approved", 1)}


@pytest.mark.usefixtures("worked")
def test_a_portal_link_counts_under_its_cases_template(admin: httpx.Client) -> None:
    def issued() -> list[dict[str, Any]] | None:
        params = {"template": KEY, "from": TODAY, "to": TODAY}
        rows: list[dict[str, Any]] = ok(admin.get("/insight/portal", params=params))["rows"]
        return rows if [(row["template_key"], row["links_issued"]) for row in rows] == [(KEY, 1)] else None

    wait_until(issued, what="the link in the portal figures of its template", timeout=WAIT_SECONDS, interval=0.5)


@pytest.mark.usefixtures("worked")
def test_each_report_answers_json_and_csv_for_every_grouping_it_takes(admin: httpx.Client) -> None:
    settled(admin)
    for report in ok(admin.get("/insight"))["reports"]:
        for grouping in [None, *report["groupings"]]:
            params = {"template": KEY, "from": TODAY, "to": TODAY, **({"by": grouping} if grouping else {})}
            table = ok(admin.get(f"/insight/{report['name']}", params=params))
            grouped_by = grouping or report["default_by"]
            group_column = [GROUP_COLUMNS[grouped_by]] if grouped_by else []
            assert [column["key"] for column in table["columns"]] == group_column + [
                c["key"] for c in report["columns"]
            ]
            download = admin.get(f"/insight/{report['name']}/csv", params=params)
            assert download.status_code == 200, download.text
            assert download.headers["content-type"].startswith("text/csv")
            assert "attachment" in download.headers["content-disposition"]
            lines = list(csv.reader(io.StringIO(download.text)))
            assert lines[0] == [column["label"] for column in table["columns"]]
            assert len(lines) - 1 == len(table["rows"])


@pytest.mark.usefixtures("worked")
def test_staff_read_only_the_templates_their_groups_hold_a_role_on(stack: LocalStack, admin: httpx.Client) -> None:
    settled(admin)
    member = staff(stack, GROUP)
    outsider = staff(stack, f"elsewhere-{RUN}")
    with httpx.Client(base_url=stack.url, timeout=30) as client:
        catalog = ok(client.get("/insight", headers=member))
        assert KEY in catalog["templates"]
        assert ok(client.get("/insight/throughput", headers=member, params={"template": KEY, "from": TODAY}))["rows"]

        hidden = client.get("/insight/throughput", headers=outsider, params={"template": KEY})
        assert hidden.status_code in (403, 404), hidden.text
        assert hidden.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("/insight/revenue", {}, 404),
        ("/insight/throughput", {"from": "2026-12-01", "to": "2026-11-01"}, 422),
        ("/insight/throughput", {"from": "2015-01-01", "to": "2026-11-01"}, 422),
        ("/insight/throughput", {"by": "day"}, 422),
        ("/insight/throughput", {"from": "yesterday"}, 422),
        ("/insight/throughput", {"template": "Not A Key"}, 422),
    ],
)
def test_bad_parameters_get_a_problem(admin: httpx.Client, path: str, params: dict[str, str], status: int) -> None:
    response = admin.get(path, params=params)

    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"]
