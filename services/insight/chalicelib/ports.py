"""The ports of the insight service: where the lake's rows go, each case's latest state for the events that carry
none, who may read which template's figures, and the engine that runs a report's SQL over the lake."""

from collections.abc import Iterable, Mapping
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict

from .domain.lake import CaseState
from .domain.reports import ReportQuery


class Lake(Protocol):
    def write(self, rows: list[dict[str, Any]], *, backfill: bool = False) -> list[str]:
        """Writes the rows, one object per day (dt) among them; returns the keys written. A backfill's objects are
        named by the events they hold (the same rows, the same names), others each by a new ULID."""
        ...


class CaseStates(Protocol):
    def keep(self, states: Mapping[str, CaseState]) -> None:
        """Keeps each case's state (case id -> state) unless a newer case version is kept already: batches may
        arrive late or twice."""
        ...

    def get(self, case_ids: Iterable[str]) -> dict[str, CaseState]:
        """The kept state of each of these cases that has one."""
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
