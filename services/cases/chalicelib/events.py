"""The outbox publisher: the cases table's DynamoDB stream in, the tenant bus out."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import DynamoDBStreamModel
from caseline_common.envelope import EventEnvelope
from chalice.app import Blueprint

from .adapters.dynamo import OUTBOX_PREFIX
from .adapters.publisher import Outgoing
from .runtime import outbox_publisher, runtime

events = Blueprint(__name__)


@events.lambda_function(name="outbox_publisher")
def publish_outbox(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    stream = parse(event=event, model=DynamoDBStreamModel)
    outgoing = [
        Outgoing(
            record_id=record.dynamodb.SequenceNumber,
            source=image["source"],
            event=EventEnvelope.model_validate_json(image["event"]),
        )
        for record in stream.Records
        if record.eventName == "INSERT"
        and record.dynamodb is not None
        and isinstance(image := record.dynamodb.NewImage, dict)
        and str(image.get("pk", "")).startswith(OUTBOX_PREFIX)
    ]
    failed = outbox_publisher().publish(outgoing)
    metrics = runtime.observability.metrics
    metrics.add_metric(name="EventsPublished", unit=MetricUnit.Count, value=len(outgoing) - len(failed))
    if failed:
        metrics.add_metric(name="EventsPublishFailed", unit=MetricUnit.Count, value=len(failed))
        runtime.observability.logger.warning("outbox events not published", extra={"failed": failed})
    # Lambda restarts the shard from the lowest failed sequence number; consumers are idempotent.
    return {"batchItemFailures": [{"itemIdentifier": sequence} for sequence in failed]}
