"""What a restore needs from the synthesized stacks: a stream ARN that may change, and an archive as long as PITR.

A table restored in its place (or whose stream is turned off and on) has a new stream ARN. An export of it could not
change while the cases stack imports it; the stream mapping and its reader's policy read it from an SSM parameter
when CloudFormation deploys instead. The archive keeps events at least as long as PITR keeps a table's past, so a
restore to any point PITR offers can be followed by a replay of every event since (`caseline tenant restore`).
"""

import json
from pathlib import Path
from typing import Any

import pytest
from caseline_common.resources import STREAM_HANDLERS, TABLES, TenantResourceNames

from infra.tenants import TenantRegistry
from tests.infra.conftest import Synthesized, resources

SSM_STRING = "AWS::SSM::Parameter::Value<String>"


def _mentions_stream_arn(node: Any) -> bool:
    return "StreamArn" in json.dumps(node)


def _imports(node: Any) -> list[Any]:
    """Every `Fn::ImportValue` in a template."""
    if isinstance(node, dict):
        found = [node["Fn::ImportValue"]] if "Fn::ImportValue" in node else []
        return found + [each for value in node.values() for each in _imports(value)]
    if isinstance(node, list):
        return [each for value in node for each in _imports(value)]
    return []


def test_no_export_or_import_carries_a_stream_arn(assembly: Synthesized, registry: TenantRegistry) -> None:
    for tenant_id in registry.tenants:
        for stack in assembly.stacks(tenant_id):
            template = json.loads(Path(stack.template_full_path).read_text())
            exports = [output for output in template.get("Outputs", {}).values() if "Export" in output]
            assert exports or stack.stack_name != f"caseline-{tenant_id}-shared"
            assert not [output for output in exports if _mentions_stream_arn(output["Value"])], stack.stack_name
            assert not _mentions_stream_arn(_imports(template)), stack.stack_name


@pytest.mark.parametrize("handler", STREAM_HANDLERS, ids=lambda handler: handler.function)
def test_the_stream_mapping_and_its_policy_read_the_stream_arn_from_ssm_at_deploy_time(
    assembly: Synthesized, handler: Any
) -> None:
    names = TenantResourceNames(tenant_id="demo")
    parameter_name = names.stream_arn_parameter(handler.table_id)
    shared = assembly.template("demo", "shared")
    (written,) = [
        body["Properties"]
        for body in resources(shared, "AWS::SSM::Parameter").values()
        if body["Properties"]["Name"] == parameter_name
    ]
    (table_id,) = [
        logical_id
        for logical_id, body in resources(shared, "AWS::DynamoDB::Table").items()
        if body["Properties"]["TableName"] == f"{names.prefix()}-{handler.table_id}"
    ]
    assert written["Value"] == {"Fn::GetAtt": [table_id, "StreamArn"]}

    service = assembly.template("demo", handler.service)
    (parameter,) = [
        logical_id
        for logical_id, body in service.get("Parameters", {}).items()
        if body["Type"] == SSM_STRING and body["Default"] == parameter_name
    ]
    mappings = [
        body["Properties"]
        for body in resources(service, "AWS::Lambda::EventSourceMapping").values()
        if _mentions_stream_arn(body) or body["Properties"]["EventSourceArn"] == {"Ref": parameter}
    ]
    assert [mapping["EventSourceArn"] for mapping in mappings] == [{"Ref": parameter}]
    stream_reads = [
        statement
        for policy in resources(service, "AWS::IAM::ManagedPolicy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if "dynamodb:GetRecords" in statement["Action"]
    ]
    assert [statement["Resource"] for statement in stream_reads] == [{"Ref": parameter}]


def test_the_archive_keeps_events_at_least_as_long_as_pitr_keeps_the_tables(assembly: Synthesized) -> None:
    shared = assembly.template("demo", "shared")
    (archive,) = resources(shared, "AWS::Events::Archive").values()
    tables = resources(shared, "AWS::DynamoDB::Table").values()
    assert len(tables) == len(TABLES)
    windows = {table["Properties"]["PointInTimeRecoverySpecification"]["RecoveryPeriodInDays"] for table in tables}
    assert archive["Properties"]["RetentionDays"] >= max(windows)
