"""The timeline's functions for events: the consumer of the tenant bus, and the scheduled anchoring.

What each event function declared in events.py does; loaded at its first event in Lambda."""

import json
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from caseline_common.consumer import sqs_consumer
from caseline_common.envelope import EventEnvelope
from caseline_common.events import EventType

from .domain.timeline import CaseMembers
from .runtime import runtime, timeline_service
from .service import Recorded


class MembersEvent(EventEnvelope):
    """An event with, of the case it carries, only who may read the chain (the rest is left unparsed)."""

    case: CaseMembers | None = None


def _record(event: MembersEvent) -> None:
    # The chain holds the envelope as it was published; the case beside it only says who may read the chain.
    envelope = EventEnvelope.model_validate(event.model_dump(exclude={"case"}))
    if timeline_service().record(envelope, event.case) is Recorded.DUPLICATE:
        runtime.observability.metrics.add_metric(name="DuplicateEventsDropped", unit=MetricUnit.Count, value=1)


_consume = sqs_consumer(
    _record,
    logger=runtime.observability.logger,
    metrics=runtime.observability.metrics,
    detail=MembersEvent,
    reads={EventType.TEMPLATE_PUBLISHED},  # the template it keeps; every other event is chained as it came
)


def timeline_consumer(event: dict[str, Any], context: Any) -> Any:
    return _consume({**event, "Records": sorted(event.get("Records", []), key=_chain_order)}, context)


def _chain_order(record: dict[str, Any]) -> tuple[str, int, str]:
    """A batch in the order its events belong on their chains: by case, then the case version each left (events
    were put on the bus in that order, but SQS hands them out in any order). Unreadable bodies keep their place
    for the batch processor to report."""
    try:
        detail = json.loads(record["body"])["detail"]
        case = detail.get("case") or {}
        return str(detail.get("case_id") or ""), int(case.get("version") or 0), str(detail.get("occurred_at") or "")
    except (KeyError, TypeError, ValueError, AttributeError):
        return "", 0, ""


def anchor_heads(_event: dict[str, Any], _context: Any) -> dict[str, int]:
    """Runs on a schedule: writes the head hash of every case that changed since its last anchor."""
    anchored = timeline_service().anchor_unanchored()
    runtime.observability.metrics.add_metric(name="HeadsAnchored", unit=MetricUnit.Count, value=anchored)
    return {"anchored": anchored}
