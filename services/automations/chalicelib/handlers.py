"""The automations service's handlers: every case event through its queue, each webhook delivery's first attempt
through the delivery queue, and the sweep that fires due timers and retries webhook deliveries (EventBridge
Scheduler, every minute; locally a pump).

What each event function declared in events.py does; loaded at its first event in Lambda."""

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from caseline_common.consumer import StatefulEvent, sqs_consumer
from caseline_common.events import EventType

from .runtime import automations_service, runtime, webhook_service
from .webhook_service import DeliveryTicket


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
    detail=StatefulEvent,
    reads=frozenset(EventType),  # rules' conditions, their e-mails and webhooks read any event's data
)


def automations_consumer(event: dict[str, Any], context: Any) -> Any:
    automations_service().begin_batch()
    return _consume(event, context)


def deliver_webhooks(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    """Each record a delivery's ticket. One that fails comes back (then goes to the DLQ); its delivery stays
    pending, so the sweep attempts it once its lease is over, whatever becomes of the ticket."""
    failures = []
    for record in event.get("Records", []):
        try:
            webhook_service().deliver(DeliveryTicket.model_validate_json(record["body"]))
        except Exception:  # any failure of one ticket is that ticket's, reported as such
            runtime.observability.logger.exception("webhook delivery failed", extra={"ticket": record.get("body")})
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}


def run_due_work(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    """`now` is the scheduled time the scheduler stamps on the event, so a late invocation still fires what
    was due by then, and a test moves time by moving that stamp."""
    stamped = event.get("time")
    now = datetime.fromisoformat(stamped.replace("Z", "+00:00")) if stamped else datetime.now(UTC)
    done = automations_service().run_due_work(now)
    metrics = runtime.observability.metrics
    metrics.add_metric(name="TimersFired", unit=MetricUnit.Count, value=done.timers_fired)
    if done.deliveries_dead:  # the webhook-dead-letters alarm's metric (infra/monitoring.py)
        metrics.add_metric(name="WebhookDeadLettered", unit=MetricUnit.Count, value=done.deliveries_dead)
    if done.lateness_seconds:
        runtime.observability.logger.info("timers fired", extra={"lateness_seconds": done.lateness_seconds})
    return done.model_dump()
