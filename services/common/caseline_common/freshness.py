"""Reading a case from a read model that the bus feeds: a case opened a moment ago may not be there yet.

Every service but the cases service learns of a case from its events, a few hundred milliseconds after the
create returned. A case id is a ULID, so its first 48 bits say when it was minted: an id the read model has not
seen and that is older than `FRESH_FOR` names no case (404 at once); a fresh one is waited for, and if it still
has not arrived the caller is told to retry (503 with Retry-After), never that it does not exist. The answer
depends only on the id and the read model, so it reveals nothing about cases the caller may not see.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from .errors import NotFoundError, UnavailableError

T = TypeVar("T")

# How long after its creation an id the read model has not seen is taken to be on its way.
FRESH_FOR = timedelta(minutes=2)
# Delays between reads while waiting; they add up to about three seconds.
POLL_DELAYS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.25, 0.5, 0.5, 0.5, 0.5)
RETRY_AFTER_SECONDS = 1


class CaseNotYetVisibleError(UnavailableError):
    """The case was opened moments ago and its first event has not reached this read model yet."""

    title = "Not available yet"

    def __init__(self, case_id: str) -> None:
        super().__init__(f"Case {case_id} was opened moments ago and is not available here yet; retry shortly.")
        self.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)


def minted_at(case_id: str) -> datetime | None:
    from ulid import ULID  # at the first read that waits, not at import (see envelope.new_id)

    try:
        return ULID.from_str(case_id).datetime
    except ValueError:
        return None


@dataclass(frozen=True)
class CaseArrival:
    """Waits for a fresh case to reach a read model; tests pass a `sleep` that moves their clock."""

    clock: Callable[[], datetime]
    sleep: Callable[[float], None] = field(default=time.sleep)

    def await_case(self, case_id: str, load: Callable[[], T | None]) -> T:
        found = load()
        if found is not None:
            return found
        minted = minted_at(case_id)
        if minted is None or self.clock() - minted > FRESH_FOR:
            raise NotFoundError(f"No case {case_id}.")
        for delay in POLL_DELAYS:
            self.sleep(delay)
            found = load()
            if found is not None:
                return found
        raise CaseNotYetVisibleError(case_id)
