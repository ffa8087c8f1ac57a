"""Insight reports as the use case serves them: who reads which template's figures, what the engine is asked,
the cache in front of it, and CSV. The engine, the template readers and the cache are in-memory here; the
DynamoDB cache is checked in tests/integration/test_insight_api.py, the SQL in test_insight_reports.py."""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from caseline_common.errors import ForbiddenError, InvalidInputError, NotFoundError
from caseline_common.tenant import Principal, StaffRole, TenantContext
from service_modules import loaded_module

if TYPE_CHECKING:
    from services.insight.chalicelib import ports, report_service
else:
    report_service = loaded_module("insight", "chalicelib.report_service")
    ports = loaded_module("insight", "chalicelib.ports")

T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
RANGE = report_service.ReportRange(from_=date(2027, 1, 1), to=date(2027, 2, 28), by="week")
READERS = {
    "motor-claim": frozenset({"claims-handlers", "claims-leads"}),
    "household-claim": frozenset({"claims-handlers"}),
    "onboarding": frozenset({"hr"}),
}


@dataclass
class RecordingEngine:
    rows: list[dict[str, Any]] = field(default_factory=lambda: [{"period": date(2027, 1, 4), "opened": 3}])
    asked: list[Any] = field(default_factory=list)

    def run(self, query: Any) -> Any:
        self.asked.append(query)
        return ports.ReportResult(rows=self.rows, bytes_scanned=2048, engine="duckdb")


class FixedReaders:
    def all(self) -> dict[str, frozenset[str]]:
        return READERS


@dataclass
class InMemoryCache:
    items: dict[str, tuple[Any, datetime]] = field(default_factory=dict)

    def get(self, key: str, now: datetime) -> Any:
        report, expires_at = self.items.get(key, (None, now))
        return report if expires_at > now else None

    def put(self, key: str, report: Any, expires_at: datetime) -> None:
        self.items[key] = (report, expires_at)


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now


def _service(engine: RecordingEngine, clock: Clock | None = None, cache_seconds: int = 300) -> Any:
    return report_service.ReportService(
        engine,
        FixedReaders(),
        InMemoryCache(),
        clock=clock or Clock(),
        cache_seconds=cache_seconds,
        delivery_seconds=300,
    )


def _caller(*groups: str, external: bool = False) -> TenantContext:
    principal = Principal(subject="5c1e9a7b", groups=frozenset(groups), external=external)
    return TenantContext(tenant_id="acme", principal=principal, correlation_id="c-1")


@pytest.mark.parametrize("role", [StaffRole.ADMIN, StaffRole.VIEWER])
def test_admins_and_viewers_read_every_template(role: StaffRole) -> None:
    engine = RecordingEngine()

    _service(engine).report(_caller(role.value), "throughput", RANGE)

    assert engine.asked[0].templates is None
    assert _service(engine).catalog(_caller(role.value)).templates is None


def test_staff_read_the_templates_their_groups_hold_a_role_on() -> None:
    engine = RecordingEngine()
    caller = _caller(StaffRole.STAFF.value, "claims-handlers")

    _service(engine).report(caller, "throughput", RANGE)

    assert engine.asked[0].templates == frozenset({"motor-claim", "household-claim"})
    assert _service(engine).catalog(caller).templates == ["household-claim", "motor-claim"]


def test_a_template_staff_may_not_read_is_not_found_and_nothing_runs() -> None:
    engine = RecordingEngine()
    asked = RANGE.model_copy(update={"template": "onboarding"})

    with pytest.raises(NotFoundError, match="onboarding"):
        _service(engine).report(_caller(StaffRole.STAFF.value, "claims-handlers"), "throughput", asked)
    assert engine.asked == []


def test_one_readable_template_is_asked_for_alone() -> None:
    engine = RecordingEngine()
    asked = RANGE.model_copy(update={"template": "motor-claim"})

    _service(engine).report(_caller(StaffRole.STAFF.value, "claims-leads"), "throughput", asked)

    assert engine.asked[0].template == "motor-claim"
    assert engine.asked[0].templates == frozenset({"motor-claim"})


@pytest.mark.parametrize(
    ("caller", "why"),
    [
        (_caller(StaffRole.STAFF.value, "facilities"), "no role on any template"),
        (_caller("claims-handlers"), "Caseline group"),
        (_caller(StaffRole.ADMIN.value, external=True), "Caseline group"),
    ],
)
def test_callers_without_figures_to_read_are_refused(caller: TenantContext, why: str) -> None:
    with pytest.raises(ForbiddenError, match=why):
        _service(RecordingEngine()).report(caller, "throughput", RANGE)


def test_an_unknown_report_is_not_found_and_names_the_reports() -> None:
    with pytest.raises(NotFoundError, match="throughput"):
        _service(RecordingEngine()).report(_caller(StaffRole.ADMIN.value), "revenue", RANGE)


def test_a_grouping_the_report_does_not_take_is_invalid_input() -> None:
    refused = [
        name
        for name, report in report_service.REPORTS.items()
        if not {"week", "month", "owner", "role"} <= set(report.groupings)
    ]
    if not refused:
        pytest.skip("every report takes every grouping")
    name = refused[0]
    grouping = next(g for g in ("week", "month", "owner", "role") if g not in report_service.REPORTS[name].groupings)

    with pytest.raises(InvalidInputError):
        _service(RecordingEngine()).report(
            _caller(StaffRole.ADMIN.value), name, RANGE.model_copy(update={"by": grouping})
        )


def test_a_result_is_served_from_the_cache_until_it_expires() -> None:
    engine, clock = RecordingEngine(), Clock()
    service = _service(engine, clock, cache_seconds=300)
    caller = _caller(StaffRole.STAFF.value, "claims-handlers")

    first = service.report(caller, "throughput", RANGE)
    clock.now = T0 + timedelta(seconds=299)
    second = service.report(caller, "throughput", RANGE)
    clock.now = T0 + timedelta(seconds=300)
    third = service.report(caller, "throughput", RANGE)

    assert len(engine.asked) == 2
    assert (first.cached, second.cached, third.cached) == (False, True, False)
    assert second.rows == first.rows == [{"period": "2027-01-04", "opened": 3}]
    assert second.computed_at == T0
    assert third.computed_at == T0 + timedelta(seconds=300)


def test_callers_who_read_different_templates_do_not_share_results() -> None:
    engine = RecordingEngine()
    service = _service(engine)

    service.report(_caller(StaffRole.STAFF.value, "claims-handlers"), "throughput", RANGE)
    service.report(_caller(StaffRole.STAFF.value, "hr"), "throughput", RANGE)
    service.report(_caller(StaffRole.STAFF.value, "claims-leads", "claims-handlers"), "throughput", RANGE)

    assert [query.templates for query in engine.asked] == [
        frozenset({"motor-claim", "household-claim"}),
        frozenset({"onboarding"}),
    ]


def test_without_a_cache_period_every_request_runs_the_query() -> None:
    engine = RecordingEngine()
    service = _service(engine, cache_seconds=0)

    service.report(_caller(StaffRole.ADMIN.value), "throughput", RANGE)
    service.report(_caller(StaffRole.ADMIN.value), "throughput", RANGE)

    assert len(engine.asked) == 2


def test_csv_has_the_labels_then_one_line_per_row_with_empty_cells_for_nothing() -> None:
    engine = RecordingEngine(
        rows=[
            {"period": date(2027, 1, 4), "template_key": "motor-claim", "opened": 3, "reopen_rate": None},
            {"period": date(2027, 1, 11), "template_key": 'say "hi", ok', "opened": 0, "reopen_rate": 0.25},
        ]
    )
    table = _service(engine).report(_caller(StaffRole.ADMIN.value), "throughput", RANGE)
    labels = [column.label for column in table.columns]
    keys = [column.key for column in table.columns]

    lines = report_service.report_csv(table).decode().split("\r\n")

    assert lines[0] == ",".join(labels)
    first = dict(zip(keys, lines[1].split(","), strict=False))
    assert (first["period"], first["opened"], first.get("reopen_rate", "")) == ("2027-01-04", "3", "")
    assert '"say ""hi"", ok"' in lines[2]
    assert lines[-1] == ""
