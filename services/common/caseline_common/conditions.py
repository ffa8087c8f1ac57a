"""JSONLogic conditions: evaluation with a maintained library, and the variables a condition reads.

Templates put conditions in stage criteria and automation rules. Reading the variables lets template
validation name a misspelt field before anyone runs the condition.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from json_logic import jsonLogic
from json_logic.builtins import BUILTINS

from .contracts import CaseSnapshot, TaskStatus

# Operators the library implements outside its BUILTINS table.
_CONTROL_OPERATORS = frozenset({"if", "?:", "and", "or", "filter", "map", "reduce", "all", "none", "some"})
OPERATORS = frozenset(BUILTINS) | _CONTROL_OPERATORS
# Their second argument runs against each item of the first, so its variables are not case facts.
_ITEM_SCOPED = frozenset({"filter", "map", "reduce", "all", "none", "some"})


class ConditionError(Exception):
    """A condition could not be evaluated (for example a division by zero)."""


@dataclass(frozen=True)
class Reference:
    """A variable a condition reads, and the JSON Pointer of where it does, relative to the condition."""

    pointer: str
    name: str


@dataclass(frozen=True)
class UnknownOperator:
    """An operator the library does not know; empty for an object that names none or several."""

    pointer: str
    operator: str


def evaluate(condition: dict[str, Any], facts: dict[str, Any]) -> bool:
    try:
        return bool(jsonLogic(condition, facts))
    except (ArithmeticError, TypeError, ValueError, ReferenceError, RecursionError) as error:
        raise ConditionError(str(error)) from error


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _walk(node: Any, pointer: str) -> Iterator[Reference | UnknownOperator]:
    if isinstance(node, list):
        for index, item in enumerate(node):
            yield from _walk(item, f"{pointer}/{index}")
        return
    if not isinstance(node, dict):
        return
    if len(node) != 1:  # JSONLogic would read it as a literal, silently true: never what a person meant
        yield UnknownOperator(pointer, "")
        return
    operator, arguments = next(iter(node.items()))
    here = f"{pointer}/{_escape(operator)}"
    if operator not in OPERATORS:
        yield UnknownOperator(here, operator)
        return
    if operator == "var":
        name = arguments[0] if isinstance(arguments, list) and arguments else arguments
        if isinstance(name, str) and name:
            yield Reference(here, name)
        return
    if operator in ("missing", "missing_some"):
        names = arguments[1] if operator == "missing_some" and isinstance(arguments, list) else arguments
        for index, name in enumerate(names if isinstance(names, list) else [names]):
            if isinstance(name, str):
                yield Reference(f"{here}/{index}", name)
        return
    if operator in _ITEM_SCOPED and isinstance(arguments, list):
        yield from _walk(arguments[:1], here)
        return
    yield from _walk(arguments, here)


def references(condition: dict[str, Any]) -> list[Reference]:
    return [found for found in _walk(condition, "") if isinstance(found, Reference)]


def unknown_operators(condition: dict[str, Any]) -> list[UnknownOperator]:
    return [found for found in _walk(condition, "") if isinstance(found, UnknownOperator)]


def case_facts(case: CaseSnapshot, event: dict[str, Any] | None = None) -> dict[str, Any]:
    """What a condition can read about a case (and, in automation rules, the triggering event)."""
    stage_tasks = [task for task in case.tasks if task.stage == case.stage and task.status is TaskStatus.OPEN]
    facts: dict[str, Any] = {
        "fields": dict(case.fields),
        "case": {
            "title": case.title,
            "stage": case.stage,
            "status": case.status.value,
            "owner": case.owner,
            "template_version": case.template_version,
        },
        "documents": {document.type: len(document.versions) for document in case.documents},
        "decisions": {decision.key: decision.outcome for decision in case.decisions},
        "tasks": {"open": len(stage_tasks), "open_required": sum(task.required for task in stage_tasks)},
    }
    if event is not None:
        facts["event"] = event
    return facts


# The roots a condition may read, and for each the names below it that exist regardless of the template.
FACT_ROOTS: dict[str, frozenset[str] | None] = {
    "fields": None,
    "documents": None,
    "decisions": None,
    "case": frozenset({"title", "stage", "status", "owner", "template_version"}),
    "tasks": frozenset({"open", "open_required"}),
    "event": None,
}
