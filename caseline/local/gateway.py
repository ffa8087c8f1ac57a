"""One local HTTP endpoint for the whole API, as API Gateway is in AWS.

It dispatches by the merged route table of the services, checks a route's token and its client's usage plan as API
Gateway does with the API's authorizer (`client_limits.py`), serves the merged OpenAPI document with
interactive docs (Swagger UI at /docs) and the API reference `make reference` rendered (/reference), the development
issuer's JWKS and its token endpoint for machine clients (what Cognito's domain serves in AWS, `token_endpoint.py`),
the development mailbox, and document downloads (what CloudFront does in AWS, `downloads.py`).
"""

import base64
import http.client
import json
import mimetypes
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import swagger_ui
from caseline_common.auth import TokenVerifier
from caseline_common.authorizer import RouteScopes, operation_access
from caseline_common.http import PROBLEM_JSON
from caseline_common.openapi import API_TITLE, merge_openapi
from caseline_common.runtime import API_VERSION
from caseline_common.scopes import RESOURCE_SERVER, Scope
from caseline_common.scopes import TOKEN_PATH as OAUTH_TOKEN_PATH
from chalice.config import Config
from chalice.local import LocalGateway, RouteMatcher

from ..paths import ROOT
from ..usage_plans import UsagePlans
from .client_limits import ClientLimits
from .console import CONSOLE_PREFIX, TOKEN_PATH, console_config, console_file, dev_token
from .downloads import DOWNLOADS_PREFIX, DocumentDownloads
from .idp import DevIdentityProvider
from .loader import LoadedService
from .mailbox import MAILBOX_PATH, Mailbox, mailbox_json, mailbox_page
from .token_endpoint import TokenEndpoint

API_GATEWAY_MAX_BODY = 10 * 1024 * 1024
SWAGGER_STATIC = Path(swagger_ui.__file__).parent / "static"
IDP_PREFIX = "/dev-idp"
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
REFERENCE_PAGE = ROOT / "build" / "reference" / "index.html"  # `make reference` (and `make dev`) writes it


def _problem(status: int, title: str, detail: str) -> tuple[int, dict[str, str], bytes]:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    return status, {"Content-Type": PROBLEM_JSON}, json.dumps(body).encode()


@dataclass
class _Backend:
    service: LoadedService
    gateway: LocalGateway
    lock: threading.Lock = field(default_factory=threading.Lock)  # one Lambda container: one request at a time


class RouteConflictError(ValueError):
    pass


class LocalApi:
    """The routing and the extra local pages, independent of the HTTP server so tests can call it."""

    def __init__(
        self,
        services: list[LoadedService],
        idp: DevIdentityProvider,
        mailbox: Mailbox | None = None,
        token_endpoint: TokenEndpoint | None = None,
        usage_plans: UsagePlans | None = None,
    ) -> None:
        self._idp = idp
        self._usage_plans = usage_plans
        self._client_limits: ClientLimits | None = None
        self._token_routes: set[tuple[str, str]] = set()
        self._limits_lock = threading.Lock()
        self._token_endpoint = token_endpoint
        self._mailbox = mailbox
        self._downloads = DocumentDownloads.from_environment()  # the emulator of the stack that is starting
        self._backends: dict[str, _Backend] = {}
        self._owners: dict[str, _Backend] = {}
        for service in services:
            backend = _Backend(
                service=service,
                gateway=LocalGateway(
                    service.app,
                    Config.create(app_name=service.app.app_name, lambda_timeout=30, lambda_memory_size=512),
                ),
            )
            self._backends[service.name] = backend
            for path in service.app.routes:
                if path in self._owners:
                    raise RouteConflictError(
                        f"{path} is declared by {self._owners[path].service.name} and {service.name}"
                    )
                self._owners[path] = backend
        self._matcher = RouteMatcher(list(self._owners))

    def service(self, name: str) -> LoadedService:
        """The loaded copy of a service that serves its HTTP API."""
        return self._backends[name].service

    @property
    def route_owners(self) -> dict[str, str]:
        return {path: backend.service.name for path, backend in self._owners.items()}

    def openapi(self) -> dict[str, Any]:
        documents = []
        for name, backend in self._backends.items():
            status, _headers, body = self._invoke(backend, "GET", f"/openapi/{name}.json", {}, None)
            assert status == 200, f"{name} did not serve its OpenAPI document"
            documents.append(json.loads(body))
        merged: dict[str, Any] = merge_openapi(title=API_TITLE, version=API_VERSION, documents=documents)
        return merged

    def handle(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes | None
    ) -> tuple[int, dict[str, Any], bytes]:
        parsed = urlparse(target)
        path = parsed.path
        local = self._local_page(method, path, parsed.query, headers)
        if local is not None:
            return local
        if path == OAUTH_TOKEN_PATH and self._token_endpoint is not None:  # Cognito's, on its auth domain in AWS
            if method != "POST":
                status, problem_headers, payload = _problem(405, "Method not allowed", f"{path} accepts POST.")
                return status, {**problem_headers, "Allow": "POST"}, payload
            return self._token_endpoint.handle(dict(headers), body)
        if body is not None and len(body) > API_GATEWAY_MAX_BODY:
            return _problem(413, "Payload too large", "The request body exceeds 10 MB.")
        try:
            route = self._matcher.match_route(target).route
        except ValueError:
            return _problem(404, "Not found", f"No route for {path}.")
        backend = self._owners[route]
        allowed = backend.service.app.routes[route]
        if method not in allowed:
            status, problem_headers, payload = _problem(405, "Method not allowed", f"{path} does not accept {method}.")
            return status, {**problem_headers, "Allow": ", ".join(sorted(allowed))}, payload  # RFC 9110 requires it
        refused = self._refusal(method, route, headers)
        if refused is not None:
            return refused
        return self._invoke(backend, method, target, headers, body)

    def _refusal(self, method: str, route: str, headers: Mapping[str, str]) -> tuple[int, dict[str, Any], bytes] | None:
        """API Gateway's authorizer and usage plans, for a route that needs a token (with usage plans only)."""
        limits = self._limits()
        if limits is None or (method, route) not in self._token_routes:
            return None
        refusal = limits.admit(headers, method, route)
        if refusal is None:
            return None
        status, problem_headers, payload = _problem(refusal.status, refusal.title, refusal.detail)
        if refusal.retry_after_seconds is not None:
            problem_headers["Retry-After"] = str(refusal.retry_after_seconds)
        return status, problem_headers, payload

    def _limits(self) -> ClientLimits | None:
        """Built at the first request: which routes need a token, and their scopes, come from the OpenAPI documents."""
        if self._usage_plans is None:
            return None
        with self._limits_lock:
            if self._client_limits is None:
                scoped = []
                for path, operations in self.openapi()["paths"].items():
                    for method, operation in operations.items():
                        if method.upper() not in HTTP_METHODS:
                            continue  # a path's shared `parameters`
                        public, scope = operation_access(operation)
                        if not public and scope is not None:
                            self._token_routes.add((method.upper(), path))
                            scoped.append((method.upper(), path, Scope(scope.removeprefix(f"{RESOURCE_SERVER}/"))))
                verifier = TokenVerifier(
                    issuer=self._idp.issuer, client_ids=[self._idp.client_id], jwks_url=self._idp.jwks_url
                )
                self._client_limits = ClientLimits(verifier, RouteScopes.of(scoped), self._usage_plans.limits)
            return self._client_limits

    @staticmethod
    def _invoke(
        backend: _Backend, method: str, target: str, headers: Mapping[str, str], body: bytes | None
    ) -> tuple[int, dict[str, Any], bytes]:
        with backend.lock:
            response = backend.gateway.handle_request(method=method, path=target, headers=dict(headers), body=body)
        response_headers: dict[str, Any] = {name: str(value) for name, value in (response.get("headers") or {}).items()}
        for name, values in (response.get("multiValueHeaders") or {}).items():  # e.g. several Set-Cookie
            response_headers[name] = [str(value) for value in values] if len(values) > 1 else str(values[0])
        raw = response.get("body") or b""
        if response.get("isBase64Encoded"):
            return response["statusCode"], response_headers, base64.b64decode(raw)
        return response["statusCode"], response_headers, raw.encode() if isinstance(raw, str) else raw

    def _mailbox_page(self, path: str) -> tuple[int, dict[str, str], bytes]:
        if self._mailbox is None:
            endpoint = os.environ.get("CASELINE_AWS_ENDPOINT_URL")  # the emulator the local stack started
            if not endpoint:
                return _problem(404, "Not found", "No emulator, so no mailbox.")
            self._mailbox = Mailbox(endpoint)
        try:
            mails = self._mailbox.mails()
        except (OSError, http.client.HTTPException) as error:
            return _problem(502, "Bad gateway", f"The emulator did not answer: {error}.")
        headers = {"Cache-Control": "no-store"}
        if path.endswith(".json"):
            return 200, {**headers, "Content-Type": "application/json"}, mailbox_json(mails)
        return 200, {**headers, "Content-Type": "text/html; charset=utf-8"}, mailbox_page(mails).encode()

    def _download(self, path: str, query: str) -> tuple[int, dict[str, str], bytes]:
        if self._downloads is None:
            return _problem(404, "Not found", "No emulator, so no documents.")
        try:
            return self._downloads.get(path, query)
        except (OSError, http.client.HTTPException) as error:
            return _problem(502, "Bad gateway", f"The emulator did not answer: {error}.")

    def _local_page(
        self, method: str, path: str, query: str = "", headers: Mapping[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes] | None:
        if method != "GET":
            return None
        if path.startswith(f"{DOWNLOADS_PREFIX}/"):
            return self._download(path.removeprefix(DOWNLOADS_PREFIX), query)
        if path in ("/console", CONSOLE_PREFIX) or path.startswith(CONSOLE_PREFIX):
            if path == f"{CONSOLE_PREFIX}config.json":
                return 200, {"Content-Type": "application/json", "Cache-Control": "no-store"}, console_config()
            accept_encoding = next(
                (value for name, value in (headers or {}).items() if name.lower() == "accept-encoding"), ""
            )
            found = console_file("/console/index.html" if path == "/console" else path, accept_encoding)
            return found or _problem(404, "Not found", f"No console file {path}.")
        if path == TOKEN_PATH:
            return dev_token(self._idp, query) or _problem(404, "Not found", "No such development user.")
        if path == "/openapi.json":
            return 200, {"Content-Type": "application/json"}, json.dumps(self.openapi()).encode()
        if path == f"{IDP_PREFIX}/.well-known/jwks.json":
            return 200, {"Content-Type": "application/json"}, json.dumps(self._idp.jwks()).encode()
        if path in ("/reference", "/reference/", "/docs", "/docs/") or path.startswith("/docs/static/"):
            return _docs_page(path)
        if path in (MAILBOX_PATH, f"{MAILBOX_PATH}.json"):
            return self._mailbox_page(path)
        if path == "/":
            return 200, {"Content-Type": "text/html; charset=utf-8"}, _INDEX_PAGE.encode()
        return None


def _docs_page(path: str) -> tuple[int, dict[str, str], bytes]:
    """The API reference (Redoc, rendered by `make reference`) and the interactive docs (Swagger UI, its assets
    from the swagger-ui-py package): both load nothing from elsewhere."""
    if path.startswith("/reference"):
        if not REFERENCE_PAGE.is_file():
            return _problem(404, "Not found", "No API reference yet: run `make reference` to render it.")
        return (
            200,
            {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"},
            REFERENCE_PAGE.read_bytes(),
        )
    if path in ("/docs", "/docs/"):
        return 200, {"Content-Type": "text/html; charset=utf-8"}, _DOCS_PAGE.encode()
    asset = (SWAGGER_STATIC / path.removeprefix("/docs/static/")).resolve()
    if asset.parent != SWAGGER_STATIC.resolve() or not asset.is_file():
        return _problem(404, "Not found", f"No asset {path}.")
    content_type = mimetypes.guess_type(asset.name)[0] or "application/octet-stream"
    return 200, {"Content-Type": content_type, "Cache-Control": "max-age=3600"}, asset.read_bytes()


_DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Caseline API</title>
<link rel="stylesheet" href="/docs/static/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/static/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui", persistAuthorization: true,
  validatorUrl: null});</script>
</body></html>"""

_INDEX_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Caseline (local)</title></head>
<body><h1>Caseline, running locally</h1>
<ul><li><a href="/console/">Staff console</a></li>
<li><a href="/reference">API reference</a></li><li><a href="/docs">Interactive API docs</a></li>
<li><a href="/openapi.json">OpenAPI 3.1 document</a></li>
<li><a href="/health/cases">Health of the cases service</a></li>
<li><a href="/_dev/mailbox">Mailbox: e-mail sent locally</a></li></ul></body></html>"""


class _RequestHandler(BaseHTTPRequestHandler):
    server: "GatewayServer"
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # TCP_NODELAY: an answer leaves as soon as it is written

    def _handle(self) -> None:
        declared = self.headers.get("Content-Length") or "0"
        if not declared.isdigit():
            status, headers, payload = _problem(400, "Bad request", "Content-Length must be a non-negative integer.")
            self.close_connection = True
        elif int(declared) > API_GATEWAY_MAX_BODY:
            status, headers, payload = _problem(413, "Payload too large", "The request body exceeds 10 MB.")
            self.close_connection = True
        else:
            body = self.rfile.read(int(declared)) if int(declared) else None
            status, headers, payload = self.server.api.handle(self.command, self.path, dict(self.headers.items()), body)
        self._respond(status, headers, payload)

    def _respond(self, status: int, headers: Mapping[str, Any], payload: bytes) -> None:
        """Status line, headers and body in one write: written apart, on a kept connection the body waited
        for the client's delayed ACK of the headers (Nagle's algorithm), about 40 ms on every request."""
        reason = self.responses[status][0] if status in self.responses else ""
        head = [f"{self.protocol_version} {status} {reason}", f"Server: {self.version_string()}"]
        head.append(f"Date: {self.date_time_string()}")
        for name, value in headers.items():
            head += [f"{name}: {each}" for each in (value if isinstance(value, list) else [value])]
        head.append(f"Content-Length: {len(payload)}")
        if self.close_connection:
            head.append("Connection: close")
        self.log_request(status, len(payload))
        self.wfile.write("\r\n".join([*head, "", ""]).encode("latin-1") + (b"" if self.command == "HEAD" else payload))

    # Every method OpenAPI can name gets an API answer (405 where undeclared), not http.server's HTML 501.
    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_TRACE = do_QUERY = _handle

    def log_message(self, format: str, *args: Any) -> None:
        self.server.access_log.append(format % args)
        del self.server.access_log[:-1000]


class GatewayServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str, port: int) -> None:
        super().__init__((host, port), _RequestHandler)
        self.api: LocalApi
        self.access_log: list[str] = []

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"
