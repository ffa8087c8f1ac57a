"""The event lake in AWS: the lake bucket (shared stack), and in the insight service's stack the Glue table Athena
reads it through, the tenant's Athena workgroup, the writer's batching mapping and each function's narrow policy."""

import json
import re
from typing import Any

import pytest
from caseline_common.lake import LAKE_COLUMNS, lake_database
from caseline_common.resources import CONSUMERS, INSIGHT_ENGINE_ENV_VAR, LAKE_BUCKET, TenantResourceNames

from infra.lake import BYTES_SCANNED_CUTOFF
from infra.tenants import TenantRegistry
from tests.infra.conftest import Synthesized, resources

TENANT = "demo"
NAMES = TenantResourceNames(tenant_id=TENANT)
WRITER = next(spec for spec in CONSUMERS if spec.function == "lake_writer")


@pytest.fixture(scope="module")
def insight(assembly: Synthesized) -> dict[str, Any]:
    return assembly.template(TENANT, "insight")


def _only(template: dict[str, Any], resource_type: str) -> dict[str, Any]:
    (body,) = resources(template, resource_type).values()
    properties: dict[str, Any] = body["Properties"]
    return properties


def _text(node: Any) -> str:
    """A value with CloudFormation's joins flattened, `Ref`s and imports as <name>: what a reader would see."""
    if isinstance(node, str):
        return node
    if isinstance(node, dict) and set(node) == {"Fn::Join"}:
        separator, parts = node["Fn::Join"]
        return str(separator).join(_text(part) for part in parts)
    if isinstance(node, dict) and set(node) == {"Ref"}:
        return f"<{node['Ref']}>"
    if isinstance(node, dict) and set(node) == {"Fn::ImportValue"}:
        return f"<import {node['Fn::ImportValue']}>"
    return json.dumps(node)


BUCKET = "caseline-demo-lake-<AWS::AccountId>"


def test_glue_database_names_take_the_tenant_id_with_underscores() -> None:
    assert lake_database("demo") == "caseline_demo"
    assert lake_database("acme-eu-2") == "caseline_acme_eu_2"
    assert re.fullmatch(r"[a-z0-9_]+", lake_database("a-b-c"))


def test_the_lake_bucket_is_private_versioned_tls_only_and_encrypted_with_the_insight_key(
    assembly: Synthesized,
) -> None:
    shared = assembly.template(TENANT, "shared")
    (logical_id,) = [
        name
        for name, body in resources(shared, "AWS::S3::Bucket").items()
        if _text(body["Properties"]["BucketName"]) == BUCKET
    ]
    bucket = shared["Resources"][logical_id]["Properties"]
    (encryption,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    key = encryption["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]["Fn::GetAtt"][0]
    assert key.startswith(f"{LAKE_BUCKET.owner}datakey")  # the insight service's own key, as its table's
    assert encryption["BucketKeyEnabled"] is True
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert "CorsConfiguration" not in bucket  # nobody uploads to it from a browser
    rules = {rule["Id"]: rule for rule in bucket["LifecycleConfiguration"]["Rules"]}
    assert rules["athena-results"]["Prefix"] == "athena-results/"
    assert rules["athena-results"]["ExpirationInDays"] == 7
    assert all("ExpirationInDays" not in rule for name, rule in rules.items() if name != "athena-results")
    (policy,) = [
        body["Properties"]
        for body in resources(shared, "AWS::S3::BucketPolicy").values()
        if body["Properties"]["Bucket"] == {"Ref": logical_id}
    ]
    assert any(
        statement["Effect"] == "Deny" and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for statement in policy["PolicyDocument"]["Statement"]
    )


def test_the_catalog_declares_every_lake_column_as_parquet_with_projected_date_partitions(
    insight: dict[str, Any],
) -> None:
    database = _only(insight, "AWS::Glue::Database")
    assert database["DatabaseInput"]["Name"] == "caseline_demo"
    table = _only(insight, "AWS::Glue::Table")
    assert table["DatabaseName"] == "caseline_demo"
    table_input = table["TableInput"]
    assert table_input["Name"] == "events"
    assert table_input["TableType"] == "EXTERNAL_TABLE"
    storage = table_input["StorageDescriptor"]
    assert [(column["Name"], column["Type"]) for column in storage["Columns"]] == [
        (column.name, column.type) for column in LAKE_COLUMNS
    ]
    assert _text(storage["Location"]) == f"s3://{BUCKET}/events/"
    assert storage["SerdeInfo"]["SerializationLibrary"] == "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
    assert storage["InputFormat"].endswith("MapredParquetInputFormat")
    assert table_input["PartitionKeys"] == [{"Name": "dt", "Type": "string"}]  # the reports compare it with text
    parameters = {name: _text(value) for name, value in table_input["Parameters"].items()}
    assert parameters["projection.enabled"] == "true"
    assert parameters["projection.dt.type"] == "date"
    assert parameters["projection.dt.format"] == "yyyy-MM-dd"
    assert parameters["projection.dt.range"] == "2020-01-01,NOW"
    assert (parameters["projection.dt.interval"], parameters["projection.dt.interval.unit"]) == ("1", "DAYS")
    assert parameters["storage.location.template"] == f"s3://{BUCKET}/events/dt=${{dt}}/"


def test_each_tenant_has_its_own_workgroup_with_encrypted_results_a_scan_limit_and_enforced_settings(
    assembly: Synthesized, registry: TenantRegistry
) -> None:
    for tenant_id in registry.tenants:
        workgroup = _only(assembly.template(tenant_id, "insight"), "AWS::Athena::WorkGroup")
        assert workgroup["Name"] == f"caseline-{tenant_id}-insight"
        configuration = workgroup["WorkGroupConfiguration"]
        assert configuration["EnforceWorkGroupConfiguration"] is True
        assert configuration["BytesScannedCutoffPerQuery"] == BYTES_SCANNED_CUTOFF == 10 * 1024**3
        assert configuration["PublishCloudWatchMetricsEnabled"] is True
        assert configuration["EngineVersion"] == {"SelectedEngineVersion": "Athena engine version 3"}
        results = configuration["ResultConfiguration"]
        assert _text(results["OutputLocation"]).startswith(f"s3://caseline-{tenant_id}-lake-")
        assert _text(results["OutputLocation"]).endswith("/athena-results/")
        encryption = results["EncryptionConfiguration"]
        assert encryption["EncryptionOption"] == "SSE_KMS"
        assert "insightdatakey" in _text(encryption["KmsKey"])


def test_the_writer_reads_batches_of_1000_gathered_for_up_to_five_minutes(insight: dict[str, Any]) -> None:
    (mapping,) = resources(insight, "AWS::Lambda::EventSourceMapping").values()
    properties = mapping["Properties"]
    assert NAMES.queue(WRITER) in _text(properties["EventSourceArn"])
    assert (properties["BatchSize"], properties["MaximumBatchingWindowInSeconds"]) == (1000, 300)
    assert properties["ScalingConfig"] == {"MaximumConcurrency": 2}
    assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_every_function_knows_the_tenants_workgroup_and_lake(insight: dict[str, Any]) -> None:
    functions = resources(insight, "AWS::Lambda::Function").values()
    assert len(functions) == 3  # the API, the writer, the compactor
    for function in functions:
        variables = function["Properties"]["Environment"]["Variables"]
        assert variables[INSIGHT_ENGINE_ENV_VAR] == "athena://caseline-demo-insight"
        assert _text(variables[LAKE_BUCKET.env_var]) == BUCKET


def _grants(insight: dict[str, Any], function: str) -> dict[str, set[str]]:
    """What a function's policy allows, by action: the resources, as text."""
    (policy,) = [
        body["Properties"]["PolicyDocument"]
        for logical_id, body in resources(insight, "AWS::IAM::ManagedPolicy").items()
        if logical_id.startswith(f"{function.replace('_', '')}policy")
    ]
    grants: dict[str, set[str]] = {}
    for statement in policy["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        targets = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for action in actions:
            grants.setdefault(action, set()).update(_text(target) for target in targets)
    return grants


def _by_service(grants: dict[str, set[str]], service: str) -> dict[str, set[str]]:
    return {action: targets for action, targets in grants.items() if action.startswith(f"{service}:")}


TABLE = "arn:<AWS::Partition>:dynamodb:us-east-1:<AWS::AccountId>:table/caseline-demo-insight"
LAKE = f"arn:<AWS::Partition>:s3:::{BUCKET}"


def test_the_writer_may_only_add_lake_files_and_record_template_readers(insight: dict[str, Any]) -> None:
    grants = _grants(insight, "lake_writer")
    assert _by_service(grants, "s3") == {"s3:PutObject": {f"{LAKE}/events/*"}}
    assert _by_service(grants, "dynamodb") == {"dynamodb:BatchGetItem": {TABLE}, "dynamodb:PutItem": {TABLE}}
    assert not _by_service(grants, "athena")
    assert not _by_service(grants, "glue")
    assert {"kms:Decrypt", "kms:GenerateDataKey"} <= set(_by_service(grants, "kms"))


def test_the_api_may_only_query_its_workgroup_read_the_catalog_and_the_lake_and_keep_results(
    insight: dict[str, Any],
) -> None:
    grants = _grants(insight, "api")
    workgroup = "arn:<AWS::Partition>:athena:us-east-1:<AWS::AccountId>:workgroup/caseline-demo-insight"
    assert _by_service(grants, "athena") == {
        action: {workgroup}
        for action in (
            "athena:StartQueryExecution",
            "athena:GetQueryExecution",
            "athena:GetQueryResults",
            "athena:StopQueryExecution",
        )
    }
    glue = "arn:<AWS::Partition>:glue:us-east-1:<AWS::AccountId>:"
    catalog = {f"{glue}catalog", f"{glue}database/caseline_demo", f"{glue}table/caseline_demo/events"}
    assert _by_service(grants, "glue") == {
        action: catalog for action in ("glue:GetDatabase", "glue:GetTable", "glue:GetPartition", "glue:GetPartitions")
    }
    assert _by_service(grants, "s3") == {
        "s3:GetObject": {f"{LAKE}/events/*", f"{LAKE}/athena-results/*"},
        "s3:PutObject": {f"{LAKE}/athena-results/*"},
        "s3:ListBucket": {LAKE},
        "s3:GetBucketLocation": {LAKE},
    }
    assert _by_service(grants, "dynamodb") == {
        "dynamodb:GetItem": {TABLE},
        "dynamodb:PutItem": {TABLE},
        "dynamodb:Query": {TABLE},
    }
    assert {"kms:Decrypt", "kms:GenerateDataKey"} <= set(_by_service(grants, "kms"))


def test_the_compactor_may_only_list_read_write_and_delete_the_lakes_events(insight: dict[str, Any]) -> None:
    grants = _grants(insight, "compact_lake")
    assert _by_service(grants, "s3") == {
        "s3:ListBucket": {LAKE},
        "s3:GetObject": {f"{LAKE}/events/*"},
        "s3:PutObject": {f"{LAKE}/events/*"},
        "s3:DeleteObject": {f"{LAKE}/events/*"},
    }
    (listing,) = [
        statement
        for body in resources(insight, "AWS::IAM::ManagedPolicy").values()
        if body["Properties"]["Description"].endswith("compact_lake: what it reads and writes")
        for statement in body["Properties"]["PolicyDocument"]["Statement"]
        if statement["Action"] == "s3:ListBucket"
    ]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["events/*"]}}
    assert not _by_service(grants, "dynamodb")
    assert not _by_service(grants, "athena")
    assert not _by_service(grants, "glue")
    assert set(_by_service(grants, "kms")) == {"kms:Decrypt", "kms:GenerateDataKey"}  # through S3 only


def test_the_compactor_runs_hourly_for_up_to_five_minutes(insight: dict[str, Any]) -> None:
    (schedule,) = resources(insight, "AWS::Scheduler::Schedule").values()
    assert schedule["Properties"]["ScheduleExpression"] == "rate(60 minutes)"
    (compactor,) = [
        body["Properties"]
        for body in resources(insight, "AWS::Lambda::Function").values()
        if body["Properties"].get("FunctionName") == "caseline-demo-compact-lake"
    ]
    assert compactor["Handler"].endswith(".compact_lake")
    assert (compactor["MemorySize"], compactor["Timeout"]) == (384, 300)


def test_no_insight_policy_grants_a_wildcard_action_or_deletes_anything_but_the_compactor(
    insight: dict[str, Any],
) -> None:
    for function in ("api", "lake_writer", "compact_lake"):
        actions = set(_grants(insight, function))
        assert not [action for action in actions if "*" in action], function
        deletes = {action for action in actions if "Delete" in action and not action.startswith("sqs:")}
        assert deletes == ({"s3:DeleteObject"} if function == "compact_lake" else set()), function
