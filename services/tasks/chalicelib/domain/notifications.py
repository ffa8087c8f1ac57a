"""Notifications: who hears of an event, of what kind, and by which channel.

For one event and the case it left behind, `notices` names the people to tell and why (assigned, mentioned, client
activity, SLA); never the person who acted. A mention is `@Name` or `@e-mail` resolved through the people directory,
folded as its search folds (no case, no accents); one that names nobody, or more than one person, tells nobody.
Each person chooses per kind whether they hear in the app, by e-mail, both or not at all (`Preferences`).

A notification is keyed by (recipient, event id, kind): an event delivered twice makes the same notices, which the
store writes once.
"""

import re
from collections.abc import Callable, Iterable
from datetime import datetime
from enum import StrEnum

from caseline_common.consumer import StatefulEvent
from caseline_common.contracts import CaseSnapshot
from caseline_common.envelope import ActorKind
from caseline_common.events import (
    CaseAssigned,
    CommentAdded,
    EventType,
    SlaTimer,
    TaskAssigned,
    TaskCreated,
    data_of,
)
from pydantic import BaseModel, ConfigDict, Field

from .people import Person, folded


class NotificationKind(StrEnum):
    ASSIGNED = "assigned"
    MENTIONED = "mentioned"
    CLIENT_ACTIVITY = "client_activity"
    SLA = "sla"


class Channel(StrEnum):
    IN_APP = "in_app"
    EMAIL = "email"
    BOTH = "both"
    NONE = "none"

    @property
    def in_app(self) -> bool:
        return self in (Channel.IN_APP, Channel.BOTH)

    @property
    def email(self) -> bool:
        return self in (Channel.EMAIL, Channel.BOTH)


DEFAULT_CHANNELS = {
    NotificationKind.ASSIGNED: Channel.BOTH,
    NotificationKind.MENTIONED: Channel.BOTH,
    NotificationKind.CLIENT_ACTIVITY: Channel.IN_APP,
    NotificationKind.SLA: Channel.BOTH,
}


class Preferences(BaseModel):
    """How a person hears of each kind of notification."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        defer_build=True,
        json_schema_extra={
            "examples": [{"assigned": "both", "mentioned": "email", "client_activity": "in_app", "sla": "none"}]
        },
    )

    assigned: Channel = DEFAULT_CHANNELS[NotificationKind.ASSIGNED]
    mentioned: Channel = DEFAULT_CHANNELS[NotificationKind.MENTIONED]
    client_activity: Channel = DEFAULT_CHANNELS[NotificationKind.CLIENT_ACTIVITY]
    sla: Channel = DEFAULT_CHANNELS[NotificationKind.SLA]

    def channel(self, kind: NotificationKind) -> Channel:
        chosen: Channel = getattr(self, kind.value)
        return chosen


class Notice(BaseModel):
    """One person to tell of one event, and what to tell them."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    recipient: str = Field(description="The subject of the person told.")
    kind: NotificationKind
    event_id: str
    event_type: str
    case_id: str
    case_title: str
    task_id: str | None = None
    summary: str
    actor: str | None = Field(default=None, description="The subject of the person who acted, if one did.")
    occurred_at: datetime

    @property
    def id(self) -> str:
        return notification_id(self.event_id, self.kind)


# A notification's id: its event's id (a ULID) and its kind.
NOTIFICATION_ID = r"^[0-9A-HJKMNP-TV-Z]{26}-[a-z_]{1,32}$"


def notification_id(event_id: str, kind: NotificationKind) -> str:
    return f"{event_id}-{kind.value}"


# What external participants do in the portal that the case's owner hears of.
CLIENT_ACTIONS: dict[str, str] = {
    EventType.COMMENT_ADDED: "commented",
    EventType.DOCUMENT_ADDED: "shared a document",
    EventType.CASE_FIELDS_CHANGED: "changed details",
    EventType.TASK_COMPLETED: "completed a task",
}
_EMAIL_MENTION = re.compile(r"@([\w.+-]+@[\w-]+(?:\.[\w-]+)+)")


def mentioned(body: str, people: Iterable[Person]) -> set[str]:
    """The subjects a comment mentions: `@e-mail` or `@Full Name`, ignoring case and accents. At each `@`, the
    longest name that follows it wins; a name two people share, or none, mentions nobody. Without an `@` the
    directory is not read at all (it may be read lazily)."""
    if "@" not in body:
        return set()
    people = list(people)
    by_email: dict[str, list[str]] = {}
    for person in people:
        if person.email:
            by_email.setdefault(folded(person.email), []).append(person.subject)
    found: set[str] = set()
    for match in _EMAIL_MENTION.finditer(body):
        subjects = by_email.get(folded(match.group(1)), [])
        if len(subjects) == 1:
            found.add(subjects[0])
    text = folded(body)
    for start in (index + 1 for index, char in enumerate(text) if char == "@"):
        found |= _named_at(text, start, people)
    return found


def _named_at(text: str, start: int, people: list[Person]) -> set[str]:
    """The one person whose whole name starts at `start` (then a boundary), the longest name first."""
    candidates: dict[str, list[str]] = {}
    for person in people:
        name = folded(person.name)
        end = start + len(name)
        if name and text.startswith(name, start) and (end == len(text) or not text[end].isalnum()):
            candidates.setdefault(name, []).append(person.subject)
    if not candidates:
        return set()
    longest = max(candidates, key=len)
    subjects = candidates[longest]
    return {subjects[0]} if len(subjects) == 1 else set()


def notices(event: StatefulEvent, people: Iterable[Person]) -> list[Notice]:
    """Whom the event concerns and why, without the person who acted. Events about no case, or whose case did not
    travel with them, concern nobody here."""
    case = event.case
    if case is None or event.case_id is None:
        return []
    finder = _FINDERS.get(event.type)
    found: list[tuple[str, NotificationKind, str, str | None]] = []
    if finder is not None:
        found += finder(event, case, people)
    if event.actor.kind is ActorKind.EXTERNAL and event.type in CLIENT_ACTIONS:
        # Not the client's name: it is personal data, which erasure reaches in the case and not in 90 days of these.
        summary = f"A client {CLIENT_ACTIONS[event.type]}"
        found.append((case.owner, NotificationKind.CLIENT_ACTIVITY, summary, None))
    acting = event.actor.id if event.actor.kind is ActorKind.USER else None
    made: dict[tuple[str, NotificationKind], Notice] = {}
    for recipient, kind, summary, task_id in found:
        if recipient and recipient != acting and (recipient, kind) not in made:
            made[recipient, kind] = Notice(
                recipient=recipient,
                kind=kind,
                event_id=event.event_id,
                event_type=event.type,
                case_id=case.id,
                case_title=case.title,
                task_id=task_id,
                summary=summary,
                actor=acting,
                occurred_at=event.occurred_at,
            )
    return list(made.values())


_Found = list[tuple[str, NotificationKind, str, str | None]]


def _case_assigned(event: StatefulEvent, _case: CaseSnapshot, _people: Iterable[Person]) -> _Found:
    data = data_of(event, CaseAssigned)
    return [(data.after, NotificationKind.ASSIGNED, "The case was assigned to you", None)]


def _task_assigned(event: StatefulEvent, _case: CaseSnapshot, _people: Iterable[Person]) -> _Found:
    data = data_of(event, TaskAssigned)
    if data.after.assignee is None or data.after.assignee == data.before.assignee:
        return []
    return [(data.after.assignee, NotificationKind.ASSIGNED, f"Task assigned to you: {data.title}", data.task_id)]


def _task_created(event: StatefulEvent, _case: CaseSnapshot, _people: Iterable[Person]) -> _Found:
    data = data_of(event, TaskCreated)
    if data.assignee is None:
        return []
    return [(data.assignee, NotificationKind.ASSIGNED, f"Task assigned to you: {data.title}", data.task_id)]


def _comment_added(event: StatefulEvent, _case: CaseSnapshot, people: Iterable[Person]) -> _Found:
    """Staff mention colleagues; an external participant's `@` mentions nobody (they do not know the staff)."""
    if event.actor.kind is ActorKind.EXTERNAL:
        return []
    data = data_of(event, CommentAdded)
    summary = "You were mentioned in a comment"
    return [(subject, NotificationKind.MENTIONED, summary, None) for subject in sorted(mentioned(data.body, people))]


def _sla(event: StatefulEvent, case: CaseSnapshot, _people: Iterable[Person]) -> _Found:
    """A task's SLA concerns its assignee (its case's owner while it has none); a stage's, the case's owner."""
    data = data_of(event, SlaTimer)
    what = "breached" if event.type == EventType.SLA_BREACHED else "nearly due"
    if data.scope == "task" and data.task_id is not None:
        task = next((task for task in case.tasks if task.id == data.task_id), None)
        recipient = (task.assignee if task else None) or case.owner
        return [(recipient, NotificationKind.SLA, f"Task {what}: {data.title or data.task_id}", data.task_id)]
    return [(case.owner, NotificationKind.SLA, f"Stage SLA {what}: {data.stage or case.stage}", None)]


_FINDERS: dict[str, Callable[[StatefulEvent, CaseSnapshot, Iterable[Person]], _Found]] = {
    EventType.CASE_ASSIGNED: _case_assigned,
    EventType.TASK_ASSIGNED: _task_assigned,
    EventType.TASK_CREATED: _task_created,
    EventType.COMMENT_ADDED: _comment_added,
    EventType.SLA_WARNING: _sla,
    EventType.SLA_BREACHED: _sla,
}
