"""The insight engine in AWS: Amazon Athena (engine version 3, Trino) over the lake's Glue table, in the tenant's
workgroup, which holds the results' location, their encryption and the bytes-scanned limit."""

import time
from collections.abc import Callable, Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from caseline_common.errors import UnavailableError
from sqlglot import exp

from ..domain.reports import ReportQuery, render_sql
from ..ports import ReportResult

LAKE_GLUE_TABLE = "events"
# The API's gateway gives up after 29 s; a query still running then is stopped, not left to bill.
QUERY_TIMEOUT_SECONDS = 25.0
_FIRST_POLL_SECONDS, _MAX_POLL_SECONDS = 0.2, 2.0

# Athena gives every value as text; each column's type says what it was.
_READERS: dict[str, Callable[[str], object]] = {
    "boolean": lambda text: text == "true",
    "tinyint": int,
    "smallint": int,
    "integer": int,
    "bigint": int,
    "double": float,
    "float": float,
    "real": float,
    "decimal": Decimal,
    "date": date.fromisoformat,
    "timestamp": datetime.fromisoformat,
}


class InsightQueryError(UnavailableError):
    """Athena did not answer the query: it failed (e.g. the workgroup's bytes-scanned limit), was cancelled, or
    ran past the API's time."""


class AthenaEngine:
    def __init__(
        self,
        athena: Any,
        workgroup: str,
        database: str,
        *,
        timeout_seconds: float = QUERY_TIMEOUT_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._athena = athena
        self._workgroup = workgroup
        self._database = database
        self._timeout = timeout_seconds
        self._sleep = sleep
        self._clock = clock

    def run(self, query: ReportQuery) -> ReportResult:
        table = exp.table_(LAKE_GLUE_TABLE, db=self._database, quoted=True).sql("trino")
        started = self._athena.start_query_execution(
            QueryString=render_sql(query, "trino", table),
            QueryExecutionContext={"Database": self._database},
            WorkGroup=self._workgroup,
        )
        execution_id = started["QueryExecutionId"]
        execution = self._finished(execution_id)
        rows = list(self._rows(execution_id))
        scanned = execution.get("Statistics", {}).get("DataScannedInBytes")
        return ReportResult(rows=rows, bytes_scanned=scanned, engine="athena")

    def _finished(self, execution_id: str) -> dict[str, Any]:
        deadline = self._clock() + self._timeout
        pause = _FIRST_POLL_SECONDS
        while True:
            execution = self._athena.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]
            status = execution["Status"]
            state = status["State"]
            if state == "SUCCEEDED":
                return dict(execution)
            if state in ("FAILED", "CANCELLED"):
                reason = status.get("StateChangeReason") or "no reason given"
                raise InsightQueryError(f"Athena query {execution_id} {state.lower()}: {reason}")
            if self._clock() >= deadline:
                self._athena.stop_query_execution(QueryExecutionId=execution_id)
                raise InsightQueryError(
                    f"Athena query {execution_id} took more than {self._timeout:.0f} s and was stopped; "
                    "ask for a shorter range or one template."
                )
            self._sleep(pause)
            pause = min(pause * 2, _MAX_POLL_SECONDS)

    def _rows(self, execution_id: str) -> Iterator[dict[str, object]]:
        pages = self._athena.get_paginator("get_query_results").paginate(QueryExecutionId=execution_id)
        header_skipped = False
        for page in pages:
            columns = page["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]
            names = [column["Name"] for column in columns]
            readers = [_READERS.get(column["Type"].lower(), str) for column in columns]
            for row in page["ResultSet"]["Rows"]:
                values = [datum.get("VarCharValue") for datum in row["Data"]]
                if not header_skipped:  # the first row of the first page holds the column names
                    header_skipped = True
                    continue
                yield {
                    name: None if value is None else read(value)
                    for name, read, value in zip(names, readers, values, strict=True)
                }
