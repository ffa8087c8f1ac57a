"""The lake's compaction on moto, through the insight service's own adapter and use case: a day's batch objects
become one object with each event once and the batches are gone; a second run changes nothing; a batch written
later for a compacted day is merged by the next run; the scheduled handler compacts the recent days; the local
DuckDB engine, over the copy download_new keeps, gives the same reports before and after, and drops the rows of an
object that disappears; `caseline insight compact` does the same, for every day with --all."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pytest
from caseline_common.aws import AwsClients
from caseline_common.lake import LAKE_COLUMNS
from caseline_common.resources import INSIGHT_TABLE, LAKE_BUCKET, TenantResourceNames
from chalice.local import LambdaContext
from moto import mock_aws
from typer.testing import CliRunner

from caseline.cli import app
from caseline.local.loader import LoadedService, load_service
from caseline.local.provision import LOCAL_ACCOUNT_ID, _create_table

from .support import insight_environment

if TYPE_CHECKING:
    from services.insight.chalicelib.adapters.duckdb_engine import DuckDbEngine
    from services.insight.chalicelib.adapters.parquet_lake import ParquetLake
    from services.insight.chalicelib.compaction_service import LakeCompactor

TENANT = "compacting"
NAMES = TenantResourceNames(tenant_id=TENANT)
BUCKET = NAMES.bucket(LAKE_BUCKET, LOCAL_ACCOUNT_ID)
REGION = "us-east-1"
DAY_ONE, DAY_TWO = date(2026, 11, 2), date(2026, 11, 3)
NOW = datetime(2026, 11, 3, 18, 0, tzinfo=UTC)  # the second day is the current one: compacted too


@dataclass
class Lake:
    aws: AwsClients
    insight: LoadedService
    directory: Path

    @property
    def parquet(self) -> "ParquetLake":
        parquet: ParquetLake = self.insight.module("chalicelib.runtime").lake()
        return parquet

    def compactor(self, now: datetime = NOW) -> "LakeCompactor":
        compactor: LakeCompactor = self.insight.module("chalicelib.compaction_service").LakeCompactor(
            self.parquet, clock=lambda: now
        )
        return compactor

    def engine(self) -> "DuckDbEngine":
        engine: DuckDbEngine = self.insight.module("chalicelib.adapters.duckdb_engine").DuckDbEngine(
            self.directory, refresh=lambda: self.parquet.download_new(self.directory)
        )
        return engine

    def keys(self, day: date) -> list[str]:
        return self.parquet.day_keys(day)

    def stored_rows(self, day: date) -> list[tuple[str, str]]:
        """(event_id, type) of every row of the day's objects, duplicates included, in key order then row order."""
        found: list[tuple[str, str]] = []
        for key in self.keys(day):
            path = self.directory.parent / "inspect.parquet"
            path.write_bytes(self.aws.s3().get_object(Bucket=BUCKET, Key=key)["Body"].read())
            with duckdb.connect() as connection:
                found += [(str(a), str(b)) for a, b in connection.execute(
                    "SELECT event_id, type FROM read_parquet(?)", [str(path)]
                ).fetchall()]  # fmt: skip
        return found

    def report(self, engine: "DuckDbEngine", name: str) -> list[dict[str, Any]]:
        query = self.insight.module("chalicelib.domain.reports").ReportQuery.model_validate(
            {"report": name, "from": DAY_ONE - timedelta(days=1), "to": DAY_TWO + timedelta(days=1)}
        )
        return [dict(row) for row in engine.run(query).rows]


@pytest.fixture
def lake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Lake]:
    environment = insight_environment(NAMES, REGION, BUCKET, str(tmp_path / "engine"))
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("CASELINE_AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        aws = AwsClients(REGION)
        _create_table(aws, NAMES, INSIGHT_TABLE)
        aws.s3().create_bucket(Bucket=BUCKET)
        yield Lake(aws, load_service("insight"), tmp_path / "copy")


def row(case: str, type_: str, at: datetime, opened_at: datetime | None = None) -> dict[str, Any]:
    """A lake row of `case`'s event at `at`, the case opened at `opened_at` (by this event if not given)."""
    values: dict[str, Any] = {column.name: None for column in LAKE_COLUMNS}
    closed = type_ == "case.closed"
    values.update(
        event_id=f"{case}-{type_}",
        type=type_,
        occurred_at=at,
        case_id=case,
        actor_kind="user",
        actor_id="staff-1",
        template_key="claims",
        template_version=1,
        case_version=2 if closed else 1,
        stage="done" if closed else "intake",
        status="closed" if closed else "open",
        opened_at=opened_at or at,
        stage_entered_at=at,
        closed_at=at if closed else None,
    )
    return values


def at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour)


def batches() -> list[list[dict[str, Any]]]:
    """Five batches over two days, the third delivered twice (an SQS redelivery): cases 1-3 opened on day one at
    08:00, 1 and 2 closed on day two at 16:00, which also opens case 4."""
    first = [row("case-1", "case.opened", at(DAY_ONE, 8)), row("case-2", "case.opened", at(DAY_ONE, 8))]
    second = [row("case-3", "case.opened", at(DAY_ONE, 8))]
    third = [row("case-1", "case.closed", at(DAY_TWO, 16), at(DAY_ONE, 8))]
    fourth = [
        row("case-2", "case.closed", at(DAY_TWO, 16), at(DAY_ONE, 8)),
        row("case-4", "case.opened", at(DAY_TWO, 8)),
    ]
    return [first, second, third, third, fourth]


EVERY_EVENT = {
    DAY_ONE: {("case-1-case.opened", "case.opened"), ("case-2-case.opened", "case.opened"),
              ("case-3-case.opened", "case.opened")},
    DAY_TWO: {("case-1-case.closed", "case.closed"), ("case-2-case.closed", "case.closed"),
              ("case-4-case.opened", "case.opened")},
}  # fmt: skip


def test_each_day_becomes_one_object_with_every_event_once_and_a_second_run_changes_nothing(lake: Lake) -> None:
    for batch in batches():
        lake.parquet.write(batch)
    before = {day: lake.keys(day) for day in (DAY_ONE, DAY_TWO)}
    assert [len(keys) for keys in before.values()] == [2, 3]

    compacted = lake.compactor().compact_recent()

    assert [(done.day, done.merged) for done in compacted] == [(DAY_ONE, 2), (DAY_TWO, 3)]
    for day in (DAY_ONE, DAY_TWO):
        (key,) = lake.keys(day)
        assert key.startswith(f"events/dt={day.isoformat()}/compacted-")
        assert not set(before[day]) & {key}
        stored = lake.stored_rows(day)
        assert sorted(stored) == sorted(EVERY_EVENT[day])  # every event, once
    assert lake.compactor().compact_recent() == []
    assert [lake.keys(day) for day in (DAY_ONE, DAY_TWO)] == [[done.key] for done in compacted]


def test_the_merged_object_keeps_the_lakes_types_and_order(lake: Lake) -> None:
    for batch in reversed(batches()):
        lake.parquet.write(batch)
    (done,) = lake.compactor().compact([DAY_TWO])
    path = lake.directory.parent / "merged.parquet"
    path.write_bytes(lake.aws.s3().get_object(Bucket=BUCKET, Key=done.key)["Body"].read())
    with duckdb.connect() as connection:
        relation = connection.read_parquet(str(path))
        assert dict(zip(relation.columns, (str(kind) for kind in relation.types), strict=True)) == {
            column.name: column.duckdb_type for column in LAKE_COLUMNS
        }
        assert (
            relation.order("case_id").select("case_id, occurred_at").fetchall()
            == relation.select("case_id, occurred_at").fetchall()
        )  # written sorted by template, case and time


def test_merging_the_same_objects_again_writes_the_same_name(lake: Lake) -> None:
    for batch in batches():
        lake.parquet.write(batch)
    keys = lake.keys(DAY_ONE)
    first = lake.parquet.merge(DAY_ONE, keys)
    # As a run that stopped before its deletes would be followed by one merging the same objects.
    assert lake.parquet.merge(DAY_ONE, list(reversed(keys))) == first
    assert sorted(lake.keys(DAY_ONE)) == sorted([*keys, first])
    lake.compactor().compact([DAY_ONE])
    assert sorted(lake.stored_rows(DAY_ONE)) == sorted(EVERY_EVENT[DAY_ONE])


def test_a_late_batch_for_a_compacted_day_is_merged_by_the_next_run(lake: Lake) -> None:
    for batch in batches():
        lake.parquet.write(batch)
    lake.compactor().compact_recent()
    late = row("case-3", "case.closed", at(DAY_ONE, 23), at(DAY_ONE, 8))
    lake.parquet.write([late, row("case-1", "case.opened", at(DAY_ONE, 8))])  # one new event, one already there
    assert len(lake.keys(DAY_ONE)) == 2

    (done,) = lake.compactor(NOW + timedelta(hours=1)).compact_recent()

    assert (done.day, done.merged) == (DAY_ONE, 2)
    assert sorted(lake.stored_rows(DAY_ONE)) == sorted(EVERY_EVENT[DAY_ONE] | {("case-3-case.closed", "case.closed")})


def test_days_out_of_the_scheduled_window_are_left_to_compact_all(lake: Lake) -> None:
    for batch in batches():
        lake.parquet.write(batch)
    much_later = NOW + timedelta(days=14)  # day two is the oldest of the 15 days a run looks at; day one is out
    assert [done.day for done in lake.compactor(much_later).compact_recent()] == [DAY_TWO]
    assert len(lake.keys(DAY_ONE)) == 2
    assert lake.parquet.days() == [DAY_ONE, DAY_TWO]
    assert [done.day for done in lake.compactor(much_later).compact_all()] == [DAY_ONE]
    assert [len(lake.keys(day)) for day in (DAY_ONE, DAY_TWO)] == [1, 1]


def test_deleting_more_keys_than_one_call_takes(lake: Lake) -> None:
    keys = [f"events/dt={DAY_ONE.isoformat()}/{index:05d}.parquet" for index in range(1005)]
    for key in keys:
        lake.aws.s3().put_object(Bucket=BUCKET, Key=key, Body=b"")
    lake.parquet.delete(keys)
    assert lake.keys(DAY_ONE) == []


def test_the_scheduled_handler_compacts_today_and_yesterday(lake: Lake) -> None:
    today = datetime.now(UTC).date()  # the handler's clock is the real one
    yesterday = today - timedelta(days=1)
    for day in (yesterday, today):
        lake.parquet.write([row("case-9", "case.opened", at(day, 8))])
        lake.parquet.write([row("case-9", "case.opened", at(day, 8)), row("case-8", "case.opened", at(day, 9))])
    handler = lake.insight.function("compact_lake")
    scheduled = {"source": "aws.scheduler", "detail-type": "Scheduled Event", "detail": {}}
    context = LambdaContext(function_name="compact_lake", memory_size=384, max_runtime_ms=300_000)
    assert handler(scheduled, context) == {"days": 2, "merged": 4}
    assert [len(lake.keys(day)) for day in (yesterday, today)] == [1, 1]
    assert handler(scheduled, context) == {"days": 0, "merged": 0}


def local_copy(directory: Path) -> tuple[int, int, int]:
    """(files, rows, distinct events) of the local copy download_new keeps."""
    files = sorted(str(path) for path in directory.glob("events/dt=*/*.parquet"))
    with duckdb.connect() as connection:
        counted = connection.execute(
            "SELECT count(*), count(DISTINCT event_id) FROM read_parquet(?)", [files]
        ).fetchone()
    assert counted is not None
    return len(files), counted[0], counted[1]


def test_the_local_engine_reports_the_same_before_and_after_compaction(lake: Lake) -> None:
    for batch in batches():
        lake.parquet.write(batch)
    engine = lake.engine()
    throughput, closing = lake.report(engine, "throughput"), lake.report(engine, "time-to-close")
    # Written here by hand: 4 cases opened, 2 closed, each 32 hours after it opened (08:00 to 16:00 a day later).
    assert [(row["opened"], row["closed"]) for row in throughput] == [(4, 2)]
    assert [(row["closed"], row["p50_hours"]) for row in closing] == [(2, 32.0)]
    assert local_copy(lake.directory) == (5, 7, 6)  # the redelivered batch's event twice

    lake.compactor().compact_recent()

    assert lake.report(engine, "throughput") == throughput
    assert lake.report(engine, "time-to-close") == closing
    assert local_copy(lake.directory) == (2, 6, 6)  # the batches' files gone with their objects


def test_the_local_engine_drops_the_rows_of_an_object_that_disappears(lake: Lake) -> None:
    first, second = (
        lake.parquet.write([row("case-1", "case.opened", at(DAY_ONE, 8))]),
        lake.parquet.write([row("case-2", "case.opened", at(DAY_ONE, 9))]),
    )
    engine = lake.engine()
    assert [row["opened"] for row in lake.report(engine, "throughput")] == [2]
    lake.parquet.delete(second)
    assert [row["opened"] for row in lake.report(engine, "throughput")] == [1]
    assert [path.relative_to(lake.directory).as_posix() for path in lake.directory.glob("events/*/*")] == first


def test_the_cli_compacts_the_recent_days_or_every_day(lake: Lake) -> None:
    for batch in batches():
        lake.parquet.write(batch)  # days long past: out of the 15 days a scheduled run looks at
    arguments = ["insight", "compact", "--tenant", TENANT, "--region", REGION]

    recent = CliRunner().invoke(app, arguments)
    assert recent.exit_code == 0, recent.output
    assert f"Merged 0 objects of tenant {TENANT}'s lake into 0 (a day each)." in recent.output

    every_day = CliRunner().invoke(app, [*arguments, "--all"])
    assert every_day.exit_code == 0, every_day.output
    assert f"Merged 5 objects of tenant {TENANT}'s lake into 2 (a day each)." in every_day.output
    assert [len(lake.keys(day)) for day in (DAY_ONE, DAY_TWO)] == [1, 1]
