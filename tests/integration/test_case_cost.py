"""A 50-event case's cost, counted at the emulator's wire (bench/cost.py), against infra/cost.py and the goal.

Counts, not timings: the DynamoDB units the case consumed must stay within 10 % of what infra/cost.py prices
(`MEASURED_EVENT` for the product without the read plane, `READ_PLANE_UNITS` for the task inbox and the search
index, from `make bench`), each event must reach the bus once and each consumer's queue once for each event its
rule selects, and the case priced with those counts must stay within issue 14's goal of a tenth of a cent without
the read plane, which must stay within its own budget. The requests are not paced here (the bench paces them, so
that nothing shares a batch); DynamoDB units do not depend on it.
"""

from collections.abc import Iterator

import pytest
from caseline_common.resources import CONSUMERS, NOTIFICATIONS_TABLE, PEOPLE_TABLE, SEARCH_TABLE, TASKS_TABLE

from bench.cost import CASE_EVENTS, CaseBill, bill_of_a_case, metered_stack
from infra.cost import (
    BENCH_CASE_EVENTS,
    MEASURED_EVENT,
    READ_PLANE_BUDGET_USD,
    READ_PLANE_UNITS,
    Prices,
    bench_case_usd,
    events_received,
)

GOAL_USD = 0.001


@pytest.fixture(scope="module")
def bill() -> Iterator[CaseBill]:
    with metered_stack() as (stack, lambdas):
        yield bill_of_a_case(stack, lambdas, paced=False)


def test_the_case_is_the_one_infra_cost_prices() -> None:
    assert CASE_EVENTS == BENCH_CASE_EVENTS


# Notifications read the people directory (for a mention or an address) and write their own table.
READ_PLANE_TABLES = (TASKS_TABLE.id, SEARCH_TABLE.id, NOTIFICATIONS_TABLE.id, PEOPLE_TABLE.id)
RECEIVED = {spec.function: events_received(spec) for spec in CONSUMERS}


def _read_plane_units(kind: str) -> float:
    """What infra/cost.py prices the read plane's consumers at for the case, per event of the case."""
    return (
        sum(
            RECEIVED[name] * (units.write_units if kind == "write" else units.read_units)
            for name, units in READ_PLANE_UNITS.items()
        )
        / CASE_EVENTS
    )


@pytest.mark.parametrize("kind", ["write", "read"])
def test_units_are_what_infra_cost_prices(bill: CaseBill, kind: str) -> None:
    product = bill.dynamodb_units(kind, excluding=READ_PLANE_TABLES) / CASE_EVENTS
    read_plane = (bill.dynamodb_units(kind) - bill.dynamodb_units(kind, excluding=READ_PLANE_TABLES)) / CASE_EVENTS
    measured = MEASURED_EVENT.write_units if kind == "write" else MEASURED_EVENT.read_units
    if kind == "write":  # a read is often answered from what the case item already carries: at most is enough
        assert product == pytest.approx(measured, rel=0.10), product
        assert read_plane == pytest.approx(_read_plane_units(kind), rel=0.10), read_plane
    else:
        assert product <= measured * 1.10, product
        assert read_plane <= _read_plane_units(kind) * 1.10, read_plane


def test_each_event_is_put_on_the_bus_once_and_sent_to_each_consumer_once(bill: CaseBill) -> None:
    assert bill.requests("eventbridge") == CASE_EVENTS
    # Timeline, automations, portal and the search index take every event; the task inbox and notifications only
    # their own.
    assert bill.requests("sqs", "SendMessage (from EventBridge)") == sum(RECEIVED.values())
    assert bill.api_requests == CASE_EVENTS


def _counted_usd(bill: CaseBill, modelled: dict[str, float], *, excluding: tuple[str, ...] = ()) -> float:
    """Counted DynamoDB units with the model's per-event Lambda, SQS and request prices (timings are noisy)."""
    prices = Prices()
    counted_dynamodb = (
        bill.dynamodb_units("write", excluding=excluding) * prices.dynamodb_write_per_million
        + bill.dynamodb_units("read", excluding=excluding) * prices.dynamodb_read_per_million
    ) / 1e6
    return sum(modelled.values()) - modelled["dynamodb"] + counted_dynamodb


def test_the_case_costs_at_most_a_tenth_of_a_cent_and_the_read_plane_stays_in_its_budget(bill: CaseBill) -> None:
    without_read_plane = _counted_usd(bill, bench_case_usd(read_plane=False), excluding=READ_PLANE_TABLES)
    assert without_read_plane <= GOAL_USD
    assert _counted_usd(bill, bench_case_usd()) - without_read_plane <= READ_PLANE_BUDGET_USD
