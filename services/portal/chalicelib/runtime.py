"""Composition root of the portal service, built once per cold start.

Each factory's adapters and use cases are imported where it is first called, in Lambda (coldstart.deferred): the
handler module's import only declares routes, pages and event functions, and a function loads what it serves."""

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING

from caseline_common.coldstart import deferred
from caseline_common.envelope import new_id, utc_now
from caseline_common.runtime import ServiceRuntime
from caseline_common.settings import DOWNLOAD_URL, ServiceSettings
from pydantic import Field

if TYPE_CHECKING:
    from caseline_common.adapters.eventbridge_bus import EventBridgeBus
    from caseline_common.adapters.s3_documents import S3DocumentStore

    from .adapters.dynamo_portal import DynamoPortalStore
    from .link_service import LinkService
    from .projection_service import ProjectionService
    from .visit_service import VisitService


class PortalSettings(ServiceSettings):
    portal_table: str = Field(min_length=3)
    documents_bucket: str = Field(min_length=3)
    documents_download_url: str = Field(pattern=DOWNLOAD_URL, description="Where browsers download documents.")
    portal_base_url: str = Field(pattern=r"^https?://", description="Where links point: the public portal URL.")
    portal_link_days: int = Field(default=14, ge=1, le=90, description="How long a link works unless told.")
    portal_session_hours: int = Field(default=12, ge=1, le=72)
    portal_requests_per_minute: int = Field(default=120, ge=1, description="Per link, session and client.")
    mail_from: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", description="The sender of portal links.")


runtime = ServiceRuntime("portal", PortalSettings)


@deferred
def _documents() -> "Callable[[], S3DocumentStore]":
    from caseline_common.adapters.s3_documents import S3DocumentStore

    return lambda: S3DocumentStore(
        runtime.aws.s3(),
        runtime.settings.documents_bucket,
        download_url=runtime.settings.documents_download_url,
    )


@deferred
def _portal_store() -> "Callable[[], DynamoPortalStore]":
    from .adapters.dynamo_portal import DynamoPortalStore

    return lambda: DynamoPortalStore(runtime.aws.dynamodb(), runtime.settings.portal_table)


@deferred
def _bus() -> "Callable[[], EventBridgeBus]":
    from caseline_common.adapters.eventbridge_bus import EventBridgeBus

    return lambda: EventBridgeBus(runtime.aws.events(), runtime.settings.event_bus_name, source_service="portal")


@deferred
def _link_service() -> "Callable[[], LinkService]":
    from caseline_common.freshness import CaseArrival

    from .link_service import LinkService

    def build() -> LinkService:
        settings = runtime.settings
        return LinkService(
            portal_store(),
            bus(),
            tenant_id=settings.tenant_id,
            base_url=settings.portal_base_url,
            link_days=settings.portal_link_days,
            clock=utc_now,
            new_id=new_id,
            arrival=CaseArrival(clock=utc_now),
        )

    return build


@deferred
def _projection_service() -> "Callable[[], ProjectionService]":
    from caseline_common.adapters.ses_mail import SesMailer

    from .projection_service import ProjectionService

    def build() -> ProjectionService:
        settings = runtime.settings
        return ProjectionService(
            portal_store(),
            link_service(),
            link_days=settings.portal_link_days,
            clock=utc_now,
            mailer=SesMailer(runtime.aws.ses(), settings.mail_from),
        )

    return build


@deferred
def _visit_service() -> "Callable[[], VisitService]":
    from .visit_service import VisitService

    def build() -> VisitService:
        settings = runtime.settings
        return VisitService(
            portal_store(),
            documents(),
            bus(),
            tenant_id=settings.tenant_id,
            session_hours=settings.portal_session_hours,
            requests_per_minute=settings.portal_requests_per_minute,
            clock=utc_now,
            new_id=new_id,
        )

    return build


@cache
def documents() -> "S3DocumentStore":
    return _documents()()


@cache
def portal_store() -> "DynamoPortalStore":
    return _portal_store()()


@cache
def bus() -> "EventBridgeBus":
    return _bus()()


@cache
def link_service() -> "LinkService":
    return _link_service()()


@cache
def projection_service() -> "ProjectionService":
    return _projection_service()()


@cache
def visit_service() -> "VisitService":
    return _visit_service()()
