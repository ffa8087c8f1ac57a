"""EventBridge-style event patterns, evaluated on a case event.

A pattern is a JSON object mirroring the event: each leaf is a list of allowed values or matchers, and the
event matches when every leaf does. The matchers are EventBridge's: exact values, `prefix`, `suffix`,
`equals-ignore-case`, `anything-but`, `numeric` and `exists`. No maintained Python library evaluates them
outside AWS, so this module does, for the subset a template needs.
"""

import operator
from collections.abc import Callable
from typing import Any

_MISSING = object()
_NUMERIC: dict[str, Callable[[float, float], bool]] = {
    "=": operator.eq,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
MATCHERS = frozenset({"prefix", "suffix", "equals-ignore-case", "anything-but", "numeric", "exists"})


class PatternError(ValueError):
    """The pattern is not one this module (or EventBridge) understands."""


def matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    for key, expected in pattern.items():
        value = event.get(key, _MISSING) if isinstance(event, dict) else _MISSING
        if isinstance(expected, dict):
            if not matches(expected, value if isinstance(value, dict) else {}):
                return False
        elif isinstance(expected, list):
            if not _leaf_matches(expected, value):
                return False
        else:
            raise PatternError(f'"{key}" must be an object or a list of values')
    return True


def check(pattern: dict[str, Any], pointer: str = "") -> list[tuple[str, str]]:
    """Every mistake in a pattern, each with its JSON Pointer."""
    problems: list[tuple[str, str]] = []
    for key, expected in pattern.items():
        here = f"{pointer}/{key.replace('~', '~0').replace('/', '~1')}"
        if isinstance(expected, dict):
            problems += check(expected, here)
        elif not isinstance(expected, list) or not expected:
            problems.append((here, "must be an object or a non-empty list of values"))
        else:
            for index, matcher in enumerate(expected):
                if isinstance(matcher, dict):
                    problems += _check_matcher(matcher, f"{here}/{index}")
    return problems


def _check_matcher(matcher: dict[str, Any], pointer: str) -> list[tuple[str, str]]:
    if len(matcher) != 1 or next(iter(matcher)) not in MATCHERS:
        return [(pointer, f"a matcher is one of {', '.join(sorted(MATCHERS))}")]
    name, argument = next(iter(matcher.items()))
    if name == "numeric":
        pairs = argument if isinstance(argument, list) else []
        valid = len(pairs) in (2, 4) and all(
            isinstance(pairs[i], str)
            and pairs[i] in _NUMERIC
            and isinstance(pairs[i + 1], int | float)
            and not isinstance(pairs[i + 1], bool)
            for i in range(0, len(pairs), 2)
        )
        return [] if valid else [(pointer, 'numeric takes ["<op>", number] or two such pairs')]
    if name == "exists" and not isinstance(argument, bool):
        return [(pointer, "exists takes true or false")]
    if name in ("prefix", "suffix", "equals-ignore-case") and not isinstance(argument, str):
        return [(pointer, f"{name} takes a string")]
    if name == "anything-but" and isinstance(argument, dict):
        return [(pointer, "anything-but takes a value or a list of values")]
    return []


def _leaf_matches(allowed: list[Any], value: Any) -> bool:
    values = value if isinstance(value, list) else [value]
    return any(_one_matches(matcher, value, each) for matcher in allowed for each in values)


def _one_matches(matcher: Any, whole: Any, value: Any) -> bool:
    if not isinstance(matcher, dict):
        return value is not _MISSING and _same(value, matcher)
    ((name, argument),) = matcher.items()
    if name == "exists":
        return (whole is not _MISSING) is argument
    if value is _MISSING:
        return False
    if name == "prefix":
        return isinstance(value, str) and value.startswith(argument)
    if name == "suffix":
        return isinstance(value, str) and value.endswith(argument)
    if name == "equals-ignore-case":
        return isinstance(value, str) and value.casefold() == str(argument).casefold()
    if name == "anything-but":
        excluded = argument if isinstance(argument, list) else [argument]
        return not any(_same(value, each) for each in excluded)
    if name == "numeric":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        return all(_NUMERIC[argument[i]](value, argument[i + 1]) for i in range(0, len(argument), 2))
    raise PatternError(f"unknown matcher {name}")


def _same(value: Any, expected: Any) -> bool:
    """Equal as JSON values are: true is not 1, as EventBridge sees it."""
    return isinstance(value, bool) == isinstance(expected, bool) and value == expected
