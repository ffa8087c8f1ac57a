"""The cost model: requests counted per operation, times list prices; figures quoted in docs/operations.md."""

import pytest
from caseline_common.resources import CONSUMERS

from infra.cost import (
    BENCH_CASE_EVENTS,
    MEASURED_EVENT,
    READ_PLANE_BUDGET_USD,
    Workload,
    bench_case_usd,
    dynamodb_units_per_case,
    events_received,
    monthly_cost,
    total,
)
from infra.tenants import Tier


def test_an_event_costs_the_units_the_bench_counts() -> None:
    # The open and one command: two events, each the DynamoDB units `make bench` counted per event.
    workload = Workload(commands_per_case=1, comments_per_case=0, documents_per_case=0, reads_per_case=0,
                        portal_requests_per_case=0)  # fmt: skip
    writes, reads = dynamodb_units_per_case(workload)
    assert writes == 2 * MEASURED_EVENT.write_units
    assert reads == 2 * MEASURED_EVENT.read_units


def test_each_consumer_is_priced_for_the_bench_events_its_rule_selects() -> None:
    """The task inbox gets the open and the stage moves (no field change of the bench touches the title, no
    comment concerns a task); the search indexer every event; the cases service's consumer only commands."""
    received = {spec.function: events_received(spec) for spec in CONSUMERS}
    assert BENCH_CASE_EVENTS == 50
    assert received == {
        "timeline_consumer": 50,
        "automations_consumer": 50,
        "portal_consumer": 50,
        "tasks_consumer": 11,
        "search_indexer": 50,
        "case_commands": 0,
    }
    # Three requests per delivery (EventBridge's send, Lambda's receive and delete).
    assert bench_case_usd()["sqs"] == pytest.approx(sum(received.values()) * 3 * 0.40 / 1e6)


def test_the_bench_case_is_within_the_goals_as_modelled() -> None:
    """Issue 14's goal, a 50-event case at most a tenth of a cent with every billable call, holds for the product
    it was set on; the read plane (issue 20's task inbox and search index) is held to a budget of its own on top,
    so that neither part grows unnoticed. All in, the case is about $0.0011 (docs/operations.md)."""
    without_read_plane = sum(bench_case_usd(read_plane=False).values())
    assert without_read_plane <= 0.001
    assert sum(bench_case_usd().values()) - without_read_plane <= READ_PLANE_BUDGET_USD


def test_costs_grow_with_cases_above_a_fixed_floor() -> None:
    small, large = total(monthly_cost(1_000)), total(monthly_cost(100_000))
    floor = total(monthly_cost(0))
    assert 0 < floor < small < large
    assert large - floor == pytest.approx(100 * (small - floor), rel=0.35)  # nearly linear above the floor


def test_each_tier_pays_for_its_search_engine() -> None:
    standard = {item.what: item.usd for item in monthly_cost(1_000, tier=Tier.STANDARD)}
    enterprise = {item.what: item.usd for item in monthly_cost(1_000, tier=Tier.ENTERPRISE)}
    assert standard["2 x m7g.medium.search"] == pytest.approx(2 * 730 * 0.068)
    assert standard["2 x 20 GB gp3"] == pytest.approx(2 * 20 * 0.122)
    assert enterprise["2 OCUs"] == pytest.approx(2 * 730 * 0.24)
    assert not {what for what in standard if "OCU" in what}
    assert not {what for what in enterprise if "gp3" in what}
    # Beyond what the volumes hold (each shard twice, plus 45 %), the domain's volumes grow with the index.
    volumes = next(item for item in monthly_cost(1_000_000) if item.what.endswith("GB gp3"))
    assert volumes.what == "2 x 133 GB gp3"  # 92 GB of index


def test_the_quoted_figures() -> None:
    """docs/operations.md quotes these; change both together."""
    assert round(total(monthly_cost(1_000, tier=Tier.STANDARD))) == 170
    assert round(total(monthly_cost(100_000, tier=Tier.STANDARD))) == 393
    assert round(total(monthly_cost(1_000, tier=Tier.ENTERPRISE))) == 416
    assert round(total(monthly_cost(100_000, tier=Tier.ENTERPRISE))) == 639
    writes = next(item for item in monthly_cost(100_000) if item.what.endswith("write units"))
    assert round(writes.usd, 2) == 18.38
