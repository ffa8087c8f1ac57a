"""Composition root of the portal service, built once per cold start."""

from functools import cache

from caseline_common.adapters.s3_documents import S3DocumentStore
from caseline_common.adapters.ses_mail import SesMailer
from caseline_common.envelope import new_id, utc_now
from caseline_common.freshness import CaseArrival
from caseline_common.runtime import ServiceRuntime
from caseline_common.settings import DOWNLOAD_URL, ServiceSettings
from pydantic import Field

from .adapters.dynamo_portal import DynamoPortalStore
from .adapters.eventbridge_events import EventBridgeBus
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


@cache
def documents() -> S3DocumentStore:
    return S3DocumentStore(
        runtime.aws.s3(),
        runtime.settings.documents_bucket,
        download_url=runtime.settings.documents_download_url,
    )


@cache
def portal_store() -> DynamoPortalStore:
    return DynamoPortalStore(runtime.aws.dynamodb(), runtime.settings.portal_table)


@cache
def bus() -> EventBridgeBus:
    return EventBridgeBus(runtime.aws.events(), runtime.settings.event_bus_name)


@cache
def link_service() -> LinkService:
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


@cache
def projection_service() -> ProjectionService:
    settings = runtime.settings
    return ProjectionService(
        portal_store(),
        link_service(),
        link_days=settings.portal_link_days,
        clock=utc_now,
        mailer=SesMailer(runtime.aws.ses(), settings.mail_from),
    )


@cache
def visit_service() -> VisitService:
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
