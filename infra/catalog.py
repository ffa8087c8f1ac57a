"""Which Lambda functions a tenant runs, of which kind, with which timeout: read from the resource specs alone.

Both `infra.functions` (sizes, policies' inputs) and `infra.sizing` (the measurements) start from this list, so
neither needs the other's module: the sizing rule is applied in `infra.functions`, the figures it is applied to
are measured in `infra.sizing`.
"""

from typing import Literal

from caseline_common.resources import API_AUTHORIZER, CONSUMERS, SCHEDULES, SERVICES, STREAM_HANDLERS, WORK_QUEUES

Kind = Literal["api", "stream", "consumer", "schedule", "authorizer"]

API_TIMEOUT_SECONDS = 29  # API Gateway's integration timeout
AUTHORIZER_TIMEOUT_SECONDS = 10  # it verifies one token (the JWKS fetched once per container) on a request's path
STREAM_TIMEOUT_SECONDS = 60
SCHEDULE_TIMEOUT_SECONDS = 300


def functions() -> list[tuple[str, str, Kind]]:
    """Every function infra deploys: one API function per service, and the spec'd event functions."""
    found: list[tuple[str, str, Kind]] = [(service, "api", "api") for service in SERVICES]
    found += [(spec.service, spec.function, "stream") for spec in STREAM_HANDLERS]
    found += [(spec.service, spec.function, "consumer") for spec in (*CONSUMERS, *WORK_QUEUES)]
    found += [(spec.service, spec.function, "schedule") for spec in SCHEDULES]
    found.append((API_AUTHORIZER.service, API_AUTHORIZER.function, "authorizer"))
    return found


def timeout_seconds(service: str, name: str, kind: Kind) -> int:
    if kind == "api":
        return API_TIMEOUT_SECONDS
    if kind == "stream":
        return STREAM_TIMEOUT_SECONDS
    if kind == "authorizer":
        return AUTHORIZER_TIMEOUT_SECONDS
    if kind == "schedule":
        # Never longer than the interval, so one run ends before the next starts (reserved concurrency 1).
        schedule = next(spec for spec in SCHEDULES if (spec.service, spec.function) == (service, name))
        return min(SCHEDULE_TIMEOUT_SECONDS, schedule.every_minutes * 60)
    consumer = next(spec for spec in (*CONSUMERS, *WORK_QUEUES) if (spec.service, spec.function) == (service, name))
    # AWS: a queue's visibility timeout should be at least six times its consumer's timeout.
    return max(3, consumer.visibility_timeout_seconds // 6)
