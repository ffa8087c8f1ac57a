"""One service's stack: its functions, their event sources, schedules, permissions and alarms.

Each function has its own role whose only policy is one customer-managed policy written out here statement by
statement (no CDK grants, which would add inline policies and broader actions): its log group, X-Ray, the
tables, buckets and keys its service owns (or shares), and what its trigger needs. Nothing of another tenant
can be named: every ARN is built from this tenant's resources.
"""

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from caseline_common.observability import METRICS_NAMESPACE
from caseline_common.resources import (
    BUCKETS,
    CONSUMERS,
    SCHEDULES,
    SIGNING_KEYS,
    STREAM_HANDLERS,
    TABLES,
    ConsumerSpec,
    ScheduleSpec,
    StreamHandlerSpec,
    TenantResourceNames,
    download_environment,
    service_environment,
)
from constructs import Construct

from infra import nag
from infra.functions import MAIL_SENDERS, FunctionSpec, service_functions, wired_function_names
from infra.package import LambdaPackage
from infra.shared_stack import QUARANTINE_PREFIX, TenantSharedStack, alarm_topic_name, log_group_prefix
from infra.tenants import Tenant

LOG_RETENTION = logs.RetentionDays.ONE_YEAR
STREAM_RETRY_ATTEMPTS = 10
SLA_BREACH_METRIC = "SlaBreaches"
WEBHOOK_DEAD_LETTER_METRIC = "WebhookDeadLettered"
_DATA_ACTIONS = [
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:BatchWriteItem",
]  # no Scan: the services never scan, and now they cannot


def rate_expression(every_minutes: int) -> str:
    """A Scheduler rate expression: the unit is singular for 1 and plural above (`rate(1 hours)` is invalid)."""
    return f"rate({every_minutes} {'minute' if every_minutes == 1 else 'minutes'})"


class PackageMismatchError(ValueError):
    """The package and the resource specs disagree about which functions exist."""


class ServiceStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        tenant: Tenant,
        service: str,
        package: LambdaPackage,
        shared: TenantSharedStack,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.tenant, self.service, self.shared = tenant, service, shared
        self.names = TenantResourceNames(tenant_id=tenant.id)
        packaged = set(package.handlers) - {"api"}
        wired = wired_function_names(service)
        if packaged != wired:
            raise PackageMismatchError(
                f"{service}: the package has functions {sorted(packaged)} but the specs wire {sorted(wired)}; "
                "wire each function in caseline_common.resources (or package again)"
            )
        self.code = lambda_.Code.from_asset(
            str(package.zip_path), asset_hash=package.content_hash, asset_hash_type=cdk.AssetHashType.CUSTOM
        )
        self.package = package
        self.function_environment = self._environment()
        self.alarm_topic = sns.Topic.from_topic_arn(
            self,
            "alarm-topic",
            self.format_arn(
                service="sns", resource=alarm_topic_name(self.names), arn_format=cdk.ArnFormat.NO_RESOURCE_NAME
            ),
        )
        self.functions: dict[str, lambda_.Function] = {}
        self._async_failures: sqs.Queue | None = None
        for spec in service_functions(service):
            self.functions[spec.name] = self._function(spec)
        self._service_alarms()

    # Shared pieces ------------------------------------------------------------------------------------------

    def _environment(self) -> dict[str, str]:
        shared = self.shared
        environment = {
            **service_environment(self.names, self.service, self.account),
            **download_environment(self.service, shared.downloads.url),
            "CASELINE_AWS_REGION": self.region,
            "CASELINE_OIDC_ISSUER": shared.oidc_issuer,
            "CASELINE_OIDC_CLIENT_IDS": self.to_json_string(
                [shared.staff_client.user_pool_client_id, shared.integrator_client.user_pool_client_id]
            ),
            "CASELINE_CONSOLE_ORIGIN": shared.console.origin,
            "POWERTOOLS_SERVICE_NAME": self.service,
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
            "POWERTOOLS_LOG_LEVEL": "INFO",
        }
        if self.service == "portal":
            environment["CASELINE_PORTAL_BASE_URL"] = self.tenant.public_url
        if self.service in MAIL_SENDERS:
            environment["CASELINE_MAIL_FROM"] = self.tenant.mail_from
        return environment

    def _failure_queue(self, construct_id: str, name: str) -> sqs.Queue:
        queue = sqs.Queue(
            self,
            construct_id,
            queue_name=name,
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.shared.messaging_key,
            data_key_reuse=cdk.Duration.hours(1),
            enforce_ssl=True,
            retention_period=cdk.Duration.days(14),
        )
        self._alarm(f"{self.service}-{construct_id}", self._queue_depth(name), f"{name} holds failed work")
        return queue

    def async_failures(self) -> sqs.Queue:
        if self._async_failures is None:
            self._async_failures = self._failure_queue(
                "async-failures", f"{self.names.prefix()}-{self.service}-async-dlq"
            )
        return self._async_failures

    def _queue_depth(self, queue_name: str) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace="AWS/SQS",
            metric_name="ApproximateNumberOfMessagesVisible",
            dimensions_map={"QueueName": queue_name},
            statistic="Maximum",
            period=cdk.Duration.minutes(5),
        )

    def _alarm(
        self,
        construct_id: str,
        metric: cloudwatch.IMetric,
        description: str,
        *,
        threshold: float = 1,
        evaluation_periods: int = 1,
    ) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            alarm_name=f"{self.names.prefix()}-{construct_id}",
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            evaluation_periods=evaluation_periods,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(cloudwatch_actions.SnsAction(self.alarm_topic))
        return alarm

    # Permissions --------------------------------------------------------------------------------------------

    # ARNs from this tenant's names (no cross-stack exports, which could never change while imported) ---------

    def _table_arn(self, table_name: str) -> str:
        return self.format_arn(service="dynamodb", resource="table", resource_name=table_name)

    def _bucket_arn(self, bucket_name: str) -> str:
        return f"arn:{self.partition}:s3:::{bucket_name}"

    def _queue_arn(self, queue_name: str) -> str:
        return self.format_arn(service="sqs", resource=queue_name, arn_format=cdk.ArnFormat.NO_RESOURCE_NAME)

    def _mail_identity_arn(self) -> str:
        """The SES identity of the tenant's domain (created and verified in the shared stack's region)."""
        return self.format_arn(service="ses", resource="identity", resource_name=self.tenant.domain)

    def _bus_arn(self) -> str:
        return self.format_arn(service="events", resource="event-bus", resource_name=self.names.event_bus())

    def _kms_via(self, key_arn: str, actions: list[str], services: list[str], **context: str) -> iam.PolicyStatement:
        conditions: dict[str, Any] = {
            "StringEquals": {"kms:ViaService": [f"{name}.{self.region}.amazonaws.com" for name in services]}
        }
        if context:
            conditions["StringEquals"].update({f"kms:EncryptionContext:{k}": v for k, v in context.items()})
        return iam.PolicyStatement(actions=actions, resources=[key_arn], conditions=conditions)

    def _data_statements(self) -> tuple[list[iam.PolicyStatement], list[str]]:
        """The tables, buckets and keys the service owns or shares, for its API, consumers and schedules; and the
        wildcard resources among them (object keys of the tenant's own buckets)."""
        shared = self.shared
        statements: list[iam.PolicyStatement] = []
        wildcards: list[str] = []
        kms_data = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
        owned_tables = [table for table in TABLES if table.owner == self.service]
        if owned_tables:
            resources = []
            for table in owned_tables:
                table_arn = self._table_arn(self.names.table(table))
                resources.append(table_arn)
                resources += [f"{table_arn}/index/{index.name}" for index in table.indexes]
            statements.append(iam.PolicyStatement(actions=_DATA_ACTIONS, resources=resources))
            statements.append(self._kms_via(shared.data_keys[self.service].key_arn, kms_data, ["dynamodb"]))
        for spec in BUCKETS:
            bucket_arn = self._bucket_arn(self.names.bucket(spec, self.account))
            key_arn = shared.data_keys[spec.owner].key_arn
            objects, quarantine = f"{bucket_arn}/*", f"{bucket_arn}/{QUARANTINE_PREFIX}*"
            if spec.owner == self.service:
                object_actions = ["s3:GetObject", "s3:PutObject"] + ([] if spec.object_lock else ["s3:DeleteObject"])
                statements.append(iam.PolicyStatement(actions=object_actions, resources=[objects]))
                statements.append(iam.PolicyStatement(actions=["s3:ListBucket"], resources=[bucket_arn]))
                wildcards.append(objects)
            elif self.service in spec.shared_with:
                statements.append(iam.PolicyStatement(actions=["s3:GetObject"], resources=[objects]))
                statements.append(iam.PolicyStatement(actions=["s3:PutObject"], resources=[quarantine]))
                wildcards += [objects, quarantine]
            else:
                continue
            # With S3 bucket keys the encryption context is the bucket's ARN: the key serves this bucket only.
            statements.append(self._kms_via(key_arn, kms_data, ["s3"], **{"aws:s3:arn": bucket_arn}))
        for signing in SIGNING_KEYS:
            if signing.owner == self.service:
                key = shared.signing_keys[signing.id]
                statements.append(
                    iam.PolicyStatement(
                        actions=["kms:Sign", "kms:GetPublicKey", "kms:DescribeKey"], resources=[key.key_arn]
                    )
                )
        return statements, wildcards

    def _policy(self, spec: FunctionSpec, role: iam.Role, log_group: logs.LogGroup) -> iam.ManagedPolicy:
        statements = [
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[log_group.log_group_arn]
            ),
        ]
        unscoped = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
        wildcards: list[str] = []
        trigger = self._trigger(spec)
        if isinstance(trigger, StreamHandlerSpec):
            table = self.shared.tables[trigger.table_id]
            assert table.table_stream_arn is not None
            statements.append(
                iam.PolicyStatement(
                    actions=["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"],
                    resources=[table.table_stream_arn],
                )
            )
            unscoped.append("dynamodb:ListStreams")
            # Stream records of a table encrypted with a customer-managed key are decrypted for the reader. AWS
            # documents no kms:ViaService value for DynamoDB Streams, so this one grant has no such condition; the
            # role reads nothing but the stream.
            statements.append(
                iam.PolicyStatement(actions=["kms:Decrypt"], resources=[self.shared.data_keys[self.service].key_arn])
            )
        else:
            data, wildcards = self._data_statements()
            statements += data
        if isinstance(trigger, ConsumerSpec):
            statements.append(
                iam.PolicyStatement(
                    actions=[
                        "sqs:ReceiveMessage",
                        "sqs:DeleteMessage",
                        "sqs:ChangeMessageVisibility",
                        "sqs:GetQueueAttributes",
                    ],
                    resources=[self._queue_arn(self.names.queue(trigger))],
                )
            )
            statements.append(self._kms_via(self.shared.messaging_key.key_arn, ["kms:Decrypt"], ["sqs"]))
        failures = self._failure_target(spec)
        if failures is not None:
            statements.append(iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[failures.queue_arn]))
            statements.append(
                self._kms_via(self.shared.messaging_key.key_arn, ["kms:GenerateDataKey", "kms:Decrypt"], ["sqs"])
            )
        if spec.bus_sources:
            statements.append(
                iam.PolicyStatement(
                    actions=["events:PutEvents"],
                    resources=[self._bus_arn()],
                    conditions={"StringEquals": {"events:source": list(spec.bus_sources)}},
                )
            )
        if self.service in MAIL_SENDERS and spec.kind != "stream":
            # Only from the tenant's own identity, and only as its one sender address.
            statements.append(
                iam.PolicyStatement(
                    actions=["ses:SendEmail", "ses:SendRawEmail"],
                    resources=[self._mail_identity_arn()],
                    conditions={"StringEquals": {"ses:FromAddress": self.tenant.mail_from}},
                )
            )
        statements.append(iam.PolicyStatement(actions=unscoped, resources=["*"]))
        policy = iam.ManagedPolicy(
            self,
            f"{spec.name}-policy",
            description=f"Caseline {self.tenant.id} {self.service} {spec.name}: what it reads and writes",
            statements=statements,
            roles=[role],
        )
        nag.acknowledge(policy, "AwsSolutions-IAM5[Resource::*]", nag.XRAY_AND_STREAM_LIST)
        for wildcard in wildcards:
            nag.acknowledge_resource_wildcard(policy, wildcard, nag.BUCKET_OBJECTS)
        return policy

    # Functions ----------------------------------------------------------------------------------------------

    def _trigger(self, spec: FunctionSpec) -> StreamHandlerSpec | ConsumerSpec | ScheduleSpec | None:
        for trigger in (*STREAM_HANDLERS, *CONSUMERS, *SCHEDULES):
            if (trigger.service, trigger.function) == (self.service, spec.name):
                return trigger
        return None

    def _failure_target(self, spec: FunctionSpec) -> sqs.Queue | None:
        if spec.kind == "stream":
            return self._stream_failures()
        if spec.kind == "schedule":
            return self.async_failures()
        return None

    def _stream_failures(self) -> sqs.Queue:
        existing = self.node.try_find_child("stream-failures")
        if isinstance(existing, sqs.Queue):
            return existing
        queue = self._failure_queue("stream-failures", f"{self.names.prefix()}-{self.service}-stream-failures")
        nag.acknowledge(
            queue,
            "AwsSolutions-SQS3",
            "This queue is a dead-letter queue itself: the outbox stream's on-failure destination, which receives "
            "the shard and sequence numbers of batches that failed every retry.",
        )
        return queue

    def _reserved_concurrency(self, spec: FunctionSpec) -> int:
        limits = self.tenant.limits
        return {
            "api": limits.api_concurrency,
            "stream": limits.stream_concurrency,
            "consumer": limits.consumer_concurrency,
            "schedule": limits.schedule_concurrency,
        }[spec.kind]

    def _function(self, spec: FunctionSpec) -> lambda_.Function:
        name = spec.function_name(self.names)
        log_group = logs.LogGroup(
            self,
            f"{spec.name}-logs",
            log_group_name=f"{log_group_prefix(self.names)}lambda/{name}",
            retention=LOG_RETENTION,
            encryption_key=self.shared.logs_key,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        role = iam.Role(
            self,
            f"{spec.name}-role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Caseline {self.tenant.id}: {name}",
        )
        policy = self._policy(spec, role, log_group)
        failures = self._failure_target(spec)
        function = lambda_.Function(
            self,
            f"{spec.name}-function",
            function_name=name,
            description=f"Caseline {self.service}: {spec.name} ({spec.kind})",
            runtime=lambda_.Runtime.PYTHON_3_11,
            architecture=lambda_.Architecture.ARM_64,
            handler=self.package.handlers[spec.name],
            code=self.code,
            memory_size=spec.memory_mb,
            timeout=cdk.Duration.seconds(spec.timeout_seconds),
            # The policy above is the role's only policy: CDK's own grants (tracing, DLQ) would go inline.
            role=role.without_policy_updates(),
            environment=self.function_environment,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group,
            reserved_concurrent_executions=self._reserved_concurrency(spec),
            dead_letter_queue=failures if spec.kind == "schedule" else None,
        )
        function.node.add_dependency(policy)
        self._acknowledge_function(function, spec)
        trigger = self._trigger(spec)
        if isinstance(trigger, StreamHandlerSpec):
            self._stream_source(function, trigger, policy)
        elif isinstance(trigger, ConsumerSpec):
            self._queue_source(function, trigger, policy)
        elif isinstance(trigger, ScheduleSpec):
            self._schedule(function, trigger, name)
        self._function_alarms(spec, function, name)
        return function

    def _acknowledge_function(self, function: lambda_.Function, spec: FunctionSpec) -> None:
        nag.acknowledge(function, "HIPAA.Security-LambdaInsideVPC", nag.NOT_IN_VPC)
        nag.acknowledge(
            function,
            "AwsSolutions-L1",
            "The services are built, locked and tested for Python 3.11 (pyproject requires-python, cp311 wheels), "
            "a runtime Lambda supports; moving every function to a newer runtime is one project-wide change.",
        )
        if spec.kind != "schedule":
            nag.acknowledge(function, "HIPAA.Security-LambdaDLQ", nag.SYNC_INVOCATION)

    def _stream_source(self, function: lambda_.Function, trigger: StreamHandlerSpec, policy: iam.ManagedPolicy) -> None:
        table = self.shared.tables[trigger.table_id]
        assert table.table_stream_arn is not None
        mapping = lambda_.EventSourceMapping(
            self,
            f"{trigger.function}-stream",
            target=function,
            event_source_arn=table.table_stream_arn,
            # From the oldest record still in the stream: a mapping (re)created after writes loses nothing.
            starting_position=lambda_.StartingPosition.TRIM_HORIZON,
            batch_size=trigger.batch_size,
            bisect_batch_on_error=True,
            retry_attempts=STREAM_RETRY_ATTEMPTS,
            report_batch_item_failures=True,
            parallelization_factor=1,
            on_failure=event_sources.SqsDlq(self._stream_failures()),
        )
        mapping.node.add_dependency(policy)
        self._alarm(
            f"{trigger.function.replace('_', '-')}-iterator-age",
            function.metric("IteratorAge", statistic="Maximum", period=cdk.Duration.minutes(1)),
            "Outbox events wait more than a minute to be published (the stream is falling behind)",
            threshold=60_000,
            evaluation_periods=5,
        )

    def _queue_source(self, function: lambda_.Function, trigger: ConsumerSpec, policy: iam.ManagedPolicy) -> None:
        mapping = lambda_.EventSourceMapping(
            self,
            f"{trigger.function}-queue",
            target=function,
            event_source_arn=self._queue_arn(self.names.queue(trigger)),
            batch_size=trigger.batch_size,
            report_batch_item_failures=True,
            # Equal to the function's reserved concurrency, so the poller never gets throttled messages back.
            max_concurrency=max(2, self.tenant.limits.consumer_concurrency),
        )
        mapping.node.add_dependency(policy)
        self._alarm(
            f"{trigger.name}-dlq-depth",
            self._queue_depth(self.names.dead_letter_queue(trigger)),
            f"{trigger.function} gave up on events: they are in {self.names.dead_letter_queue(trigger)}",
        )

    def _schedule(self, function: lambda_.Function, trigger: ScheduleSpec, name: str) -> None:
        failures = self.async_failures()
        role = iam.Role(
            self,
            f"{trigger.function}-schedule-role",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": self.account}}
            ),
            description=f"EventBridge Scheduler invokes {name}",
        )
        iam.ManagedPolicy(
            self,
            f"{trigger.function}-schedule-policy",
            statements=[
                iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[function.function_arn]),
                iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[failures.queue_arn]),
                self._kms_via(self.shared.messaging_key.key_arn, ["kms:GenerateDataKey", "kms:Decrypt"], ["sqs"]),
            ],
            roles=[role],
        )
        scheduler.CfnSchedule(
            self,
            f"{trigger.function}-schedule",
            name=name,
            description=f"Runs {trigger.function} on {rate_expression(trigger.every_minutes)}",
            schedule_expression=rate_expression(trigger.every_minutes),
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            state="ENABLED",
            target=scheduler.CfnSchedule.TargetProperty(
                arn=function.function_arn,
                role_arn=role.role_arn,
                # The time the run was scheduled for, so a late or retried run still handles what was due then.
                input='{"time": "<aws.scheduler.scheduled-time>"}',
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                    maximum_event_age_in_seconds=trigger.every_minutes * 60, maximum_retry_attempts=3
                ),
                dead_letter_config=scheduler.CfnSchedule.DeadLetterConfigProperty(arn=failures.queue_arn),
            ),
        )

    def _function_alarms(self, spec: FunctionSpec, function: lambda_.Function, name: str) -> None:
        period = cdk.Duration.minutes(5)
        self._alarm(
            f"{spec.short_name}-errors",
            function.metric_errors(period=period, statistic="Sum"),
            f"{name} failed (unhandled errors or timeouts)",
        )
        self._alarm(
            f"{spec.short_name}-throttles",
            function.metric_throttles(period=period, statistic="Sum"),
            f"{name} was throttled: its reserved concurrency ({self._reserved_concurrency(spec)}) is exhausted",
        )

    def _service_alarms(self) -> None:
        """Business alarms on the Powertools metrics a service emits (namespace Caseline, dimension service)."""
        if self.service != "automations":
            return

        def metric(name: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace=METRICS_NAMESPACE,
                metric_name=name,
                dimensions_map={"service": self.service},
                statistic="Sum",
                period=cdk.Duration.minutes(5),
            )

        self._alarm(
            "sla-breaches", metric(SLA_BREACH_METRIC), "Cases breached their SLA (automations' SlaBreaches metric)"
        )
        self._alarm(
            "webhook-dead-letters",
            metric(WEBHOOK_DEAD_LETTER_METRIC),
            "Webhook deliveries failed every attempt and were dead-lettered (automations' WebhookDeadLettered metric)",
        )
