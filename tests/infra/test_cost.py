"""The cost model: requests counted per operation, times list prices; figures quoted in docs/operations.md."""

import pytest

from infra.cost import MEASURED_EVENT, Workload, bench_case_usd, dynamodb_units_per_case, monthly_cost, total


def test_an_event_costs_the_units_the_bench_counts() -> None:
    # The open and one command: two events, each the DynamoDB units `make bench` counted per event.
    workload = Workload(commands_per_case=1, comments_per_case=0, documents_per_case=0, reads_per_case=0,
                        portal_requests_per_case=0)  # fmt: skip
    writes, reads = dynamodb_units_per_case(workload)
    assert writes == 2 * MEASURED_EVENT.write_units
    assert reads == 2 * MEASURED_EVENT.read_units


def test_the_bench_case_is_within_the_goal_as_modelled() -> None:
    """Issue 14's goal: a 50-event case at most a tenth of a cent, every billable call included."""
    assert sum(bench_case_usd().values()) <= 0.001


def test_costs_grow_with_cases_above_a_fixed_floor() -> None:
    small, large = total(monthly_cost(1_000)), total(monthly_cost(100_000))
    floor = total(monthly_cost(0))
    assert 0 < floor < small < large
    assert large - floor == pytest.approx(100 * (small - floor), rel=0.35)  # nearly linear above the floor


def test_the_quoted_figures() -> None:
    """docs/operations.md quotes these; change both together."""
    assert round(total(monthly_cost(1_000))) == 54
    assert round(total(monthly_cost(100_000))) == 257
    writes = next(item for item in monthly_cost(100_000) if item.what.endswith("write units"))
    assert round(writes.usd, 2) == 13.90
