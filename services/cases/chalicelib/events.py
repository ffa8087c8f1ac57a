"""The cases service's event handlers: the outbox publisher (the table's stream in, the tenant bus out) and
the consumer of commands the portal sends on behalf of external participants."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import DynamoDBStreamModel
from caseline_common.consumer import sqs_consumer
from caseline_common.envelope import EventEnvelope
from caseline_common.errors import DomainError
from caseline_common.portal_commands import ConfirmUpload, PortalCommand, PostMessage, SubmitFields
from caseline_common.tenant import Principal, TenantContext
from chalice.app import Blueprint

from .adapters.dynamo import OUTBOX_PREFIX
from .adapters.publisher import Outgoing
from .domain.cases import CommentRequest, UpdateCaseRequest
from .runtime import cases_service, outbox_publisher, runtime
from .service import RaceLostError

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


def _apply_portal_command(command: EventEnvelope) -> None:
    """Runs one portal command as the external participant who sent it. Each command's event id is its
    idempotency key, so a redelivered command changes nothing twice. A refusal (the role does not allow it,
    a value is invalid) is final and logged; a lost race is retried by SQS."""
    if command.tenant_id != runtime.settings.tenant_id or command.case_id is None:
        runtime.observability.logger.warning("portal command for another tenant or no case dropped")
        return
    principal = Principal(subject=command.actor.id, external=True)
    context = TenantContext(tenant_id=command.tenant_id, principal=principal, correlation_id=command.correlation_id)
    service, case_id, key = cases_service(), command.case_id, command.event_id
    try:
        if command.type == PortalCommand.POST_MESSAGE:
            body = PostMessage.model_validate(command.data).body
            service.add_comment(context, case_id, CommentRequest(body=body, external=True), key)
        elif command.type == PortalCommand.SUBMIT_FIELDS:
            update = UpdateCaseRequest(fields=SubmitFields.model_validate(command.data).fields)
            service.command(
                context,
                case_id,
                lambda work: work.update(update),
                operation="portal_fields",
                idempotency_key=key,
                body=update,
            )
        elif command.type == PortalCommand.CONFIRM_UPLOAD:
            service.confirm_upload(context, case_id, ConfirmUpload.model_validate(command.data).upload_id)
        else:
            runtime.observability.logger.warning("unknown portal command dropped", extra={"type": command.type})
    except RaceLostError:
        raise
    except DomainError as refusal:
        runtime.observability.metrics.add_metric(name="PortalCommandsRefused", unit=MetricUnit.Count, value=1)
        runtime.observability.logger.warning("portal command refused", extra={"reason": refusal.detail})


_consume_commands = sqs_consumer(
    _apply_portal_command, logger=runtime.observability.logger, metrics=runtime.observability.metrics
)


@events.lambda_function(name="portal_commands")
def portal_commands(event: dict[str, Any], context: Any) -> Any:
    return _consume_commands(event, context)
