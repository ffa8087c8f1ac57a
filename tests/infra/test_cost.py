"""The cost model: requests counted per operation, times list prices; figures quoted in docs/operations.md."""

import pytest
from caseline_common.resources import CONSUMERS

from infra.cost import (
    BATCHING_CONSUMERS,
    BENCH_CASE_EVENTS,
    MEASURED_EVENT,
    READ_PLANE_BUDGET_USD,
    Workload,
    batches_per_month,
    bench_case_usd,
    dynamodb_units_per_case,
    events_received,
    lake_cost,
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
    comment concerns a task); notifications the comments (a staff member's field changes notify nobody); the
    search indexer and the lake's writer every event; the cases service's consumer only commands. The writer's
    batches hold many cases' events: it is priced with the lake, per month."""
    received = {spec.function: events_received(spec) for spec in CONSUMERS}
    assert BENCH_CASE_EVENTS == 50
    assert received == {
        "timeline_consumer": 50,
        "automations_consumer": 50,
        "portal_consumer": 50,
        "tasks_consumer": 11,
        "notify_consumer": 9,
        "search_indexer": 50,
        "case_commands": 0,
        "lake_writer": 50,
    }
    assert frozenset({"lake_writer"}) == BATCHING_CONSUMERS
    # Three requests per delivery (EventBridge's send, Lambda's receive and delete).
    per_event = sum(count for function, count in received.items() if function not in BATCHING_CONSUMERS)
    assert bench_case_usd()["sqs"] == pytest.approx(per_event * 3 * 0.40 / 1e6)


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
    assert round(total(monthly_cost(1_000, tier=Tier.STANDARD))) == 181
    assert round(total(monthly_cost(100_000, tier=Tier.STANDARD))) == 421
    assert round(total(monthly_cost(1_000, tier=Tier.ENTERPRISE))) == 427
    assert round(total(monthly_cost(100_000, tier=Tier.ENTERPRISE))) == 667
    assert round(total(lake_cost(100_000))) == 16
    writes = next(item for item in monthly_cost(100_000) if item.what.endswith("write units"))
    assert round(writes.usd, 2) == 18.38


WRITER = next(spec for spec in CONSUMERS if spec.function == "lake_writer")


def test_the_lake_writer_makes_a_batch_per_window_and_instance_until_batches_fill() -> None:
    # 730 h of 5-minute windows, two instances: 17,520 batches a month at most while they are not full.
    assert batches_per_month(WRITER, 100) == 100  # a batch per event while events are rare
    assert batches_per_month(WRITER, 1_800_000) == 17_520  # 100,000 cases: about 100 events a batch
    assert batches_per_month(WRITER, 180_000_000) == 180_000  # then full batches of 1,000


def test_the_lake_costs_its_storage_its_writes_and_its_reports() -> None:
    """100,000 cases a month, 18 events each: 1.8 M events. By hand, from the workload's assumptions."""
    lake = {item.what: item.usd for item in lake_cost(100_000)}
    # A year of events at 60 bytes: 1.296 GB.
    assert lake["S3: 1.30 GB of Parquet"] == pytest.approx(1.8e6 * 12 * 60 / 1e9 * 0.023)
    # 2,000 staff, 200 of them read insight: 200 x 20 views x 8 reports, half from the cache = 16,000 queries,
    # each reading a quarter of 3 months of events (81 MB): 1.296 TB at $5.
    assert lake["Athena: 16,000 queries, 1.296 TB billed"] == pytest.approx(1.296 * 5)
    # One PUT per batch; Lambda bills each batch 300 ms at the writer's 384 MB.
    assert lake["S3: the writer's PUTs"] == pytest.approx(17_520 / 1000 * 0.005)
    assert lake["Lambda: 17,520 writer batches"] == pytest.approx(17_520 * (0.2 / 1e6 + 0.3 * 0.375 * 0.0000133334))
    # EventBridge sends each event to the queue; Lambda receives and deletes them ten at a time.
    assert lake["SQS: the writer's queue"] == pytest.approx(1.8e6 * 1.2 * 0.40 / 1e6)
    # A file a day of 3 months is read once a query (90), and today's batches since the last hourly compaction:
    # 17,520 batches / 730 hours = 24 an hour, 12 on average.
    assert lake["S3: Athena reads 102 files a query"] == pytest.approx(
        16_000 * (102 / 1000 * 0.0004 + 90 / 1000 * 0.005)
    )
    assert lake["Glue Data Catalog: lookups"] == pytest.approx(16_000 / 1e6)
    assert len(lake) == 10


def test_the_compactor_costs_a_run_an_hour_and_the_objects_it_replaces() -> None:
    lake = {item.what: item.usd for item in lake_cost(100_000)}
    # 730 runs at the compactor's 384 MB for 600 ms, each invoked by the Scheduler.
    assert lake["Lambda and Scheduler: 730 compactions"] == pytest.approx(
        730 * (0.2 / 1e6 + 1 / 1e6 + 0.6 * 0.375 * 0.0000133334)
    )
    # Each run lists 15 days and PUTs its object and one DeleteObjects; it GETs today's object and 24 batches.
    assert lake["S3: the compactor's requests"] == pytest.approx(730 * 17 / 1000 * 0.005 + 730 * 25 / 1000 * 0.0004)
    # A day is 60,000 events of 60 bytes (3.6 MB): each day's batches once, and 24 merged objects of half a day
    # (13 days' worth), kept 90 days as previous versions: 4.27 GB.
    assert lake["S3: 4.27 GB of replaced objects (previous versions)"] == pytest.approx(
        90 * 0.0036 * 13.17 * 0.023, rel=0.01
    )


def test_a_small_tenant_pays_athenas_minimum_per_query() -> None:
    # 1,000 cases: 20 staff, 2 read insight, 160 queries; 0.8 MB read each, billed as 10 MB.
    lake = {item.what: item.usd for item in lake_cost(1_000)}
    assert lake["Athena: 160 queries, 0.002 TB billed"] == pytest.approx(160 * 10 / 1e6 * 5)
    assert {item.service for item in monthly_cost(1_000) if item.what in lake} == {"Lake"}


def test_the_archive_is_priced_for_as_long_as_the_stack_keeps_it() -> None:
    from infra.cost import ARCHIVE_DAYS
    from infra.shared_stack import PITR_DAYS

    assert ARCHIVE_DAYS == PITR_DAYS
