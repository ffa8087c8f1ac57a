"""What the OpenAPI document says an operation requires and answers with: headers, path parameter types, binary
bodies, and the merged document of the four services saying it where the API does."""

from typing import Annotated, Any

import pytest
from aws_lambda_powertools import Logger
from caseline_common.auth import TokenVerifier
from caseline_common.http import LOCATION, Header, HttpApi, ProblemError, Reply, SessionAuth
from caseline_common.openapi import build_openapi, merge_openapi
from caseline_common.resources import SERVICES
from chalice.app import Blueprint
from pydantic import BaseModel, Field

from caseline.local.loader import load_service

IF_MATCH = Header("If-Match", "The version you read.", {"type": "string", "pattern": r'^"\d+"$'}, required=True)
ETAG = Header("ETag", "The version.", required=True)
# The one POST that changes nothing (a dry run), so a key has nothing to make safe.
CHANGE_NOTHING = {"/templates/{key}/rules/test"}
# What the portal's case page calls in an external participant's session, not integrators: no key.
PORTAL_SESSION = {"/portal/uploads", "/portal/uploads/{upload_id}/confirm"}


class Thing(BaseModel):
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


@pytest.fixture(scope="module")
def merged() -> dict[str, Any]:
    documents = [
        build_openapi(title=name, version="1", operations=load_service(name).module("chalicelib.api").http.operations)
        for name in SERVICES
    ]
    return merge_openapi(title="Caseline", version="1", documents=documents)


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
            assert keyed is (path not in CHANGE_NOTHING | PORTAL_SESSION), path


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
