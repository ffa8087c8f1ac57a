"""The portal's domain without AWS: the read model built from events, access links, the page an external
participant sees and how their form becomes field values."""

import base64
import random
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from caseline_common.contracts import TemplateDefinition
from caseline_common.envelope import Actor, ActorKind, EventEnvelope, Visibility
from caseline_common.errors import ForbiddenError, InvalidInputError, NotFoundError
from caseline_common.events import DATA_MODELS, EventType, event_data
from caseline_common.fields import validate_field_values
from caseline_common.freshness import CaseArrival
from narrowing import present
from service_modules import loaded, loaded_module

from caseline.local.loader import LoadedService

if TYPE_CHECKING:
    from services.portal.chalicelib.domain import links, page, projection
else:
    projection = loaded_module("portal", "chalicelib.domain.projection")
    links = loaded_module("portal", "chalicelib.domain.links")
    page = loaded_module("portal", "chalicelib.domain.page")

T0 = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)
CASE_ID = "01JPCASE0000000000000000AA"
STAFF = Actor(kind=ActorKind.USER, id="dev-alex")
IVY, WES, STAFF_PARTICIPANT = "01JPIVY0000000000000000000", "01JPWES0000000000000000000", "01JPSTAFF00000000000000000"
OWNER_PARTICIPANT = "01JPOWNER00000000000000000"

TEMPLATE: dict[str, Any] = {
    "key": "claim",
    "name": "Claim",
    "calendar": {"timezone": "Europe/Amsterdam"},
    "fields": [
        {"key": "purpose", "label": "Purpose", "type": "text"},
        {"key": "internal_note", "label": "Internal note", "type": "long_text"},
        {"key": "amount", "label": "Amount", "type": "money", "currencies": ["EUR", "USD"]},
        {"key": "count", "label": "Count", "type": "number", "minimum": 0},
        {"key": "agree", "label": "I agree", "type": "boolean"},
        {"key": "topics", "label": "Topics", "type": "multi_enum", "options": ["car", "home", "travel"]},
        {"key": "kind", "label": "Kind", "type": "enum", "options": ["theft", "damage"]},
        {"key": "when", "label": "When", "type": "datetime"},
        {"key": "day", "label": "Day", "type": "date"},
        {"key": "notes", "label": "Notes", "type": "long_text"},
        {"key": "phone", "label": "Phone", "type": "phone"},
        {"key": "email", "label": "E-mail", "type": "email"},
        {"key": "policyholder", "label": "Policyholder", "type": "party"},
        {"key": "scan", "label": "Scan", "type": "file"},
    ],
    "stages": [
        {"key": "submitted", "name": "Submitted", "required_fields": ["phone", "internal_note", "purpose"]},
        {"key": "review", "name": "Review", "required_fields": ["notes"]},
        {"key": "done", "name": "Done", "next": []},
    ],
    "document_types": [
        {
            "key": "receipt",
            "name": "Receipt",
            "content_types": ["application/pdf"],
            "max_size_bytes": 1024,
            "required_in_stages": ["submitted"],
            "external": True,
            "uploader_roles": ["claimant", "handler"],
        },
        {
            "key": "id_card",
            "name": "Identity card",
            "content_types": ["image/png"],
            "max_size_bytes": 1024,
            "required_in_stages": ["submitted"],
            "external": True,
            "uploader_roles": ["handler"],
        },
        {
            "key": "memo",
            "name": "Internal memo",
            "content_types": ["application/pdf"],
            "max_size_bytes": 1024,
            "required_in_stages": ["submitted"],
        },
        {
            "key": "photo",
            "name": "Photo",
            "content_types": ["image/png"],
            "max_size_bytes": 1024,
            "required_in_stages": ["review"],
            "external": True,
        },
    ],
    "roles": [
        {
            "key": "handler",
            "name": "Handler",
            "permissions": ["case.view", "participant.manage", "document.upload", "document.view", "comment.external"],
            "fields": {"*": "edit"},
        },
        {
            "key": "claimant",
            "name": "Claimant",
            "kind": "external",
            "permissions": ["case.view", "document.upload", "document.view", "comment.external"],
            "fields": {
                **{key: "edit" for key in ("amount", "count", "agree", "topics", "kind", "when", "day", "notes")},
                **{key: "edit" for key in ("phone", "email", "scan")},
                "purpose": "view",
                "policyholder": "view",
            },
        },
        {
            "key": "witness",
            "name": "Witness",
            "kind": "external",
            "permissions": ["case.view"],
            "fields": {"purpose": "view", "email": "view"},
        },
    ],
}
VISIBLE = {field["key"] for field in TEMPLATE["fields"]} - {"internal_note"}


@pytest.fixture(scope="module")
def portal() -> LoadedService:
    return loaded("portal")


@pytest.fixture
def template() -> TemplateDefinition:
    return TemplateDefinition.model_validate(TEMPLATE)


def event(
    kind: str,
    data: dict[str, Any] | None = None,
    *,
    version: int | None = None,
    personal: dict[str, Any] | None = None,
    visibility: Visibility = Visibility.INTERNAL,
    actor: Actor = STAFF,
    at: datetime = T0,
) -> EventEnvelope:
    """An event as its producer sends it: the data of a type in the catalogue is built through its model."""
    members = {**({"version": version} if version is not None else {}), **(data or {})}
    return EventEnvelope.new(
        tenant_id="acme",
        case_id=CASE_ID,
        type=kind,
        actor=actor,
        correlation_id="corr-1",
        data=event_data(EventType(kind), **members) if kind in DATA_MODELS else members,
        personal=personal,
        visibility=visibility,
        occurred_at=at,
    )


def opened(fields: dict[str, Any] | None = None, personal: dict[str, Any] | None = None) -> EventEnvelope:
    return event(
        "case.opened",
        {
            "title": "Stolen bike",
            "template_key": "claim",
            "template_version": 1,
            "stage": "submitted",
            "status": "open",
            "owner": "dev-alex",
            "participants": [
                {"participant_id": OWNER_PARTICIPANT, "kind": "internal", "role": "handler", "user_id": "dev-alex"}
            ],
            "fields": fields or {},
            "tasks_created": [],
        },
        personal={"fields": personal} if personal else None,
        visibility=Visibility.EXTERNAL,
    )


def changed(version: int, changes: dict[str, Any], personal: dict[str, Any] | None = None) -> EventEnvelope:
    return event(
        "case.fields_changed",
        {"changes": {key: {"before": None, "after": value} for key, value in changes.items()}},
        version=version,
        personal={"changes": {key: {"before": None, "after": value} for key, value in personal.items()}}
        if personal
        else None,
    )


def added(version: int, participant_id: str, role: str, *, kind: str = "external", **details: Any) -> EventEnvelope:
    personal = {"name": details["name"], "email": details["email"]} if kind == "external" else None
    data = {"participant_id": participant_id, "kind": kind, "role": role}
    if kind == "internal":
        data["user_id"] = details["user_id"]
    if details.get("language"):
        data["language"] = details["language"]
    return event("participant.added", data, version=version, personal=personal)


def moved(
    version: int, before: str, after: str, *, reason: str | None = None, visibility: Visibility = Visibility.INTERNAL
) -> EventEnvelope:
    data: dict[str, Any] = {"from": before, "to": after, "direction": "forward", "reason": reason}
    data |= {"overridden": [], "tasks_created": []}
    return event("case.stage_changed", data, version=version, visibility=visibility)


def document(version: int, type_key: str, document_version: int = 1, *, external: bool = True) -> EventEnvelope:
    return event(
        "document.added",
        {
            "document_type": type_key,
            "document_version": document_version,
            "upload_id": f"01JPUPLOAD{type_key.upper():0<16}"[:26],
            "content_type": "application/pdf",
            "size": 10,
            "sha256": "0" * 64,
        },
        version=version,
        personal={"filename": f"{type_key}.pdf"},
        visibility=Visibility.EXTERNAL if external else Visibility.INTERNAL,
        at=T0 + timedelta(minutes=version),
    )


def project(template: TemplateDefinition, events: list[EventEnvelope]) -> Any:
    first = next(each for each in events if each.type == "case.opened")
    case = projection.new_case(first)
    for each in events:
        projection.apply(case, template, each)
    return case


def state(case: Any) -> dict[str, Any]:
    """The model, documents in a fixed order (their order of arrival does not matter)."""
    dumped: dict[str, Any] = case.model_dump(mode="json")
    dumped["documents"] = sorted(dumped["documents"], key=lambda each: (each["type"], each["version"]))
    return dumped


# the read model


def history() -> list[EventEnvelope]:
    return [
        opened({"purpose": "Bike", "internal_note": "check twice"}, personal={"email": "ivy@example.org"}),
        added(2, IVY, "claimant", name="Ivy Claimant", email="ivy@example.org"),
        added(3, WES, "witness", name="Wes Witness", email="wes@example.org", language="de"),
        added(4, STAFF_PARTICIPANT, "handler", kind="internal", user_id="dev-blake"),
        changed(5, {"count": 2, "internal_note": "still hidden"}, personal={"phone": "+31612345678"}),
        event("participant.role_changed", {"participant_id": WES, "before": "witness", "after": "claimant"}, version=6),
        changed(7, {"count": 3, "purpose": None}),
        document(8, "receipt"),
        document(9, "memo", external=False),
        moved(10, "submitted", "review", visibility=Visibility.EXTERNAL),
        event("participant.removed", {"participant_id": IVY, "kind": "external", "role": "claimant"}, version=11),
        event("case.fields_changed", {"changes": {}, "title": {"before": "Stolen bike", "after": "Bike"}}, version=12),
        event("case.assigned", {"before": "dev-alex", "after": "dev-blake"}, version=13),
        event("case.closed", {"before": "open", "after": "closed", "reason": "Paid"}, version=14),
        document(15, "receipt", 2),
        language(16, IVY, None, "de"),
        language(17, IVY, "de", "fr"),
    ]


def language(version: int, participant_id: str, before: str | None, after: str | None) -> EventEnvelope:
    data = {"participant_id": participant_id, "before": before, "after": after}
    return event("participant.language_changed", data, version=version)


def test_the_model_keeps_only_what_some_external_role_may_see(template: TemplateDefinition) -> None:
    assert projection.external_fields(template) == VISIBLE
    case = project(template, history())
    assert (case.title, case.stage, case.status, case.owner) == ("Bike", "review", "closed", "dev-blake")
    assert case.opened_at == T0
    assert case.fields == {"email": "ivy@example.org", "count": 3, "phone": "+31612345678"}, (
        "hidden fields are never kept; personal fields come from `personal`; a cleared field is gone"
    )
    assert [(d.type, d.version, d.filename) for d in case.documents] == [
        ("receipt", 1, "receipt.pdf"),
        ("receipt", 2, "receipt.pdf"),
    ], "internal documents are not kept"
    ivy, wes, staff = case.participants[IVY], case.participants[WES], case.participants[STAFF_PARTICIPANT]
    assert (ivy.name, ivy.email, ivy.removed) == ("Ivy Claimant", "ivy@example.org", True)
    assert case.participant(IVY) is None, "a removed participant no longer counts"
    assert (wes.role, wes.kind) == ("claimant", "external")
    assert (staff.kind, staff.user_id) == ("internal", "dev-blake")
    assert (ivy.language, wes.language, staff.language) == ("fr", "de", None), "chosen when added, or since"


def test_no_external_role_means_no_field_is_kept(template: TemplateDefinition) -> None:
    internal_only = template.model_copy(update={"roles": [template.roles[0]]})
    assert projection.external_fields(internal_only) == set()
    case = project(internal_only, [opened({"purpose": "Bike"}), changed(2, {"count": 1})])
    assert case.fields == {}


def test_applying_an_event_twice_changes_nothing(template: TemplateDefinition) -> None:
    events = history()
    case = project(template, events)
    before = state(case)
    for each in events:
        assert projection.apply(case, template, each) is False, each.type
    assert state(case) == before


def test_any_order_of_arrival_gives_the_same_model(template: TemplateDefinition) -> None:
    events = history()
    expected = state(project(template, events))
    shuffler = random.Random(7)
    for _ in range(60):
        shuffled = events[:]
        shuffler.shuffle(shuffled)
        assert state(project(template, shuffled)) == expected, [each.type for each in shuffled]
    late = [*events, *reversed(events)]  # every older event once more after the newest
    assert state(project(template, late)) == expected


def test_an_older_change_after_a_newer_one_is_ignored(template: TemplateDefinition) -> None:
    case = project(template, [opened({"count": 1})])
    assert projection.apply(case, template, changed(3, {"count": 3})) is True
    assert projection.apply(case, template, changed(2, {"count": 2})) is False
    stage = moved(5, "review", "done")
    assert projection.apply(case, template, stage) is True
    back = moved(4, "submitted", "review")
    assert projection.apply(case, template, back) is False
    assert (case.fields["count"], case.stage) == (3, "done")


def test_a_participant_removed_before_its_addition_arrives_stays_removed(template: TemplateDefinition) -> None:
    case = project(template, [opened()])
    removed = event("participant.removed", {"participant_id": IVY, "kind": "external", "role": "claimant"}, version=3)
    assert projection.apply(case, template, removed) is True
    projection.apply(case, template, added(2, IVY, "claimant", name="Ivy", email="ivy@example.org"))
    assert case.participant(IVY) is None, "a late `participant.added` must not let a removed person back in"


def test_a_role_change_before_the_addition_keeps_the_new_role(template: TemplateDefinition) -> None:
    case = project(template, [opened()])
    change = event(
        "participant.role_changed", {"participant_id": WES, "before": "claimant", "after": "witness"}, version=3
    )
    projection.apply(case, template, change)
    projection.apply(case, template, added(2, WES, "claimant", name="Wes", email="wes@example.org"))
    participant = case.participant(WES)
    assert (participant.role, participant.kind, participant.name) == ("witness", "external", "Wes")


def test_the_timeline_shows_only_external_events_the_portal_settings_list(template: TemplateDefinition) -> None:
    external_stage = moved(2, "a", "b", reason="x", visibility=Visibility.EXTERNAL)
    entry = present(projection.timeline_entry(template, external_stage))
    assert (entry.type, entry.data, entry.by_external, entry.actor_id) == (
        "case.stage_changed",
        {"from": "a", "to": "b"},
        False,
        "dev-alex",
    ), "only the data a line needs, never a staff member's reason"
    assert projection.timeline_entry(template, external_stage.model_copy(update={"visibility": "internal"})) is None
    assert projection.timeline_entry(template, document(2, "memo", external=False)) is None
    shared = present(projection.timeline_entry(template, document(2, "receipt")))
    assert shared.data == {"document_type": "receipt", "document_version": 1}, "no file name on the timeline"
    assigned = event("case.assigned", {"before": "a", "after": "b"}, version=2, visibility=Visibility.EXTERNAL)
    assert projection.timeline_entry(template, assigned) is None, "not among the portal's timeline events"

    narrow = template.model_copy(
        update={"portal": template.portal.model_copy(update={"timeline_events": ["case.opened"]})}
    )
    assert projection.timeline_entry(narrow, external_stage) is None
    assert present(projection.timeline_entry(narrow, opened())).data == {"title": "Stolen bike"}


def test_messages_are_the_external_comments(template: TemplateDefinition) -> None:
    by_ivy = Actor(kind=ActorKind.EXTERNAL, id=IVY)
    comment = event("comment.added", {"comment_id": "c1", "external": True, "body": "Here it is"}, actor=by_ivy)
    message = present(projection.message(comment.model_copy(update={"visibility": "external"})))
    assert (message.by_external, message.actor_id, message.data) == (True, IVY, {"body": "Here it is"})
    internal = event("comment.added", {"comment_id": "c2", "external": False, "body": "between us"})
    assert projection.message(internal) is None
    line = present(projection.timeline_entry(template, comment.model_copy(update={"visibility": Visibility.EXTERNAL})))
    assert (line.type, line.by_external, line.data) == ("comment.added", True, {}), "a line, its words in the thread"
    assert projection.timeline_entry(template, internal) is None
    assert projection.message(opened()) is None


# links and sessions


def test_tokens_are_long_random_and_only_their_hash_is_kept() -> None:
    tokens = {links.new_token() for _ in range(200)}
    assert len(tokens) == 200
    for token in list(tokens)[:20]:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        assert len(raw) * 8 >= 128
        digest = links.token_hash(token)
        assert digest != token
        assert token not in digest
        assert len(digest) == 64
        assert digest == links.token_hash(token), "the same token finds the same link"
    assert links.token_hash("a") != links.token_hash("b")


def link(**changes: Any) -> Any:
    token = links.new_token()
    values = {
        "id": "link-1",
        "token_hash": links.token_hash(token),
        "case_id": CASE_ID,
        "participant_id": IVY,
        "created_at": T0,
        "created_by": "dev-alex",
        "expires_at": T0 + timedelta(days=14),
        **changes,
    }
    return links.PortalLink(**values)


def test_a_link_works_until_it_expires_or_is_revoked() -> None:
    fresh = link()
    assert fresh.usable(T0)
    assert fresh.usable(T0 + timedelta(days=14) - timedelta(seconds=1))
    assert not fresh.usable(T0 + timedelta(days=14)), "expired at its expiry time"
    assert not link(revoked_at=T0).usable(T0)
    summary = links.LinkSummary.of(fresh).model_dump()
    assert "token_hash" not in summary
    assert fresh.token_hash not in str(summary)
    assert links.session_expiry(T0, fresh, 12) == T0 + timedelta(hours=12)
    assert links.session_expiry(T0, link(expires_at=T0 + timedelta(hours=1)), 12) == T0 + timedelta(hours=1)


# the page


def view_of(template: TemplateDefinition, case: Any, participant_id: str = IVY) -> Any:
    return page.build_view(template, case, case.participant(participant_id), timeline=[], messages=[])


def open_case(template: TemplateDefinition, *events: EventEnvelope) -> Any:
    return project(
        template,
        [
            opened({"purpose": "Bike"}),
            added(2, IVY, "claimant", name="Ivy Claimant", email="ivy@example.org"),
            added(3, WES, "witness", name="Wes Witness", email="wes@example.org"),
            *events,
        ],
    )


def test_the_needs_are_the_current_stage_s_documents_and_fields_the_participant_provides(
    template: TemplateDefinition,
) -> None:
    case = open_case(template)
    view = view_of(template, case)
    assert [(need.kind, need.key) for need in view.needs] == [("document", "receipt"), ("field", "phone")], (
        "not the card only staff upload, not an internal document, not another stage's; "
        "not a field the participant only views or cannot see"
    )
    assert [document.key for document in view.upload_types] == ["receipt", "photo"]
    assert view.participant_name == "Ivy Claimant"
    assert view.reference == f"{CASE_ID[-8:-4]}-{CASE_ID[-4:]}"

    case = open_case(template, document(4, "receipt"), changed(5, {}, personal={"phone": "+31612345678"}))
    assert view_of(template, case).needs == []

    case = open_case(template, moved(4, "submitted", "review"))
    assert [(need.kind, need.key) for need in view_of(template, case).needs] == [
        ("document", "photo"),
        ("field", "notes"),
    ]
    witness = view_of(template, case, WES)
    assert (witness.needs, witness.upload_types, witness.can_message) == ([], [], False)


def test_fields_are_shown_and_editable_as_the_role_allows(template: TemplateDefinition) -> None:
    case = open_case(template)
    fields = {field.key: field for field in view_of(template, case).fields}
    assert set(fields) == VISIBLE
    editable = {key for key, field in fields.items() if field.editable}
    assert editable == VISIBLE - {"purpose", "policyholder", "scan"}, "view-only, parties and files are not editable"
    assert fields["purpose"].value == "Bike"
    assert page.editable_fields(template, case.participant(IVY)) == [
        each for each in template.fields if each.key in editable
    ]
    witness = {field.key: field for field in view_of(template, case, WES).fields}
    assert set(witness) == {"purpose", "email"}
    assert not any(field.editable for field in witness.values())
    assert page.editable_fields(template, case.participant(WES)) == []


def test_a_date_and_time_is_shown_in_the_template_s_time_zone(template: TemplateDefinition) -> None:
    case = open_case(template, changed(4, {"when": "2024-05-01T08:00:00Z"}))
    [when] = [field for field in view_of(template, case).fields if field.key == "when"]
    assert when.value == "2024-05-01T10:00:00+02:00", "the datetime-local input shows (and sends back) local time"


def test_the_progress_line(template: TemplateDefinition) -> None:
    case = open_case(template, moved(4, "submitted", "review"))
    steps = [(step.key, step.state) for step in view_of(template, case).stages]
    assert steps == [("submitted", "done"), ("review", "current"), ("done", "upcoming")]

    shown_elsewhere = template.model_copy(
        update={"portal": template.portal.model_copy(update={"stages": ["submitted", "done"]})}
    )
    steps = [(step.key, step.state) for step in view_of(shown_elsewhere, case).stages]
    assert steps == [("submitted", "done"), ("review", "current"), ("done", "upcoming")], "the current one always"
    case = open_case(template)
    steps = [(step.key, step.state) for step in view_of(shown_elsewhere, case).stages]
    assert steps == [("submitted", "current"), ("done", "upcoming")]


def test_the_progress_line_does_not_foretell_which_end_the_case_reaches(template: TemplateDefinition) -> None:
    stages = [
        {"key": "submitted", "name": "Submitted", "next": ["review", "rejected"]},
        {"key": "review", "name": "Review"},
        {"key": "paid", "name": "Paid", "next": []},
        {"key": "rejected", "name": "Rejected", "next": []},
    ]
    branching = TemplateDefinition.model_validate({**template.model_dump(mode="json"), "stages": stages})

    def steps(*events: EventEnvelope) -> list[tuple[str, str]]:
        return [(step.key, step.state) for step in view_of(branching, open_case(branching, *events)).stages]

    assert steps() == [("submitted", "current"), ("review", "upcoming")], "either end may come: neither is shown"
    assert steps(moved(4, "submitted", "review")) == [
        ("submitted", "done"),
        ("review", "current"),
        ("paid", "upcoming"),
    ]
    assert steps(moved(4, "submitted", "review"), moved(5, "review", "paid")) == [
        ("submitted", "done"),
        ("review", "done"),
        ("paid", "current"),
    ], "the other end is not a step to come"
    assert steps(moved(4, "submitted", "rejected")) == [("submitted", "done"), ("rejected", "current")], (
        "a stage the case could not have passed through on its way is not done"
    )


def test_options_are_shown_in_words(template: TemplateDefinition) -> None:
    fields = {field.key: field for field in view_of(template, open_case(template)).fields}
    assert fields["topics"].option_labels == {"car": "Car", "home": "Home", "travel": "Travel"}
    assert page.option_label("home_contents") == "Home contents"


def test_a_closed_case_can_only_be_looked_at(template: TemplateDefinition) -> None:
    case = open_case(template, event("case.closed", {"before": "open", "after": "closed", "reason": None}, version=4))
    view = view_of(template, case)
    assert (view.status, view.upload_types, view.needs, view.can_message) == ("closed", [], [], False)
    assert not any(field.editable for field in view.fields)


def test_documents_are_listed_only_for_a_role_that_may_view_them(template: TemplateDefinition) -> None:
    case = open_case(template, document(4, "receipt"), document(5, "photo"))
    assert [each.type for each in view_of(template, case).documents] == ["photo", "receipt"], "newest first"
    assert view_of(template, case, WES).documents == [], "the witness's role has no document.view"


# the form


def form_definitions(template: TemplateDefinition, *keys: str) -> list[Any]:
    return [each for each in template.fields if each.key in keys]


def test_every_field_type_is_read_from_the_form(template: TemplateDefinition) -> None:
    keys = ("notes", "amount", "count", "agree", "topics", "kind", "when", "day", "phone", "email")
    form = {
        "notes": ["  two lines\nof text  "],
        "amount.amount": ["86.40"],
        "amount.currency": ["EUR"],
        "count": ["3"],
        "agree": ["on"],
        "topics": ["car", "", "travel"],
        "kind": ["theft"],
        "when": ["2024-05-01T10:00"],
        "day": ["2024-05-02"],
        "phone": ["+31612345678"],
        "email": ["ivy@example.org"],
    }
    values, issues = page.values_from_form(form_definitions(template, *keys), form, "Europe/Amsterdam")
    assert issues == []
    assert values == {
        "notes": "two lines\nof text",
        "amount": {"amount": "86.40", "currency": "EUR"},
        "count": 3,
        "agree": True,
        "topics": ["car", "travel"],
        "kind": "theft",
        "when": "2024-05-01T10:00:00+02:00",
        "day": "2024-05-02",
        "phone": "+31612345678",
        "email": "ivy@example.org",
    }
    assert validate_field_values(template, values, require_all=False)["amount"] == {
        "amount": "86.40",
        "currency": "EUR",
    }


def test_empty_inputs_clear_and_unchecked_boxes_are_false(template: TemplateDefinition) -> None:
    keys = ("notes", "amount", "count", "agree", "topics", "when")
    values, issues = page.values_from_form(
        form_definitions(template, *keys), {"notes": [" "], "amount.currency": ["EUR"]}, "UTC"
    )
    assert issues == []
    assert values == {"notes": None, "amount": None, "count": None, "agree": False, "topics": None, "when": None}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("42", 42), ("-7", -7), ("4.5", 4.5), ("1e3", 1000), ("0.10", 0.1), ("9007199254740991", 2**53 - 1)],
)
def test_numbers(template: TemplateDefinition, raw: str, expected: float) -> None:
    values, issues = page.values_from_form(form_definitions(template, "count"), {"count": [raw]}, "UTC")
    assert (values, issues) == ({"count": expected}, [])
    assert type(values["count"]) is type(expected)


@pytest.mark.parametrize("raw", ["abc", "1,5", "Infinity", "-inf", "NaN", "sNaN", "1e999999999", "-1e400", "0x10"])
def test_what_is_not_a_usable_number_is_an_issue_at_once(template: TemplateDefinition, raw: str) -> None:
    started = time.monotonic()
    values, issues = page.values_from_form(form_definitions(template, "count"), {"count": [raw]}, "UTC")
    assert time.monotonic() - started < 1
    assert "count" not in values
    assert [issue.pointer for issue in issues] == ["/fields/count"]


def test_a_date_and_time_is_read_in_the_template_s_time_zone(template: TemplateDefinition) -> None:
    definitions = form_definitions(template, "when")
    cases = {
        ("2024-01-15T10:00", "Europe/Amsterdam"): "2024-01-15T10:00:00+01:00",
        ("2024-07-15T10:00", "Europe/Amsterdam"): "2024-07-15T10:00:00+02:00",
        ("2024-07-15T10:00", "America/New_York"): "2024-07-15T10:00:00-04:00",
        ("2024-07-15T10:00", "UTC"): "2024-07-15T10:00:00+00:00",
        ("2024-07-15T10:00:00+05:30", "Europe/Amsterdam"): "2024-07-15T10:00:00+05:30",
    }
    for (raw, zone), expected in cases.items():
        assert page.values_from_form(definitions, {"when": [raw]}, zone) == ({"when": expected}, [])
    for bad in ("yesterday", "2024-13-01T10:00", "10:00"):
        _, issues = page.values_from_form(definitions, {"when": [bad]}, "UTC")
        assert [issue.pointer for issue in issues] == ["/fields/when"], bad


def test_bad_money_and_options_are_left_to_the_api_s_checks(template: TemplateDefinition) -> None:
    """What has the right shape goes on to `validate_field_values`, which refuses it like the API would."""
    form = {"amount.amount": ["a lot"], "amount.currency": ["EUR"], "topics": ["car", "boats"], "kind": ["fire"]}
    values, issues = page.values_from_form(form_definitions(template, "amount", "topics", "kind"), form, "UTC")
    assert issues == []
    with pytest.raises(InvalidInputError) as refused:
        validate_field_values(template, values, require_all=False)
    assert {issue.pointer.split("/")[2] for issue in refused.value.issues} == {"amount", "topics", "kind"}


# the service's form handling, on fakes


class FakeStore:
    def __init__(self, case: Any, template: TemplateDefinition) -> None:
        self._case, self._template = case, template

    def case(self, case_id: str) -> tuple[Any, int] | None:
        return (self._case, 1) if self._case is not None and case_id == self._case.case_id else None

    def template(self, key: str, version: int) -> TemplateDefinition | None:
        return self._template


class FakeBus:
    def __init__(self) -> None:
        self.published: list[tuple[EventEnvelope, bool]] = []

    def publish(self, event: EventEnvelope, *, command: bool = False) -> None:
        self.published.append((event, command))


class FakeDocuments:
    def download_url(self, key: str, *, filename: str, content_type: str, expires_in: timedelta) -> str:
        return f"https://documents.example.org/{key}"


def visit_service(portal: LoadedService, store: FakeStore, bus: FakeBus) -> Any:
    return portal.module("chalicelib.visit_service").VisitService(
        store,
        FakeDocuments(),
        bus,
        tenant_id="acme",
        session_hours=12,
        requests_per_minute=120,
        clock=lambda: T0,
        new_id=lambda: "01JPNEWID00000000000000000",
    )


def projection_service(portal: LoadedService, store: FakeStore, bus: FakeBus) -> Any:
    links = portal.module("chalicelib.link_service").LinkService(
        store,
        bus,
        tenant_id="acme",
        base_url="https://portal.example.org",
        link_days=14,
        clock=lambda: T0,
        new_id=lambda: "01JPNEWID00000000000000000",
        arrival=CaseArrival(clock=lambda: T0),
    )
    return portal.module("chalicelib.projection_service").ProjectionService(
        store, links, link_days=14, clock=lambda: T0
    )


def session(participant_id: str = IVY) -> Any:
    return links.Session(
        id_hash="s",
        link_id="l",
        link_hash="h",
        case_id=CASE_ID,
        participant_id=participant_id,
        csrf_token="c",
        expires_at=T0 + timedelta(hours=1),
    )


def test_an_untouched_answer_is_not_sent_again(portal: LoadedService, template: TemplateDefinition) -> None:
    """The form shows a stored UTC time in local time; sending it back unchanged is not a change."""
    case = open_case(template, changed(4, {"when": "2024-05-01T08:00:00Z", "count": 2}))
    bus = FakeBus()
    service = visit_service(portal, FakeStore(case, template), bus)
    keys = [each.key for each in service_editable(portal, template, case)]
    form = {key: [""] for key in keys} | {"when": ["2024-05-01T10:00"], "count": ["2"], "phone": ["+31612345678"]}
    sent = service.submit_fields(session(), form)
    assert sent == {"phone": "+31612345678", "agree": False}, "an unticked box is an answer; the rest is unchanged"
    [(command, is_command)] = bus.published
    assert is_command
    assert (command.type, command.case_id, command.actor.kind, command.actor.id) == (
        "portal.fields_submitted",
        CASE_ID,
        ActorKind.EXTERNAL,
        IVY,
    )
    assert command.data == {"fields": {"phone": "+31612345678", "agree": False}}

    form |= {"when": ["2024-05-01T11:00"], "count": [""]}
    assert service.submit_fields(session(), form) == {
        "when": "2024-05-01T11:00:00+02:00",
        "count": None,
        "phone": "+31612345678",
        "agree": False,
    }


def service_editable(portal: LoadedService, template: TemplateDefinition, case: Any) -> list[Any]:
    editable: list[Any] = portal.module("chalicelib.domain.page").editable_fields(template, case.participant(IVY))
    return editable


def test_a_refused_form_sends_nothing(portal: LoadedService, template: TemplateDefinition) -> None:
    case = open_case(template)
    bus = FakeBus()
    service = visit_service(portal, FakeStore(case, template), bus)
    with pytest.raises(InvalidInputError) as refused:
        service.submit_fields(session(), {"count": ["-1"], "phone": ["0612"], "when": ["soon"]})
    assert {issue.pointer.split("/")[2] for issue in refused.value.issues} == {"count", "phone", "when"}
    assert bus.published == []
    with pytest.raises(ForbiddenError):
        service.submit_fields(session(WES), {"purpose": ["x"]})
    assert bus.published == []


def test_events_the_portal_keeps_nothing_of_do_not_wait_for_their_case(
    portal: LoadedService, template: TemplateDefinition
) -> None:
    """Another service's event about a case the portal never saw is dropped, not retried into the DLQ."""
    service = projection_service(portal, FakeStore(None, template), FakeBus())
    service.project(event("case.note_added", {"note": "x"}))
    completed = {"task_id": "t1", "key": None, "title": "Call back", "before": "open", "after": "done"}
    for early in [
        event("task.completed", completed, version=2),  # perhaps a task of an external role
        added(2, IVY, "claimant", name="Ivy", email="ivy@example.org"),
        changed(2, {"count": 1}),
        event("comment.added", {"comment_id": "c1", "external": True, "body": "hi"}),
        event("case.milestone", {}, visibility=Visibility.EXTERNAL),
    ]:
        assert projection.concerns_portal(early)
        with pytest.raises(projection.CaseNotProjectedError):
            service.project(early)


def test_only_a_role_that_may_view_documents_downloads_them(
    portal: LoadedService, template: TemplateDefinition
) -> None:
    case = open_case(template, document(4, "receipt"))
    service = visit_service(portal, FakeStore(case, template), FakeBus())
    url = service.download_url(session(), "receipt", 1)
    assert url == f"https://documents.example.org/cases/{CASE_ID}/receipt/{case.documents[0].upload_id}"
    with pytest.raises(NotFoundError):
        service.download_url(session(WES), "receipt", 1)
    with pytest.raises(NotFoundError):
        service.download_url(session(), "receipt", 2)


# tasks of an external role

SIGN, CHECK, SCAN, AUDIT = (f"01JPTASK{name:0<18}"[:26] for name in ("SIGN", "CHECK", "SCAN", "AUDIT"))
DUE = T0 + timedelta(days=3)


@pytest.fixture
def tasks_template() -> TemplateDefinition:
    """The claim, whose first stage asks the claimant to sign and the handler to check; the claimant may mark
    tasks done."""
    definition: dict[str, Any] = {**TEMPLATE, "stages": [dict(stage) for stage in TEMPLATE["stages"]]}
    definition["stages"][0]["tasks"] = [
        {"key": "sign", "title": "Sign the form", "assignee_role": "claimant", "description": "Page 2, at the bottom."},
        {"key": "check", "title": "Check the form", "assignee_role": "handler"},
    ]
    definition["roles"] = [dict(role) for role in TEMPLATE["roles"]]
    definition["roles"][1]["permissions"] = [*TEMPLATE["roles"][1]["permissions"], "task.complete"]
    return TemplateDefinition.model_validate(definition)


def summary(task_id: str, key: str | None, title: str) -> dict[str, Any]:
    return {"task_id": task_id, "key": key, "title": title, "required": True, "due_at": None}


def task_event(kind: str, version: int, task_id: str, title: str, **data: Any) -> EventEnvelope:
    members: dict[str, Any] = {"task_id": task_id, "title": title, **data}
    if kind == "task.completed":
        members |= {"key": data.get("key"), "before": "open", "after": "done"}
    if kind == "task.reopened":
        members |= {"before": "done", "after": "open", "reason": "Not signed yet"}
    return event(kind, members, version=version)


def task_history() -> list[EventEnvelope]:
    first = opened({"purpose": "Bike"})
    first.data["tasks_created"] = [summary(SIGN, "sign", "Sign the form"), summary(CHECK, "check", "Check the form")]
    created = {"key": None, "required": False, "reason": "Blurred", "assignee": None}
    return [
        first,
        added(2, IVY, "claimant", name="Ivy Claimant", email="ivy@example.org"),
        added(3, WES, "witness", name="Wes Witness", email="wes@example.org"),
        task_event(
            "task.created",
            4,
            SCAN,
            "Scan the receipt again",
            due_at=DUE.isoformat(),
            assignee_role="claimant",
            **created,
        ),
        task_event("task.created", 5, AUDIT, "Audit the payout", due_at=None, assignee_role="handler", **created),
        task_event("task.completed", 6, SIGN, "Sign the form", key="sign"),
        task_event("task.reopened", 7, SIGN, "Sign the form"),
        task_event(
            "task.assigned",
            8,
            CHECK,
            "Check the form",
            before={"assignee": None, "assignee_role": "handler"},
            after={"assignee": None, "assignee_role": "claimant"},
        ),
        task_event("task.completed", 9, SCAN, "Scan the receipt again"),
    ]


def test_the_tasks_of_an_external_role_are_kept_in_any_order_of_arrival(tasks_template: TemplateDefinition) -> None:
    events = task_history()
    case = project(tasks_template, events)
    assert {task.id: (task.title, task.assignee_role, task.status) for task in case.tasks.values()} == {
        SIGN: ("Sign the form", "claimant", "open"),
        CHECK: ("Check the form", "claimant", "open"),
        SCAN: ("Scan the receipt again", "claimant", "done"),
        AUDIT: ("", "handler", "open"),
    }
    assert "Audit the payout" not in case.model_dump_json(), "the words of the team's own tasks are not kept"
    expected = state(case)
    for each in events:
        assert projection.apply(case, tasks_template, each) is False, each.type
    shuffler = random.Random(11)
    for _ in range(60):
        shuffled = events[:]
        shuffler.shuffle(shuffled)
        assert state(project(tasks_template, shuffled)) == expected, [each.type for each in shuffled]


def test_the_page_lists_the_open_tasks_of_the_participant_s_role(tasks_template: TemplateDefinition) -> None:
    case = project(tasks_template, task_history())
    view = view_of(tasks_template, case)
    assert [(task.id, task.title, task.description) for task in view.tasks] == [
        (CHECK, "Check the form", None),
        (SIGN, "Sign the form", "Page 2, at the bottom."),
    ], "neither the done task nor the team's own"
    assert view_of(tasks_template, case, WES).tasks == [], "another role's tasks are not the witness's"
    without_the_right = TemplateDefinition.model_validate(TEMPLATE)
    assert view_of(without_the_right, case).tasks == [], "a role without task.complete has nothing to mark done"


def test_a_task_is_marked_done_by_a_command_only_when_it_is_open_and_the_participant_s(
    portal: LoadedService, tasks_template: TemplateDefinition
) -> None:
    case = project(tasks_template, task_history())
    bus = FakeBus()
    service = visit_service(portal, FakeStore(case, tasks_template), bus)
    for refused, participant in [(AUDIT, IVY), (SCAN, IVY), ("01JPNOSUCHTASK000000000000", IVY), (SIGN, WES)]:
        with pytest.raises(NotFoundError):
            service.complete_task(session(participant), refused)
    assert bus.published == []
    service.complete_task(session(), SIGN)
    [(command, is_command)] = bus.published
    assert is_command
    assert (command.type, command.actor.kind, command.actor.id, command.data) == (
        "portal.task_completed",
        ActorKind.EXTERNAL,
        IVY,
        {"task_id": SIGN},
    )


def test_every_time_on_the_page_is_in_the_template_s_zone(template: TemplateDefinition) -> None:
    shown = page.local_time(datetime(2025, 1, 15, 8, 0, tzinfo=UTC), template.calendar.timezone)
    assert shown.strftime("%d %b %Y %H:%M %Z") == "15 Jan 2025 09:00 CET"
    assert page.local_time("2025-07-01T08:00:00Z", "Europe/Amsterdam").strftime("%H:%M %Z") == "10:00 CEST"
