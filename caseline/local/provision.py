"""Creates a tenant's resources in the emulator from the same specs that infra synthesizes."""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from caseline_common.resources import (
    BUCKETS,
    CONSUMERS,
    SIGNING_KEYS,
    TABLES,
    WORK_QUEUES,
    BucketSpec,
    ConsumerSpec,
    QueueSpec,
    TableSpec,
    TenantResourceNames,
    WorkQueueSpec,
)
from caseline_common.scopes import DESCRIPTIONS, RESOURCE_SERVER

from ..client_cli import TOKEN_URL_TAG
from ..usage_plans import STAGE, Limit, UsagePlans, api_name
from .console import DEV_USERS
from .idp import DEV_CLIENT_ID

if TYPE_CHECKING:
    from caseline_common.aws import AwsClients

LOCAL_ACCOUNT_ID = "123456789012"
# People's plan locally: every browser, test and script on the machine signs in as the same few development users
# through the one staff client, so it is far wider than a tenant's (infra/tenants.py `api_rate_per_second`).
LOCAL_STAFF_LIMIT = Limit(rate_per_second=1000, burst=2000)


def local_mail_domain(tenant_id: str) -> str:
    """The domain the local stack sends from (`caseline@<domain>`)."""
    return f"{tenant_id}.caseline.local"


SpecT = TypeVar("SpecT", bound=QueueSpec)


@dataclass(frozen=True)
class ProvisionedQueue(Generic[SpecT]):
    spec: SpecT
    url: str
    arn: str
    dead_letter_url: str


ConsumerQueue = ProvisionedQueue[ConsumerSpec]


@dataclass(frozen=True)
class ProvisionedTenant:
    names: TenantResourceNames
    stream_arns: dict[str, str]
    queues: dict[str, ConsumerQueue]  # by consumer id (`ConsumerSpec.id`, its function's name)
    work_queues: dict[str, ProvisionedQueue[WorkQueueSpec]]  # the services' own queues (no rule), by their id
    user_pool_id: str  # the tenant's Cognito user pool: the machine clients (`caseline client`) live in it


def _create_table(aws: "AwsClients", names: TenantResourceNames, spec: TableSpec) -> str | None:
    def key_schema(partition: str, sort: str | None) -> list[dict[str, str]]:
        schema = [{"AttributeName": partition, "KeyType": "HASH"}]
        return schema + ([{"AttributeName": sort, "KeyType": "RANGE"}] if sort else [])

    attributes = {spec.key.partition, *(filter(None, [spec.key.sort]))}
    for index in spec.indexes:
        attributes |= {index.key.partition, *(filter(None, [index.key.sort]))}
    request: dict[str, Any] = {
        "TableName": names.table(spec),
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": name, "AttributeType": "S"} for name in sorted(attributes)],
        "KeySchema": key_schema(spec.key.partition, spec.key.sort),
    }
    if spec.indexes:
        request["GlobalSecondaryIndexes"] = [
            {
                "IndexName": index.name,
                "KeySchema": key_schema(index.key.partition, index.key.sort),
                "Projection": {"ProjectionType": index.projection}
                | ({"NonKeyAttributes": list(index.attributes)} if index.attributes else {}),
            }
            for index in spec.indexes
        ]
    if spec.stream:
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": spec.stream}
    dynamodb = aws.dynamodb()
    description = dynamodb.create_table(**request)["TableDescription"]
    if spec.ttl_attribute:
        dynamodb.update_time_to_live(
            TableName=names.table(spec),
            TimeToLiveSpecification={"Enabled": True, "AttributeName": spec.ttl_attribute},
        )
    stream_arn: str | None = description.get("LatestStreamArn")
    return stream_arn


def _create_queue(aws: "AwsClients", names: TenantResourceNames, spec: SpecT) -> ProvisionedQueue[SpecT]:
    sqs = aws.sqs()
    dead_letter_url = sqs.create_queue(QueueName=names.dead_letter_queue(spec))["QueueUrl"]
    dead_letter_arn = sqs.get_queue_attributes(QueueUrl=dead_letter_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    url = sqs.create_queue(
        QueueName=names.queue(spec),
        Attributes={
            "VisibilityTimeout": str(spec.visibility_timeout_seconds),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dead_letter_arn, "maxReceiveCount": spec.max_receive_count}
            ),
        },
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return ProvisionedQueue(spec=spec, url=url, arn=arn, dead_letter_url=dead_letter_url)


def _create_consumer(aws: "AwsClients", names: TenantResourceNames, spec: ConsumerSpec) -> ConsumerQueue:
    queue = _create_queue(aws, names, spec)
    events = aws.events()
    events.put_rule(Name=names.rule(spec), EventBusName=names.event_bus(), EventPattern=json.dumps(spec.event_pattern))
    events.put_targets(
        Rule=names.rule(spec), EventBusName=names.event_bus(), Targets=[{"Id": "queue", "Arn": queue.arn}]
    )
    return queue


def _create_bucket(aws: "AwsClients", name: str, spec: BucketSpec) -> None:
    s3 = aws.s3()
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=spec.object_lock)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    s3.put_public_access_block(
        Bucket=name,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    if spec.object_lock:
        s3.put_object_lock_configuration(
            Bucket=name,
            ObjectLockConfiguration={
                "ObjectLockEnabled": "Enabled",
                "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}},
            },
        )


def _create_user_pool(aws: "AwsClients", names: TenantResourceNames, token_url: str | None) -> str:
    """The pool and its resource server, as infra declares them; people sign in with the development issuer, so it
    has no staff client. It has no Cognito domain either: its tag names the local gateway's token endpoint."""
    cognito = aws.cognito_idp()
    tags = {TOKEN_URL_TAG: token_url} if token_url else {}
    pool_id: str = cognito.create_user_pool(PoolName=names.user_pool(), UserPoolTags=tags)["UserPool"]["Id"]
    cognito.create_resource_server(
        UserPoolId=pool_id,
        Identifier=RESOURCE_SERVER,
        Name=f"{names.prefix()}-api",
        Scopes=[{"ScopeName": scope.value, "ScopeDescription": text} for scope, text in DESCRIPTIONS.items()],
    )
    _create_dev_users(cognito, pool_id)
    return pool_id


def _create_api(aws: "AwsClients", names: TenantResourceNames) -> None:
    """The tenant's API as API Gateway knows it, for its usage plans alone (the local gateway serves the routes):
    one stage, and the staff client's plan."""
    apigateway = aws.apigateway()
    api_id = apigateway.create_rest_api(name=api_name(names), description=f"Caseline API of tenant {names.tenant_id}")[
        "id"
    ]
    root = apigateway.get_resources(restApiId=api_id)["items"][0]["id"]
    apigateway.put_method(restApiId=api_id, resourceId=root, httpMethod="GET", authorizationType="NONE")
    apigateway.put_integration(restApiId=api_id, resourceId=root, httpMethod="GET", type="MOCK")
    apigateway.create_deployment(restApiId=api_id, stageName=STAGE)
    UsagePlans(apigateway, names).set("staff", DEV_CLIENT_ID, LOCAL_STAFF_LIMIT)


def _create_dev_users(cognito: Any, pool_id: str) -> None:
    """The development users, as people in the pool with their names and groups, so that the directory's refresh
    reads them as it reads a tenant's pool in AWS. Each one's `sub` is set to the subject the development issuer
    mints for them (`dev-<id>`): Cognito chooses `sub` itself and never changes it, but the emulator takes it, and so
    tokens, cases and the directory agree on who each one is while `caseline token` needs no emulator."""
    groups = dict.fromkeys(str(group) for user in DEV_USERS for group in user.groups)
    for precedence, group in enumerate(groups):
        cognito.create_group(UserPoolId=pool_id, GroupName=group, Precedence=precedence)
    for user in DEV_USERS:
        cognito.admin_create_user(
            UserPoolId=pool_id,
            Username=user.email,
            MessageAction="SUPPRESS",
            UserAttributes=[
                {"Name": "name", "Value": user.name},
                {"Name": "email", "Value": user.email},
                {"Name": "email_verified", "Value": "true"},
            ],
        )
        cognito.admin_update_user_attributes(
            UserPoolId=pool_id, Username=user.email, UserAttributes=[{"Name": "sub", "Value": user.subject}]
        )
        for group in user.groups:
            cognito.admin_add_user_to_group(UserPoolId=pool_id, Username=user.email, GroupName=str(group))


def provision_tenant(
    aws: "AwsClients",
    tenant_id: str,
    *,
    token_url: str | None = None,
    consumers: Sequence[ConsumerSpec] = CONSUMERS,
    work_queues: Sequence[WorkQueueSpec] = WORK_QUEUES,
) -> ProvisionedTenant:
    """The tenant's resources; `queues` holds each consumer's queue by the consumer's id (a service may have
    several), `work_queues` the services' own. `consumers` and `work_queues` are the specs' lists but for tests;
    `token_url` is where the tenant's machine clients get tokens (the local gateway's; none without a gateway)."""
    names = TenantResourceNames(tenant_id=tenant_id)
    stream_arns = {spec.id: arn for spec in TABLES if (arn := _create_table(aws, names, spec))}
    for bucket in BUCKETS:
        _create_bucket(aws, names.bucket(bucket, LOCAL_ACCOUNT_ID), bucket)
    for key in SIGNING_KEYS:
        kms = aws.kms()
        key_id = kms.create_key(
            KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY", Description=f"{names.prefix()} {key.id}"
        )["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName=names.signing_key_alias(key), TargetKeyId=key_id)
    aws.events().create_event_bus(Name=names.event_bus())
    queues: dict[str, ConsumerQueue] = {spec.id: _create_consumer(aws, names, spec) for spec in consumers}
    own = {spec.id: _create_queue(aws, names, spec) for spec in work_queues}
    # SES refuses to send from an unverified identity; in AWS the tenant's domain is verified by DNS.
    aws.ses().verify_domain_identity(Domain=local_mail_domain(tenant_id))
    user_pool_id = _create_user_pool(aws, names, token_url)
    _create_api(aws, names)
    return ProvisionedTenant(
        names=names, stream_arns=stream_arns, queues=queues, work_queues=own, user_pool_id=user_pool_id
    )
