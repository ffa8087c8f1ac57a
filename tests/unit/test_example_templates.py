"""The example templates in examples/templates, and the template guide that documents their format.

Each example is valid (the pydantic models, the semantic checks and the published JSON Schema all accept
it), and a case runs on it from opening to closure through the domain alone, with no AWS: at every stage a
forward move is first refused with exactly the criteria that are unmet, then a person satisfies them
(fields, tasks, documents, decisions, the external participant) and the case moves on, until it closes.
"""

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, get_args
from zoneinfo import ZoneInfo

import pytest
from case_domain import case_domain
from caseline_common import access as access_rules
from caseline_common.conditions import case_facts, evaluate
from caseline_common.contracts import (
    EXTERNAL_PERMISSIONS,
    BusinessCalendar,
    CaseSnapshot,
    CaseStatus,
    DocumentVersion,
    DurationUnit,
    FieldAccess,
    FieldType,
    ParticipantKind,
    Permission,
    PublishedTemplate,
    RoleKind,
    RuleAction,
    TaskStatus,
    TemplateDefinition,
)
from caseline_common.envelope import ActorKind, EventEnvelope, new_id
from caseline_common.errors import ConflictError, ForbiddenError, InvalidInputError
from caseline_common.tenant import Principal, TenantContext
from example_paths import (
    EXAMPLES,
    INSURANCE_FIELDS,
    MAIN_PATHS,
    NAMES,
    PATHS,
    ROOT,
    CasePath,
    CompleteTasks,
    Decide,
    Fields,
    Invite,
    Stage,
    Step,
    Upload,
    expected_closed_branch,
    expected_unmet,
    load,
)
from jsonschema import Draft202012Validator
from pydantic import ValidationError
from service_modules import loaded_module, loaded_namespace

if TYPE_CHECKING:
    import case_domain as domain

    from services.cases.chalicelib.domain import templates
else:
    domain = loaded_namespace("case_domain", case_domain, "cases")
    templates = loaded_module("cases", "chalicelib.domain.templates")


GUIDE = ROOT / "docs" / "templates.md"
NOW = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)  # a Friday: business deadlines cross a weekend
TICK = timedelta(minutes=20)
BUSINESS_UNITS = (DurationUnit.BUSINESS_HOURS, DurationUnit.BUSINESS_DAYS)
ACTION_TYPES = {get_args(action.model_fields["type"].annotation)[0] for action in get_args(get_args(RuleAction)[0])}


def published(name: str) -> PublishedTemplate:
    return PublishedTemplate(definition=load(name), version=1, published_at=NOW, published_by="admin-1")


def schema_document() -> dict[str, Any]:
    """What GET /schemas/template serves, and what docs/templates.md ends with."""
    schema = TemplateDefinition.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "urn:caseline:template", **schema}


# The driver


def in_working_time(moment: datetime, calendar: BusinessCalendar) -> bool:
    local = moment.astimezone(ZoneInfo(calendar.timezone))
    opens, closes = time.fromisoformat(calendar.opens), time.fromisoformat(calendar.closes)
    return (
        local.isoweekday() in calendar.workdays
        and local.date().isoformat() not in calendar.holidays
        and opens <= local.time() <= closes
    )


@dataclass
class Driver:
    """One case on one template, worked by one caller through the domain; records every change it makes."""

    template: PublishedTemplate
    context: TenantContext
    now: datetime = NOW
    case: CaseSnapshot | None = None
    events: list[EventEnvelope] = field(default_factory=list)

    @property
    def definition(self) -> TemplateDefinition:
        return self.template.definition

    @property
    def current(self) -> CaseSnapshot:
        assert self.case is not None
        return self.case

    def open(self, title: str, fields: dict[str, Any]) -> None:
        request = domain.OpenCaseRequest(template_key=self.definition.key, title=title, fields=fields)
        change = domain.open_case(self.template, request, self.context, case_id=new_id(), now=self.now, new_id=new_id)
        self._record(change, "case.opened")

    def work(self) -> Any:
        self.now += TICK
        access = access_rules.case_access(self.definition, self.current, self.context.principal)
        return domain.CaseWork(self.template, self.current, access, self.context, self.now, new_id)

    def apply(self, command: Callable[..., Any], event_type: str) -> None:
        self._record(command(self.work()), event_type)

    def _record(self, change: Any, event_type: str) -> None:
        assert change is not None, f"{event_type}: the command changed nothing"
        before = self.case.version if self.case else 0
        assert change.case.version == before + 1
        assert isinstance(change.event, EventEnvelope)
        assert change.event.type == event_type
        assert change.event.case_id == change.case.id
        assert change.event.occurred_at == self.now
        if event_type != "case.opened":
            assert change.event.data["version"] == change.case.version
        self.events.append(change.event)
        self.case = change.case

    def do(self, step: Step) -> None:
        match step:
            case Fields(values):
                request = domain.UpdateCaseRequest(fields=values)
                self.apply(lambda work: domain.update(work, request), "case.fields_changed")
                assert all(self.current.fields.get(key) is not None for key in values)
            case CompleteTasks():
                for task in self.open_required_tasks():
                    self.apply(lambda work, task_id=task.id: domain.complete_task(work, task_id), "task.completed")
            case Upload(document_type, filename):
                self.apply(
                    lambda work: domain.add_document_version(work, document_type, self.upload(document_type, filename)),
                    "document.added",
                )
                [document] = [each for each in self.current.documents if each.type == document_type]
                assert self.events[-1].data["document_version"] == len(document.versions)
            case Decide(key, outcome, rationale):
                decision = domain.RecordDecisionRequest(key=key, outcome=outcome, rationale=rationale)
                self.apply(lambda work: domain.record_decision(work, decision), "decision.recorded")
                assert case_facts(self.current)["decisions"][key] == outcome
            case Invite(role, name, email):
                invitation = domain.AddParticipantRequest(kind="external", role=role, name=name, email=email)
                self.apply(lambda work: domain.add_participant(work, invitation), "participant.added")

    def open_required_tasks(self) -> list[Any]:
        case = self.current
        return [
            task for task in case.tasks if task.stage == case.stage and task.required and task.status is TaskStatus.OPEN
        ]

    def upload(self, document_type: str, filename: str) -> DocumentVersion:
        definition = next(each for each in self.definition.document_types if each.key == document_type)
        upload_id = new_id()
        return DocumentVersion(
            version=1,
            upload_id=upload_id,
            object_key=f"cases/{self.current.id}/{document_type}/{upload_id}",
            filename=filename,
            content_type=definition.content_types[0],
            size=min(240_000, definition.max_size_bytes),
            sha256=hashlib.sha256(filename.encode()).hexdigest(),
            uploaded_by=self.context.principal.subject,
            uploaded_at=self.now,
        )

    def expected_unmet(self, stage: Stage) -> set[tuple[str, str]]:
        case = self.current
        return expected_unmet(
            self.definition,
            stage,
            fields=case.fields,
            documents=[document.type for document in case.documents],
            decisions=[decision.key for decision in case.decisions],
        )

    def refused(self, command: Callable[..., Any]) -> set[tuple[str, str]]:
        """The unmet criteria a refused move or close names, as (stage, description) pairs."""
        version = self.current.version
        with pytest.raises(domain.TransitionBlockedError) as blocked:
            command(self.work())
        assert isinstance(blocked.value, ConflictError)
        assert blocked.value.extensions["current_version"] == version
        return {(item["stage"], item["description"]) for item in blocked.value.extensions["unmet"]}

    def move(self, to: str) -> None:
        request = domain.TransitionRequest(to=to)
        self.apply(lambda work: domain.transition(work, request), "case.stage_changed")
        case, event = self.current, self.events[-1]
        target = next(each for each in self.definition.stages if each.key == to)
        assert case.stage == to
        assert event.data["direction"] == "forward"
        assert event.data["overridden"] == []
        assert [task["key"] for task in event.data["tasks_created"]] == [task.key for task in target.tasks]
        self.check_deadlines(target.key)

    def check_deadlines(self, stage_key: str) -> None:
        """Stage SLAs and task due dates in business units fall in the template's working time."""
        case, calendar = self.current, self.definition.calendar
        stage = next(each for each in self.definition.stages if each.key == stage_key)
        assert (case.stage_due_at is not None) == (stage.sla is not None)
        if stage.sla is not None and stage.sla.unit in BUSINESS_UNITS:
            assert case.stage_due_at is not None
            assert in_working_time(case.stage_due_at, calendar)
        for definition in stage.tasks:
            task = next(each for each in case.tasks if each.stage == stage_key and each.key == definition.key)
            assert (task.due_at is not None) == (definition.due_in is not None)
            assert task.assignee_role == definition.assignee_role
            if definition.due_in is not None and definition.due_in.unit in BUSINESS_UNITS:
                assert task.due_at is not None
                assert in_working_time(task.due_at, calendar), (definition.key, task.due_at)

    def leaving(self, stage: Stage) -> Callable[[Any], Any]:
        """The command that takes the case out of `stage`: the move to the next stage, or the close."""
        if stage.to is None:
            close = domain.StatusChangeRequest()
            return lambda work: domain.close(work, close)
        move = domain.TransitionRequest(to=stage.to)
        return lambda work: domain.transition(work, move)

    def run(self, path: CasePath) -> None:
        self.open(path.title, path.fields)
        self.check_deadlines(self.definition.stages[0].key)
        for stage in path.stages:
            assert self.current.stage == stage.key
            transition = self.leaving(stage)
            expected = self.expected_unmet(stage)
            assert expected, f"stage {stage.key} has nothing to do"
            assert self.refused(transition) == expected
            for step in stage.steps:
                self.do(step)
            for other in stage.refused_after:
                request = domain.TransitionRequest(to=other)
                refused = self.refused(lambda work, request=request: domain.transition(work, request))
                assert refused == expected_closed_branch(self.definition, other)
            if stage.to is not None:
                self.move(stage.to)
            else:
                self.apply(transition, "case.closed")
        assert self.current.status is CaseStatus.CLOSED


# The examples are valid


@pytest.mark.parametrize("name", NAMES)
def test_each_example_parses_and_has_no_mistakes(name: str) -> None:
    definition = load(name)

    assert definition.key == name
    assert templates.template_issues(definition) == []


def test_the_examples_directory_holds_exactly_these_templates() -> None:
    assert sorted(path.stem for path in EXAMPLES.glob("*.json")) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_each_example_validates_against_the_published_json_schema(name: str) -> None:
    schema = schema_document()
    Draft202012Validator.check_schema(schema)

    errors = list(Draft202012Validator(schema).iter_errors(json.loads((EXAMPLES / f"{name}.json").read_text())))

    assert errors == []


def test_the_json_schema_refuses_a_broken_template() -> None:
    document = json.loads((EXAMPLES / "insurance-claim.json").read_text())
    document["fields"][0]["type"] = "colour"
    document["stages"][0]["exit_criteria"][0]["condition"] = {"==": [1, 1], "!=": [1, 2]}
    document["roles"][0]["permissions"].append("case.delete")
    validator = Draft202012Validator(schema_document())

    paths = sorted(
        "/" + "/".join(str(part) for part in error.absolute_path) for error in validator.iter_errors(document)
    )

    assert paths == ["/fields/0/type", "/roles/0/permissions/11", "/stages/0/exit_criteria/0/condition"]


@pytest.mark.parametrize("name", NAMES)
def test_each_example_is_a_realistic_configuration(name: str) -> None:
    definition = load(name)
    internal = [role for role in definition.roles if role.kind is RoleKind.INTERNAL]
    external = [role for role in definition.roles if role.kind is RoleKind.EXTERNAL]
    uploads = {role for document in definition.document_types for role in document.uploader_roles}

    assert 6 <= len(definition.fields) <= 15
    assert len({each.type for each in definition.fields}) >= 9
    assert 4 <= len(definition.stages) <= 6
    assert all(stage.sla is not None for stage in definition.stages)
    assert any(
        task.due_in and task.due_in.unit in BUSINESS_UNITS for stage in definition.stages for task in stage.tasks
    )
    assert any(stage.entry_criteria or stage.exit_criteria for stage in definition.stages)
    assert definition.document_types
    assert definition.decisions
    assert len(definition.rules) >= 3
    assert definition.calendar.holidays
    assert definition.portal.branding.name
    assert definition.portal.branding.colour
    assert sum(bool(role.groups) for role in internal) >= 2
    assert external
    for role in external:
        assert set(role.permissions) <= EXTERNAL_PERMISSIONS
        assert role.key in uploads
        assert FieldAccess.VIEW in role.fields.values()
        assert FieldAccess.EDIT in role.fields.values()
        assert "*" not in role.fields


def test_the_examples_use_every_field_type_and_action_type() -> None:
    definitions = [load(name) for name in NAMES]

    assert {each.type for definition in definitions for each in definition.fields} == set(FieldType)
    assert {action.type for d in definitions for rule in d.rules for action in rule.actions} == ACTION_TYPES


# A case runs on each from opening to closure


def test_every_stage_of_every_example_is_on_a_tested_path() -> None:
    for name in NAMES:
        visited = {stage.key for path in PATHS if path.template == name for stage in path.stages}
        assert visited == {stage.key for stage in load(name).stages}, name
        assert name in MAIN_PATHS


@pytest.mark.parametrize("path", PATHS, ids=lambda path: path.id)
def test_a_case_runs_from_opening_to_closure(admin: TenantContext, path: CasePath) -> None:
    driver = Driver(published(path.template), admin)

    driver.run(path)

    case = driver.current
    moves = [event.data["to"] for event in driver.events if event.type == "case.stage_changed"]
    assert moves == [stage.to for stage in path.stages if stage.to]
    assert [event.data["version"] for event in driver.events[1:]] == list(range(2, case.version + 1))
    assert len(driver.events) == case.version
    assert len({event.event_id for event in driver.events}) == len(driver.events)
    assert all(task.status is TaskStatus.DONE for task in case.tasks if task.required)
    assert case.status is CaseStatus.CLOSED


# Roles


def opened(admin: TenantContext, name: str) -> Driver:
    driver = Driver(published(name), admin)
    path = MAIN_PATHS[name]
    driver.open(path.title, path.fields)
    return driver


@pytest.mark.parametrize("name", NAMES)
def test_only_the_decider_roles_may_record_each_decision(
    admin: TenantContext,
    context_for: Callable[..., TenantContext],
    name: str,
) -> None:
    driver = opened(admin, name)
    staff_roles = [role for role in driver.definition.roles if role.kind is RoleKind.INTERNAL and role.groups]

    for decision in driver.definition.decisions:
        for role in staff_roles:
            context = context_for("caseline-staff", *role.groups, subject=f"{role.key}-1")
            access = access_rules.case_access(driver.definition, driver.current, context.principal)
            assert access.role_keys() == {role.key}
            work = domain.CaseWork(driver.template, driver.current, access, context, NOW, new_id)
            request = domain.RecordDecisionRequest(key=decision.key, outcome=decision.options[0], rationale="Agreed.")
            if role.key in decision.decider_roles:
                assert domain.record_decision(work, request).event.data["after"] == decision.options[0]
            else:
                with pytest.raises(ForbiddenError):
                    domain.record_decision(work, request)


def sample_values(path: CasePath) -> dict[str, Any]:
    values = dict(path.fields)
    for stage in path.stages:
        for step in stage.steps:
            if isinstance(step, Fields):
                values.update(step.values)
    return values


@pytest.mark.parametrize("name", NAMES)
def test_the_external_role_sees_and_edits_only_its_fields(admin: TenantContext, name: str) -> None:
    driver = opened(admin, name)
    values = sample_values(MAIN_PATHS[name])
    [role] = [role for role in driver.definition.roles if role.kind is RoleKind.EXTERNAL]
    access = access_rules.CaseAccess(admin=False, roles=(role,))

    def work() -> Any:
        return domain.CaseWork(driver.template, driver.current, access, admin, NOW, new_id)

    assert set(access_rules.redact(driver.current, access).fields) <= set(role.fields)
    for definition in driver.definition.fields:
        if definition.key not in values:
            continue
        request = domain.UpdateCaseRequest(fields={definition.key: values[definition.key]})
        granted = role.fields.get(definition.key)
        if granted is FieldAccess.EDIT:
            domain.update(work(), request)
        elif granted is FieldAccess.VIEW:
            with pytest.raises(ForbiddenError):
                domain.update(work(), request)
        else:
            with pytest.raises(InvalidInputError) as hidden:
                domain.update(work(), request)
            assert [issue.detail for issue in hidden.value.issues] == [f'unknown field "{definition.key}"']
    following = driver.definition.stages[1].key
    with pytest.raises(ForbiddenError):
        domain.transition(work(), domain.TransitionRequest(to=following))
    assert not access.can(Permission.CLOSE)


def test_the_new_hire_marks_their_own_task_done_and_no_other(admin: TenantContext) -> None:
    """What the portal sends for an external participant: the cases service applies it as them, with their role."""
    driver = opened(admin, "hr-employee-onboarding")
    invitation = domain.AddParticipantRequest(
        kind="external", role="new_hire", name="Noor Haddad", email="n@example.org"
    )
    driver.apply(lambda work: domain.add_participant(work, invitation), "participant.added")
    move = domain.TransitionRequest(to="pre_boarding", force=True, reason="Contract signed on paper.")
    driver.apply(lambda work: domain.transition(work, move), "case.stage_changed")
    [new_hire] = [p for p in driver.current.participants if p.kind is ParticipantKind.EXTERNAL]
    context = TenantContext(
        tenant_id=admin.tenant_id, principal=Principal(subject=new_hire.id, external=True), correlation_id="portal-1"
    )
    tasks = {task.key: task for task in driver.current.tasks if task.stage == "pre_boarding"}

    def work() -> Any:
        access = access_rules.case_access(driver.definition, driver.current, context.principal)
        return domain.CaseWork(driver.template, driver.current, access, context, NOW, new_id)

    with pytest.raises(ForbiddenError):
        domain.complete_task(work(), tasks["order_equipment"].id)  # IT's
    change = domain.complete_task(work(), tasks["read_handbook"].id)
    assert (change.event.type, change.event.actor.kind, change.event.actor.id) == (
        "task.completed",
        ActorKind.EXTERNAL,
        new_hire.id,
    )
    driver.case = change.case
    [done] = [task for task in driver.current.tasks if task.id == tasks["read_handbook"].id]
    assert (done.status, done.completed_by) == (TaskStatus.DONE, new_hire.id)
    with pytest.raises(ConflictError):
        domain.complete_task(work(), tasks["read_handbook"].id)


# The automation rule the automations service will run first


def test_a_large_insurance_claim_meets_the_large_claim_rules(admin: TenantContext) -> None:
    definition = load("insurance-claim")
    rules = {rule.key: rule for rule in definition.rules}
    opened_rule, changed_rule = rules["large_claim_opened"], rules["large_claim_changed"]
    assert opened_rule.trigger.event_type == "case.opened"
    assert changed_rule.trigger.event_type == "case.fields_changed"
    for rule in (opened_rule, changed_rule):
        assert [action.model_dump(exclude_none=True) for action in rule.actions] == [
            {"type": "assign", "role": "senior_reviewer"},
            {
                "type": "request_document",
                "document_type": "police_report",
                "from_role": "claimant",
                "message": (
                    "For claims over EUR 10,000 we need the police report. Please upload it in your claim portal."
                ),
            },
        ]

    def meets(rule: Any, driver: Driver) -> bool:
        event = driver.events[-1].model_dump(mode="json")
        return evaluate(rule.condition, case_facts(driver.current, event))

    small = Driver(published("insurance-claim"), admin)
    small.open("Stolen bicycle", {**INSURANCE_FIELDS, "claim_amount": {"amount": "9500.00", "currency": "EUR"}})
    assert not meets(opened_rule, small)
    small.do(Fields({"incident_location": "Domplatte, Köln"}))
    assert not meets(changed_rule, small)
    small.do(Fields({"claim_amount": {"amount": "12500.00", "currency": "EUR"}}))
    assert meets(changed_rule, small)
    small.do(Fields({"police_reported": True}))
    assert not meets(changed_rule, small)

    large = Driver(published("insurance-claim"), admin)
    large.open("Break-in", INSURANCE_FIELDS)
    assert meets(opened_rule, large)
    large.do(Fields({"claim_amount": {"amount": "13000.00", "currency": "EUR"}}))
    assert not meets(changed_rule, large)  # already above the limit: asked once, not again


# The guide


def test_the_guide_ends_with_the_generated_json_schema() -> None:
    text = GUIDE.read_text()
    match = re.search(r"<!-- schema:start -->\n```json\n(.*?)\n```\n<!-- schema:end -->", text, re.DOTALL)

    assert match is not None
    assert match.group(1) == json.dumps(schema_document(), indent=2)


def test_the_guide_names_every_permission_type_and_action() -> None:
    text = GUIDE.read_text()
    names = [
        *(f"`{permission.value}`" for permission in Permission),
        *(f"`{type_.value}`" for type_ in FieldType),
        *(f"`{unit.value}`" for unit in DurationUnit),
        *(f"`{action}`" for action in sorted(ACTION_TYPES)),
    ]

    assert [name for name in names if name not in text] == []


def test_staff_choose_the_language_an_external_participant_is_spoken_to_in(admin: TenantContext) -> None:
    driver = opened(admin, "hr-employee-onboarding")
    invitation = domain.AddParticipantRequest(
        kind="external", role="new_hire", name="Noor Haddad", email="n@example.org", language="de"
    )
    driver.apply(lambda work: domain.add_participant(work, invitation), "participant.added")
    [new_hire] = [p for p in driver.current.participants if p.kind is ParticipantKind.EXTERNAL]
    assert (new_hire.language, driver.events[-1].data["language"]) == ("de", "de")

    browser_s = domain.ChangeLanguageRequest(language=None)
    driver.apply(
        lambda work: domain.change_participant_language(work, new_hire.id, browser_s), "participant.language_changed"
    )
    assert driver.events[-1].data == {
        "version": driver.current.version,
        "participant_id": new_hire.id,
        "before": "de",
        "after": None,
    }
    assert [p.language for p in driver.current.participants if p.id == new_hire.id] == [None]
    with pytest.raises(InvalidInputError) as unchanged:
        domain.change_participant_language(driver.work(), new_hire.id, browser_s)
    assert unchanged.value.issues[0].detail == "the participant is spoken to in that language already"
    [owner] = [p for p in driver.current.participants if p.kind is ParticipantKind.INTERNAL]
    with pytest.raises(InvalidInputError) as staff_member:
        domain.change_participant_language(driver.work(), owner.id, domain.ChangeLanguageRequest(language="de"))
    assert staff_member.value.issues[0].pointer == "/language"
    for malformed in ("DE", "deutsch", "d", "de-AT"):
        with pytest.raises(ValidationError):
            domain.ChangeLanguageRequest(language=malformed)
