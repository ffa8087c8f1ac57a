"""The OpenAPI 3.1 document of a service's operations, and the merged document of the whole API, with the
webhooks integrators receive (one per event type of the catalogue)."""

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, Field, TypeAdapter, create_model
from pydantic.json_schema import models_json_schema

from .envelope import EventEnvelope
from .events import DATA_MODELS, WEBHOOK_EVENTS, EventType
from .http import (
    BEARER_SCHEME,
    CLIENT_SCHEME,
    CORRELATION_ID,
    GATEWAY_STATUSES,
    IDEMPOTENCY_KEY,
    IDEMPOTENT_REPLAYED,
    JSON,
    PATH_PARAMETER,
    PROBLEM_JSON,
    RETRY_AFTER,
    Operation,
    Problem,
)
from .scopes import DESCRIPTIONS, TOKEN_PATH, Scope


def _component_models(operations: Iterable[Operation]) -> list[tuple[type[BaseModel], Any]]:
    models: dict[tuple[type[BaseModel], str], None] = {(Problem, "serialization"): None}
    for spec in operations:
        if spec.request_model:
            models[(spec.request_model, "validation")] = None
        if spec.response_model:
            models[(spec.response_model, "serialization")] = None
    return list(models)


_REF_TEMPLATE = "#/components/schemas/{model}"


def _parameters(spec: Operation, schemas: dict[str, Any]) -> list[dict[str, Any]]:
    parameters: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": TypeAdapter(spec.path_types.get(name, str)).json_schema(ref_template=_REF_TEMPLATE),
        }
        for name in PATH_PARAMETER.findall(spec.path)
    ]
    if spec.query_model is not None:
        query_schema = spec.query_model.model_json_schema(ref_template=_REF_TEMPLATE)
        required = set(query_schema.get("required", []))
        for name, definition in query_schema.get("$defs", {}).items():  # e.g. an enum a parameter refers to
            schemas.setdefault(name, definition)
        parameters += [
            {"name": name, "in": "query", "required": name in required, "schema": schema}
            for name, schema in query_schema.get("properties", {}).items()
        ]
    headers = [*spec.headers, *((IDEMPOTENCY_KEY,) if spec.idempotent_create else ())]
    return parameters + [header.as_parameter() for header in headers]


def _responses(spec: Operation, refs: Mapping[Any, Any]) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status in spec.errors:
        headers = [replace(CORRELATION_ID, required=status not in GATEWAY_STATUSES)]
        headers += [RETRY_AFTER] if status == 503 else []
        responses[str(status)] = {
            "description": "Problem details",
            "headers": {header.name: header.as_response_header() for header in headers},
            "content": {PROBLEM_JSON: {"schema": refs[(Problem, "serialization")]}},
        }
    headers = [CORRELATION_ID, *spec.response_headers, *((IDEMPOTENT_REPLAYED,) if spec.idempotent_create else ())]
    success: dict[str, Any] = {
        "description": spec.summary,
        "headers": {header.name: header.as_response_header() for header in headers},
    }
    if spec.response_model is not None:
        success["content"] = {JSON: {"schema": refs[(spec.response_model, "serialization")]}}
    elif spec.response_media_type != JSON:  # raw bytes, such as a zip; `format` for generators that read only it
        schema = {"type": "string", "format": "binary", "contentMediaType": spec.response_media_type}
        success["content"] = {spec.response_media_type: {"schema": schema}}
    responses[str(spec.status)] = success
    return responses


def client_credentials_scheme() -> dict[str, Any]:
    """How a machine client authenticates: OAuth 2.0 client credentials at the API's own token endpoint (relative
    to the API, as OpenAPI 3.1 allows; in AWS API Gateway passes it to Cognito's, locally the gateway serves it)."""
    return {
        "type": "oauth2",
        "description": "A machine client's access token (`caseline client create` makes a client). Each operation "
        "names the scope it needs; a token without it is refused with 403 `insufficient-scope`.",
        "flows": {
            "clientCredentials": {
                "tokenUrl": TOKEN_PATH,
                "scopes": {scope.qualified: DESCRIPTIONS[scope] for scope in Scope},
            }
        },
    }


def build_openapi(*, title: str, version: str, operations: list[Operation]) -> dict[str, Any]:
    """An OpenAPI 3.1 document built from the same models that validate the requests."""
    refs, definitions = models_json_schema(_component_models(operations), ref_template=_REF_TEMPLATE)
    schemas = definitions.get("$defs", {})
    paths: dict[str, dict[str, Any]] = {}
    for spec in operations:
        operation: dict[str, Any] = {
            "operationId": spec.operation_id,
            "summary": spec.summary,
            "tags": [spec.tag],
            "parameters": _parameters(spec, schemas),
            "responses": _responses(spec, refs),
            "security": spec.security(),
        }
        if spec.request_model is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {JSON: {"schema": refs[(spec.request_model, "validation")]}},
            }
        paths.setdefault(spec.path, {})[spec.method.lower()] = operation
    security_schemes: dict[str, Any] = {
        BEARER_SCHEME: {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
        CLIENT_SCHEME: client_credentials_scheme(),
    }
    for spec in operations:
        if spec.session is not None:
            security_schemes[spec.session.scheme] = spec.session.security_scheme()
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": security_schemes,
        },
    }


# Standard Webhooks (standardwebhooks.com): the headers every delivery carries, all of them required.
_WEBHOOK_HEADERS = {
    "webhook-id": "The delivery's id: the same on every attempt, so a receiver drops repeats.",
    "webhook-timestamp": "When this attempt was signed, in seconds since the epoch.",
    "webhook-signature": "`v1,<base64 HMAC-SHA256>` of `<id>.<timestamp>.<body>` with the subscription's secret; "
    "during a rotation, one signature per secret, separated by spaces.",
}


@cache  # one model per type, however often the document is built
def _webhook_body(event_type: EventType) -> type[BaseModel]:
    """The JSON body a subscription receives for one event type: the Standard Webhooks envelope, whose `data`
    is the event, whose own `data` its catalogue model describes."""
    model = DATA_MODELS[event_type]
    name = model.__name__
    only: Any = Literal[event_type.value]  # a type built at run time, one per event type
    event: type[BaseModel] = create_model(
        f"{name}Event",
        __base__=EventEnvelope,
        __doc__=f"A `{event_type}` event.",
        type=(only, ...),
        data=(model, ...),
    )
    body: type[BaseModel] = create_model(
        f"{name}Webhook",
        __doc__=f"The body of a `{event_type}` delivery.",
        type=(only, ...),
        timestamp=(datetime, Field(description="When the event occurred (RFC 3339).")),
        data=(event, ...),
    )
    return body


def event_webhooks() -> tuple[dict[str, Any], dict[str, Any]]:
    """The document's `webhooks` (OpenAPI 3.1): a POST per event type a subscription receives, and the schemas
    they refer to."""
    types = sorted(WEBHOOK_EVENTS)
    bodies = {event_type: _webhook_body(event_type) for event_type in types}
    refs, definitions = models_json_schema(
        [(body, "serialization") for body in bodies.values()], ref_template=_REF_TEMPLATE
    )
    headers = [
        {"name": name, "in": "header", "required": True, "description": text, "schema": {"type": "string"}}
        for name, text in _WEBHOOK_HEADERS.items()
    ]
    webhooks = {
        event_type.value: {
            "post": {
                "summary": (DATA_MODELS[event_type].__doc__ or event_type.value).strip(),
                "description": f"Sent to each subscription whose `event_types` match `{event_type}`.",
                "tags": ["webhooks"],
                "parameters": headers,
                "requestBody": {"required": True, "content": {JSON: {"schema": refs[(body, "serialization")]}}},
                "responses": {
                    "200": {"description": "Received. Any other answer, or none within 5 s, is tried again later."}
                },
            }
        }
        for event_type, body in bodies.items()
    }
    return webhooks, definitions.get("$defs", {})


def _add_schema(schemas: dict[str, Any], name: str, schema: Any) -> None:
    existing = schemas.setdefault(name, schema)
    if existing != schema:
        raise ValueError(f"schema {name} differs between services")


def merge_openapi(*, title: str, version: str, documents: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """One document for the one API that integrators see, with the webhooks they receive. Two services never
    declare the same route."""
    webhooks, webhook_schemas = event_webhooks()
    merged: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": {},
        "webhooks": webhooks,
        "components": {"schemas": {}, "securitySchemes": {}},
    }
    for document in documents:
        for path, operations in document["paths"].items():
            overlap = set(operations) & set(merged["paths"].get(path, {}))
            if overlap:
                raise ValueError(f"{path} {sorted(overlap)} is declared by two services")
            merged["paths"].setdefault(path, {}).update(operations)
        for name, schema in document["components"]["schemas"].items():
            _add_schema(merged["components"]["schemas"], name, schema)
        merged["components"]["securitySchemes"].update(document["components"]["securitySchemes"])
    for name, schema in webhook_schemas.items():
        _add_schema(merged["components"]["schemas"], name, schema)
    return merged
