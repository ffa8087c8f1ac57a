"""Composition root of the timeline service, built once per cold start.

Each factory's adapters and use cases are imported where it is first called, in Lambda (coldstart.deferred): the
handler module's import only declares routes and event functions, and a function loads what it serves."""

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING

from caseline_common.coldstart import deferred
from caseline_common.envelope import utc_now
from caseline_common.runtime import ServiceRuntime
from caseline_common.settings import ServiceSettings
from pydantic import Field

if TYPE_CHECKING:
    from .service import TimelineService


class TimelineSettings(ServiceSettings):
    timeline_table: str = Field(min_length=3)
    anchors_bucket: str = Field(min_length=3)
    signing_key_id: str = Field(min_length=3)


runtime = ServiceRuntime("timeline", TimelineSettings)


@deferred
def _timeline_service() -> "Callable[[], TimelineService]":
    from caseline_common.adapters.eventbridge_bus import EventBridgeBus
    from caseline_common.chain import new_salt
    from caseline_common.freshness import CaseArrival

    from .adapters.dynamo_timeline import DynamoTimelineRepository
    from .adapters.kms_signer import KmsSigner
    from .adapters.s3_anchors import S3AnchorStore
    from .service import TimelineService

    def build() -> TimelineService:
        settings = runtime.settings
        return TimelineService(
            DynamoTimelineRepository(runtime.aws.dynamodb(), settings.timeline_table),
            S3AnchorStore(runtime.aws.s3(), settings.anchors_bucket),
            KmsSigner(runtime.aws.kms(), settings.signing_key_id),
            EventBridgeBus(runtime.aws.events(), settings.event_bus_name, source_service="timeline"),
            tenant_id=settings.tenant_id,
            clock=utc_now,
            new_salt=new_salt,
            arrival=CaseArrival(clock=utc_now),
        )

    return build


@cache
def timeline_service() -> "TimelineService":
    return _timeline_service()()
