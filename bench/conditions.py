"""Conditions (issue 13): the slowest conditions template validation accepts, evaluated on the largest case data.

Each family grows a condition of one kind until one more step would be refused by `check_budget` (what
publishing runs), then evaluates the largest accepted one on a case whose lists and texts are as long as
fields allow. A family may end in a refusal at run time (the condition handles too much of the case's data):
the time until then is what counts. The goal is that no accepted condition takes more than 50 ms.
"""

import statistics
import time
from collections.abc import Callable
from typing import Any

from caseline_common.conditions import BUDGET, ConditionError, check_budget, evaluate
from caseline_common.event_types import EventType
from rich.console import Console
from rich.table import Table

ROUNDS = 15
GOAL_MS = 50.0
console = Console()

# The largest case data a condition can read: a multi_enum field at its 500 values, a long text at its
# 100,000 characters.
FACTS: dict[str, Any] = {
    "fields": {
        "tags": [f"option-number-{index:04d}" for index in range(500)],
        "notes": "lorem ipsum dolor sit amet " * 3704,
        "amount": {"amount": "12500.00", "currency": "EUR"},
    },
    "case": {"title": "t" * 200, "stage": "review", "status": "open", "owner": "dana", "template_version": 3},
    "event": {"type": EventType.CASE_FIELDS_CHANGED, "data": {"changes": {"tags": True}}},
}


def _chain(operator: str, links: int) -> dict[str, Any]:
    """`links` nested operations, each on the item and the result of the one inside."""
    node: dict[str, Any] = {"var": ""}
    for _ in range(links):
        node = {operator: [node, {"var": ""}]}
    return node


def _on_every_tag(operator: str) -> Callable[[int], Any]:
    # `none` with a sub-condition that never holds goes through every item.
    return lambda size: {"none": [{"var": "fields.tags"}, {"==": [_chain(operator, size), "never"]}]}


def _families() -> dict[str, Callable[[int], Any]]:
    operators = ("+", "<", "==", "in", "min", "substr", "cat", "!==", "%")
    families = {f"{operator} chained on each of 500 values": _on_every_tag(operator) for operator in operators}
    families |= {
        "long variable paths on each value": lambda size: {
            "none": [{"var": "fields.tags"}, {"var": ".".join(["a"] * size)}]
        },
        "each value of each copy of the list": lambda size: {
            "all": [
                [{"var": "fields.tags"}] * size,
                {"none": [{"var": ""}, {"==": [{"cat": [{"var": ""}, "x"]}, "never"]}]},
            ]
        },
        "every value looked up in each copy of the list": lambda size: {
            "all": [[{"var": "fields.tags"}] * size, {"missing": {"var": ""}}]
        },
        "a long text searched again and again": lambda size: {
            "none": [[{"var": "fields.notes"}] * size, {"in": ["not there", {"var": ""}]}]
        },
        "a text doubled on each value": lambda size: {
            "!": {
                "reduce": [
                    {"var": "fields.tags"},
                    {"substr": [{"cat": [{"var": "accumulator"}] * size}, 0, 90_000]},
                    "ab",
                ]
            }
        },
        "a list grown on each value": lambda size: {
            "!": {"reduce": [{"var": "fields.tags"}, {"merge": [{"var": "accumulator"}] * size}, [1]]}
        },
        "many variables read": lambda size: {"missing": [f"fields.amount.amount.{index}" for index in range(size)]},
        "deep nesting": _nested,
        "wide and/or of comparisons": lambda size: {
            "or": [{"==": [{"var": "fields.notes"}, f"value {index}"]} for index in range(size)]
        },
        "variables that miss on each value": lambda size: {
            "none": [{"var": "fields.tags"}, {"or": [{"var": "x"}] * size}]
        },
        "operations, then data": lambda size: {
            "and": [
                _on_every_tag("+")(size),
                {"none": [[{"var": "fields.notes"}] * 60, {"in": ["not there", {"var": ""}]}]},
            ]
        },
    }
    return families


def _nested(depth: int) -> dict[str, Any]:
    node: dict[str, Any] = {"var": "fields.amount.amount"}
    for _ in range(depth):
        node = {"!": [node]}
    return node


def _largest_accepted(family: Callable[[int], Any]) -> tuple[int, Any] | None:
    """The largest size of the family check_budget accepts (sizes grow one by one from 1)."""
    accepted = None
    size = 1
    while True:
        condition = family(size)
        try:
            worst = check_budget(condition)
        except ConditionError:
            return accepted
        accepted = (worst, condition)
        size += 1


def _time(condition: Any) -> tuple[float, str]:
    samples, outcome = [], ""
    for _ in range(ROUNDS):
        started = time.perf_counter()
        try:
            outcome = str(evaluate(condition, FACTS)).lower()
        except ConditionError as error:
            outcome = str(error)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), outcome


def conditions() -> None:
    table = Table(title=f"Slowest accepted conditions (median of {ROUNDS}, largest case data)")
    for column in ("family", "worst operations", "median ms", "outcome"):
        table.add_column(column, justify="left" if column in ("family", "outcome") else "right")
    slowest = ("", 0.0)
    for name, family in _families().items():
        found = _largest_accepted(family)
        if found is None:
            continue
        worst, condition = found
        median, outcome = _time(condition)
        slowest = max(slowest, (name, median), key=lambda pair: pair[1])
        table.add_row(name, f"{worst:,}", f"{median:.1f}", outcome)
    console.print(table)
    console.print(
        f"Slowest accepted condition: {slowest[1]:.1f} ms ({slowest[0]}); goal {GOAL_MS:.0f} ms; budget "
        f"{BUDGET.operations:,} operations, lists of {BUDGET.items}, {BUDGET.data:,} characters handled, "
        f"{BUDGET.seconds * 1000:.0f} ms of processor time"
    )


if __name__ == "__main__":
    conditions()
