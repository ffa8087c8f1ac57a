"""Use cases of the automations service: run a template's rules on each case event, keep the case's timers,
fire what is due, and answer what rules would do (dry run) and what they did (runs).

Exactly once: a run is one (rule, triggering event) pair, and every effect of it has an id derived from that
pair. Commands to the cases service and timers are idempotent by that id; a rule e-mail is claimed before it
is sent. A redelivered event, or one whose first attempt died half-way, repeats the run, and the repeat
changes nothing that already happened.
"""

import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

from caseline_common.access import roles_held
from caseline_common.adapters.ses_mail import MailRefusedError
from caseline_common.automation_commands import ACTION_COMMANDS, AutomationCommand, TimerKind
from caseline_common.consumer import StatefulEvent
from caseline_common.contracts import (
    AutomationRule,
    CallWebhookAction,
    CaseSnapshot,
    PublishedTemplate,
    SendEmailAction,
    StartTimerAction,
    TemplateDefinition,
)
from caseline_common.envelope import Actor, ActorKind, EventEnvelope, derived_id
from caseline_common.errors import (
    DomainError,
    FieldIssue,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    UnavailableError,
)
from caseline_common.event_types import RULE_TRIGGERS
from caseline_common.events import AutomationRan, EventType, TemplatePublished, data_of
from caseline_common.freshness import CaseArrival
from caseline_common.pagination import Page
from caseline_common.patterns import check as check_pattern
from caseline_common.tenant import READERS, StaffRole, TenantContext
from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from .adapters.dynamo_automations import RUN_RETENTION_SECONDS
from .domain.examples import CLAIM
from .domain.members import CaseMembers
from .domain.rules import PlannedAction, RuleDecision, Verdict, decide, timer_due, triggered
from .domain.runs import ActionOutcome, AutomationRun
from .domain.timers import Timer, reconcile
from .domain.webhooks import Delivery, DeliveryStatus

TIMERS_ACTOR = Actor(kind=ActorKind.AUTOMATION, id="timers", display_name="Timers and SLAs")


class TemplateNotKnownError(Exception):
    """The case's template version has not reached this service yet; the event is retried."""


class AutomationsStore(Protocol):
    def save_template(self, template: PublishedTemplate) -> None: ...

    def save_members(self, members: CaseMembers) -> None: ...

    def members(self, case_id: str) -> CaseMembers | None: ...

    def template(self, key: str, version: int) -> PublishedTemplate | None: ...

    def latest_template(self, key: str) -> PublishedTemplate | None: ...

    def save_run(self, run: AutomationRun, expires_at: int) -> None: ...

    def runs(self, case_id: str, *, limit: int, cursor: str | None) -> Page[AutomationRun]: ...

    def timers(self, case_id: str) -> list[Timer]: ...

    def start_timer(self, timer: Timer) -> None: ...

    def cancel_timer(self, timer: Timer) -> None: ...

    def due_timers(self, now: datetime, *, limit: int = 100) -> list[Timer]: ...

    def mark_fired(self, timer: Timer, fired_at: datetime) -> None: ...

    def claim_mail(self, mail_id: str, expires_at: int) -> bool: ...

    def release_mail(self, mail_id: str) -> None: ...


class Bus(Protocol):
    def publish(
        self, events: Sequence[EventEnvelope], *, command: bool = False, case: CaseSnapshot | None = None
    ) -> None: ...


class Mailer(Protocol):
    def send(self, to: list[str], subject: str, text: str, html: str | None = None) -> str: ...


class Webhooks(Protocol):
    def begin_batch(self) -> None: ...

    def enqueue_event(self, event: EventEnvelope) -> list[str]: ...

    def call(self, url: str, event: EventEnvelope, key: str) -> str: ...

    def retry_due(self, now: datetime) -> list[Delivery]: ...


class DryRunEvent(BaseModel):
    model_config = ConfigDict(defer_build=True)

    type: str = Field(pattern=r"^[a-z]+(_[a-z]+)*\.[a-z]+(_[a-z]+)*$")
    data: dict[str, Any] = Field(default_factory=dict)
    causation_depth: int = Field(default=0, ge=0)


# The change a dry run asks about: the amount of the claim raised above EUR 10,000.
_DRY_RUN_EXAMPLE: JsonDict = {
    "case": CLAIM,
    "event": {
        "type": "case.fields_changed",
        "data": {
            "changes": {
                "claim_amount": {
                    "before": {"amount": "8400.00", "currency": "EUR"},
                    "after": {"amount": "14200.00", "currency": "EUR"},
                }
            }
        },
    },
}


class DryRunRequest(BaseModel):
    model_config = ConfigDict(defer_build=True, json_schema_extra={"examples": [_DRY_RUN_EXAMPLE]})

    case: CaseSnapshot = Field(description="The case as the rules should see it.")
    event: DryRunEvent
    definition: TemplateDefinition | None = Field(
        default=None, description="A template not yet published (a draft); the latest published version if absent."
    )


class DryRunResult(BaseModel):
    model_config = ConfigDict(
        defer_build=True,
        json_schema_extra={
            "examples": [
                {
                    "template_key": "insurance-claim",
                    "template_version": 1,
                    "decisions": [
                        {
                            "rule": "large_claim_changed",
                            "name": "Claim amount raised above EUR 10,000",
                            "verdict": "fired",
                            "condition": True,
                            "error": None,
                            "actions": [
                                {
                                    "index": 0,
                                    "type": "assign",
                                    "summary": "assign the case to the role senior_reviewer",
                                    "detail": {
                                        "type": "assign",
                                        "owner": None,
                                        "role": "senior_reviewer",
                                        "task_key": None,
                                    },
                                    "error": None,
                                },
                                {
                                    "index": 1,
                                    "type": "request_document",
                                    "summary": "ask 1 claimant participant(s) for police_report",
                                    "detail": {
                                        "type": "request_document",
                                        "document_type": "police_report",
                                        "from_role": "claimant",
                                        "message": (
                                            "For claims over EUR 10,000 we need the police report. Please upload "
                                            "it in your claim portal."
                                        ),
                                        "participant_ids": ["01JF3Z8KHY8W21WDHGHTVPCQ8G"],
                                    },
                                    "error": None,
                                },
                            ],
                        }
                    ],
                }
            ]
        },
    )

    template_key: str
    template_version: int | None = Field(description="None when a draft definition was tested.")
    decisions: list[RuleDecision] = Field(description="Every rule the event triggers: fired or not, and why.")


class DueWork(BaseModel):
    model_config = ConfigDict(defer_build=True)

    timers_fired: int
    deliveries_attempted: int
    deliveries_dead: int = Field(description="Deliveries whose last attempt failed: dead letters (an alarm's metric).")
    lateness_seconds: list[float] = Field(description="How long after its due time each timer fired.")


class AutomationsService:
    def __init__(
        self,
        store: AutomationsStore,
        bus: Bus,
        mailer: Mailer,
        webhooks: Webhooks,
        *,
        tenant_id: str,
        max_depth: int,
        clock: Callable[[], datetime],
        arrival: CaseArrival,
    ) -> None:
        self._store = store
        self._bus = bus
        self._mailer = mailer
        self._webhooks = webhooks
        self._tenant_id = tenant_id
        self._max_depth = max_depth
        self._clock = clock
        self._arrival = arrival
        # Event types handled otherwise than as case events (rules, timers, webhooks): one entry per type.
        self._event_handlers: dict[str, Callable[[StatefulEvent], list[AutomationRun]]] = {
            EventType.TEMPLATE_PUBLISHED: self._keep_template
        }

    # events

    def begin_batch(self) -> None:
        """A batch of events begins: what is read once per batch (the webhook subscriptions) is read again."""
        self._webhooks.begin_batch()

    def handle(self, event: StatefulEvent) -> list[AutomationRun]:
        """Everything one event sets off. Raises to have it delivered again (its template not known yet)."""
        if event.tenant_id != self._tenant_id:
            return []
        return self._event_handlers.get(event.type, self._handle_case_event)(event)

    def _keep_template(self, event: StatefulEvent) -> list[AutomationRun]:
        data = data_of(event, TemplatePublished)
        published = PublishedTemplate(
            definition=data.definition,
            version=data.version,
            published_at=event.occurred_at,
            published_by=event.actor.id,
        )
        self._store.save_template(published)
        return []

    def _handle_case_event(self, event: StatefulEvent) -> list[AutomationRun]:
        self._webhooks.enqueue_event(event)
        if event.case_id is None:
            return []
        if event.case is None:
            return self._runs_without_state(event)
        case = event.case
        template = self._store.template(case.template_key, case.template_version)
        if template is None:
            raise TemplateNotKnownError(f"template {case.template_key} v{case.template_version} not received yet")
        self._store.save_members(CaseMembers.of(case))
        self._keep_timers(case, event)
        return [
            self._run(template, event, decision, case)
            for decision in decide(template.definition, case, event, max_depth=self._max_depth)
        ]

    def _runs_without_state(self, event: EventEnvelope) -> list[AutomationRun]:
        """An event that came without its case (too large for the bus entry): the rules it triggers are
        recorded as failed, so the team sees what did not run, rather than nothing. No rule triggers on the
        portal's events (which never carry the case), so they cost no read."""
        if event.type not in RULE_TRIGGERS:
            return []
        known = self._store.members(str(event.case_id))
        template = self._store.template(known.template_key, known.template_version) if known else None
        if template is None:
            return []
        failed = [
            RuleDecision(
                rule=rule.key,
                name=rule.name,
                verdict=Verdict.FAILED,
                condition=None,
                error="The event came without the case (too large for the event bus), so the rule could not run.",
            )
            for rule in template.definition.rules
            if triggered(rule, event)
        ]
        return [self._run(template, event, decision, None) for decision in failed]

    def _keep_timers(self, case: CaseSnapshot, event: EventEnvelope) -> None:
        changes = reconcile(case, self._store.timers(case.id), correlation_id=event.correlation_id)
        for timer in changes.cancel:
            self._store.cancel_timer(timer)
        for timer in changes.start:
            self._store.start_timer(timer)

    def _run(
        self, template: PublishedTemplate, event: EventEnvelope, decision: RuleDecision, case: CaseSnapshot | None
    ) -> AutomationRun:
        """`case` is the state the event carried; without it a rule cannot fire, only fail."""
        started = self._clock()
        rule = next(rule for rule in template.definition.rules if rule.key == decision.rule)
        outcomes = (
            [self._act(rule, case, event, planned) for planned in decision.actions]
            if case is not None and decision.verdict is Verdict.FIRED
            else []
        )
        run = AutomationRun.of(
            decision,
            case_id=str(event.case_id),
            template_key=template.definition.key,
            template_version=template.version,
            event_id=event.event_id,
            event_type=event.type,
            triggered_by=event.actor,
            causation_depth=event.causation_depth,
            started_at=started,
            finished_at=self._clock(),
            outcomes=outcomes,
        )
        self._store.save_run(run, int(time.time()) + RUN_RETENTION_SECONDS)
        self._bus.publish([self._ran_event(rule, event, run)], case=case)  # rules may run on runs too
        return run

    def _ran_event(self, rule: AutomationRule, event: EventEnvelope, run: AutomationRun) -> EventEnvelope:
        """`automation.ran` on the case's timeline. One step deeper than its trigger, so a rule triggered by
        runs cannot go on for ever."""
        return EventEnvelope.new(
            event_id=derived_id(event.occurred_at, event.event_id, rule.key, "ran"),
            tenant_id=self._tenant_id,
            case_id=run.case_id,
            type=EventType.AUTOMATION_RAN,
            actor=Actor(kind=ActorKind.AUTOMATION, id=rule.key, display_name=rule.name),
            correlation_id=event.correlation_id,
            causation_id=event.event_id,
            causation_depth=event.causation_depth + 1,
            occurred_at=run.finished_at,
            data=AutomationRan.model_validate(
                {
                    "rule": run.rule,
                    "rule_name": run.rule_name,
                    "trigger": {"event_id": event.event_id, "type": event.type},
                    "verdict": run.verdict,
                    "condition": run.condition,
                    "error": run.error,
                    "actions": [outcome.model_dump(mode="json", exclude={"detail"}) for outcome in run.outcomes],
                }
            ).dump(),
        )

    def _act(
        self, rule: AutomationRule, case: CaseSnapshot, event: EventEnvelope, planned: PlannedAction
    ) -> ActionOutcome:
        outcome = ActionOutcome(index=planned.index, type=planned.type, status="failed", error=planned.error)
        if planned.error is not None:
            return outcome
        action = rule.actions[planned.index]
        key = derived_id(event.occurred_at, event.event_id, rule.key, str(planned.index))
        try:
            if type(action) in ACTION_COMMANDS:
                self._bus.publish([self._command(rule, case, event, action, key)], command=True)
                return outcome.model_copy(update={"status": "sent", "detail": {"command_id": key}})
            if isinstance(action, SendEmailAction):
                return self._send_mail(planned, key, outcome)
            if isinstance(action, CallWebhookAction):
                delivery = self._webhooks.call(action.url, event, key)
                return outcome.model_copy(update={"status": "sent", "detail": {"delivery_id": delivery}})
            if isinstance(action, StartTimerAction):
                timer = Timer(
                    timer_id=f"custom:{key}",
                    case_id=case.id,
                    kind=TimerKind.CUSTOM,
                    due_at=timer_due(self._template_definition(case), event.occurred_at, action),
                    name=action.name,
                    case_version=case.version,
                    causation_depth=event.causation_depth + 1,
                    correlation_id=event.correlation_id,
                )
                self._store.start_timer(timer)
                return outcome.model_copy(update={"status": "done", "detail": {"due_at": timer.due_at.isoformat()}})
        except UnavailableError:
            raise  # nothing was decided: the event is delivered again, and what did get through is dropped
        except DomainError as refusal:
            return outcome.model_copy(update={"error": refusal.detail})
        return outcome.model_copy(update={"error": f"unknown action {planned.type}"})

    def _template_definition(self, case: CaseSnapshot) -> TemplateDefinition:
        template = self._store.template(case.template_key, case.template_version)
        assert template is not None  # the run that asks was planned from it
        return template.definition

    def _command(
        self, rule: AutomationRule, case: CaseSnapshot, event: EventEnvelope, action: Any, key: str
    ) -> EventEnvelope:
        return EventEnvelope.new(
            event_id=key,
            tenant_id=self._tenant_id,
            case_id=case.id,
            type=ACTION_COMMANDS[type(action)],
            actor=Actor(kind=ActorKind.AUTOMATION, id=rule.key, display_name=rule.name),
            correlation_id=event.correlation_id,
            causation_id=event.event_id,
            causation_depth=event.causation_depth + 1,
            occurred_at=self._clock(),
            data=action.model_dump(mode="json"),
        )

    def _send_mail(self, planned: PlannedAction, key: str, outcome: ActionOutcome) -> ActionOutcome:
        """At most once: claimed before it is sent. If SES answers that it did not take the message, the claim
        is released (a throttle: the event is retried) or the action fails (a refusal). With no answer at all it
        may have gone out, so it is not sent again and the run says so."""
        detail = planned.detail
        if not self._store.claim_mail(key, int(time.time()) + RUN_RETENTION_SECONDS):
            return outcome.model_copy(update={"status": "skipped", "error": None, "detail": {"reason": "sent before"}})
        try:
            message_id = self._mailer.send(detail["recipients"], detail["subject"], detail["body"])
        except MailRefusedError as refused:
            if refused.retryable:
                self._store.release_mail(key)
                raise UnavailableError(f"SES did not take the e-mail now: {refused}") from refused
            return outcome.model_copy(update={"error": f"SES refused the e-mail: {refused}"})
        except Exception as unknown:
            return outcome.model_copy(update={"error": f"not known whether the e-mail was sent: {unknown}"})
        sent = {"message_id": message_id, "recipients": len(detail["recipients"]), "subject": detail["subject"]}
        return outcome.model_copy(update={"status": "done", "detail": sent})

    # timers and retries

    def run_due_work(self, now: datetime) -> DueWork:
        """Fires every timer due by `now` (as a command the cases service checks against the case) and retries
        the webhook deliveries that are due."""
        due = self._store.due_timers(now)
        for timer in due:
            command = EventEnvelope.new(
                event_id=derived_id(timer.due_at, timer.case_id, timer.timer_id),
                tenant_id=self._tenant_id,
                case_id=timer.case_id,
                type=AutomationCommand.TIMER_DUE,
                actor=TIMERS_ACTOR,
                correlation_id=timer.correlation_id,
                causation_depth=timer.causation_depth,
                occurred_at=now,
                data=timer.model_dump(mode="json", include={"timer_id", "kind", "due_at", "stage", "task_id", "name"}),
            )
            self._bus.publish([command], command=True)
            self._store.mark_fired(timer, now)
        attempted = self._webhooks.retry_due(now)
        return DueWork(
            timers_fired=len(due),
            deliveries_attempted=len(attempted),
            deliveries_dead=sum(1 for delivery in attempted if delivery.status is DeliveryStatus.DEAD),
            lateness_seconds=[(now - timer.due_at).total_seconds() for timer in due],
        )

    # queries

    def list_runs(self, context: TenantContext, case_id: str, *, limit: int, cursor: str | None) -> Page[AutomationRun]:
        """Runs show rendered e-mails and refusals: only for those who may see the case (404 otherwise, as for an
        unknown id), and e-mail subjects only for those whose roles show every field they may be made from. A
        case opened moments ago is waited for (its first event may still be on the way here)."""
        if not context.principal.has_any(*READERS):
            raise ForbiddenError("Only staff may see automations.")
        members, template = self._arrival.await_case(case_id, lambda: self._members(case_id))
        access = roles_held(template, members.participants, context.principal)
        if not access.can_view:
            raise NotFoundError(f"No case {case_id}.")
        page = self._store.runs(case_id, limit=limit, cursor=cursor)
        if all(access.field_access(field.key) is not None for field in template.fields):
            return page
        return Page(items=[run.without_rendered_text() for run in page.items], next_cursor=page.next_cursor)

    def _members(self, case_id: str) -> tuple[CaseMembers, TemplateDefinition] | None:
        """Who takes part in the case and its template, once both have reached this service."""
        members = self._store.members(case_id)
        template = self._store.template(members.template_key, members.template_version) if members else None
        return (members, template.definition) if members is not None and template is not None else None

    def dry_run(self, context: TenantContext, key: str, request: DryRunRequest) -> DryRunResult:
        """What the rules would do with this case and event, with no side effect at all."""
        _require_template_editor(context)
        version: int | None = None
        if request.definition is not None:
            definition = request.definition
            if definition.key != key:
                raise InvalidInputError(
                    "The key differs.", [FieldIssue(pointer="/definition/key", detail=f"must be {key}")]
                )
            issues = [
                FieldIssue(pointer=f"/definition{pointer}", detail=problem)
                for index, rule in enumerate(definition.rules)
                for pointer, problem in check_pattern(rule.trigger.pattern or {}, f"/rules/{index}/trigger/pattern")
            ]
            if issues:
                raise InvalidInputError("A rule's pattern has mistakes.", issues)
        else:
            published = self._store.latest_template(key)
            if published is None:
                raise NotFoundError(f"No published template {key}.")
            definition, version = published.definition, published.version
        event = EventEnvelope.new(
            tenant_id=self._tenant_id,
            case_id=request.case.id,
            type=request.event.type,
            actor=context.principal.actor(),
            correlation_id=context.correlation_id,
            causation_depth=request.event.causation_depth,
            occurred_at=self._clock(),
            data=request.event.data,
        )
        decisions = decide(definition, request.case, event, max_depth=self._max_depth)
        return DryRunResult(template_key=definition.key, template_version=version, decisions=decisions)


def _require_template_editor(context: TenantContext) -> None:
    # The cases service's rule for template routes: a dry run runs a template's (or a draft's) conditions.
    if not context.principal.has_any(StaffRole.ADMIN):
        raise ForbiddenError("Only those who may edit templates may dry-run their rules.")
