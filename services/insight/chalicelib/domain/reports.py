"""The insight reports: what each one computes (its description is its definition, shown in the API and the docs),
the query a caller asks for, and its SQL rendered for an engine.

Each report's SQL is one source in DuckDB's dialect (chalicelib/queries/<report>.sql), which sqlglot transpiles to
Trino for Athena (engine version 3). A source names the lake `lake_events` and leaves these placeholders, which
`render_sql` replaces by literals and fixed expressions in the parsed tree, never by formatting text:

- `$first_dt`, `$last_dt`: the first and last `dt` partitions to read ('YYYY-MM-DD', a day's margin each side);
- `$start_at`, `$end_at`: the range as timestamps, from the start of `from_` to the end of `to` (exclusive);
- `$template_filter`: the condition on `template_key` (the template asked for, the templates the caller may read);
- `$group_value`: the grouping asked for (`by`), an expression over the columns `occurred_at`, `owner` and
  `assigned_role` of the query block it stands in. The outermost select names it `group_value`; rendering renames
  that column after the grouping (period, owner, role), or drops it when there is none.
"""

from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Any, Literal, Self

import sqlglot
from caseline_common.lake import LAKE_TABLE
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlglot import exp

Grouping = Literal["week", "month", "owner", "role"]
ColumnType = Literal["string", "date", "integer", "number"]
Dialect = Literal["duckdb", "trino"]

MAX_RANGE_DAYS = 5 * 366
QUERIES = Path(__file__).resolve().parent.parent / "queries"

_PERIODS: frozenset[Grouping] = frozenset({"week", "month"})
_ALL_GROUPINGS: frozenset[Grouping] = frozenset({"week", "month", "owner", "role"})


class ReportColumn(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str
    label: str
    type: ColumnType


def _column(key: str, label: str, type_: ColumnType) -> ReportColumn:
    return ReportColumn(key=key, label=label, type=type_)


# The column a grouping adds in front of a report's own: weeks start on Monday (ISO), months on the 1st; owner and
# role are a staff subject and a team role key, null for cases without one.
GROUP_COLUMNS: dict[Grouping, ReportColumn] = {
    "week": _column("period", "Week", "date"),
    "month": _column("period", "Month", "date"),
    "owner": _column("owner", "Owner", "string"),
    "role": _column("role", "Team role", "string"),
}
# What each grouping stands for in the SQL, over the columns of the block the placeholder is in.
_GROUP_EXPRESSIONS: dict[Grouping | None, str] = {
    "week": "CAST(date_trunc('week', occurred_at) AS DATE)",
    "month": "CAST(date_trunc('month', occurred_at) AS DATE)",
    "owner": "owner",
    "role": "assigned_role",
    None: "CAST(NULL AS VARCHAR)",
}


class Report(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    title: str
    description: str
    columns: tuple[ReportColumn, ...]
    groupings: frozenset[Grouping]
    default_by: Grouping | None = None

    def columns_for(self, by: Grouping | None) -> tuple[ReportColumn, ...]:
        """The columns of a result grouped `by`: the group's column first."""
        return self.columns if by is None else (GROUP_COLUMNS[by], *self.columns)

    @property
    def source(self) -> str:
        return _source(self.name)


_TEMPLATE = _column("template_key", "Template", "string")
_STAGE = _column("stage", "Stage", "string")

_RANGE = (
    "An event is in the range when it occurred (UTC) on or after the start of `from` and before the end of `to`. "
    "Every event counts once, however many times the lake holds it."
)
_GROUPS = (
    "Grouped by week or month, a row falls in the period of the event that counts it; by owner or team role, "
    "under the case's owner or expected team role as that event left the case."
)

REPORTS: dict[str, Report] = {
    report.name: report
    for report in (
        Report(
            name="throughput",
            title="Cases opened and closed",
            description=(
                "Per template: `opened`, `closed`, `cancelled` and `reopened` count the case.opened, case.closed, "
                "case.cancelled and case.reopened events in the range. `reopen_rate` is reopened / closed (0 to 1, "
                f"and above 1 only if more were reopened than closed), null when none was closed. {_RANGE} {_GROUPS}"
            ),
            columns=(
                _TEMPLATE,
                _column("opened", "Opened", "integer"),
                _column("closed", "Closed", "integer"),
                _column("cancelled", "Cancelled", "integer"),
                _column("reopened", "Reopened", "integer"),
                _column("reopen_rate", "Reopen rate", "number"),
            ),
            groupings=_ALL_GROUPINGS,
        ),
        Report(
            name="open-stages",
            title="Open cases per stage",
            description=(
                "Per template and stage: `open_cases` counts the cases open at the end of `to` (now, when `to` is "
                "today), each in the stage its latest change before then (an opening, move, assignment, closing, "
                "cancellation, reopening or migration) left it in; `from` does not apply, as a case opened before "
                "it may still be open. `median_hours_in_stage` is the approximate median time those cases have "
                "spent in that stage, up to the newest such change to any case read, so that a lake a few minutes "
                "behind does not add hours it has not seen. Grouped by owner or team role: the case's at that "
                "latest change."
            ),
            columns=(
                _TEMPLATE,
                _STAGE,
                _column("open_cases", "Open cases", "integer"),
                _column("median_hours_in_stage", "Median hours in stage", "number"),
            ),
            groupings=frozenset({"owner", "role"}),
        ),
        Report(
            name="stage-times",
            title="Time in each stage",
            description=(
                "Per template and stage: a visit is a case's stay in a stage, from the moment it entered the stage "
                "to the case.stage_changed, case.closed or case.cancelled event that left it (closing ends the "
                "visit of the stage the case was closed in). `visits` counts the visits that ended in the range, "
                "however long before it they began; `p50_hours` and `p90_hours` are their approximate median and "
                "90th percentile durations in hours. Grouped by week or month: the period the visit ended in; by "
                f"owner or team role: the case's as the event that ended the visit left it. {_RANGE}"
            ),
            columns=(
                _TEMPLATE,
                _STAGE,
                _column("visits", "Visits", "integer"),
                _column("p50_hours", "Median hours", "number"),
                _column("p90_hours", "90th percentile hours", "number"),
            ),
            groupings=_ALL_GROUPINGS,
        ),
        Report(
            name="time-to-close",
            title="Time to close",
            description=(
                "Per template: `closed` counts the case.closed events in the range (cancellations are not "
                "closings); `p50_hours` and `p90_hours` are the approximate median and 90th percentile of the "
                "hours from the case's opening to that closing (a reopened case closed again counts again, from "
                f"its first opening). {_RANGE} {_GROUPS}"
            ),
            columns=(
                _TEMPLATE,
                _column("closed", "Closed", "integer"),
                _column("p50_hours", "Median hours", "number"),
                _column("p90_hours", "90th percentile hours", "number"),
            ),
            groupings=_ALL_GROUPINGS,
        ),
        Report(
            name="sla",
            title="SLA warnings and breaches",
            description=(
                "Per period (week by default, or month), template and stage: `visits_entered` counts the stage "
                "visits that began in the period (case.opened, case.stage_changed and case.reopened events, "
                "under the stage they left the case in); `warnings` and `breaches` count the sla.warning and "
                "sla.breached events in the period under the stage whose SLA they concern (`sla_stage`), whether "
                "the SLA is the stage's own or one of its tasks'. `warning_rate` and `breach_rate` divide those "
                "counts by `visits_entered` of the same period, template and stage (null when no visit began "
                "then); a stage whose tasks each have an SLA can have more than one warning per visit, so a rate "
                f"can exceed 1. {_RANGE}"
            ),
            columns=(
                _TEMPLATE,
                _STAGE,
                _column("visits_entered", "Visits entered", "integer"),
                _column("warnings", "Warnings", "integer"),
                _column("breaches", "Breaches", "integer"),
                _column("warning_rate", "Warning rate", "number"),
                _column("breach_rate", "Breach rate", "number"),
            ),
            groupings=_PERIODS,
            default_by="week",
        ),
        Report(
            name="automations",
            title="Automation runs and failures",
            description=(
                "Per template: `runs` counts the automation.ran events in the range, `refused` the "
                "automation.refused ones (a rule that did not run, e.g. to stop a loop); `failures` counts the "
                "runs that failed (an error or a failed action) plus the refusals, and `failure_rate` is failures "
                f"/ (runs + refused), null when there were neither. {_RANGE} {_GROUPS}"
            ),
            columns=(
                _TEMPLATE,
                _column("runs", "Runs", "integer"),
                _column("refused", "Refused", "integer"),
                _column("failures", "Failures", "integer"),
                _column("failure_rate", "Failure rate", "number"),
            ),
            groupings=_ALL_GROUPINGS,
        ),
        Report(
            name="portal",
            title="Portal activity",
            description=(
                "Per template: `links_issued` counts the portal.link_issued events in the range; `links_used` "
                "those of them whose participant acted in the portal (any event with that participant as the "
                "external actor) after the link was issued and before the end of `to`; `client_documents` and "
                "`client_comments` count the document.added and comment.added events in the range whose actor is "
                f"an external participant. {_RANGE} {_GROUPS}"
            ),
            columns=(
                _TEMPLATE,
                _column("links_issued", "Links issued", "integer"),
                _column("links_used", "Links used", "integer"),
                _column("client_documents", "Documents from clients", "integer"),
                _column("client_comments", "Comments from clients", "integer"),
            ),
            groupings=_ALL_GROUPINGS,
        ),
    )
}


class ReportQuery(BaseModel):
    """One report over a range of days, for one template or all the caller may read (`templates`; None: every
    template, for admins and viewers)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    report: str
    from_: date = Field(alias="from")
    to: date
    by: Grouping | None = None
    template: str | None = Field(default=None, min_length=1, max_length=64)
    templates: frozenset[str] | None = None

    @model_validator(mode="before")
    @classmethod
    def _default_grouping(cls, data: Any) -> Any:
        """A report that is always per period (sla) is per week unless asked otherwise."""
        report = data.get("report") if isinstance(data, dict) else None
        if isinstance(report, str) and report in REPORTS and data.get("by") is None:
            return {**data, "by": REPORTS[report].default_by}
        return data

    @model_validator(mode="after")
    def _check(self) -> Self:
        report = REPORTS.get(self.report)
        if report is None:
            raise ValueError(f"There is no report {self.report!r}; the reports are {', '.join(REPORTS)}.")
        if self.from_ > self.to:
            raise ValueError(f"The range starts ({self.from_}) after it ends ({self.to}).")
        if (self.to - self.from_).days >= MAX_RANGE_DAYS:
            raise ValueError(f"The range spans more than five years ({MAX_RANGE_DAYS} days); ask for a shorter one.")
        if self.by is not None and self.by not in report.groupings:
            allowed = ", ".join(sorted(report.groupings))
            raise ValueError(f"The {report.name} report cannot be grouped by {self.by}; it can by {allowed}.")
        return self

    @property
    def definition(self) -> Report:
        return REPORTS[self.report]


@cache
def _source(name: str) -> str:
    return (QUERIES / f"{name}.sql").read_text()


@cache
def _parsed(name: str) -> exp.Expr:
    return sqlglot.parse_one(_source(name), read="duckdb")


def _timestamp(moment: datetime) -> exp.Expr:
    return exp.cast(exp.Literal.string(moment.isoformat(sep=" ")), exp.DataType.Type.TIMESTAMP)


def _template_filter(query: ReportQuery) -> exp.Expr:
    column = exp.column("template_key")
    conditions: list[exp.Expr] = []
    if query.template is not None:
        conditions.append(column.eq(exp.Literal.string(query.template)))
    if query.templates is not None:
        if query.templates:
            conditions.append(column.isin(*(exp.Literal.string(key) for key in sorted(query.templates))))
        else:
            conditions.append(exp.false())
    return exp.and_(*conditions) if conditions else exp.true()


def _parameters(query: ReportQuery) -> dict[str, exp.Expr]:
    start = datetime.combine(query.from_, time())
    end = datetime.combine(query.to + timedelta(days=1), time())
    return {
        "first_dt": exp.Literal.string((query.from_ - timedelta(days=1)).isoformat()),
        "last_dt": exp.Literal.string((query.to + timedelta(days=1)).isoformat()),
        "start_at": _timestamp(start),
        "end_at": _timestamp(end),
        "template_filter": _template_filter(query),
        "group_value": sqlglot.parse_one(_GROUP_EXPRESSIONS[query.by], read="duckdb"),
    }


def _name_group_column(tree: exp.Expr, by: Grouping | None) -> None:
    """Renames the outermost select's `group_value` after the grouping, or drops it when there is none."""
    outer = tree if isinstance(tree, exp.Select) else tree.find(exp.Select)
    assert outer is not None
    projection = next(item for item in outer.expressions if item.alias_or_name == "group_value")
    if by is None:
        projection.pop()
    else:
        projection.set("alias", exp.to_identifier(GROUP_COLUMNS[by].key))


def render_sql(query: ReportQuery, dialect: Dialect, table_sql: str) -> str:
    """The report's SQL for `dialect`, its parameters in place and `table_sql` (the engine's source of the lake's
    rows, in that dialect) in place of `lake_events`."""
    tree = _parsed(query.report).copy()
    parameters = _parameters(query)
    for placeholder in list(tree.find_all(exp.Placeholder)):
        placeholder.replace(parameters[placeholder.name].copy())
    source = sqlglot.parse_one(table_sql, read=dialect, into=exp.Table)
    for table in list(tree.find_all(exp.Table)):
        if table.name == LAKE_TABLE and not table.db:
            replacement = source.copy()
            if table.alias:
                replacement.set("alias", table.args["alias"].copy())
            table.replace(replacement)
    _name_group_column(tree, query.by)
    return tree.sql(dialect=dialect, pretty=True)
