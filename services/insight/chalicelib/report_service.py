"""Insight reports: who may read which template's figures, the cache in front of the engine, and CSV.

The figures come from the event lake through an `InsightEngine` (DuckDB locally, Athena in AWS). A result is
cached per tenant (the table is the tenant's), per report, range, grouping and the templates the caller may read,
for `cache_seconds`: about the lake's delivery interval, since the lake does not change faster than that.
"""

import csv
import hashlib
import io
import json
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from caseline_common.errors import FieldIssue, ForbiddenError, InvalidInputError, NotFoundError
from caseline_common.tenant import READERS, Principal, StaffRole, TenantContext
from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError

from .domain.reports import REPORTS, Grouping, ReportColumn, ReportQuery
from .ports import InsightEngine, TemplateReaders

_THROUGHPUT_COLUMNS = [
    {"key": "period", "label": "Week", "type": "date"},
    {"key": "template_key", "label": "Template", "type": "string"},
    {"key": "opened", "label": "Opened", "type": "integer"},
    {"key": "closed", "label": "Closed", "type": "integer"},
    {"key": "cancelled", "label": "Cancelled", "type": "integer"},
    {"key": "reopened", "label": "Reopened", "type": "integer"},
    {"key": "reopen_rate", "label": "Reopen rate", "type": "number"},
]
CATALOG: dict[str, Any] = {
    "reports": [
        {
            "name": "throughput",
            "title": "Cases opened and closed",
            "description": "Cases opened, closed, cancelled and reopened per period; reopen rate = reopened / closed.",
            "groupings": ["month", "owner", "role", "week"],
            "default_by": None,
            "columns": _THROUGHPUT_COLUMNS[1:],
        }
    ],
    "templates": ["motor-claim"],
    "delivery_seconds": 300,
}
TABLE: dict[str, Any] = {
    "report": "throughput",
    "title": "Cases opened and closed",
    "from": "2026-11-02",
    "to": "2026-11-15",
    "by": "week",
    "template": "motor-claim",
    "columns": _THROUGHPUT_COLUMNS,
    "rows": [
        {
            "period": "2026-11-02",
            "template_key": "motor-claim",
            "opened": 42,
            "closed": 37,
            "cancelled": 2,
            "reopened": 1,
            "reopen_rate": 0.027,
        },
        {
            "period": "2026-11-09",
            "template_key": "motor-claim",
            "opened": 51,
            "closed": 44,
            "cancelled": 1,
            "reopened": 0,
            "reopen_rate": 0.0,
        },
    ],
    "computed_at": "2026-11-16T08:05:12Z",
    "cached": False,
    "engine": "athena",
    "bytes_scanned": 1843200,
}


class ReportSummary(BaseModel):
    """One report the insight API answers."""

    model_config = ConfigDict(frozen=True)

    name: str
    title: str
    description: str
    groupings: list[Grouping] = Field(description="The values `by` accepts for it.")
    default_by: Grouping | None = Field(description="The grouping it has when `by` is not given.")
    columns: list[ReportColumn] = Field(
        description="Its columns without a grouping; grouped, the group's column (period, owner or role) comes first."
    )


class ReportCatalog(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [CATALOG]})

    reports: list[ReportSummary]
    templates: list[str] | None = Field(
        description="The templates whose figures the caller may read; null for every template (admins, viewers)."
    )
    delivery_seconds: int = Field(description="How long a change may take to reach the figures, at most.")


class ReportRange(BaseModel):
    """What a report is asked for: its range (inclusive days, UTC), grouping and template."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    from_: date = Field(alias="from")
    to: date
    by: Grouping | None = None
    template: str | None = None


class ReportTable(BaseModel):
    """A report's table: its columns, in order, and one row per group."""

    model_config = ConfigDict(populate_by_name=True, json_schema_extra={"examples": [TABLE]})

    report: str
    title: str
    from_: date = Field(alias="from")
    to: date
    by: Grouping | None
    template: str | None
    columns: list[ReportColumn]
    rows: list[dict[str, JsonValue]]
    computed_at: datetime = Field(description="When the engine computed these figures.")
    cached: bool = Field(description="Whether they were served from the cache (computed at `computed_at`).")
    engine: str = Field(description="duckdb (locally) or athena (AWS).")
    bytes_scanned: int | None = Field(description="What the query read (Athena bills by it); null if unknown.")


class CachedReport(BaseModel):
    rows: list[dict[str, JsonValue]]
    computed_at: datetime
    engine: str
    bytes_scanned: int | None


class ReportCache(Protocol):
    def get(self, key: str, now: datetime) -> CachedReport | None: ...

    def put(self, key: str, report: CachedReport, expires_at: datetime) -> None: ...


class ReportService:
    def __init__(
        self,
        engine: InsightEngine,
        readers: TemplateReaders,
        cache: ReportCache,
        *,
        clock: Callable[[], datetime],
        cache_seconds: int,
        delivery_seconds: int,
    ) -> None:
        self._engine = engine
        self._readers = readers
        self._cache = cache
        self._clock = clock
        self._cache_seconds = cache_seconds
        self._delivery_seconds = delivery_seconds

    def catalog(self, tenant: TenantContext) -> ReportCatalog:
        templates = self._readable_templates(tenant.principal)
        return ReportCatalog(
            reports=[_summary(name) for name in REPORTS],
            templates=None if templates is None else sorted(templates),
            delivery_seconds=self._delivery_seconds,
        )

    def report(self, tenant: TenantContext, name: str, asked: ReportRange) -> ReportTable:
        if name not in REPORTS:
            raise NotFoundError(f"No report {name!r}; the reports are {', '.join(REPORTS)}.")
        query = self._query(name, asked, self._readable_templates(tenant.principal))
        key = _cache_key(query)
        now = self._clock()
        cached = self._cache.get(key, now) if self._cache_seconds else None
        result = cached or self._compute(query, key, now)
        definition = REPORTS[name]
        return ReportTable(
            report=name,
            title=definition.title,
            from_=asked.from_,
            to=asked.to,
            by=query.by,
            template=asked.template,
            columns=list(definition.columns_for(query.by)),
            rows=result.rows,
            computed_at=result.computed_at,
            cached=cached is not None,
            engine=result.engine,
            bytes_scanned=result.bytes_scanned,
        )

    def _compute(self, query: ReportQuery, key: str, now: datetime) -> CachedReport:
        result = self._engine.run(query)
        computed = CachedReport(
            rows=[{column: _json_value(value) for column, value in row.items()} for row in result.rows],
            computed_at=now,
            engine=result.engine,
            bytes_scanned=result.bytes_scanned,
        )
        if self._cache_seconds:
            self._cache.put(key, computed, now + timedelta(seconds=self._cache_seconds))
        return computed

    def _readable_templates(self, principal: Principal) -> frozenset[str] | None:
        """None for every template (admins and viewers); otherwise those where a role is granted to one of the
        caller's groups. Roles held only by taking part in a case do not open a template's figures."""
        if principal.external or principal.automation or not principal.has_any(*READERS):
            raise ForbiddenError("Insight is for staff: it needs a Caseline group.")
        if principal.has_any(StaffRole.ADMIN, StaffRole.VIEWER):
            return None
        return frozenset(key for key, groups in self._readers.all().items() if groups & principal.groups)

    def _query(self, name: str, asked: ReportRange, readable: frozenset[str] | None) -> ReportQuery:
        if readable is not None:
            if asked.template is not None and asked.template not in readable:
                raise NotFoundError(f"No template {asked.template!r} whose figures you may read.")
            if not readable:
                raise ForbiddenError("You hold no role on any template, so there are no figures for you to read.")
        try:
            return ReportQuery(
                report=name, from_=asked.from_, to=asked.to, by=asked.by, template=asked.template, templates=readable
            )
        except ValidationError as error:
            issues = [
                FieldIssue(
                    location="query", pointer="/" + "/".join(str(part) for part in issue["loc"]), detail=issue["msg"]
                )
                for issue in error.errors()
            ]
            raise InvalidInputError("These report parameters do not fit together.", issues) from error


def report_csv(table: ReportTable) -> bytes:
    """The table as CSV (RFC 4180): a header of column labels, then one line per row; empty cells for nulls."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(column.label for column in table.columns)
    for row in table.rows:
        writer.writerow("" if row.get(column.key) is None else row[column.key] for column in table.columns)
    return buffer.getvalue().encode("utf-8")


def _summary(name: str) -> ReportSummary:
    report = REPORTS[name]
    return ReportSummary(
        name=name,
        title=report.title,
        description=report.description,
        groupings=sorted(report.groupings),
        default_by=report.default_by,
        columns=list(report.columns),
    )


def _cache_key(query: ReportQuery) -> str:
    asked = query.model_dump(mode="json")
    if asked.get("templates") is not None:  # a set: its order must not change the key
        asked["templates"] = sorted(asked["templates"])
    canonical = json.dumps(asked, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _json_value(value: Any) -> JsonValue:
    """Engines answer dates, times and decimals; the API answers JSON."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(key): _json_value(item) for key, item in value.items()}
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return float(value)
