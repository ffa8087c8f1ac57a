"""The event lake's query side in AWS: the Glue Data Catalog table Athena reads the lake's Parquet through, the
tenant's Athena workgroup, and what each insight function may do with them, the lake bucket and the insight table.

The bucket itself is the shared stack's (from `LAKE_BUCKET`, like every bucket); the insight service's stack holds
this construct, as the search service's holds its engine. The table's columns are `caseline_common.lake`'s, the
ones the writer writes; its partitions are projected from the date (no crawler, no partition to add): a day is
found at `events/dt=YYYY-MM-DD/` whether or not anything was written that day.
"""

from typing import Literal

import aws_cdk as cdk
from aws_cdk import aws_athena as athena
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from caseline_common.lake import LAKE_COLUMNS, LAKE_PREFIX, PARTITION_COLUMN, lake_database
from caseline_common.resources import INSIGHT_TABLE, LAKE_BUCKET, TenantResourceNames
from constructs import Construct

from infra.arns import TenantArns
from infra.tenants import Tenant

INSIGHT_SERVICE = "insight"
EVENTS_TABLE = "events"
RESULTS_PREFIX = "athena-results/"
RESULTS_RETENTION_DAYS = 7  # the service caches what it reads of a result; Athena's own copy serves nobody after
ENGINE_VERSION = "Athena engine version 3"
PROJECTION_START = "2020-01-01"  # before any Caseline tenant's first event
# Athena cancels a query once it has read this much. A year of a 100,000-cases-a-month tenant is about 1.2 GB of
# Parquet (60 bytes an event) and a report reads a few of its columns, so no real report comes near it; a query
# gone wrong (no date range, every column) stops at 10 GB, $0.05 at $5 per TB.
BYTES_SCANNED_CUTOFF = 10 * 1024**3
_PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
_PARQUET_INPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
_PARQUET_OUTPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"

LakeAccess = Literal["write", "query", "compact"]
# What each insight function does with the lake: the writer adds Parquet objects (and records template readers);
# the API runs reports on Athena and caches their results; the compactor lists, reads, merges and deletes the
# objects under events/ (and uses no table).
LAKE_ACCESS: dict[str, LakeAccess] = {"lake_writer": "write", "api": "query", "compact_lake": "compact"}
_TABLE_ACTIONS: dict[LakeAccess, list[str]] = {
    # A template's readers and each case's latest columns, one conditional put each; the states of the cases whose
    # events came without one, in one BatchGetItem.
    "write": ["dynamodb:BatchGetItem", "dynamodb:PutItem"],
    "query": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"],
    "compact": [],
}
_KMS_TABLE = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"]  # as every service's tables
_KMS_OBJECTS = ["kms:Decrypt", "kms:GenerateDataKey"]
_ATHENA_ACTIONS = [
    "athena:StartQueryExecution",
    "athena:GetQueryExecution",
    "athena:GetQueryResults",
    "athena:StopQueryExecution",
]
_GLUE_ACTIONS = ["glue:GetDatabase", "glue:GetTable", "glue:GetPartition", "glue:GetPartitions"]
LAKE_OBJECTS = (
    "Object keys are generated at run time (the day's partition, a ULID or hash per file, Athena's query ids); the "
    "wildcard covers one prefix of this tenant's own lake bucket (events/ or athena-results/) only."
)


def workgroup_name(names: TenantResourceNames) -> str:
    return f"{names.prefix()}-insight"


class EventLake(Construct):
    """The tenant's lake table in the Glue Data Catalog and its Athena workgroup, in the insight service's stack."""

    def __init__(self, scope: Construct, construct_id: str, *, tenant: Tenant, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.tenant, self.key = tenant, key
        self.names = TenantResourceNames(tenant_id=tenant.id)
        self.arns = TenantArns(stack, tenant)
        self.bucket_name = self.names.bucket(LAKE_BUCKET, stack.account)
        self.database_name = lake_database(tenant.id)
        self.workgroup_name = workgroup_name(self.names)
        self.engine_url = f"athena://{self.workgroup_name}"  # the insight service's INSIGHT_ENGINE_ENV_VAR
        self.database = glue.CfnDatabase(
            self,
            "database",
            catalog_id=stack.account,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=self.database_name, description=f"Caseline {tenant.id}: the event lake (insight)"
            ),
        )
        self.table = self._table(stack)
        self.table.add_resource_dependency(self.database)
        self.workgroup = self._workgroup()

    def _table(self, stack: cdk.Stack) -> glue.CfnTable:
        location = f"s3://{self.bucket_name}/{LAKE_PREFIX}"
        return glue.CfnTable(
            self,
            "table",
            catalog_id=stack.account,
            database_name=self.database_name,
            table_input=glue.CfnTable.TableInputProperty(
                name=EVENTS_TABLE,
                description="Every case event, without personal data (docs/timeline.md, The lake)",
                table_type="EXTERNAL_TABLE",
                # Text ('YYYY-MM-DD', which sorts as the dates do): the reports compare it with string literals,
                # which Trino would refuse against a date (DuckDB, reading the directories as dates, casts them).
                partition_keys=[glue.CfnTable.ColumnProperty(name=PARTITION_COLUMN, type="string")],
                parameters={
                    "EXTERNAL": "TRUE",
                    "classification": "parquet",
                    "projection.enabled": "true",
                    f"projection.{PARTITION_COLUMN}.type": "date",
                    f"projection.{PARTITION_COLUMN}.format": "yyyy-MM-dd",
                    f"projection.{PARTITION_COLUMN}.range": f"{PROJECTION_START},NOW",
                    f"projection.{PARTITION_COLUMN}.interval": "1",
                    f"projection.{PARTITION_COLUMN}.interval.unit": "DAYS",
                    "storage.location.template": f"{location}{PARTITION_COLUMN}=${{{PARTITION_COLUMN}}}/",
                },
                storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                    columns=[
                        glue.CfnTable.ColumnProperty(name=column.name, type=column.type, comment=column.comment)
                        for column in LAKE_COLUMNS
                    ],
                    location=location,
                    input_format=_PARQUET_INPUT,
                    output_format=_PARQUET_OUTPUT,
                    serde_info=glue.CfnTable.SerdeInfoProperty(serialization_library=_PARQUET_SERDE),
                    compressed=True,  # zstd, inside the Parquet files
                ),
            ),
        )

    def _workgroup(self) -> athena.CfnWorkGroup:
        stack = cdk.Stack.of(self)
        return athena.CfnWorkGroup(
            self,
            "workgroup",
            name=self.workgroup_name,
            description=f"Caseline {self.tenant.id}: insight reports over the event lake",
            state="ENABLED",
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                # Queries cannot choose another result location, encryption or limit than these.
                enforce_work_group_configuration=True,
                bytes_scanned_cutoff_per_query=BYTES_SCANNED_CUTOFF,
                publish_cloud_watch_metrics_enabled=True,
                engine_version=athena.CfnWorkGroup.EngineVersionProperty(selected_engine_version=ENGINE_VERSION),
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=f"s3://{self.bucket_name}/{RESULTS_PREFIX}",
                    encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                        encryption_option="SSE_KMS", kms_key=self.key.key_arn
                    ),
                    expected_bucket_owner=stack.account,
                ),
            ),
        )

    # Access ---------------------------------------------------------------------------------------------------

    def statements(self, function: str) -> tuple[list[iam.PolicyStatement], list[str]]:
        """Everything the insight function may do with its data (it owns nothing else): the lake's objects, the
        insight table, the catalog and the workgroup; and the wildcard resources among them (one prefix each)."""
        access = LAKE_ACCESS[function]
        arns, stack = self.arns, cdk.Stack.of(self)
        bucket = arns.bucket(self.bucket_name)
        table = arns.table(self.names.table(INSIGHT_TABLE))
        events, results = f"{bucket}/{LAKE_PREFIX}*", f"{bucket}/{RESULTS_PREFIX}*"
        # With S3 bucket keys the encryption context is the bucket's ARN: the key serves this bucket only.
        statements = [arns.kms_via(self.key.key_arn, _KMS_OBJECTS, ["s3"], **{"aws:s3:arn": bucket})]
        if _TABLE_ACTIONS[access]:
            statements += [
                iam.PolicyStatement(actions=_TABLE_ACTIONS[access], resources=[table]),
                arns.kms_via(self.key.key_arn, _KMS_TABLE, ["dynamodb"]),
            ]
        if access == "write":
            statements.append(iam.PolicyStatement(actions=["s3:PutObject"], resources=[events]))
            return statements, [events]
        if access == "compact":
            statements += [
                iam.PolicyStatement(
                    actions=["s3:ListBucket"],
                    resources=[bucket],
                    conditions={"StringLike": {"s3:prefix": [f"{LAKE_PREFIX}*"]}},
                ),
                iam.PolicyStatement(actions=["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], resources=[events]),
            ]
            return statements, [events]
        # Athena reads and writes S3 with the caller's own permissions: the lake's files, and its results.
        database = stack.format_arn(service="glue", resource="database", resource_name=self.database_name)
        statements += [
            iam.PolicyStatement(actions=_ATHENA_ACTIONS, resources=[self.workgroup_arn]),
            iam.PolicyStatement(
                actions=_GLUE_ACTIONS,
                resources=[
                    stack.format_arn(service="glue", resource="catalog", arn_format=cdk.ArnFormat.NO_RESOURCE_NAME),
                    database,
                    stack.format_arn(
                        service="glue", resource="table", resource_name=f"{self.database_name}/{EVENTS_TABLE}"
                    ),
                ],
            ),
            iam.PolicyStatement(actions=["s3:GetObject"], resources=[events, results]),
            iam.PolicyStatement(actions=["s3:PutObject"], resources=[results]),
            iam.PolicyStatement(actions=["s3:ListBucket", "s3:GetBucketLocation"], resources=[bucket]),
        ]
        return statements, [events, results]

    @property
    def workgroup_arn(self) -> str:
        return cdk.Stack.of(self).format_arn(service="athena", resource="workgroup", resource_name=self.workgroup_name)
