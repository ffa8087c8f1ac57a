"""The tasks consumer (every case event through its queue into the task inbox), the notifications' consumer (the
events that concern someone, through a queue of their own) and the people directory's refresh (on a schedule, from
the tenant's user pool).

What the event functions declared in events.py do; loaded at a function's first event in Lambda."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from caseline_common.consumer import StatefulEvent, sqs_consumer
from caseline_common.events import EventType

from .notification_service import NOTIFYING
from .runtime import inbox_service, notification_service, people_service, runtime, user_directory
from .service import Consumed


def _consume_event(event: StatefulEvent) -> None:
    """An event about a case whose template has not arrived raises (CaseNotProjectedError), so SQS delivers it
    again; one whose case did not fit in the bus entry is counted, and the case's next event catches up."""
    if inbox_service().consume(event) is Consumed.WITHOUT_CASE:
        runtime.observability.metrics.add_metric(name="CaseEventsWithoutCase", unit=MetricUnit.Count, value=1)
        runtime.observability.logger.warning("case event without its case: the inbox waits for the next one")


_consume = sqs_consumer(
    _consume_event,
    logger=runtime.observability.logger,
    metrics=runtime.observability.metrics,
    detail=StatefulEvent,
    reads={EventType.TEMPLATE_PUBLISHED},
)


def tasks_consumer(event: dict[str, Any], context: Any) -> Any:
    return _consume(event, context)


def _notify(event: StatefulEvent) -> None:
    """An e-mail SES did not take raises, so SQS delivers the event again: what was written is not written twice,
    and only e-mails not yet marked sent are sent."""
    delivered = notification_service().consume(event)
    metrics = runtime.observability.metrics
    metrics.add_metric(name="NotificationsWritten", unit=MetricUnit.Count, value=delivered.written)
    metrics.add_metric(name="NotificationsMailed", unit=MetricUnit.Count, value=delivered.mailed)


_consume_notifying = sqs_consumer(
    _notify,
    logger=runtime.observability.logger,
    metrics=runtime.observability.metrics,
    detail=StatefulEvent,
    reads=NOTIFYING,
)


def notify_consumer(event: dict[str, Any], context: Any) -> Any:
    return _consume_notifying(event, context)


def sync_people(_event: dict[str, Any], _context: Any) -> dict[str, int]:
    """Runs on a schedule: the directory made equal to the user pool (people added or changed are written, people
    no longer in it removed)."""
    refreshed = people_service().refresh(user_directory())
    runtime.observability.metrics.add_metric(name="PeopleChanged", unit=MetricUnit.Count, value=refreshed.changed)
    return {"listed": refreshed.listed, "changed": refreshed.changed, "removed": refreshed.removed}
