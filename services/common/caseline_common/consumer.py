"""Consumers read the tenant bus through SQS: parse with Powertools, report partial batch failures."""

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel, SqsRecordModel
from pydantic import Json

from .envelope import EventEnvelope


class CaseEventBridgeModel(EventBridgeModel):
    detail: EventEnvelope


class CaseEventRecord(SqsRecordModel):
    body: Json[CaseEventBridgeModel]


EventHandler = Callable[[EventEnvelope], None]


def sqs_consumer(handle: EventHandler, *, logger: Logger, metrics: Metrics) -> Callable[[dict[str, Any], Any], Any]:
    """A Lambda handler for one consumer queue. Records that fail are retried by SQS, then go to the DLQ."""
    processor = BatchProcessor(event_type=EventType.SQS, model=CaseEventRecord)

    def handle_record(record: CaseEventRecord) -> None:
        envelope = record.body.detail
        logger.set_correlation_id(envelope.correlation_id)
        logger.append_keys(event_id=envelope.event_id, event_type=envelope.type, case_id=envelope.case_id)
        handle(envelope)
        metrics.add_metric(name="EventsConsumed", unit=MetricUnit.Count, value=1)

    def consume(event: dict[str, Any], context: Any) -> Any:
        response = process_partial_response(
            event=event, record_handler=handle_record, processor=processor, context=context
        )
        failures = len(response.get("batchItemFailures", []))
        if failures:
            metrics.add_metric(name="EventsFailed", unit=MetricUnit.Count, value=failures)
            logger.warning("records failed and will be retried", extra={"failed": failures})
        return response

    return consume
