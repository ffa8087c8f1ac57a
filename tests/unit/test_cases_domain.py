"""Opening a case (the domain function and the use case), with an in-memory repository behind the port."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from case_domain import case_domain
from caseline_common.contracts import (
    CaseSnapshot,
    CaseStatus,
    Participant,
    ParticipantKind,
    PublishedTemplate,
    TemplateDefinition,
)
from caseline_common.envelope import Actor, ActorKind, EventEnvelope, Visibility
from caseline_common.errors import (
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    PreconditionFailedError,
)
from caseline_common.idempotency import KeyClaimedError
from caseline_common.pagination import Page
from caseline_common.tenant import TenantContext
from cases_services import cases_services
from service_modules import loaded_namespace

if TYPE_CHECKING:
    import case_domain as domain
    import cases_services as service_module
else:
    domain = loaded_namespace("case_domain", case_domain, "cases")
    service_module = loaded_namespace("cases_services", cases_services, "cases")

NOW = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)


@dataclass
class Ids:
    prefix: str = "case"
    issued: int = 0

    def __call__(self) -> str:
        self.issued += 1
        return f"{self.prefix}-{self.issued}"


ULID_PATTERN = r"^[0-9A-HJKMNP-TV-Z]{26}$"

DEFINITION = TemplateDefinition.model_validate(
    {
        "key": "claim",
        "name": "Expense claim",
        "fields": [
            {"key": "amount", "label": "Amount", "type": "money", "required": True, "currencies": ["EUR"]},
            {"key": "due", "label": "Due", "type": "date"},
            {"key": "note", "label": "Note", "type": "text"},
        ],
        "stages": [
            {"key": "submitted", "name": "Submitted"},
            {"key": "approved", "name": "Approved"},
            {"key": "paid", "name": "Paid"},
        ],
    }
)
TEMPLATE = PublishedTemplate(definition=DEFINITION, version=3, published_at=NOW, published_by="admin-1")
AMOUNT = {"amount": "12.5", "currency": "EUR"}


def opened(body: Any, context: TenantContext, *, case_id: str = "case-1") -> Any:
    change = domain.open_case(TEMPLATE, body, context, case_id=case_id, now=NOW, new_id=Ids("id"))
    return change.case, change.event


def request(**changes: Any) -> Any:
    body: dict[str, Any] = {"template_key": "claim", "title": "Train to Leeds", "fields": {"amount": AMOUNT}}
    body.update(changes)
    return domain.OpenCaseRequest.model_validate(body)


# The domain function


def test_a_case_opens_in_the_first_stage_at_version_1(staff: TenantContext) -> None:
    case, _ = opened(request(), staff, case_id="case-1")

    assert case == CaseSnapshot(
        id="case-1",
        tenant_id="acme",
        template_key="claim",
        template_version=3,
        title="Train to Leeds",
        owner="user-1",
        stage="submitted",
        stage_entered_at=NOW,
        status=CaseStatus.OPEN,
        fields={"amount": {"amount": "12.5", "currency": "EUR"}},
        participants=[
            Participant(
                id="id-1", kind=ParticipantKind.INTERNAL, role="team", user_id="user-1", added_at=NOW, added_by="user-1"
            )
        ],
        created_at=NOW,
        created_by="user-1",
        updated_at=NOW,
        version=1,
    )


def test_the_owner_defaults_to_the_caller_but_may_be_named(staff: TenantContext) -> None:
    case, event = opened(request(owner="user-7"), staff, case_id="case-1")

    assert case.owner == "user-7"
    assert case.created_by == "user-1"
    assert event.data["owner"] == "user-7"


def test_the_title_is_trimmed(staff: TenantContext) -> None:
    case, event = opened(request(title="  Train  "), staff, case_id="c")

    assert case.title == "Train"
    assert event.data["title"] == "Train"


def test_field_values_are_stored_in_canonical_form(staff: TenantContext) -> None:
    fields = {"amount": {"amount": 7, "currency": "EUR"}, "due": "2025-04-01T00:00:00", "note": None}

    case, event = opened(request(fields=fields), staff, case_id="c")

    assert case.fields == {"amount": {"amount": "7", "currency": "EUR"}, "due": "2025-04-01"}
    assert event.data["fields"] == case.fields


def test_the_case_opened_event_records_who_opened_what(staff: TenantContext) -> None:
    case, event = opened(request(), staff, case_id="case-1")

    assert isinstance(event, EventEnvelope)
    assert event.type == "case.opened"
    assert event.tenant_id == "acme"
    assert event.case_id == "case-1"
    assert event.actor == Actor(kind=ActorKind.USER, id="user-1", display_name="user-1@example.org")
    assert event.correlation_id == "corr-1"
    assert event.causation_id is None
    assert event.occurred_at == NOW
    assert event.visibility is Visibility.EXTERNAL  # the portal shows that a case was opened
    assert event.event_id != case.id
    assert event.data == {
        "title": "Train to Leeds",
        "template_key": "claim",
        "template_version": 3,
        "stage": "submitted",
        "status": "open",
        "owner": "user-1",
        "participants": [{"participant_id": "id-1", "kind": "internal", "role": "team", "user_id": "user-1"}],
        "fields": {"amount": {"amount": "12.5", "currency": "EUR"}},
        "tasks_created": [],
    }


def test_each_opening_has_its_own_event_id(staff: TenantContext) -> None:
    _, first = opened(request(), staff, case_id="c")
    _, second = opened(request(), staff, case_id="c")

    assert first.event_id != second.event_id


def test_a_case_needs_every_required_field(staff: TenantContext) -> None:
    with pytest.raises(InvalidInputError) as raised:
        opened(request(fields={"note": "x"}), staff, case_id="c")

    assert [issue.pointer for issue in raised.value.issues] == ["/fields/amount"]


def test_the_request_refuses_unknown_attributes() -> None:
    with pytest.raises(ValueError, match="extra"):
        request(stage="paid")


# The use case, behind an in-memory repository


@dataclass
class Clock:
    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now


@dataclass
class InMemoryCasesRepository:
    """Implements the CasesRepository port the way the DynamoDB adapter does, claim checked first."""

    clock: Clock
    templates: dict[str, PublishedTemplate] = field(default_factory=dict)
    versions: dict[tuple[str, int], PublishedTemplate] = field(default_factory=dict)
    drafts: dict[str, Any] = field(default_factory=dict)
    comments: list[Any] = field(default_factory=list)
    cases: dict[str, CaseSnapshot] = field(default_factory=dict)
    claims: dict[str, Any] = field(default_factory=dict)
    outbox: list[EventEnvelope] = field(default_factory=list)
    list_limits: list[int] = field(default_factory=list)

    def _check_claim(self, claim: Any) -> None:
        if claim is None:
            return
        earlier = self.idempotency_claim(claim.scope)
        if earlier is not None:
            raise KeyClaimedError(claim, earlier)

    def _store_claim(self, claim: Any) -> None:
        if claim is not None:
            self.claims[claim.scope] = claim

    def publish_template(self, template: PublishedTemplate, event: EventEnvelope, claim: Any) -> None:
        self._check_claim(claim)
        latest = self.templates.get(template.definition.key)
        if (latest.version if latest else 0) != template.version - 1:
            raise service_module.TemplateExistsError(template.definition.key)
        self.templates[template.definition.key] = template
        self.versions[(template.definition.key, template.version)] = template
        self.drafts.pop(template.definition.key, None)
        self.outbox.append(event)
        self._store_claim(claim)

    def latest_template(self, key: str) -> PublishedTemplate | None:
        return self.templates.get(key)

    def latest_template_and_claim(self, key: str, scope: str) -> tuple[PublishedTemplate | None, Any]:
        return self.latest_template(key), self.idempotency_claim(scope)

    def template_version(self, key: str, version: int) -> PublishedTemplate | None:
        return self.versions.get((key, version))

    def list_template_versions(self, key: str, *, limit: int, cursor: str | None) -> Page[PublishedTemplate]:
        return Page(items=[template for (each, _), template in sorted(self.versions.items()) if each == key][:limit])

    def save_draft(self, key: str, draft: Any) -> None:
        self.drafts[key] = draft

    def draft(self, key: str) -> Any:
        return self.drafts.get(key)

    def save_change(self, before: CaseSnapshot, change: Any, claim: Any) -> None:
        self._check_claim(claim)
        if self.cases[before.id].version != before.version:
            raise service_module.StaleVersionError(self.cases[before.id].version)
        self.cases[before.id] = change.case
        self.outbox.append(change.event)
        self._store_claim(claim)

    def record_event(self, event: EventEnvelope, case: CaseSnapshot) -> None:
        if all(each.event_id != event.event_id for each in self.outbox):  # once per event id, as the adapter
            self.outbox.append(event)

    def add_comment(self, comment: Any, event: EventEnvelope, claim: Any, case: Any) -> None:
        self._check_claim(claim)
        self.comments.append(comment)
        self.outbox.append(event)
        self._store_claim(claim)

    def list_comments(self, case_id: str, *, limit: int, cursor: str | None) -> Page[Any]:
        return Page(items=[comment for comment in self.comments if comment.case_id == case_id][:limit])

    def list_templates(self, *, limit: int, cursor: str | None) -> Page[Any]:
        raise NotImplementedError

    def create_case(self, case: CaseSnapshot, event: EventEnvelope, claim: Any) -> None:
        self._check_claim(claim)
        assert case.id not in self.cases
        self.cases[case.id] = case
        self.outbox.append(event)
        self._store_claim(claim)

    def get_case(self, case_id: str) -> CaseSnapshot | None:
        return self.cases.get(case_id)

    def case_and_claim(self, case_id: str, scope: str) -> tuple[CaseSnapshot | None, Any]:
        return self.get_case(case_id), self.idempotency_claim(scope)

    def list_cases(self, case_filter: Any, *, limit: int, cursor: str | None) -> Page[CaseSnapshot]:
        """Pages in insertion order; the cursor is where the next page starts."""
        self.list_limits.append(limit)
        start = int(cursor or 0)
        cases = list(self.cases.values())
        end = start + limit
        return Page(items=cases[start:end], next_cursor=str(end) if end < len(cases) else None)

    def idempotency_claim(self, scope: str) -> Any:
        claim = self.claims.get(scope)
        return claim if claim is not None and claim.expires_at >= self.clock() else None

    def save_claim(self, claim: Any) -> None:
        self._check_claim(claim)
        self._store_claim(claim)


class NoDocuments:
    """These use cases never touch the documents bucket; the S3 adapter has its own tests on moto."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"unexpected documents call: {name}")


@dataclass
class World:
    service: "service_module.CaseService"
    templates: "service_module.TemplateService"
    repository: InMemoryCasesRepository
    clock: Clock


@pytest.fixture
def world() -> World:
    clock = Clock()
    repository = InMemoryCasesRepository(clock=clock)
    repository.templates["claim"] = TEMPLATE
    repository.versions[("claim", TEMPLATE.version)] = TEMPLATE
    service = service_module.CaseService(repository, NoDocuments(), clock=clock, new_id=Ids())
    templates = service_module.TemplateService(repository, service, clock=clock)
    return World(service=service, templates=templates, repository=repository, clock=clock)


def test_staff_open_a_case(world: World, staff: TenantContext) -> None:
    created = world.service.open_case(staff, request(), None)

    assert created.replayed is False
    assert created.resource.id == "case-1"
    assert created.resource.created_at == NOW
    assert world.repository.cases == {"case-1": created.resource}
    assert [event.type for event in world.repository.outbox] == ["case.opened"]
    assert world.repository.claims == {}


def test_admins_open_cases_too(world: World, admin: TenantContext) -> None:
    assert world.service.open_case(admin, request(), None).resource.owner == "admin-1"


def test_a_caller_without_a_staff_group_cannot_open_a_case(world: World, outsider: TenantContext) -> None:
    with pytest.raises(ForbiddenError):
        world.service.open_case(outsider, request(), "key-1")

    assert world.repository.cases == {}
    assert world.repository.outbox == []


@pytest.mark.parametrize("groups", [(), ("everyone",), ("caseline-staffers", "admins")])
def test_staff_roles_come_only_from_the_exact_groups(world: World, context_for: Any, groups: tuple[str, ...]) -> None:
    context = context_for(*groups)

    with pytest.raises(ForbiddenError):
        world.service.open_case(context, request(), None)
    with pytest.raises(ForbiddenError):
        world.service.get_case(context, "case-1")
    with pytest.raises(ForbiddenError):
        world.templates.get_template(context, "claim")
    with pytest.raises(ForbiddenError):
        world.service.list_cases(context, service_module.CaseFilter(), limit=10, cursor=None)


def test_an_unknown_template_points_at_template_key(world: World, staff: TenantContext) -> None:
    with pytest.raises(InvalidInputError) as raised:
        world.service.open_case(staff, request(template_key="missing"), None)

    [issue] = raised.value.issues
    assert issue.pointer == "/template_key"
    assert issue.location == "body"
    assert issue.detail == "no template missing"
    assert world.repository.cases == {}


def test_invalid_field_values_create_nothing(world: World, staff: TenantContext) -> None:
    with pytest.raises(InvalidInputError):
        world.service.open_case(staff, request(fields={"amount": {"amount": "1", "currency": "USD"}}), "k")

    assert world.repository.cases == {}
    assert world.repository.claims == {}


def test_the_same_key_and_body_replays_the_first_case(world: World, staff: TenantContext) -> None:
    first = world.service.open_case(staff, request(), "key-1")
    world.clock.now = NOW + timedelta(hours=1)
    again = world.service.open_case(staff, request(), "key-1")

    assert first.replayed is False
    assert again.replayed is True
    assert again.resource == first.resource
    assert list(world.repository.cases) == ["case-1"]
    assert len(world.repository.outbox) == 1


def test_the_claim_is_scoped_to_operation_caller_and_key(world: World, staff: TenantContext) -> None:
    world.service.open_case(staff, request(), "key-1")

    [claim] = world.repository.claims.values()
    assert claim.scope == "open_case#user-1#key-1"
    assert CaseSnapshot.model_validate_json(claim.answer).id == "case-1", "the claim keeps the answer"
    assert claim.expires_at == NOW + timedelta(hours=24)


def test_the_same_key_with_another_body_is_refused(world: World, staff: TenantContext) -> None:
    world.service.open_case(staff, request(), "key-1")

    with pytest.raises(InvalidInputError) as raised:
        world.service.open_case(staff, request(title="Another title"), "key-1")

    [issue] = raised.value.issues
    assert (issue.location, issue.pointer, issue.detail) == ("header", "/Idempotency-Key", "reused with another body")
    assert list(world.repository.cases) == ["case-1"]


def test_the_same_key_from_another_caller_opens_another_case(
    world: World, staff: TenantContext, context_for: Any
) -> None:
    colleague = context_for("caseline-staff", subject="user-2")

    first = world.service.open_case(staff, request(), "key-1")
    second = world.service.open_case(colleague, request(), "key-1")

    assert second.replayed is False
    assert second.resource.id != first.resource.id
    assert second.resource.owner == "user-2"


def test_without_a_key_every_request_opens_a_case(world: World, staff: TenantContext) -> None:
    world.service.open_case(staff, request(), None)
    world.service.open_case(staff, request(), None)

    assert len(world.repository.cases) == 2


def test_a_key_is_free_again_after_the_window(world: World, staff: TenantContext) -> None:
    world.service.open_case(staff, request(), "key-1")
    world.clock.now = NOW + timedelta(hours=24, seconds=1)

    later = world.service.open_case(staff, request(), "key-1")

    assert later.replayed is False
    assert len(world.repository.cases) == 2


def test_a_key_claimed_between_the_read_and_the_write_replays_the_first_answer(
    world: World, staff: TenantContext
) -> None:
    first = world.service.open_case(staff, request(), "key-1")
    repository = world.repository
    repository.latest_template_and_claim = lambda key, scope: (repository.latest_template(key), None)  # type: ignore[method-assign]

    again = world.service.open_case(staff, request(), "key-1")

    assert again.replayed is True
    assert again.resource == first.resource
    assert list(repository.cases) == ["case-1"]


def test_a_case_of_another_tenant_is_not_found(world: World, staff: TenantContext, context_for: Any) -> None:
    case = world.service.open_case(staff, request(), None).resource

    assert world.service.get_case(staff, case.id) == case
    with pytest.raises(NotFoundError):
        world.service.get_case(context_for("caseline-staff", tenant_id="globex"), case.id)
    with pytest.raises(NotFoundError):
        world.service.get_case(staff, "case-404")


# Publishing templates through the use case


def onboarding(name: str = "Onboarding") -> TemplateDefinition:
    return TemplateDefinition.model_validate(
        {"key": "onboarding", "name": name, "stages": [{"key": "new", "name": "New"}]}
    )


def test_only_admins_publish_templates(world: World, staff: TenantContext, outsider: TenantContext) -> None:
    for context in (staff, outsider):
        with pytest.raises(ForbiddenError):
            world.templates.publish_template(context, onboarding(), None)

    assert "onboarding" not in world.repository.templates


def test_an_admin_publishes_version_1(world: World, admin: TenantContext) -> None:
    created = world.templates.publish_template(admin, onboarding(), None)

    assert created.replayed is False
    assert (created.resource.version, created.resource.published_by) == (1, "admin-1")
    assert created.resource.published_at == NOW
    [event] = world.repository.outbox
    assert (event.type, event.case_id) == ("template.published", None)
    assert event.data == {
        "template_key": "onboarding",
        "version": 1,
        "name": "Onboarding",
        "definition": onboarding().model_dump(mode="json"),
    }


def test_publishing_a_template_replays_with_the_same_key(world: World, admin: TenantContext) -> None:
    first = world.templates.publish_template(admin, onboarding(), "key-1")
    again = world.templates.publish_template(admin, onboarding(), "key-1")

    assert again.replayed is True
    assert again.resource == first.resource
    assert len(world.repository.outbox) == 1


def test_publishing_another_template_under_a_used_key_is_refused(world: World, admin: TenantContext) -> None:
    world.templates.publish_template(admin, onboarding(), "key-1")

    with pytest.raises(InvalidInputError) as raised:
        world.templates.publish_template(admin, onboarding("Renamed"), "key-1")

    assert [issue.pointer for issue in raised.value.issues] == ["/Idempotency-Key"]


def test_an_existing_template_key_points_at_key(world: World, admin: TenantContext) -> None:
    world.templates.publish_template(admin, onboarding(), None)

    with pytest.raises(InvalidInputError) as raised:
        world.templates.publish_template(admin, onboarding("Again"), None)

    [issue] = raised.value.issues
    assert (issue.pointer, issue.detail) == ("/key", "already exists; publish a new version of it instead")


def test_a_template_with_mistakes_is_not_stored(world: World, admin: TenantContext) -> None:
    definition = TemplateDefinition.model_validate(
        {
            "key": "broken",
            "name": "Broken",
            "fields": [{"key": "team", "label": "Team", "type": "enum"}],
            "stages": [{"key": "new", "name": "New"}],
        }
    )

    with pytest.raises(InvalidInputError) as raised:
        world.templates.publish_template(admin, definition, None)

    assert [issue.pointer for issue in raised.value.issues] == ["/fields/0/options"]
    assert "broken" not in world.repository.templates


def test_an_unknown_template_is_not_found(world: World, staff: TenantContext) -> None:
    with pytest.raises(NotFoundError):
        world.templates.get_template(staff, "missing")
    assert world.templates.get_template(staff, "claim") == TEMPLATE


# Commands through the use case: one read, one conditional write, access from roles


GUARDED = PublishedTemplate(
    definition=TemplateDefinition.model_validate(
        {
            **DEFINITION.model_dump(mode="json"),
            "key": "guarded",
            "fields": [*DEFINITION.model_dump(mode="json")["fields"], {"key": "secret", "label": "S", "type": "text"}],
            "roles": [
                {
                    "key": "clerk",
                    "name": "Clerk",
                    "permissions": ["case.view", "case.transition"],
                    "fields": {"*": "edit", "secret": "view"},
                },
                {
                    "key": "auditor",
                    "name": "Auditor",
                    "permissions": ["case.view"],
                    "fields": {"amount": "view"},
                    "groups": ["auditors"],
                },
            ],
        }
    ),
    version=1,
    published_at=NOW,
    published_by="admin-1",
)


@pytest.fixture
def guarded_case(world: World, staff: TenantContext) -> CaseSnapshot:
    world.repository.templates["guarded"] = GUARDED
    world.repository.versions[("guarded", 1)] = GUARDED
    body = request(template_key="guarded", fields={"amount": AMOUNT, "secret": "s3cret"})
    return world.service.open_case(staff, body, None).resource


def test_a_stale_version_is_a_conflict_and_a_stale_if_match_a_failed_precondition(
    world: World, staff: TenantContext, guarded_case: CaseSnapshot
) -> None:
    update = domain.UpdateCaseRequest(fields={"note": "x"}, version=7)
    with pytest.raises(ConflictError) as conflict:
        world.service.command(staff, guarded_case.id, lambda work: domain.update(work, update), expected_version=7)
    assert conflict.value.extensions == {"current_version": 1}
    with pytest.raises(PreconditionFailedError):
        world.service.command(staff, guarded_case.id, lambda work: domain.update(work, update), if_match=3)
    assert world.repository.cases[guarded_case.id] == guarded_case


def test_a_write_that_loses_the_race_reports_the_current_version(
    world: World, staff: TenantContext, guarded_case: CaseSnapshot
) -> None:
    def meanwhile(work: Any) -> Any:
        world.repository.cases[guarded_case.id] = guarded_case.model_copy(update={"version": 2})
        return domain.update(work, domain.UpdateCaseRequest(fields={"note": "x"}))

    with pytest.raises(ConflictError) as conflict:
        world.service.command(staff, guarded_case.id, meanwhile)
    assert conflict.value.current_version == 2


def test_roles_come_from_participation_or_groups_and_hide_fields(
    world: World, staff: TenantContext, context_for: Any, guarded_case: CaseSnapshot
) -> None:
    assert world.service.get_case(staff, guarded_case.id).fields["secret"] == "s3cret", "the owner is a clerk"
    colleague = context_for("caseline-staff", subject="user-2")
    with pytest.raises(NotFoundError):
        world.service.get_case(colleague, guarded_case.id)
    auditor = context_for("caseline-staff", "auditors", subject="user-3")
    assert world.service.get_case(auditor, guarded_case.id).fields == {"amount": AMOUNT}
    listed = world.service.list_cases(colleague, service_module.CaseFilter(), limit=10, cursor=None)
    assert guarded_case.id not in [case.id for case in listed.items]


def test_a_view_only_field_cannot_be_changed(world: World, staff: TenantContext, guarded_case: CaseSnapshot) -> None:
    update = domain.UpdateCaseRequest(fields={"secret": "new"}, version=1)
    with pytest.raises(ForbiddenError):
        world.service.command(staff, guarded_case.id, lambda work: domain.update(work, update), expected_version=1)


def test_a_retried_command_answers_as_the_first_time_whatever_happened_since(
    world: World, staff: TenantContext, guarded_case: CaseSnapshot
) -> None:
    def retried(note: str, key: str | None) -> Any:
        body = domain.UpdateCaseRequest(fields={"note": note})
        return world.service.command(
            staff,
            guarded_case.id,
            lambda work: domain.update(work, body),
            operation="note",
            idempotency_key=key,
            body=body,
        )

    first = retried("first", "key-1")
    retried("second", None)
    again = retried("first", "key-1")

    assert (first.replayed, again.replayed) == (False, True)
    assert again.resource == first.resource
    assert world.repository.cases[guarded_case.id].fields["note"] == "second", "the retry changed nothing"
    with pytest.raises(InvalidInputError):
        retried("third", "key-1")


def test_a_command_that_changes_nothing_writes_nothing(
    world: World, staff: TenantContext, guarded_case: CaseSnapshot
) -> None:
    outbox = len(world.repository.outbox)
    unchanged = world.service.command(
        staff, guarded_case.id, lambda work: domain.update(work, domain.UpdateCaseRequest(fields={"amount": AMOUNT}))
    )
    assert unchanged.resource.version == 1
    assert len(world.repository.outbox) == outbox


# Listing cases


def test_a_list_page_is_one_query_of_the_page_s_size(world: World, staff: TenantContext) -> None:
    for index in range(5):
        world.service.open_case(staff, request(title=f"Hotel {index}"), None)

    first = world.service.list_cases(staff, service_module.CaseFilter(), limit=3, cursor=None)
    second = world.service.list_cases(staff, service_module.CaseFilter(), limit=3, cursor=first.next_cursor)

    assert len(first.items) == 3
    assert len(second.items) == 2
    assert second.next_cursor is None
    assert world.repository.list_limits == [3, 3], "one query a page; words are GET /search's"
