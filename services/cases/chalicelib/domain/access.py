"""Who may do what on a case: template roles held through token groups or through participation."""

from dataclasses import dataclass

from caseline_common.contracts import (
    CaseSnapshot,
    FieldAccess,
    ParticipantKind,
    Permission,
    RoleDefinition,
    TemplateDefinition,
)
from caseline_common.errors import ForbiddenError, NotFoundError
from caseline_common.tenant import Principal, StaffRole


@dataclass(frozen=True)
class CaseAccess:
    """The caller's rights on one case. Tenant admins hold every right on every case."""

    admin: bool
    roles: tuple[RoleDefinition, ...]

    @property
    def can_view(self) -> bool:
        return self.admin or any(Permission.VIEW in role.permissions for role in self.roles)

    def can(self, permission: Permission) -> bool:
        return self.admin or any(permission in role.permissions for role in self.roles)

    def role_keys(self) -> set[str]:
        return {role.key for role in self.roles}

    def field_access(self, key: str) -> FieldAccess | None:
        if self.admin:
            return FieldAccess.EDIT
        granted = {role.fields.get(key, role.fields.get("*")) for role in self.roles}
        if FieldAccess.EDIT in granted:
            return FieldAccess.EDIT
        return FieldAccess.VIEW if FieldAccess.VIEW in granted else None

    def require(self, permission: Permission, doing: str) -> None:
        if not self.can(permission):
            raise ForbiddenError(f"Your role on this case does not allow you to {doing} ({permission}).")


def case_access(template: TemplateDefinition, case: CaseSnapshot, principal: Principal) -> CaseAccess:
    if principal.has_any(StaffRole.ADMIN):
        return CaseAccess(admin=True, roles=tuple(template.roles))
    held = {
        participant.role
        for participant in case.participants
        if participant.kind is ParticipantKind.INTERNAL and participant.user_id == principal.subject
    }
    roles = tuple(role for role in template.roles if role.key in held or principal.groups & set(role.groups))
    return CaseAccess(admin=False, roles=roles)


def visible_case(template: TemplateDefinition, case: CaseSnapshot, principal: Principal) -> CaseAccess:
    """The caller's access, or NotFound for a case they may not see, so ids cannot be probed."""
    access = case_access(template, case, principal)
    if not access.can_view:
        raise NotFoundError(f"No case {case.id}.")
    return access


def redact(case: CaseSnapshot, access: CaseAccess) -> CaseSnapshot:
    """The case with only the fields the caller's roles may view."""
    if access.admin:
        return case
    fields = {key: value for key, value in case.fields.items() if access.field_access(key) is not None}
    return case if fields == case.fields else case.model_copy(update={"fields": fields})
