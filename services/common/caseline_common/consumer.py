"""Consumers read the tenant bus through SQS: parse with Powertools, report partial batch failures.

Powertools' batch processing and parser models are imported at a consumer's first batch, not at import: every
function of a service imports its app (so the API function too), and only the consumer reads a queue."""

from collections.abc import Callable, Collection
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar, cast

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import Json, create_model

from .contracts import CaseSnapshot
from .envelope import EventEnvelope
from .events import check_data

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parser.models import SqsRecordModel


class StatefulEvent(EventEnvelope):
    """An event with the case as it stood right after it, which the cases service carries beside the envelope
    (absent for tenant-level events, and when the case would not fit in the bus entry)."""

    case: CaseSnapshot | None = None


EnvelopeT = TypeVar("EnvelopeT", bound=EventEnvelope)


@cache
def record_model(detail: type[EventEnvelope]) -> "type[SqsRecordModel]":
    """The SQS record whose body is the EventBridge entry whose `detail` is `detail` (Powertools' models)."""
    from aws_lambda_powertools.utilities.parser.models import EventBridgeModel, SqsRecordModel

    entry = create_model(f"{detail.__name__}EventBridgeModel", __base__=EventBridgeModel, detail=(detail, ...))
    body = cast(Any, Json)[entry]
    return create_model(f"{detail.__name__}Record", __base__=SqsRecordModel, body=(body, ...))


def sqs_consumer(
    handle: Callable[[EnvelopeT], None],
    *,
    logger: Logger,
    metrics: Metrics,
    detail: type[EventEnvelope] = EventEnvelope,
    reads: Collection[str] = frozenset(),
) -> Callable[[dict[str, Any], Any], Any]:
    """A Lambda handler for one consumer queue. Records that fail are retried by SQS, then go to the DLQ: among
    them an event of a type whose `data` the consumer `reads` that does not fit the type's model in the catalogue
    (caseline_common/events.py). Events whose data a consumer only keeps (the timeline's chain) pass as sent."""
    processor: Any = None

    def handle_record(record: Any) -> None:  # a record_model(detail): its body's detail is the envelope
        envelope: Any = record.body.detail
        logger.set_correlation_id(envelope.correlation_id)
        logger.append_keys(event_id=envelope.event_id, event_type=envelope.type, case_id=envelope.case_id)
        if envelope.type in reads:
            check_data(envelope.type, envelope.data)
        handle(envelope)
        metrics.add_metric(name="EventsConsumed", unit=MetricUnit.Count, value=1)

    def consume(event: dict[str, Any], context: Any) -> Any:
        nonlocal processor
        from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

        if processor is None:
            processor = BatchProcessor(event_type=EventType.SQS, model=record_model(detail))
        response = process_partial_response(
            event=event, record_handler=handle_record, processor=processor, context=context
        )
        failures = len(response.get("batchItemFailures", []))
        if failures:
            metrics.add_metric(name="EventsFailed", unit=MetricUnit.Count, value=failures)
            logger.warning("records failed and will be retried", extra={"failed": failures})
        return response

    return consume


def sqs_batch_consumer(
    handle: Callable[[list[EnvelopeT]], None],
    *,
    logger: Logger,
    metrics: Metrics,
    detail: type[EventEnvelope] = EventEnvelope,
    reads: Collection[str] = frozenset(),
) -> Callable[[dict[str, Any], Any], Any]:
    """A Lambda handler for a consumer that handles a whole batch at once (the lake writes one file per day of a
    batch). Each record is parsed and checked as `sqs_consumer` does; one that does not parse, or whose `data`
    does not fit, is reported alone as a batch item failure, so SQS delivers only it again (and then moves it to
    the DLQ). `handle` gets every other event in one call: if it raises, the whole batch is delivered again."""
    processor: Any = None

    def consume(event: dict[str, Any], context: Any) -> Any:
        nonlocal processor
        from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

        if processor is None:
            processor = BatchProcessor(event_type=EventType.SQS, model=record_model(detail))
        parsed: list[Any] = []

        def keep(record: Any) -> None:  # a record_model(detail): its body's detail is the envelope
            envelope = record.body.detail
            if envelope.type in reads:
                check_data(envelope.type, envelope.data)
            parsed.append(envelope)

        response = process_partial_response(event=event, record_handler=keep, processor=processor, context=context)
        failures = len(response.get("batchItemFailures", []))
        if failures:
            metrics.add_metric(name="EventsFailed", unit=MetricUnit.Count, value=failures)
            logger.warning("records failed and will be retried", extra={"failed": failures})
        handle(parsed)
        metrics.add_metric(name="EventsConsumed", unit=MetricUnit.Count, value=len(parsed))
        return response

    return consume
