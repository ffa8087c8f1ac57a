"""The CDK app synthesizes each tenant's resources from the same specs the local stack provisions."""

import json

import pytest
from aws_cdk.assertions import Match, Template
from caseline_common.resources import CASES_TABLE, CONSUMERS, TABLES, TenantResourceNames

from infra.app import build_app
from infra.tenant_stage import TenantStage

NAMES = TenantResourceNames(tenant_id="demo")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    app = build_app(str(tmp_path_factory.mktemp("cdk.out")))
    stage = app.node.find_child("tenant-demo")
    assert isinstance(stage, TenantStage)
    return Template.from_stack(stage.data)


def test_tables_match_the_specs_and_are_protected(template: Template) -> None:
    template.resource_count_is("AWS::DynamoDB::Table", len(TABLES))
    for spec in TABLES:
        template.has_resource(
            "AWS::DynamoDB::Table",
            {
                "Properties": Match.object_like(
                    {
                        "TableName": NAMES.table(spec),
                        "BillingMode": "PAY_PER_REQUEST",
                        "DeletionProtectionEnabled": True,
                        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                    }
                ),
                "DeletionPolicy": "Retain",
            },
        )
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "TableName": NAMES.table(CASES_TABLE),
            "StreamSpecification": {"StreamViewType": "NEW_IMAGE"},
            "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True},
            "GlobalSecondaryIndexes": [Match.object_like({"IndexName": index.name}) for index in CASES_TABLE.indexes],
        },
    )


def test_documents_bucket_is_private_versioned_and_encrypted(template: Template) -> None:
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "VersioningConfiguration": {"Status": "Enabled"},
            "BucketEncryption": Match.any_value(),
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
        },
    )


def test_each_consumer_gets_a_rule_a_queue_and_a_dead_letter_queue(template: Template) -> None:
    template.resource_count_is("AWS::SQS::Queue", 2 * len(CONSUMERS))
    template.resource_count_is("AWS::Events::Rule", len(CONSUMERS))
    for consumer in CONSUMERS:
        template.has_resource_properties(
            "AWS::SQS::Queue",
            {
                "QueueName": NAMES.queue(consumer),
                "RedrivePolicy": Match.object_like({"maxReceiveCount": consumer.max_receive_count}),
            },
        )
        template.has_resource_properties("AWS::SQS::Queue", {"QueueName": NAMES.dead_letter_queue(consumer)})
        template.has_resource_properties(
            "AWS::Events::Rule",
            {"Name": NAMES.rule(consumer), "EventPattern": json.loads(json.dumps(consumer.event_pattern))},
        )


def test_anchors_bucket_has_object_lock_and_the_signing_key_is_asymmetric(template: Template) -> None:
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "ObjectLockEnabled": True,
            "ObjectLockConfiguration": {
                "ObjectLockEnabled": "Enabled",
                "Rule": {"DefaultRetention": Match.object_like({"Mode": "COMPLIANCE"})},
            },
        },
    )
    template.has_resource_properties("AWS::KMS::Key", {"KeySpec": "ECC_NIST_P256", "KeyUsage": "SIGN_VERIFY"})
    template.has_resource_properties("AWS::KMS::Alias", {"AliasName": "alias/caseline-demo-timeline-signing"})
