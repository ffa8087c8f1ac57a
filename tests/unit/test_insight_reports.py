"""Each insight report on DuckDB over a small lake built by hand, against figures worked out by hand below (never
by the same SQL): duplicates counted once, the range's edges, the template restriction, every grouping, and the
parameters a report refuses.

The lake (March 2025 is the range of most tests; 2025-03-03 is a Monday):
- A (onboarding, alice, hr): opened 03-03 09:00 in intake; to review 03-04 09:00 (written twice); SLA warning
  03-05 10:00 and breach 03-06 10:00 on review; closed 03-06 21:00 (written twice); reopened 03-10 09:00 into
  review; closed again 03-11 09:00.
- B (onboarding, bob, hr): opened 02-20 12:00 in intake; to review 03-05 12:00; automation ran 03-05 12:01 (ok) and
  03-06 12:00 (failed), refused 03-07 09:00; task SLA warning 03-07 08:00 and breach 03-18 08:00 on review. Open.
- G (onboarding, bob, hr): opened 03-12 08:00 in intake; to review 03-12 14:00; closed 03-13 14:00.
- C (claims, alice, claims-team): opened 03-17 10:00 in submitted; automation ran 03-17 10:01; link issued to p1
  03-17 11:00 (written twice); p1 adds a document 03-18 10:00 and a comment 03-18 11:00; p3 comments 03-19 12:00;
  links issued to p2 03-19 09:00 and to p3 03-20 12:00 (p2 never acts, p3 acted only before); alice comments
  03-20 10:00; cancelled 03-21 10:00.
- D (onboarding): opened 02-27 09:00, closed 02-28 09:00 (before the range).
- F (onboarding, carol, hr): opened 03-31 23:30 in intake (the range's last half hour).
- E (onboarding): opened 04-01 00:00 (the first instant after the range).
"""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pytest
from caseline_common.lake import LAKE_COLUMNS
from pydantic import ValidationError
from service_modules import loaded_module

if TYPE_CHECKING:
    from services.insight.chalicelib.adapters import duckdb_engine
    from services.insight.chalicelib.domain import reports
else:
    reports = loaded_module("insight", "chalicelib.domain.reports")
    duckdb_engine = loaded_module("insight", "chalicelib.adapters.duckdb_engine")

MARCH = {"from": date(2025, 3, 1), "to": date(2025, 3, 31)}
# Events that change the case (its version); the others leave the case as it was.
_CHANGES = {
    "case.opened",
    "case.stage_changed",
    "case.closed",
    "case.cancelled",
    "case.reopened",
    "case.assigned",
}


@dataclass
class Case:
    case_id: str
    template_key: str
    owner: str | None
    role: str | None
    rows: list[dict[str, Any]] = field(default_factory=list)
    stage: str | None = None
    status: str = "open"
    version: int = 0
    opened_at: datetime | None = None
    stage_entered_at: datetime | None = None
    closed_at: datetime | None = None

    def event(self, type_: str, at: str, **data: Any) -> dict[str, Any]:
        """Appends the row of an event at `at` (ISO, UTC) and returns it, the case's state moved on as the event
        moves it."""
        occurred_at = datetime.fromisoformat(at)
        if type_ in _CHANGES:
            self.version += 1
        if type_ == "case.opened":
            self.opened_at = occurred_at
        if "to_stage" in data:
            data["from_stage"] = self.stage if type_ == "case.stage_changed" else None
            self.stage, self.stage_entered_at = data.pop("to_stage"), occurred_at
        if type_ in ("case.closed", "case.cancelled"):
            self.status = "closed" if type_ == "case.closed" else "cancelled"
            self.closed_at = occurred_at
        if type_ == "case.reopened":
            self.status, self.closed_at = "open", None
        row: dict[str, Any] = {column.name: None for column in LAKE_COLUMNS}
        row.update(
            event_id=f"{self.case_id}-{len(self.rows):02d}",
            type=type_,
            occurred_at=occurred_at,
            case_id=self.case_id,
            actor_kind="user",
            actor_id=self.owner,
            template_key=self.template_key,
            template_version=1,
            case_version=self.version,
            stage=self.stage,
            status=self.status,
            owner=self.owner,
            assigned_role=self.role,
            opened_at=self.opened_at,
            stage_entered_at=self.stage_entered_at,
            closed_at=self.closed_at,
        )
        row.update(data)
        self.rows.append(row)
        return row


def _cases() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The rows of the lake, and the rows written a second time (as a redelivered batch would)."""
    a = Case("case-a", "onboarding", "alice", "hr")
    a.event("case.opened", "2025-03-03T09:00", to_stage="intake")
    a_moved = a.event("case.stage_changed", "2025-03-04T09:00", to_stage="review")
    a.event("sla.warning", "2025-03-05T10:00", sla_scope="stage", sla_stage="review")
    a.event("sla.breached", "2025-03-06T10:00", sla_scope="stage", sla_stage="review")
    a_closed = a.event("case.closed", "2025-03-06T21:00")
    a.event("case.reopened", "2025-03-10T09:00", to_stage="review")
    a.event("case.closed", "2025-03-11T09:00")

    b = Case("case-b", "onboarding", "bob", "hr")
    b.event("case.opened", "2025-02-20T12:00", to_stage="intake")
    b.event("case.stage_changed", "2025-03-05T12:00", to_stage="review")
    automation = {"actor_kind": "automation", "actor_id": "rule-1", "automation_rule": "rule-1"}
    b.event("automation.ran", "2025-03-05T12:01", automation_failed=False, **automation)
    b.event("automation.ran", "2025-03-06T12:00", automation_failed=True, **automation)
    b.event("automation.refused", "2025-03-07T09:00", automation_failed=True, **automation)
    b.event("sla.warning", "2025-03-07T08:00", sla_scope="task", sla_stage="review", task_id="t-1")
    b.event("sla.breached", "2025-03-18T08:00", sla_scope="task", sla_stage="review", task_id="t-1")

    g = Case("case-g", "onboarding", "bob", "hr")
    g.event("case.opened", "2025-03-12T08:00", to_stage="intake")
    g.event("case.stage_changed", "2025-03-12T14:00", to_stage="review")
    g.event("case.closed", "2025-03-13T14:00")

    c = Case("case-c", "claims", "alice", "claims-team")
    c.event("case.opened", "2025-03-17T10:00", to_stage="submitted")
    c.event("automation.ran", "2025-03-17T10:01", automation_failed=False, **automation)
    c_link = c.event("portal.link_issued", "2025-03-17T11:00", participant_id="p1")
    c.event("document.added", "2025-03-18T10:00", actor_kind="external", actor_id="p1", document_type="id")
    c.event("comment.added", "2025-03-18T11:00", actor_kind="external", actor_id="p1")
    c.event("portal.link_issued", "2025-03-19T09:00", participant_id="p2")
    c.event("comment.added", "2025-03-19T12:00", actor_kind="external", actor_id="p3")
    c.event("comment.added", "2025-03-20T10:00")
    c.event("portal.link_issued", "2025-03-20T12:00", participant_id="p3")
    c.event("case.cancelled", "2025-03-21T10:00")

    d = Case("case-d", "onboarding", None, None)
    d.event("case.opened", "2025-02-27T09:00", to_stage="intake")
    d.event("case.closed", "2025-02-28T09:00")

    f = Case("case-f", "onboarding", "carol", "hr")
    f.event("case.opened", "2025-03-31T23:30", to_stage="intake")

    e = Case("case-e", "onboarding", "carol", "hr")
    e.event("case.opened", "2025-04-01T00:00", to_stage="intake")

    rows = [row for case in (a, b, g, c, d, f, e) for row in case.rows]
    return rows, [a_moved, a_closed, c_link]


def write_lake(directory: Path, rows: list[dict[str, Any]], file_name: str) -> None:
    """Writes `rows` as the lake does: one Parquet file per UTC day, under events/dt=YYYY-MM-DD/."""
    names = [column.name for column in LAKE_COLUMNS]
    with duckdb.connect() as connection:
        columns = ", ".join(f"{column.name} {column.duckdb_type}" for column in LAKE_COLUMNS)
        connection.execute(f"CREATE TABLE batch ({columns})")
        connection.executemany(
            f"INSERT INTO batch VALUES ({', '.join('?' for _ in names)})", [[row[n] for n in names] for row in rows]
        )
        for (day,) in connection.execute("SELECT DISTINCT CAST(occurred_at AS DATE) FROM batch").fetchall():
            folder = directory / "events" / f"dt={day.isoformat()}"
            folder.mkdir(parents=True, exist_ok=True)
            target = str(folder / f"{file_name}.parquet").replace("'", "''")
            connection.execute(
                f"COPY (SELECT * FROM batch WHERE CAST(occurred_at AS DATE) = ?) TO '{target}' (FORMAT parquet)",
                [day],
            )


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> "duckdb_engine.DuckDbEngine":
    directory = tmp_path_factory.mktemp("lake")
    rows, again = _cases()
    write_lake(directory, rows, "01JBATCH0000000000000000001")
    write_lake(directory, again, "01JBATCH0000000000000000002")
    return duckdb_engine.DuckDbEngine(directory)


def run(engine: "duckdb_engine.DuckDbEngine", report: str, **parameters: Any) -> list[dict[str, Any]]:
    query = reports.ReportQuery.model_validate({"report": report, **MARCH, **parameters})
    result = engine.run(query)
    assert result.engine == "duckdb"
    keys = [column.key for column in query.definition.columns_for(query.by)]
    assert all(list(row) == keys for row in result.rows), (keys, result.rows)
    return [dict(row) for row in result.rows]


def tuples(rows: list[dict[str, Any]], *keys: str) -> list[tuple[Any, ...]]:
    return [tuple(row[key] for key in keys) for row in rows]


WEEK_1, WEEK_2, WEEK_3, WEEK_5 = date(2025, 3, 3), date(2025, 3, 10), date(2025, 3, 17), date(2025, 3, 31)
THROUGHPUT = ("template_key", "opened", "closed", "cancelled", "reopened", "reopen_rate")


def test_throughput_counts_each_event_once_within_the_range(engine: "duckdb_engine.DuckDbEngine") -> None:
    # onboarding opened: A, G, F (B, D in February, E on April 1st) = 3; closed: A twice (the first written twice)
    # and G = 3; reopened: A = 1, so 1/3. claims: C opened and cancelled, never closed, so no rate.
    assert tuples(run(engine, "throughput"), *THROUGHPUT) == [
        ("claims", 1, 0, 1, 0, None),
        ("onboarding", 3, 3, 0, 1, pytest.approx(1 / 3)),
    ]


def test_throughput_by_week_month_owner_and_role(engine: "duckdb_engine.DuckDbEngine") -> None:
    # Week of 03-03: A opened, closed; of 03-10: A reopened, closed, G opened, closed; of 03-17: C; of 03-31: F.
    assert tuples(run(engine, "throughput", by="week"), "period", *THROUGHPUT) == [
        (WEEK_1, "onboarding", 1, 1, 0, 0, 0.0),
        (WEEK_2, "onboarding", 1, 2, 0, 1, 0.5),
        (WEEK_3, "claims", 1, 0, 1, 0, None),
        (WEEK_5, "onboarding", 1, 0, 0, 0, None),
    ]
    assert tuples(run(engine, "throughput", by="month"), "period", "template_key", "opened", "closed") == [
        (date(2025, 3, 1), "claims", 1, 0),
        (date(2025, 3, 1), "onboarding", 3, 3),
    ]
    # alice: C (claims) and A (opened, closed twice, reopened); bob: G opened and closed; carol: F opened.
    assert tuples(run(engine, "throughput", by="owner"), "owner", *THROUGHPUT) == [
        ("alice", "claims", 1, 0, 1, 0, None),
        ("alice", "onboarding", 1, 2, 0, 1, 0.5),
        ("bob", "onboarding", 1, 1, 0, 0, 0.0),
        ("carol", "onboarding", 1, 0, 0, 0, None),
    ]
    assert tuples(run(engine, "throughput", by="role"), "role", "template_key", "opened", "closed") == [
        ("claims-team", "claims", 1, 0),
        ("hr", "onboarding", 3, 3),
    ]


def test_the_template_restriction(engine: "duckdb_engine.DuckDbEngine") -> None:
    assert tuples(run(engine, "throughput", template="claims"), "template_key", "opened") == [("claims", 1)]
    only_onboarding = run(engine, "throughput", templates=frozenset({"onboarding", "elsewhere"}))
    assert tuples(only_onboarding, "template_key", "opened") == [("onboarding", 3)]
    assert run(engine, "throughput", templates=frozenset()) == []
    assert run(engine, "throughput", template="claims", templates=frozenset({"onboarding"})) == []
    assert tuples(run(engine, "sla", template="claims"), "template_key") == [("claims",)]


def test_open_stages_at_the_end_of_the_range(engine: "duckdb_engine.DuckDbEngine") -> None:
    # At the end of March: B in review (since 03-05 12:00) and F in intake (since 03-31 23:30); A and G closed, C
    # cancelled, D closed, E not yet opened. Hours up to the newest event read, F's at 03-31 23:30: B 26 days and
    # 11.5 hours = 635.5, F 0.
    keys = ("template_key", "stage", "open_cases", "median_hours_in_stage")
    assert tuples(run(engine, "open-stages"), *keys) == [
        ("onboarding", "intake", 1, 0.0),
        ("onboarding", "review", 1, 635.5),
    ]
    # At the end of 03-06: A closed 03-06 21:00 (the newest event read), B in review since 03-05 12:00: 33 hours.
    earlier = run(engine, "open-stages", to=date(2025, 3, 6))
    assert tuples(earlier, *keys) == [("onboarding", "review", 1, 33.0)]
    assert tuples(run(engine, "open-stages", by="owner"), "owner", "stage", "open_cases") == [
        ("bob", "review", 1),
        ("carol", "intake", 1),
    ]
    assert tuples(run(engine, "open-stages", by="role"), "role", "stage", "open_cases") == [
        ("hr", "intake", 1),
        ("hr", "review", 1),
    ]


def test_stage_times(engine: "duckdb_engine.DuckDbEngine") -> None:
    # Visits that ended in March: intake A 24 h (03-03 09:00 to 03-04 09:00), B 312 h (02-20 12:00 to 03-05 12:00,
    # begun before the range), G 6 h; review A 60 h (03-04 09:00 to the close at 03-06 21:00), A 24 h (reopened
    # 03-10 09:00, closed 03-11 09:00), G 24 h; submitted C 96 h (03-17 10:00 to the cancellation 03-21 10:00).
    # Three values: the median is the middle one, the 90th percentile the largest.
    assert tuples(run(engine, "stage-times"), "template_key", "stage", "visits", "p50_hours", "p90_hours") == [
        ("claims", "submitted", 1, 96.0, 96.0),
        ("onboarding", "intake", 3, 24.0, 312.0),
        ("onboarding", "review", 3, 24.0, 60.0),
    ]
    # By the week the visit ended: 03-03 intake A, B and review A's first; 03-10 review A's second, intake and
    # review G; 03-17 C.
    assert tuples(run(engine, "stage-times", by="week"), "period", "template_key", "stage", "visits") == [
        (WEEK_1, "onboarding", "intake", 2),
        (WEEK_1, "onboarding", "review", 1),
        (WEEK_2, "onboarding", "intake", 1),
        (WEEK_2, "onboarding", "review", 2),
        (WEEK_3, "claims", "submitted", 1),
    ]
    assert tuples(run(engine, "stage-times", by="owner"), "owner", "stage", "visits") == [
        ("alice", "submitted", 1),
        ("alice", "intake", 1),
        ("alice", "review", 2),
        ("bob", "intake", 2),
        ("bob", "review", 1),
    ]
    assert tuples(run(engine, "stage-times", by="month"), "period", "stage", "visits") == [
        (date(2025, 3, 1), "submitted", 1),
        (date(2025, 3, 1), "intake", 3),
        (date(2025, 3, 1), "review", 3),
    ]
    assert tuples(run(engine, "stage-times", by="role"), "role", "stage", "visits") == [
        ("claims-team", "submitted", 1),
        ("hr", "intake", 3),
        ("hr", "review", 3),
    ]


def test_time_to_close(engine: "duckdb_engine.DuckDbEngine") -> None:
    # Closings in March: A 84 h (03-03 09:00 to 03-06 21:00) and 192 h (to 03-11 09:00, from its first opening),
    # G 30 h (03-12 08:00 to 03-13 14:00); C was cancelled, D closed in February.
    keys = ("template_key", "closed", "p50_hours", "p90_hours")
    assert tuples(run(engine, "time-to-close"), *keys) == [("onboarding", 3, 84.0, 192.0)]
    by_owner = run(engine, "time-to-close", by="owner")
    assert tuples(by_owner, "owner", "closed") == [("alice", 2), ("bob", 1)]
    assert tuples(by_owner[1:], "p50_hours", "p90_hours") == [(30.0, 30.0)]
    assert tuples(run(engine, "time-to-close", by="week"), "period", "closed") == [(WEEK_1, 1), (WEEK_2, 2)]
    assert tuples(run(engine, "time-to-close", by="role"), "role", "closed") == [("hr", 3)]
    assert tuples(run(engine, "time-to-close", by="month"), "period", "closed") == [(date(2025, 3, 1), 3)]


SLA = ("period", "template_key", "stage", "visits_entered", "warnings", "breaches", "warning_rate", "breach_rate")


def test_sla_per_week_by_default(engine: "duckdb_engine.DuckDbEngine") -> None:
    # Week of 03-03: intake entered by A; review entered by A (its move written twice) and B, warned for A (stage)
    # and B (task), breached for A: 2/2 and 1/2. Week of 03-10: intake G; review A (reopened) and G. Week of 03-17:
    # C entered submitted; B's task breach on review, no review entered that week: no rate. Week of 03-31: F.
    assert tuples(run(engine, "sla"), *SLA) == [
        (WEEK_1, "onboarding", "intake", 1, 0, 0, 0.0, 0.0),
        (WEEK_1, "onboarding", "review", 2, 2, 1, 1.0, 0.5),
        (WEEK_2, "onboarding", "intake", 1, 0, 0, 0.0, 0.0),
        (WEEK_2, "onboarding", "review", 2, 0, 0, 0.0, 0.0),
        (WEEK_3, "claims", "submitted", 1, 0, 0, 0.0, 0.0),
        (WEEK_3, "onboarding", "review", 0, 0, 1, None, None),
        (WEEK_5, "onboarding", "intake", 1, 0, 0, 0.0, 0.0),
    ]


def test_sla_per_month(engine: "duckdb_engine.DuckDbEngine") -> None:
    # March: intake entered by A, G, F; review by A twice (moved, reopened), B and G: 4 entries, 2 warnings,
    # 2 breaches.
    march = date(2025, 3, 1)
    assert tuples(run(engine, "sla", by="month"), *SLA) == [
        (march, "claims", "submitted", 1, 0, 0, 0.0, 0.0),
        (march, "onboarding", "intake", 3, 0, 0, 0.0, 0.0),
        (march, "onboarding", "review", 4, 2, 2, 0.5, 0.5),
    ]


def test_automations(engine: "duckdb_engine.DuckDbEngine") -> None:
    # onboarding (B): two runs, one failed, one refusal: 2 failures of 3; claims (C): one run, fine.
    keys = ("template_key", "runs", "refused", "failures", "failure_rate")
    assert tuples(run(engine, "automations"), *keys) == [
        ("claims", 1, 0, 0, 0.0),
        ("onboarding", 2, 1, 2, pytest.approx(2 / 3)),
    ]
    assert tuples(run(engine, "automations", by="week"), "period", "template_key", "runs", "refused") == [
        (WEEK_1, "onboarding", 2, 1),
        (WEEK_3, "claims", 1, 0),
    ]
    assert tuples(run(engine, "automations", by="owner"), "owner", "runs") == [("alice", 1), ("bob", 2)]


def test_portal(engine: "duckdb_engine.DuckDbEngine") -> None:
    # C: links to p1 (written twice), p2 and p3; p1 acted afterwards, p2 never, p3 only before its link: 3 issued,
    # 1 used; p1's document; p1's and p3's comments (alice's is staff's).
    keys = ("template_key", "links_issued", "links_used", "client_documents", "client_comments")
    assert tuples(run(engine, "portal"), *keys) == [("claims", 3, 1, 1, 2)]
    assert tuples(run(engine, "portal", by="role"), "role", *keys) == [("claims-team", "claims", 3, 1, 1, 2)]
    # Up to 03-18 only: p1's link and document, and its comment at 11:00.
    assert tuples(run(engine, "portal", to=date(2025, 3, 18)), *keys) == [("claims", 1, 1, 1, 1)]


def test_a_lake_without_files_answers_no_rows_and_files_arriving_later_are_read(tmp_path: Path) -> None:
    rows, _ = _cases()
    arriving = [rows[:10], rows[10:]]  # what each refresh downloads: A's rows first, then the rest

    def refresh() -> None:
        if arriving:
            write_lake(tmp_path, arriving.pop(0), f"01JBATCH{len(arriving):019d}")

    engine = duckdb_engine.DuckDbEngine(tmp_path / "lake", refresh=None)
    query = reports.ReportQuery.model_validate({"report": "throughput", **MARCH})
    assert engine.run(query).rows == []
    engine = duckdb_engine.DuckDbEngine(tmp_path, refresh=refresh)
    # A alone: opened, closed twice, reopened once; then every case, as in the first test.
    assert tuples(engine.run(query).rows, "template_key", "opened", "closed") == [("onboarding", 1, 2)]
    assert tuples(engine.run(query).rows, "template_key", "opened", "closed") == [
        ("claims", 1, 0),
        ("onboarding", 3, 3),
    ]
    assert tuples(engine.run(query).rows, "template_key", "opened") == [("claims", 1), ("onboarding", 3)]


def test_queries_on_several_threads_at_once(tmp_path: Path) -> None:
    rows, _ = _cases()
    write_lake(tmp_path, rows, "01JBATCH0000000000000000001")
    engine = duckdb_engine.DuckDbEngine(tmp_path)
    query = reports.ReportQuery.model_validate({"report": "time-to-close", **MARCH})
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: engine.run(query).rows, range(12)))
    assert all(tuples(rows, "template_key", "closed") == [("onboarding", 3)] for rows in results)


def test_the_scan_estimate_reads_only_the_partitions_and_columns_a_report_needs(
    engine: "duckdb_engine.DuckDbEngine",
) -> None:
    def estimate(report: str, **parameters: Any) -> Any:
        return engine.athena_scan(reports.ReportQuery.model_validate({"report": report, **MARCH, **parameters}))

    one_day = estimate("throughput", **{"from": date(2025, 3, 4), "to": date(2025, 3, 4)})
    # 03-03 to 03-05 (a day's margin each side): 03-03 one file, 03-04 two (A's move was written twice), 03-05 one.
    assert one_day.files == 4
    march = estimate("throughput")
    assert march.bytes_scanned > one_day.bytes_scanned > 0
    # Stage times read every earlier day too; the minimum bill is 10 MB at $5 per TB.
    assert estimate("stage-times").bytes_scanned > march.bytes_scanned
    assert march.price_usd == pytest.approx(10 * 1024 * 1024 / 1e12 * 5)


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"report": "velocity"}, "There is no report 'velocity'"),
        ({"report": ["sla"]}, "Input should be a valid string"),
        ({"report": "throughput", "from": date(2025, 4, 1)}, "starts (2025-04-01) after it ends (2025-03-31)"),
        ({"report": "throughput", "from": date(2020, 3, 1)}, "more than five years"),
        ({"report": "open-stages", "by": "week"}, "cannot be grouped by week; it can by owner, role"),
        ({"report": "sla", "by": "owner"}, "cannot be grouped by owner; it can by month, week"),
        ({"report": "throughput", "by": "day"}, "Input should be 'week', 'month', 'owner' or 'role'"),
        ({"report": "throughput", "template": ""}, "at least 1 character"),
        ({"report": "throughput", "limit": 5}, "Extra inputs are not permitted"),
    ],
)
def test_bad_parameters_are_refused_with_a_reason(parameters: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        reports.ReportQuery.model_validate({**MARCH, **parameters})


def test_every_report_declares_its_columns_and_groupings() -> None:
    assert set(reports.REPORTS) == {
        "throughput",
        "open-stages",
        "stage-times",
        "time-to-close",
        "sla",
        "automations",
        "portal",
    }
    for report in reports.REPORTS.values():  # each figure's definition is in the description the API shows
        for column in report.columns[1:]:
            assert f"`{column.key}`" in report.description or column.key == "stage", (report.name, column.key)
    query = reports.ReportQuery.model_validate({"report": "sla", **MARCH})
    assert query.by == "week"
    assert [column.key for column in query.definition.columns_for("month")][:3] == ["period", "template_key", "stage"]
