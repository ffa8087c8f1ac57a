"""What the OpenAPI document says an operation requires and answers with: headers, path parameter types, binary
bodies, descriptions, examples, deprecations, and the merged document of the services saying it where the API
does."""

from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Annotated, Any

import pytest
from aws_lambda_powertools import Logger
from caseline_common.auth import TokenVerifier
from caseline_common.errors import NotFoundError
from caseline_common.http import (
    LOCATION,
    MINIMUM_NOTICE,
    Deprecation,
    Header,
    HttpApi,
    Operation,
    Problem,
    ProblemError,
    Reply,
    SessionAuth,
    Tag,
)
from caseline_common.openapi import build_openapi, merge_openapi, model_example
from caseline_common.pagination import Page
from caseline_common.resources import SERVICES
from chalice.app import Blueprint, Chalice
from chalice.test import Client
from pydantic import BaseModel, ConfigDict, Field

from caseline.local.loader import load_service

IF_MATCH = Header("If-Match", "The version you read.", {"type": "string", "pattern": r'^"\d+"$'}, required=True)
ETAG = Header("ETag", "The version.", required=True)
# The one POST that changes nothing (a dry run), so a key has nothing to make safe.
CHANGE_NOTHING = {"/templates/{key}/rules/test"}
# Marking notifications read: sent again, it leaves the same state, so a key has nothing to make safe either.
MARK_READ = {"/notifications/{notification_id}/read", "/notifications/read"}
# What the portal's case page calls in an external participant's session, not integrators: no key.
PORTAL_SESSION = {"/portal/uploads", "/portal/uploads/{upload_id}/confirm"}


class Thing(BaseModel):
    id: str


class Described(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"id": "01JF3Z8Q4V6W7X8Y9Z0A1B2C3D"}]})

    id: str


def _api() -> HttpApi:
    def no_verifier() -> TokenVerifier:
        raise AssertionError("no request is dispatched in these tests")

    return HttpApi(
        service="things",
        blueprint=Blueprint("tests.declarations"),
        tenant_id=lambda: "acme",
        verifier=no_verifier,
        max_request_bytes=lambda: 1024,
        logger=Logger(service="things"),
    )


def _reply(_call: Any) -> Reply:
    return Reply(None)


def _document(**declaration: Any) -> dict[str, Any]:
    api = _api()
    method, path = declaration.pop("method", "POST"), declaration.pop("path", "/things/{thing_id}/versions/{version}")
    api.operation(method, path, summary="Do it", **declaration)(_reply)
    operation: dict[str, Any] = build_openapi(title="T", version="1", operations=api.operations)["paths"][path][
        method.lower()
    ]
    return operation


def _parameters(operation: dict[str, Any], where: str) -> dict[str, dict[str, Any]]:
    return {parameter["name"]: parameter for parameter in operation["parameters"] if parameter["in"] == where}


def test_declared_headers_are_parameters_and_response_headers() -> None:
    operation = _document(response=Thing, headers=(IF_MATCH,), response_headers=(ETAG, LOCATION), status=201)

    assert _parameters(operation, "header") == {
        "If-Match": {
            "name": "If-Match",
            "in": "header",
            "required": True,
            "description": "The version you read.",
            "schema": {"type": "string", "pattern": r'^"\d+"$'},
        }
    }
    headers = operation["responses"]["201"]["headers"]
    assert set(headers) == {"X-Correlation-Id", "ETag", "Location"}
    assert all(header["required"] for header in headers.values())
    assert headers["Location"]["schema"] == {"type": "string", "format": "uri-reference"}


def test_a_key_is_documented_with_its_replay_header_and_its_422() -> None:
    operation = _document(idempotent_create=True)

    key = _parameters(operation, "header")["Idempotency-Key"]
    assert (key["required"], key["schema"]["maxLength"]) == (False, 255)
    replayed = operation["responses"]["200"]["headers"]["Idempotent-Replayed"]
    assert (replayed["required"], replayed["schema"]) == (False, {"type": "string", "enum": ["true"]})
    assert "422" in operation["responses"]
    assert "Idempotency-Key" not in _parameters(_document(), "header")


def test_every_answer_names_its_correlation_id_unless_api_gateway_may_refuse_first() -> None:
    responses = _document(errors=(404, 413, 503))["responses"]

    required = {status: response["headers"]["X-Correlation-Id"]["required"] for status, response in responses.items()}
    assert required == {
        "200": True,
        "400": True,
        "401": False,
        "403": False,
        "404": True,
        "413": False,
        "500": True,
        "503": True,
    }
    assert responses["503"]["headers"]["Retry-After"]["required"] is False
    assert "Retry-After" not in responses["404"]["headers"]


def test_path_parameters_are_strings_unless_typed() -> None:
    operation = _document(path_types={"version": Annotated[int, Field(ge=1)]})

    assert _parameters(operation, "path") == {
        "thing_id": {"name": "thing_id", "in": "path", "required": True, "schema": {"type": "string"}},
        "version": {"name": "version", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}},
    }


def test_a_type_for_a_parameter_the_path_lacks_is_refused() -> None:
    with pytest.raises(ValueError, match=r"has no parameters \['versoin'\]"):
        _document(path_types={"versoin": int})


def test_a_binary_answer_is_a_string_of_its_media_type() -> None:
    operation = _document(method="GET", response_media_type="application/zip")

    assert operation["responses"]["200"]["content"] == {
        "application/zip": {"schema": {"type": "string", "format": "binary", "contentMediaType": "application/zip"}}
    }


def test_a_session_operation_names_its_scheme_and_csrf_header() -> None:
    csrf = Header("X-CSRF-Token", "The session's CSRF token.", required=True)
    session = SessionAuth(
        scheme="pageSession",
        cookie="sid",
        csrf_header=csrf,
        description="A session the service issued.",
        resolve=lambda _cookie, _csrf: None,
        problems={LookupError: ProblemError(429, "rate-limited", "Too many requests", "Later.")},
    )
    api = _api()
    api.operation("POST", "/things", summary="Do it", session=session)(_reply)
    document = build_openapi(title="T", version="1", operations=api.operations)
    operation = document["paths"]["/things"]["post"]

    assert operation["security"] == [{"pageSession": []}]
    assert document["components"]["securitySchemes"]["pageSession"] == {
        "type": "apiKey",
        "in": "cookie",
        "name": "sid",
        "description": "A session the service issued.",
    }
    assert _parameters(operation, "header")["X-CSRF-Token"]["required"] is True
    assert {"401", "429"} <= set(operation["responses"])
    with pytest.raises(ValueError, match="either public or for a session"):
        api.operation("GET", "/other", summary="Do it", public=True, session=session)(_reply)


def test_the_description_is_the_docstring_then_what_each_error_means() -> None:
    def do_it(_call: Any) -> Reply:
        """Does it, for admins only.

        Emits `thing.done`."""
        return Reply(None)

    api = _api()
    api.operation("POST", "/things", summary="Do it", idempotent_create=True, errors=(404, 409, 418))(do_it)
    description = build_openapi(title="T", version="1", operations=api.operations)["paths"]["/things"]["post"][
        "description"
    ]

    intro, errors = description.split("\n\n**Errors**\n\n")
    assert intro == "Does it, for admins only.\n\nEmits `thing.done`."
    lines = dict(line.split(": ", 1) for line in errors.splitlines())
    assert set(lines) == {f"- `{status}`" for status in (400, 401, 403, 404, 409, 418, 422, 500)}
    assert "current_version" in lines["- `409`"]
    assert "Idempotency-Key" in lines["- `422`"]  # only where a key is taken
    assert lines["- `418`"] == "I'm a Teapot."  # a status without words of ours: its reason phrase
    assert "description" not in _document()  # no docstring: no description, so the linters find it


def test_operations_are_tagged_by_their_route_module_or_their_own_tag() -> None:
    api = _api()
    api.operation("GET", "/things", summary="Things")(_reply)
    api.operation("GET", "/health", summary="Health", tag=Tag("service", "Health."))(_reply)
    document = build_openapi(title="T", version="1", operations=api.operations)

    assert document["paths"]["/things"]["get"]["tags"] == ["test_openapi_declarations"]
    assert document["tags"] == [
        {"name": "test_openapi_declarations", "description": __doc__.strip()},
        {"name": "service", "description": "Health."},
    ]
    other = _api()
    other.operation("GET", "/other", summary="Other", tag=Tag("service", "Something else."))(_reply)
    with pytest.raises(ValueError, match="tag service is described differently"):
        merge_openapi(
            title="All",
            version="1",
            documents=[document, build_openapi(title="O", version="1", operations=other.operations)],
        )


def test_bodies_carry_their_models_example_and_a_page_a_page_of_its_items() -> None:
    operation = _document(request=Described, response=Page[Described])

    body = operation["requestBody"]["content"]["application/json"]
    assert body["example"] == {"id": "01JF3Z8Q4V6W7X8Y9Z0A1B2C3D"}
    page = operation["responses"]["200"]["content"]["application/json"]["example"]
    assert page["items"] == [{"id": "01JF3Z8Q4V6W7X8Y9Z0A1B2C3D"}]
    Page[Described].model_validate(page)
    assert "example" not in _document(response=Thing)["responses"]["200"]["content"]["application/json"]
    assert model_example(Page[Thing]) is None


SINCE, SUNSET = datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 6, 30, tzinfo=UTC)
OLD_WAY = Deprecation(since=SINCE, sunset=SUNSET, link="https://docs.example.org/api#changelog")


def test_a_deprecated_operation_says_so_in_the_document() -> None:
    def old_thing(_call: Any) -> Reply:
        """The old way of reading a thing."""
        return Reply(None)

    api = _api()
    api.operation("GET", "/things/{thing_id}", summary="Old", errors=(404,), deprecated=OLD_WAY)(old_thing)
    operation = build_openapi(title="T", version="1", operations=api.operations)["paths"]["/things/{thing_id}"]["get"]

    assert operation["deprecated"] is True
    assert "since 2026-12-01; it stops answering on 2027-06-30" in operation["description"]
    for status, response in operation["responses"].items():
        assert {"Deprecation", "Sunset", "Link"} <= set(response["headers"]), status
        assert response["headers"]["Deprecation"]["required"] is True
    assert "deprecated" not in _document()
    for sunset in (SINCE, SINCE + MINIMUM_NOTICE - timedelta(seconds=1)):  # the notice docs/api.md promises
        with pytest.raises(ValueError, match="at least 180 days later"):
            Deprecation(since=SINCE, sunset=sunset, link="https://docs.example.org")
    Deprecation(since=SINCE, sunset=SINCE + MINIMUM_NOTICE, link="https://docs.example.org")


def test_every_answer_of_a_deprecated_operation_carries_the_headers() -> None:
    blueprint = Blueprint("tests.deprecated")
    api = HttpApi(
        service="things",
        blueprint=blueprint,
        tenant_id=lambda: "acme",
        verifier=lambda: TokenVerifier(issuer="https://issuer.example", client_ids=["c"], jwks_url="https://x"),
        max_request_bytes=lambda: 1024,
        logger=Logger(service="things"),
    )

    def old_thing(call: Any) -> Reply:
        if call.path["thing_id"] == "missing":
            raise NotFoundError("No such thing.")
        return Reply({"id": call.path["thing_id"]})

    def new_thing(_call: Any) -> Reply:
        return Reply({"id": "new"})

    api.operation("GET", "/old/{thing_id}", summary="Old", public=True, errors=(404,), deprecated=OLD_WAY)(old_thing)
    api.operation("GET", "/new", summary="New", public=True)(new_thing)
    app = Chalice("deprecations")
    app.register_blueprint(blueprint)

    with Client(app) as client:
        found = client.http.get("/old/thing-1")
        missing = client.http.get("/old/missing")
        current = client.http.get("/new")

    for answer in (found, missing):
        assert answer.headers["Deprecation"] == f"@{int(SINCE.timestamp())}" == "@1796083200"
        assert answer.headers["Sunset"] == "Wed, 30 Jun 2027 00:00:00 GMT"
        assert answer.headers["Link"] == '<https://docs.example.org/api#changelog>; rel="deprecation"'
    assert (found.status_code, missing.status_code) == (200, 404)
    assert not {"Deprecation", "Sunset"} & set(current.headers)


@cache
def _service_operations(service: str) -> tuple[Operation, ...]:
    return tuple(load_service(service).module("chalicelib.api").http.all_operations())


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_is_described_by_its_views_docstring(service: str) -> None:
    undescribed = [f"{spec.method} {spec.path}" for spec in _service_operations(service) if not spec.description]
    assert undescribed == [], f"{service}: write a docstring on the view of each"


@pytest.mark.parametrize("service", SERVICES)
def test_every_json_body_has_an_example_its_model_validates(service: str) -> None:
    missing, invalid = [], []
    for spec in _service_operations(service):
        for model in (spec.request_model, spec.response_model):
            if model is None:
                continue
            example = model_example(model)
            if example is None:
                missing.append(f"{spec.method} {spec.path}: {model.__name__}")
                continue
            try:
                model.model_validate(example)
            except ValueError as error:
                invalid.append(f"{spec.method} {spec.path}: {model.__name__}: {error}")
    assert missing == [], f"{service}: give each model json_schema_extra examples"
    assert invalid == []


@pytest.fixture(scope="module")
def merged() -> dict[str, Any]:
    documents = [
        build_openapi(title=name, version="1", operations=load_service(name).module("chalicelib.api").http.operations)
        for name in SERVICES
    ]
    return merge_openapi(title="Caseline", version="1", documents=documents)


def test_the_examples_are_in_the_merged_document(merged: dict[str, Any]) -> None:
    opened = merged["paths"]["/cases"]["post"]
    assert opened["requestBody"]["content"]["application/json"]["example"]["template_key"]
    page = merged["paths"]["/cases"]["get"]["responses"]["200"]["content"]["application/json"]["example"]
    assert page["items"][0]["id"]
    assert merged["components"]["schemas"]["Problem"]["examples"][0]["status"] == 422


def test_the_query_parameter_that_moved_to_search_is_deprecated(merged: dict[str, Any]) -> None:
    parameters = _parameters(merged["paths"]["/cases"]["get"], "query")
    assert parameters["q"]["deprecated"] is True
    assert "deprecated" not in parameters["status"]


def test_patching_a_case_requires_if_match(merged: dict[str, Any]) -> None:
    patch = merged["paths"]["/cases/{case_id}"]["patch"]

    assert _parameters(patch, "header")["If-Match"]["required"] is True
    assert {"412", "428"} <= set(patch["responses"])
    assert patch["responses"]["200"]["headers"]["ETag"]["required"] is True
    transition = merged["paths"]["/cases/{case_id}/transitions"]["post"]
    assert _parameters(transition, "header")["If-Match"]["required"] is False


def test_every_post_that_creates_or_changes_takes_an_idempotency_key(merged: dict[str, Any]) -> None:
    for path, operations in merged["paths"].items():
        if "post" in operations:
            keyed = "Idempotency-Key" in _parameters(operations["post"], "header")
            assert keyed is (path not in CHANGE_NOTHING | MARK_READ | PORTAL_SESSION), path


def test_case_answers_carry_etag_and_created_resources_their_location(merged: dict[str, Any]) -> None:
    for path, operations in merged["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                schema = response.get("content", {}).get("application/json", {}).get("schema", {})
                if status.startswith("2") and schema.get("$ref") == "#/components/schemas/CaseSnapshot":
                    assert "ETag" in response["headers"], f"{method} {path}"
    for path in ("/templates", "/templates/{key}/versions", "/cases", "/cases/{case_id}/comments", "/webhooks"):
        assert merged["paths"][path]["post"]["responses"]["201"]["headers"]["Location"]["required"] is True


def test_versions_in_paths_are_positive_integers(merged: dict[str, Any]) -> None:
    documents = "/cases/{case_id}/documents/{document_type}/versions/{version}"
    for path in ("/templates/{key}/versions/{version}", documents):
        version = _parameters(merged["paths"][path]["get"], "path")["version"]
        assert version["schema"]["type"] == "integer"
        assert version["schema"]["minimum"] == 1


def test_the_export_is_a_zip_and_a_diff_lists_typed_changes(merged: dict[str, Any]) -> None:
    export = merged["paths"]["/cases/{case_id}/timeline/export"]["get"]["responses"]["200"]["content"]
    assert set(export) == {"application/zip"}
    schemas = merged["components"]["schemas"]
    assert schemas["TemplateDiff"]["properties"]["changes"]["items"] == {"$ref": "#/components/schemas/TemplateChange"}
    assert set(schemas["TemplateChange"]["required"]) == {"path", "change"}
    assert schemas["ChangeKind"]["enum"] == ["added", "removed", "changed", "reordered"]


def test_reasons_the_api_always_needs_are_required(merged: dict[str, Any]) -> None:
    paths = merged["paths"]
    for path in ("/cases/{case_id}/cancel", "/cases/{case_id}/reopen", "/cases/{case_id}/tasks/{task_id}/reopen"):
        ref = paths[path]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        assert "reason" in merged["components"]["schemas"][ref.rsplit("/", 1)[1]]["required"], path
    for model in ("TransitionRequest", "StatusChangeRequest"):  # only moving back, skipping or forcing needs one
        reason = merged["components"]["schemas"][model]["properties"]["reason"]
        assert "reason" not in merged["components"]["schemas"][model].get("required", [])
        assert {"required", "force"} <= set(reason["description"].replace(".", "").split()), model


def test_operations_are_grouped_under_the_tags_their_route_modules_name(merged: dict[str, Any]) -> None:
    tags = {tag["name"]: tag["description"] for tag in merged["tags"]}

    assert set(tags) == {
        "service",
        "cases",
        "templates",
        "timeline",
        "change feed",
        "automation runs",
        "webhooks",
        "portal links",
        "portal uploads",
        "tasks",
        "people",
        "notifications",
        "search",
        "saved views",
        "insight",
    }
    assert all(tags.values())
    operations = [*merged["paths"].values(), *merged["webhooks"].values()]
    assert {tag for path in operations for operation in path.values() for tag in operation["tags"]} == set(tags)
    assert merged["paths"]["/templates"]["post"]["tags"] == ["templates"]
    assert merged["paths"]["/cases/{case_id}/transitions"]["post"]["tags"] == ["cases"]


def test_every_error_answer_shows_a_problem_of_its_status(merged: dict[str, Any]) -> None:
    for path, operations in merged["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    example = response["content"]["application/problem+json"]["example"]
                    assert Problem.model_validate(example).status == int(status), f"{method} {path} {status}"
