"""Notifications without AWS: who is told of what for each event type (never the person who acted), mentions
resolved through the directory, each person's channels, a redelivered event that writes and mails nothing twice,
and a caller who sees only their own."""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
from caseline_common.consumer import StatefulEvent
from caseline_common.contracts import CaseSnapshot, TemplateDefinition
from caseline_common.envelope import Actor, ActorKind, new_id
from caseline_common.errors import ForbiddenError, NotFoundError
from caseline_common.events import EventType
from caseline_common.examples import CASE_SNAPSHOT, HANDLER, TEMPLATE_DEFINITION
from caseline_common.tenant import Principal, TenantContext
from service_modules import loaded_module

if TYPE_CHECKING:
    from services.tasks.chalicelib import notification_service as service
    from services.tasks.chalicelib.domain import inbox, people
    from services.tasks.chalicelib.domain import notifications as domain
else:
    domain = loaded_module("tasks", "chalicelib.domain.notifications")
    inbox = loaded_module("tasks", "chalicelib.domain.inbox")
    people = loaded_module("tasks", "chalicelib.domain.people")
    service = loaded_module("tasks", "chalicelib.notification_service")

Kind = domain.NotificationKind
HANDLERS = frozenset({"caseline-staff", "claims-handlers"})  # the motor claim's claims_handler role views its cases
JANA = people.Person(subject="sub-jana", name="Jana Nováková", email="jana@insurer.example", groups=HANDLERS)
LUKAS = people.Person(subject="sub-lukas", name="Lukas Becker", email="lukas@insurer.example", groups=HANDLERS)
OWNER = people.Person(subject="sub-owner", name="Olga Owner", email="olga@insurer.example", groups=HANDLERS)
JAN_1 = people.Person(subject="sub-jan-1", name="Jan Berg", email="jan1@insurer.example", groups=HANDLERS)
JAN_2 = people.Person(subject="sub-jan-2", name="Jan Berg", email="jan2@insurer.example", groups=HANDLERS)
# Staff of another team: no role of the motor claim's template, so its cases are hidden from him.
OTTO = people.Person(subject="sub-otto", name="Otto Other", email="otto@insurer.example", groups={"caseline-staff"})
VERA = people.Person(subject="sub-vera", name="Vera Viewer", email="vera@insurer.example", groups={"caseline-viewers"})
# In no group that grants the role, but a participant of the case with it (CASE_SNAPSHOT's internal participant).
HELGA = people.Person(subject=HANDLER, name="Helga Handler", email="helga@insurer.example", groups={"caseline-staff"})
DIRECTORY = [JANA, LUKAS, OWNER, JAN_1, JAN_2, OTTO, VERA, HELGA]
TASK = "01M8RNAYCRHHR6CA69RH78H7W9"


def _case(**changes: Any) -> CaseSnapshot:
    task = {**CASE_SNAPSHOT["tasks"][0], "id": TASK, "status": "open", "assignee": "sub-lukas", "title": "Call"}
    return CaseSnapshot.model_validate({**CASE_SNAPSHOT, "owner": OWNER.subject, "tasks": [task], **changes})


def _event(kind: str, data: dict[str, Any], *, by: str = "sub-jana", actor: ActorKind = ActorKind.USER) -> Any:
    case = _case()
    return StatefulEvent(
        event_id=new_id(),
        tenant_id=case.tenant_id,
        case_id=case.id,
        type=kind,
        occurred_at=datetime(2027, 1, 4, 9, tzinfo=UTC),
        actor=Actor(kind=actor, id=by, display_name="Jonas Becker" if actor is ActorKind.EXTERNAL else None),
        data=data,
        correlation_id="c",
        case=case,
    )


def _told(event: Any) -> set[tuple[str, str]]:
    return {(notice.recipient, notice.kind.value) for notice in domain.notices(event, DIRECTORY)}


ASSIGNEES = {"assignee": None, "assignee_role": "claims_handler"}
TASK_CREATED = {
    "version": 3,
    "task_id": TASK,
    "key": None,
    "title": "Call",
    "required": False,
    "due_at": None,
    "reason": "r",
    "assignee_role": None,
}
SLA = {"timer_id": "t", "due_at": "2027-01-04T09:00:00Z", "scope": "task", "task_id": TASK, "title": "Call"}


@pytest.mark.parametrize(
    ("kind", "data", "actor", "expected"),
    [
        (EventType.CASE_ASSIGNED, {"version": 2, "before": "sub-owner", "after": "sub-lukas"}, ActorKind.USER,
         {("sub-lukas", "assigned")}),
        (EventType.CASE_ASSIGNED, {"version": 2, "before": "sub-owner", "after": "sub-jana"}, ActorKind.USER,
         set()),  # took it themself
        (EventType.TASK_ASSIGNED,
         {"version": 2, "task_id": TASK, "title": "Call", "before": ASSIGNEES,
          "after": {**ASSIGNEES, "assignee": "sub-lukas"}}, ActorKind.USER, {("sub-lukas", "assigned")}),
        (EventType.TASK_ASSIGNED,
         {"version": 2, "task_id": TASK, "title": "Call", "before": {**ASSIGNEES, "assignee": "sub-lukas"},
          "after": ASSIGNEES}, ActorKind.USER, set()),  # unassigned: nobody to tell
        (EventType.TASK_CREATED, {**TASK_CREATED, "assignee": "sub-owner"}, ActorKind.USER,
         {("sub-owner", "assigned")}),
        (EventType.TASK_CREATED, {**TASK_CREATED, "assignee": None}, ActorKind.USER, set()),
        (EventType.SLA_WARNING, SLA, ActorKind.SYSTEM, {("sub-lukas", "sla")}),  # the task's assignee
        (EventType.SLA_BREACHED, {**SLA, "scope": "stage", "task_id": None, "stage": "assessment"},
         ActorKind.SYSTEM, {("sub-owner", "sla")}),  # a stage's: the case's owner
        (EventType.DOCUMENT_ADDED,
         {"version": 4, "document_type": "id", "document_version": 1, "upload_id": "u", "content_type": "a/b",
          "size": 1, "sha256": "0" * 64}, ActorKind.EXTERNAL, {("sub-owner", "client_activity")}),
        (EventType.COMMENT_ADDED, {"comment_id": "c", "external": True, "body": "Hello @Lukas Becker"},
         ActorKind.EXTERNAL, {("sub-owner", "client_activity")}),  # a client's @ mentions nobody
        (EventType.TASK_COMPLETED,
         {"version": 5, "task_id": TASK, "key": None, "title": "Call", "before": "open", "after": "done"},
         ActorKind.USER, set()),  # staff completing a task is no client activity
    ],
)  # fmt: skip
def test_who_is_told_of_each_event(kind: str, data: dict[str, Any], actor: ActorKind, expected: set[Any]) -> None:
    assert (
        _told(_event(kind, data, actor=actor, by="part-1" if actor is ActorKind.EXTERNAL else "sub-jana")) == expected
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("@Lukas Becker please look", {"sub-lukas"}),
        ("cc @lukas becker, @JANA NOVAKOVA", {"sub-lukas"}),  # folded; Jana wrote it, so she is not told
        ("ask @olga@insurer.example", {"sub-owner"}),
        ("@Jan Berg knows", set()),  # two people share the name: ambiguous
        ("@Lukas Beckerman", set()),  # not a whole name
        ("@nobody here, mail lukas@insurer.example", set()),  # an address without @ before it is no mention
    ],
)
def test_mentions_resolve_through_the_directory(body: str, expected: set[str]) -> None:
    event = _event(EventType.COMMENT_ADDED, {"comment_id": "c", "external": False, "body": body})
    assert _told(event) == {(subject, "mentioned") for subject in expected}


def test_the_actor_is_never_told_and_the_automation_is_no_person() -> None:
    data = {"version": 2, "before": "sub-owner", "after": "sub-lukas"}
    assert _told(_event(EventType.CASE_ASSIGNED, data, by="sub-lukas")) == set()
    assert _told(_event(EventType.CASE_ASSIGNED, data, by="sub-lukas", actor=ActorKind.AUTOMATION)) == {
        ("sub-lukas", "assigned")
    }


def test_preferences_default_per_kind_and_refuse_unknown_channels() -> None:
    defaults = domain.Preferences()
    assert [defaults.channel(kind) for kind in Kind] == ["both", "both", "in_app", "both"]
    with pytest.raises(ValueError, match="pigeon"):
        domain.Preferences.model_validate({"sla": "pigeon"})


@dataclass
class Stored:
    notice: Any
    in_app: bool
    mail: str | None
    read: bool = False


@dataclass
class InMemoryNotifications:
    items: dict[tuple[str, str], Stored] = field(default_factory=dict)
    chosen: dict[str, Any] = field(default_factory=dict)

    def preferences(self, subject: str) -> Any:
        return self.chosen.get(subject, domain.Preferences())

    def save_preferences(self, subject: str, preferences: Any) -> None:
        self.chosen[subject] = preferences

    def add(self, notice: Any, *, in_app: bool, mail: bool) -> bool:
        if (notice.recipient, notice.id) in self.items:
            return False
        self.items[notice.recipient, notice.id] = Stored(notice, in_app, "pending" if mail else None)
        return True

    def mail_pending(self, recipient: str, notification_id: str) -> bool:
        return self.items[recipient, notification_id].mail == "pending"

    def mark_mailed(self, recipient: str, notification_id: str) -> None:
        self.items[recipient, notification_id].mail = "sent"

    def _shown(self, recipient: str) -> list[Stored]:
        mine = [item for (who, _), item in self.items.items() if who == recipient and item.in_app]
        return sorted(mine, key=lambda item: item.notice.id, reverse=True)

    def page(self, recipient: str, *, limit: int, cursor: str | None) -> tuple[list[Any], str | None]:
        return [
            service.Notification(**item.notice.model_dump(exclude={"recipient"}), id=item.notice.id, read=item.read)
            for item in self._shown(recipient)[:limit]
        ], None

    def unread(self, recipient: str) -> tuple[int, bool]:
        return sum(not item.read for item in self._shown(recipient)), True

    def mark_read(self, recipient: str, notification_id: str) -> bool:
        item = self.items.get((recipient, notification_id))
        if item is None or not item.in_app:
            return False
        item.read = True
        return True

    def mark_all_read(self, recipient: str) -> int:
        unread = [item for item in self._shown(recipient) if not item.read]
        for item in unread:
            item.read = True
        return len(unread)


@dataclass
class Directory:
    reads: int = 0

    def people(self) -> list[Any]:
        self.reads += 1
        return DIRECTORY


@dataclass
class Templates:
    """The inbox's copies of published templates: the motor claim, unless it has not arrived yet."""

    arrived: bool = True
    reads: int = 0

    def template(self, key: str, version: int) -> TemplateDefinition | None:
        self.reads += 1
        return TemplateDefinition.model_validate(TEMPLATE_DEFINITION) if self.arrived else None


@dataclass
class Outbox:
    sent: list[tuple[list[str], str]] = field(default_factory=list)
    fail_next: bool = False

    def send(self, to: list[str], subject: str, text: str, html: str | None = None) -> str:
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("SES did not answer")
        self.sent.append((to, subject))
        return "m"


def _service(
    directory: Directory | None = None, templates: Templates | None = None
) -> tuple[Any, InMemoryNotifications, Outbox]:
    store, outbox = InMemoryNotifications(), Outbox()
    notifications = service.NotificationService(
        store, directory or Directory(), templates or Templates(), lambda: outbox, console_url=None
    )
    return notifications, store, outbox


def _as(subject: str, **principal: Any) -> TenantContext:
    groups = frozenset({"caseline-staff"})
    return TenantContext(
        tenant_id="t", principal=Principal(subject=subject, groups=groups, **principal), correlation_id="c"
    )


ASSIGN_LUKAS = {"version": 2, "before": "sub-owner", "after": "sub-lukas"}


def test_a_redelivered_event_writes_and_mails_once_and_a_failed_mail_is_sent_on_the_next_delivery() -> None:
    notifications, store, outbox = _service()
    event = _event(EventType.CASE_ASSIGNED, ASSIGN_LUKAS)
    outbox.fail_next = True
    with pytest.raises(RuntimeError):
        notifications.consume(event)  # written, not mailed: SQS delivers it again
    assert notifications.consume(event) == service.Delivered(written=0, mailed=1)
    assert notifications.consume(event) == service.Delivered(written=0, mailed=0)
    assert outbox.sent == [(["lukas@insurer.example"], "The case was assigned to you · Rear-end collision on the A7")]
    assert len(store.items) == 1


def test_channels_decide_the_list_and_the_mail() -> None:
    notifications, store, outbox = _service()
    store.chosen["sub-lukas"] = domain.Preferences(assigned=domain.Channel.NONE)
    assert notifications.consume(_event(EventType.CASE_ASSIGNED, ASSIGN_LUKAS)) == service.Delivered(0, 0)
    store.chosen["sub-lukas"] = domain.Preferences(assigned=domain.Channel.EMAIL)
    notifications.consume(_event(EventType.CASE_ASSIGNED, ASSIGN_LUKAS))
    assert len(outbox.sent) == 1
    assert notifications.notifications(_as("sub-lukas"), limit=10, cursor=None).unread == 0  # e-mail only
    store.chosen["sub-lukas"] = domain.Preferences(assigned=domain.Channel.IN_APP)
    notifications.consume(_event(EventType.CASE_ASSIGNED, ASSIGN_LUKAS))
    assert len(outbox.sent) == 1
    assert notifications.notifications(_as("sub-lukas"), limit=10, cursor=None).unread == 1


def test_a_person_sees_and_marks_only_their_own_and_machine_clients_have_none() -> None:
    notifications, _store, _outbox = _service()
    notifications.consume(_event(EventType.CASE_ASSIGNED, ASSIGN_LUKAS))
    notifications.consume(_event(EventType.SLA_WARNING, SLA, actor=ActorKind.SYSTEM))
    mine = notifications.notifications(_as("sub-lukas"), limit=10, cursor=None)
    assert [item.kind for item in mine.items] == ["sla", "assigned"]
    assert mine.unread == 2
    first = mine.items[0].id
    with pytest.raises(NotFoundError):
        notifications.mark_read(_as("sub-owner"), first)  # another person's
    with pytest.raises(NotFoundError):
        notifications.mark_read(_as("sub-lukas"), "not-an-id")
    assert notifications.mark_read(_as("sub-lukas"), first).unread == 1
    assert notifications.mark_all_read(_as("sub-lukas")) == service.MarkedRead(marked=1, unread=0)
    with pytest.raises(ForbiddenError):
        notifications.notifications(_as("client-1", client=True), limit=10, cursor=None)
    with pytest.raises(ForbiddenError):
        notifications.preferences(_as("part-1", external=True))
    chosen = domain.Preferences(sla=domain.Channel.NONE)
    assert notifications.set_preferences(_as("sub-lukas"), chosen) == notifications.preferences(_as("sub-lukas"))


def test_the_directory_is_read_once_and_only_for_a_mention_or_an_address() -> None:
    directory = Directory()
    notifications, store, _outbox = _service(directory)
    notifications.consume(_event(EventType.COMMENT_ADDED, {"comment_id": "c", "external": False, "body": "No one"}))
    store.chosen["sub-lukas"] = domain.Preferences(assigned=domain.Channel.IN_APP)
    notifications.consume(_event(EventType.CASE_ASSIGNED, ASSIGN_LUKAS))
    assert directory.reads == 0
    body = "@Lukas Becker and @Olga Owner"
    notifications.consume(_event(EventType.COMMENT_ADDED, {"comment_id": "c", "external": False, "body": body}))
    assert directory.reads == 1


def test_client_activity_names_no_client() -> None:
    comment = {"comment_id": "c", "external": True, "body": "Here is my IBAN"}
    [notice] = domain.notices(
        _event(EventType.COMMENT_ADDED, comment, by="part-1", actor=ActorKind.EXTERNAL), DIRECTORY
    )
    assert (notice.summary, notice.actor) == ("A client commented", None)


def test_a_mention_tells_only_people_who_may_read_the_case() -> None:
    """A notification shows the case's title: someone the case is hidden from is not told of a mention of them."""
    templates = Templates()
    notifications, store, _outbox = _service(templates=templates)
    body = "@Lukas Becker @Otto Other @Vera Viewer @Helga Handler"
    notifications.consume(_event(EventType.COMMENT_ADDED, {"comment_id": "c", "external": False, "body": body}))
    told = {recipient for recipient, _ in store.items}
    assert told == {"sub-lukas", "sub-vera", HANDLER}  # a role's group, a viewer, a participant; not Otto
    assert templates.reads == 1

    notifications.consume(_event(EventType.CASE_ASSIGNED, ASSIGN_LUKAS))
    assert templates.reads == 1  # only a mention needs to know who may read the case


def test_a_mention_waits_for_its_template_to_reach_the_inbox() -> None:
    notifications, store, _outbox = _service(templates=Templates(arrived=False))
    event = _event(EventType.COMMENT_ADDED, {"comment_id": "c", "external": False, "body": "@Lukas Becker"})
    with pytest.raises(inbox.CaseNotProjectedError):
        notifications.consume(event)  # the queue delivers it again
    assert store.items == {}
