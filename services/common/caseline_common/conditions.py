"""JSONLogic conditions: evaluation with a maintained library, under a budget, and the variables a condition
reads.

Templates put conditions in stage criteria and automation rules. Reading the variables lets template
validation name a misspelt field before anyone runs the condition.

Every evaluation runs under a `Budget`, because a condition is written by whoever configures a template and
runs on every case event: three nested `map`s over 300-item lists once took a minute. The library still
evaluates; this module meters it. The expression is walked once (and the result kept): its depth and its
size are checked, and the list each iterating operator goes through is passed through a metering operation
that charges, per item, the parts of the sub-condition run on it. Every built-in operation is wrapped to watch
the clock and the size of what it takes in and builds. `check_budget` counts the same operations, assuming
every list of the case at its longest, so a condition publishing accepts can only go over its budget at run
time by the size of the case's texts and lists, and then fails with a ConditionBudgetExceeded in words.
"""

import gc
import json
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from json_logic import jsonLogic
from json_logic.builtins import BUILTINS

from .contracts import CaseSnapshot, TaskStatus

# Operators the library implements outside its BUILTINS table.
_CONTROL_OPERATORS = frozenset({"if", "?:", "and", "or", "filter", "map", "reduce", "all", "none", "some"})
# `log` prints every value it sees to the function's output: case data would end up in the logs.
OPERATORS = (frozenset(BUILTINS) - {"log"}) | _CONTROL_OPERATORS
# Their second argument runs against each item of the first, so its variables are not case facts.
_ITEM_SCOPED = frozenset({"filter", "map", "reduce", "all", "none", "some"})
# The metering operation the walk puts around each iterated list; a condition naming it is refused.
_ITEMS = "caseline:items"
# A list item or object entry counts as this many characters: going through one costs about as much.
_ITEM_SIZE = 100
# Characters of a text written in a condition that count as one part: reading a long variable path or
# searching a long text costs about what an operation does.
_TEXT_PART = 16
_LARGEST_NUMBER = 2**1024  # beyond a JSON number (a double); Python's integers would grow without end
# Operations whose result is one of their arguments, never a new list.
_SELECTING = frozenset({"if", "?:", "and", "or"})
# Operations that answer a number, a boolean or a text.
_SCALAR = OPERATORS - _SELECTING - {"var", "missing", "missing_some", "merge", "filter", "map", "reduce"}


class ConditionError(Exception):
    """A condition could not be evaluated (for example a division by zero)."""


class ConditionBudgetExceeded(ConditionError):
    """The condition would spend more than its budget; the message names the limit in words."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"over budget: {detail}")


@dataclass(frozen=True)
class Budget:
    """What one evaluation of one condition may spend. Tuned so that the costliest condition publishing
    accepts evaluates in well under 50 ms (`make bench` prints the figure)."""

    operations: int = 10_000  # parts evaluated, counting a sub-condition's parts once per item it runs on
    depth: int = 24  # nesting of operations and lists
    parts: int = 1_000  # operations, lists and values in the expression; a text is one per 16 characters
    items: int = 500  # the longest list an operator may go through: a multi_enum field's most values
    value_size: int = 200_000  # characters in one value an operation builds: two long texts
    data: int = 4_000_000  # characters all operations together take in and give out
    # Processor time of the evaluating thread, whatever else: unlike the wall clock, a busy machine that leaves
    # the thread waiting does not fail an ordinary condition.
    seconds: float = 0.25


BUDGET = Budget()


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


def _number(value: int) -> str:
    return f"{value:,}"


class _Meter:
    """What one evaluation has spent; raises as soon as it passes a limit."""

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.operations = 0
        self.data = 0
        self.deadline = time.thread_time() + budget.seconds
        self.largest = budget.value_size
        self._sizes: dict[int, tuple[Any, int]] = {}  # keeps each measured value alive, so its id stays its own

    def charge(self, operations: int) -> None:
        self.operations += operations
        if self.operations > self.budget.operations:
            raise ConditionBudgetExceeded(f"the condition needs more than {_number(self.budget.operations)} operations")
        self.tick()

    def tick(self) -> None:
        if time.thread_time() > self.deadline:
            raise ConditionBudgetExceeded(
                f"the condition took more than {self.budget.seconds * 1000:.0f} ms of processor time"
            )

    def iterate(self, items: Any, per_item: int) -> Any:
        if isinstance(items, list):
            if len(items) > self.budget.items:
                raise ConditionBudgetExceeded(
                    f"the condition goes through a list of {_number(len(items))} items; "
                    f"at most {_number(self.budget.items)}"
                )
            self.charge(len(items) * per_item)
        return items

    def within(self, size: int) -> int:
        if size > self.budget.value_size:
            raise ConditionBudgetExceeded(
                f"the condition builds a value of {_number(size)} characters; at most "
                f"{_number(self.budget.value_size)} (a list item counts as {_ITEM_SIZE})"
            )
        return size

    def handled(self, size: int) -> None:
        self.data += size
        if self.data > self.budget.data:
            raise ConditionBudgetExceeded(
                f"the condition handles more than {_number(self.budget.data)} characters in all "
                f"(a list item counts as {_ITEM_SIZE})"
            )

    def size(self, value: Any) -> int:
        """Characters, a list item or object entry counting as `_ITEM_SIZE`, and shared parts wherever they
        appear, as printing the value would count them."""
        if isinstance(value, str):
            return len(value)
        if not isinstance(value, list | dict):
            return 1
        known = self._sizes.get(id(value))
        if known is not None:
            return known[1]
        size = _ITEM_SIZE * len(value)
        for child in value.values() if isinstance(value, dict) else value:
            size += len(child) if isinstance(child, str) else self.size(child)
        self._sizes[id(value)] = (value, size)
        return size

    def measure(self, arguments: tuple[Any, ...]) -> int:
        taken = 0
        for argument in arguments:
            if isinstance(argument, str):
                taken += len(argument)
            elif isinstance(argument, list | dict):
                taken += self.size(argument)
        return taken

    def known(self, value: Any, size: int) -> None:
        self._sizes[id(value)] = (value, size)


# The meter of the evaluation running in this thread (or task): the table of operations is built once.
_METER: ContextVar[_Meter] = ContextVar("condition_meter")


def _size_made(meter: _Meter, result: Any) -> int:
    if isinstance(result, str):
        return len(result)
    if isinstance(result, list | dict):
        return meter.size(result)
    if isinstance(result, int) and abs(result) >= _LARGEST_NUMBER:
        raise ConditionBudgetExceeded("the condition computes a number beyond ±1.8e308")
    return 0


def _metered(name: str, operation: Callable[..., Any]) -> Callable[..., Any]:
    """The built-in operation under the current meter: it watches the clock and counts the texts and lists the
    operation takes in and gives out (numbers and booleans are bounded by the operation count). It runs for
    every operation evaluated, so it calls as little as it can."""
    if name == "var":  # reads the case's own data, whose size is bounded where it is stored

        def read(data: Any, *arguments: Any) -> Any:
            meter = _METER.get()
            if time.thread_time() > meter.deadline:
                meter.tick()
            return operation(data, *arguments)

        return read

    if name == "merge":  # its size follows from its arguments': known before the list is built

        def merge(data: Any, *arguments: Any) -> Any:
            meter = _METER.get()
            if time.thread_time() > meter.deadline:
                meter.tick()
            merged = sum(meter.size(item) + _ITEM_SIZE * (not isinstance(item, list)) for item in arguments)
            meter.handled(meter.measure(arguments) + meter.within(merged))
            result = operation(data, *arguments)
            meter.known(result, merged)
            return result

        return merge

    joins, looks_up = name == "cat", name in ("missing", "missing_some")

    def run(data: Any, *arguments: Any) -> Any:
        meter = _METER.get()
        if time.thread_time() > meter.deadline:
            meter.tick()
        if looks_up:  # each name it looks up costs what a `var` does
            meter.iterate(_names(name, arguments), 1)
        taken = meter.measure(arguments)
        if joins and taken > meter.largest:  # refused before a huge text is joined
            meter.within(taken)
        result = operation(data, *arguments)
        made = _size_made(meter, result)
        if made > meter.largest:
            meter.within(made)
        if taken or made:
            meter.handled(taken + made)
        return result

    return run


def _names(operator: str, arguments: tuple[Any, ...]) -> list[Any]:
    """The names `missing` or `missing_some` looks up, as the library picks them from the arguments."""
    if operator == "missing_some":
        return arguments[1] if len(arguments) > 1 and isinstance(arguments[1], list) else []
    return arguments[0] if arguments and isinstance(arguments[0], list) else list(arguments)


_OPERATIONS = {name: _metered(name, operation) for name, operation in BUILTINS.items() if name in OPERATORS}
_OPERATIONS[_ITEMS] = lambda _data, items=None, per_item=1, *_: _METER.get().iterate(items, per_item)


@dataclass(frozen=True)
class _Prepared:
    logic: Any  # what the library evaluates: each iterated list passes through the metering operation
    parts: int
    extra: int  # operations charged for items on top of `parts`, at worst
    longest: int  # the most items the value has if it is a list


_NO_BODY = _Prepared(None, 1, 0, 0)  # the library still evaluates `None` once per item


class _Walk:
    """One pass over an expression: checks its shape, prepares it for metering and bounds its cost."""

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.parts = 0

    def prepare(self, node: Any, depth: int = 1) -> _Prepared:
        budget = self.budget
        if depth > budget.depth:
            raise ConditionBudgetExceeded(f"the condition nests deeper than {budget.depth} levels")
        before = self.parts
        self.parts += 1 + len(node) // _TEXT_PART if isinstance(node, str) else 1
        if self.parts > budget.parts:
            raise ConditionBudgetExceeded(
                f"the condition has more than {_number(budget.parts)} parts (each operation, value, list and "
                f"{_TEXT_PART} characters of text is one)"
            )
        if isinstance(node, int) and abs(node) >= _LARGEST_NUMBER:
            raise ConditionBudgetExceeded("the condition writes a number beyond ±1.8e308")
        if isinstance(node, list):
            items = [self.prepare(item, depth + 1) for item in node]
            extra = sum(item.extra for item in items)
            return _Prepared([item.logic for item in items], self.parts - before, extra, len(node))
        if not isinstance(node, dict):
            return _Prepared(node, self.parts - before, 0, 0)
        if len(node) != 1:  # an object the library returns as written
            for value in node.values():
                self.prepare(value, depth + 1)
            return _Prepared(node, self.parts - before, 0, 0)
        operator, arguments = next(iter(node.items()))
        if operator in (_ITEMS, "log"):
            raise ConditionError(f'unknown operator "{operator}"')
        arguments = arguments if isinstance(arguments, list) else [arguments]
        if operator in _ITEM_SCOPED and arguments:
            return self._iterating(operator, arguments, depth, before)
        prepared = [self.prepare(argument, depth + 1) for argument in arguments]
        extra = sum(argument.extra for argument in prepared)
        if operator in ("missing", "missing_some"):
            extra += self._looked_up(operator, prepared)
        if operator in _SELECTING:
            longest = max((argument.longest for argument in prepared), default=0)
        elif operator == "merge":
            longest = sum(max(1, argument.longest) for argument in prepared)
        elif operator in _SCALAR:
            longest = 0
        else:  # reads a list of the case's, or an unknown operator
            longest = budget.items
        logic = {operator: [argument.logic for argument in prepared]}
        return _Prepared(logic, self.parts - before, extra, longest)

    def _looked_up(self, operator: str, arguments: list[_Prepared]) -> int:
        """The most names `missing` or `missing_some` can look up (see `_names`)."""
        if operator == "missing_some":
            names = arguments[1].longest if len(arguments) > 1 else 0
        else:
            names = max(arguments[0].longest if arguments else 0, len(arguments))
        if names > self.budget.items:
            raise ConditionBudgetExceeded(
                f"{operator} goes through a list of up to {_number(names)} items; at most {_number(self.budget.items)}"
            )
        return names

    def _iterating(self, operator: str, arguments: list[Any], depth: int, before: int) -> _Prepared:
        items = self.prepare(arguments[0], depth + 1)
        if items.longest > self.budget.items:
            raise ConditionBudgetExceeded(
                f"{operator} goes through a list of up to {_number(items.longest)} items; "
                f"at most {_number(self.budget.items)}"
            )
        body = self.prepare(arguments[1], depth + 1) if len(arguments) > 1 else _NO_BODY
        for unevaluated in arguments[2:]:  # reduce's initial value is used as written
            self.prepare(unevaluated, depth + 1)
        metered = {_ITEMS: [items.logic, body.parts]}
        logic = {operator: [metered, body.logic, *arguments[2:]] if len(arguments) > 1 else [metered]}
        extra = items.extra + items.longest * (body.parts + body.extra)
        longest = {"map": items.longest, "filter": items.longest, "reduce": self.budget.items}.get(operator, 0)
        return _Prepared(logic, self.parts - before, extra, longest)


@lru_cache(maxsize=512)
def _prepared(condition: str, budget: Budget) -> _Prepared:
    # Keyed by the condition's JSON: a template's conditions run on every case event, and walking one costs
    # more than evaluating it.
    return _Walk(budget).prepare(json.loads(condition))


def check_budget(condition: Any, budget: Budget = BUDGET) -> int:
    """The most operations the condition can take on any case, every list it goes through as long as the
    budget allows. Raises ConditionBudgetExceeded, naming the limit, if some case could make it exceed one."""
    prepared = _prepared(json.dumps(condition), budget)
    worst = prepared.parts + prepared.extra
    if worst > budget.operations:
        raise ConditionBudgetExceeded(
            f"the condition could take {_number(worst)} operations; at most {_number(budget.operations)} "
            "(map, filter, reduce, all, some and none run their sub-condition once per item)"
        )
    return worst


def evaluate(condition: dict[str, Any], facts: dict[str, Any], budget: Budget = BUDGET) -> bool:
    """The condition's truth on the facts, spending at most the budget (ConditionBudgetExceeded otherwise).

    The garbage collector is held off meanwhile: a collection of the whole process's objects, which the condition
    happens to trigger, would count against its processor time (a process of the test suite's size took more
    than the budget for one); what the condition can allocate is bounded by the budget's data limits."""
    prepared = _prepared(json.dumps(condition), budget)
    collecting = gc.isenabled()
    gc.disable()
    meter = _Meter(budget)
    meter.charge(prepared.parts)
    current = _METER.set(meter)
    try:
        return bool(jsonLogic(prepared.logic, facts, _OPERATIONS))
    except (ArithmeticError, TypeError, ValueError, ReferenceError, RecursionError) as error:
        raise ConditionError(str(error)) from error
    finally:
        _METER.reset(current)
        if collecting:
            gc.enable()


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
