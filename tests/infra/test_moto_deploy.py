"""The synthesized shared stack deployed into moto's CloudFormation matches what the local stack provisions.

Two emulators (moto in a child process each, with the local stack's fixes): one gets the `demo` tenant's shared
stack through CloudFormation, the other gets the same tenant from `caseline.local.provision`, as `make dev`
does. Tables (keys, indexes, stream), the bus, the rules (patterns, targets) and the queues (redrive, visibility)
must be the same, and an event put on the deployed bus must reach the deployed queues its rules select.

What moto's CloudFormation cannot create is left out of the deployed copy, by type, and the test insists on
exactly this list: Cognito (not implemented), AWS Backup (not implemented), bucket/queue/topic policies (not
implemented), the SES identity and configuration set (not implemented), the alarms on the delivery DLQ, the
tables and the mail (not implemented), the CloudFront distributions of the console and of document
downloads with their origin access control, origin request and headers policies (not implemented), the
EventBridge archive (moto passes its pattern as an object where its model wants a string). The documents bucket
names the console distribution's domain as a CORS origin: there it gets a stand-in, so the bucket itself is
deployed. The stack's Outputs (exports for the service stacks) go too, since
several name Cognito resources. moto also ignores TTL, PITR, versioning and public-access blocks: test_synth.py
asserts those on the template. The service stacks (Lambda, event source mappings, Scheduler), the API stack and
the console stack are not deployed here (nor, with the insight service's stack, the lake's Glue table and Athena
workgroup: moto's CloudFormation has neither type; test_insight_stack.py asserts them on the template).
"""

import json
import os
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from caseline_common.aws import AwsClients
from caseline_common.resources import BUCKETS, CONSUMERS, TABLES, TenantResourceNames
from moto.cloudformation.parsing import resource_class_from_type

from caseline.local.emulator import EmulatorProcess
from caseline.local.provision import provision_tenant
from tests.infra.conftest import Synthesized

TENANT = "demo"
NAMES = TenantResourceNames(tenant_id=TENANT)
NOT_DEPLOYED_IN_MOTO = {
    "AWS::Backup::BackupPlan",
    "AWS::Backup::BackupSelection",
    "AWS::Backup::BackupVault",
    "AWS::CloudWatch::Alarm",
    "AWS::CloudFront::Distribution",
    "AWS::CloudFront::OriginAccessControl",
    "AWS::CloudFront::OriginRequestPolicy",
    "AWS::CloudFront::ResponseHeadersPolicy",
    "AWS::Cognito::UserPool",
    "AWS::Cognito::UserPoolClient",
    "AWS::Cognito::UserPoolDomain",
    "AWS::Cognito::UserPoolGroup",
    "AWS::Cognito::UserPoolResourceServer",
    "AWS::Cognito::UserPoolUser",
    "AWS::Cognito::UserPoolUserToGroupAttachment",
    "AWS::Events::Archive",
    "AWS::S3::BucketPolicy",
    "AWS::SNS::Subscription",
    "AWS::SES::ConfigurationSet",
    "AWS::SES::ConfigurationSetEventDestination",
    "AWS::SES::EmailIdentity",
    "AWS::SNS::TopicPolicy",
    "AWS::SQS::QueuePolicy",
}
MOTO_MODEL_MISMATCH = {"AWS::Events::Archive"}
# Attributes of resources left out that other resources only mention (CORS origins): replaced by a stand-in.
STAND_INS = {("AWS::CloudFront::Distribution", "DomainName"): "console.cloudfront.invalid"}


def _references(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = set()
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                found.add(value[0] if isinstance(value, list) else str(value).split(".")[0])
            else:
                found |= _references(value)
        return found
    if isinstance(node, list):
        return {found for value in node for found in _references(value)}
    return set()


def moto_deployable(template: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The template without what moto cannot create (and what refers to it); returns it and what was left out."""
    template = json.loads(json.dumps(template))
    left_out = {
        name: body["Type"]
        for name, body in template["Resources"].items()
        if resource_class_from_type(body["Type"]) is None or body["Type"] in MOTO_MODEL_MISMATCH
    }
    stand_ins = {
        (name, attribute): value
        for name, body in template["Resources"].items()
        for (resource_type, attribute), value in STAND_INS.items()
        if name in left_out and body["Type"] == resource_type
    }
    template["Resources"] = _replace_attributes(template["Resources"], stand_ins)
    while True:
        dependent = {
            name: body["Type"]
            for name, body in template["Resources"].items()
            if name not in left_out and _references(body.get("Properties", {})) & set(left_out)
        }
        if not dependent:
            break
        left_out.update(dependent)
    for name in left_out:
        del template["Resources"][name]
    for body in template["Resources"].values():
        depends = body.get("DependsOn")
        if depends is not None:
            remaining = [name for name in ([depends] if isinstance(depends, str) else depends) if name not in left_out]
            body["DependsOn"] = remaining
            if not remaining:
                del body["DependsOn"]
        # moto's KMS tagging expects TagKey/TagValue where CloudFormation has Key/Value.
        if body["Type"] == "AWS::KMS::Key" and "Tags" in body["Properties"]:
            body["Properties"]["Tags"] = [
                {"TagKey": tag["Key"], "TagValue": tag["Value"]} for tag in body["Properties"]["Tags"]
            ]
        # moto's SSM parameter wants a list of tags where CloudFormation has a map.
        if body["Type"] == "AWS::SSM::Parameter" and "Tags" in body["Properties"]:
            body["Properties"]["Tags"] = [{"Key": k, "Value": v} for k, v in body["Properties"]["Tags"].items()]
    template.pop("Outputs", None)
    return template, left_out


def _replace_attributes(node: Any, stand_ins: dict[tuple[str, str], str]) -> Any:
    if isinstance(node, dict):
        if set(node) == {"Fn::GetAtt"} and tuple(node["Fn::GetAtt"]) in stand_ins:
            return stand_ins[tuple(node["Fn::GetAtt"])]
        return {key: _replace_attributes(value, stand_ins) for key, value in node.items()}
    if isinstance(node, list):
        return [_replace_attributes(value, stand_ins) for value in node]
    return node


@pytest.fixture(scope="module")
def credentials() -> Iterator[None]:
    names = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update({"AWS_ACCESS_KEY_ID": "moto", "AWS_SECRET_ACCESS_KEY": "moto", "AWS_DEFAULT_REGION": "us-east-1"})
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="module")
def deployed(assembly: Synthesized, credentials: None) -> Iterator[tuple[AwsClients, dict[str, str]]]:
    """The demo tenant's shared stack, created by moto's CloudFormation."""
    emulator = EmulatorProcess("127.0.0.1", 0)
    try:
        aws = AwsClients("us-east-1", emulator.endpoint)
        cloudformation = boto3.client("cloudformation", region_name="us-east-1", endpoint_url=emulator.endpoint)
        boto3.client("ssm", region_name="us-east-1", endpoint_url=emulator.endpoint).put_parameter(
            Name="/cdk-bootstrap/hnb659fds/version", Value="30", Type="String"
        )
        template, left_out = moto_deployable(assembly.template(TENANT, "shared"))
        cloudformation.create_stack(
            StackName="caseline-demo-shared", TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_IAM"]
        )
        deadline = time.monotonic() + 60
        while True:
            stack = cloudformation.describe_stacks(StackName="caseline-demo-shared")["Stacks"][0]
            if not stack["StackStatus"].endswith("IN_PROGRESS") or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
        yield aws, left_out
    finally:
        emulator.stop()


@pytest.fixture(scope="module")
def provisioned(credentials: None) -> Iterator[AwsClients]:
    """The same tenant as the local stack provisions it."""
    emulator = EmulatorProcess("127.0.0.1", 0)
    try:
        aws = AwsClients("us-east-1", emulator.endpoint)
        provision_tenant(aws, TENANT)
        yield aws
    finally:
        emulator.stop()


def test_only_what_moto_cannot_create_was_left_out(deployed: tuple[AwsClients, dict[str, str]]) -> None:
    _aws, left_out = deployed
    assert set(left_out.values()) <= NOT_DEPLOYED_IN_MOTO
    assert "AWS::Cognito::UserPool" in left_out.values()
    assert "AWS::S3::Bucket" not in left_out.values()  # the documents bucket's CORS names the console by a stand-in
    assert not {"AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::Events::Rule"} & set(left_out.values())


def _table_shape(aws: AwsClients, name: str) -> dict[str, Any]:
    table = aws.dynamodb().describe_table(TableName=name)["Table"]
    stream = table.get("StreamSpecification", {})
    return {
        "keys": sorted((key["AttributeName"], key["KeyType"]) for key in table["KeySchema"]),
        "attributes": sorted((item["AttributeName"], item["AttributeType"]) for item in table["AttributeDefinitions"]),
        "indexes": sorted(
            (
                index["IndexName"],
                tuple(sorted((key["AttributeName"], key["KeyType"]) for key in index["KeySchema"])),
                index["Projection"]["ProjectionType"],
            )
            for index in table.get("GlobalSecondaryIndexes", [])
        ),
        "stream": (stream.get("StreamEnabled", False), stream.get("StreamViewType")),
    }


def test_tables_have_the_same_keys_indexes_and_stream(
    deployed: tuple[AwsClients, dict[str, str]], provisioned: AwsClients, assembly: Synthesized
) -> None:
    aws, _ = deployed
    template_tables = {
        body["Properties"]["TableName"]: body["Properties"]
        for body in assembly.template(TENANT, "shared")["Resources"].values()
        if body["Type"] == "AWS::DynamoDB::Table"
    }
    for spec in TABLES:
        name = NAMES.table(spec)
        assert _table_shape(aws, name) == _table_shape(provisioned, name), name
        local_ttl = provisioned.dynamodb().describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        deployed_ttl = template_tables[name].get("TimeToLiveSpecification")  # moto's CloudFormation ignores TTL
        if spec.ttl_attribute:
            assert local_ttl["AttributeName"] == deployed_ttl["AttributeName"] == spec.ttl_attribute
        else:
            assert deployed_ttl is None
            assert local_ttl["TimeToLiveStatus"] == "DISABLED"


def test_the_buckets_are_the_same(deployed: tuple[AwsClients, dict[str, str]], provisioned: AwsClients) -> None:
    aws, _ = deployed
    for clients in (aws, provisioned):
        names = {bucket["Name"] for bucket in clients.s3().list_buckets()["Buckets"]}
        # The emulator's account id, which both the deployed names and the provisioned ones take.
        assert {name.rsplit("-", 1)[0] for name in names} >= {f"{NAMES.prefix()}-{spec.id}" for spec in BUCKETS}


def _rules(aws: AwsClients) -> dict[str, tuple[Any, list[str]]]:
    events = aws.events()
    found = {}
    for rule in events.list_rules(EventBusName=NAMES.event_bus())["Rules"]:
        targets = events.list_targets_by_rule(Rule=rule["Name"], EventBusName=NAMES.event_bus())["Targets"]
        found[rule["Name"]] = (json.loads(rule["EventPattern"]), sorted(t["Arn"].rsplit(":", 1)[1] for t in targets))
    return found


def test_the_bus_and_its_rules_are_the_same(
    deployed: tuple[AwsClients, dict[str, str]], provisioned: AwsClients
) -> None:
    aws, _ = deployed
    for clients in (aws, provisioned):
        assert clients.events().describe_event_bus(Name=NAMES.event_bus())["Name"] == NAMES.event_bus()
    assert _rules(aws) == _rules(provisioned)
    assert set(_rules(aws)) == {NAMES.rule(consumer) for consumer in CONSUMERS}


def _queue(aws: AwsClients, name: str) -> dict[str, Any]:
    sqs = aws.sqs()
    attributes = sqs.get_queue_attributes(
        QueueUrl=sqs.get_queue_url(QueueName=name)["QueueUrl"], AttributeNames=["All"]
    )
    values = attributes["Attributes"]
    redrive = json.loads(values["RedrivePolicy"]) if "RedrivePolicy" in values else None
    return {
        "visibility": values["VisibilityTimeout"],
        "redrive": (redrive["deadLetterTargetArn"].rsplit(":", 1)[1], int(redrive["maxReceiveCount"]))
        if redrive
        else None,
    }


def test_queues_and_dead_letter_queues_are_the_same(
    deployed: tuple[AwsClients, dict[str, str]], provisioned: AwsClients
) -> None:
    aws, _ = deployed
    for consumer in CONSUMERS:
        queue = _queue(aws, NAMES.queue(consumer))
        assert queue == _queue(provisioned, NAMES.queue(consumer))
        assert queue["redrive"] == (NAMES.dead_letter_queue(consumer), consumer.max_receive_count)
        _queue(aws, NAMES.dead_letter_queue(consumer))  # exists
    deployed_names = {url.rsplit("/", 1)[1] for url in aws.sqs().list_queues()["QueueUrls"]}
    local_names = {url.rsplit("/", 1)[1] for url in provisioned.sqs().list_queues()["QueueUrls"]}
    assert deployed_names - local_names == {f"{NAMES.prefix()}-delivery-dlq"}  # AWS only: undeliverable events
    assert local_names <= deployed_names


def _receive(aws: AwsClients, queue_name: str, wait_seconds: int) -> list[dict[str, Any]]:
    sqs = aws.sqs()
    url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds).get(
        "Messages", []
    )
    return [json.loads(message["Body"]) for message in messages]


def test_an_event_on_the_deployed_bus_reaches_the_queues_its_rules_select(
    deployed: tuple[AwsClients, dict[str, str]],
) -> None:
    aws, _ = deployed
    event = {"event_id": "01J0000000000000000000TEST", "type": "case.opened", "case_id": "01J00000000000000000000CASE"}
    command = {"event_id": "01J0000000000000000000CMND", "type": "portal.message_posted", "case_id": "x"}
    rule_command = {"event_id": "01J0000000000000000000RULE", "type": "automation.set_fields", "case_id": "x"}
    response = aws.events().put_events(
        Entries=[
            {"EventBusName": NAMES.event_bus(), "Source": "caseline.cases", "DetailType": "case.opened",
             "Detail": json.dumps(event)},
            {"EventBusName": NAMES.event_bus(), "Source": "caseline-command.portal",
             "DetailType": "portal.message_posted", "Detail": json.dumps(command)},
            {"EventBusName": NAMES.event_bus(), "Source": "caseline-command.automations",
             "DetailType": "automation.set_fields", "Detail": json.dumps(rule_command)},
        ]
    )  # fmt: skip
    assert response["FailedEntryCount"] == 0
    for consumer in CONSUMERS:
        received = _receive(aws, NAMES.queue(consumer), wait_seconds=2)
        if consumer.service == "cases":  # commands only, from the portal and from automation rules
            while len(received) < 2:
                more = _receive(aws, NAMES.queue(consumer), wait_seconds=2)
                assert more, (consumer.id, received)
                received += more
            assert sorted(message["detail"]["event_id"] for message in received) == sorted(
                [command["event_id"], rule_command["event_id"]]
            )
        elif consumer.id == "notify_consumer":  # an opened case notifies no one: its rule does not select it
            assert received == [], received
        else:
            assert len(received) == 1, (consumer.id, received)
            assert received[0]["detail"] == event
        assert all(message["account"] for message in received)  # the whole event, as EventBridge delivers it


def test_the_stream_arn_parameters_hold_the_deployed_tables_streams(
    deployed: tuple[AwsClients, dict[str, str]],
) -> None:
    aws, _ = deployed
    streamed = [spec for spec in TABLES if spec.stream]
    assert streamed
    for spec in streamed:
        parameter = aws.ssm().get_parameter(Name=NAMES.stream_arn_parameter(spec.id))["Parameter"]
        table = aws.dynamodb().describe_table(TableName=NAMES.table(spec))["Table"]
        assert parameter["Value"] == table["LatestStreamArn"]
