"""Thin HTTP layer for Chalice blueprints.

Each operation is declared once: its pydantic models validate the request and generate the OpenAPI 3.1
document (`openapi.py`), and every error leaves as RFC 9457 problem+json, mapped here and nowhere else.
"""

import importlib
import inspect
import json
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from aws_lambda_powertools import Logger
from chalice.app import Blueprint, Request, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .auth import AuthenticationError, TokenVerifier
from .coldstart import IN_LAMBDA, deferred
from .envelope import new_id
from .errors import (
    ConflictError,
    DomainError,
    FieldIssue,
    ForbiddenError,
    InvalidCursorError,
    InvalidInputError,
    NotFoundError,
    PreconditionFailedError,
    UnavailableError,
    issues_from_validation,
)
from .scopes import Scope, default_scope
from .tenant import Principal, TenantContext
from .text import ID_PATTERN

JSON = "application/json"
PROBLEM_JSON = "application/problem+json"
CORRELATION_HEADER = "x-correlation-id"
IDEMPOTENCY_HEADER = "idempotency-key"
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
PATH_PARAMETER = re.compile(r"{(\w+)}")
# Every id in a path (ULIDs, template keys, Cognito subjects, participant ids) fits this; anything else names
# nothing that exists, and would otherwise reach DynamoDB as an oversized or odd key.
_PATH_VALUE = re.compile(ID_PATTERN)

ModelT = TypeVar("ModelT", bound=BaseModel)
SessionT = TypeVar("SessionT")


class Problem(BaseModel):
    """RFC 9457 problem details."""

    model_config = ConfigDict(
        extra="allow",
        defer_build=True,
        json_schema_extra={
            "examples": [
                {
                    "type": "urn:caseline:problem:validation-error",
                    "title": "Validation failed",
                    "status": 422,
                    "detail": "Some field values are invalid.",
                    "instance": "/cases",
                    "correlation_id": "01JF3Z8Q4V6W7X8Y9Z0A1B2C3D",
                    "errors": [
                        {
                            "location": "body",
                            "pointer": "/fields/incident_date",
                            "detail": "date field: Input should be a valid date",
                        }
                    ],
                }
            ]
        },
    )

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    correlation_id: str | None = None
    errors: list[FieldIssue] | None = Field(default=None, description="Every invalid input, with where it is.")
    current_version: int | None = Field(default=None, description="On a conflict: the resource's current version.")
    unmet: list[dict[str, str]] | None = Field(
        default=None, description="On a blocked transition: each unmet criterion, by stage, in words."
    )
    required_scope: str | None = Field(
        default=None, description="On 403 insufficient-scope: the scope the operation needs, which the token lacks."
    )


class ProblemError(Exception):
    """An HTTP-level refusal that happens before any use case runs."""

    def __init__(
        self,
        status: int,
        slug: str,
        title: str,
        detail: str,
        issues: list[FieldIssue] | None = None,
        extensions: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(detail)
        self.status, self.slug, self.title, self.detail, self.issues = status, slug, title, detail, issues
        self.extensions = extensions or {}
        self.headers = headers or {}


def problem_for(error: Exception) -> ProblemError:
    if isinstance(error, ProblemError):
        return error
    if isinstance(error, AuthenticationError):
        return ProblemError(401, "unauthenticated", "Authentication required", str(error))
    if isinstance(error, InvalidCursorError):
        return ProblemError(400, "invalid-cursor", "Invalid cursor", str(error))
    if isinstance(error, InvalidInputError):
        return ProblemError(422, "validation-error", error.title, error.detail, error.issues)
    statuses: dict[type[DomainError], tuple[int, str]] = {
        PreconditionFailedError: (412, "precondition-failed"),
        UnavailableError: (503, "unavailable"),
        NotFoundError: (404, "not-found"),
        ForbiddenError: (403, "forbidden"),
        ConflictError: (409, "conflict"),
    }
    for error_type, (status, slug) in statuses.items():
        if isinstance(error, error_type):
            return ProblemError(
                status, slug, error.title, error.detail, extensions=error.extensions, headers=error.headers
            )
    if isinstance(error, DomainError):
        return ProblemError(400, "bad-request", error.title, error.detail, extensions=error.extensions)
    return ProblemError(500, "internal-error", "Internal error", "The request failed; it has been logged.")


def problem_response(problem: ProblemError, *, instance: str | None, correlation_id: str) -> Response:
    body = Problem(
        type=f"urn:caseline:problem:{problem.slug}",
        title=problem.title,
        status=problem.status,
        detail=problem.detail,
        instance=instance,
        correlation_id=correlation_id,
        errors=problem.issues,
        **problem.extensions,
    )
    return Response(
        body=body.model_dump_json(exclude_none=True),
        status_code=problem.status,
        headers={**problem.headers, "Content-Type": PROBLEM_JSON, "X-Correlation-Id": correlation_id},
    )


@dataclass(frozen=True)
class Call:
    """One validated HTTP request, as the view function sees it."""

    context: TenantContext | None
    body: BaseModel | None
    query: BaseModel | None
    path: Mapping[str, str]
    headers: Mapping[str, str]
    idempotency_key: str | None
    session: Any = None  # what a SessionAuth operation's `resolve` returned

    def tenant(self) -> TenantContext:
        assert self.context is not None, "public operations have no tenant context"
        return self.context

    def session_as(self, kind: type[SessionT]) -> SessionT:
        assert isinstance(self.session, kind), "only SessionAuth operations have a session"
        return self.session

    def body_as(self, model: type[ModelT]) -> ModelT:
        assert isinstance(self.body, model)
        return self.body

    def query_as(self, model: type[ModelT]) -> ModelT:
        assert isinstance(self.query, model)
        return self.query


@dataclass(frozen=True)
class Reply:
    """What a view returns: a model, a JSON document or raw bytes, and the status and headers to send."""

    body: BaseModel | dict[str, Any] | bytes | None
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    media_type: str = JSON
    replayed: bool = False  # an earlier request's answer, given again for its Idempotency-Key


@dataclass(frozen=True)
class Header:
    """A header an operation reads or answers with, as its OpenAPI document describes it."""

    name: str
    description: str
    schema: Mapping[str, Any] = field(default_factory=lambda: {"type": "string"})
    required: bool = False

    def as_parameter(self) -> dict[str, Any]:
        return {"name": self.name, "in": "header", **self.as_response_header()}

    def as_response_header(self) -> dict[str, Any]:
        return {"required": self.required, "description": self.description, "schema": dict(self.schema)}


LOCATION = Header(
    "Location", "Where the created resource can be read.", {"type": "string", "format": "uri-reference"}, required=True
)
IDEMPOTENCY_KEY = Header(
    "Idempotency-Key",
    "Send a key of your choosing to retry safely: within 24 hours the same key with the same request acts only "
    "once and answers as the first time did; with a different request it answers 422.",
    {"type": "string", "minLength": 1, "maxLength": 255, "pattern": _IDEMPOTENCY_KEY.pattern},
)
IDEMPOTENT_REPLAYED = Header(
    "Idempotent-Replayed",
    "`true` when this answer replays an earlier request with the same Idempotency-Key, which acted once.",
    {"type": "string", "enum": ["true"]},
)
CORRELATION_ID = Header(
    "X-Correlation-Id",
    "The request's correlation id (the client's X-Correlation-Id, or a new one); its events carry it too.",
    required=True,
)
RETRY_AFTER = Header(
    "Retry-After", "Seconds to wait before sending the same request again.", {"type": "string", "pattern": r"^\d+$"}
)


def cookies(header: str) -> dict[str, str]:
    """A Cookie header's cookies, the first of each name. Parsed by hand: `SimpleCookie` raises on one odd cookie
    another page on the same host set, which would lock a person out."""
    found: dict[str, str] = {}
    for pair in header.split(";"):
        name, sep, value = pair.strip().partition("=")
        if sep and name and name not in found:
            found[name] = value.strip()
    return found


@dataclass(frozen=True)
class SessionAuth:
    """How an operation authenticates when its caller holds a session the service issued itself (a browser page
    without an account) rather than a bearer token: the session's cookie, and a header that must repeat its CSRF
    token. `resolve(cookie, csrf)` returns the session, which the view reads as `call.session`, or raises;
    `problems` are the answers to what it, or the use cases, raise about sessions. `localize(problem, error,
    headers, session)`, when given, words every refusal for the person the session is (or was) for: a person on a
    page reads it, in their language; `session` is None when there is none. The OpenAPI document names it as an
    API key in a cookie (OpenAPI has no session scheme) and the header as a required parameter. API Gateway lets
    such operations through without its authorizer: the service checks them."""

    scheme: str
    cookie: str
    csrf_header: Header
    description: str
    resolve: Callable[[str | None, str | None], Any]
    problems: Mapping[type[Exception], ProblemError] = field(default_factory=dict)
    localize: Callable[[ProblemError, Exception, Mapping[str, str], Any], ProblemError] | None = None

    def authenticate(self, headers: Mapping[str, str]) -> Any:
        cookie = cookies(headers.get("cookie", "")).get(self.cookie)
        return self.resolve(cookie, headers.get(self.csrf_header.name.lower()))

    def problem(self, error: Exception, headers: Mapping[str, str], session: Any) -> ProblemError:
        problem = next((each for kind, each in self.problems.items() if isinstance(error, kind)), None)
        problem = problem or problem_for(error)
        return problem if self.localize is None else self.localize(problem, error, headers, session)

    def security_scheme(self) -> dict[str, Any]:
        return {"type": "apiKey", "in": "cookie", "name": self.cookie, "description": self.description}


BEARER_SCHEME = "bearer"  # a person's token (the staff console's)
CLIENT_SCHEME = "oauth2"  # a machine client's, by OAuth 2.0 client credentials


@dataclass(frozen=True)
class Tag:
    """A group of operations in the OpenAPI document: by default the route module that declares them, described
    by its docstring."""

    name: str
    description: str


# The least notice docs/api.md promises between deprecating an operation and its sunset.
MINIMUM_NOTICE = timedelta(days=180)


@dataclass(frozen=True)
class Deprecation:
    """An operation that is going away: since when it is deprecated, when it stops answering (at least
    MINIMUM_NOTICE later), and the page that says what to use instead. Every answer says so in headers (RFC 9745
    `Deprecation`, RFC 8594 `Sunset`, a `Link` with rel="deprecation"), and the document marks it `deprecated`."""

    since: datetime
    sunset: datetime
    link: str

    def __post_init__(self) -> None:
        if self.since.tzinfo is None or self.sunset.tzinfo is None or self.sunset - self.since < MINIMUM_NOTICE:
            raise ValueError(f"a deprecation needs aware dates, the sunset at least {MINIMUM_NOTICE.days} days later")

    def headers(self) -> dict[str, str]:
        from email.utils import format_datetime  # only deprecated operations need it

        return {
            DEPRECATION.name: f"@{int(self.since.timestamp())}",
            SUNSET.name: format_datetime(self.sunset, usegmt=True),
            DEPRECATION_LINK.name: f'<{self.link}>; rel="deprecation"',
        }


DEPRECATION = Header(
    "Deprecation",
    "This operation is deprecated, since the time given (RFC 9745: `@` and seconds since the epoch).",
    {"type": "string", "pattern": r"^@\d+$"},
    required=True,
)
SUNSET = Header(
    "Sunset", "When this operation stops answering (RFC 8594, an HTTP date).", {"type": "string"}, required=True
)
DEPRECATION_LINK = Header(
    "Link", 'The page that says what to use instead, with rel="deprecation".', {"type": "string"}, required=True
)


# API Gateway may refuse these itself (authorizer, WAF, size) before any service sets a correlation id.
GATEWAY_STATUSES = frozenset({401, 403, 413})


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    operation_id: str
    summary: str
    tag: Tag
    request_model: type[BaseModel] | None
    query_model: type[BaseModel] | None
    response_model: type[BaseModel] | None
    status: int
    public: bool
    idempotent_create: bool
    errors: tuple[int, ...]
    response_media_type: str = JSON
    headers: tuple[Header, ...] = ()
    response_headers: tuple[Header, ...] = ()
    path_types: Mapping[str, Any] = field(default_factory=dict)
    session: SessionAuth | None = None
    scope: Scope | None = None  # what a token that carries scopes must hold; None for public and session operations
    description: str = ""  # the view's docstring
    deprecation: Deprecation | None = None

    def security(self) -> list[dict[str, list[str]]]:
        """Either requirement lets a caller in: a person's bearer token, or a machine client's with the scope."""
        if self.session is not None:
            return [{self.session.scheme: []}]
        if self.scope is None:
            return []
        return [{BEARER_SCHEME: []}, {CLIENT_SCHEME: [self.scope.qualified]}]

    def check_scope(self, principal: Principal) -> None:
        if self.scope is None or principal.scopes is None or self.scope in principal.scopes:
            return
        raise ProblemError(
            403,
            "insufficient-scope",
            "Insufficient scope",
            f"This operation needs the scope {self.scope.qualified}, which the token does not carry.",
            extensions={"required_scope": self.scope.qualified},
            headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{self.scope.qualified}"'},
        )


def _module_tag(module: str) -> Tag:
    """The tag of a route module's operations: its name (`cases` for `chalicelib.api.cases`), its docstring."""
    declaring = sys.modules.get(module)
    return Tag(module.rsplit(".", 1)[-1], inspect.cleandoc((declaring.__doc__ if declaring else None) or ""))


class HttpApi:
    """Declares a service's operations on its Chalice blueprint and keeps them for the OpenAPI document.

    A service's route modules are named with `operations_in`, each with the routes it declares: in Lambda a module
    is imported at the first call of one of its routes (Chalice knows every route from the start), so a function
    creates the models and code of the routes it serves, not of all."""

    def __init__(
        self,
        *,
        service: str,
        blueprint: Blueprint,
        tenant_id: Callable[[], str],
        verifier: Callable[[], TokenVerifier],
        max_request_bytes: Callable[[], int],
        logger: Logger,
        console_origin: Callable[[], str | None] = lambda: None,
    ) -> None:
        self.service = service
        self.blueprint = blueprint
        # Operations by the module of their view, modules in the order declared: the OpenAPI document lists them
        # the same whichever route a function served first.
        self._groups: dict[str, list[Operation]] = {}
        self._tags: dict[str, Tag] = {}  # by route module, as operations_in names them
        self._loaders: list[Callable[[], None]] = []
        self._lazy: dict[tuple[str, str], Callable[[], None]] = {}
        self._views: dict[tuple[str, str], tuple[Operation, Callable[[Call], Reply]]] = {}
        self._tenant_id = tenant_id
        self._verifier = verifier
        self._max_request_bytes = max_request_bytes
        self._logger = logger
        self._console_origin = console_origin

    @property
    def operations(self) -> list[Operation]:
        """The operations declared so far (in Lambda, a route module's once it is loaded: see all_operations)."""
        return [spec for group in self._groups.values() for spec in group]

    def all_operations(self) -> list[Operation]:
        """Every operation of the service, its route modules loaded first."""
        for load in self._loaders:
            load()
        return self.operations

    def operations_in(self, module: str, routes: Mapping[str, tuple[str, str]], tag: Tag | None = None) -> None:
        """Declares that `module` (a full module name) declares these operations, `{operation id: (method, path)}`,
        grouped in the OpenAPI document under `tag` (by default the module's name and docstring). In Lambda each
        route is declared now and the module imported at the first call of one of them; elsewhere the module is
        imported now (coldstart.deferred). Either way it must declare exactly these."""
        expected = {(method, path): operation_id for operation_id, (method, path) in routes.items()}
        self._groups.setdefault(module, [])
        if tag is not None:
            self._tags[module] = tag

        def load() -> None:
            importlib.import_module(module)
            declared = {(spec.method, spec.path): spec.operation_id for spec in self._groups[module]}
            if declared != expected:
                raise RuntimeError(f"{module} declares {sorted(declared.items())}, not {sorted(expected.items())}")

        loaded = deferred(load)
        self._loaders.append(loaded)
        if IN_LAMBDA:
            for key, operation_id in expected.items():
                self._lazy[key] = loaded
                self._route(key, operation_id, self._lazy_handler(key, loaded))

    def _lazy_handler(self, key: tuple[str, str], loaded: Callable[[], None]) -> Callable[..., Response]:
        def handle(**path_parameters: str) -> Response:
            loaded()
            spec, view = self._views[key]
            return self._dispatch(spec, view, path_parameters)

        return handle

    def _route(self, key: tuple[str, str], operation_id: str, handle: Callable[..., Response]) -> None:
        method, path = key
        handle.__name__ = operation_id
        # Chalice would answer other media types itself, in its own format; _parse_body answers with a problem.
        self.blueprint.route(path, methods=[method], content_types=["*/*"])(handle)

    def operation(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        request: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        response: type[BaseModel] | None = None,
        status: int = 200,
        public: bool = False,
        idempotent_create: bool = False,
        errors: Iterable[int] = (),
        response_media_type: str = JSON,
        headers: Iterable[Header] = (),
        response_headers: Iterable[Header] = (),
        path_types: Mapping[str, Any] | None = None,
        session: SessionAuth | None = None,
        tag: Tag | None = None,
        deprecated: Deprecation | None = None,
        scope: Scope | None = None,
    ) -> Callable[[Callable[[Call], Reply]], Callable[..., Response]]:
        """Declares one operation. For the OpenAPI document, the view's docstring is its description, `headers`
        are the request headers the view reads, `response_headers` those its success answer carries, and
        `path_types` the types of path parameters that are not plain strings, e.g.
        `{"version": Annotated[int, Field(ge=1)]}`. X-Correlation-Id on every answer, and with `idempotent_create`
        the Idempotency-Key parameter and Idempotent-Replayed header, come with them. `session` authenticates by
        the service's own session instead of a bearer token (see SessionAuth); `tag` groups it elsewhere than
        with its route module's operations; `deprecated` adds the deprecation headers to every answer. `scope` is
        what a token that carries scopes must hold: by default `cases.read` to read and `cases.write` otherwise."""
        unknown = set(path_types or {}) - set(PATH_PARAMETER.findall(path))
        if unknown:
            raise ValueError(f"{path} has no parameters {sorted(unknown)}")
        if public and session is not None:
            raise ValueError(f"{path} is either public or for a session")
        if scope is not None and (public or session is not None):
            raise ValueError(f"{path} takes no token, so it has no scope")
        needed = None if public or session is not None else scope or default_scope(method)

        def register(view: Callable[[Call], Reply]) -> Callable[..., Response]:
            spec = Operation(
                method=method,
                path=path,
                operation_id=view.__name__,
                summary=summary,
                tag=tag or self._tags.get(view.__module__) or _module_tag(view.__module__),
                request_model=request,
                query_model=query,
                response_model=response,
                status=status,
                public=public,
                idempotent_create=idempotent_create,
                errors=tuple(
                    sorted(
                        {
                            *errors,
                            *((401, 403) if not public else ()),
                            *(problem.status for problem in (session.problems.values() if session else ())),
                            *((422,) if idempotent_create else ()),  # a key sent again with another request
                            400,
                            500,
                        }
                    )
                ),
                response_media_type=response_media_type,
                headers=(*headers, *((session.csrf_header,) if session else ())),
                response_headers=tuple(response_headers),
                path_types=dict(path_types or {}),
                session=session,
                scope=needed,
                description=inspect.getdoc(view) or "",
                deprecation=deprecated,
            )
            self._groups.setdefault(view.__module__, []).append(spec)

            def handle(**path_parameters: str) -> Response:
                return self._dispatch(spec, view, path_parameters)

            if (method, path) in self._lazy:  # its route is declared already, and calls this view from now on
                self._views[method, path] = (spec, view)
            else:
                self._route((method, path), view.__name__, handle)
            return handle

        return register

    def _dispatch(self, spec: Operation, view: Callable[[Call], Reply], path: dict[str, str]) -> Response:
        request: Request = self.blueprint.current_request
        headers = {name.lower(): value for name, value in (request.headers or {}).items()}
        correlation_id = headers.get(CORRELATION_HEADER) or new_id()
        self._logger.set_correlation_id(correlation_id)
        instance = request.context.get("path") if request.context else None
        session: Any = None
        try:
            session = spec.session.authenticate(headers) if spec.session is not None else None
            call = self._parse(spec, request, headers, path, correlation_id, session)
            reply = view(call)
        except Exception as error:
            problem = spec.session.problem(error, headers, session) if spec.session else problem_for(error)
            if isinstance(error, UnavailableError):  # expected now and then; the caller is told to retry
                self._logger.warning(f"request deferred: {error}", extra={"operation": spec.operation_id})
            elif problem.status >= 500:
                self._logger.exception("request failed", extra={"operation": spec.operation_id})
            response = problem_response(problem, instance=instance, correlation_id=correlation_id)
        else:
            response = self._respond(reply, correlation_id)
        if spec.deprecation is not None:
            response.headers.update(spec.deprecation.headers())
        return self._cors(response, headers)

    def _cors(self, response: Response, headers: dict[str, str]) -> Response:
        """The staff console calls the API from its own origin; only that origin may read the answers."""
        origin = headers.get("origin")
        if origin and origin == self._console_origin():
            response.headers.update(
                {
                    "Access-Control-Allow-Origin": origin,
                    "Access-Control-Expose-Headers": (
                        f"ETag, Location, X-Correlation-Id, {IDEMPOTENT_REPLAYED.name}, Content-Disposition"
                    ),
                    "Vary": "Origin",
                }
            )
        return response

    def _parse(
        self,
        spec: Operation,
        request: Request,
        headers: dict[str, str],
        path: dict[str, str],
        correlation_id: str,
        session: Any,
    ) -> Call:
        context = None
        if spec.session is None and not spec.public:
            principal = self._verifier().principal_from_headers(headers)
            spec.check_scope(principal)
            context = TenantContext(tenant_id=self._tenant_id(), principal=principal, correlation_id=correlation_id)
        for name, value in path.items():
            if not _PATH_VALUE.fullmatch(value):
                raise ProblemError(404, "not-found", "Not found", f"No {name.replace('_', ' ')} {value[:64]!r}.")
        idempotency_key = headers.get(IDEMPOTENCY_HEADER)
        if idempotency_key is not None and (
            not spec.idempotent_create or not _IDEMPOTENCY_KEY.fullmatch(idempotency_key)
        ):
            raise ProblemError(
                400,
                "invalid-idempotency-key",
                "Invalid Idempotency-Key",
                "Idempotency-Key must be 1 to 255 visible ASCII characters, "
                "on operations that create or change something.",
            )
        return Call(
            context=context,
            body=self._parse_body(spec, request, headers),
            query=self._parse_query(spec, request),
            path=path,
            headers=headers,
            idempotency_key=idempotency_key,
            session=session,
        )

    def _parse_body(self, spec: Operation, request: Request, headers: dict[str, str]) -> BaseModel | None:
        if spec.request_model is None:
            return None
        raw = request.raw_body or b""
        if len(raw) > self._max_request_bytes():
            raise ProblemError(
                413,
                "payload-too-large",
                "Payload too large",
                f"The request body is {len(raw)} bytes; the limit is {self._max_request_bytes()}.",
            )
        media_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type != JSON and not media_type.endswith("+json"):
            raise ProblemError(415, "unsupported-media-type", "Unsupported media type", "Send application/json.")
        try:
            document = json.loads(raw)
        except (ValueError, RecursionError) as error:  # bad UTF-8 or JSON, absurd nesting or integer length
            raise ProblemError(
                400, "malformed-json", "Malformed JSON", f"The body is not valid JSON: {error}."
            ) from None
        try:
            return spec.request_model.model_validate(document)
        except ValidationError as error:
            raise InvalidInputError("The request body is invalid.", issues_from_validation(error, "body")) from None

    @staticmethod
    def _parse_query(spec: Operation, request: Request) -> BaseModel | None:
        if spec.query_model is None:
            return None
        try:
            return spec.query_model.model_validate(dict(request.query_params or {}))
        except ValidationError as error:
            raise InvalidInputError("The query string is invalid.", issues_from_validation(error, "query")) from None

    @staticmethod
    def _respond(reply: Reply, correlation_id: str) -> Response:
        headers: dict[str, str | list[str]] = {"X-Correlation-Id": correlation_id, **reply.headers}
        if reply.replayed:
            headers[IDEMPOTENT_REPLAYED.name] = "true"
        if reply.body is None:
            return Response(body="", status_code=reply.status, headers=headers)
        if isinstance(reply.body, bytes):
            return Response(
                body=reply.body, status_code=reply.status, headers={"Content-Type": reply.media_type, **headers}
            )
        if isinstance(reply.body, BaseModel):
            body = reply.body.model_dump_json(by_alias=True)
        else:
            body = json.dumps(reply.body, separators=(",", ":"))
        return Response(body=body, status_code=reply.status, headers={"Content-Type": JSON, **headers})
