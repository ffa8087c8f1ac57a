"""The lake writer: every bus event through its queue into the lake, a batch at a time; and the lake's compaction,
on a schedule.

What the event functions declared in events.py do; loaded at their first event in Lambda."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from caseline_common.consumer import StatefulEvent, sqs_batch_consumer

from .domain.lake import LAKE_READS
from .runtime import lake_compactor, lake_writer_service, runtime


def _write(events: list[StatefulEvent]) -> None:
    lake_writer_service().write(events)


# One object per day of a batch (up to 1,000 events over five minutes in AWS): a record that does not parse is
# retried alone; a write that fails fails the batch, which SQS delivers again whole.
_consume = sqs_batch_consumer(
    _write,
    logger=runtime.observability.logger,
    metrics=runtime.observability.metrics,
    detail=StatefulEvent,
    reads=LAKE_READS,
)


def lake_writer(event: dict[str, Any], context: Any) -> Any:
    return _consume(event, context)


def compact_lake(_event: dict[str, Any], _context: Any) -> dict[str, int]:
    """Runs on a schedule: merges each recent day's objects into one (compaction_service.py)."""
    compacted = lake_compactor().compact_recent()
    merged = sum(day.merged for day in compacted)
    runtime.observability.metrics.add_metric(name="LakeObjectsMerged", unit=MetricUnit.Count, value=merged)
    return {"days": len(compacted), "merged": merged}
