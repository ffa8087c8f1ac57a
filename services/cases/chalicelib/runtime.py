"""Composition root of the cases service, built once per cold start."""

from functools import cache

from caseline_common.adapters.s3_documents import S3DocumentStore
from caseline_common.envelope import new_id, utc_now
from caseline_common.runtime import ServiceRuntime
from caseline_common.settings import DOWNLOAD_URL, ServiceSettings
from pydantic import Field

from .adapters.dynamo_cases import DynamoCasesRepository
from .adapters.eventbridge_outbox import EventBridgePublisher
from .case_service import CaseService
from .template_service import TemplateService


class CasesSettings(ServiceSettings):
    cases_table: str = Field(min_length=3)
    documents_bucket: str = Field(min_length=3)
    documents_download_url: str = Field(pattern=DOWNLOAD_URL, description="Where browsers download documents.")


runtime = ServiceRuntime("cases", CasesSettings)


@cache
def cases_repository() -> DynamoCasesRepository:
    return DynamoCasesRepository(runtime.aws.dynamodb(), runtime.settings.cases_table)


@cache
def case_service() -> CaseService:
    documents = S3DocumentStore(
        runtime.aws.s3(),
        runtime.settings.documents_bucket,
        download_url=runtime.settings.documents_download_url,
    )
    return CaseService(cases_repository(), documents, clock=utc_now, new_id=new_id)


@cache
def template_service() -> TemplateService:
    return TemplateService(cases_repository(), case_service(), clock=utc_now)


@cache
def outbox_publisher() -> EventBridgePublisher:
    return EventBridgePublisher(runtime.aws.events(), runtime.settings.event_bus_name)
