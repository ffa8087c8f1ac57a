"""Who is calling, for which tenant. Built from a verified token, never from request data."""

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from .envelope import Actor, ActorKind
from .scopes import Scope


class StaffRole(StrEnum):
    """Cognito groups that grant staff roles. Anything else in `cognito:groups` grants nothing."""

    ADMIN = "caseline-admins"
    STAFF = "caseline-staff"
    VIEWER = "caseline-viewers"  # reads every case of the tenant, changes nothing


# Who may read cases, templates and timelines.
READERS = (StaffRole.ADMIN, StaffRole.STAFF, StaffRole.VIEWER)


class Principal(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    subject: str
    email: str | None = None
    groups: frozenset[str] = frozenset()
    external: bool = False  # an external participant acting through the portal; subject is the participant id
    automation: bool = False  # a template rule acting through a command; subject names the rule
    client: bool = False  # a machine client (OAuth 2.0 client credentials); subject is its client id
    # The scopes an access token granted, which every operation checks; None for ID tokens (groups alone govern).
    scopes: frozenset[Scope] | None = None
    # The app client that obtained the token (a machine client's own id; the staff console's for people): whose
    # usage plan the request counts against (caseline_common.authorizer).
    app_client: str | None = None

    @property
    def roles(self) -> frozenset[StaffRole]:
        return frozenset(StaffRole(group) for group in self.groups if group in StaffRole._value2member_map_)

    def has_any(self, *roles: StaffRole) -> bool:
        return not self.external and bool(self.roles.intersection(roles))

    def actor(self) -> Actor:
        if self.automation:
            return Actor(kind=ActorKind.AUTOMATION, id=self.subject)
        if self.client:
            return Actor(kind=ActorKind.CLIENT, id=self.subject)
        return Actor(
            kind=ActorKind.EXTERNAL if self.external else ActorKind.USER, id=self.subject, display_name=self.email
        )


class TenantContext(BaseModel):
    """The tenant a request runs for and the verified caller. Every use case takes one."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    tenant_id: str
    principal: Principal
    correlation_id: str
    causation_id: str | None = None  # the command (or event) this request carries out, if any
    causation_depth: int = 0

    def caused(self) -> dict[str, Any]:
        """What each event written for this request says about its cause."""
        return {
            "correlation_id": self.correlation_id,
            "causation_id": self.causation_id,
            "causation_depth": self.causation_depth,
        }
