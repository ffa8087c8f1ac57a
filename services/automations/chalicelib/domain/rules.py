"""Which rules of a template an event fires, and what each of their actions would do on the case.

Pure: the same event and case always give the same decisions, so a retried run plans exactly what the first
attempt planned, and the dry run shows exactly what a real run would do.
"""

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

from caseline_common.calendar import CalendarError, deadline
from caseline_common.conditions import ConditionError, case_facts, evaluate
from caseline_common.contracts import (
    AddCommentAction,
    AddParticipantAction,
    AssignAction,
    AutomationRule,
    CallWebhookAction,
    CaseSnapshot,
    CreateTaskAction,
    MoveStageAction,
    ParticipantKind,
    RequestDocumentAction,
    RoleKind,
    SendEmailAction,
    SetFieldsAction,
    StartTimerAction,
    TemplateDefinition,
)
from caseline_common.envelope import EventEnvelope
from caseline_common.patterns import PatternError, matches
from caseline_common.patterns import check as check_pattern
from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from jinja2 import Template
    from jinja2.sandbox import SandboxedEnvironment

MAX_MAIL_CHARS = 100_000
_MAX_PRODUCT = 10_000  # the longest string or list a template may build with * (and the largest power)


# String methods and filters that pad or repeat to a width the template names: "x".ljust(10**9) builds a
# gigabyte whatever the template's own size.
_WIDENING_METHODS = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs"})
_WIDENING_FILTERS = ("center", "indent", "format")
_CONVERSION_WIDTHS = re.compile(r"%[#0 +-]*(\*|\d+)?(?:\.(\*|\d+))?")


def _too_large(operator: str, left: Any, right: Any) -> str | None:
    """Why `left <operator> right` would build too large a value in an e-mail text, if it would."""
    if operator == "**" and isinstance(right, int | float) and abs(right) > 64:
        return "the power is too large"
    if operator == "%" and isinstance(left, str):
        for width in (number for pair in _CONVERSION_WIDTHS.findall(left) for number in pair if number):
            if width == "*" or int(width) > _MAX_PRODUCT:
                return "the formatted width is too large"
    if operator == "*":
        for value, times in ((left, right), (right, left)):
            if isinstance(value, str | list | tuple) and isinstance(times, int) and len(value) * times > _MAX_PRODUCT:
                return "the repeated value is too long"
    return None


@cache
def _mail_templates() -> "SandboxedEnvironment":
    """The sandbox rule e-mails render in, with Jinja loaded at the first e-mail a rule sends, not at import."""
    from jinja2 import StrictUndefined
    from jinja2.exceptions import SecurityError
    from jinja2.sandbox import SandboxedEnvironment

    class _MailSandbox(SandboxedEnvironment):
        """Rule e-mails are written by the people who configure templates: rendered in a sandbox that also
        refuses to build huge values ("a" * 10**9, "%1000000000s" % x, padding methods), and as plain text."""

        intercepted_binops = frozenset({"*", "**", "%"})

        def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
            if isinstance(obj, str) and attr in _WIDENING_METHODS:
                return False
            return super().is_safe_attribute(obj, attr, value)

        def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
            # Jinja hands out its own str.format and format_map, around the attribute check; a width in the
            # format spec pads like ljust does. E-mail text has {{ }} for formatting.
            if super().wrap_str_format(value) is None:
                return None

            def refused(*_: Any, **__: Any) -> str:
                raise SecurityError("str.format is not available in e-mail text")

            return refused

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            refused = _too_large(operator, left, right)
            if refused:
                raise SecurityError(refused)
            return super().call_binop(context, operator, left, right)

    templates = _MailSandbox(autoescape=False, undefined=StrictUndefined)
    for name in _WIDENING_FILTERS:
        del templates.filters[name]
    return templates


class Verdict(StrEnum):
    FIRED = "fired"  # the condition held: the actions run
    SKIPPED = "skipped"  # the condition did not hold
    STOPPED = "stopped"  # it would fire, but the rule chain reached its depth limit
    FAILED = "failed"  # the condition could not be evaluated, or went over its budget (`error` says which)


class PlannedAction(BaseModel):
    model_config = ConfigDict(defer_build=True)

    index: int
    type: str
    summary: str = Field(description="What the action does, in words.")
    detail: dict[str, Any] = Field(default_factory=dict)
    error: str | None = Field(default=None, description="Why it cannot run on this case.")


class RuleDecision(BaseModel):
    model_config = ConfigDict(defer_build=True)

    rule: str
    name: str
    verdict: Verdict
    condition: bool | None = Field(description="The condition's result; true when the rule has none.")
    error: str | None = None
    actions: list[PlannedAction] = Field(default_factory=list)


def event_facts(event: EventEnvelope) -> dict[str, Any]:
    """The event as patterns and conditions see it."""
    return event.model_dump(mode="json", exclude={"case"})


def triggered(rule: AutomationRule, event: EventEnvelope) -> bool:
    if not rule.enabled or rule.trigger.event_type != event.type:
        return False
    if rule.trigger.pattern is None:
        return True
    if check_pattern(rule.trigger.pattern):  # published templates are checked; a draft in a dry run may not be
        return False
    try:
        return matches(rule.trigger.pattern, event_facts(event))
    except (PatternError, TypeError, ValueError):
        return False


def decide(
    template: TemplateDefinition, case: CaseSnapshot, event: EventEnvelope, *, max_depth: int
) -> list[RuleDecision]:
    """A decision for every rule the event triggers, in template order."""
    facts = case_facts(case, event_facts(event))
    decisions = []
    for rule in template.rules:
        if not triggered(rule, event):
            continue
        try:
            holds = rule.condition is None or evaluate(rule.condition, facts)
        except ConditionError as error:
            decisions.append(
                RuleDecision(rule=rule.key, name=rule.name, verdict=Verdict.FAILED, condition=None, error=str(error))
            )
            continue
        if not holds:
            decisions.append(RuleDecision(rule=rule.key, name=rule.name, verdict=Verdict.SKIPPED, condition=False))
            continue
        if event.causation_depth >= max_depth:
            decisions.append(
                RuleDecision(
                    rule=rule.key,
                    name=rule.name,
                    verdict=Verdict.STOPPED,
                    condition=True,
                    error=f"{event.causation_depth} rules led to this event; chains stop at {max_depth}.",
                )
            )
            continue
        actions = [plan_action(template, case, event, index, action) for index, action in enumerate(rule.actions)]
        decisions.append(
            RuleDecision(rule=rule.key, name=rule.name, verdict=Verdict.FIRED, condition=True, actions=actions)
        )
    return decisions


def plan_action(
    template: TemplateDefinition, case: CaseSnapshot, event: EventEnvelope, index: int, action: Any
) -> PlannedAction:
    """What one action will do on this case, resolved: recipients, rendered text, due times."""
    planned = PlannedAction(index=index, type=action.type, summary="", detail=action.model_dump(mode="json"))
    try:
        planned.summary = _describe(template, case, event, action, planned.detail)
    except _CannotRun as problem:
        planned.summary, planned.error = f"cannot {action.type.replace('_', ' ')}", str(problem)
    return planned


class _CannotRun(Exception):
    pass


def _describe(
    template: TemplateDefinition, case: CaseSnapshot, event: EventEnvelope, action: Any, detail: dict[str, Any]
) -> str:
    if isinstance(action, SetFieldsAction):
        return "set " + ", ".join(f"{key} to {value!r}" for key, value in action.values.items())
    if isinstance(action, CreateTaskAction):
        return f'add the task "{action.title}"' + (f" for {action.assignee_role}" if action.assignee_role else "")
    if isinstance(action, AssignAction):
        who = action.owner or f"the role {action.role}"
        return f'assign the task "{action.task_key}" to {who}' if action.task_key else f"assign the case to {who}"
    if isinstance(action, MoveStageAction):
        return f'move the case to "{action.to}"'
    if isinstance(action, AddParticipantAction):
        return f"add {action.user_id or 'the person in ' + str(action.party_field)} as {action.role}"
    if isinstance(action, RequestDocumentAction):
        asked = [p.id for p in case.participants if p.kind is ParticipantKind.EXTERNAL and p.role == action.from_role]
        detail["participant_ids"] = asked
        return f"ask {len(asked)} {action.from_role} participant(s) for {action.document_type}"
    if isinstance(action, SendEmailAction):
        recipients = email_recipients(template, case, action)
        if not recipients:
            raise _CannotRun("nobody to send it to: no e-mail address for the role or in the field")
        detail["recipients"] = recipients
        detail["subject"], detail["body"] = render_mail(case, event, action)
        return f'e-mail "{detail["subject"]}" to {len(recipients)} recipient(s)'
    if isinstance(action, CallWebhookAction):
        return f"post the event to {action.url}"
    if isinstance(action, StartTimerAction):
        try:
            due_at = timer_due(template, event.occurred_at, action)
        except CalendarError as error:
            raise _CannotRun(f"the timer has no due time: {error}") from None
        detail["due_at"] = due_at.isoformat()
        return f'start the timer "{action.name}", due {due_at.isoformat()}'
    if isinstance(action, AddCommentAction):
        return "add a comment" + (" shared with external participants" if action.external else "")
    raise _CannotRun(f"unknown action {action.type}")


def timer_due(template: TemplateDefinition, start: datetime, action: StartTimerAction) -> datetime:
    return deadline(start, action.after, template.calendar)


def email_recipients(template: TemplateDefinition, case: CaseSnapshot, action: SendEmailAction) -> list[str]:
    if action.to_field is not None:
        value = case.fields.get(action.to_field)
        address = value.get("email") if isinstance(value, dict) else value
        return [address] if isinstance(address, str) and address else []
    role = next((role for role in template.roles if role.key == action.to_role), None)
    if role is None:
        return []
    if role.kind is RoleKind.INTERNAL:
        return [role.email] if role.email else []
    return sorted({p.email for p in case.participants if p.role == role.key and p.email})


@lru_cache(maxsize=1024)
def _compiled(text: str) -> "Template":
    """Compiling is most of the cost of rendering; a template's texts are few and never change."""
    return _mail_templates().from_string(text)  # a syntax error is raised, and reported, at each use


def render_mail(case: CaseSnapshot, event: EventEnvelope, action: SendEmailAction) -> tuple[str, str]:
    """Subject and body with `{{ case.title }}`, `{{ fields.<key> }}` and `{{ event.type }}` filled in."""
    variables = {
        "case": {"id": case.id, "title": case.title, "stage": case.stage, "status": case.status.value},
        "fields": case.fields,
        "event": {"type": event.type, "data": event.data, "occurred_at": event.occurred_at.isoformat()},
    }
    try:
        subject = _compiled(action.subject).render(variables)
        body = _compiled(action.body).render(variables)
    except Exception as error:
        raise _CannotRun(f"the e-mail text does not render: {type(error).__name__}: {error}") from None
    if len(subject) + len(body) > MAX_MAIL_CHARS:
        raise _CannotRun(f"the e-mail text is longer than {MAX_MAIL_CHARS} characters")
    return " ".join(subject.split()), body


def reminder_at(start: datetime, due_at: datetime) -> datetime:
    """When to warn that a deadline is near: once four fifths of the time have passed."""
    return start + timedelta(seconds=(due_at - start).total_seconds() * 0.8)
