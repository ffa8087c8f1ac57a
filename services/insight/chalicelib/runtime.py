"""Composition root of the insight service, built once per cold start.

The engine behind the `InsightEngine` port is chosen by the scheme of `insight_engine`: `duckdb://` is the
embedded engine (DuckDB over a copy of the lake's Parquet files in that directory: `make dev` and the tests),
`athena://` an Amazon Athena workgroup (AWS). The adapters and use cases are imported where they are first needed."""

from caseline_common.runtime import ServiceRuntime
from caseline_common.settings import ServiceSettings
from pydantic import Field


class InsightSettings(ServiceSettings):
    insight_table: str = Field(min_length=3)
    lake_bucket: str = Field(min_length=3)
    insight_engine: str = Field(
        pattern=r"^(duckdb://|athena://)\S+$",
        description="Where insight SQL runs: duckdb://<directory> locally, athena://<workgroup> in AWS.",
    )


runtime = ServiceRuntime("insight", InsightSettings)
