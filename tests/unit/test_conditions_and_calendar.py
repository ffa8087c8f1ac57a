"""JSONLogic through the maintained library, the variables a condition reads, and business-hours deadlines."""

import gc
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from caseline_common.calendar import deadline
from caseline_common.conditions import ConditionError, evaluate, references, unknown_operators
from caseline_common.contracts import BusinessCalendar, Duration, DurationUnit

# Thursday 26 November 2026, 15:00 in Amsterdam (UTC+1)
THURSDAY_3PM = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)
AMSTERDAM = BusinessCalendar(timezone="Europe/Amsterdam", holidays=["2026-12-25", "2026-12-28"])


def test_conditions_evaluate_against_case_facts() -> None:
    facts = {"fields": {"amount": {"amount": "12500.00", "currency": "EUR"}, "tags": ["urgent"]}}
    assert evaluate({">": [{"var": "fields.amount.amount"}, 10000]}, facts) is True
    assert evaluate({"in": ["urgent", {"var": "fields.tags"}]}, facts) is True
    assert evaluate({"!": {"missing": ["fields.amount"]}}, facts) is True
    assert evaluate({"and": [{"var": "fields.nothing"}, True]}, facts) is False


def test_a_condition_that_cannot_be_evaluated_raises_one_error_type() -> None:
    with pytest.raises(ConditionError):
        evaluate({"/": [1, 0]}, {})
    with pytest.raises(ConditionError):
        evaluate({"nonsense": [1]}, {})


def test_references_name_every_variable_with_its_pointer() -> None:
    condition = {
        "and": [
            {">": [{"var": ["fields.amount", 0]}, 10]},
            {"missing_some": [1, ["fields.a", "fields.b"]]},
            {"filter": [{"var": "fields.items"}, {">": [{"var": "price"}, 3]}]},
        ]
    }
    assert [(ref.pointer, ref.name) for ref in references(condition)] == [
        ("/and/0/>/0/var", "fields.amount"),
        ("/and/1/missing_some/0", "fields.a"),
        ("/and/1/missing_some/1", "fields.b"),
        ("/and/2/filter/0/var", "fields.items"),
    ]


def test_unknown_operators_are_found_with_pointers_escaped() -> None:
    [unknown] = unknown_operators({"or": [{"a/b": [1]}, {"==": [1, 1]}]})
    assert (unknown.pointer, unknown.operator) == ("/or/0/a~1b", "a/b")


def test_plain_durations_ignore_the_calendar() -> None:
    assert deadline(
        THURSDAY_3PM, Duration(amount=90, unit=DurationUnit.MINUTES), AMSTERDAM
    ) == THURSDAY_3PM + timedelta(minutes=90)
    assert deadline(THURSDAY_3PM, Duration(amount=3, unit=DurationUnit.DAYS), AMSTERDAM) == THURSDAY_3PM + timedelta(
        days=3
    )


def test_business_hours_skip_the_night_and_the_weekend() -> None:
    # 2 hours left on Thursday (until 17:00), 8 on Friday: 12 business hours end Monday 11:00 in Amsterdam
    assert deadline(THURSDAY_3PM, Duration(amount=12, unit=DurationUnit.BUSINESS_HOURS), AMSTERDAM) == datetime(
        2026, 11, 30, 10, 0, tzinfo=UTC
    )


def test_a_start_outside_working_hours_counts_from_the_next_opening() -> None:
    saturday = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    assert deadline(saturday, Duration(amount=1, unit=DurationUnit.BUSINESS_HOURS), AMSTERDAM) == datetime(
        2026, 11, 30, 9, 0, tzinfo=UTC
    )


def test_business_days_skip_holidays() -> None:
    # Thursday 24 December 2026, 09:00 local: Friday 25th and Monday 28th are holidays
    christmas_eve = datetime(2026, 12, 24, 8, 0, tzinfo=UTC)
    assert deadline(christmas_eve, Duration(amount=2, unit=DurationUnit.BUSINESS_DAYS), AMSTERDAM) == datetime(
        2026, 12, 29, 16, 0, tzinfo=UTC
    )


def test_daylight_saving_time_is_local_time() -> None:
    # Friday 27 March 2026 16:00 CET; the clocks go forward on Sunday 29th: Monday opens at 09:00 CEST (07:00 UTC)
    friday = datetime(2026, 3, 27, 15, 0, tzinfo=UTC)
    assert deadline(friday, Duration(amount=2, unit=DurationUnit.BUSINESS_HOURS), AMSTERDAM) == datetime(
        2026, 3, 30, 8, 0, tzinfo=UTC
    )


def test_a_team_may_work_on_sundays_only() -> None:
    sundays = BusinessCalendar(workdays=[7])
    assert deadline(THURSDAY_3PM, Duration(amount=1, unit=DurationUnit.BUSINESS_HOURS), sundays) == datetime(
        2026, 11, 29, 10, 0, tzinfo=UTC
    )


class Watched(dict[str, Any]):
    """Facts that note whether the garbage collector could run while the condition reads them."""

    seen: list[bool]

    def __getitem__(self, key: str) -> Any:
        self.seen.append(gc.isenabled())
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self.seen.append(gc.isenabled())
        return super().get(key, default)


def test_a_garbage_collection_is_not_charged_to_a_condition() -> None:
    """A collection of the whole process, triggered by chance, would count against the condition's processor
    time; the collector waits until the condition is done, and runs again after it, whatever the outcome."""
    facts = Watched(amount=150)
    facts.seen = []
    assert gc.isenabled()

    assert evaluate({">": [{"var": "amount"}, 100]}, facts) is True
    with pytest.raises(ConditionError):
        evaluate({"/": [1, 0]}, facts)

    assert facts.seen
    assert not any(facts.seen)
    assert gc.isenabled()
