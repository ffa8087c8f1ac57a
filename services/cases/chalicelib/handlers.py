"""The cases service's event handlers: the outbox publisher (the table's stream in, the tenant bus out) and
the consumer of commands that the portal sends for external participants and automation rules send.

What each event function declared in events.py does; loaded at its first event in Lambda."""

from functools import cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from caseline_common.automation_commands import AutomationCommand, DueTimer
from caseline_common.calendar import deadline
from caseline_common.consumer import sqs_consumer
from caseline_common.contracts import (
    AddCommentAction,
    AddParticipantAction,
    AssignAction,
    CreateTaskAction,
    MoveStageAction,
    ParticipantKind,
    RequestDocumentAction,
    RuleAction,
    SetFieldsAction,
    TaskStatus,
)
from caseline_common.envelope import ActorKind, EventEnvelope, derived_id
from caseline_common.errors import (
    ConcurrentWriteError,
    DomainError,
    InvalidInputError,
    NotFoundError,
    issues_from_validation,
)
from caseline_common.portal_commands import CompleteTask, ConfirmUpload, PortalCommand, PostMessage, SubmitFields
from caseline_common.tenant import Principal, StaffRole, TenantContext
from pydantic import TypeAdapter, ValidationError

from .adapters.dynamo_cases import carried_event
from .adapters.eventbridge_outbox import Outgoing
from .domain import cases, participants, requests, stages, tasks
from .domain.cases import AssignRequest, AssignRoleRequest, CommentRequest, UpdateCaseRequest
from .domain.participants import AddParticipantRequest
from .domain.requests import RequestDocumentRequest
from .domain.stages import TransitionRequest
from .domain.tasks import AddTaskRequest, AssignTaskRequest
from .domain.work import CaseWork, Change
from .runtime import case_service, outbox_publisher, runtime


def publish_outbox(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    # Powertools' parser models: at the publisher's first batch, not in every function's cold start
    from aws_lambda_powertools.utilities.parser import parse
    from aws_lambda_powertools.utilities.parser.models import DynamoDBStreamModel

    stream = parse(event=event, model=DynamoDBStreamModel)
    outgoing = [
        Outgoing(
            record_id=record.dynamodb.SequenceNumber,
            source=carried[0],
            event=EventEnvelope.model_validate_json(carried[1]),
            case=carried[2],
        )
        for record in stream.Records
        if record.eventName in ("INSERT", "MODIFY")
        and record.dynamodb is not None
        and isinstance(image := record.dynamodb.NewImage, dict)
        and (carried := carried_event(image)) is not None
    ]
    failed = outbox_publisher().publish(outgoing)
    metrics = runtime.observability.metrics
    metrics.add_metric(name="EventsPublished", unit=MetricUnit.Count, value=len(outgoing) - len(failed))
    if failed:
        metrics.add_metric(name="EventsPublishFailed", unit=MetricUnit.Count, value=len(failed))
        runtime.observability.logger.warning("outbox events not published", extra={"failed": failed})
    # Lambda restarts the shard from the lowest failed sequence number; consumers are idempotent.
    return {"batchItemFailures": [{"itemIdentifier": sequence} for sequence in failed]}


def _apply_command(command: EventEnvelope) -> None:
    """Runs one command from the portal (as the external participant who sent it) or from an automation rule
    (as that rule). Each command's id is its idempotency key, so a redelivered command changes nothing twice.
    A refusal (the role does not allow it, a value is invalid) is final: logged, and for a rule recorded on
    the case's timeline. A lost race (ConcurrentWriteError) is retried by SQS."""
    if command.tenant_id != runtime.settings.tenant_id or command.case_id is None:
        runtime.observability.logger.warning("command for another tenant or no case dropped")
        return
    try:
        try:
            if command.type in AutomationCommand._value2member_map_:
                _apply_automation_command(command, command.case_id)
            else:
                _apply_portal_command(command, command.case_id)
        except ValidationError as invalid:  # the command's data, or a request built from it, is refused
            raise InvalidInputError("The command's data is invalid.", issues_from_validation(invalid, "data")) from None
    except ConcurrentWriteError:  # a lost race or a write at the same moment: SQS retries the command
        raise
    except DomainError as refusal:
        runtime.observability.metrics.add_metric(name="CommandsRefused", unit=MetricUnit.Count, value=1)
        runtime.observability.logger.warning("command refused", extra={"reason": refusal.detail})
        # A redelivered command that did its work the first time never gets here: its claim answers first.
        context = _automation_context(command) if command.actor.kind is ActorKind.AUTOMATION else None
        if context is not None:
            issues = refusal.issues if isinstance(refusal, InvalidInputError) else []
            detail = " ".join([refusal.detail, *(f"{issue.pointer}: {issue.detail}." for issue in issues)])
            case_service().record_refusal(context, command.case_id, command, detail)


def _apply_portal_command(command: EventEnvelope, case_id: str) -> None:
    principal = Principal(subject=command.actor.id, external=True)
    context = TenantContext(tenant_id=command.tenant_id, principal=principal, correlation_id=command.correlation_id)
    service, key = case_service(), command.event_id
    if command.type == PortalCommand.POST_MESSAGE:
        body = PostMessage.model_validate(command.data).body
        service.add_comment(context, case_id, CommentRequest(body=body, external=True), key)
    elif command.type == PortalCommand.SUBMIT_FIELDS:
        update = UpdateCaseRequest(fields=SubmitFields.model_validate(command.data).fields)
        service.command(
            context,
            case_id,
            lambda work: cases.update(work, update),
            operation="portal_fields",
            idempotency_key=key,
            body=update,
        )
    elif command.type == PortalCommand.CONFIRM_UPLOAD:
        service.confirm_upload(context, case_id, ConfirmUpload.model_validate(command.data).upload_id)
    elif command.type == PortalCommand.COMPLETE_TASK:
        completion = CompleteTask.model_validate(command.data)
        service.command(
            context,
            case_id,
            lambda work: tasks.complete_task(work, completion.task_id),
            operation="portal_task",
            idempotency_key=key,
            body=completion,
        )
    else:
        runtime.observability.logger.warning("unknown portal command dropped", extra={"type": command.type})


def _automation_context(command: EventEnvelope) -> TenantContext:
    """A rule acts with every right on the case; its events name it and carry the command as their cause."""
    principal = Principal(subject=command.actor.id, groups=frozenset({StaffRole.ADMIN}), automation=True)
    return TenantContext(
        tenant_id=command.tenant_id,
        principal=principal,
        correlation_id=command.correlation_id,
        causation_id=command.event_id,
        causation_depth=command.causation_depth,
    )


@cache
def _rule_action() -> TypeAdapter[Any]:
    """Every rule action's contract, built at the first automation command, not in every function's import."""
    return TypeAdapter(RuleAction)


def _apply_automation_command(command: EventEnvelope, case_id: str) -> None:
    service, context, key = case_service(), _automation_context(command), command.event_id
    if command.type == AutomationCommand.TIMER_DUE:
        timer = DueTimer.model_validate(command.data)
        # From the timer alone (the command's id is too), so however often it fires it is recorded once.
        service.timer_due(context, case_id, timer, derived_id(timer.due_at, command.event_id, "event"))
        return
    action = _rule_action().validate_python(command.data)
    if isinstance(action, AddCommentAction):
        service.add_comment(context, case_id, CommentRequest(body=action.body, external=action.external), key)
        return
    service.command(
        context,
        case_id,
        lambda work: _rule_change(work, action),
        operation="automation",
        idempotency_key=key,
        body=action,
    )


def _rule_change(work: CaseWork, action: Any) -> Change | None:
    """The case change one rule action asks for."""
    if isinstance(action, SetFieldsAction):
        return cases.update(work, UpdateCaseRequest(fields=action.values))
    if isinstance(action, CreateTaskAction):
        due_at = deadline(work.now, action.due_in, work.definition.calendar) if action.due_in else None
        request = AddTaskRequest(
            title=action.title,
            reason=f"Added by the rule {work.subject}.",
            assignee_role=action.assignee_role,
            due_at=due_at,
            required=action.required,
        )
        return tasks.add_task(work, request)
    if isinstance(action, AssignAction):
        if action.task_key is not None:
            task = next((t for t in work.case.tasks if t.key == action.task_key and t.status == TaskStatus.OPEN), None)
            if task is None:
                raise NotFoundError(f'No open task "{action.task_key}" on this case.')
            return tasks.assign_task(work, task.id, AssignTaskRequest(assignee=action.owner, assignee_role=action.role))
        if action.owner is not None:
            return cases.assign(work, AssignRequest(owner=action.owner)) if action.owner != work.case.owner else None
        return cases.assign_role(work, AssignRoleRequest(role=str(action.role)))
    if isinstance(action, MoveStageAction):
        return stages.transition(work, TransitionRequest(to=action.to)) if action.to != work.case.stage else None
    if isinstance(action, AddParticipantAction):
        return _add_participant(work, action)
    if isinstance(action, RequestDocumentAction):
        return requests.request_document(
            work,
            RequestDocumentRequest(
                document_type=action.document_type, from_role=action.from_role, message=action.message
            ),
        )
    raise InvalidInputError(f"The action {action.type} is not a case command.", [])


def _add_participant(work: CaseWork, action: AddParticipantAction) -> Change | None:
    """Adds the person the action names, unless they already take part with that role."""
    if action.user_id is not None:
        if any(p.user_id == action.user_id for p in work.case.participants):
            return None
        request = AddParticipantRequest(kind=ParticipantKind.INTERNAL, role=action.role, user_id=action.user_id)
        return participants.add_participant(work, request)
    party = work.case.fields.get(str(action.party_field))
    if not isinstance(party, dict) or not party.get("email"):
        raise InvalidInputError(f'The field "{action.party_field}" names nobody with an e-mail address.', [])
    if any(p.role == action.role and p.email == party["email"] for p in work.case.participants):
        return None
    request = AddParticipantRequest(
        kind=ParticipantKind.EXTERNAL, role=action.role, name=party["name"], email=party["email"]
    )
    return participants.add_participant(work, request)


_consume_commands = sqs_consumer(
    _apply_command, logger=runtime.observability.logger, metrics=runtime.observability.metrics
)


def case_commands(event: dict[str, Any], context: Any) -> Any:
    return _consume_commands(event, context)
