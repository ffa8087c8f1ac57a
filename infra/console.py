"""The staff console in AWS: its static files (console/) in a private bucket served by CloudFront, and its
generated `config.json`.

The console's address is its distribution's domain (`dxxxx.cloudfront.net`), known only once the distribution
exists, and the shared stack needs it twice: the staff client's callback and sign-out URLs, and the documents
bucket's CORS (browsers upload there directly); the API stack needs it for CORS. So the site itself (bucket,
distribution, security headers) is a construct of the shared stack (`ConsoleSite`), and the files, with a
`config.json` naming the staff client and the console's own URL, are deployed by the console stack
(`ConsoleStack`), the last of the tenant's stacks. A separate site stack would have had to come both before the
shared stack (callback URLs) and after it (access-log bucket).

The console talks to the API at the tenant's public URL (`https://<domain>`), as portal links do: the content
security policy is part of the distribution, made before the API exists, so it can only name an address known
in advance.
"""

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from caseline_common.resources import DOCUMENTS_BUCKET, BucketSpec, TenantResourceNames
from caseline_common.scopes import Scope
from constructs import Construct

from caseline import console_assets
from caseline.paths import ROOT
from infra import nag
from infra.buckets import sse_s3_bucket
from infra.cdn import acknowledge_default_certificate, security_headers_policy
from infra.tenants import Tenant

CONSOLE_DIR = ROOT / "console"
CONSOLE_BUILD_DIR = ROOT / "build" / "console"
# What the console asks Cognito for. The API scopes make the access token one the API's authorizer accepts.
CONSOLE_SCOPES = ("openid", "email", "profile", *(scope.qualified for scope in Scope))


# The buckets browsers upload to (presigned POST, from the console and the portal's pages): they alone get CORS and
# a place in the console's connect-src. The anchors and the lake are written by the services only.
BROWSER_UPLOADS: tuple[BucketSpec, ...] = (DOCUMENTS_BUCKET,)


def console_bucket_name(names: TenantResourceNames, account: str) -> str:
    return f"{names.prefix()}-console-{account}"


def storage_origins(names: TenantResourceNames, region: str, account: str) -> list[str]:
    """Where browsers upload documents (presigned POST): each bucket with CORS, by its regional endpoint and by the
    global one, which is the host boto3 puts in presigned URLs today. Downloads are navigations to another origin
    (infra/downloads.py), which connect-src does not govern."""
    found = []
    for spec in BROWSER_UPLOADS:
        bucket = names.bucket(spec, account)
        found += [f"https://{bucket}.s3.{region}.amazonaws.com", f"https://{bucket}.s3.amazonaws.com"]
    return found


def content_security_policy(*, api_origin: str, storage: list[str], auth_origin: str) -> str:
    """The local gateway's policy (caseline/local/console.py), with what the console reaches in AWS: the API, the
    documents bucket and Cognito's token endpoint."""
    connect = " ".join(["'self'", api_origin, *storage, auth_origin])
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src {connect}; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )


class ConsoleSite(Construct):
    """The console's bucket (private, read by CloudFront through origin access control) and its distribution."""

    def __init__(self, scope: Construct, construct_id: str, *, tenant: Tenant, access_logs: s3.IBucket) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        names = TenantResourceNames(tenant_id=tenant.id)
        self.bucket = sse_s3_bucket(
            self,
            "bucket",
            bucket_name=console_bucket_name(names, stack.account),
            lifecycle_rule=s3.LifecycleRule(id="old-versions", noncurrent_version_expiration=cdk.Duration.days(30)),
            access_logs=access_logs,
            access_log_prefix="console/",
        )
        nag.acknowledge(
            self.bucket,
            "HIPAA.Security-S3DefaultEncryptionKMS",
            "The bucket holds the console's static files and its public configuration (API URL, client id), which "
            "every visitor's browser receives anyway; no tenant data. SSE-S3 encrypts them at rest; a customer "
            "managed key would protect nothing more and cost a key per tenant.",
        )
        nag.acknowledge(
            self.bucket,
            "HIPAA.Security-S3BucketReplicationEnabled",
            "The files are a build of the repository's console/ directory, deployed again by every release; "
            "there is nothing to replicate that could not be redeployed.",
        )
        # CloudFront's standard logs are delivered with object ACLs, which the access-log bucket has turned off
        # (bucket owner enforced): they get a bucket of their own where ACLs stay with the bucket owner.
        self.logs_bucket = sse_s3_bucket(
            self,
            "logs-bucket",
            bucket_name=f"{names.prefix()}-cdn-logs-{stack.account}",
            lifecycle_rule=s3.LifecycleRule(
                id="expire-cdn-logs",
                expiration=cdk.Duration.days(400),
                noncurrent_version_expiration=cdk.Duration.days(30),
            ),
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            access_logs=access_logs,
            access_log_prefix="cdn-logs/",
        )
        nag.acknowledge(
            self.logs_bucket,
            "HIPAA.Security-S3DefaultEncryptionKMS",
            "CloudFront delivers standard logs only to buckets encrypted with SSE-S3 (or keys its log delivery "
            "account may use); the logs hold request metadata for static files, no case data.",
        )
        nag.acknowledge(
            self.logs_bucket,
            "HIPAA.Security-S3BucketReplicationEnabled",
            "CloudFront logs are kept 400 days in one region, as the S3 access logs are; a second copy would be a "
            "copy of request metadata only.",
        )
        self.auth_origin = f"https://{tenant.auth_host}"
        self.csp = content_security_policy(
            api_origin=tenant.public_url,
            storage=storage_origins(names, stack.region, stack.account),
            auth_origin=self.auth_origin,
        )
        self.headers = security_headers_policy(
            self,
            "headers",
            name=f"{names.prefix()}-console",
            comment=f"Caseline {tenant.id}: security headers of the staff console",
            content_security_policy=self.csp,
        )
        self.distribution = cloudfront.Distribution(
            self,
            "distribution",
            comment=f"Caseline {tenant.id}: staff console",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(self.bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
                # The query string (?code=&state= after sign-in) never reaches S3 nor the cache key.
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                response_headers_policy=self.headers,
                compress=True,
            ),
            default_root_object="index.html",
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            minimum_protocol_version=cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
            enable_logging=True,
            log_bucket=self.logs_bucket,
            log_file_prefix="console/",
            log_includes_cookies=False,
        )
        acknowledge_default_certificate(self.distribution)
        nag.acknowledge(
            self.distribution,
            "AwsSolutions-CFR1",
            "The API, which holds the data, is not restricted by country either: staff sign in from wherever they "
            "work. The distribution serves only the console's public static files.",
        )
        nag.acknowledge(
            self.distribution,
            "AwsSolutions-CFR2",
            "The distribution serves only static files that hold no tenant data; every request for data goes to "
            "the API, which has its own web ACL (rate limit, IP reputation, common rules, known bad inputs). A "
            "CloudFront web ACL must live in us-east-1 (a second stack per tenant outside it) and would cost more "
            "than the files it guards.",
        )
        self.domain_name = self.distribution.distribution_domain_name
        self.origin = f"https://{self.domain_name}"  # CORS origins and the console's URL, without a path
        self.redirect_uri = f"{self.origin}/"  # where the hosted UI sends staff back to, and after signing out


class ConsoleStack(cdk.Stack):
    """The console's files and its `config.json`, deployed into the site's bucket; CloudFront is invalidated."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        tenant: Tenant,
        site: ConsoleSite,
        staff_client_id: str,
        logs_key: kms.IKey,
        log_group_prefix: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        names = TenantResourceNames(tenant_id=tenant.id)
        self.config = {
            "api": tenant.public_url,
            "auth": {
                "mode": "cognito",
                "domain": tenant.auth_host,
                "client_id": staff_client_id,
                "redirect_uri": site.redirect_uri,
                "scopes": list(CONSOLE_SCOPES),
            },
        }
        function_name = f"{names.prefix()}-console-deploy"
        log_group = logs.LogGroup(
            self,
            "deploy-logs",
            log_group_name=f"{log_group_prefix}lambda/{function_name}",
            retention=logs.RetentionDays.ONE_YEAR,
            encryption_key=logs_key,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        role = iam.Role(
            self,
            "deploy-role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Caseline {tenant.id}: deploys the console's files",
        )
        assets = (
            cdk.DefaultStackSynthesizer.DEFAULT_FILE_ASSETS_BUCKET_NAME.replace(
                "${Qualifier}", cdk.DefaultStackSynthesizer.DEFAULT_QUALIFIER
            )
            .replace("${AWS::AccountId}", self.account)
            .replace("${AWS::Region}", self.region)
        )
        asset_objects = f"arn:{self.partition}:s3:::{assets}/*"
        # The site's bucket by its name, as stacks name the shared stack's resources wherever they can.
        bucket = s3.Bucket.from_bucket_name(self, "bucket", console_bucket_name(names, self.account))
        distribution_arn = (
            f"arn:{self.partition}:cloudfront::{self.account}:distribution/{site.distribution.distribution_id}"
        )
        policy = iam.ManagedPolicy(
            self,
            "deploy-policy",
            description=f"Caseline {tenant.id}: read the console's assets, write its bucket, invalidate its CDN",
            statements=[
                iam.PolicyStatement(
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[log_group.log_group_arn]
                ),
                iam.PolicyStatement(actions=["s3:GetObject"], resources=[asset_objects]),
                iam.PolicyStatement(actions=["s3:ListBucket", "s3:GetBucketTagging"], resources=[bucket.bucket_arn]),
                iam.PolicyStatement(
                    actions=["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                    resources=[bucket.arn_for_objects("*")],
                ),
                iam.PolicyStatement(
                    actions=["cloudfront:CreateInvalidation", "cloudfront:GetInvalidation"],
                    resources=[distribution_arn],
                ),
            ],
            roles=[role],
        )
        nag.acknowledge_resource_wildcard(
            policy,
            asset_objects,
            "The CDK bootstrap bucket of the account and region names each asset after a hash of its content; the "
            "function reads the zips of the console's files and config.json from it, and only reads.",
        )
        nag.acknowledge_resource_wildcard(
            policy,
            bucket.arn_for_objects("*"),
            "The console's files are synchronized into the console bucket (new files put, removed ones deleted); "
            "the wildcard covers that one bucket, which holds nothing else.",
        )
        # The build (caseline/console_assets.py): scripts and style sheets under `assets/<version>/`, kept a year by
        # browsers and the edge; the versions a release replaces are pruned. Then index.html, which names them, and
        # config.json, both revalidated on every load, and invalidated at the edge.
        self.version, console_build = console_assets.built(CONSOLE_DIR, CONSOLE_BUILD_DIR)
        self.assets = s3deploy.BucketDeployment(
            self,
            "assets",
            sources=[s3deploy.Source.asset(str(console_build / console_assets.ASSETS))],
            destination_bucket=bucket,
            destination_key_prefix=f"{console_assets.ASSETS}/",
            prune=True,
            cache_control=[s3deploy.CacheControl.from_string(console_assets.IMMUTABLE)],
            memory_limit=256,
            role=role.without_policy_updates(),
            log_group=log_group,
        )
        self.deployment = s3deploy.BucketDeployment(
            self,
            "files",
            sources=[
                s3deploy.Source.asset(str(console_build), exclude=[console_assets.ASSETS, "config.json"]),
                s3deploy.Source.json_data("config.json", self.config),
            ],
            destination_bucket=bucket,
            distribution=site.distribution,
            distribution_paths=["/", f"/{console_assets.INDEX}", "/config.json"],
            prune=False,  # the assets are the other deployment's
            cache_control=[s3deploy.CacheControl.from_string(console_assets.REVALIDATE)],
            memory_limit=256,
            role=role.without_policy_updates(),
            log_group=log_group,
        )
        self.assets.node.add_dependency(policy)
        self.deployment.node.add_dependency(self.assets)  # never an index.html naming assets not there yet
        # CDK puts the deployment's function at the stack's root (one per stack, shared by its deployments).
        (handler,) = [child for child in self.node.children if child.node.id.startswith("Custom::CDKBucketDeployment")]
        nag.acknowledge(
            handler,
            "AwsSolutions-L1",
            "The runtime is the one CDK's bucket deployment function is built and tested for (aws-cdk-lib chooses "
            "it and moves it forward with its releases); the function runs only during deployments.",
        )
        nag.acknowledge(
            handler,
            "HIPAA.Security-LambdaInsideVPC",
            "CDK's deployment function reaches only S3 and CloudFront's regional and global APIs over TLS with "
            "SigV4, and only while CloudFormation deploys the console; a VPC would add endpoints for nothing.",
        )
        nag.acknowledge(
            handler,
            "HIPAA.Security-LambdaDLQ",
            "CloudFormation invokes the deployment function as a custom resource and waits for its answer; a "
            "failure fails the stack update, so there is nothing a dead-letter queue would receive.",
        )
        nag.acknowledge(
            handler,
            "HIPAA.Security-LambdaConcurrency",
            "The function runs only when CloudFormation deploys this stack, once per deployment; reserved "
            "concurrency would take capacity from the tenant's functions for nothing.",
        )
