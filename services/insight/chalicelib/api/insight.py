"""HTTP routes of insight: the reports there are, and each report as JSON or CSV."""

from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from caseline_common.contracts import TemplateKey
from caseline_common.http import Call, Reply
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..domain.reports import MAX_RANGE_DAYS, Grouping
from ..report_service import ReportCatalog, ReportRange, ReportTable, report_csv
from ..runtime import report_service
from . import http

CSV = "text/csv"
DEFAULT_RANGE_DAYS = 90
ReportName = Annotated[str, Field(pattern=r"^[a-z][a-z-]{1,40}$", description="A report's name, e.g. throughput.")]


def _today() -> date:
    return datetime.now(UTC).date()


class ReportParameters(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)

    from_: date | None = Field(
        default=None, alias="from", description=f"First day (UTC), inclusive; by default {DEFAULT_RANGE_DAYS} days ago."
    )
    to: date | None = Field(default=None, description="Last day (UTC), inclusive; by default today.")
    by: Grouping | None = Field(
        default=None, description="Rows per week, month, owner or team role (the case's assigned role)."
    )
    template: TemplateKey | None = Field(default=None, description="Only this template's cases; all by default.")

    def _bounds(self) -> tuple[date, date]:
        to = self.to or _today()
        return self.from_ or to - timedelta(days=DEFAULT_RANGE_DAYS - 1), to

    @model_validator(mode="after")
    def _range(self) -> "ReportParameters":
        start, to = self._bounds()
        if start > to:
            raise ValueError("`from` must not be after `to`")
        if (to - start).days >= MAX_RANGE_DAYS:
            raise ValueError(f"a range spans at most {MAX_RANGE_DAYS} days; ask for a shorter one")
        return self

    def asked(self) -> ReportRange:
        start, to = self._bounds()
        return ReportRange(from_=start, to=to, by=self.by, template=self.template)


@http.operation(
    "GET",
    "/insight",
    summary="The reports insight answers, and whose figures you may read",
    response=ReportCatalog,
    errors=(403,),
)
def list_reports(call: Call) -> Reply:
    """The reports there are: for each, what its numbers mean, its columns and the groupings it takes; and the
    templates whose figures the caller may read (`null`: all of them).

    **Who:** `caseline-admins` and `caseline-viewers` (every template), and `caseline-staff` (the templates where a
    role is granted to one of their groups). Changes nothing.

    **Errors:** 403 for external callers and callers without a Caseline group.
    """
    return Reply(report_service().catalog(call.tenant()))


@http.operation(
    "GET",
    "/insight/{report}",
    summary="One report's table over a date range, per week, month, owner or team role",
    query=ReportParameters,
    response=ReportTable,
    path_types={"report": ReportName},
    errors=(403, 404, 422),
)
def get_report(call: Call) -> Reply:
    """One report (see `GET /insight` for the list and what each number means) over the days `from`..`to`
    (inclusive, UTC; the last 90 days by default), for one `template` or all the caller may read, one row per
    group of `by`. The figures come from the event lake, so a change reaches them within the lake's delivery
    interval (`delivery_seconds` of `GET /insight`); a result is then cached for as long, per report, range,
    grouping and readable templates (`cached`, `computed_at`).

    **Who:** as `GET /insight`: staff see only the templates where a role is granted to one of their groups. Changes
    nothing.

    **Errors:** 404 for an unknown report, or a template the caller may not read; 403 for callers without a Caseline
    group, or staff holding no role on any template; 422 for a bad range (`from` after `to`, more than five years),
    or a grouping the report does not take.
    """
    query = call.query_as(ReportParameters)
    return Reply(report_service().report(call.tenant(), call.path["report"], query.asked()))


@http.operation(
    "GET",
    "/insight/{report}/csv",
    summary="One report's table as CSV",
    query=ReportParameters,
    path_types={"report": ReportName},
    errors=(403, 404, 422),
    response_media_type=CSV,
)
def get_report_csv(call: Call) -> Reply:
    """The table of `GET /insight/{report}` with the same parameters, as `text/csv` (UTF-8, RFC 4180): a header
    line of the column labels, then one line per row; an empty cell for no value; durations in hours and rates
    from 0 to 1, as in JSON.

    **Who:** as `GET /insight/{report}`. Changes nothing.

    **Errors:** as `GET /insight/{report}`.
    """
    query = call.query_as(ReportParameters)
    table: ReportTable = report_service().report(call.tenant(), call.path["report"], query.asked())
    filename = f"{table.report}-{table.from_.isoformat()}-{table.to.isoformat()}.csv"
    return Reply(
        report_csv(table),
        media_type=f"{CSV}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
