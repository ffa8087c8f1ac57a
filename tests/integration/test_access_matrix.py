"""Who sees what: every route that answers with case data, in every service, asked by six kinds of caller.

One case holds a field only some roles may view, a personal field hidden the same way, an internal comment and
an external participant, each carrying its own marker string. A leak is an answer that shows a caller a case they
may not see (anything but the answer an unknown id gets, or one of its markers), or a marker of a value their
roles hide. The routes are read from the merged route table: one that is neither in the matrix nor among the
routes without case data fails the test, so a new route is not forgotten.
"""

import io
import json
import uuid
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from caseline_common.tenant import StaffRole
from ulid import ULID

from caseline.local.stack import LocalStack
from caseline.local.webhook_receiver import webhook_receiver

from .support import header, wait_until

SUFFIX = uuid.uuid4().hex[:8]
TITLE = f"MatrixTitle{SUFFIX}"
VISIBLE = f"VisibleValue{SUFFIX}"
HIDDEN = f"HiddenValue{SUFFIX}"
PERSONAL = f"hidden.person.{SUFFIX}@example.org"
CLIENT = f"client.{SUFFIX}@example.org"
NOTE = f"InternalNote{SUFFIX}"
# Minted in 2020: a case id nobody has, which every read model answers at once.
UNKNOWN_CASE = str(ULID.from_datetime(datetime(2020, 1, 1, tzinfo=UTC)))

ADMIN, OWNER, RESTRICTED, OUTSIDER, VIEWER, NO_GROUP = "admin", "owner", "restricted", "outsider", "viewer", "no group"
CALLERS = (ADMIN, OWNER, RESTRICTED, OUTSIDER, VIEWER, NO_GROUP)
MAY_VIEW = frozenset({ADMIN, OWNER, RESTRICTED, VIEWER})
# What each caller must never be shown: everything of the case to those who may not see it, and to the
# restricted role the values of the two fields it may not view.
CASE_MARKERS = frozenset({TITLE, VISIBLE, HIDDEN, PERSONAL, CLIENT, NOTE})
NOT_SHOWN = {RESTRICTED: frozenset({HIDDEN, PERSONAL}), OUTSIDER: CASE_MARKERS, NO_GROUP: CASE_MARKERS}


def definition(key: str) -> dict[str, Any]:
    every_right = [
        "case.view",
        "case.transition",
        "case.override",
        "case.assign",
        "case.close",
        "case.reopen",
        "task.manage",
        "task.complete",
        "participant.manage",
        "document.upload",
        "document.view",
        "comment.internal",
        "comment.external",
        "timeline.export",
    ]
    return {
        "key": key,
        "name": "Access matrix",
        "fields": [
            {"key": "summary", "label": "Summary", "type": "text"},
            {"key": "secret_note", "label": "Secret note", "type": "long_text"},
            {"key": "contact_email", "label": "Contact e-mail", "type": "email"},
        ],
        "stages": [
            {
                "key": "intake",
                "name": "Intake",
                "tasks": [{"key": "review", "title": "Review", "assignee_role": "handler"}],
            },
            {"key": "done", "name": "Done", "next": []},
        ],
        "document_types": [
            {"key": "evidence", "name": "Evidence", "content_types": ["application/pdf"], "max_size_bytes": 1024}
        ],
        "decisions": [
            {"key": "verdict", "label": "Verdict", "options": ["accept", "reject"], "decider_roles": ["handler"]}
        ],
        "roles": [
            {
                "key": "handler",
                "name": "Handler",
                "email": f"handlers.{SUFFIX}@example.org",
                "permissions": every_right,
                "fields": {"*": "edit"},
            },
            {
                "key": "auditor",
                "name": "Auditor",
                "permissions": ["case.view", "document.view", "comment.internal"],
                "fields": {"summary": "view"},
            },
            {
                "key": "client",
                "name": "Client",
                "kind": "external",
                "permissions": ["case.view", "comment.external"],
                "fields": {"summary": "view"},
            },
        ],
        "owner_role": "handler",
        "rules": [
            {
                "key": "tell_handlers",
                "name": "Tell the handlers",
                "trigger": {"event_type": "case.opened"},
                "actions": [
                    {
                        "type": "send_email",
                        "to_role": "handler",
                        "subject": "New case: {{ fields.secret_note }} {{ fields.contact_email }}",
                        "body": "A case was opened.",
                    }
                ],
            }
        ],
    }


# the callers


def tokens(stack: LocalStack) -> dict[str, str]:
    def staff(name: str) -> str:
        return stack.staff_token(admin=False, email=f"{name}-{SUFFIX}@demo.caseline.local")

    return {
        ADMIN: stack.staff_token(),
        OWNER: staff("olive"),
        RESTRICTED: staff("rita"),
        OUTSIDER: staff("oscar"),
        VIEWER: stack.idp.issue(
            subject=f"dev-vera-{SUFFIX}", email=f"vera-{SUFFIX}@demo.caseline.local", groups=[StaffRole.VIEWER.value]
        ),
        NO_GROUP: stack.idp.issue(
            subject=f"dev-nico-{SUFFIX}", email=f"nico-{SUFFIX}@demo.caseline.local", groups=["marketing"]
        ),
    }


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, Any]
    body: str  # a zip's members are unpacked, so markers inside an export are found too


def ask(stack: LocalStack, token: str, method: str, target: str, body: Any = None, accept: str | None = None) -> Answer:
    headers = {"Authorization": f"Bearer {token}"}
    if accept:
        headers["Accept"] = accept
    payload = None
    if body is not None:
        headers["Content-Type"] = "application/json"
        payload = json.dumps(body).encode()
    status, answer_headers, raw = stack.api.handle(method, target, headers, payload)
    if (header(answer_headers, "Content-Type") or "").startswith("application/zip"):
        with zipfile.ZipFile(io.BytesIO(raw)) as bundle:
            return Answer(status, answer_headers, "\n".join(bundle.read(name).decode() for name in bundle.namelist()))
    return Answer(status, answer_headers, raw.decode())


# a webhook receiver, so the delivery log holds the case's events


@pytest.fixture(scope="module")
def receiver_url() -> Iterator[str]:
    with webhook_receiver() as url:
        yield url


@dataclass
class World:
    """The case and everything around it that the routes' paths name."""

    case_id: str
    version: int
    ids: dict[str, str] = field(default_factory=dict)  # path parameter -> a real value
    key: str = ""


def ok(answer: Answer, status: int = 200) -> Any:
    assert answer.status == status, answer
    return json.loads(answer.body) if answer.body else None


@pytest.fixture(scope="module")
def callers(stack: LocalStack) -> dict[str, str]:
    return tokens(stack)


@pytest.fixture(scope="module")
def world(stack: LocalStack, callers: dict[str, str], receiver_url: str) -> Iterator[World]:
    admin, owner = callers[ADMIN], callers[OWNER]
    hook = ok(ask(stack, admin, "POST", "/webhooks", {"url": receiver_url, "event_types": ["case.opened"]}), 201)
    key = f"matrix-{SUFFIX}"
    ok(ask(stack, admin, "POST", "/templates", definition(key)), 201)
    fields = {"summary": VISIBLE, "secret_note": HIDDEN, "contact_email": PERSONAL}
    case = ok(ask(stack, owner, "POST", "/cases", {"template_key": key, "title": TITLE, "fields": fields}), 201)
    case_id = case["id"]
    rita = {"kind": "internal", "role": "auditor", "user_id": f"dev-rita-{SUFFIX}"}
    case = ok(ask(stack, owner, "POST", f"/cases/{case_id}/participants", rita))
    client = {"kind": "external", "role": "client", "name": "Cleo Client", "email": CLIENT}
    case = ok(ask(stack, owner, "POST", f"/cases/{case_id}/participants", client))
    ok(ask(stack, owner, "POST", f"/cases/{case_id}/comments", {"body": NOTE}), 201)
    content = b"%PDF-1.7 evidence"
    upload = {"type": "evidence", "filename": "evidence.pdf", "content_type": "application/pdf", "size": len(content)}
    target = ok(ask(stack, owner, "POST", f"/cases/{case_id}/documents/uploads", upload), 201)
    posted = httpx.post(
        target["url"], data=target["fields"], files={"file": ("evidence.pdf", content, "application/pdf")}
    )
    assert posted.status_code in (200, 201, 204), posted.text
    case = ok(ask(stack, owner, "POST", f"/cases/{case_id}/documents/uploads/{target['upload_id']}/confirm"))
    ok(ask(stack, admin, "POST", f"/templates/{key}/versions", {"definition": definition(key)}), 201)

    participants = {p["role"]: p["id"] for p in case["participants"]}
    # Each read model has caught up with the case when it answers for it as the case now stands.
    link: dict[str, Any] = {}

    def issued() -> bool:
        answer = ask(stack, owner, "POST", f"/cases/{case_id}/portal-links", {"participant_id": participants["client"]})
        link.update(json.loads(answer.body) if answer.status == 201 else {})
        return answer.status == 201

    wait_until(issued, what="the portal to know the client")
    # Its consumer applies the case's events side by side (several instances), so it may know the client before
    # the auditor: the restricted caller is answered as a participant (403, not 404) once it knows both.
    wait_until(
        lambda: ask(stack, callers[RESTRICTED], "GET", f"/cases/{case_id}/portal-links").status == 403 or None,
        what="the portal to know the auditor",
    )
    wait_until(
        lambda: ask(stack, callers[RESTRICTED], "GET", f"/automations/runs?case_id={case_id}").status == 200,
        what="the automations service to know the auditor",
    )
    wait_until(
        lambda: HIDDEN in ask(stack, admin, "GET", f"/automations/runs?case_id={case_id}").body,
        what="the rule's run",
    )
    wait_until(
        lambda: "document.added" in ask(stack, admin, "GET", f"/cases/{case_id}/timeline?limit=200").body,
        what="the timeline to have the document",
    )

    wait_until(  # served once settled: 2 s after the timeline recorded it
        lambda: "document.added" in ask(stack, admin, "GET", f"/events?case_id={case_id}").body,
        what="the change feed to serve the document",
    )
    wait_until(
        lambda: TITLE in ask(stack, callers[RESTRICTED], "GET", f"/search?q={TITLE}").body or None,
        what="the search index to know the auditor",
    )
    wait_until(
        lambda: TITLE in ask(stack, callers[RESTRICTED], "GET", f"/tasks?case_id={case_id}").body or None,
        what="the task inbox to know the auditor",
    )

    def delivered() -> str | None:
        answer = ask(stack, admin, "GET", f"/webhooks/{hook['id']}/deliveries")
        items = json.loads(answer.body)["items"] if answer.status == 200 else []
        return items[0]["id"] if items else None

    delivery_id = wait_until(delivered, what="the delivery of case.opened")
    version = ok(ask(stack, admin, "GET", f"/cases/{case_id}"))["version"]
    yield World(
        case_id=case_id,
        version=version,
        key=key,
        ids={
            "key": key,
            "task_id": case["tasks"][0]["id"],
            "participant_id": participants["auditor"],
            "client_id": participants["client"],
            "upload_id": target["upload_id"],
            "document_type": "evidence",
            "version": "1",
            "link_id": link["id"],
            "webhook_id": hook["id"],
            "delivery_id": delivery_id,
        },
    )
    ok(ask(stack, admin, "DELETE", f"/webhooks/{hook['id']}"), 204)


# the routes


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # as the route table has it
    expect: Mapping[str, int]  # the status each caller gets; a caller left out is not asked (a write it may do)
    query: str = ""
    body: Any = None  # JSON, with "{name}" placeholders filled like the path's
    accept: str | None = None
    shows: frozenset[str] = frozenset()  # markers a 200 answer holds for whoever may view their values

    @property
    def addressed(self) -> bool:
        """Whether the caller names the case, so an unknown id is the answer to compare with."""
        return "{case_id}" in self.path + self.query

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}{'?' + self.query if self.query else ''}"


READ = {ADMIN: 200, OWNER: 200, RESTRICTED: 200, OUTSIDER: 404, VIEWER: 200, NO_GROUP: 403}
# Managing links needs participant.manage; viewers change nothing, so they are refused before any lookup.
LINKS = {**READ, RESTRICTED: 403, VIEWER: 403}
EXPORT = {**READ, RESTRICTED: 403, VIEWER: 403}  # the handler role holds timeline.export, the auditor does not
ADMINS_ONLY = {ADMIN: 200, OWNER: 403, RESTRICTED: 403, OUTSIDER: 403, VIEWER: 403, NO_GROUP: 403}
# Writes are asked only of callers who may not make them: they must change nothing and reveal nothing.
REFUSED = {OUTSIDER: 404, VIEWER: 403, NO_GROUP: 403}
ADMIN_WRITE = {caller: 403 for caller in CALLERS if caller != ADMIN}

ROUTES = (
    Route("GET", "/cases", {**READ, OUTSIDER: 200}, query="template_key={key}", shows=frozenset({TITLE, HIDDEN})),
    Route("GET", "/cases/{case_id}", READ, shows=frozenset({TITLE, VISIBLE, HIDDEN, PERSONAL, CLIENT})),
    Route("GET", "/cases/{case_id}/criteria", READ),
    Route("GET", "/cases/{case_id}/comments", READ, shows=frozenset({NOTE})),
    Route("GET", "/cases/{case_id}/documents/{document_type}/versions/{version}", READ),
    Route("GET", "/cases/{case_id}/timeline", READ, query="limit=200", shows=frozenset({TITLE, VISIBLE, HIDDEN})),
    Route("GET", "/cases/{case_id}/timeline/verify", READ),
    Route("GET", "/cases/{case_id}/timeline/export", EXPORT, accept="application/zip", shows=frozenset({HIDDEN})),
    Route("GET", "/automations/runs", READ, query="case_id={case_id}", shows=frozenset({HIDDEN})),
    # The read plane answers a list, never 404: an outsider's page is empty. A search for a hidden value finds the
    # case only for the roles that see it, and shows the value to them alone.
    Route("GET", "/tasks", {**READ, OUTSIDER: 200}, query="case_id={case_id}", shows=frozenset({TITLE})),
    Route("GET", "/search", {**READ, OUTSIDER: 200}, query=f"q={TITLE}", shows=frozenset({TITLE})),
    Route("GET", "/search", {**READ, OUTSIDER: 200}, query=f"q={HIDDEN}", shows=frozenset({HIDDEN})),
    # The change feed: an outsider's page is empty too. The auditor joined the case after it was opened, and the
    # feed decides who reads an entry by the case as it stood then: the marker every caller who may view is shown
    # is the comment's, posted after she joined.
    Route("GET", "/events", {**READ, OUTSIDER: 200}, query="case_id={case_id}", shows=frozenset({NOTE})),
    Route("GET", "/cases/{case_id}/portal-links", LINKS),
    Route("GET", "/webhooks/{webhook_id}/deliveries", ADMINS_ONLY, shows=frozenset({TITLE})),
    Route("GET", "/webhooks/dead-letters", ADMINS_ONLY),
    Route("GET", "/webhooks/dead-letters", ADMINS_ONLY, query="webhook_id={webhook_id}"),
    Route("GET", "/templates/{key}/migrations", ADMINS_ONLY, query="to_version=2", shows=frozenset({TITLE})),
    Route("PATCH", "/cases/{case_id}", REFUSED, body={"fields": {"summary": "changed"}, "version": "{case_version}"}),
    Route("POST", "/cases/{case_id}/transitions", REFUSED, body={"to": "done"}),
    Route("POST", "/cases/{case_id}/close", REFUSED, body={"reason": "Done"}),
    Route("POST", "/cases/{case_id}/cancel", REFUSED, body={"reason": "Not needed"}),
    Route("POST", "/cases/{case_id}/reopen", REFUSED, body={"reason": "Again"}),
    Route("POST", "/cases/{case_id}/assignment", REFUSED, body={"owner": f"dev-oscar-{SUFFIX}"}),
    Route("POST", "/cases/{case_id}/tasks", REFUSED, body={"title": "Extra", "reason": "Needed"}),
    Route("POST", "/cases/{case_id}/tasks/{task_id}/complete", REFUSED),
    Route("POST", "/cases/{case_id}/tasks/{task_id}/reopen", REFUSED, body={"reason": "Again"}),
    Route("POST", "/cases/{case_id}/tasks/{task_id}/assignment", REFUSED, body={"assignee_role": "handler"}),
    Route(
        "POST",
        "/cases/{case_id}/participants",
        REFUSED,
        body={"kind": "internal", "role": "auditor", "user_id": f"dev-oscar-{SUFFIX}"},
    ),
    Route("POST", "/cases/{case_id}/participants/{participant_id}/role", REFUSED, body={"role": "handler"}),
    Route("POST", "/cases/{case_id}/participants/{participant_id}/language", REFUSED, body={"language": "de"}),
    Route("DELETE", "/cases/{case_id}/participants/{participant_id}", REFUSED),
    Route(
        "POST", "/cases/{case_id}/decisions", REFUSED, body={"key": "verdict", "outcome": "accept", "rationale": "Ok"}
    ),
    Route("POST", "/cases/{case_id}/comments", REFUSED, body={"body": "Hello"}),
    Route(
        "POST",
        "/cases/{case_id}/documents/uploads",
        REFUSED,
        body={"type": "evidence", "filename": "more.pdf", "content_type": "application/pdf", "size": 10},
    ),
    Route("POST", "/cases/{case_id}/documents/uploads/{upload_id}/confirm", REFUSED),
    Route("POST", "/cases/{case_id}/portal-links", REFUSED, body={"participant_id": "{client_id}"}),
    Route("POST", "/cases/{case_id}/portal-links/{link_id}/revoke", REFUSED),
    Route("POST", "/cases/{case_id}/portal-links/{link_id}/rotate", REFUSED),
    Route("POST", "/templates/{key}/migrations", ADMIN_WRITE, body={"to_version": 2, "case_ids": ["{case_id}"]}),
    Route("POST", "/participants/{participant_id}/erase", ADMIN_WRITE),
    Route("POST", "/webhooks/{webhook_id}/deliveries/{delivery_id}/replay", ADMIN_WRITE),
)

# Routes that answer with no case data, and why.
TEMPLATES = "templates hold no case data"
SUBSCRIPTIONS = "webhook subscriptions: a URL and event types, for admins only"
WITHOUT_CASE_DATA = {
    ("GET", "/templates"): TEMPLATES,
    ("POST", "/templates"): TEMPLATES,
    ("GET", "/templates/{key}"): TEMPLATES,
    ("GET", "/templates/{key}/draft"): TEMPLATES,
    ("PUT", "/templates/{key}/draft"): TEMPLATES,
    ("GET", "/templates/{key}/versions"): TEMPLATES,
    ("POST", "/templates/{key}/versions"): TEMPLATES,
    ("GET", "/templates/{key}/versions/{version}"): TEMPLATES,
    ("GET", "/templates/{key}/diff"): TEMPLATES,
    ("GET", "/schemas/template"): "the template format",
    ("POST", "/cases"): "opens a case: the answer is the caller's own new case",
    ("GET", "/timeline/signing-key"): "the public key that verifies exports",
    ("POST", "/templates/{key}/rules/test"): "a dry run on the case the caller sends; reads no stored case",
    ("POST", "/webhooks"): SUBSCRIPTIONS,
    ("GET", "/webhooks"): SUBSCRIPTIONS,
    ("GET", "/webhooks/{webhook_id}"): SUBSCRIPTIONS,
    ("DELETE", "/webhooks/{webhook_id}"): SUBSCRIPTIONS,
    ("POST", "/webhooks/{webhook_id}/secret"): SUBSCRIPTIONS,
    ("GET", "/tasks/counts"): "numbers of the caller's own and team's tasks",
    # The tenant's staff by name (tests/unit/test_people_directory.py, tests/e2e/test_people_http.py).
    ("GET", "/people"): "the directory of staff: names, no case data",
    # Counts and durations per template, stage, owner or team role from the event lake (which holds no titles,
    # field values or names); who reads which template's figures: tests/unit/test_insight_access.py and
    # tests/e2e/test_insight_api.py.
    ("GET", "/insight"): "the reports and the templates whose figures the caller may read",
    ("GET", "/insight/{report}"): "aggregate figures per template",
    ("GET", "/insight/{report}/csv"): "aggregate figures per template",
}
WITHOUT_CASE_DATA_UNDER = {
    "/health/": "configuration loaded",
    "/openapi/": "the API document",
    # An external participant's own pages, reached by link and session: tests/integration/test_portal_access.py.
    "/p/": "the portal's pages",
    "/portal/": "the portal's pages",
    "/views": "a person's saved queries: search parameters and columns, no case data",
    # Only ever the caller's own partition, whatever the id asked for (tests/unit/test_notifications.py,
    # tests/integration/test_notifications_pipeline.py); each names the case (title) of an event that concerned the
    # caller: assigned to them, their case, their task, or a mention of them (docs/architecture.md, "Notifications").
    "/notifications": "a person's own notifications, read marks and channels",
}


def filled(text: str, values: Mapping[str, str]) -> str:
    for name, value in values.items():
        text = text.replace(f"{{{name}}}", value)
    return text


def body_of(route: Route, values: Mapping[str, str]) -> Any:
    if route.body is None:
        return None
    filled_body = json.loads(filled(json.dumps(route.body), values))
    if "{case_version}" in json.dumps(route.body):
        filled_body["version"] = int(filled_body["version"])
    return filled_body


def target(route: Route, values: Mapping[str, str]) -> str:
    return filled(route.path, values) + (f"?{filled(route.query, values)}" if route.query else "")


def test_every_route_with_case_data_is_in_the_matrix(stack: LocalStack) -> None:
    in_matrix = {(route.method, route.path) for route in ROUTES}
    unaccounted = []
    for path, service in stack.api.route_owners.items():
        for method in stack.api.service(service).app.routes[path]:
            known = (method, path) in in_matrix or (method, path) in WITHOUT_CASE_DATA
            if not known and not path.startswith(tuple(WITHOUT_CASE_DATA_UNDER)):
                unaccounted.append(f"{method} {path} ({service})")
    assert unaccounted == [], "add each to ROUTES, or to WITHOUT_CASE_DATA with the reason"
    assert not in_matrix & set(WITHOUT_CASE_DATA)


@dataclass
class Cell:
    status: int | None = None  # None: not asked
    wrong: str = ""
    leaks: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        if self.status is None:
            return "·"
        return f"{self.status}{' LEAK' if self.leaks else ''}{' ≠' if self.wrong else ''}"


def judge(route: Route, caller: str, answer: Answer, unknown: Answer | None, case_id: str) -> Cell:
    cell = Cell(answer.status)
    if answer.status != route.expect[caller]:
        cell.wrong = f"{answer.status}, expected {route.expect[caller]}: {answer.body[:300]}"
    hidden = NOT_SHOWN.get(caller, frozenset())
    cell.leaks += [f"the marker {marker!r}" for marker in sorted(hidden) if marker in answer.body]
    if caller not in MAY_VIEW:
        if unknown is not None and answer.status != unknown.status:
            cell.leaks.append(f"{answer.status} where an unknown id gets {unknown.status}")
        if not route.addressed and case_id in answer.body:
            cell.leaks.append("the case id")
    elif answer.status == 200:
        missing = sorted(marker for marker in route.shows - hidden if marker not in answer.body)
        if missing and not cell.wrong:
            cell.wrong = f"the answer lacks what the caller may see: {missing}"
    return cell


def test_no_caller_sees_what_their_roles_hide(stack: LocalStack, callers: dict[str, str], world: World) -> None:
    values = {**world.ids, "case_id": world.case_id, "case_version": str(world.version)}
    unknown_values = {**values, "case_id": UNKNOWN_CASE}
    matrix: dict[str, dict[str, Cell]] = {}
    for route in ROUTES:
        row = matrix[route.name] = {caller: Cell() for caller in CALLERS}
        for caller in route.expect:
            token = callers[caller]
            answer = ask(stack, token, route.method, target(route, values), body_of(route, values), route.accept)
            unknown = None
            if route.addressed and caller not in MAY_VIEW:
                unknown = ask(
                    stack,
                    token,
                    route.method,
                    target(route, unknown_values),
                    body_of(route, unknown_values),
                    route.accept,
                )
            row[caller] = judge(route, caller, answer, unknown, world.case_id)

    width = max(len(name) for name in matrix)
    lines = [f"{'route':<{width}}  " + "".join(f"{caller:>12}" for caller in CALLERS)]
    lines += [f"{name:<{width}}  " + "".join(f"{row[c]!s:>12}" for c in CALLERS) for name, row in matrix.items()]
    leaks = [f"{name} as {c}: {leak}" for name, row in matrix.items() for c in CALLERS for leak in row[c].leaks]
    wrong = [f"{name} as {c}: {row[c].wrong}" for name, row in matrix.items() for c in CALLERS if row[c].wrong]
    print("\n".join(["", *lines, f"leaks: {len(leaks)}", *leaks, f"wrong answers: {len(wrong)}", *wrong]))
    assert leaks == []
    assert wrong == []
