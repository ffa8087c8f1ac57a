"""The OAuth 2.0 scopes of the API: the one place that names them, for the services, the local issuer, the CLI,
the OpenAPI document and infra (Cognito's resource server, API Gateway's method scopes)."""

from enum import StrEnum

RESOURCE_SERVER = "caseline"  # Cognito's resource server identifier: a token's scope is `caseline/<scope>`
# The token endpoint's path on Cognito's auth domain, and on the local gateway.
TOKEN_PATH = "/oauth2/token"  # noqa: S105 - a path, not a secret


class Scope(StrEnum):
    CASES_READ = "cases.read"
    CASES_WRITE = "cases.write"
    TEMPLATES_ADMIN = "templates.admin"
    WEBHOOKS_ADMIN = "webhooks.admin"

    @property
    def qualified(self) -> str:
        """The scope as a token carries it and a client asks for it."""
        return f"{RESOURCE_SERVER}/{self.value}"


DESCRIPTIONS = {
    Scope.CASES_READ: "Read cases, templates, timelines, tasks, search and automation runs",
    Scope.CASES_WRITE: "Open and change cases, their documents, participants and portal links",
    Scope.TEMPLATES_ADMIN: "Create, publish and migrate case templates",
    Scope.WEBHOOKS_ADMIN: "Manage webhook subscriptions",
}

# A client holding only these acts as a viewer in the role checks; any other makes it act as an administrator,
# and the operation's scope is the finer guard.
READ_ONLY = frozenset({Scope.CASES_READ})


def default_scope(method: str) -> Scope:
    """An operation's scope unless it names one: reading needs `cases.read`, anything else `cases.write`."""
    return Scope.CASES_READ if method in ("GET", "HEAD") else Scope.CASES_WRITE


def ours(claim: str | None) -> frozenset[Scope]:
    """The scopes of our resource server in a token's space-separated `scope` claim; others mean nothing here."""
    prefix = f"{RESOURCE_SERVER}/"
    names = (word.removeprefix(prefix) for word in (claim or "").split() if word.startswith(prefix))
    return frozenset(Scope(name) for name in names if name in Scope._value2member_map_)
