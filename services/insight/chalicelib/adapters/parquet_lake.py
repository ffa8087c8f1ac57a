"""The event lake in S3: Parquet objects under events/dt=YYYY-MM-DD/ (caseline_common.lake), written with DuckDB.

A write puts one object per day its rows fall on, each a new ULID-named object (objects are never changed, so a
reader that has a key has all of it); the bucket's default encryption applies. A backfill's objects are named by the
event ids they hold instead, so running it again writes the same names over themselves rather than adding copies.
Rows in an object are sorted by template, case and time, which keeps a case's events together for the queries.

Compaction (compaction_service.py) merges a day's objects into one named by the keys it merged, then deletes them.
"""

import hashlib
import json
import shutil
import tempfile
from collections import defaultdict
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from caseline_common.envelope import new_id
from caseline_common.lake import LAKE_COLUMNS, LAKE_PREFIX, PARTITION_COLUMN

if TYPE_CHECKING:
    from duckdb import DuckDBPyRelation
    from types_boto3_s3.client import S3Client

_COLUMN_TYPES = {column.name: column.duckdb_type for column in LAKE_COLUMNS}
_ORDER = "template_key, case_id, occurred_at, event_id"
_DAY_PREFIX = f"{LAKE_PREFIX}{PARTITION_COLUMN}="
DELETE_BATCH = 1000  # the most keys one DeleteObjects call takes


def _json_value(value: Any) -> Any:
    return value.isoformat(sep=" ") if isinstance(value, datetime) else value


def day_prefix(day: date) -> str:
    return f"{_DAY_PREFIX}{day.isoformat()}/"


def day_key(day: date, name: str) -> str:
    return f"{day_prefix(day)}{name}.parquet"


class LakeDeleteFailed(RuntimeError):
    """S3 refused to delete some of the objects a compaction merged (they stay: their rows are counted once)."""


class ParquetLake:
    def __init__(self, s3: "S3Client", bucket: str) -> None:
        self._s3 = s3
        self._bucket = bucket

    def write(self, rows: list[dict[str, Any]], *, backfill: bool = False) -> list[str]:
        """Writes `rows` (keyed by the lake's column names, `occurred_at` a naive UTC datetime): one object per
        day; returns the keys written, oldest day first."""
        days: dict[date, list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            days[row["occurred_at"].date()].append(row)
        keys = []
        with tempfile.TemporaryDirectory(prefix="lake-") as work:
            for day, day_rows in sorted(days.items()):
                name = _content_name(day_rows) if backfill else new_id()
                key = day_key(day, name)
                parquet = _parquet(day_rows, Path(work))
                with parquet.open("rb") as body:
                    self._s3.put_object(
                        Bucket=self._bucket, Key=key, Body=body, ContentType="application/vnd.apache.parquet"
                    )
                keys.append(key)
        return keys

    def keys(self, prefix: str = LAKE_PREFIX) -> list[str]:
        keys: list[str] = []
        for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=self._bucket, Prefix=prefix):
            keys += [entry["Key"] for entry in page.get("Contents", [])]
        return keys

    def days(self) -> list[date]:
        """The days that hold objects, oldest first (one listing of the day prefixes, not of every object)."""
        found: list[date] = []
        paginator = self._s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self._bucket, Prefix=_DAY_PREFIX, Delimiter="/"):
            for common in page.get("CommonPrefixes", []):
                found.append(date.fromisoformat(common["Prefix"].removeprefix(_DAY_PREFIX).rstrip("/")))
        return sorted(found)

    def day_keys(self, day: date) -> list[str]:
        return self.keys(day_prefix(day))

    def merge(self, day: date, keys: list[str]) -> str:
        """Writes the rows of `keys` (objects of `day`) as one object, each event once, sorted and typed as `write`
        writes them, and returns its key: named by the keys merged, so merging the same objects again writes the
        same object over itself. Deletes nothing."""
        sources = sorted(keys)
        key = day_key(day, "compacted-" + hashlib.sha256("\n".join(sources).encode()).hexdigest()[:32])
        with tempfile.TemporaryDirectory(prefix="lake-") as work:
            files = []
            for index, source in enumerate(sources):  # in the keys' order: which copy of an event is kept
                files.append(Path(work) / f"source-{index:06d}.parquet")
                with files[-1].open("wb") as out:
                    shutil.copyfileobj(self._s3.get_object(Bucket=self._bucket, Key=source)["Body"], out)
            merged = _merged_parquet(files, Path(work))
            with merged.open("rb") as body:
                self._s3.put_object(
                    Bucket=self._bucket, Key=key, Body=body, ContentType="application/vnd.apache.parquet"
                )
        return key

    def delete(self, keys: list[str]) -> None:
        for start in range(0, len(keys), DELETE_BATCH):
            batch = keys[start : start + DELETE_BATCH]
            response = self._s3.delete_objects(
                Bucket=self._bucket, Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True}
            )
            if errors := response.get("Errors"):
                refused = ", ".join(f"{error.get('Key')} ({error.get('Code')})" for error in errors)
                raise LakeDeleteFailed(f"S3 kept {len(errors)} of the lake's merged objects: {refused}")

    def download_new(self, directory: str | Path) -> int:
        """Copies the objects not yet in `directory` there, under their keys, and removes the files whose objects
        are gone (merged by a compaction); returns how many it copied. Each is written to a temporary name and
        renamed, so a file present is complete. The listing comes first: a compaction puts its object before it
        deletes its sources, so what one listing holds has every event."""
        root = Path(directory)
        copied = 0
        listed = self.keys()
        for key in listed:
            target = root / key
            if target.exists():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(f".{target.name}.{new_id()}.part")  # copiers side by side never share one
            body = self._s3.get_object(Bucket=self._bucket, Key=key)["Body"]
            with partial.open("wb") as out:
                shutil.copyfileobj(body, out)
            partial.replace(target)
            copied += 1
        kept = frozenset(listed)
        for present in (root / LAKE_PREFIX).glob("*/*.parquet"):
            if present.relative_to(root).as_posix() not in kept:
                present.unlink(missing_ok=True)  # another copier may have removed it already
        return copied


def _content_name(rows: list[dict[str, Any]]) -> str:
    ids = sorted(str(row["event_id"]) for row in rows)
    return "backfill-" + hashlib.sha256("\n".join(ids).encode()).hexdigest()[:32]


def _parquet(rows: list[dict[str, Any]], work: Path) -> Path:
    """The rows as a Parquet file with the lake's column types, through DuckDB (rows in as newline-delimited JSON)."""
    import duckdb  # at the first write: the API function never writes

    source, target = work / f"{new_id()}.json", work / f"{new_id()}.parquet"
    with source.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps({name: _json_value(value) for name, value in row.items()}, ensure_ascii=False) + "\n")
    with duckdb.connect(config={"home_directory": str(work)}) as connection:
        _write_sorted(connection.read_json(str(source), format="newline_delimited", columns=_COLUMN_TYPES), target)
    source.unlink()
    return target


def _merged_parquet(files: list[Path], work: Path) -> Path:
    """The rows of `files` as one Parquet file with the lake's column types, an event once (its copy in the first
    file holding it); a column a file lacks (written before the column was added) is null in its rows."""
    import duckdb

    target = work / f"{new_id()}.parquet"
    columns = ", ".join(f"{name} {kind}" for name, kind in _COLUMN_TYPES.items())
    with duckdb.connect(config={"home_directory": str(work)}) as connection:
        # No progress bar (drawn for a statement over 2 s, as a large day's merge may be): noise in the function's logs.
        connection.execute("SET enable_progress_bar = false")
        connection.execute(f"CREATE TABLE merged ({columns})")
        connection.execute(
            "INSERT INTO merged BY NAME SELECT * EXCLUDE (filename) FROM read_parquet(?, union_by_name = true, "
            "hive_partitioning = false, filename = true) "
            "QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY filename) = 1",
            [[str(file) for file in files]],
        )
        _write_sorted(connection.table("merged"), target)
    return target


def _write_sorted(rows: "DuckDBPyRelation", target: Path) -> None:
    rows.order(_ORDER).write_parquet(str(target), compression="zstd")
