"""The change feed: every event the timeline recorded, in the order it recorded them, with who may read each.

An entry is its link on a case's chain, so it is written with the append, once (docs/architecture.md, "The change
feed"). Who may read it and which roles the reader holds on its case are decided from terms the entry carries (the
case as the event left it), so a page of the feed is one Query whatever the number of cases."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from caseline_common.access import (
    ADMIN_TERM,
    VIEWER_TERM,
    CaseAccess,
    case_readers,
    principal_terms,
    viewer_role,
)
from caseline_common.contracts import ParticipantKind, TemplateDefinition
from caseline_common.envelope import EventEnvelope
from caseline_common.event_types import TENANT_EVENTS, EventType
from caseline_common.tenant import Principal, StaffRole
from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from .timeline import CaseMembers

# No longer than the tenant bus's archive keeps events (infra/shared_stack.py, ARCHIVE_RETENTION, the PITR window's
# 35 days): what an integrator missed can be caught up from either for this time.
FEED_RETENTION = timedelta(days=30)
# The feed serves only entries recorded at least this long ago: consumer instances append side by side, so an entry
# stamped a moment before another may be committed (and indexed) a moment after it.
FEED_SETTLE = timedelta(seconds=2)
# What the feed holds: every event on a case's chain (tenant-level events are on none).
FEED_TYPES = frozenset(EventType) - TENANT_EVENTS


def feed_position(moment: datetime) -> str:
    """Where what was recorded at `moment` sorts: fixed-width UTC, so positions compare as strings. An entry's
    position is this, `#`, and its event id."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def expand_types(names: list[str]) -> tuple[str, ...]:
    """Exact types and `family.*` globs as the exact types they name; raises ValueError naming what is unknown."""
    families = {event_type.split(".", 1)[0] for event_type in FEED_TYPES}
    unknown = [name for name in names if name not in FEED_TYPES and not (name.endswith(".*") and name[:-2] in families)]
    if unknown:
        raise ValueError(f"unknown event types: {', '.join(unknown)} (see the event catalogue in docs/api.md)")
    wanted = set(names)
    return tuple(sorted(t for t in FEED_TYPES if t in wanted or f"{t.split('.', 1)[0]}.*" in wanted))


class FeedReaders(BaseModel):
    """Who may read a case's entries, as the case stood when the event was recorded: the terms that view it (as the
    task inbox and the search index keep them, less the admins' and viewers', who view every case) and, per role
    of its template, the staff taking part with it (the groups that hold a role are the template's own)."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    template_key: str
    template_version: int
    readers: frozenset[str]
    members: dict[str, frozenset[str]] = Field(description="Role key -> subjects of the staff taking part with it.")

    @classmethod
    def of(cls, template: TemplateDefinition, members: CaseMembers) -> "FeedReaders":
        taking_part: dict[str, set[str]] = {}
        for participant in members.participants:
            if participant.kind is ParticipantKind.INTERNAL and participant.user_id is not None:
                taking_part.setdefault(participant.role, set()).add(participant.user_id)
        return cls(
            template_key=members.template_key,
            template_version=members.template_version,
            readers=case_readers(template, members.participants) - {ADMIN_TERM, VIEWER_TERM},
            members={role: frozenset(subjects) for role, subjects in taking_part.items()},
        )

    def access(self, principal: Principal, template: Callable[[], TemplateDefinition | None]) -> CaseAccess:
        """The caller's rights on the case, as `roles_held` decides them, from these terms and the template's roles
        (which groups hold each, which fields each may view)."""
        if principal.has_any(StaffRole.ADMIN):
            return CaseAccess(admin=True, roles=())
        if principal.has_any(StaffRole.VIEWER) and not principal.has_any(StaffRole.STAFF):
            return CaseAccess(admin=False, roles=(viewer_role(),))
        definition = template()
        if not principal_terms(principal) & self.readers or definition is None:
            return CaseAccess(admin=False, roles=())
        roles = tuple(
            role
            for role in definition.roles
            if principal.groups & set(role.groups) or principal.subject in self.members.get(role.key, ())
        )
        return CaseAccess(admin=False, roles=roles)


class FeedItem(BaseModel):
    """An entry as the timeline table holds it: the event without its personal part, and who may read it (None
    when no event had carried the case yet: then only admins do)."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    seq: int
    recorded_at: datetime
    event: EventEnvelope
    readers: FeedReaders | None


_ENTRY_EXAMPLE: JsonDict = {
    "seq": 7,
    "recorded_at": "2027-01-04T09:15:02.481Z",
    "event": {
        "event_id": "01JF3Z8Q4V6W7X8Y9Z0A1B2C3D",
        "tenant_id": "acme",
        "case_id": "01JF3Z2K8M4N6P8Q0R2S4T6V8W",
        "type": "case.stage_changed",
        "occurred_at": "2027-01-04T09:15:02.113Z",
        "actor": {"kind": "user", "id": "a1b2c3d4-claims-handler"},
        "data": {
            "version": 5,
            "from": "assessment",
            "to": "settlement",
            "direction": "forward",
            "reason": None,
            "overridden": [],
            "tasks_created": [],
        },
        "personal": {},
        "subjects": [],
        "visibility": "internal",
        "correlation_id": "9f0c6a52-2f57-4e86-9d1e-6b1f0f3b7c21",
    },
}
# The cursor after that entry.
_CURSOR_EXAMPLE = "eyJhZnRlciI6IjIwMjctMDEtMDRUMDk6MTU6MDIuNDgxMDAwWiMwMUpGM1o4UTRWNlc3WDhZOVowQTFCMkMzRCJ9"


class FeedEntry(BaseModel):
    """One entry of the change feed."""

    model_config = ConfigDict(
        defer_build=True,
        json_schema_extra={"examples": [_ENTRY_EXAMPLE]},
    )

    seq: int = Field(description="The event's place on its case's timeline.")
    recorded_at: datetime = Field(description="When the timeline recorded it: the feed's order (then the event id).")
    event: EventEnvelope = Field(
        description="The event without its personal data (`personal` is always empty and `actor.display_name` "
        "absent), with only the field values the caller's roles may view; the webhooks' `data`, less those."
    )


class EventFeed(BaseModel):
    """A page of the change feed. `next_cursor` is always given: keep it, and ask again from it later."""

    model_config = ConfigDict(
        defer_build=True,
        json_schema_extra={
            "examples": [
                {
                    "items": [_ENTRY_EXAMPLE],
                    "next_cursor": _CURSOR_EXAMPLE,
                    "has_more": False,
                }
            ]
        },
    )

    items: list[FeedEntry]
    next_cursor: str = Field(description="Where the next page starts: pass it as `after`.")
    has_more: bool = Field(
        description="Whether entries recorded before this page was asked for remain after it; when false, ask "
        "again from `next_cursor` later (poll) for what is recorded next."
    )
