"""The ports of the insight service."""

from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict

from .domain.reports import ReportQuery

# --- Queries: the engine that runs a report's SQL over the lake -------------------------------------------------


class ReportResult(BaseModel):
    """A report's rows (keyed by its columns, `Report.columns_for(query.by)`), with what the engine read: Athena's
    bytes scanned (what it bills), None for DuckDB, which reads local files for free."""

    model_config = ConfigDict(frozen=True)

    rows: list[dict[str, object]]
    bytes_scanned: int | None
    engine: Literal["duckdb", "athena"]


class InsightEngine(Protocol):
    def run(self, query: ReportQuery) -> ReportResult:
        """The report's rows over the lake as it is now; a lake with no files yet answers no rows."""
        ...
