"""HTTP routes of templates: publishing, drafts, versions, their differences, and migrating cases."""

from typing import Any

from caseline_common.contracts import PublishedTemplate, TemplateDefinition
from caseline_common.http import LOCATION, Call, Reply
from caseline_common.pagination import Page, PageQuery
from caseline_common.scopes import Scope
from pydantic import BaseModel, ConfigDict, Field

from ..domain.migration import MigrateRequest, MigrationPreview, MigrationResults
from ..ports import TemplateDraft, TemplateSummary
from ..runtime import template_service
from ..template_service import TemplateDiff
from . import VERSION_PATH, created_reply, http, page_version


class DiffQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    from_version: int = Field(alias="from", ge=1, le=1_000_000)
    to_version: int = Field(alias="to", ge=1, le=1_000_000)


class MigrationQuery(PageQuery):
    to_version: int = Field(ge=1, le=1_000_000)


class PublishRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    definition: TemplateDefinition | None = Field(default=None, description="What to publish; the draft if absent.")


@http.operation(
    "POST",
    "/templates",
    scope=Scope.TEMPLATES_ADMIN,
    summary="Publish a new template as version 1",
    request=TemplateDefinition,
    response=PublishedTemplate,
    status=201,
    idempotent_create=True,
    errors=(413, 415, 422),
    response_headers=(LOCATION,),
)
def publish_template(call: Call) -> Reply:
    created = template_service().publish_template(call.tenant(), call.body_as(TemplateDefinition), call.idempotency_key)
    return created_reply(created, f"/templates/{created.resource.definition.key}")


@http.operation(
    "GET", "/templates", summary="List templates", query=PageQuery, response=Page[TemplateSummary], errors=(422,)
)
def list_templates(call: Call) -> Reply:
    query = call.query_as(PageQuery)
    return Reply(template_service().list_templates(call.tenant(), limit=query.limit, cursor=query.cursor))


@http.operation("GET", "/schemas/template", summary="The JSON Schema of the template format", public=True)
def template_schema(_call: Call) -> Reply:
    return Reply(template_json_schema())


def template_json_schema() -> dict[str, Any]:
    schema = TemplateDefinition.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "urn:caseline:template", **schema}


@http.operation(
    "GET",
    "/templates/{key}",
    summary="The latest published version of a template",
    response=PublishedTemplate,
    errors=(404,),
)
def get_template(call: Call) -> Reply:
    return Reply(template_service().get_template(call.tenant(), call.path["key"]))


@http.operation(
    "PUT",
    "/templates/{key}/draft",
    scope=Scope.TEMPLATES_ADMIN,
    summary="Save a draft; it may still have mistakes, which are listed",
    request=TemplateDefinition,
    response=TemplateDraft,
    errors=(404, 413, 415, 422),
)
def save_draft(call: Call) -> Reply:
    return Reply(template_service().save_draft(call.tenant(), call.path["key"], call.body_as(TemplateDefinition)))


@http.operation("GET", "/templates/{key}/draft", summary="The saved draft", response=TemplateDraft, errors=(404,))
def get_draft(call: Call) -> Reply:
    return Reply(template_service().get_draft(call.tenant(), call.path["key"]))


@http.operation(
    "POST",
    "/templates/{key}/versions",
    scope=Scope.TEMPLATES_ADMIN,
    summary="Publish the next version, from the body or the draft",
    request=PublishRequest,
    response=PublishedTemplate,
    status=201,
    idempotent_create=True,
    errors=(404, 409, 413, 415, 422),
    response_headers=(LOCATION,),
)
def publish_version(call: Call) -> Reply:
    key = call.path["key"]
    created = template_service().publish_version(
        call.tenant(), key, call.body_as(PublishRequest).definition, call.idempotency_key
    )
    return created_reply(created, f"/templates/{key}/versions/{created.resource.version}")


@http.operation(
    "GET",
    "/templates/{key}/versions",
    summary="Published versions of a template, oldest first",
    query=PageQuery,
    response=Page[PublishedTemplate],
    errors=(404, 422),
)
def list_template_versions(call: Call) -> Reply:
    query = call.query_as(PageQuery)
    return Reply(
        template_service().list_template_versions(
            call.tenant(), call.path["key"], limit=query.limit, cursor=query.cursor
        )
    )


@http.operation(
    "GET",
    "/templates/{key}/versions/{version}",
    summary="One published version",
    response=PublishedTemplate,
    errors=(404,),
    path_types=VERSION_PATH,
)
def get_template_version(call: Call) -> Reply:
    version = page_version(call.path["version"])
    return Reply(template_service().get_template_version(call.tenant(), call.path["key"], version))


@http.operation(
    "GET",
    "/templates/{key}/diff",
    summary="What changed between two versions",
    query=DiffQuery,
    response=TemplateDiff,
    errors=(404, 422),
)
def diff_template(call: Call) -> Reply:
    query = call.query_as(DiffQuery)
    return Reply(
        template_service().diff_template(call.tenant(), call.path["key"], query.from_version, query.to_version)
    )


@http.operation(
    "GET",
    "/templates/{key}/migrations",
    summary="Preview moving open cases to a version: which can move, and what they would still need",
    query=MigrationQuery,
    response=Page[MigrationPreview],
    errors=(404, 422),
)
def preview_migration(call: Call) -> Reply:
    query = call.query_as(MigrationQuery)
    return Reply(
        template_service().preview_migration(
            call.tenant(), call.path["key"], query.to_version, limit=query.limit, cursor=query.cursor
        )
    )


@http.operation(
    "POST",
    "/templates/{key}/migrations",
    scope=Scope.TEMPLATES_ADMIN,
    summary="Move the selected open cases to a version; each case succeeds or fails on its own",
    request=MigrateRequest,
    response=MigrationResults,
    idempotent_create=True,
    errors=(404, 413, 415, 422),
)
def migrate_cases(call: Call) -> Reply:
    answer = template_service().migrate_cases(
        call.tenant(), call.path["key"], call.body_as(MigrateRequest), call.idempotency_key
    )
    return Reply(answer.resource, replayed=answer.replayed)
