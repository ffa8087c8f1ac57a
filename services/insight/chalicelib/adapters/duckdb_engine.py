"""The embedded insight engine: DuckDB over a directory holding the lake's Parquet files in the lake's layout
(events/dt=YYYY-MM-DD/<ULID>.parquet), copied into memory as they arrive, for `make dev` and the tests. It also
estimates what the same query would cost on Athena, from the Parquet files' own metadata (the benchmark prints it)."""

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import sqlglot
from caseline_common.lake import LAKE_COLUMNS, LAKE_PREFIX, LAKE_TABLE, PARTITION_COLUMN
from pydantic import BaseModel, ConfigDict
from sqlglot import exp

from ..domain.reports import ReportQuery, render_sql
from ..ports import ReportResult

# Athena's price: $5 per TB scanned (10^12 bytes), at least 10 MB per query.
ATHENA_USD_PER_TB = 5.0
ATHENA_MIN_BILLED_BYTES = 10 * 1024 * 1024
_LAKE_COLUMN_NAMES = frozenset(column.name for column in LAKE_COLUMNS)


class ScanEstimate(BaseModel):
    model_config = ConfigDict(frozen=True)

    bytes_scanned: int
    files: int

    @property
    def price_usd(self) -> float:
        return max(self.bytes_scanned, ATHENA_MIN_BILLED_BYTES) / 1e12 * ATHENA_USD_PER_TB


class DuckDbEngine:
    """Copies the rows of each Parquet file into an in-memory DuckDB table once, the first time a query finds it
    (files are immutable: a file present is complete), and runs the reports on that table. The lake holds a file per
    day and delivery batch, thousands a year, whose footers and small row groups DuckDB would otherwise read again
    at every query: over 17,520 files (a day in 24) each report took ten seconds, against a fraction of one here.
    A file that disappears (its object merged by a compaction, removed by `refresh`) takes its rows with it."""

    def __init__(self, directory: Path | str, refresh: Callable[[], object] | None = None) -> None:
        self._directory = Path(directory)
        self._refresh = refresh
        self._glob = str(self._directory / LAKE_PREFIX / "*" / "*.parquet")
        self._database = duckdb.connect()
        # DuckDB draws a progress bar on stdout for a query over 2 s: noise in a function's logs.
        self._database.execute("SET enable_progress_bar = false")
        columns = ", ".join(f"{column.name} {column.duckdb_type}" for column in LAKE_COLUMNS)
        # Each row with the file it came from; the reports see the lake's columns only.
        self._database.execute(f"CREATE TABLE loaded_rows ({columns}, {PARTITION_COLUMN} VARCHAR, source_file VARCHAR)")
        view = exp.select(*(column.name for column in LAKE_COLUMNS), PARTITION_COLUMN).from_("loaded_rows")
        self._database.execute(f"CREATE VIEW {LAKE_TABLE} AS {view.sql('duckdb')}")
        self._loaded: set[Path] = set()
        self._loading = threading.Lock()

    def run(self, query: ReportQuery) -> ReportResult:
        # One thread at a time refreshes and loads: a refresh may remove files another thread is about to read.
        with self._loading:
            if self._refresh is not None:
                self._refresh()
            self._sync_files()
        # A cursor of its own per query: the local stack serves requests on several threads.
        with self._database.cursor() as cursor:
            cursor.execute(render_sql(query, "duckdb", LAKE_TABLE))
            names = [column[0] for column in cursor.description or ()]
            rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        return ReportResult(rows=rows, bytes_scanned=None, engine="duckdb")

    def _sync_files(self) -> None:
        """Loads the files new since the last query and drops the rows of those gone, in one transaction, so a
        query on another thread sees the lake before or after, never a day missing or twice."""
        present = set(self._files())
        new, gone = sorted(present - self._loaded), sorted(self._loaded - present)
        if not new and not gone:
            return
        with self._database.cursor() as cursor:
            cursor.begin()
            if new:
                cursor.execute(
                    # dt read as text, as the Glue table declares it, so the same comparisons hold on both engines.
                    "INSERT INTO loaded_rows BY NAME SELECT * EXCLUDE (filename), filename AS source_file "
                    "FROM read_parquet(?, hive_partitioning = true, union_by_name = true, "
                    "hive_types = {'dt': 'VARCHAR'}, filename = true)",
                    [[str(file) for file in new]],
                )
            if gone:
                cursor.execute(
                    "DELETE FROM loaded_rows WHERE list_contains(?, source_file)", [[str(file) for file in gone]]
                )
            cursor.commit()
        self._loaded = present

    def athena_scan(self, query: ReportQuery) -> ScanEstimate:
        """What Athena would read for `query` over these files: for each time the SQL reads the lake, the compressed
        column chunks of the columns it names, in the files of the `dt` partitions its conditions on `dt` keep."""
        if not self._has_files():
            return ScanEstimate(bytes_scanned=0, files=0)
        tree = sqlglot.parse_one(render_sql(query, "duckdb", LAKE_TABLE), read="duckdb")
        total, files = 0, 0
        with duckdb.connect() as connection:
            for table in tree.find_all(exp.Table):
                if table.name != LAKE_TABLE:
                    continue
                scanned, read = connection.execute(self._chunks_read(table)).fetchone() or (0, 0)
                total, files = total + int(scanned or 0), files + int(read or 0)
        return ScanEstimate(bytes_scanned=total, files=files)

    def _chunks_read(self, table: exp.Table) -> str:
        block = table.find_ancestor(exp.Select)
        assert block is not None, "the lake is read in a SELECT"
        columns = sorted({column.name for column in block.find_all(exp.Column)} & _LAKE_COLUMN_NAMES)
        where = block.args.get("where")
        conditions = list(where.this.flatten()) if where is not None else []
        on_partitions = [
            condition.copy()
            for condition in conditions
            if {column.name for column in condition.find_all(exp.Column)} == {PARTITION_COLUMN}
        ]
        chunks = exp.select(
            "*", f"split_part(split_part(file_name, '/{PARTITION_COLUMN}=', 2), '/', 1) AS {PARTITION_COLUMN}"
        ).from_(exp.func("parquet_metadata", exp.Literal.string(self._glob)))
        return (
            exp.select("sum(total_compressed_size)", "count(DISTINCT file_name)")
            .from_(chunks.subquery())
            .where(exp.column("path_in_schema").isin(*(exp.Literal.string(name) for name in columns)), *on_partitions)
            .sql("duckdb")
        )

    def _has_files(self) -> bool:
        return any(self._files())

    def _files(self) -> Iterator[Path]:
        return (self._directory / LAKE_PREFIX).glob("*/*.parquet")
