"""Use cases of notifications: what each bus event tells whom (in the app and by e-mail, as each person chose), and
the list, the read marks and the preferences a person asks for (only ever their own).

Exactly once: a notification is written with a conditional put on (recipient, event id, kind), so an event delivered
again writes nothing new. Its e-mail is sent at least once and marked sent once SES took it: the mark is the
idempotency marker, and an event delivered again sends only what is still unmarked. A crash after SES took a message
and before the mark is the one case of a second message (at-least-once rather than at-most-once: a lost e-mail about
an assignment is worse than a repeated one)."""

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Protocol

from caseline_common.access import case_readers
from caseline_common.consumer import StatefulEvent
from caseline_common.contracts import CaseSnapshot, TemplateDefinition
from caseline_common.errors import ForbiddenError, NotFoundError
from caseline_common.resources import NOTIFYING_EVENT_TYPES
from caseline_common.tenant import READERS, TenantContext
from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from .domain.inbox import CaseNotProjectedError
from .domain.notifications import CLIENT_ACTIONS, NOTIFICATION_ID, Notice, NotificationKind, Preferences, notices
from .domain.people import Person, reader_terms

# The event types that may notify someone (resources.NOTIFIED_EVENTS selects these and no other).
NOTIFYING = frozenset({*NOTIFYING_EVENT_TYPES, *CLIENT_ACTIONS})


NOTIFICATION_EXAMPLE: JsonDict = {
    "id": "01JF3Z8Q4V6W7X8Y9Z0A1B2C3E-assigned",
    "kind": "assigned",
    "event_type": "task.assigned",
    "case_id": "01JF3Z8Q4V6W7X8Y9Z0A1B2C3D",
    "case_title": "Water damage from a burst pipe, Köln-Ehrenfeld",
    "task_id": "01JF3Z8H7C1Y8A925V0KZSQECP",
    "summary": "Task assigned to you: Acknowledge the claim to the policyholder",
    "actor": "6b1f3c1e-4f0a-4d35-9a52-2f1d7c0e9a41",
    "occurred_at": "2027-01-04T09:12:00Z",
    "read": False,
}


class Notification(BaseModel):
    """A notification as its recipient's list shows it."""

    model_config = ConfigDict(
        frozen=True,
        defer_build=True,
        json_schema_extra={"examples": [NOTIFICATION_EXAMPLE]},
    )

    id: str = Field(description="The event's id and the kind: one notification per person, event and kind.")
    kind: NotificationKind
    event_type: str
    case_id: str
    case_title: str
    task_id: str | None = None
    summary: str
    actor: str | None = Field(default=None, description="The subject of the person who acted (see GET /people).")
    occurred_at: datetime
    read: bool = False


class NotificationList(BaseModel):
    model_config = ConfigDict(
        defer_build=True,
        json_schema_extra={
            "examples": [
                {
                    "items": [NOTIFICATION_EXAMPLE],
                    "next_cursor": None,
                    "unread": 1,
                    "unread_exact": True,
                }
            ]
        },
    )

    items: list[Notification]
    next_cursor: str | None = Field(default=None, description="Pass as `cursor` for the next page; absent on the last.")
    unread: int = Field(description="The caller's unread notifications (all of them, not only this page's).")
    unread_exact: bool = Field(default=True, description="False when counting stopped at its bound (a lower bound).")


class MarkedRead(BaseModel):
    model_config = ConfigDict(defer_build=True, json_schema_extra={"examples": [{"marked": 3, "unread": 0}]})

    marked: int
    unread: int


class NotificationStore(Protocol):
    """Where notifications and preferences are kept, per recipient."""

    def preferences(self, subject: str) -> Preferences: ...

    def save_preferences(self, subject: str, preferences: Preferences) -> None: ...

    def add(self, notice: Notice, *, in_app: bool, mail: bool) -> bool:
        """Writes the notice unless it is there already: True when this call wrote it."""
        ...

    def mail_pending(self, recipient: str, notification_id: str) -> bool: ...

    def mark_mailed(self, recipient: str, notification_id: str) -> None: ...

    def page(self, recipient: str, *, limit: int, cursor: str | None) -> tuple[list[Notification], str | None]: ...

    def unread(self, recipient: str) -> tuple[int, bool]: ...

    def mark_read(self, recipient: str, notification_id: str) -> bool:
        """False when the recipient has no such notification."""
        ...

    def mark_all_read(self, recipient: str) -> int: ...


class People(Protocol):
    """The people directory, read whole: mentions are resolved and addresses found in it."""

    def people(self) -> list[Person]: ...


class Templates(Protocol):
    """The published templates the task inbox keeps: who may read a case follows from its template's roles."""

    def template(self, key: str, version: int) -> TemplateDefinition | None: ...


class Mailer(Protocol):
    def send(self, to: list[str], subject: str, text: str, html: str | None = None) -> str: ...


@dataclass(frozen=True)
class Delivered:
    written: int
    mailed: int


class NotificationService:
    def __init__(
        self,
        store: NotificationStore,
        directory: People,
        templates: Templates,
        mailer: Callable[[], Mailer],
        *,
        console_url: str | None,
    ) -> None:
        self._store, self._directory, self._templates = store, directory, templates
        self._mailer, self._console_url = mailer, console_url

    # delivery

    def consume(self, event: StatefulEvent) -> Delivered:
        if event.type not in NOTIFYING or event.case is None:
            return Delivered(0, 0)
        people = _Directory(self._directory)
        readers = _Readers(self._templates, event.case)
        written = mailed = 0
        for notice in notices(event, people):
            if notice.kind is NotificationKind.MENTIONED and not readers.may_read(people.by_subject[notice.recipient]):
                continue  # the notification would show the case's title to someone the case is hidden from
            channel = self._store.preferences(notice.recipient).channel(notice.kind)
            person = people.by_subject.get(notice.recipient) if channel.email else None
            mail = channel.email and person is not None and person.email is not None
            if not (channel.in_app or mail):
                continue
            if self._store.add(notice, in_app=channel.in_app, mail=mail):
                written += 1
            else:  # delivered before: send only what was not marked sent then
                mail = self._store.mail_pending(notice.recipient, notice.id)
            if mail and person is not None and person.email:
                self._mailer().send([person.email], *self._message(notice))
                self._store.mark_mailed(notice.recipient, notice.id)
                mailed += 1
        return Delivered(written, mailed)

    def _message(self, notice: Notice) -> tuple[str, str]:
        link = f"\n\nOpen the case: {self._console_url}/#/cases/{notice.case_id}" if self._console_url else ""
        text = (
            f"{notice.summary}\n\nCase: {notice.case_title}{link}\n\n"
            "You get this e-mail because of your notification settings in Caseline (Notifications, Settings)."
        )
        return f"{notice.summary} · {notice.case_title}", text

    # what a person asks

    def notifications(self, tenant: TenantContext, *, limit: int, cursor: str | None) -> NotificationList:
        me = _person(tenant)
        items, next_cursor = self._store.page(me, limit=limit, cursor=cursor)
        unread, exact = self._store.unread(me)
        return NotificationList(items=items, next_cursor=next_cursor, unread=unread, unread_exact=exact)

    def mark_read(self, tenant: TenantContext, notification_id: str) -> MarkedRead:
        me = _person(tenant)
        if re.fullmatch(NOTIFICATION_ID, notification_id) is None or not self._store.mark_read(me, notification_id):
            raise NotFoundError(f"You have no notification {notification_id}.")
        return MarkedRead(marked=1, unread=self._store.unread(me)[0])

    def mark_all_read(self, tenant: TenantContext) -> MarkedRead:
        me = _person(tenant)
        marked = self._store.mark_all_read(me)
        return MarkedRead(marked=marked, unread=self._store.unread(me)[0])

    def preferences(self, tenant: TenantContext) -> Preferences:
        return self._store.preferences(_person(tenant))

    def set_preferences(self, tenant: TenantContext, preferences: Preferences) -> Preferences:
        self._store.save_preferences(_person(tenant), preferences)
        return preferences


class _Directory:
    """The people directory of one event's delivery, read once and only if a mention or an e-mail needs it (most
    comments mention nobody, and a notification shown only in the app needs no address)."""

    def __init__(self, directory: People) -> None:
        self._directory = directory

    @cached_property
    def by_subject(self) -> dict[str, Person]:
        return {person.subject: person for person in self._directory.people()}

    def __iter__(self) -> Iterator[Person]:
        return iter(self.by_subject.values())


class _Readers:
    """Who may read the event's case, worked out once and only when a mention needs it."""

    def __init__(self, templates: Templates, case: CaseSnapshot) -> None:
        self._templates, self._case = templates, case

    @cached_property
    def terms(self) -> frozenset[str]:
        template = self._templates.template(self._case.template_key, self._case.template_version)
        if template is None:  # published before the inbox kept it: the queue delivers the event again
            raise CaseNotProjectedError(f"template {self._case.template_key} v{self._case.template_version}")
        return case_readers(template, self._case.participants)

    def may_read(self, person: Person) -> bool:
        return bool(self.terms & reader_terms(person))


def _person(tenant: TenantContext) -> str:
    """The caller's subject: notifications are a person's, so machine clients, rules and externals have none."""
    principal = tenant.principal
    if principal.client or principal.automation or not principal.has_any(*READERS):
        raise ForbiddenError("Notifications are for the tenant's people (a Caseline group), not machine clients.")
    return principal.subject
