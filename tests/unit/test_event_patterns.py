"""EventBridge-style event patterns (caseline_common.patterns): matching a case event, and naming what is wrong
with a pattern before a template is published."""

from typing import Any

import pytest
from caseline_common.patterns import PatternError, check, matches
from hypothesis import given
from hypothesis import strategies as st

EVENT: dict[str, Any] = {
    "type": "case.stage_changed",
    "causation_depth": 0,
    "actor": {"kind": "user", "id": "user-1", "display_name": None},
    "data": {
        "from": "triage",
        "to": "assessment",
        "direction": "forward",
        "amount": 12500,
        "ratio": 0.25,
        "urgent": True,
        "labels": ["vehicle", "theft"],
        "scores": [3, 17],
        "note": None,
        "changes": {"claim_amount": {"before": {"amount": "9000.00"}, "after": {"amount": "12500.00"}}},
    },
}


def data(**leaves: list[Any]) -> dict[str, Any]:
    return {"data": leaves}


# Exact values


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ({"type": ["case.stage_changed"]}, True),
        ({"type": ["case.opened", "case.stage_changed"]}, True),  # any value of the list
        ({"type": ["case.opened", "case.closed"]}, False),
        ({"type": ["CASE.STAGE_CHANGED"]}, False),  # exact matching is case-sensitive
        ({"causation_depth": [0]}, True),
        ({"causation_depth": [1]}, False),
        (data(amount=[12500]), True),
        (data(amount=["12500"]), False),  # a string is not the number
        (data(ratio=[0.25]), True),
        (data(urgent=[True]), True),
        (data(urgent=[False]), False),
        (data(note=[None]), True),  # null matches a null value ...
        (data(missing=[None]), False),  # ... not a missing one
        (data(to=["triage"]), False),
    ],
)
def test_exact_values(pattern: dict[str, Any], expected: bool) -> None:
    assert matches(pattern, EVENT) is expected


def test_every_key_of_the_pattern_must_match() -> None:
    assert matches({"type": ["case.stage_changed"], "data": {"to": ["assessment"], "from": ["triage"]}}, EVENT)
    assert not matches({"type": ["case.stage_changed"], "data": {"to": ["assessment"], "from": ["submitted"]}}, EVENT)


def test_an_empty_pattern_matches_every_event() -> None:
    assert matches({}, EVENT)
    assert matches({}, {})


def test_fields_the_pattern_does_not_name_are_ignored() -> None:
    assert matches({"data": {"direction": ["forward"]}}, {**EVENT, "extra": {"anything": 1}})


# Arrays in the event


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (data(labels=["theft"]), True),  # one element is enough
        (data(labels=["fire", "vehicle"]), True),
        (data(labels=["fire", "flood"]), False),
        (data(labels=[{"prefix": "veh"}]), True),
        (data(scores=[{"numeric": [">", 10]}]), True),
        (data(scores=[{"numeric": [">", 20]}]), False),
        (data(scores=[{"anything-but": [3]}]), True),  # 17 is not 3
        (data(labels=[{"exists": True}]), True),
    ],
)
def test_an_array_in_the_event_matches_when_any_element_does(pattern: dict[str, Any], expected: bool) -> None:
    assert matches(pattern, EVENT) is expected


def test_an_empty_array_matches_no_value() -> None:
    assert not matches({"tags": ["a"]}, {"tags": []})
    assert not matches({"tags": [{"anything-but": ["a"]}]}, {"tags": []})


# prefix, suffix, equals-ignore-case


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ({"type": [{"prefix": "case."}]}, True),
        ({"type": [{"prefix": "sla."}]}, False),
        ({"type": [{"prefix": ""}]}, True),
        ({"type": [{"suffix": ".stage_changed"}]}, True),
        ({"type": [{"suffix": ".opened"}]}, False),
        ({"type": [{"equals-ignore-case": "CASE.Stage_Changed"}]}, True),
        ({"type": [{"equals-ignore-case": "case.opened"}]}, False),
        (data(amount=[{"prefix": "125"}]), False),  # string matchers only match strings
        (data(amount=[{"suffix": "00"}]), False),
        (data(note=[{"prefix": ""}]), False),
        (data(missing=[{"prefix": ""}]), False),
        ({"type": [{"prefix": "sla."}, {"suffix": "_changed"}]}, True),  # matchers of one list are alternatives
    ],
)
def test_string_matchers(pattern: dict[str, Any], expected: bool) -> None:
    assert matches(pattern, EVENT) is expected


# anything-but


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (data(to=[{"anything-but": "triage"}]), True),
        (data(to=[{"anything-but": "assessment"}]), False),
        (data(to=[{"anything-but": ["rejected", "closed"]}]), True),
        (data(to=[{"anything-but": ["rejected", "assessment"]}]), False),
        (data(amount=[{"anything-but": [0, 1]}]), True),
        (data(amount=[{"anything-but": 12500}]), False),
        (data(amount=[{"anything-but": ["12500"]}]), True),  # the string is another value than the number
        (data(missing=[{"anything-but": "x"}]), False),  # a missing field is not "anything"
        (data(note=[{"anything-but": "x"}]), True),  # null is a value
    ],
)
def test_anything_but(pattern: dict[str, Any], expected: bool) -> None:
    assert matches(pattern, EVENT) is expected


# numeric


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (["=", 12500], True),
        (["=", 12500.0], True),
        (["=", 12499], False),
        ([">", 10000], True),
        ([">", 12500], False),
        ([">=", 12500], True),
        (["<", 12500], False),
        (["<=", 12500], True),
        ([">", 10000, "<=", 20000], True),  # a range
        ([">", 10000, "<", 12500], False),
        ([">=", 12500, "<=", 12500], True),
        ([">", 0, "<", 1], False),
        (["<", -1], False),
    ],
)
def test_numeric_comparisons_and_ranges(condition: list[Any], expected: bool) -> None:
    assert matches(data(amount=[{"numeric": condition}]), EVENT) is expected


@pytest.mark.parametrize("value", ["12500", True, False, None, [], {"amount": 12500}])
def test_numeric_only_matches_numbers(value: Any) -> None:
    assert not matches({"v": [{"numeric": [">=", 0]}]}, {"v": value})


def test_numeric_matches_floats_and_negative_numbers() -> None:
    assert matches(data(ratio=[{"numeric": [">", 0, "<", 1]}]), EVENT)
    assert matches({"v": [{"numeric": ["<", 0]}]}, {"v": -0.5})


def test_numeric_does_not_match_a_missing_field() -> None:
    assert not matches(data(missing=[{"numeric": [">", 0]}]), EVENT)


# exists


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (data(to=[{"exists": True}]), True),
        (data(to=[{"exists": False}]), False),
        (data(missing=[{"exists": True}]), False),
        (data(missing=[{"exists": False}]), True),
        (data(note=[{"exists": True}]), True),  # a null value exists
        (data(note=[{"exists": False}]), False),
        ({"data": {"changes": {"settlement_amount": [{"exists": False}]}}}, True),
        ({"data": {"changes": {"claim_amount": [{"exists": True}]}}}, True),  # an object exists too
        ({"nothing": {"here": [{"exists": False}]}}, True),  # the whole path is missing
        ({"nothing": {"here": [{"exists": True}]}}, False),
    ],
)
def test_exists(pattern: dict[str, Any], expected: bool) -> None:
    assert matches(pattern, EVENT) is expected


# Nested objects


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ({"actor": {"kind": ["user"]}}, True),
        ({"actor": {"kind": ["automation", "system"]}}, False),
        ({"data": {"changes": {"claim_amount": {"after": {"amount": ["12500.00"]}}}}}, True),
        ({"data": {"changes": {"claim_amount": {"before": {"amount": [{"prefix": "9"}]}}}}}, True),
        ({"data": {"changes": {"claim_amount": {"before": {"amount": ["12500.00"]}}}}}, False),
        ({"data": {"to": {"nested": ["x"]}}}, False),  # the event has a string where the pattern has an object
        ({"data": {"labels": {"nested": ["x"]}}}, False),
        ({"data": {"changes": {}}}, True),
    ],
)
def test_nested_objects(pattern: dict[str, Any], expected: bool) -> None:
    assert matches(pattern, EVENT) is expected


def test_a_list_in_the_pattern_does_not_match_an_object_in_the_event() -> None:
    assert not matches({"actor": ["user"]}, EVENT)


# Patterns it cannot evaluate


@pytest.mark.parametrize("leaf", ["case.opened", 3, None, True])
def test_a_leaf_that_is_neither_an_object_nor_a_list_is_an_error(leaf: Any) -> None:
    with pytest.raises(PatternError, match='"type"'):
        matches({"type": leaf}, EVENT)


def test_an_unknown_matcher_is_an_error() -> None:
    with pytest.raises(PatternError, match="wildcard"):
        matches({"type": [{"wildcard": "case.*"}]}, EVENT)


def test_the_pattern_error_is_a_value_error() -> None:
    assert issubclass(PatternError, ValueError)


# check(): every mistake, with its JSON Pointer


def test_a_valid_pattern_has_no_problems() -> None:
    pattern = {
        "type": ["case.stage_changed"],
        "actor": {"kind": [{"anything-but": ["automation"]}]},
        "data": {
            "to": ["assessment", {"prefix": "settle"}, {"suffix": "ment"}, {"equals-ignore-case": "PAYMENT"}],
            "amount": [{"numeric": [">", 10000, "<=", 20000.5]}, {"numeric": ["=", 0]}],
            "note": [{"exists": False}, None, 3, True],
            "changes": {"claim_amount": {"after": {"amount": [{"exists": True}]}}},
        },
    }

    assert check(pattern) == []
    assert matches(pattern, EVENT)


def test_an_empty_pattern_is_valid() -> None:
    assert check({}) == []


@pytest.mark.parametrize(
    ("pattern", "pointer"),
    [
        ({"type": "case.opened"}, "/type"),
        ({"type": []}, "/type"),
        ({"type": 3}, "/type"),
        ({"type": None}, "/type"),
        ({"data": {"to": "payment"}}, "/data/to"),
        ({"data": {"changes": {"claim_amount": {"after": []}}}}, "/data/changes/claim_amount/after"),
    ],
)
def test_a_leaf_must_be_an_object_or_a_non_empty_list(pattern: dict[str, Any], pointer: str) -> None:
    assert check(pattern) == [(pointer, "must be an object or a non-empty list of values")]


@pytest.mark.parametrize(
    "matcher",
    [
        {"wildcard": "case.*"},
        {},
        {"prefix": "a", "suffix": "b"},  # one matcher per object
        {"Prefix": "a"},
    ],
)
def test_an_unknown_matcher_is_named_with_its_index(matcher: dict[str, Any]) -> None:
    problems = check({"data": {"to": ["payment", matcher]}})

    assert len(problems) == 1
    pointer, problem = problems[0]
    assert pointer == "/data/to/1"
    assert problem.startswith("a matcher is one of ")
    for name in ("anything-but", "equals-ignore-case", "exists", "numeric", "prefix", "suffix"):
        assert name in problem


@pytest.mark.parametrize(
    "argument",
    [
        ">",
        [">"],
        [">", "10"],
        [">", None],
        ["~", 10],
        ["=>", 10],
        [">", 1, "<"],
        [">", 1, "<", 2, ">", 0],
        [10, ">"],
        [">", 1, "<", "2"],
        {"gt": 1},
        [],
    ],
)
def test_a_malformed_numeric_matcher_is_named(argument: Any) -> None:
    assert check({"data": {"amount": [{"numeric": argument}]}}) == [
        ("/data/amount/0", 'numeric takes ["<op>", number] or two such pairs')
    ]


@pytest.mark.parametrize("argument", ["true", 1, 0, None, ["true"]])
def test_exists_takes_a_boolean(argument: Any) -> None:
    assert check({"data": {"to": [{"exists": argument}]}}) == [("/data/to/0", "exists takes true or false")]


@pytest.mark.parametrize("name", ["prefix", "suffix", "equals-ignore-case"])
@pytest.mark.parametrize("argument", [1, None, ["a"], {"a": 1}, True])
def test_string_matchers_take_a_string(name: str, argument: Any) -> None:
    assert check({"type": [{name: argument}]}) == [("/type/0", f"{name} takes a string")]


def test_every_problem_is_reported_in_pattern_order() -> None:
    pattern = {
        "type": "case.opened",
        "data": {
            "to": [{"prefix": 1}, "ok", {"exists": "yes"}],
            "amount": [{"numeric": [">"]}],
            "changes": {"x": []},
        },
        "actor": {"kind": [{"nope": True}]},
    }

    assert [pointer for pointer, _ in check(pattern)] == [
        "/type",
        "/data/to/0",
        "/data/to/2",
        "/data/amount/0",
        "/data/changes/x",
        "/actor/kind/0",
    ]


def test_check_prefixes_the_pointer_it_is_given() -> None:
    assert check({"type": []}, "/rules/0/trigger/pattern") == [
        ("/rules/0/trigger/pattern/type", "must be an object or a non-empty list of values")
    ]


# Divergences from EventBridge


@pytest.mark.parametrize("operator", [[">"], {"op": ">"}])
def test_check_reports_an_unhashable_numeric_operator(operator: Any) -> None:
    assert check({"data": {"amount": [{"numeric": [operator, 5]}]}}) == [
        ("/data/amount/0", 'numeric takes ["<op>", number] or two such pairs')
    ]


def test_check_reports_a_boolean_numeric_bound() -> None:
    assert check({"data": {"amount": [{"numeric": [">", True]}]}}) != []


@pytest.mark.parametrize(
    ("pattern", "event"),
    [
        ({"v": [1]}, {"v": True}),
        ({"v": [True]}, {"v": 1}),
        ({"v": [0]}, {"v": False}),
        ({"v": [False]}, {"v": 0.0}),
    ],
)
def test_booleans_and_numbers_are_different_values(pattern: dict[str, Any], event: dict[str, Any]) -> None:
    assert not matches(pattern, event)


def test_anything_but_a_number_keeps_a_boolean() -> None:
    assert matches({"v": [{"anything-but": [0]}]}, {"v": False})


def test_check_escapes_pointer_tokens() -> None:
    assert check({"a/b": {"c~d": []}}) == [("/a~1b/c~0d", "must be an object or a non-empty list of values")]


def test_anything_but_a_prefix_is_evaluated_or_refused() -> None:
    pattern = {"type": [{"anything-but": {"prefix": "case."}}]}

    assert check(pattern) != [] or not matches(pattern, EVENT)


# Property: a pattern built from an event's own values matches it

_KEYS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_-.", min_size=1, max_size=8)
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**12), max_value=10**12)
    | st.floats(min_value=-1e9, max_value=1e9, allow_nan=False)
    | st.text(max_size=12)
)
_VALUES = st.recursive(
    _SCALARS | st.lists(_SCALARS, max_size=4),
    lambda children: st.dictionaries(_KEYS, children, max_size=4),
    max_leaves=12,
)
_EVENTS = st.dictionaries(_KEYS, _VALUES, max_size=6)


@st.composite
def event_and_own_pattern(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    event = draw(_EVENTS)

    def leaf(value: Any) -> list[Any] | None:
        if isinstance(value, list):
            if not value:
                return None
            value = draw(st.sampled_from(value))
        options: list[Any] = [value, {"exists": True}]
        if isinstance(value, str):
            cut = draw(st.integers(min_value=0, max_value=len(value)))
            options += [{"prefix": value[:cut]}, {"suffix": value[cut:]}, {"equals-ignore-case": value}]
            options.append({"anything-but": [value + "~other"]})
        if isinstance(value, int | float) and not isinstance(value, bool):
            options += [{"numeric": ["=", value]}, {"numeric": [">=", value, "<=", value]}]
            options += [{"numeric": [">", value - 1]}, {"anything-but": [str(value)]}]
        chosen = draw(st.lists(st.sampled_from(options), min_size=1, max_size=3))
        decoys = draw(st.lists(st.sampled_from(["zz-decoy", 987654321.5]), max_size=1))
        return decoys + chosen

    def build(node: dict[str, Any]) -> dict[str, Any]:
        pattern: dict[str, Any] = {}
        for key, value in node.items():
            if not draw(st.booleans()):
                continue  # patterns name only some of the fields
            if isinstance(value, dict):
                pattern[key] = build(value)
            elif (allowed := leaf(value)) is not None:
                pattern[key] = allowed
        if draw(st.booleans()):
            pattern["absent-key"] = [{"exists": False}]
        return pattern

    return event, build(event)


@given(event_and_own_pattern())
def test_a_pattern_built_from_an_events_own_values_matches_it(case: tuple[dict[str, Any], dict[str, Any]]) -> None:
    event, pattern = case

    assert check(pattern) == []
    assert matches(pattern, event)


@given(_EVENTS, _KEYS)
def test_a_value_the_event_lacks_never_matches(event: dict[str, Any], key: str) -> None:
    missing = key + "-missing"

    assert not matches({missing: [None]}, event)
    assert not matches({missing: [{"exists": True}]}, event)
    assert matches({missing: [{"exists": False}]}, event)
