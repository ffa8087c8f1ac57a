"""Waiting for what the stack does asynchronously (streams, queues, the bus): poll, never sleep blindly."""

import time
from collections.abc import Callable
from typing import Literal, TypeVar

T = TypeVar("T")


def wait_until(
    probe: Callable[[], T | Literal[False] | None], *, what: str, timeout: float = 15.0, interval: float = 0.1
) -> T:
    """Polls `probe` until it returns something truthy; fails the test after `timeout` seconds. What it returns
    is never None or False, so its type leaves them out."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last: {result!r})")
        time.sleep(interval)
