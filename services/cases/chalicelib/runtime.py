"""Composition root of the cases service, built once per cold start.

Each factory's adapters and use cases are imported where it is first called, in Lambda (coldstart.deferred): the
handler module's import only declares routes and event functions, and a function loads what it serves."""

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING

from caseline_common.coldstart import deferred
from caseline_common.envelope import new_id, utc_now
from caseline_common.runtime import ServiceRuntime
from caseline_common.settings import DOWNLOAD_URL, ServiceSettings
from pydantic import Field

if TYPE_CHECKING:
    from .adapters.dynamo_cases import DynamoCasesRepository
    from .adapters.eventbridge_outbox import EventBridgePublisher
    from .case_service import CaseService
    from .template_service import TemplateService


class CasesSettings(ServiceSettings):
    cases_table: str = Field(min_length=3)
    documents_bucket: str = Field(min_length=3)
    documents_download_url: str = Field(pattern=DOWNLOAD_URL, description="Where browsers download documents.")


runtime = ServiceRuntime("cases", CasesSettings)


@deferred
def _cases_repository() -> "Callable[[], DynamoCasesRepository]":
    from .adapters.dynamo_cases import DynamoCasesRepository

    return lambda: DynamoCasesRepository(runtime.aws.dynamodb(), runtime.settings.cases_table)


@deferred
def _case_service() -> "Callable[[], CaseService]":
    from caseline_common.adapters.s3_documents import S3DocumentStore

    from .case_service import CaseService

    def build() -> CaseService:
        documents = S3DocumentStore(
            runtime.aws.s3(),
            runtime.settings.documents_bucket,
            download_url=runtime.settings.documents_download_url,
        )
        return CaseService(cases_repository(), documents, clock=utc_now, new_id=new_id)

    return build


@deferred
def _template_service() -> "Callable[[], TemplateService]":
    from .template_service import TemplateService

    return lambda: TemplateService(cases_repository(), case_service(), clock=utc_now)


@deferred
def _outbox_publisher() -> "Callable[[], EventBridgePublisher]":
    from .adapters.eventbridge_outbox import EventBridgePublisher

    return lambda: EventBridgePublisher(runtime.aws.events(), runtime.settings.event_bus_name)


@cache
def cases_repository() -> "DynamoCasesRepository":
    return _cases_repository()()


@cache
def case_service() -> "CaseService":
    return _case_service()()


@cache
def template_service() -> "TemplateService":
    return _template_service()()


@cache
def outbox_publisher() -> "EventBridgePublisher":
    return _outbox_publisher()()
