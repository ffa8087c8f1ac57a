"""Composition root of the timeline service, built once per cold start."""

from functools import cache

from caseline_common.runtime import ServiceRuntime
from caseline_common.settings import ServiceSettings
from pydantic import Field

from .adapters.dynamo import DynamoTimelineRepository
from .service import TimelineService


class TimelineSettings(ServiceSettings):
    timeline_table: str = Field(min_length=3)


runtime = ServiceRuntime("timeline", TimelineSettings)


@cache
def timeline_service() -> TimelineService:
    return TimelineService(DynamoTimelineRepository(runtime.aws.dynamodb(), runtime.settings.timeline_table))
