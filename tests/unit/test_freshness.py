"""A read model that has not seen a case yet: old ids are unknown at once, fresh ones are waited for."""

from datetime import UTC, datetime, timedelta

import pytest
from caseline_common.errors import NotFoundError
from caseline_common.freshness import FRESH_FOR, CaseArrival, CaseNotYetVisibleError
from caseline_common.http import problem_for
from ulid import ULID

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = NOW
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)


def case_id(minted: datetime) -> str:
    return str(ULID.from_datetime(minted))


def test_a_case_already_there_is_returned_without_waiting() -> None:
    clock = Clock()
    assert CaseArrival(lambda: clock.now, clock.sleep).await_case(case_id(NOW), lambda: "case") == "case"
    assert clock.slept == []


def test_an_old_id_the_read_model_never_saw_is_unknown_at_once() -> None:
    clock = Clock()
    with pytest.raises(NotFoundError):
        CaseArrival(lambda: clock.now, clock.sleep).await_case(case_id(NOW - FRESH_FOR * 2), lambda: None)
    assert clock.slept == []


@pytest.mark.parametrize("not_an_id", ["", "case-1", "Z" * 26, "01ARZ3NDEKTSV4RRFFQ69G5FA!"])
def test_an_id_that_is_no_ulid_is_unknown_at_once(not_an_id: str) -> None:
    clock = Clock()
    with pytest.raises(NotFoundError):
        CaseArrival(lambda: clock.now, clock.sleep).await_case(not_an_id, lambda: None)
    assert clock.slept == []


def test_a_fresh_case_is_waited_for_until_it_arrives() -> None:
    clock = Clock()
    reads = iter([None, None, None, "case"])
    assert CaseArrival(lambda: clock.now, clock.sleep).await_case(case_id(NOW), lambda: next(reads)) == "case"
    assert len(clock.slept) == 3


def test_a_fresh_case_that_does_not_arrive_asks_the_caller_to_retry() -> None:
    clock = Clock()
    with pytest.raises(CaseNotYetVisibleError) as refused:
        CaseArrival(lambda: clock.now, clock.sleep).await_case(case_id(NOW), lambda: None)
    assert 2 <= sum(clock.slept) <= 5
    problem = problem_for(refused.value)
    assert (problem.status, problem.headers["Retry-After"]) == (503, "1")
