"""HTTP routes of templates: publishing, drafts, versions, their differences, and migrating cases."""

from typing import Any

from caseline_common.contracts import PublishedTemplate, TemplateDefinition
from caseline_common.examples import TEMPLATE_DEFINITION
from caseline_common.http import LOCATION, Call, Reply
from caseline_common.pagination import Page, PageQuery
from caseline_common.scopes import Scope
from pydantic import BaseModel, ConfigDict, Field, RootModel

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


class DraftDocument(RootModel[dict[str, Any]]):
    """A template definition as far as it goes: unfinished work is kept, and its mistakes listed."""

    model_config = ConfigDict(defer_build=True, json_schema_extra={"examples": [TEMPLATE_DEFINITION]})


class PublishRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True, json_schema_extra={"examples": [{}]})  # the draft

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
    """Publishes a new template, as its version 1, from the definition in the body. For `caseline-admins`.

    The definition is checked whole (stages, fields, roles, criteria, rules): every mistake is listed in the 422's
    `errors`, each with its JSON Pointer; so does a key that is taken (publish its next version with
    `POST /templates/{key}/versions` instead). Emits `template.published` with the definition."""
    created = template_service().publish_template(call.tenant(), call.body_as(TemplateDefinition), call.idempotency_key)
    return created_reply(created, f"/templates/{created.resource.definition.key}")


@http.operation(
    "GET", "/templates", summary="List templates", query=PageQuery, response=Page[TemplateSummary], errors=(422,)
)
def list_templates(call: Call) -> Reply:
    """Lists the templates, each with its latest published version, a page at a time. For every staff role
    (`caseline-admins`, `caseline-staff`, `caseline-viewers`)."""
    query = call.query_as(PageQuery)
    return Reply(template_service().list_templates(call.tenant(), limit=query.limit, cursor=query.cursor))


@http.operation("GET", "/schemas/template", summary="The JSON Schema of the template format", public=True)
def template_schema(_call: Call) -> Reply:
    """The JSON Schema (2020-12) of the template format, the same models the API validates templates with, so
    an editor can check a template as it is typed. Public: it holds no tenant data."""
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
    """The latest published version of a template: the one new cases are opened from. For every staff role."""
    return Reply(template_service().get_template(call.tenant(), call.path["key"]))


@http.operation(
    "PUT",
    "/templates/{key}/draft",
    scope=Scope.TEMPLATES_ADMIN,
    summary="Save a draft; it may still have mistakes, which are listed",
    request=DraftDocument,
    response=TemplateDraft,
    errors=(404, 413, 415, 422),
)
def save_draft(call: Call) -> Reply:
    """Saves the template's draft, replacing the one saved before, for `caseline-admins`; the body is a
    template definition as far as it goes, whose `key` must be the path's (422). Unfinished work is kept: its
    mistakes, in its shape (an empty stage, a key not yet typed) as in its rules, are listed in its `issues`
    rather than refused, and publishing it refuses them. A draft changes nothing for cases and emits no event."""
    draft = template_service().save_draft(call.tenant(), call.path["key"], call.body_as(DraftDocument).root)
    return Reply(draft)


@http.operation("GET", "/templates/{key}/draft", summary="The saved draft", response=TemplateDraft, errors=(404,))
def get_draft(call: Call) -> Reply:
    """The template's saved draft with its outstanding `issues`, for `caseline-admins`; 404 when there is none."""
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
    """Publishes the template's next version, for `caseline-admins`: the `definition` in the body, or the
    saved draft when the body is `{}`. Cases stay on the version they were opened with until migrated. The
    definition is checked whole (422 with every mistake); a version published at the same moment answers 409.
    Emits `template.published`."""
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
    """Every published version of a template with its definition, oldest first, a page at a time. For every
    staff role."""
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
    """One published version of a template, as cases opened from it still follow it. For every staff role."""
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
    """What changed between two published versions, as a list of changes by JSON Pointer (`added`, `removed`,
    `changed`, `reordered`; list items by their key, e.g. `/fields/iban`). For every staff role."""
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
    """Previews moving the template's open cases to version `to_version`, for `caseline-admins`, a page at a
    time: for each case, whether it can move, the field values the new version would drop and the criteria of
    its stage it would no longer meet. Changes nothing."""
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
    """Moves the selected open cases (up to 25) to version `to_version`, for `caseline-admins`. Each case
    moves or is refused on its own (a closed case, a stage the version lacks, values the version refuses), and the
    answer says which, with why. Each case moved emits `case.migrated`. With an `Idempotency-Key`, a retry
    replays the cases already moved."""
    answer = template_service().migrate_cases(
        call.tenant(), call.path["key"], call.body_as(MigrateRequest), call.idempotency_key
    )
    return Reply(answer.resource, replayed=answer.replayed)
