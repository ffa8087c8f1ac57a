"""The OpenAPI 3.1 document of a service's operations, and the merged document of the whole API, with the
webhooks integrators receive (one per event type of the catalogue)."""

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from functools import cache
from http import HTTPStatus
from typing import Any, Literal

from pydantic import BaseModel, Field, TypeAdapter, create_model
from pydantic.json_schema import models_json_schema

from .consumer import StatefulEvent
from .event_examples import CASES, ENVELOPES, TENANT
from .events import DATA_MODELS, WEBHOOK_EVENTS, EventType
from .examples import CASE_ID
from .http import (
    BEARER_SCHEME,
    CLIENT_SCHEME,
    CORRELATION_ID,
    DEPRECATION,
    DEPRECATION_LINK,
    GATEWAY_STATUSES,
    IDEMPOTENCY_KEY,
    IDEMPOTENT_REPLAYED,
    JSON,
    PATH_PARAMETER,
    PROBLEM_JSON,
    RETRY_AFTER,
    SUNSET,
    Header,
    Operation,
    Problem,
)
from .pagination import Page
from .scopes import DESCRIPTIONS, TOKEN_PATH, Scope

API_TITLE = "Caseline API"
API_DESCRIPTION = """\
Caseline runs business processes as **cases**: an insurance claim, an employee's onboarding, a patient referral.
A case is opened from a published **template** and holds its fields, stage, participants, tasks, documents and
decisions on one hash-chained **timeline**; automations act on its events, and external participants follow it in
a **portal** without an account. One base URL serves every operation, whichever service answers it.

**Authentication.** Every operation but health, the OpenAPI documents and the template schema needs
`Authorization: Bearer <token>`: a person's OIDC token of the tenant's user pool, or an integrator's access token
from OAuth 2.0 client credentials at `/oauth2/token` (`caseline client create` issues the client). A client may
call only the operations its scopes cover (`cases.read`, `cases.write`, `templates.admin`, `webhooks.admin`; each
operation names its own); a person may do what their groups and, on a case, the roles its template gives them
allow. A case the caller may not see answers 404.

**Errors** are RFC 9457 `application/problem+json`: `type`, `title`, `status`, `detail`, the request's
`correlation_id`, and for invalid input `errors`, each with its JSON Pointer. Each operation lists the statuses it
answers with and what they mean there.

**Retrying safely.** Every `POST` that creates or changes something takes an `Idempotency-Key`: within 24 hours
the same key and request act once and answer as the first time did (with `Idempotent-Replayed: true`).

**Concurrency.** A case answer carries its version as `ETag`; send it back as `If-Match` and a change to a case
that moved on since answers 412 instead of overwriting it.

**Lists** answer `{"items": [...], "next_cursor": "..."}`; pass `next_cursor` back as `cursor` for the next page,
until it is absent. A cursor works only for the query that issued it.

**Events.** Every change to a case is an event. Webhook subscriptions (`/webhooks`) receive them as signed POSTs,
described under *Webhooks* below with the body of each event type; the change feed (`GET /events`) lists them in
order from a cursor, so a client can catch up after downtime or poll instead.

**Versions.** New operations, optional fields, event types and enum values may appear at any time; what breaks a
client is announced ahead, and a deprecated operation says so in `Deprecation` and `Sunset` headers on every
answer. See *Versioning and deprecation* in the API guide (docs/api.md).
"""
# No licence is granted for Caseline (the repository has none); an SPDX reference of our own says so.
API_LICENSE = {"name": "Proprietary: all rights reserved", "identifier": "LicenseRef-Caseline-Proprietary"}
API_CONTACT = {"name": "The Caseline maintainers, through the team that operates your tenant"}

# What each error status means, in words that hold for every operation that answers it.
_ERROR_MEANINGS = {
    400: "The request is malformed: JSON that does not parse, or an invalid cursor, `Idempotency-Key` or `If-Match`.",
    401: "Not authenticated: no bearer token (or session), or one that does not verify.",
    403: "Authenticated, but the caller is not allowed to do this.",
    404: "No such resource, or one the caller may not see: the two answer alike.",
    406: "The answer was asked for in a media type this operation does not produce.",
    409: "Refused by the resource's current state: a write that raced another, or a state that does not allow "
    "this (`current_version` says where a versioned resource stands).",
    412: "`If-Match` names a version the resource has moved on from; `current_version` says which it is now.",
    413: "The request body is too large.",
    415: "The request body is not JSON.",
    422: "The input is invalid: `errors` lists each problem with its JSON Pointer.",
    428: "A precondition is required: send `If-Match` with the version you read.",
    429: "Too many attempts: try again later.",
    500: "An unexpected failure; it is logged under the answer's correlation id.",
    503: "Not ready yet, such as a case opened moments ago that has not reached this service: send the same "
    "request again after `Retry-After` seconds.",
}
_KEY_REUSED = " Or the `Idempotency-Key` was sent before with another request."
# An example answer per error status (its problem type, title and a detail as the API words it); 422's is the
# Problem model's own example.
_PROBLEM_EXAMPLES: dict[int, tuple[str, str, str]] = {
    400: ("malformed-json", "Malformed JSON", "The body is not valid JSON: Expecting value: line 1 column 1 (char 0)."),
    401: ("unauthenticated", "Authentication required", "Send Authorization: Bearer <token>."),
    403: ("forbidden", "Forbidden", "Your roles on this case do not allow you to close the case."),
    404: ("not-found", "Not found", "No case 01JF3Z8Q4V6W7X8Y9Z0A1B2C3D."),
    406: ("not-acceptable", "Not acceptable", "The export is application/zip."),
    409: ("conflict", "Conflict", "The case is closed."),
    412: ("precondition-failed", "Precondition failed", 'The case is at version 8, not "7".'),
    413: ("payload-too-large", "Payload too large", "The request body is 300000 bytes; the limit is 204800."),
    415: ("unsupported-media-type", "Unsupported media type", "Send application/json."),
    428: ("precondition-required", "Precondition required", "Send If-Match or the version you read."),
    429: ("rate-limited", "Too many requests", "Too many attempts; try again in a minute."),
    500: ("internal-error", "Internal error", "The request failed; it has been logged."),
    503: ("unavailable", "Service unavailable", "The case is on its way here; send the request again in a second."),
}


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
        for name, schema in query_schema.get("properties", {}).items():
            parameter = {"name": name, "in": "query", "required": name in required, "schema": schema}
            if schema.get("deprecated"):  # a parameter on its way out says so where clients read it
                parameter["deprecated"] = True
            parameters.append(parameter)
    headers = [*spec.headers, *((IDEMPOTENCY_KEY,) if spec.idempotent_create else ())]
    return parameters + [header.as_parameter() for header in headers]


def error_meaning(spec: Operation, status: int) -> str:
    """What an error status means for this operation."""
    meaning = _ERROR_MEANINGS.get(status, HTTPStatus(status).phrase + ".")
    return meaning + (_KEY_REUSED if status == 422 and spec.idempotent_create else "")


def model_example(model: type[BaseModel]) -> Any:
    """The first example of a model's `json_schema_extra`, or None; a page's is a page of its item's example."""
    extra = model.model_config.get("json_schema_extra")
    examples = extra.get("examples") if isinstance(extra, dict) else None
    if isinstance(examples, list) and examples:
        return examples[0]
    metadata = model.__pydantic_generic_metadata__
    if metadata["origin"] is Page:
        item = model_example(metadata["args"][0])
        return None if item is None else {"items": [item], "next_cursor": "eyJwayI6IkNBU0VTIiwic2siOiIwMUpGM1o4In0"}
    return None


def problem_example(status: int) -> dict[str, Any]:
    """What an error answer of this status looks like; a status without an example of ours, by its phrase."""
    if status == 422:
        example: dict[str, Any] = model_example(Problem)
        return example
    phrase = HTTPStatus(status).phrase
    slug, title, detail = _PROBLEM_EXAMPLES.get(status, (phrase.lower().replace(" ", "-"), phrase, f"{phrase}."))
    example = {"type": f"urn:caseline:problem:{slug}", "title": title, "status": status, "detail": detail}
    if status in (409, 412):
        example["current_version"] = 8
    return {**example, "correlation_id": "01JF3ZF2W4X6Y8Z0A2B4C6D8E0"}


def _media(schema: Any, model: type[BaseModel]) -> dict[str, Any]:
    example = model_example(model)
    return {"schema": schema} if example is None else {"schema": schema, "example": example}


def _description(spec: Operation) -> str | None:
    """The view's docstring, a deprecation's notice, and what each error status means here. None without a
    docstring, so that linters report the operation as undescribed."""
    if not spec.description:
        return None
    parts = [spec.description]
    if spec.deprecation is not None:
        since, sunset = spec.deprecation.since.date().isoformat(), spec.deprecation.sunset.date().isoformat()
        parts.append(
            f"**Deprecated** since {since}; it stops answering on {sunset}. "
            f"[What to use instead]({spec.deprecation.link})."
        )
    errors = "\n".join(f"- `{status}`: {error_meaning(spec, status)}" for status in spec.errors)
    parts.append(f"**Errors**\n\n{errors}")
    return "\n\n".join(parts)


def _headers(spec: Operation, headers: Iterable[Header]) -> dict[str, Any]:
    every = [*headers, *((DEPRECATION, SUNSET, DEPRECATION_LINK) if spec.deprecation else ())]
    return {header.name: header.as_response_header() for header in every}


def _responses(spec: Operation, refs: Mapping[Any, Any]) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status in spec.errors:
        headers = [replace(CORRELATION_ID, required=status not in GATEWAY_STATUSES)]
        headers += [RETRY_AFTER] if status == 503 else []
        responses[str(status)] = {
            "description": error_meaning(spec, status),
            "headers": _headers(spec, headers),
            "content": {PROBLEM_JSON: {"schema": refs[(Problem, "serialization")], "example": problem_example(status)}},
        }
    headers = [CORRELATION_ID, *spec.response_headers, *((IDEMPOTENT_REPLAYED,) if spec.idempotent_create else ())]
    success: dict[str, Any] = {"description": spec.summary, "headers": _headers(spec, headers)}
    if spec.response_model is not None:
        success["content"] = {JSON: _media(refs[(spec.response_model, "serialization")], spec.response_model)}
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
    tags: dict[str, str] = {}
    for spec in operations:
        operation: dict[str, Any] = {"operationId": spec.operation_id, "summary": spec.summary}
        description = _description(spec)
        if description is not None:
            operation["description"] = description
        operation |= {
            "tags": [spec.tag.name],
            "parameters": _parameters(spec, schemas),
            "responses": _responses(spec, refs),
            "security": spec.security(),
        }
        if spec.deprecation is not None:
            operation["deprecated"] = True
        if spec.request_model is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {JSON: _media(refs[(spec.request_model, "validation")], spec.request_model)},
            }
        paths.setdefault(spec.path, {})[spec.method.lower()] = operation
        _add_tag(tags, spec.tag.name, spec.tag.description)
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
        "tags": [{"name": name, "description": text} for name, text in tags.items()],
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
        __base__=StatefulEvent,  # what the automations service consumes and delivers: `case` beside the envelope
        __doc__=f"A `{event_type}` event, and the case as it left it.",
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


def webhook_example(event_type: EventType) -> dict[str, Any]:
    """A delivery of the motor claim's event of this type (event_examples.py), built and dumped through its body
    model, so it is the JSON a subscription receives."""
    envelope = ENVELOPES[event_type]
    event = {
        **envelope,
        "tenant_id": TENANT,
        "case_id": CASE_ID,
        "type": event_type.value,
        "data": model_example(DATA_MODELS[event_type]),
        "case": CASES[event_type],
    }
    body = {"type": event_type.value, "timestamp": envelope["occurred_at"], "data": event}
    example: dict[str, Any] = _webhook_body(event_type).model_validate(body).model_dump(mode="json")
    return example


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
                "operationId": f"{event_type.value.replace('.', '_')}_webhook",
                "description": f"Sent to each subscription whose `event_types` match `{event_type}`.",
                "tags": ["webhooks"],
                "security": [],  # the receiver checks `webhook-signature`, which no security scheme describes
                "parameters": headers,
                "requestBody": {
                    "required": True,
                    "content": {
                        JSON: {"schema": refs[(body, "serialization")], "example": webhook_example(event_type)}
                    },
                },
                "responses": {
                    "200": {"description": "Received. Any other answer, or none within 5 s, is tried again later."}
                },
            }
        }
        for event_type, body in bodies.items()
    }
    return webhooks, definitions.get("$defs", {})


def _add_tag(tags: dict[str, str], name: str, description: str) -> None:
    if tags.setdefault(name, description) != description:
        raise ValueError(f"tag {name} is described differently by two route modules")


def _add_schema(schemas: dict[str, Any], name: str, schema: Any) -> None:
    existing = schemas.setdefault(name, schema)
    if existing != schema:
        raise ValueError(f"schema {name} differs between services")


def merge_openapi(
    *, title: str, version: str, documents: Iterable[dict[str, Any]], server: str = "/"
) -> dict[str, Any]:
    """One document for the one API that integrators see, with the webhooks they receive, served at `server`
    (by default where the document itself is). Two services never declare the same route."""
    webhooks, webhook_schemas = event_webhooks()
    tags: dict[str, str] = {}
    merged: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": API_DESCRIPTION,
            "contact": API_CONTACT,
            "license": API_LICENSE,
        },
        "servers": [{"url": server, "description": "The API"}],
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
        for tag in document.get("tags", []):
            _add_tag(tags, tag["name"], tag["description"])
    for name, schema in webhook_schemas.items():
        _add_schema(merged["components"]["schemas"], name, schema)
    merged["tags"] = [{"name": name, "description": text} for name, text in tags.items()]
    return merged
