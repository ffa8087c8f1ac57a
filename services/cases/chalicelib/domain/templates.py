"""Checks on a template that a schema alone cannot express, each naming the path of the mistake.

A person configures templates by hand or in a builder; every mistake is reported at once, with a JSON
Pointer to where it is, so all of them can be fixed in one go.
"""

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from caseline_common import events as catalogue
from caseline_common.calendar import CalendarError, deadline, zone_of
from caseline_common.conditions import (
    FACT_ROOTS,
    ConditionBudgetExceeded,
    ConditionError,
    check_budget,
    evaluate,
    references,
    unknown_operators,
)
from caseline_common.contracts import (
    EXTERNAL_PERMISSIONS,
    AutomationRule,
    CreateTaskAction,
    Duration,
    DurationUnit,
    FieldDefinition,
    FieldType,
    RoleKind,
    StageDefinition,
    StartTimerAction,
    TemplateDefinition,
)
from caseline_common.errors import FieldIssue, InvalidInputError, issues_from_validation
from caseline_common.fields import validate_field_values
from caseline_common.patterns import check as check_pattern
from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError

_ATTRIBUTES_BY_TYPE: dict[str, set[FieldType]] = {
    "options": {FieldType.ENUM, FieldType.MULTI_ENUM},
    "minimum": {FieldType.NUMBER, FieldType.MONEY},
    "maximum": {FieldType.NUMBER, FieldType.MONEY},
    "max_length": {FieldType.TEXT, FieldType.LONG_TEXT},
    "pattern": {FieldType.TEXT},
    "currencies": {FieldType.MONEY},
}

# Event types about a case (the catalogue's); a rule or portal timeline naming anything else would never see it.
EVENT_TYPES = catalogue.CASE_EVENTS
# What rules can be triggered by: every event that carries the case it leaves behind. The portal's own
# events (links issued, revoked) do not, so no condition could read the case on them.
RULE_TRIGGERS = catalogue.RULE_TRIGGERS
# Where the publish check starts counting each business duration; any start gives the same verdict but for
# holidays, which only move the end.
_CALENDAR_PROBE_START = datetime(2026, 1, 1, tzinfo=UTC)


def _article(word: str) -> str:
    return f"{'an' if word[0] in 'aeiou' else 'a'} {word}"


def _duplicates(keys: Iterable[str]) -> set[str]:
    seen: set[str] = set()
    return {key for key in keys if key in seen or seen.add(key)}  # type: ignore[func-returns-value]


def following_stages(template: TemplateDefinition, stage: StageDefinition) -> list[str]:
    """Where a case may move forward to: the stage's `next`, or else the stage after it."""
    if stage.next is not None:
        return list(stage.next)
    keys = [each.key for each in template.stages]
    position = keys.index(stage.key)
    return keys[position + 1 : position + 2]


@dataclass
class _Checker:
    template: TemplateDefinition
    issues: list[FieldIssue] = field(default_factory=list)

    def __post_init__(self) -> None:
        template = self.template
        self.fields = {each.key: each for each in template.fields}
        self.stages = {each.key: each for each in template.stages}
        self.documents = {each.key: each for each in template.document_types}
        self.decisions = {each.key: each for each in template.decisions}
        self.roles = {each.key: each for each in template.roles}

    def add(self, pointer: str, detail: str) -> None:
        self.issues.append(FieldIssue(pointer=pointer, detail=detail))

    def unique(self, items: list[Any], collection: str, noun: str) -> None:
        for duplicate in sorted(_duplicates(item.key for item in items)):
            index = next(i for i, item in enumerate(items) if item.key == duplicate)
            self.add(f"/{collection}/{index}/key", f'duplicate {noun} key "{duplicate}"')

    def known(self, pointer: str, key: str | None, known: dict[str, Any], noun: str) -> None:
        if key is not None and key not in known:
            self.add(pointer, f'unknown {noun} "{key}"')

    def condition(self, pointer: str, condition: dict[str, Any], *, in_rule: bool = False) -> None:
        for unknown in unknown_operators(condition):
            if unknown.operator:
                self.add(pointer + unknown.pointer, f'unknown operator "{unknown.operator}"')
            else:
                self.add(pointer + unknown.pointer, "an operation names exactly one operator")
        for reference in references(condition):
            self._reference(pointer + reference.pointer, reference.name, in_rule=in_rule)
        try:  # it runs on every case event: what could exceed its budget on some case is refused now
            check_budget(condition)
        except ConditionBudgetExceeded as error:
            self.add(pointer, str(error))
            return
        except ConditionError:  # it names the evaluator's own metering operation: reported above as unknown
            return
        if not references(condition) and not unknown_operators(condition):
            try:
                constant = evaluate(condition, {})
            except Exception:
                constant = False
            if not constant:
                self.add(pointer, "this condition is always false, so it can never be met")

    def _reference(self, pointer: str, name: str, *, in_rule: bool) -> None:
        root, _, rest = name.partition(".")
        first = rest.split(".")[0]
        if root not in FACT_ROOTS or (root == "event" and not in_rule):
            roots = sorted(root for root in FACT_ROOTS if in_rule or root != "event")
            self.add(pointer, f'unknown variable "{name}": it must start with one of {", ".join(roots)}')
            return
        names: dict[str, frozenset[str] | dict[str, Any] | None] = {
            "fields": self.fields,
            "documents": self.documents,
            "decisions": self.decisions,
        }
        nouns = {"fields": "field", "documents": "document type", "decisions": "decision"}
        allowed = names.get(root, FACT_ROOTS[root])
        if allowed is not None and first not in allowed:
            if root in nouns:
                self.add(pointer, f'unknown {nouns[root]} "{first}"')
            else:
                self.add(pointer, f'unknown variable "{name}": {root} has {", ".join(sorted(allowed))}')

    def check(self) -> None:
        template = self.template
        self.unique(template.fields, "fields", "field")
        self.unique(template.stages, "stages", "stage")
        self.unique(template.document_types, "document_types", "document type")
        self.unique(template.decisions, "decisions", "decision")
        self.unique(template.roles, "roles", "role")
        self.unique(template.rules, "rules", "rule")
        for index, definition in enumerate(template.fields):
            self._field(index, definition)
        self._stages()
        self._documents()
        self._decisions()
        self._roles()
        self._calendar()
        for index, rule in enumerate(template.rules):
            self._rule(f"/rules/{index}", rule)
        for index, stage in enumerate(template.portal.stages or []):
            self.known(f"/portal/stages/{index}", stage, self.stages, "stage")
        for index, event_type in enumerate(template.portal.timeline_events):
            if event_type not in EVENT_TYPES:
                self.add(f"/portal/timeline_events/{index}", f'unknown event type "{event_type}"')

    def _field(self, index: int, definition: FieldDefinition) -> None:
        path = f"/fields/{index}"
        for attribute, types in _ATTRIBUTES_BY_TYPE.items():
            if getattr(definition, attribute) is not None and definition.type not in types:
                self.add(f"{path}/{attribute}", f"{attribute} does not apply to {_article(definition.type)} field")
        if definition.type in (FieldType.ENUM, FieldType.MULTI_ENUM) and not definition.options:
            self.add(f"{path}/options", f"{_article(definition.type)} field needs at least one option")
        if definition.options and len(set(definition.options)) != len(definition.options):
            self.add(f"{path}/options", "options must be unique")
        if (
            definition.minimum is not None
            and definition.maximum is not None
            and definition.minimum > definition.maximum
        ):
            self.add(f"{path}/minimum", "minimum is greater than maximum")
        if definition.pattern is not None:
            try:
                re.compile(definition.pattern)
            except re.error as error:
                self.add(f"{path}/pattern", f"not a valid regular expression: {error}")

    def _stages(self) -> None:
        template = self.template
        task_keys: list[tuple[str, str]] = []
        for index, stage in enumerate(template.stages):
            path = f"/stages/{index}"
            for position, criterion in enumerate(stage.entry_criteria):
                self.condition(f"{path}/entry_criteria/{position}/condition", criterion.condition)
            for position, criterion in enumerate(stage.exit_criteria):
                self.condition(f"{path}/exit_criteria/{position}/condition", criterion.condition)
            for position, key in enumerate(stage.required_fields):
                self.known(f"{path}/required_fields/{position}", key, self.fields, "field")
            for position, target in enumerate(stage.next or []):
                self.known(f"{path}/next/{position}", target, self.stages, "stage")
                if target == stage.key:
                    self.add(f"{path}/next/{position}", "a stage cannot lead to itself")
            for position, task in enumerate(stage.tasks):
                task_keys.append((f"{path}/tasks/{position}/key", task.key))
                self.known(f"{path}/tasks/{position}/assignee_role", task.assignee_role, self.roles, "role")
        seen: set[str] = set()
        for pointer, key in task_keys:
            if key in seen:
                self.add(pointer, f'duplicate task key "{key}"')
            seen.add(key)
        for index in self._unreachable():
            self.add(
                f"/stages/{index}",
                f'stage "{template.stages[index].key}" cannot be reached from "{template.stages[0].key}"',
            )

    def _unreachable(self) -> list[int]:
        template = self.template
        reached = {template.stages[0].key}
        frontier = [template.stages[0]]
        while frontier:
            stage = frontier.pop()
            for target in following_stages(template, stage):
                if target in self.stages and target not in reached:
                    reached.add(target)
                    frontier.append(self.stages[target])
        return [index for index, stage in enumerate(template.stages) if stage.key not in reached]

    def _documents(self) -> None:
        for index, document in enumerate(self.template.document_types):
            path = f"/document_types/{index}"
            for position, stage in enumerate(document.required_in_stages):
                self.known(f"{path}/required_in_stages/{position}", stage, self.stages, "stage")
            for position, role_key in enumerate(document.uploader_roles):
                role = self.roles.get(role_key)
                if role is None:
                    self.add(f"{path}/uploader_roles/{position}", f'unknown role "{role_key}"')
                elif role.kind is RoleKind.EXTERNAL and not document.external:
                    self.add(
                        f"{path}/uploader_roles/{position}",
                        f'external role "{role_key}" must upload it, but the document type is not visible to '
                        "externals: set external to true",
                    )
            if len(set(document.content_types)) != len(document.content_types):
                self.add(f"{path}/content_types", "content types must be unique")

    def _decisions(self) -> None:
        for index, decision in enumerate(self.template.decisions):
            path = f"/decisions/{index}"
            if len(set(decision.options)) != len(decision.options):
                self.add(f"{path}/options", "options must be unique")
            for position, role_key in enumerate(decision.decider_roles):
                role = self.roles.get(role_key)
                if role is None:
                    self.add(f"{path}/decider_roles/{position}", f'unknown role "{role_key}"')
                elif role.kind is RoleKind.EXTERNAL:
                    self.add(f"{path}/decider_roles/{position}", f'external role "{role_key}" cannot decide')
            for position, stage in enumerate(decision.required_in_stages):
                self.known(f"{path}/required_in_stages/{position}", stage, self.stages, "stage")

    def _roles(self) -> None:
        template = self.template
        for index, role in enumerate(template.roles):
            path = f"/roles/{index}"
            for key in role.fields:
                if key != "*" and key not in self.fields:
                    self.add(f"{path}/fields/{key}", f'unknown field "{key}"')
            if role.kind is RoleKind.EXTERNAL:
                for position, permission in enumerate(role.permissions):
                    if permission not in EXTERNAL_PERMISSIONS:
                        self.add(f"{path}/permissions/{position}", f"{permission} is for internal roles only")
                if role.groups:
                    self.add(f"{path}/groups", "external participants hold no token groups")
        if not any(role.kind is RoleKind.INTERNAL for role in template.roles):
            self.add("/roles", "at least one internal role is needed to work the case")
        elif template.owner_role is not None:
            owner = self.roles.get(template.owner_role)
            if owner is None:
                self.add("/owner_role", f'unknown role "{template.owner_role}"')
            elif owner.kind is RoleKind.EXTERNAL:
                self.add("/owner_role", "the owner role must be internal")

    def _calendar(self) -> None:
        calendar = self.template.calendar
        usable = True
        try:
            zone_of(calendar)
        except CalendarError as error:
            self.add("/calendar/timezone", str(error))
            usable = False
        if calendar.opens >= calendar.closes:
            self.add("/calendar/closes", "the working day must close after it opens")
            usable = False
        if not usable:
            return
        # Every business duration must end somewhere on this calendar, or opening a case (an SLA, a task's
        # due date) or running a rule (a timer) could never compute its deadline.
        for pointer, duration in self._durations():
            if duration.unit in (DurationUnit.BUSINESS_HOURS, DurationUnit.BUSINESS_DAYS):
                try:
                    deadline(_CALENDAR_PROBE_START, duration, calendar)
                except CalendarError as error:
                    self.add(pointer, str(error))

    def _durations(self) -> Iterator[tuple[str, Duration]]:
        for index, stage in enumerate(self.template.stages):
            if stage.sla is not None:
                yield f"/stages/{index}/sla", stage.sla
            for position, task in enumerate(stage.tasks):
                if task.due_in is not None:
                    yield f"/stages/{index}/tasks/{position}/due_in", task.due_in
        for index, rule in enumerate(self.template.rules):
            for position, action in enumerate(rule.actions):
                if isinstance(action, CreateTaskAction) and action.due_in is not None:
                    yield f"/rules/{index}/actions/{position}/due_in", action.due_in
                if isinstance(action, StartTimerAction):
                    yield f"/rules/{index}/actions/{position}/after", action.after

    def _rule(self, path: str, rule: AutomationRule) -> None:
        if rule.trigger.event_type not in RULE_TRIGGERS:
            self.add(f"{path}/trigger/event_type", f'"{rule.trigger.event_type}" is not an event rules can run on')
        for pointer, problem in check_pattern(rule.trigger.pattern or {}, f"{path}/trigger/pattern"):
            self.add(pointer, problem)
        if rule.condition is not None:
            self.condition(f"{path}/condition", rule.condition, in_rule=True)
        for index, action in enumerate(rule.actions):
            self._action(f"{path}/actions/{index}", action)

    def _action(self, path: str, action: Any) -> None:
        for attribute, noun, known in (
            ("to", "stage", self.stages),
            ("role", "role", self.roles),
            ("assignee_role", "role", self.roles),
            ("from_role", "role", self.roles),
            ("to_role", "role", self.roles),
            ("document_type", "document type", self.documents),
            ("party_field", "field", self.fields),
            ("to_field", "field", self.fields),
        ):
            self.known(f"{path}/{attribute}", getattr(action, attribute, None), known, noun)
        if action.type == "set_fields":
            try:
                validate_field_values(self.template, action.values, require_all=False)
            except InvalidInputError as error:
                for issue in error.issues:
                    self.add(path + issue.pointer.replace("/fields/", "/values/", 1), issue.detail)
        if action.type == "request_document":
            role = self.roles.get(action.from_role)
            if role is not None and role.kind is not RoleKind.EXTERNAL:
                self.add(f"{path}/from_role", "documents are requested from an external role")
        if action.type == "assign" and (action.owner is None) == (action.role is None):
            self.add(path, "assign names either an owner or a role")
        if action.type == "send_email" and (action.to_role is None) == (action.to_field is None):
            self.add(path, "send_email names either to_role or to_field")
        if action.type == "send_email" and action.to_role in self.roles:
            role = self.roles[action.to_role]
            if role.kind is RoleKind.INTERNAL and role.email is None:
                self.add(f"{path}/to_role", f'the role "{role.key}" has no team mailbox: give it an email')
        field_key = getattr(action, "to_field", None) or getattr(action, "party_field", None)
        if field_key in self.fields and self.fields[field_key].type not in (FieldType.EMAIL, FieldType.PARTY):
            self.add(
                f"{path}/{'to_field' if action.type == 'send_email' else 'party_field'}",
                "must be an email or party field",
            )
        if action.type == "assign" and action.task_key is not None:
            task_keys = {task.key for stage in self.template.stages for task in stage.tasks}
            if action.task_key not in task_keys:
                self.add(f"{path}/task_key", f'unknown task "{action.task_key}"')


def template_issues(definition: TemplateDefinition) -> list[FieldIssue]:
    checker = _Checker(definition)
    checker.check()
    return checker.issues


# The issues a draft keeps at most: with the body's own limit, a draft stays well inside a DynamoDB item (400 KB).
MAX_DRAFT_ISSUES = 200


def draft_issues(document: dict[str, Any]) -> list[FieldIssue]:
    """What must change before a draft can be published: what the template's shape refuses (an empty stage just
    added, a key not yet typed), or once it has its shape, what the template's rules refuse."""
    try:
        definition = TemplateDefinition.model_validate(document)
    except ValidationError as error:
        issues = issues_from_validation(error, "body")
    else:
        issues = template_issues(definition)
    if len(issues) <= MAX_DRAFT_ISSUES:
        return issues
    more = FieldIssue(pointer="", detail=f"and {len(issues) - MAX_DRAFT_ISSUES + 1} more mistakes not listed")
    return [*issues[: MAX_DRAFT_ISSUES - 1], more]


def draft_definition(document: dict[str, Any]) -> TemplateDefinition:
    """The definition a saved draft publishes; InvalidInputError while it still lacks a template's shape."""
    try:
        return TemplateDefinition.model_validate(document)
    except ValidationError as error:
        raise InvalidInputError("The draft has mistakes.", issues_from_validation(error, "body")) from None


def check_template(definition: TemplateDefinition) -> None:
    """Raises InvalidInputError listing every mistake, so a person can fix them all in one go."""
    issues = template_issues(definition)
    if issues:
        raise InvalidInputError("The template has mistakes.", issues)


def _keyed(items: list[Any]) -> Iterator[tuple[str, Any]]:
    for index, item in enumerate(items):
        yield (str(item["key"]) if isinstance(item, dict) and "key" in item else str(index)), item


class ChangeKind(StrEnum):
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"
    REORDERED = "reordered"


class TemplateChange(BaseModel):
    """One difference between two versions of a template: where, what kind, and the values on either side."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    path: str = Field(description="JSON Pointer into the definition; list items by their key, e.g. /fields/iban.")
    change: ChangeKind
    before: JsonValue = Field(default=None, description="The old value (the old order of keys when reordered).")
    after: JsonValue = Field(default=None, description="The new value (the new order of keys when reordered).")


def diff_templates(before: TemplateDefinition, after: TemplateDefinition) -> list[TemplateChange]:
    """What changed between two versions; lists of keyed items are matched by key, so reordering shows as such."""
    changes: list[TemplateChange] = []

    def walk(path: str, old: Any, new: Any) -> None:
        if old == new:
            return
        if isinstance(old, list) and isinstance(new, list):  # compared as objects keyed by `key` (or position)
            old, new = dict(_keyed(old)), dict(_keyed(new))
            if list(old) != list(new) and set(old) == set(new):
                changes.append(
                    TemplateChange(path=path, change=ChangeKind.REORDERED, before=list(old), after=list(new))
                )
        if isinstance(old, dict) and isinstance(new, dict):
            for key in [*old, *(key for key in new if key not in old)]:
                if key not in new:
                    changes.append(TemplateChange(path=f"{path}/{key}", change=ChangeKind.REMOVED, before=old[key]))
                elif key not in old:
                    changes.append(TemplateChange(path=f"{path}/{key}", change=ChangeKind.ADDED, after=new[key]))
                else:
                    walk(f"{path}/{key}", old[key], new[key])
            return
        changes.append(TemplateChange(path=path, change=ChangeKind.CHANGED, before=old, after=new))

    walk("", before.model_dump(mode="json"), after.model_dump(mode="json"))
    return changes
