"""Each service declares only its own routes, and the gateway serves them as one API."""

import json
from collections.abc import Iterator
from typing import Any

import pytest
from caseline_common.resources import SERVICES

from caseline.local.gateway import LocalApi, RouteConflictError
from caseline.local.loader import LoadedService, load_service
from caseline.local.stack import LocalStack

EXPECTED_ROUTES: dict[str, dict[str, set[str]]] = {
    "cases": {
        "/templates": {"GET", "POST"},
        "/templates/{key}": {"GET"},
        "/templates/{key}/draft": {"GET", "PUT"},
        "/templates/{key}/versions": {"GET", "POST"},
        "/templates/{key}/versions/{version}": {"GET"},
        "/templates/{key}/diff": {"GET"},
        "/templates/{key}/migrations": {"GET", "POST"},
        "/schemas/template": {"GET"},
        "/cases": {"GET", "POST"},
        "/cases/{case_id}": {"GET", "PATCH"},
        "/cases/{case_id}/criteria": {"GET"},
        "/cases/{case_id}/transitions": {"POST"},
        "/cases/{case_id}/close": {"POST"},
        "/cases/{case_id}/cancel": {"POST"},
        "/cases/{case_id}/reopen": {"POST"},
        "/cases/{case_id}/assignment": {"POST"},
        "/cases/{case_id}/tasks": {"POST"},
        "/cases/{case_id}/tasks/{task_id}/complete": {"POST"},
        "/cases/{case_id}/tasks/{task_id}/reopen": {"POST"},
        "/cases/{case_id}/tasks/{task_id}/assignment": {"POST"},
        "/cases/{case_id}/participants": {"POST"},
        "/cases/{case_id}/participants/{participant_id}/role": {"POST"},
        "/cases/{case_id}/participants/{participant_id}/language": {"POST"},
        "/cases/{case_id}/participants/{participant_id}": {"DELETE"},
        "/cases/{case_id}/decisions": {"POST"},
        "/cases/{case_id}/comments": {"GET", "POST"},
        "/cases/{case_id}/documents/uploads": {"POST"},
        "/cases/{case_id}/documents/uploads/{upload_id}/confirm": {"POST"},
        "/cases/{case_id}/documents/{document_type}/versions/{version}": {"GET"},
        "/health/cases": {"GET"},
        "/openapi/cases.json": {"GET"},
    },
    "timeline": {
        "/cases/{case_id}/timeline": {"GET"},
        "/cases/{case_id}/timeline/verify": {"GET"},
        "/cases/{case_id}/timeline/export": {"GET"},
        "/timeline/signing-key": {"GET"},
        "/participants/{participant_id}/erase": {"POST"},
        "/events": {"GET"},
        "/health/timeline": {"GET"},
        "/openapi/timeline.json": {"GET"},
    },
    "automations": {
        "/automations/runs": {"GET"},
        "/templates/{key}/rules/test": {"POST"},
        "/webhooks": {"GET", "POST"},
        "/webhooks/dead-letters": {"GET"},
        "/webhooks/{webhook_id}": {"GET", "DELETE"},
        "/webhooks/{webhook_id}/secret": {"POST"},
        "/webhooks/{webhook_id}/deliveries": {"GET"},
        "/webhooks/{webhook_id}/deliveries/{delivery_id}/replay": {"POST"},
        "/health/automations": {"GET"},
        "/openapi/automations.json": {"GET"},
    },
    "tasks": {
        "/health/tasks": {"GET"},
        "/openapi/tasks.json": {"GET"},
        "/tasks": {"GET"},
        "/tasks/counts": {"GET"},
        "/people": {"GET"},
        "/notifications": {"GET"},
        "/notifications/{notification_id}/read": {"POST"},
        "/notifications/read": {"POST"},
        "/notifications/preferences": {"GET", "PUT"},
    },
    "search": {
        "/health/search": {"GET"},
        "/openapi/search.json": {"GET"},
        "/search": {"GET"},
        "/views": {"GET", "POST"},
        "/views/{view_id}": {"GET", "PUT", "DELETE"},
    },
    "insight": {
        "/health/insight": {"GET"},
        "/openapi/insight.json": {"GET"},
        "/insight": {"GET"},
        "/insight/{report}": {"GET"},
        "/insight/{report}/csv": {"GET"},
    },
    "portal": {
        "/cases/{case_id}/portal-links": {"GET", "POST"},
        "/cases/{case_id}/portal-links/{link_id}/revoke": {"POST"},
        "/cases/{case_id}/portal-links/{link_id}/rotate": {"POST"},
        "/health/portal": {"GET"},
        "/openapi/portal.json": {"GET"},
        # the external participant's pages: HTML, outside the OpenAPI document
        "/p/{token}": {"GET"},
        "/p/{token}/session": {"POST"},
        "/portal/assets/{name}": {"GET"},
        "/portal/case": {"GET"},
        "/portal/documents/{document_type}/{version}": {"GET"},
        "/portal/fields": {"POST"},
        "/portal/messages": {"POST"},
        "/portal/signout": {"POST"},
        "/portal/tasks": {"POST"},
        "/portal/theme/{template_key}/{version}": {"GET"},
        # what the case page's script calls: JSON operations in the OpenAPI document
        "/portal/uploads": {"POST"},
        "/portal/uploads/{upload_id}/confirm": {"POST"},
    },
}
ALL_ROUTES = {path: methods for routes in EXPECTED_ROUTES.values() for path, methods in routes.items()}
# The portal's HTML pages are for browsers, not integrators: they are not in the API document. The two JSON
# operations the case page's script calls are, under the portal session's security scheme.
PORTAL_SESSION_ROUTES = {"/portal/uploads", "/portal/uploads/{upload_id}/confirm"}
API_ROUTES = {
    path: methods
    for path, methods in ALL_ROUTES.items()
    if not path.startswith(("/p/", "/portal/")) or path in PORTAL_SESSION_ROUTES
}


@pytest.fixture(scope="module")
def services() -> dict[str, LoadedService]:
    return {name: load_service(name) for name in SERVICES}


def routes_of(service: LoadedService) -> dict[str, set[str]]:
    return {path: set(methods) for path, methods in service.app.routes.items()}


def test_every_service_is_expected() -> None:
    assert set(SERVICES) == set(EXPECTED_ROUTES)


@pytest.mark.parametrize("name", SERVICES)
def test_service_declares_exactly_its_own_routes(services: dict[str, LoadedService], name: str) -> None:
    assert routes_of(services[name]) == EXPECTED_ROUTES[name]


def test_no_two_services_share_a_route(services: dict[str, LoadedService]) -> None:
    seen: dict[str, str] = {}
    for name, service in services.items():
        for path in service.app.routes:
            assert path not in seen, f"{path} is declared by {seen[path]} and {name}"
            seen[path] = name
    assert set(seen) == set(ALL_ROUTES)


def test_stack_routes_each_path_to_its_owner(stack: LocalStack) -> None:
    expected = {path: name for name, routes in EXPECTED_ROUTES.items() for path in routes}
    assert stack.api.route_owners == expected


@pytest.mark.parametrize("name", ["cases", "timeline"])
def test_two_copies_of_one_service_conflict(stack: LocalStack, name: str) -> None:
    with pytest.raises(RouteConflictError, match=name):
        LocalApi([load_service(name), load_service(name)], stack.idp)


def test_a_route_declared_by_another_service_conflicts(stack: LocalStack, services: dict[str, LoadedService]) -> None:
    intruder = load_service("portal")
    intruder.app.routes["/cases"] = intruder.app.routes["/health/portal"]
    with pytest.raises(RouteConflictError, match="/cases"):
        LocalApi([services["cases"], intruder], stack.idp)


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_merged_openapi_document_lists_every_path(stack: LocalStack) -> None:
    status, headers, raw = stack.api.handle("GET", "/openapi.json", {}, None)
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    document = json.loads(raw)
    assert document["openapi"] == "3.1.0"
    assert document["info"]["title"] == "Caseline API"
    assert set(document["paths"]) == set(API_ROUTES)
    for path, methods in API_ROUTES.items():
        assert set(document["paths"][path]) == {method.lower() for method in methods}, path
    operation_ids = [
        operation["operationId"] for operations in document["paths"].values() for operation in operations.values()
    ]
    assert len(operation_ids) == len(set(operation_ids)), "operationIds must be unique"
    schemas = document["components"]["schemas"]
    for ref in set(_refs(document)):
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.removeprefix("#/components/schemas/") in schemas, f"dangling {ref}"
    assert "bearer" in document["components"]["securitySchemes"]


def test_merged_openapi_marks_public_and_protected_operations(stack: LocalStack) -> None:
    document = json.loads(stack.api.handle("GET", "/openapi.json", {}, None)[2])
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            public = path.startswith(("/health/", "/openapi/", "/schemas/"))
            if public:
                assert operation["security"] == [], f"{method} {path}"
            elif path in PORTAL_SESSION_ROUTES:
                assert operation["security"] == [{"portalSession": []}], f"{method} {path}"
            else:  # a person's token, or a machine client's with the operation's scope
                bearer, client = operation["security"]
                assert bearer == {"bearer": []}, f"{method} {path}"
                assert client["oauth2"][0] in _SCOPES, f"{method} {path}"


def test_operations_need_the_scope_of_what_they_do(stack: LocalStack) -> None:
    document = json.loads(stack.api.handle("GET", "/openapi.json", {}, None)[2])

    def scope(method: str, path: str) -> str:
        [scope] = document["paths"][path][method]["security"][1]["oauth2"]
        return str(scope)

    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if len(operation["security"]) < 2:
                continue  # public, or a portal session
            if path.startswith("/webhooks"):
                assert scope(method, path) == "caseline/webhooks.admin", f"{method} {path}"
            elif method == "get":
                assert scope(method, path) == "caseline/cases.read", f"{method} {path}"
    for method, path in [
        ("post", "/templates"),
        ("put", "/templates/{key}/draft"),
        ("post", "/templates/{key}/rules/test"),
    ]:
        assert scope(method, path) == "caseline/templates.admin"
    assert scope("post", "/cases") == scope("post", "/participants/{participant_id}/erase") == "caseline/cases.write"
    # A person's own notification state, never a case: a read-only viewer clears their bell and picks channels.
    for method, path in [("post", "/notifications/read"), ("put", "/notifications/preferences")]:
        assert scope(method, path) == "caseline/cases.read", f"{method} {path}"
    flow = document["components"]["securitySchemes"]["oauth2"]["flows"]["clientCredentials"]
    assert set(flow["scopes"]) == _SCOPES
    assert flow["tokenUrl"] == "/oauth2/token"


_SCOPES = {"caseline/cases.read", "caseline/cases.write", "caseline/templates.admin", "caseline/webhooks.admin"}


@pytest.mark.parametrize("name", SERVICES)
def test_each_service_serves_its_health_without_a_token(stack: LocalStack, name: str) -> None:
    status, _headers, raw = stack.api.handle("GET", f"/health/{name}", {}, None)
    assert status == 200
    assert json.loads(raw) == {"service": name, "status": "ok", "tenant_id": "demo"}
