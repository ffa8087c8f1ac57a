"""HTTP routes of the cases service: parse, call a use case, reply. Errors are mapped in HttpApi."""

from caseline_common.contracts import CaseSnapshot, CaseStatus, PublishedTemplate, TemplateDefinition
from caseline_common.http import Call, Reply
from caseline_common.pagination import Page
from chalice.app import Blueprint
from pydantic import BaseModel, ConfigDict, Field

from .domain.cases import OpenCaseRequest
from .runtime import cases_service, runtime
from .service import CaseFilter, Created, TemplateSummary

api = Blueprint(__name__)
http = runtime.http_api(api)


class PageQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=25, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=2048)


class CaseListQuery(PageQuery):
    status: CaseStatus | None = None
    stage: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]{0,62}$")


def _created(created: Created[PublishedTemplate] | Created[CaseSnapshot], location: str) -> Reply:
    headers = {"Location": location}
    if created.replayed:
        headers["Idempotent-Replayed"] = "true"
    return Reply(created.resource, status=201, headers=headers)


@http.operation(
    "POST",
    "/templates",
    summary="Publish a new template as version 1",
    request=TemplateDefinition,
    response=PublishedTemplate,
    status=201,
    idempotent_create=True,
    errors=(413, 415, 422),
)
def publish_template(call: Call) -> Reply:
    created = cases_service().publish_template(call.tenant(), call.body_as(TemplateDefinition), call.idempotency_key)
    return _created(created, f"/templates/{created.resource.definition.key}")


@http.operation("GET", "/templates", summary="List templates", query=PageQuery, response=Page[TemplateSummary])
def list_templates(call: Call) -> Reply:
    query = call.query_as(PageQuery)
    return Reply(cases_service().list_templates(call.tenant(), limit=query.limit, cursor=query.cursor))


@http.operation(
    "GET",
    "/templates/{key}",
    summary="The latest published version of a template",
    response=PublishedTemplate,
    errors=(404,),
)
def get_template(call: Call) -> Reply:
    return Reply(cases_service().get_template(call.tenant(), call.path["key"]))


@http.operation(
    "POST",
    "/cases",
    summary="Open a case from a template",
    request=OpenCaseRequest,
    response=CaseSnapshot,
    status=201,
    idempotent_create=True,
    errors=(413, 415, 422),
)
def open_case(call: Call) -> Reply:
    created = cases_service().open_case(call.tenant(), call.body_as(OpenCaseRequest), call.idempotency_key)
    return _created(created, f"/cases/{created.resource.id}")


@http.operation(
    "GET",
    "/cases",
    summary="List cases, newest first, by status and/or stage",
    query=CaseListQuery,
    response=Page[CaseSnapshot],
    errors=(422,),
)
def list_cases(call: Call) -> Reply:
    query = call.query_as(CaseListQuery)
    page = cases_service().list_cases(
        call.tenant(),
        CaseFilter(status=query.status, stage=query.stage),
        limit=query.limit,
        cursor=query.cursor,
    )
    return Reply(page)


@http.operation("GET", "/cases/{case_id}", summary="One case", response=CaseSnapshot, errors=(404,))
def get_case(call: Call) -> Reply:
    return Reply(cases_service().get_case(call.tenant(), call.path["case_id"]))
