"""The automations service's handlers: every case event through its queue, and the sweep that fires due
timers and retries webhook deliveries (EventBridge Scheduler, every minute; locally a pump)."""

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from caseline_common.consumer import StatefulEvent, StatefulEventRecord, sqs_consumer
from caseline_common.events import EventType
from chalice.app import Blueprint

from .runtime import automations_service, runtime

events = Blueprint(__name__)


def _handle(event: StatefulEvent) -> None:
    metrics = runtime.observability.metrics
    if event.type == EventType.SLA_BREACHED:
        metrics.add_metric(name="SlaBreaches", unit=MetricUnit.Count, value=1)
    for run in automations_service().handle(event):
        metrics.add_metric(name=f"Rules{run.verdict.capitalize()}", unit=MetricUnit.Count, value=1)


# An event about a case whose template has not arrived yet raises, so SQS delivers it again later.
_consume = sqs_consumer(
    _handle,
    logger=runtime.observability.logger,
    metrics=runtime.observability.metrics,
    record_model=StatefulEventRecord,
    reads=frozenset(EventType),  # rules' conditions, their e-mails and webhooks read any event's data
)


@events.lambda_function(name="automations_consumer")
def automations_consumer(event: dict[str, Any], context: Any) -> Any:
    return _consume(event, context)


@events.lambda_function(name="run_due_work")
def run_due_work(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    """`now` is the scheduled time the scheduler stamps on the event, so a late invocation still fires what
    was due by then, and a test moves time by moving that stamp."""
    stamped = event.get("time")
    now = datetime.fromisoformat(stamped.replace("Z", "+00:00")) if stamped else datetime.now(UTC)
    done = automations_service().run_due_work(now)
    metrics = runtime.observability.metrics
    metrics.add_metric(name="TimersFired", unit=MetricUnit.Count, value=done.timers_fired)
    if done.lateness_seconds:
        runtime.observability.logger.info("timers fired", extra={"lateness_seconds": done.lateness_seconds})
    return done.model_dump()
