"""A 50-event case's cost, counted at the emulator's wire (bench/cost.py), against infra/cost.py and the goal.

Counts, not timings: the DynamoDB units the case consumed must stay within 10 % of what infra/cost.py prices
(`MEASURED_EVENT`, from `make bench`), each event must reach the bus once and each consumer's queue once, and
the case priced with those counts must stay within issue 14's goal of a tenth of a cent. The requests are not
paced here (the bench paces them, so that nothing shares a batch); DynamoDB units do not depend on it.
"""

from collections.abc import Iterator

import pytest

from bench.cost import CASE_EVENTS, CaseBill, bill_of_a_case, metered_stack
from infra.cost import BENCH_CASE_EVENTS, MEASURED_EVENT, Prices, bench_case_usd

GOAL_USD = 0.001


@pytest.fixture(scope="module")
def bill() -> Iterator[CaseBill]:
    with metered_stack() as (stack, lambdas):
        yield bill_of_a_case(stack, lambdas, paced=False)


def test_the_case_is_the_one_infra_cost_prices() -> None:
    assert CASE_EVENTS == BENCH_CASE_EVENTS


def test_write_units_are_what_infra_cost_prices(bill: CaseBill) -> None:
    per_event = bill.dynamodb_units("write") / CASE_EVENTS
    assert per_event == pytest.approx(MEASURED_EVENT.write_units, rel=0.10), per_event


def test_read_units_are_at_most_what_infra_cost_prices(bill: CaseBill) -> None:
    per_event = bill.dynamodb_units("read") / CASE_EVENTS
    assert per_event <= MEASURED_EVENT.read_units * 1.10, per_event


def test_each_event_is_put_on_the_bus_once_and_sent_to_each_consumer_once(bill: CaseBill) -> None:
    assert bill.requests("eventbridge") == CASE_EVENTS
    assert bill.requests("sqs", "SendMessage (from EventBridge)") == 3 * CASE_EVENTS  # timeline, automations, portal
    assert bill.api_requests == CASE_EVENTS


def test_the_case_costs_at_most_a_tenth_of_a_cent(bill: CaseBill) -> None:
    """Counted DynamoDB units with the model's per-event Lambda, SQS and request prices (timings are noisy)."""
    prices = Prices()
    counted_dynamodb = (
        bill.dynamodb_units("write") * prices.dynamodb_write_per_million
        + bill.dynamodb_units("read") * prices.dynamodb_read_per_million
    ) / 1e6
    modelled = bench_case_usd(prices)
    assert sum(modelled.values()) - modelled["dynamodb"] + counted_dynamodb <= GOAL_USD
