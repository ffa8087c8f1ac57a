"""Each function's permissions: one customer-managed policy per function, written out statement by statement.

No CDK grants, which would add inline policies and broader actions: its log group, X-Ray, the tables, buckets and
keys its service owns (or shares), and what its trigger needs. Nothing of another tenant can be named: every ARN
is built from this tenant's resource names (no cross-stack exports, which could never change while imported).
"""

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from caseline_common.resources import (
    BUCKETS,
    SIGNING_KEYS,
    TABLES,
    WORK_QUEUES,
    QueueSpec,
    StreamHandlerSpec,
    TableSpec,
    TenantResourceNames,
    WorkQueueSpec,
)

from infra import nag
from infra.access import access_of
from infra.arns import TenantArns
from infra.functions import FunctionSpec
from infra.lake import LAKE_OBJECTS, EventLake
from infra.search_engine import SearchEngine
from infra.shared_stack import QUARANTINE_PREFIX, TenantSharedStack
from infra.tenants import Tenant
from infra.triggers import Trigger

_DELETE = "dynamodb:DeleteItem"
QUEUE_READ_ACTIONS = [
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueAttributes",
]


class FunctionPolicies:
    """Writes the policy of each function of one service, into the service's stack."""

    def __init__(
        self,
        stack: cdk.Stack,
        *,
        tenant: Tenant,
        service: str,
        shared: TenantSharedStack,
        search_engine: SearchEngine | None = None,
        lake: EventLake | None = None,
    ) -> None:
        self.stack, self.tenant, self.service, self.shared = stack, tenant, service, shared
        self.search_engine = search_engine
        self.lake = lake
        self.names = TenantResourceNames(tenant_id=tenant.id)
        self.arns = TenantArns(stack, tenant)

    def data_statements(self, spec: FunctionSpec) -> tuple[list[iam.PolicyStatement], list[str]]:
        """What the function does with the tables, buckets and keys its service owns or shares, as `infra.access`
        declares it; and the wildcard resources among them (object keys of the tenant's own buckets)."""
        shared, arns = self.shared, self.arns
        access = access_of(self.service, spec.name)
        statements: list[iam.PolicyStatement] = []
        wildcards: list[str] = []
        kms_data = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
        owned_tables = [table for table in TABLES if table.owner == self.service and access.actions_on(table.id)]
        if owned_tables:
            # One statement per set of actions: tables a function treats alike share one.
            alike: dict[tuple[str, ...], list[TableSpec]] = {}
            for table in owned_tables:
                alike.setdefault(access.actions_on(table.id), []).append(table)
            for actions, tables in alike.items():
                table_arns = [arns.table(self.names.table(table)) for table in tables]
                resources = table_arns + [
                    f"{arn}/index/{index.name}"
                    for arn, table in zip(table_arns, tables, strict=True)
                    for index in table.indexes
                ]
                anywhere = [action for action in actions if not (access.delete_only_under and action == _DELETE)]
                statements.append(iam.PolicyStatement(actions=anywhere, resources=resources))
                if access.delete_only_under and _DELETE in actions:
                    statements.append(
                        iam.PolicyStatement(
                            actions=[_DELETE],
                            resources=table_arns,  # items are deleted from a table, never from an index
                            conditions={
                                "ForAllValues:StringLike": {
                                    "dynamodb:LeadingKeys": [f"{prefix}*" for prefix in access.delete_only_under]
                                }
                            },
                        )
                    )
            statements.append(arns.kms_via(shared.data_keys[self.service].key_arn, kms_data, ["dynamodb"]))
        for bucket in BUCKETS:
            bucket_arn = arns.bucket(self.names.bucket(bucket, self.stack.account))
            key_arn = shared.data_keys[bucket.owner].key_arn
            objects, quarantine = f"{bucket_arn}/*", f"{bucket_arn}/{QUARANTINE_PREFIX}*"
            if bucket.owner == self.service and access.objects:
                statements.append(iam.PolicyStatement(actions=list(access.objects), resources=[objects]))
                if "s3:GetObject" in access.objects:
                    statements.append(iam.PolicyStatement(actions=["s3:ListBucket"], resources=[bucket_arn]))
                wildcards.append(objects)
            elif self.service in bucket.shared_with and access.shares_objects:
                statements.append(iam.PolicyStatement(actions=["s3:GetObject"], resources=[objects]))
                statements.append(iam.PolicyStatement(actions=["s3:PutObject"], resources=[quarantine]))
                wildcards += [objects, quarantine]
            else:
                continue
            # With S3 bucket keys the encryption context is the bucket's ARN: the key serves this bucket only.
            statements.append(arns.kms_via(key_arn, kms_data, ["s3"], **{"aws:s3:arn": bucket_arn}))
        if access.lists_users:
            pool = self.stack.format_arn(
                service="cognito-idp", resource="userpool", resource_name=shared.user_pool.user_pool_id
            )
            statements.append(
                iam.PolicyStatement(actions=["cognito-idp:ListUsers", "cognito-idp:ListUsersInGroup"], resources=[pool])
            )
        for signing in SIGNING_KEYS:
            if signing.owner == self.service and access.signs:
                key = shared.signing_keys[signing.id]
                statements.append(
                    iam.PolicyStatement(
                        actions=["kms:Sign", "kms:GetPublicKey", "kms:DescribeKey"], resources=[key.key_arn]
                    )
                )
        return statements, wildcards

    def _sends(self, queue: WorkQueueSpec, spec: FunctionSpec) -> bool:
        return queue.service == self.service and spec.name in queue.senders

    def policy(
        self,
        spec: FunctionSpec,
        role: iam.Role,
        log_group: logs.LogGroup,
        trigger: Trigger | None,
        failures: sqs.Queue | None,
    ) -> iam.ManagedPolicy:
        """The function's one policy: its logs, X-Ray, its data (a stream reader only its stream), its trigger's
        queue, where its failures go, what it may put on the bus, SES for the services that send e-mail, and the
        search engine for the search service's functions; an insight function's data is its part of the lake."""
        arns, messaging_key = self.arns, self.shared.messaging_key
        statements = [
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[log_group.log_group_arn]
            ),
        ]
        unscoped = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
        wildcards: list[str] = []
        if isinstance(trigger, StreamHandlerSpec):
            statements.append(
                iam.PolicyStatement(
                    actions=["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"],
                    resources=[arns.stream(trigger.table_id)],
                )
            )
            unscoped.append("dynamodb:ListStreams")
            # Stream records of a table encrypted with a customer-managed key are decrypted for the reader. AWS
            # documents no kms:ViaService value for DynamoDB Streams, so this one grant has no such condition; the
            # role reads nothing but the stream.
            statements.append(
                iam.PolicyStatement(actions=["kms:Decrypt"], resources=[self.shared.data_keys[self.service].key_arn])
            )
        elif self.lake is not None:  # the insight service: each function only its part of the lake and its table
            data, wildcards = self.lake.statements(spec.name)
            statements += data
        else:
            data, wildcards = self.data_statements(spec)
            statements += data
        if isinstance(trigger, QueueSpec):
            statements.append(
                iam.PolicyStatement(actions=QUEUE_READ_ACTIONS, resources=[arns.queue(self.names.queue(trigger))])
            )
            statements.append(arns.kms_via(messaging_key.key_arn, ["kms:Decrypt"], ["sqs"]))
        # The service's own queues this function sends work to (the webhook deliveries, from the consumer).
        sends_to = [arns.queue(self.names.queue(queue)) for queue in WORK_QUEUES if self._sends(queue, spec)]
        if sends_to:
            statements.append(iam.PolicyStatement(actions=["sqs:SendMessage", "sqs:GetQueueUrl"], resources=sends_to))
            statements.append(arns.kms_via(messaging_key.key_arn, ["kms:GenerateDataKey", "kms:Decrypt"], ["sqs"]))
        if failures is not None:
            statements.append(iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[failures.queue_arn]))
            statements.append(arns.kms_via(messaging_key.key_arn, ["kms:GenerateDataKey", "kms:Decrypt"], ["sqs"]))
        if spec.bus_sources:
            statements.append(
                iam.PolicyStatement(
                    actions=["events:PutEvents"],
                    resources=[arns.bus()],
                    conditions={"StringEquals": {"events:source": list(spec.bus_sources)}},
                )
            )
        if spec.sends_mail and not isinstance(trigger, WorkQueueSpec):
            # Only from the tenant's own identity, and only as its one sender address.
            statements.append(
                iam.PolicyStatement(
                    actions=["ses:SendEmail", "ses:SendRawEmail"],
                    resources=[arns.mail_identity(), arns.mail_configuration_set()],
                    conditions={"StringEquals": {"ses:FromAddress": self.tenant.mail_from}},
                )
            )
        if self.search_engine is not None:
            statements += self.search_engine.statements(spec.name)
        statements.append(iam.PolicyStatement(actions=unscoped, resources=["*"]))
        policy = iam.ManagedPolicy(
            self.stack,
            f"{spec.name}-policy",
            description=f"Caseline {self.tenant.id} {self.service} {spec.name}: what it reads and writes",
            statements=statements,
            roles=[role],
        )
        nag.acknowledge(policy, "AwsSolutions-IAM5[Resource::*]", nag.XRAY_AND_STREAM_LIST)
        objects = nag.BUCKET_OBJECTS if self.lake is None else LAKE_OBJECTS
        for wildcard in wildcards:
            nag.acknowledge_resource_wildcard(policy, wildcard, objects)
        if self.search_engine is not None:
            for wildcard in self.search_engine.wildcards(spec.name):
                nag.acknowledge_resource_wildcard(policy, wildcard, nag.SEARCH_INDEXES)
        return policy
