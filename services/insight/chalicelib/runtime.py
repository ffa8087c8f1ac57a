"""Composition root of the insight service, built once per cold start.

The engine behind the `InsightEngine` port is chosen by the scheme of `insight_engine`: `duckdb://` is the
embedded engine (DuckDB over a copy of the lake's Parquet files in that directory: `make dev` and the tests),
`athena://` an Amazon Athena workgroup (AWS). The adapters and use cases are imported where they are first needed."""

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING

from caseline_common.coldstart import deferred
from caseline_common.envelope import utc_now
from caseline_common.runtime import ServiceRuntime
from caseline_common.settings import ServiceSettings
from pydantic import Field

if TYPE_CHECKING:
    from .adapters.parquet_lake import ParquetLake
    from .compaction_service import LakeCompactor
    from .lake_service import LakeWriter
    from .ports import InsightEngine
    from .report_service import ReportService


def _lake_window_seconds() -> int:
    """How long a change may take to reach the lake in AWS: the writer's batching window (read at first use: the
    resource specs are pydantic models the function's import should not build)."""
    from caseline_common.resources import CONSUMERS

    return next(spec.batching_window_seconds for spec in CONSUMERS if spec.function == "lake_writer")


class InsightSettings(ServiceSettings):
    insight_table: str = Field(min_length=3)
    lake_bucket: str = Field(min_length=3)
    insight_engine: str = Field(
        pattern=r"^(duckdb://|athena://)\S+$",
        description="Where insight SQL runs: duckdb://<directory> locally, athena://<workgroup> in AWS.",
    )
    lake_delivery_seconds: int = Field(
        default_factory=_lake_window_seconds,
        ge=0,
        description="How long a change may take to reach the lake: the writer's window (locally, its pump's pace).",
    )

    @property
    def report_cache_seconds(self) -> int:
        """Results live as long as the lake may lag: a fresher answer would hold the same events."""
        return self.lake_delivery_seconds


runtime = ServiceRuntime("insight", InsightSettings)


@deferred
def _duckdb_engine() -> "Callable[[str], InsightEngine]":
    from .adapters.duckdb_engine import DuckDbEngine

    def build(directory: str) -> "InsightEngine":
        return DuckDbEngine(directory, refresh=lambda: lake().download_new(directory))

    return build


@deferred
def _athena_engine() -> "Callable[[str], InsightEngine]":
    from caseline_common.lake import lake_database

    from .adapters.athena_engine import AthenaEngine

    def build(workgroup: str) -> "InsightEngine":
        return AthenaEngine(runtime.aws.athena(), workgroup, lake_database(runtime.settings.tenant_id))

    return build


@cache
def engine() -> "InsightEngine":
    location = runtime.settings.insight_engine
    if location.startswith("duckdb://"):
        return _duckdb_engine()(location.removeprefix("duckdb://"))
    return _athena_engine()(location.removeprefix("athena://"))


@deferred
def _report_service() -> "Callable[[], ReportService]":
    from .adapters.dynamo_cache import DynamoReportCache
    from .adapters.dynamo_insight import DynamoTemplateReaders
    from .report_service import ReportService

    def build() -> ReportService:
        dynamodb, table = runtime.aws.dynamodb(), runtime.settings.insight_table
        return ReportService(
            engine(),
            DynamoTemplateReaders(dynamodb, table),
            DynamoReportCache(dynamodb, table),
            clock=utc_now,
            cache_seconds=runtime.settings.report_cache_seconds,
            delivery_seconds=runtime.settings.lake_delivery_seconds,
        )

    return build


@cache
def report_service() -> "ReportService":
    return _report_service()()


@deferred
def _parquet_lake() -> "type[ParquetLake]":
    from .adapters.parquet_lake import ParquetLake

    return ParquetLake


@deferred
def _lake_writer_service() -> "Callable[[], LakeWriter]":
    from .adapters.dynamo_insight import DynamoCaseStates, DynamoTemplateReaders
    from .lake_service import LakeWriter

    def build() -> LakeWriter:
        dynamodb, table = runtime.aws.dynamodb(), runtime.settings.insight_table
        return LakeWriter(lake(), DynamoTemplateReaders(dynamodb, table), DynamoCaseStates(dynamodb, table))

    return build


@cache
def lake() -> "ParquetLake":
    return _parquet_lake()(runtime.aws.s3(), runtime.settings.lake_bucket)


@cache
def lake_writer_service() -> "LakeWriter":
    return _lake_writer_service()()


@deferred
def _lake_compactor() -> "type[LakeCompactor]":
    from .compaction_service import LakeCompactor

    return LakeCompactor


@cache
def lake_compactor() -> "LakeCompactor":
    return _lake_compactor()(lake(), clock=utc_now)
