"""The ports of the insight service: where the lake's rows go, who may read which template's figures, and the
engine that runs a report's SQL over the lake."""

from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict

from .domain.reports import ReportQuery


class Lake(Protocol):
    def write(self, rows: list[dict[str, Any]]) -> list[str]:
        """Writes the rows, one object per day (dt) among them; returns the keys written."""
        ...


class TemplateReaders(Protocol):
    def record(self, template_key: str, version: int, groups: list[str]) -> None:
        """Keeps the groups of a published version unless a newer version is kept already."""
        ...

    def all(self) -> dict[str, frozenset[str]]:
        """Each template's key and the groups of every role of its newest version."""
        ...


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
