"""Composition root of the insight service, built once per cold start.

The engine behind the `InsightEngine` port is chosen by the scheme of `insight_engine`: `duckdb://` is the
embedded engine (DuckDB over a copy of the lake's Parquet files in that directory: `make dev` and the tests),
`athena://` an Amazon Athena workgroup (AWS). The adapters and use cases are imported where they are first needed."""

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING

from caseline_common.coldstart import deferred
from caseline_common.runtime import ServiceRuntime
from caseline_common.settings import ServiceSettings
from pydantic import Field

if TYPE_CHECKING:
    from .adapters.parquet_lake import ParquetLake
    from .lake_service import LakeWriter


class InsightSettings(ServiceSettings):
    insight_table: str = Field(min_length=3)
    lake_bucket: str = Field(min_length=3)
    insight_engine: str = Field(
        pattern=r"^(duckdb://|athena://)\S+$",
        description="Where insight SQL runs: duckdb://<directory> locally, athena://<workgroup> in AWS.",
    )


runtime = ServiceRuntime("insight", InsightSettings)


@deferred
def _parquet_lake() -> "type[ParquetLake]":
    from .adapters.parquet_lake import ParquetLake

    return ParquetLake


@deferred
def _lake_writer_service() -> "Callable[[], LakeWriter]":
    from .adapters.dynamo_insight import DynamoTemplateReaders
    from .lake_service import LakeWriter

    return lambda: LakeWriter(lake(), DynamoTemplateReaders(runtime.aws.dynamodb(), runtime.settings.insight_table))


@cache
def lake() -> "ParquetLake":
    return _parquet_lake()(runtime.aws.s3(), runtime.settings.lake_bucket)


@cache
def lake_writer_service() -> "LakeWriter":
    return _lake_writer_service()()
