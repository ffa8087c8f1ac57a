"""The automations consumer. Rules are evaluated here once templates carry them; until then each event
is parsed, validated and acknowledged, so the queue, its DLQ and the wiring are exercised for real."""

from typing import Any

from caseline_common.consumer import sqs_consumer
from caseline_common.envelope import EventEnvelope
from chalice.app import Blueprint

from .runtime import runtime

events = Blueprint(__name__)


def _acknowledge(_event: EventEnvelope) -> None:
    runtime.observability.logger.debug("event received; no automation rules are evaluated yet")


_consume = sqs_consumer(_acknowledge, logger=runtime.observability.logger, metrics=runtime.observability.metrics)


@events.lambda_function(name="automations_consumer")
def automations_consumer(event: dict[str, Any], context: Any) -> Any:
    return _consume(event, context)
