"""Private buckets encrypted with S3-managed keys: where AWS delivers only to SSE-S3 (server access logs,
CloudFront's standard logs) or where the content is public anyway (the console's files). Each caller
acknowledges cdk-nag's KMS finding with its own reason."""

import aws_cdk as cdk
from aws_cdk import aws_s3 as s3
from constructs import Construct


def sse_s3_bucket(
    scope: Construct,
    construct_id: str,
    *,
    bucket_name: str,
    lifecycle_rule: s3.LifecycleRule,
    object_ownership: s3.ObjectOwnership = s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    access_logs: s3.IBucket | None = None,
    access_log_prefix: str | None = None,
) -> s3.Bucket:
    return s3.Bucket(
        scope,
        construct_id,
        bucket_name=bucket_name,
        encryption=s3.BucketEncryption.S3_MANAGED,
        versioned=True,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        object_ownership=object_ownership,
        enforce_ssl=True,
        server_access_logs_bucket=access_logs,
        server_access_logs_prefix=access_log_prefix,
        removal_policy=cdk.RemovalPolicy.RETAIN,
        lifecycle_rules=[lifecycle_rule],
    )
