"""Who may do what on a case: template roles held through token groups or through participation."""

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from .contracts import (
    CaseSnapshot,
    FieldAccess,
    Participant,
    ParticipantKind,
    Permission,
    RoleDefinition,
    TemplateDefinition,
)
from .envelope import EventEnvelope
from .errors import ForbiddenError, NotFoundError
from .tenant import READERS, Principal, StaffRole


@cache
def viewer_role() -> RoleDefinition:
    """What a tenant viewer holds on every case: reading, nothing else."""
    return RoleDefinition(
        key="viewer",
        name="Viewer",
        permissions=[Permission.VIEW, Permission.DOCUMENT_VIEW],
        fields={"*": FieldAccess.VIEW},
    )


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


def roles_held(template: TemplateDefinition, participants: Iterable[Participant], principal: Principal) -> CaseAccess:
    """Staff hold the roles their groups grant plus the one they participate with; an external participant
    (whose subject is their participant id) holds only their participant role."""
    if principal.external:
        held = {p.role for p in participants if p.kind is ParticipantKind.EXTERNAL and p.id == principal.subject}
        return CaseAccess(admin=False, roles=tuple(role for role in template.roles if role.key in held))
    if principal.has_any(StaffRole.ADMIN):
        return CaseAccess(admin=True, roles=tuple(template.roles))
    if principal.has_any(StaffRole.VIEWER) and not principal.has_any(StaffRole.STAFF):
        return CaseAccess(admin=False, roles=(viewer_role(),))
    held = {p.role for p in participants if p.kind is ParticipantKind.INTERNAL and p.user_id == principal.subject}
    roles = tuple(role for role in template.roles if role.key in held or principal.groups & set(role.groups))
    return CaseAccess(admin=False, roles=roles)


# Who may view a case, as terms a projection stores beside what it keeps and a query filters on (the task inbox,
# the search index): the same rule as `roles_held`, turned around. A caller may view the case exactly when
# `principal_terms(principal)` and `case_readers(template, participants)` share a term.
ADMIN_TERM = "admin"
VIEWER_TERM = "viewer"


def group_term(group: str) -> str:
    return f"group:{group}"


def user_term(subject: str) -> str:
    return f"user:{subject}"


def role_readers(role: RoleDefinition, participants: Iterable[Participant]) -> frozenset[str]:
    """Who holds `role` on the case: its groups, and the staff taking part with it."""
    members = {
        user_term(p.user_id)
        for p in participants
        if p.kind is ParticipantKind.INTERNAL and p.role == role.key and p.user_id is not None
    }
    return frozenset({group_term(group) for group in role.groups} | members)


def case_readers(template: TemplateDefinition, participants: Iterable[Participant]) -> frozenset[str]:
    """Terms of everyone who may view the case: admins and viewers always, and the holders of a role that views."""
    participants = list(participants)
    terms = {ADMIN_TERM, VIEWER_TERM}
    for role in template.roles:
        if Permission.VIEW in role.permissions:
            terms |= role_readers(role, participants)
    return frozenset(terms)


def principal_terms(principal: Principal) -> frozenset[str]:
    """The terms a caller who may read cases is known by: none for an external participant (who reads through the
    portal) or a caller without a Caseline group (whom every read of cases refuses)."""
    if principal.external or principal.automation or not principal.has_any(*READERS):
        return frozenset()
    if principal.has_any(StaffRole.ADMIN):
        return frozenset({ADMIN_TERM})
    if principal.has_any(StaffRole.VIEWER) and not principal.has_any(StaffRole.STAFF):
        return frozenset({VIEWER_TERM})
    return frozenset({user_term(principal.subject), *(group_term(group) for group in principal.groups)})


def case_access(template: TemplateDefinition, case: CaseSnapshot, principal: Principal) -> CaseAccess:
    return roles_held(template, case.participants, principal)


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


# Events carry field values in maps keyed by field: `case.opened` its `fields`, `case.fields_changed` its `changes`
# (before/after per field), in `data` and, for fields about people, in `personal`; automation runs and refused
# commands nest the fields an action would set. Every such map, at any depth, keeps only the visible keys.
_FIELD_MAPS = frozenset({"fields", "changes"})


def _without_hidden_fields(value: Any, access: CaseAccess) -> Any:
    if isinstance(value, list):
        return [_without_hidden_fields(each, access) for each in value]
    if not isinstance(value, dict):
        return value
    return {
        name: (
            {key: each for key, each in part.items() if access.field_access(key) is not None}
            if name in _FIELD_MAPS and isinstance(part, dict)
            else _without_hidden_fields(part, access)
        )
        for name, part in value.items()
    }


def redact_event(event: EventEnvelope, access: CaseAccess) -> EventEnvelope:
    """The event with only the field values the caller's roles may view, in `data` and in `personal`."""
    if access.admin:
        return event
    data, personal = _without_hidden_fields(event.data, access), _without_hidden_fields(event.personal, access)
    if data == event.data and personal == event.personal:
        return event
    return event.model_copy(update={"data": data, "personal": personal})
