"""What API Gateway does in AWS before a route that needs a token, done by the local gateway: the authorizer's
decision (caseline_common.authorizer, the same function) and the usage plan of the app client the token came from,
a token bucket at the plan's rate and burst. The plans are the emulator's API Gateway's, kept by the same code as in
AWS (`caseline client create|limit`, caseline/usage_plans.py), and read again every few seconds.
"""

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from caseline_common.auth import AuthenticationError, TokenVerifier
from caseline_common.authorizer import REFUSALS, THROTTLED_RETRY_AFTER_SECONDS, RouteScopes, decide

from ..usage_plans import Limit

PLANS_REFRESH_SECONDS = 5.0  # a changed plan applies within seconds (API Gateway: within a minute)


@dataclass(frozen=True)
class Refusal:
    status: int
    title: str
    detail: str
    retry_after_seconds: int | None = None

    @classmethod
    def named(cls, name: str) -> "Refusal":
        status, title, detail = REFUSALS[name]
        return cls(status, title, detail, THROTTLED_RETRY_AFTER_SECONDS if status == 429 else None)


class TokenBucket:
    """API Gateway's throttle: `burst` requests at once, refilled at `rate_per_second`."""

    def __init__(self, limit: Limit, now: float) -> None:
        self.limit = limit
        self._tokens = float(limit.burst)
        self._at = now

    def take(self, now: float) -> bool:
        self._tokens = min(self.limit.burst, self._tokens + (now - self._at) * self.limit.rate_per_second)
        self._at = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True


class ClientLimits:
    def __init__(
        self,
        verifier: TokenVerifier,
        route_scopes: RouteScopes,
        plans: Callable[[], dict[str, Limit]],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._verifier = verifier
        self._route_scopes = route_scopes
        self._plans = plans
        self._clock = clock
        self._limits: dict[str, Limit] = {}
        self._read_at: float | None = None
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()

    def admit(self, headers: Mapping[str, str], method: str, resource: str) -> Refusal | None:
        """None to pass the request on, else API Gateway's answer."""
        try:
            decision = decide(self._verifier, self._route_scopes, headers, method, resource)
        except AuthenticationError:
            return Refusal.named("unauthorized")
        if not decision.allowed:
            return Refusal.named("access-denied")
        with self._lock:
            now = self._clock()
            limit = self._limit(decision.usage_identifier, now)
            if limit is None:
                return Refusal.named("no-usage-plan")
            bucket = self._buckets.get(decision.usage_identifier)
            if bucket is None or bucket.limit != limit:
                bucket = self._buckets[decision.usage_identifier] = TokenBucket(limit, now)
            return None if bucket.take(now) else Refusal.named("throttled")

    def _limit(self, usage_identifier: str, now: float) -> Limit | None:
        stale = self._read_at is None or now - self._read_at >= PLANS_REFRESH_SECONDS
        if stale or usage_identifier not in self._limits:  # a client made a moment ago is known at once
            self._limits = self._plans()
            self._read_at = now
        return self._limits.get(usage_identifier)
