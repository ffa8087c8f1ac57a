"""The API's request authorizer: whether a token may call a route, and whose usage plan the call counts against.

API Gateway asks it (in AWS) before every route that needs a token, and caches each answer per token, method and
resource for 5 minutes; the local gateway asks `decide` the same question in-process. The check is the services'
own (`auth.TokenVerifier`: signature, issuer, expiry, client) plus the route's scope, so a token without it never
reaches a function. The usage identifier is the app client the token came from: a machine client's own id, the
staff console's for people. Each is the value of an API key bound to one usage plan (`caseline client create
--rate --burst`; the staff plan in infra/api_stack.py), which API Gateway checks before the method's own bucket:
an integrator over its plan gets 429 and spends no one else's capacity (docs/architecture.md, "Throttling").
"""

import re
from collections.abc import Iterable, Mapping
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ConfigDict

from .auth import AuthenticationError, TokenVerifier
from .scopes import Scope, default_scope
from .settings import ServiceSettings
from .tenant import Principal

ROUTE_SCOPES_ENV_VAR = "CASELINE_ROUTE_SCOPES"
# API Gateway answers 401 when an authorizer fails with exactly this message (and 403 to a Deny policy).
UNAUTHORIZED = "Unauthorized"
# API Gateway's answers (status, title, detail) when the authorizer or a usage plan refuses a request, as
# infra/api_stack.py shapes them; the local gateway gives the same.
REFUSALS: dict[str, tuple[int, str, str]] = {
    "unauthorized": (401, "Unauthorized", "A valid bearer token is required."),
    "access-denied": (403, "Forbidden", "The token does not grant this operation's scope."),
    "no-usage-plan": (
        403,
        "Forbidden",
        "This client has no usage plan: an administrator gives it one with `caseline client limit`.",
    ),
    "throttled": (429, "Too many requests", "Slow down and retry later."),
}
# API Gateway's token buckets refill every second: a throttled caller may try again after one.
THROTTLED_RETRY_AFTER_SECONDS = 1
_PATH_PARAMETER = re.compile(r"\{[^{}/]+\}")


def operation_access(operation: Mapping[str, Any] | None) -> tuple[bool, str | None]:
    """From a service's OpenAPI operation: whether API Gateway lets it through without a token (no bearer
    requirement: none at all, or a session the service checks itself), and the qualified scope a token needs. An
    operation the document lacks needs a token."""
    security = operation.get("security", [{"bearer": []}]) if operation is not None else [{"bearer": []}]
    scopes = [scope for requirement in security for scope in requirement.get("oauth2", [])]
    return not any("bearer" in requirement for requirement in security), scopes[0] if scopes else None


class RouteScopes(BaseModel):
    """The scope each route needs, small enough for a Lambda environment variable (4 KB for all of them): only the
    routes whose scope is not their method's default (`scopes.default_scope`) are listed."""

    model_config = ConfigDict(frozen=True)

    others: dict[str, Scope] = {}  # "POST /templates" -> templates.admin

    @classmethod
    def of(cls, routes: Iterable[tuple[str, str, Scope]]) -> "RouteScopes":
        """From every (method, resource path, scope) the API serves with a token."""
        return cls(
            others={f"{method} {path}": scope for method, path, scope in routes if scope != default_scope(method)}
        )

    def needed(self, method: str, resource: str) -> Scope:
        return self.others.get(f"{method} {resource}", default_scope(method))


class AuthorizerSettings(ServiceSettings):
    """The hosting service's settings and the routes' scopes (`CASELINE_ROUTE_SCOPES`, JSON), read once."""

    route_scopes: RouteScopes

    @cached_property
    def verifier(self) -> TokenVerifier:
        return TokenVerifier(issuer=self.oidc_issuer, client_ids=self.oidc_client_ids, jwks_url=self.jwks_url)


class Decision(BaseModel):
    model_config = ConfigDict(frozen=True)

    principal: Principal
    allowed: bool  # False: a valid token without the route's scope (403)
    usage_identifier: str


def decide(
    verifier: TokenVerifier, scopes: RouteScopes, headers: Mapping[str, str], method: str, resource: str
) -> Decision:
    """Raises AuthenticationError for a missing or invalid token (401). People's ID tokens carry no scopes: their
    groups govern, in the services, as they always have."""
    principal = verifier.principal_from_headers(headers)
    if principal.app_client is None:
        raise AuthenticationError("The bearer token names no app client.")
    allowed = principal.scopes is None or scopes.needed(method, resource) in principal.scopes
    return Decision(principal=principal, allowed=allowed, usage_identifier=principal.app_client)


def authorizer_response(event: dict[str, Any], verifier: TokenVerifier, scopes: RouteScopes) -> dict[str, Any]:
    """API Gateway's REQUEST authorizer event in, its policy out: the route's resource (path parameters as
    wildcards, so the cached answer covers every case of `/cases/{case_id}`) allowed or denied, and the usage key."""
    from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
        APIGatewayAuthorizerRequestEvent,
        APIGatewayAuthorizerResponse,
    )

    request = APIGatewayAuthorizerRequestEvent(event)
    try:
        decision = decide(verifier, scopes, request.headers, request.http_method, request.resource)
    except AuthenticationError:
        raise PermissionError(UNAUTHORIZED) from None
    arn = request.parsed_arn
    response = APIGatewayAuthorizerResponse(
        principal_id=decision.principal.subject,
        region=arn.region,
        aws_account_id=arn.aws_account_id,
        api_id=arn.api_id,
        stage=arn.stage,
        partition=arn.partition,
        context={"clientId": decision.usage_identifier},
        usage_identifier_key=decision.usage_identifier,
    )
    resource = _PATH_PARAMETER.sub("*", request.resource)
    if decision.allowed:
        response.allow_route(request.http_method, resource)
    else:
        response.deny_route(request.http_method, resource)
    return response.asdict()
