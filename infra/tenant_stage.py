"""A tenant's stage. For now its data and messaging stack; service stacks join with the infrastructure issue."""

import json
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from caseline_common.resources import (
    BUCKETS,
    CONSUMERS,
    SIGNING_KEYS,
    TABLES,
    BucketSpec,
    TableSpec,
    TenantResourceNames,
)
from constructs import Construct

ANCHOR_RETENTION_DAYS = 10 * 365
_STREAM_VIEWS = {
    "NEW_IMAGE": dynamodb.StreamViewType.NEW_IMAGE,
    "NEW_AND_OLD_IMAGES": dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
}


def _attribute(name: str | None) -> dynamodb.Attribute | None:
    return dynamodb.Attribute(name=name, type=dynamodb.AttributeType.STRING) if name else None


class TenantDataStack(cdk.Stack):
    """Tables, documents bucket, tenant bus, and per consumer a rule -> queue (+ DLQ)."""

    def __init__(self, scope: Construct, construct_id: str, *, tenant_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        names = TenantResourceNames(tenant_id=tenant_id)
        self.tables = {spec.id: self._table(names, spec) for spec in TABLES}
        self.buckets = {spec.id: self._bucket(names, spec) for spec in BUCKETS}
        self.signing_keys = {
            spec.id: kms.Key(
                self,
                f"{spec.id}-key",
                alias=names.signing_key_alias(spec),
                key_spec=kms.KeySpec.ECC_NIST_P256,
                key_usage=kms.KeyUsage.SIGN_VERIFY,
                description=f"Signs {names.prefix()} {spec.id} exports",
                removal_policy=cdk.RemovalPolicy.RETAIN,
            )
            for spec in SIGNING_KEYS
        }
        self.bus = events.EventBus(self, "bus", event_bus_name=names.event_bus())
        self.queues: dict[str, sqs.Queue] = {}
        for consumer in CONSUMERS:
            dead_letters = sqs.Queue(
                self,
                f"{consumer.id}-dlq",
                queue_name=names.dead_letter_queue(consumer),
                encryption=sqs.QueueEncryption.SQS_MANAGED,
                enforce_ssl=True,
                retention_period=cdk.Duration.days(14),
            )
            queue = sqs.Queue(
                self,
                f"{consumer.id}-queue",
                queue_name=names.queue(consumer),
                encryption=sqs.QueueEncryption.SQS_MANAGED,
                enforce_ssl=True,
                visibility_timeout=cdk.Duration.seconds(consumer.visibility_timeout_seconds),
                dead_letter_queue=sqs.DeadLetterQueue(queue=dead_letters, max_receive_count=consumer.max_receive_count),
            )
            events.CfnRule(
                self,
                f"{consumer.id}-rule",
                name=names.rule(consumer),
                event_bus_name=self.bus.event_bus_name,
                event_pattern=json.loads(json.dumps(consumer.event_pattern)),
                targets=[events.CfnRule.TargetProperty(id="queue", arn=queue.queue_arn)],
            )
            queue.grant_send_messages(cdk.aws_iam.ServicePrincipal("events.amazonaws.com"))
            self.queues[consumer.service] = queue

    def _bucket(self, names: TenantResourceNames, spec: BucketSpec) -> s3.Bucket:
        return s3.Bucket(
            self,
            f"{spec.id}-bucket",
            bucket_name=names.bucket(spec, self.account),
            versioned=True,
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            removal_policy=cdk.RemovalPolicy.RETAIN,
            # Anchors must outlive any attempt to rewrite history: compliance mode cannot be lifted.
            object_lock_enabled=spec.object_lock or None,
            object_lock_default_retention=(
                s3.ObjectLockRetention.compliance(cdk.Duration.days(ANCHOR_RETENTION_DAYS))
                if spec.object_lock
                else None
            ),
        )

    def _table(self, names: TenantResourceNames, spec: TableSpec) -> dynamodb.Table:
        table = dynamodb.Table(
            self,
            f"{spec.id}-table",
            table_name=names.table(spec),
            partition_key=_attribute(spec.key.partition),
            sort_key=_attribute(spec.key.sort),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection=True,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            stream=_STREAM_VIEWS[spec.stream] if spec.stream else None,
            time_to_live_attribute=spec.ttl_attribute,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        for index in spec.indexes:
            table.add_global_secondary_index(
                index_name=index.name,
                partition_key=_attribute(index.key.partition),
                sort_key=_attribute(index.key.sort),
                projection_type=dynamodb.ProjectionType.ALL,
            )
        return table


class TenantStage(cdk.Stage):
    def __init__(self, scope: Construct, construct_id: str, *, tenant_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.data = TenantDataStack(self, "data", tenant_id=tenant_id, stack_name=f"caseline-{tenant_id}-data")
