"""The event lake in S3: Parquet objects under events/dt=YYYY-MM-DD/ (caseline_common.lake), written with DuckDB.

A write puts one object per day its rows fall on, each a new ULID-named object (objects are never changed, so a
reader that has a key has all of it); the bucket's default encryption applies. A backfill's objects are named by the
event ids they hold instead, so running it again writes the same names over themselves rather than adding copies.
Rows in an object are sorted by template, case and time, which keeps a case's events together for the queries.
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
    from types_boto3_s3.client import S3Client

_COLUMN_TYPES = {column.name: column.duckdb_type for column in LAKE_COLUMNS}
_ORDER = "template_key, case_id, occurred_at, event_id"


def _json_value(value: Any) -> Any:
    return value.isoformat(sep=" ") if isinstance(value, datetime) else value


def day_key(day: date, name: str) -> str:
    return f"{LAKE_PREFIX}{PARTITION_COLUMN}={day.isoformat()}/{name}.parquet"


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

    def download_new(self, directory: str | Path) -> int:
        """Copies the objects not yet in `directory` there, under their keys; returns how many. Each is written to
        a temporary name and renamed, so a file present is complete."""
        root = Path(directory)
        copied = 0
        for key in self.keys():
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
        rows_in = connection.read_json(str(source), format="newline_delimited", columns=_COLUMN_TYPES)
        rows_in.order(_ORDER).write_parquet(str(target), compression="zstd")
    source.unlink()
    return target
