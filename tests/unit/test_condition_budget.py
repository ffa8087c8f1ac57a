"""Conditions run under a budget (issue 13): every limit of the one shared evaluator, each refusal in words;
ordinary conditions answer exactly what the library answers; template validation refuses, with the
condition's pointer, what could exceed the budget; at run time an over-budget condition fails its rule and
leaves its stage criterion unmet, saying why. Counts and outcomes only, no timings."""

import itertools
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
from caseline_common.conditions import (
    BUDGET,
    Budget,
    ConditionBudgetExceeded,
    ConditionError,
    check_budget,
    evaluate,
    unknown_operators,
)
from caseline_common.contracts import CaseSnapshot, CaseStatus, TemplateDefinition
from caseline_common.envelope import Actor, ActorKind, EventEnvelope
from example_paths import NAMES, load
from json_logic import jsonLogic
from service_modules import loaded_module

if TYPE_CHECKING:
    from services.automations.chalicelib.domain import rules
    from services.cases.chalicelib.domain import criteria as case_domain
    from services.cases.chalicelib.domain import templates
else:
    templates = loaded_module("cases", "chalicelib.domain.templates")
    case_domain = loaded_module("cases", "chalicelib.domain.criteria")
    rules = loaded_module("automations", "chalicelib.domain.rules")

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
OPERATIONS = f"{BUDGET.operations:,}"
TAGS = [f"tag-{index:03d}" for index in range(500)]
FACTS: dict[str, Any] = {"fields": {"tags": TAGS, "amount": 1200, "note": "n" * 10_000, "name": "Ada"}}


def nested_maps(size: int = 300) -> dict[str, Any]:
    """The condition of the incident: three nested maps over 300-item lists, which ran for 67 s."""
    items = list(range(size))
    innermost = {"map": [items, {"+": [{"var": ""}, 1]}]}
    return {"some": [{"map": [items, {"map": [items, innermost]}]}, {"==": [{"var": ""}, -1]}]}


def over(limit: str, condition: Any, facts: dict[str, Any] | None = None, budget: Budget = BUDGET) -> str:
    with pytest.raises(ConditionBudgetExceeded) as raised:
        evaluate(condition, FACTS if facts is None else facts, budget)
    message = str(raised.value)
    assert message.startswith("over budget: "), message
    assert limit in message, message
    return message


# each limit, with its message


def test_the_incident_stops_at_the_operation_limit_before_the_first_item() -> None:
    over(f"the condition needs more than {OPERATIONS} operations", nested_maps())


def test_operations_count_every_item_a_sub_condition_runs_on() -> None:
    on_each_tag = {"none": [{"var": "fields.tags"}, {"==": [{"var": ""}, "never"]}]}
    assert evaluate(on_each_tag, FACTS, Budget(operations=2_007)) is True  # 7 parts, then 4 for each of 500 tags
    over("needs more than 2,006 operations", on_each_tag, budget=Budget(operations=2_006))


def negations(levels: int) -> dict[str, Any]:
    """A condition `levels` deep: negations around a variable, whose name is the deepest value."""
    nested: dict[str, Any] = {"var": "fields.amount"}
    for _ in range(levels - 2):
        nested = {"!": [nested]}
    return nested


def test_nesting_deeper_than_the_limit_is_refused() -> None:
    assert evaluate(negations(BUDGET.depth), FACTS) is True  # 22 negations of a truthy amount
    over("the condition nests deeper than 24 levels", negations(BUDGET.depth + 1))


def test_the_size_of_the_expression_is_limited_and_long_texts_count_by_their_length() -> None:
    over("the condition has more than 1,000 parts", {"in": [{"var": "fields.name"}, list(range(1_000))]})
    over("the condition has more than 1,000 parts", {"==": [{"var": "fields.name"}, "x" * 16_000]})
    assert evaluate({"in": [{"var": "fields.name"}, list(range(990))]}, FACTS) is False
    assert evaluate({"==": [{"var": "fields.name"}, "x" * 15_000]}, FACTS) is False


def test_a_list_longer_than_an_operator_may_go_through_is_refused() -> None:
    facts = {"fields": {"tags": [*TAGS, "one too many"]}}
    over(
        "the condition goes through a list of 501 items; at most 500",
        {"some": [{"var": "fields.tags"}, {"==": [{"var": ""}, "x"]}]},
        facts,
    )
    over("the condition goes through a list of 501 items", {"missing": {"var": "fields.tags"}}, facts)


def test_a_value_larger_than_the_limit_is_refused_before_it_is_built() -> None:
    # 21 copies of a 10,000 character text: 210,000 characters
    over(
        "the condition builds a value of 210,000 characters; at most 200,000",
        {"in": ["x", {"cat": [{"var": "fields.note"}] * 21}]},
    )
    over("the condition builds a value of", {"merge": [{"var": "fields.tags"}] * 4})  # 2,000 list items


def test_all_the_data_the_operations_handle_together_is_limited() -> None:
    long_note = {"fields": {"note": "n" * 100_000}}

    def searched(times: int) -> dict[str, Any]:
        return {"none": [[{"var": "fields.note"}] * times, {"in": ["absent", {"var": ""}]}]}

    times = BUDGET.data // 100_000
    assert evaluate(searched(times - 1), long_note) is True
    over(
        f"the condition handles more than {BUDGET.data:,} characters in all (a list item counts as 100)",
        searched(times),
        long_note,
    )


def test_numbers_beyond_a_json_number_are_refused() -> None:
    squared = {"reduce": [list(range(20)), {"*": [{"var": "accumulator"}, {"var": "accumulator"}]}, 10]}
    over("the condition computes a number beyond ±1.8e308", {">": [squared, 0]})
    over("the condition writes a number beyond ±1.8e308", {">": [{"var": "fields.amount"}, 10**400]})


def test_the_clock_stops_what_the_counts_let_through(monkeypatch: pytest.MonkeyPatch) -> None:
    ticks = itertools.count()
    monkeypatch.setattr(time, "thread_time", lambda: next(ticks) * 0.05)  # each look at it: 50 ms later
    over(
        "the condition took more than 250 ms of processor time",
        {"none": [{"var": "fields.tags"}, {"==": [{"var": ""}, "never"]}]},
    )


def test_the_metering_operation_cannot_be_named_by_a_condition() -> None:
    with pytest.raises(ConditionError, match="unknown operator"):
        evaluate({"caseline:items": [[1, 2], -1_000_000]}, FACTS)


# ordinary conditions are unaffected


ORDINARY: list[Any] = [
    {">": [{"var": "fields.amount"}, 1000]},
    {"and": [{"<": [0, {"var": "fields.amount"}, 5000]}, {"!": {"missing": ["fields.name"]}}]},
    {"in": ["tag-007", {"var": "fields.tags"}]},
    {"some": [{"var": "fields.tags"}, {"==": [{"var": ""}, "tag-499"]}]},
    {"all": [{"var": "fields.tags"}, {"in": ["tag-", {"var": ""}]}]},
    {"all": [[], {"var": ""}]},
    {"none": [{"filter": [{"var": "fields.tags"}, {"==": [{"var": ""}, "x"]}]}, True]},
    {"==": [{"reduce": [[1, 2, 3], {"+": [{"var": "accumulator"}, {"var": "current"}]}, 0]}, 6]},
    {"reduce": [[1, 2], {"var": "current"}]},
    {"map": {"var": "fields.tags"}},
    {"merge": [[1], 2, [[3]]]},
    {"if": [{"var": "fields.nothing"}, "a", {"missing_some": [1, ["fields.name", "fields.x"]]}, "b", "c"]},
    {"cat": ["amount ", {"var": "fields.amount"}, " for ", {"substr": [{"var": "fields.name"}, 0, 2]}]},
    {"===": [{"%": [{"var": "fields.amount"}, 7]}, 3]},
    {"max": [1, {"var": "fields.amount"}, "12"]},
    {"a": 1, "b": 2},
]


@pytest.mark.parametrize("condition", ORDINARY)
def test_ordinary_conditions_answer_what_the_library_answers(condition: Any) -> None:
    assert evaluate(condition, FACTS) is bool(jsonLogic(condition, FACTS))


def test_errors_of_the_library_stay_condition_errors_but_not_budget_ones() -> None:
    with pytest.raises(ConditionError) as raised:
        evaluate({"/": [1, 0]}, FACTS)
    assert not isinstance(raised.value, ConditionBudgetExceeded)


@pytest.mark.parametrize("name", NAMES)
def test_every_condition_of_the_examples_is_well_within_the_budget(name: str) -> None:
    template = load(name)
    found = [criterion.condition for stage in template.stages for criterion in stage.entry_criteria]
    found += [criterion.condition for stage in template.stages for criterion in stage.exit_criteria]
    found += [rule.condition for rule in template.rules if rule.condition is not None]
    assert found
    assert max(check_budget(condition) for condition in found) < BUDGET.operations // 100


# the static check: what could exceed the budget on some case


def test_the_static_check_assumes_every_list_of_the_case_at_its_longest() -> None:
    on_each_tag = {"none": [{"var": "fields.tags"}, {"==": [{"var": ""}, "never"]}]}
    assert check_budget(on_each_tag) == 7 + 500 * 4
    nested = {"all": [{"var": "fields.tags"}, {"some": [{"var": "fields.tags"}, True]}]}
    with pytest.raises(ConditionBudgetExceeded, match=f"could take 252,007 operations; at most {OPERATIONS}"):
        check_budget(nested)  # inside `all`, `var` reads the item, which could itself be a 500-item list
    with pytest.raises(ConditionBudgetExceeded, match=r"could take [\d,]+ operations"):
        check_budget(nested_maps())


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"some": [list(range(600)), True]}, "some goes through a list of up to 600 items; at most 500"),
        (
            {"map": [{"merge": [{"var": "fields.a"}, {"var": "fields.b"}]}, 1]},
            "map goes through a list of up to 1,000 items",
        ),
        ({"missing": {"merge": [{"var": "fields.a"}, {"var": "fields.b"}]}}, "missing goes through a list"),
    ],
)
def test_the_static_check_refuses_lists_longer_than_an_operator_may_go_through(
    condition: dict[str, Any], expected: str
) -> None:
    with pytest.raises(ConditionBudgetExceeded, match=expected):
        check_budget(condition)


@pytest.mark.parametrize(
    "condition",
    [
        {"none": [{"var": "fields.tags"}, {"==": [{"+": [{"var": ""}, {"var": ""}, {"var": ""}]}, -1]}]},
        {"all": [[{"var": "fields.tags"}] * 3, {"missing": {"var": ""}}]},
        {"reduce": [{"var": "fields.tags"}, {"+": [{"var": "accumulator"}, 1]}, 0]},
        {"filter": [{"map": [{"var": "fields.tags"}, {"cat": [{"var": ""}, "!"]}]}, {"in": ["9", {"var": ""}]}]},
    ],
)
def test_what_the_static_check_accepts_runs_within_what_it_counted(condition: dict[str, Any]) -> None:
    worst = check_budget(condition)
    evaluate(condition, FACTS, Budget(operations=worst))  # every list at its longest: no refusal


# where conditions run: template validation, automation rules, stage criteria


def definition(*, exit_condition: Any = None, rule_condition: Any = None) -> TemplateDefinition:
    criteria = [] if exit_condition is None else [{"description": "Every tag is known", "condition": exit_condition}]
    rules = [
        {
            "key": "tagged",
            "name": "Tagged",
            "trigger": {"event_type": "case.opened"},
            "condition": rule_condition,
            "actions": [{"type": "add_comment", "body": "tagged"}],
        },
        {
            "key": "plain",
            "name": "Plain",
            "trigger": {"event_type": "case.opened"},
            "actions": [{"type": "add_comment", "body": "opened"}],
        },
    ]
    return TemplateDefinition.model_validate(
        {
            "key": "tagged",
            "name": "Tagged",
            "fields": [
                {"key": "tags", "label": "Tags", "type": "multi_enum", "options": TAGS},
                {"key": "note", "label": "Note", "type": "long_text"},
            ],
            "stages": [{"key": "open", "name": "Open", "exit_criteria": criteria}, {"key": "done", "name": "Done"}],
            "roles": [{"key": "team", "name": "Team", "groups": ["caseline-staff"]}],
            "rules": rules if rule_condition is not None else [],
        }
    )


def test_validation_refuses_an_over_budget_condition_with_its_pointer() -> None:
    issues = templates.template_issues(definition(exit_condition=nested_maps(), rule_condition=nested_maps()))
    assert [issue.pointer for issue in issues] == ["/stages/0/exit_criteria/0/condition", "/rules/0/condition"]
    for issue in issues:
        assert issue.detail.startswith("over budget: the condition could take "), issue.detail
        assert f"operations; at most {OPERATIONS}" in issue.detail


def test_validation_reports_the_metering_operation_as_unknown() -> None:
    issues = templates.template_issues(definition(exit_condition={"caseline:items": [[1], -1]}))
    assert [(issue.pointer, issue.detail) for issue in issues] == [
        ("/stages/0/exit_criteria/0/condition/caseline:items", 'unknown operator "caseline:items"')
    ]


def test_validation_accepts_an_iteration_over_a_field_of_the_case() -> None:
    tagged = {"some": [{"var": "fields.tags"}, {"==": [{"var": ""}, "tag-001"]}]}
    assert templates.template_issues(definition(exit_condition=tagged, rule_condition=tagged)) == []


def test_at_run_time_an_over_budget_condition_fails_its_rule_with_the_reason() -> None:
    too_long = {"in": ["x", {"cat": [{"var": "fields.note"}] * 21}]}  # accepted: it is the case's data that is long
    template = definition(rule_condition=too_long)
    case = snapshot({"tags": TAGS[:3], "note": "n" * 10_000})
    opened = EventEnvelope.new(
        tenant_id="acme",
        case_id=case.id,
        type="case.opened",
        actor=Actor(kind=ActorKind.USER, id="user-1"),
        correlation_id="corr-1",
    )

    tagged, plain = rules.decide(template, case, opened, max_depth=5)

    assert (tagged.rule, tagged.verdict, tagged.condition, tagged.actions) == ("tagged", "failed", None, [])
    assert tagged.error == (
        "over budget: the condition builds a value of 210,000 characters; at most 200,000 (a list item counts as 100)"
    )
    assert (plain.rule, plain.verdict) == ("plain", "fired")  # the template's other rules still run


def test_a_stage_criterion_over_budget_is_unmet_saying_why() -> None:
    unmet = case_domain.unmet_exit_criteria(definition(exit_condition=nested_maps()), snapshot({"tags": TAGS[:3]}))
    assert [(item.stage, item.description) for item in unmet] == [
        (
            "open",
            f"Every tag is known (cannot be checked: over budget: the condition needs more than {OPERATIONS} "
            "operations)",
        )
    ]


def snapshot(fields: dict[str, Any]) -> CaseSnapshot:
    return CaseSnapshot(
        id="case-1",
        tenant_id="acme",
        template_key="tagged",
        template_version=1,
        title="Tagged",
        owner="user-1",
        stage="open",
        stage_entered_at=NOW,
        status=CaseStatus.OPEN,
        fields=fields,
        created_at=NOW,
        created_by="user-1",
        updated_at=NOW,
        version=1,
    )


def test_log_is_not_an_operator_conditions_may_use() -> None:
    """It would print case data to the function's output on every evaluation."""
    condition = {"log": {"var": "fields.diagnosis"}}

    assert [found.operator for found in unknown_operators(condition)] == ["log"]
    with pytest.raises(ConditionError, match='unknown operator "log"'):
        evaluate(condition, {"fields": {"diagnosis": "private"}})
