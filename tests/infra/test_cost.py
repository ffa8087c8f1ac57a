"""The cost model: requests counted per operation, times list prices; figures quoted in docs/operations.md."""

import pytest

from infra.cost import Workload, dynamodb_units_per_case, monthly_cost, total


def test_a_change_costs_what_the_bench_counts() -> None:
    # 1 GetItem + 1 TransactWriteItems of the case (4 KB), a membership item and the outbox event (2 KB),
    # transactional (x2), plus the five case indexes (ALL projection, moving sort key: delete + put).
    workload = Workload(commands_per_case=1, comments_per_case=0, documents_per_case=0, reads_per_case=0,
                        portal_requests_per_case=0)  # fmt: skip
    writes, reads = dynamodb_units_per_case(workload)
    change = 2 * (4 + 1 + 2) + 5 * 2 * 4 + 2 * 1
    timeline = 2 * (2 + 3) + 2
    assert writes == 2 * change + 2 * timeline  # open + one command, each with its timeline append
    assert reads == 2 * 1 + 2 * 1


def test_costs_grow_with_cases_above_a_fixed_floor() -> None:
    small, large = total(monthly_cost(1_000)), total(monthly_cost(100_000))
    floor = total(monthly_cost(0))
    assert 0 < floor < small < large
    assert large - floor == pytest.approx(100 * (small - floor), rel=0.35)  # nearly linear above the floor


def test_the_quoted_figures() -> None:
    """docs/operations.md quotes these; change both together."""
    assert round(total(monthly_cost(1_000))) == 55
    assert round(total(monthly_cost(100_000))) == 354
    largest = max(monthly_cost(100_000), key=lambda item: item.usd)
    assert (largest.service, largest.what.endswith("write units")) == ("DynamoDB", True)
