"""Random command sequences against the case aggregate, with its invariants checked after every step.

A Hypothesis state machine opens one case of a four-stage template (intake -> review -> approved | rejected,
with required fields, exit and entry criteria, required tasks, a required document and a required decision)
and drives every CaseWork command at it as an admin, an "agent" participant (may move the case, but has
no case.override), a "lead" participant (has case.override) and an outsider. After each step it proves:

* every successful change raises the version by exactly one and emits one event for this case carrying
  the new version; a refused command (a DomainError) or an update that changes nothing leaves the case
  untouched, and a command is refused exactly when an independent model of the rules says it must be;
* the case always sits in a stage of its template with a known status, and a closed case was closed from
  a final stage with all exit criteria met, unless the close was forced;
* no transition skips unmet criteria without permission and reason: a move succeeds only when the exit
  criteria of the old stage (skipped for moves back) and the entry criteria of the new one are met, or
  the request was forced or went back/skipped, by a caller holding case.override, with a reason; the
  event lists exactly the criteria it bypassed. The domain's criteria are themselves checked against an
  independent model of this template.
"""

import math
import re
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import hypothesis
from case_domain import case_domain
from caseline_common import access as access_rules
from caseline_common.contracts import (
    CaseSnapshot,
    CaseStatus,
    DocumentVersion,
    ParticipantKind,
    Permission,
    PublishedTemplate,
    TaskStatus,
    TemplateDefinition,
)
from caseline_common.envelope import new_id
from caseline_common.errors import ConflictError, DomainError, ForbiddenError, InvalidInputError, NotFoundError
from caseline_common.tenant import Principal, TenantContext
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from pydantic import BaseModel, ValidationError
from service_modules import loaded_namespace

from caseline.local.loader import LoadedService

TENANT_ID = "acme"
START = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)
TICK = timedelta(minutes=7)

AGENT_PERMISSIONS = frozenset(
    {
        Permission.VIEW,
        Permission.TRANSITION,
        Permission.CLOSE,
        Permission.TASK_COMPLETE,
        Permission.DOCUMENT_UPLOAD,
        Permission.DOCUMENT_VIEW,
        Permission.COMMENT_INTERNAL,
    }
)

if TYPE_CHECKING:
    import case_domain as domain
else:
    domain = loaded_namespace("case_domain", case_domain, "cases")
ROLE_PERMISSIONS = {
    "agent": AGENT_PERMISSIONS,
    "lead": frozenset(Permission),
    "client": frozenset({Permission.VIEW, Permission.TASK_COMPLETE, Permission.DOCUMENT_UPLOAD}),
}
ROLE_KINDS = {"agent": ParticipantKind.INTERNAL, "lead": ParticipantKind.INTERNAL, "client": ParticipantKind.EXTERNAL}

DEFINITION = TemplateDefinition.model_validate(
    {
        "key": "grant-application",
        "name": "Grant application",
        "fields": [
            {
                "key": "category",
                "label": "Category",
                "type": "enum",
                "required": True,
                "options": ["standard", "urgent"],
            },
            {"key": "amount", "label": "Amount", "type": "number", "minimum": 0},
            {"key": "note", "label": "Note", "type": "text", "max_length": 40},
            {"key": "payout_ref", "label": "Payout reference", "type": "text", "pattern": "^PAY-[0-9]{4}$"},
            {"key": "contact", "label": "Contact", "type": "email"},
        ],
        "stages": [
            {
                "key": "intake",
                "name": "Intake",
                "required_fields": ["note"],
                "exit_criteria": [
                    {"description": "Amount is over 100", "condition": {">": [{"var": "fields.amount"}, 100]}}
                ],
                "tasks": [
                    {"key": "check_identity", "title": "Check identity", "assignee_role": "agent"},
                    {"key": "call_applicant", "title": "Call applicant", "required": False},
                ],
            },
            {
                "key": "review",
                "name": "Review",
                "entry_criteria": [
                    {"description": "Amount is below 10000", "condition": {"<": [{"var": "fields.amount"}, 10000]}}
                ],
                "tasks": [{"key": "assess", "title": "Assess", "assignee_role": "lead"}],
                "next": ["approved", "rejected"],
            },
            {
                "key": "approved",
                "name": "Approved",
                "entry_criteria": [
                    {
                        "description": "Verdict is approve",
                        "condition": {"==": [{"var": "decisions.verdict"}, "approve"]},
                    }
                ],
                "required_fields": ["payout_ref"],
                "next": [],
            },
            {
                "key": "rejected",
                "name": "Rejected",
                "entry_criteria": [
                    {"description": "Verdict is reject", "condition": {"==": [{"var": "decisions.verdict"}, "reject"]}}
                ],
                "tasks": [{"key": "notify", "title": "Notify applicant"}],
                "next": [],
            },
        ],
        "document_types": [
            {
                "key": "evidence",
                "name": "Evidence",
                "content_types": ["application/pdf"],
                "max_size_bytes": 1000,
                "required_in_stages": ["review"],
            },
            {
                "key": "id_scan",
                "name": "ID scan",
                "content_types": ["image/png"],
                "max_size_bytes": 1000,
                "uploader_roles": ["lead"],
            },
        ],
        "decisions": [
            {
                "key": "verdict",
                "label": "Verdict",
                "options": ["approve", "reject"],
                "decider_roles": ["lead"],
                "required_in_stages": ["review"],
            }
        ],
        "roles": [
            {
                "key": "agent",
                "name": "Agent",
                "permissions": sorted(AGENT_PERMISSIONS),
                "fields": {"*": "edit", "amount": "view"},
            },
            {"key": "lead", "name": "Lead", "permissions": list(Permission), "fields": {"*": "edit"}},
            {
                "key": "client",
                "name": "Client",
                "kind": "external",
                "permissions": sorted(ROLE_PERMISSIONS["client"]),
                "fields": {"note": "view"},
            },
        ],
        "owner_role": "lead",
    }
)
TEMPLATE = PublishedTemplate(definition=DEFINITION, version=1, published_at=START, published_by="admin-1")
STAGES = [stage.key for stage in DEFINITION.stages]
FORWARD = {"intake": {"review"}, "review": {"approved", "rejected"}, "approved": set(), "rejected": set()}
FINAL = {"approved", "rejected"}
PERSONAL_FIELDS = {"contact"}
EDITABLE_BY_AGENT = {"category", "note", "payout_ref", "contact"}


def _context(subject: str, *groups: str) -> TenantContext:
    principal = Principal(subject=subject, email=f"{subject}@example.org", groups=frozenset(groups))
    return TenantContext(tenant_id=TENANT_ID, principal=principal, correlation_id="corr-1")


CALLERS = {
    "admin": _context("admin-1", "caseline-admins"),
    "lead": _context("lead-1", "caseline-staff"),
    "agent": _context("agent-1", "caseline-staff"),
    # caseline-staff grants nothing here: the template defines its own roles, none held through groups.
    "outsider": _context("stranger-1", "caseline-staff", "everyone"),
}
SUBJECTS = ["admin-1", "lead-1", "lead-2", "agent-1", "stranger-1"]

# Candidate values per field, each with whether the template accepts it (None clears a value).
FIELD_VALUES: dict[str, list[tuple[Any, bool]]] = {
    "amount": [
        (None, True),
        (0, True),
        (50, True),
        (100, True),
        (100.5, True),
        (150, True),
        (9999, True),
        (10000, True),
        (25000, True),
        (-5, False),
        ("150", False),
        (True, False),
        (math.nan, False),
        (math.inf, False),
        (2**60, False),
    ],
    "note": [(None, True), ("", True), ("ok", True), ("needs a second look", True), ("x" * 41, False), (5, False)],
    "category": [("standard", True), ("urgent", True), (None, False), ("other", False)],
    "payout_ref": [(None, True), ("PAY-1234", True), ("PAY-12", False)],
    "contact": [(None, True), ("ann@example.org", True), ("nope", False)],
    "bogus": [(1, False)],
}
FIELD_EDITS = st.lists(
    st.sampled_from([(key, value, ok) for key, values in FIELD_VALUES.items() for value, ok in values]),
    max_size=3,
)
# Mostly people who hold a role, so that sequences get somewhere; sometimes someone who holds none.
CALLER = st.sampled_from(["admin", "admin", "lead", "lead", "lead", "agent", "agent", "agent", "outsider"])
# Blank reasons, and text the schema takes (control and format characters are refused with a 422 before the domain
# runs, which the request tests cover); a browser's line breaks among them.
REASON = st.one_of(
    st.sampled_from([None, "", "   ", "Approved by phone", "Approved\r\nby phone"]),
    st.text(st.characters(exclude_categories=("Cc", "Cs", "Cf", "Zl", "Zp")), max_size=8),
)
TITLE = st.sampled_from([None, "Grant for the library", "  Padded title  ", "   "])


def _blank(text: str | None) -> bool:
    return not text or not text.strip()


def _stored(text: str | None) -> str:
    """Prose as the case keeps it: stripped, line breaks as \\n (caseline_common.text)."""
    assert text is not None
    return re.sub(r"\r\n?", "\n", text).strip()


def _reason_request(model: type[BaseModel], **values: Any) -> Any:
    """A request as the API would pass it, or (for an empty reason the schema already refuses) as built
    by another caller of the domain, so the domain is seen to refuse it too."""
    try:
        return model.model_validate(values)
    except ValidationError:
        return model.model_construct(**values)


def _refused_by_schema(model: type[BaseModel], problems: AbstractSet[type[Exception]], **values: Any) -> Any:
    """The request, or None when its schema already refuses it (the API answers 422 before the domain runs);
    then the model must have predicted an InvalidInputError."""
    try:
        return model.model_validate(values)
    except ValidationError:
        assert InvalidInputError in problems, f"the schema refused {values} unexpectedly"
        return None


# An independent model of what this template demands, to check the domain's criteria against.


def expected_exit(case: CaseSnapshot) -> list[str]:
    stage = case.stage
    unmet = []
    required_fields = {"intake": [("note", "Note")], "approved": [("payout_ref", "Payout reference")]}
    unmet += [f'"{label}" has a value' for key, label in required_fields.get(stage, []) if not case.fields.get(key)]
    unmet += [
        f'Task "{task.title}" is done'
        for task in case.tasks
        if task.stage == stage and task.required and task.status is TaskStatus.OPEN
    ]
    if stage == "review":
        if not any(document.type == "evidence" and document.versions for document in case.documents):
            unmet.append('Document "Evidence" is uploaded')
        if not any(decision.key == "verdict" for decision in case.decisions):
            unmet.append('Decision "Verdict" is recorded')
    amount = case.fields.get("amount")
    if stage == "intake" and not (amount is not None and amount > 100):
        unmet.append("Amount is over 100")
    return sorted(unmet)


def expected_entry(case: CaseSnapshot, target: str) -> list[str]:
    amount = case.fields.get("amount") or 0
    verdict = case.decisions[-1].outcome if case.decisions else None
    if target == "review" and not amount < 10000:
        return ["Amount is below 10000"]
    if target == "approved" and verdict != "approve":
        return ["Verdict is approve"]
    if target == "rejected" and verdict != "reject":
        return ["Verdict is reject"]
    return []


@dataclass
class Outcome:
    change: Any = None  # the domain's Change
    error: DomainError | None = None
    visible: bool = True  # False when the caller may not even see the case


class CaseMachine(RuleBasedStateMachine):
    case: CaseSnapshot

    def __init__(self) -> None:
        super().__init__()
        self.now = START
        self.events: list[Any] = []
        self.closed_forced = False

    # helpers

    def _permissions(self, caller: str) -> frozenset[Permission]:
        """What the caller may do, from the rules of this template rather than from the domain."""
        context = CALLERS[caller]
        if "caseline-admins" in context.principal.groups:
            return frozenset(Permission)
        held = [
            ROLE_PERMISSIONS[participant.role]
            for participant in self.case.participants
            if participant.kind is ParticipantKind.INTERNAL and participant.user_id == context.principal.subject
        ]
        return frozenset().union(*held)

    def _roles(self, caller: str) -> set[str]:
        subject = CALLERS[caller].principal.subject
        return {p.role for p in self.case.participants if p.kind is ParticipantKind.INTERNAL and p.user_id == subject}

    def _is_admin(self, caller: str) -> bool:
        return caller == "admin"

    def _open_problem(self) -> set[type[DomainError]]:
        return set() if self.case.status is CaseStatus.OPEN else {ConflictError}

    def _attempt(
        self,
        caller: str,
        command: Callable[[Any], Any],
        problems: set[type[DomainError]],
        event_type: str,
    ) -> Outcome:
        """Runs one command as `caller` the way the service does (visible_case first, then CaseWork), and
        checks that it is refused exactly when `problems` is not empty, and that it changes what it should."""
        self.now += TICK
        before = self.case
        snapshot = before.model_dump()
        context = CALLERS[caller]
        permissions = self._permissions(caller)
        try:
            access = access_rules.visible_case(DEFINITION, before, context.principal)
        except NotFoundError:
            assert Permission.VIEW not in permissions, f"{caller} holds case.view but cannot see the case"
            hypothesis.event("not visible")
            return Outcome(visible=False)
        assert Permission.VIEW in permissions, f"{caller} sees a case without case.view"
        work = domain.CaseWork(TEMPLATE, before, access, context, self.now, new_id)
        error: DomainError | None = None
        try:
            change = command(work)
        except DomainError as raised:
            change, error = None, raised
        if error is not None:
            assert type(error) in problems, (
                f"{event_type} by {caller} refused with {type(error).__name__} ({error.detail}); expected one of "
                f"{sorted(problem.__name__ for problem in problems)}"
            )
            if isinstance(error, ConflictError):
                assert error.current_version == before.version
            assert self.case is before
            assert before.model_dump() == snapshot, "a refused command changed the case"
            hypothesis.event(f"refused:{type(error).__name__}")
            return Outcome(error=error)
        assert not problems, (
            f"{event_type} by {caller} succeeded despite {sorted(problem.__name__ for problem in problems)}"
        )
        assert before.model_dump() == snapshot, "a command changed the snapshot it was given"
        if change is None:
            return Outcome()
        case, event = change.case, change.event
        assert case.version == before.version + 1
        assert event.type == event_type
        assert event.case_id == before.id
        assert event.tenant_id == TENANT_ID
        assert event.data["version"] == case.version
        assert event.actor.id == context.principal.subject
        assert event.occurred_at == self.now
        assert case.updated_at == self.now
        for unchanged in ("id", "tenant_id", "template_key", "template_version", "created_at", "created_by"):
            assert getattr(case, unchanged) == getattr(before, unchanged)
        self.case = case
        self.events.append(event)
        hypothesis.event(f"ok:{event_type}")
        return Outcome(change=change)

    def _task_id(self, data: st.DataObject) -> str:
        return data.draw(st.sampled_from([*(task.id for task in self.case.tasks), "no-such-task"]), label="task")

    def _participant_id(self, data: st.DataObject) -> str:
        ids = [participant.id for participant in self.case.participants]
        return data.draw(st.sampled_from([*ids, "no-such-participant"]), label="participant")

    # the case opens, and the agent joins it

    @initialize(amount=st.sampled_from([None, 50, 150]), note=st.sampled_from([None, "ok"]))
    def open_case(self, amount: int | None, note: str | None) -> None:
        fields = {"category": "standard", "amount": amount, "note": note}
        request = domain.OpenCaseRequest(
            template_key="grant-application",
            title="Grant for the library",
            owner="lead-1",
            fields={key: value for key, value in fields.items() if value is not None},
        )
        opened = domain.open_case(TEMPLATE, request, CALLERS["admin"], case_id="case-1", now=self.now, new_id=new_id)
        case, event = opened.case, opened.event
        assert (case.version, case.stage, case.status) == (1, "intake", CaseStatus.OPEN)
        assert (event.type, event.case_id) == ("case.opened", "case-1")
        assert [(task.key, task.stage) for task in case.tasks] == [
            ("check_identity", "intake"),
            ("call_applicant", "intake"),
        ]
        self.case = case
        self.events.append(event)
        participant = domain.AddParticipantRequest(kind="internal", role="agent", user_id="agent-1")
        self._attempt("admin", lambda work: domain.add_participant(work, participant), set(), "participant.added")

    # fields

    @rule(caller=CALLER, edits=FIELD_EDITS, title=TITLE)
    def update(self, caller: str, edits: list[tuple[str, Any, bool]], title: str | None) -> None:
        values = {key: value for key, value, _ in edits}
        valid = {key: ok for key, _, ok in edits}
        before = self.case
        problems = self._open_problem()
        if "bogus" in values or not all(valid.values()) or (title is not None and _blank(title)):
            problems.add(InvalidInputError)
        request = _refused_by_schema(domain.UpdateCaseRequest, problems, fields=values, title=title)
        if request is None:
            return
        read_only = set(values) - EDITABLE_BY_AGENT - {"bogus"}
        if read_only and not (self._is_admin(caller) or "lead" in self._roles(caller)):
            problems.add(ForbiddenError)
        after = dict(before.fields)
        for key, value in values.items():
            if value is None:
                after.pop(key, None)
            else:
                after[key] = value
        new_title = title.strip() if title else before.title
        changed = {key for key in values if before.fields.get(key) != after.get(key)}
        outcome = self._attempt(caller, lambda work: domain.update(work, request), problems, "case.fields_changed")
        if outcome.error is not None or not outcome.visible:
            return
        if not changed and new_title == before.title:
            assert outcome.change is None, "an update that changes nothing made a new version"
            assert self.case is before
            hypothesis.event("unchanged update")
            return
        assert outcome.change is not None
        assert self.case.fields == after
        assert self.case.title == new_title
        event = outcome.change.event
        assert set(event.data["changes"]) == changed - PERSONAL_FIELDS, "personal data must stay out of data"
        if changed & PERSONAL_FIELDS:
            assert set(event.personal["changes"]) == changed & PERSONAL_FIELDS

    # stages

    @rule(caller=CALLER, to=st.sampled_from([*STAGES, "limbo"]), force=st.booleans(), reason=REASON)
    def transition(self, caller: str, to: str, force: bool, reason: str | None) -> None:
        before = self.case
        permissions = self._permissions(caller)
        problems = self._open_problem()
        direction = None
        if to not in STAGES or to == before.stage:
            problems.add(InvalidInputError)
        elif to in FORWARD[before.stage]:
            direction = "forward"
        else:
            direction = "back" if STAGES.index(to) < STAGES.index(before.stage) else "skip"
        if Permission.TRANSITION not in permissions:
            problems.add(ForbiddenError)
        unmet: list[Any] = []
        if direction is not None:
            if direction != "forward" or force:
                if Permission.OVERRIDE not in permissions:
                    problems.add(ForbiddenError)
                if _blank(reason):
                    problems.add(InvalidInputError)
            exit_unmet = [] if direction == "back" else domain.unmet_exit_criteria(DEFINITION, before)
            unmet = exit_unmet + domain.unmet_entry_criteria(DEFINITION, before, to)
            if unmet and not force:
                problems.add(domain.TransitionBlockedError)
        request = _reason_request(domain.TransitionRequest, to=to, reason=reason, force=force)
        outcome = self._attempt(caller, lambda work: domain.transition(work, request), problems, "case.stage_changed")
        if isinstance(outcome.error, domain.TransitionBlockedError):
            assert outcome.error.extensions["unmet"] == [item.model_dump() for item in unmet]
        if outcome.change is None:
            return
        data = outcome.change.event.data
        assert (data["from"], data["to"], data["direction"]) == (before.stage, to, direction)
        assert self.case.stage == to
        assert self.case.stage_entered_at == self.now
        # The heart of it: criteria are only ever bypassed, and stages only ever skipped or revisited, on
        # purpose, by someone allowed to, with a reason; and the event says exactly what was bypassed.
        assert data["overridden"] == [item.description for item in unmet]
        if unmet or direction != "forward" or force:
            assert force or direction != "forward"
            assert Permission.OVERRIDE in permissions
            assert not _blank(reason)
            assert data["reason"] == _stored(reason)
        hypothesis.event(f"moved {direction}")
        if unmet:
            hypothesis.event("forced past unmet criteria")
        elif direction == "forward":
            hypothesis.event(f"met criteria into {to}")
        created = [task for task in self.case.tasks if task.id not in {each.id for each in before.tasks}]
        assert [task["task_id"] for task in data["tasks_created"]] == [task.id for task in created]
        template_tasks = next(stage.tasks for stage in DEFINITION.stages if stage.key == to)
        present = {(task.stage, task.key) for task in before.tasks}
        assert [task.key for task in created] == [task.key for task in template_tasks if (to, task.key) not in present]

    # Purposeful steps, so that random sequences also meet criteria and move on without force.

    @rule(data=st.data())
    def work_towards_next_stage(self, data: st.DataObject) -> None:
        """Does a few things that unmet exit or entry criteria of the next stage ask for; moves on (or closes
        the case) when none are left, and reopens it when it is closed."""
        for _ in range(data.draw(st.integers(1, 4), label="steps")):
            caller = data.draw(CALLER, label="caller")
            case = self.case
            if case.status is not CaseStatus.OPEN:
                self.reopen(caller, "Picked up again")
                continue
            entry = [expected_entry(case, to) for to in sorted(FORWARD[case.stage])]
            needs = expected_exit(case) + ([] if [] in entry else [need for unmet in entry for need in unmet])
            if not needs and case.stage in FINAL:
                self.close(caller, False, None)
                continue
            if not needs:
                ready = [to for to in sorted(FORWARD[case.stage]) if not expected_entry(case, to)]
                self.transition(caller, data.draw(st.sampled_from(ready), label="to"), False, None)
                continue
            need = data.draw(st.sampled_from(needs), label="need")
            if need == '"Note" has a value':
                self.update(caller, [("note", "ok", True)], None)
            elif need == '"Payout reference" has a value':
                self.update(caller, [("payout_ref", "PAY-1234", True)], None)
            elif need in ("Amount is over 100", "Amount is below 10000"):
                self.update(caller, [("amount", 150, True)], None)
            elif need.startswith("Task "):
                task = next(
                    task
                    for task in case.tasks
                    if need == f'Task "{task.title}" is done'
                    and task.stage == case.stage
                    and task.status is TaskStatus.OPEN
                )
                self._complete_task(caller, task.id)
            elif need == 'Document "Evidence" is uploaded':
                self.add_document_version(caller, "evidence", "application/pdf", 10)
            else:
                outcome = "reject" if need == "Verdict is reject" else "approve"
                self.record_decision(caller, "verdict", outcome, "Meets the criteria")

    @rule(caller=CALLER, reason=REASON, data=st.data())
    def move_forward(self, caller: str, reason: str | None, data: st.DataObject) -> None:
        targets = sorted(FORWARD[self.case.stage]) or STAGES
        self.transition(caller, data.draw(st.sampled_from(targets), label="to"), False, reason)

    # status

    @rule(caller=CALLER, force=st.booleans(), reason=REASON)
    def close(self, caller: str, force: bool, reason: str | None) -> None:
        before = self.case
        permissions = self._permissions(caller)
        problems = self._open_problem()
        if Permission.CLOSE not in permissions:
            problems.add(ForbiddenError)
        unmet = [] if before.stage in FINAL else ["The case is in a final stage"]
        unmet += [item.description for item in domain.unmet_exit_criteria(DEFINITION, before)]
        if force:
            if Permission.OVERRIDE not in permissions:
                problems.add(ForbiddenError)
            if _blank(reason):
                problems.add(InvalidInputError)
        elif unmet:
            problems.add(domain.TransitionBlockedError)
        request = _reason_request(domain.StatusChangeRequest, reason=reason, force=force)
        outcome = self._attempt(caller, lambda work: domain.close(work, request), problems, "case.closed")
        if outcome.change is None:
            return
        assert self.case.status is CaseStatus.CLOSED
        assert outcome.change.event.data.get("overridden", []) == unmet
        if not force:
            assert before.stage in FINAL
            assert not unmet
        self.closed_forced = force
        hypothesis.event("forced close" if force else "regular close")

    @rule(caller=CALLER, reason=st.sampled_from([None, "", "   ", "Withdrawn by the applicant"]))
    def cancel(self, caller: str, reason: str | None) -> None:
        problems = self._open_problem()
        if Permission.CLOSE not in self._permissions(caller):
            problems.add(ForbiddenError)
        if _blank(reason):
            problems.add(InvalidInputError)
        request = _reason_request(domain.StatusChangeRequest, reason=reason)
        outcome = self._attempt(caller, lambda work: domain.cancel(work, request), problems, "case.cancelled")
        if outcome.change is not None:
            assert self.case.status is CaseStatus.CANCELLED
            assert self.case.status_reason == _stored(reason)

    @rule(caller=CALLER, reason=REASON)
    def reopen(self, caller: str, reason: str | None) -> None:
        problems: set[type[DomainError]] = {ConflictError} if self.case.status is CaseStatus.OPEN else set()
        if Permission.REOPEN not in self._permissions(caller):
            problems.add(ForbiddenError)
        if _blank(reason):
            problems.add(InvalidInputError)
        request = _reason_request(domain.StatusChangeRequest, reason=reason)
        outcome = self._attempt(caller, lambda work: domain.reopen(work, request), problems, "case.reopened")
        if outcome.change is not None:
            assert self.case.status is CaseStatus.OPEN
            self.closed_forced = False

    @rule(caller=CALLER, owner=st.sampled_from(SUBJECTS))
    def assign(self, caller: str, owner: str) -> None:
        before = self.case
        problems = self._open_problem()
        if Permission.ASSIGN not in self._permissions(caller):
            problems.add(ForbiddenError)
        if owner == before.owner:
            problems.add(InvalidInputError)
        request = domain.AssignRequest(owner=owner)
        outcome = self._attempt(caller, lambda work: domain.assign(work, request), problems, "case.assigned")
        if outcome.change is not None:
            assert self.case.owner == owner
            assert len(self.case.participants) == len(before.participants) + (
                0 if any(p.user_id == owner for p in before.participants) else 1
            )

    # tasks

    @rule(
        caller=CALLER,
        title=st.sampled_from(["Chase the bank", "  Call back  ", "   "]),
        reason=st.sampled_from(["Bank asked", "   "]),
        required=st.booleans(),
        role=st.sampled_from([None, "agent", "lead", "ghost"]),
    )
    def add_task(self, caller: str, title: str, reason: str, required: bool, role: str | None) -> None:
        problems = self._open_problem()
        if Permission.TASK_MANAGE not in self._permissions(caller):
            problems.add(ForbiddenError)
        if role == "ghost" or _blank(title) or _blank(reason):
            problems.add(InvalidInputError)
        request = _refused_by_schema(
            domain.AddTaskRequest, problems, title=title, reason=reason, required=required, assignee_role=role
        )
        if request is None:
            return
        outcome = self._attempt(caller, lambda work: domain.add_task(work, request), problems, "task.created")
        if outcome.change is not None:
            task = self.case.tasks[-1]
            assert (task.title, task.stage, task.required, task.status) == (
                title.strip(),
                self.case.stage,
                required,
                TaskStatus.OPEN,
            )

    @rule(caller=CALLER, data=st.data())
    def complete_task(self, caller: str, data: st.DataObject) -> None:
        self._complete_task(caller, self._task_id(data))

    def _complete_task(self, caller: str, task_id: str) -> None:
        task = next((task for task in self.case.tasks if task.id == task_id), None)
        problems = self._open_problem()
        if task is None:
            problems.add(NotFoundError)
        elif task.status is TaskStatus.DONE:
            problems.add(ConflictError)
        if Permission.TASK_COMPLETE not in self._permissions(caller):
            problems.add(ForbiddenError)
        outcome = self._attempt(caller, lambda work: domain.complete_task(work, task_id), problems, "task.completed")
        if outcome.change is not None:
            done = next(task for task in self.case.tasks if task.id == task_id)
            assert done.status is TaskStatus.DONE
            assert done.completed_by == CALLERS[caller].principal.subject

    @rule(caller=CALLER, reason=REASON, data=st.data())
    def reopen_task(self, caller: str, reason: str | None, data: st.DataObject) -> None:
        task_id = self._task_id(data)
        task = next((task for task in self.case.tasks if task.id == task_id), None)
        problems = self._open_problem()
        if task is None:
            problems.add(NotFoundError)
        elif task.status is TaskStatus.OPEN:
            problems.add(ConflictError)
        if Permission.TASK_MANAGE not in self._permissions(caller):
            problems.add(ForbiddenError)
        if _blank(reason):
            problems.add(InvalidInputError)
        request = _reason_request(domain.ReasonRequest, reason=reason)
        outcome = self._attempt(
            caller, lambda work: domain.reopen_task(work, task_id, request), problems, "task.reopened"
        )
        if outcome.change is not None:
            assert next(task for task in self.case.tasks if task.id == task_id).status is TaskStatus.OPEN

    @rule(
        caller=CALLER,
        assignee=st.sampled_from([None, "agent-1", "lead-2"]),
        role=st.sampled_from([None, "agent", "ghost"]),
        data=st.data(),
    )
    def assign_task(self, caller: str, assignee: str | None, role: str | None, data: st.DataObject) -> None:
        task_id = self._task_id(data)
        problems = self._open_problem()
        if task_id not in {task.id for task in self.case.tasks}:
            problems.add(NotFoundError)
        if Permission.TASK_MANAGE not in self._permissions(caller):
            problems.add(ForbiddenError)
        if role == "ghost" or (assignee is None and role is None):
            problems.add(InvalidInputError)
        request = domain.AssignTaskRequest(assignee=assignee, assignee_role=role)
        outcome = self._attempt(
            caller, lambda work: domain.assign_task(work, task_id, request), problems, "task.assigned"
        )
        if outcome.change is not None:
            task = next(task for task in self.case.tasks if task.id == task_id)
            assert (task.assignee, task.assignee_role) == (assignee, role)

    # participants

    @rule(
        caller=CALLER,
        kind=st.sampled_from(["internal", "external"]),
        role=st.sampled_from(["agent", "lead", "client", "ghost"]),
        user_id=st.sampled_from([None, *SUBJECTS]),
        named=st.booleans(),
    )
    def add_participant(self, caller: str, kind: str, role: str, user_id: str | None, named: bool) -> None:
        problems = self._open_problem()
        if Permission.PARTICIPANT_MANAGE not in self._permissions(caller):
            problems.add(ForbiddenError)
        if role not in ROLE_KINDS or ROLE_KINDS[role].value != kind:
            problems.add(InvalidInputError)
        if kind == "internal":
            if user_id is None or named:
                problems.add(InvalidInputError)
            elif any(p.user_id == user_id for p in self.case.participants):
                problems.add(ConflictError)
        elif user_id is not None or not named:
            problems.add(InvalidInputError)
        details = {"name": "Ann Applicant", "email": "ann@example.org"} if named else {}
        request = domain.AddParticipantRequest(kind=kind, role=role, user_id=user_id, **details)
        outcome = self._attempt(
            caller, lambda work: domain.add_participant(work, request), problems, "participant.added"
        )
        if outcome.change is not None:
            added = self.case.participants[-1]
            assert (added.kind.value, added.role, added.user_id) == (kind, role, user_id)
            if kind == "external":
                assert "email" not in outcome.change.event.data, "personal data must stay out of data"

    @rule(caller=CALLER, role=st.sampled_from(["agent", "lead", "client", "ghost"]), data=st.data())
    def change_participant_role(self, caller: str, role: str, data: st.DataObject) -> None:
        participant_id = self._participant_id(data)
        participant = next((p for p in self.case.participants if p.id == participant_id), None)
        problems = self._open_problem()
        if Permission.PARTICIPANT_MANAGE not in self._permissions(caller):
            problems.add(ForbiddenError)
        if participant is None:
            problems.add(NotFoundError)
        elif role not in ROLE_KINDS or ROLE_KINDS[role] is not participant.kind or participant.role == role:
            problems.add(InvalidInputError)
        request = domain.ChangeRoleRequest(role=role)
        outcome = self._attempt(
            caller,
            lambda work: domain.change_participant_role(work, participant_id, request),
            problems,
            "participant.role_changed",
        )
        if outcome.change is not None:
            assert next(p for p in self.case.participants if p.id == participant_id).role == role

    @rule(caller=CALLER, data=st.data())
    def remove_participant(self, caller: str, data: st.DataObject) -> None:
        participant_id = self._participant_id(data)
        participant = next((p for p in self.case.participants if p.id == participant_id), None)
        problems = self._open_problem()
        if Permission.PARTICIPANT_MANAGE not in self._permissions(caller):
            problems.add(ForbiddenError)
        if participant is None:
            problems.add(NotFoundError)
        elif participant.user_id == self.case.owner:
            problems.add(ConflictError)
        outcome = self._attempt(
            caller, lambda work: domain.remove_participant(work, participant_id), problems, "participant.removed"
        )
        if outcome.change is not None:
            assert participant_id not in {p.id for p in self.case.participants}

    # decisions and documents

    @rule(
        caller=CALLER,
        key=st.sampled_from(["verdict", "budget"]),
        outcome_value=st.sampled_from(["approve", "reject", "maybe"]),
        rationale=st.sampled_from([None, "   ", "Meets the criteria"]),
    )
    def record_decision(self, caller: str, key: str, outcome_value: str, rationale: str | None) -> None:
        problems = self._open_problem()
        if key != "verdict" or outcome_value not in ("approve", "reject") or _blank(rationale):
            problems.add(InvalidInputError)
        if key == "verdict" and not (self._is_admin(caller) or "lead" in self._roles(caller)):
            problems.add(ForbiddenError)
        request = _refused_by_schema(
            domain.RecordDecisionRequest, problems, key=key, outcome=outcome_value, rationale=rationale
        )
        if request is None:
            return
        outcome = self._attempt(
            caller, lambda work: domain.record_decision(work, request), problems, "decision.recorded"
        )
        if outcome.change is not None:
            assert (self.case.decisions[-1].key, self.case.decisions[-1].outcome) == (key, outcome_value)

    @rule(
        caller=CALLER,
        type_key=st.sampled_from(["evidence", "id_scan", "receipt"]),
        content_type=st.sampled_from(["application/pdf", "image/png"]),
        size=st.sampled_from([10, 1000, 1001]),
    )
    def add_document_version(self, caller: str, type_key: str, content_type: str, size: int) -> None:
        accepts = {"evidence": "application/pdf", "id_scan": "image/png"}
        problems = self._open_problem()
        if type_key not in accepts or content_type != accepts[type_key] or size > 1000:
            problems.add(InvalidInputError)
        if Permission.DOCUMENT_UPLOAD not in self._permissions(caller):
            problems.add(ForbiddenError)
        if type_key == "id_scan" and not (self._is_admin(caller) or "lead" in self._roles(caller)):
            problems.add(ForbiddenError)
        existing = sum(len(d.versions) for d in self.case.documents if d.type == type_key)
        upload = DocumentVersion(
            version=1,
            upload_id=new_id(),
            object_key=f"acme/case-1/{type_key}",
            filename="scan",
            content_type=content_type,
            size=size,
            sha256="0" * 64,
            uploaded_by=CALLERS[caller].principal.subject,
            uploaded_at=self.now,
        )
        outcome = self._attempt(
            caller, lambda work: domain.add_document_version(work, type_key, upload), problems, "document.added"
        )
        if outcome.change is not None:
            document = next(d for d in self.case.documents if d.type == type_key)
            assert [version.version for version in document.versions] == list(range(1, existing + 2))

    # invariants, after every step

    @invariant()
    def one_version_per_event(self) -> None:
        assert self.case.version == len(self.events)
        versions = [event.data.get("version") for event in self.events[1:]]
        assert versions == list(range(2, len(self.events) + 1))
        assert all(event.case_id == self.case.id for event in self.events)
        assert len({event.event_id for event in self.events}) == len(self.events)
        assert self.case.updated_at == self.events[-1].occurred_at

    @invariant()
    def valid_stage_and_status(self) -> None:
        assert self.case.stage in STAGES
        assert self.case.status in set(CaseStatus)
        if self.case.status is CaseStatus.CLOSED and not self.closed_forced:
            assert self.case.stage in FINAL
            assert domain.unmet_exit_criteria(DEFINITION, self.case) == []

    @invariant()
    def criteria_are_what_the_template_says(self) -> None:
        exit_unmet = domain.unmet_exit_criteria(DEFINITION, self.case)
        assert sorted(item.description for item in exit_unmet) == expected_exit(self.case)
        for stage in STAGES:
            entry_unmet = domain.unmet_entry_criteria(DEFINITION, self.case, stage)
            assert [item.description for item in entry_unmet] == expected_entry(self.case, stage)

    @invariant()
    def structure_holds(self) -> None:
        case = self.case
        assert any(p.kind is ParticipantKind.INTERNAL and p.user_id == case.owner for p in case.participants)
        assert len({p.id for p in case.participants}) == len(case.participants)
        assert len({task.id for task in case.tasks}) == len(case.tasks)
        stage = next(stage for stage in DEFINITION.stages if stage.key == case.stage)
        present = {task.key for task in case.tasks if task.stage == case.stage}
        assert {task.key for task in stage.tasks} <= present, "entering a stage creates its tasks"
        assert case.title.strip(), "a case always has a title"


SETTINGS = settings(
    max_examples=300,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def test_case_commands_keep_the_invariants(cases: LoadedService) -> None:
    machine = type(
        "GrantCaseMachine",
        (CaseMachine,),
        {},
    )
    assert cases.module("chalicelib.domain.templates").template_issues(DEFINITION) == []
    run_state_machine_as_test(machine, settings=SETTINGS)
