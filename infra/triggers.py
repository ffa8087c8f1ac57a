"""What starts each function of a service, and where what fails ends up.

The specs (`caseline_common.resources`) say which function reads a table's stream, which reads a consumer's
queue (the consumer's rule and queues are the shared stack's) and which runs on a schedule; a service may have
several of each. Here they become event source mappings and EventBridge Scheduler schedules, with the failure
queues a stream mapping (on-failure destination) and the schedules (dead-letter queue) send to.
"""

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from caseline_common.resources import (
    CONSUMERS,
    SCHEDULES,
    STREAM_HANDLERS,
    WORK_QUEUES,
    QueueSpec,
    ScheduleSpec,
    StreamHandlerSpec,
    TenantResourceNames,
)

from infra import nag
from infra.arns import TenantArns
from infra.functions import FunctionSpec
from infra.monitoring import ServiceMonitoring
from infra.shared_stack import TenantSharedStack
from infra.tenants import Tenant

Trigger = StreamHandlerSpec | QueueSpec | ScheduleSpec
STREAM_RETRY_ATTEMPTS = 10


def rate_expression(every_minutes: int) -> str:
    """A Scheduler rate expression: the unit is singular for 1 and plural above (`rate(1 hours)` is invalid)."""
    return f"rate({every_minutes} {'minute' if every_minutes == 1 else 'minutes'})"


def trigger_of(service: str, function: str) -> Trigger | None:
    """The spec that starts a function of a service (None for its API function)."""
    for trigger in (*STREAM_HANDLERS, *CONSUMERS, *WORK_QUEUES, *SCHEDULES):
        if (trigger.service, trigger.function) == (service, function):
            return trigger
    return None


class FunctionTriggers:
    """Attaches each function of one service to what starts it, in the service's stack."""

    def __init__(
        self,
        stack: cdk.Stack,
        *,
        tenant: Tenant,
        service: str,
        shared: TenantSharedStack,
        monitoring: ServiceMonitoring,
    ) -> None:
        self.stack, self.tenant, self.service, self.shared, self.monitoring = stack, tenant, service, shared, monitoring
        self.names = TenantResourceNames(tenant_id=tenant.id)
        self.arns = TenantArns(stack, tenant)
        self._async_failures: sqs.Queue | None = None
        self._stream_failures: sqs.Queue | None = None

    # Where failures go --------------------------------------------------------------------------------------

    def failure_target(self, spec: FunctionSpec) -> sqs.Queue | None:
        if spec.kind == "stream":
            return self.stream_failures()
        if spec.kind == "schedule":
            return self.async_failures()
        return None

    def _failure_queue(self, construct_id: str, name: str) -> sqs.Queue:
        queue = sqs.Queue(
            self.stack,
            construct_id,
            queue_name=name,
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.shared.messaging_key,
            data_key_reuse=cdk.Duration.hours(1),
            enforce_ssl=True,
            retention_period=cdk.Duration.days(14),
        )
        self.monitoring.failure_queue(construct_id, name)
        return queue

    def async_failures(self) -> sqs.Queue:
        """The dead-letter queue of the service's scheduled runs (Scheduler's and Lambda's asynchronous retries)."""
        if self._async_failures is None:
            self._async_failures = self._failure_queue(
                "async-failures", f"{self.names.prefix()}-{self.service}-async-dlq"
            )
        return self._async_failures

    def stream_failures(self) -> sqs.Queue:
        if self._stream_failures is None:
            queue = self._failure_queue("stream-failures", f"{self.names.prefix()}-{self.service}-stream-failures")
            nag.acknowledge(
                queue,
                "AwsSolutions-SQS3",
                "This queue is a dead-letter queue itself: the outbox stream's on-failure destination, which "
                "receives the shard and sequence numbers of batches that failed every retry.",
            )
            self._stream_failures = queue
        return self._stream_failures

    # Sources ------------------------------------------------------------------------------------------------

    def attach(self, alias: lambda_.Alias, trigger: Trigger | None, policy: iam.ManagedPolicy, name: str) -> None:
        """Starts the function through its live alias (infra/releases.py), never its unreleased `$LATEST`."""
        if isinstance(trigger, StreamHandlerSpec):
            self._stream_source(alias, trigger, policy)
        elif isinstance(trigger, QueueSpec):  # a consumer's queue, or one of the service's own
            self._queue_source(alias, trigger, policy)
        elif isinstance(trigger, ScheduleSpec):
            self._schedule(alias, trigger, name)

    def _stream_source(self, alias: lambda_.Alias, trigger: StreamHandlerSpec, policy: iam.ManagedPolicy) -> None:
        mapping = lambda_.EventSourceMapping(
            self.stack,
            f"{trigger.function}-stream",
            target=alias,
            # Read at deploy time, not imported: a restored table's new stream replaces the mapping on the next
            # deploy (infra/arns.py).
            event_source_arn=self.arns.stream(trigger.table_id),
            # From the oldest record still in the stream: a mapping (re)created after writes loses nothing.
            starting_position=lambda_.StartingPosition.TRIM_HORIZON,
            batch_size=trigger.batch_size,
            bisect_batch_on_error=True,
            retry_attempts=STREAM_RETRY_ATTEMPTS,
            report_batch_item_failures=True,
            parallelization_factor=1,
            on_failure=event_sources.SqsDlq(self.stream_failures()),
        )
        mapping.node.add_dependency(policy)
        self.monitoring.stream(alias.lambda_, trigger)  # the function's iterator age, whichever version reads

    def _queue_source(self, alias: lambda_.Alias, trigger: QueueSpec, policy: iam.ManagedPolicy) -> None:
        # Construct ids by function: one mapping per queue, however many queues the service reads.
        mapping = lambda_.EventSourceMapping(
            self.stack,
            f"{trigger.function}-queue",
            target=alias,
            event_source_arn=self.arns.queue(self.names.queue(trigger)),
            batch_size=trigger.batch_size,
            # Batches above 10 messages need a window to gather them in (the lake writer's: Parquet files of many
            # events rather than of one).
            max_batching_window=cdk.Duration.seconds(trigger.batching_window_seconds)
            if trigger.batching_window_seconds
            else None,
            report_batch_item_failures=True,
            # The spec's figure, which the local pump runs side by side too; the function's reserved concurrency is
            # at least as much (infra/service_stack.py), so the poller never gets throttled messages back.
            max_concurrency=trigger.max_concurrency,
        )
        mapping.node.add_dependency(policy)
        self.monitoring.dead_letters(trigger)

    def _schedule(self, alias: lambda_.Alias, trigger: ScheduleSpec, name: str) -> None:
        failures = self.async_failures()
        role = iam.Role(
            self.stack,
            f"{trigger.function}-schedule-role",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": self.stack.account}}
            ),
            description=f"EventBridge Scheduler invokes {name}",
        )
        iam.ManagedPolicy(
            self.stack,
            f"{trigger.function}-schedule-policy",
            statements=[
                iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[alias.function_arn]),
                iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[failures.queue_arn]),
                self.arns.kms_via(self.shared.messaging_key.key_arn, ["kms:GenerateDataKey", "kms:Decrypt"], ["sqs"]),
            ],
            roles=[role],
        )
        scheduler.CfnSchedule(
            self.stack,
            f"{trigger.function}-schedule",
            name=name,
            description=f"Runs {trigger.function} on {rate_expression(trigger.every_minutes)}",
            schedule_expression=rate_expression(trigger.every_minutes),
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            state="ENABLED",
            target=scheduler.CfnSchedule.TargetProperty(
                arn=alias.function_arn,
                role_arn=role.role_arn,
                # The time the run was scheduled for, so a late or retried run still handles what was due then.
                input='{"time": "<aws.scheduler.scheduled-time>"}',
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                    maximum_event_age_in_seconds=trigger.every_minutes * 60, maximum_retry_attempts=3
                ),
                dead_letter_config=scheduler.CfnSchedule.DeadLetterConfigProperty(arn=failures.queue_arn),
            ),
        )
