"""The portal consumer: every case event through its queue into the portal's read model.

What each event function declared in events.py does; loaded at its first event in Lambda."""

from typing import Any

from caseline_common.consumer import sqs_consumer
from caseline_common.events import EventType

from .domain.projection import MODEL_EVENTS
from .runtime import projection_service, runtime

# An event about a case not projected yet raises, so SQS delivers it again after the visibility timeout;
# by then `case.opened` (or `template.published`) has been applied.
_consume = sqs_consumer(
    lambda event: projection_service().project(event),
    logger=runtime.observability.logger,
    metrics=runtime.observability.metrics,
    reads=MODEL_EVENTS | {EventType.COMMENT_ADDED, EventType.TEMPLATE_PUBLISHED},
)


def portal_consumer(event: dict[str, Any], context: Any) -> Any:
    return _consume(event, context)
