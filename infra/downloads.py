"""Document downloads in AWS: a CloudFront distribution in front of the documents bucket, used for downloads only,
that answers the services' presigned S3 GETs with the headers S3 cannot add (`X-Content-Type-Options: nosniff`
among them).

Access stays S3's. The services presign a GET for the bucket's regional endpoint (`caseline_common/aws.py`) and swap
its scheme and host for the distribution's (`adapters/s3_documents.py`). CloudFront forwards the path and every query
parameter, sends the origin's host as Host (the viewer's is not forwarded), caches nothing, and signs nothing (no
origin access control, which would sign the request again): S3 receives exactly the request that was presigned and
checks its signature and expiry, and the bucket stays private behind Block Public Access. Locally the gateway plays
this distribution (`caseline/local/downloads.py`).
"""

import aws_cdk as cdk
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_s3 as s3
from caseline_common.resources import DOCUMENTS_BUCKET, TenantResourceNames
from constructs import Construct

from infra import nag
from infra.cdn import acknowledge_default_certificate, security_headers_policy
from infra.tenants import Tenant

# Were a browser ever to render a document rather than save it: nothing loads, nothing runs, nothing frames it.
CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'; sandbox"


class DocumentDownloads(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, tenant: Tenant, logs_bucket: s3.IBucket) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        names = TenantResourceNames(tenant_id=tenant.id)
        bucket_name = names.bucket(DOCUMENTS_BUCKET, stack.account)
        # The host the services sign for (virtual-hosted on the regional endpoint), spelled as they spell it rather
        # than read from CloudFormation's RegionalDomainName: S3 checks each signature against this Host.
        origin_host = f"{bucket_name}.s3.{stack.region}.amazonaws.com"
        bucket = s3.Bucket.from_bucket_attributes(
            self, "bucket", bucket_name=bucket_name, bucket_regional_domain_name=origin_host
        )
        self.headers = security_headers_policy(
            self,
            "headers",
            name=f"{names.prefix()}-downloads",
            comment=f"Caseline {tenant.id}: security headers of document downloads",
            content_security_policy=CONTENT_SECURITY_POLICY,
        )
        self.origin_requests = cloudfront.OriginRequestPolicy(
            self,
            "origin-requests",
            origin_request_policy_name=f"{names.prefix()}-downloads",
            comment=f"Caseline {tenant.id}: presigned GETs reach S3 with their whole query and the bucket's Host",
            # The signature and the response-* overrides (name, checked content type) are query parameters.
            query_string_behavior=cloudfront.OriginRequestQueryStringBehavior.all(),
            # No viewer header, Host above all: S3 must see the host the URL was signed for.
            header_behavior=cloudfront.OriginRequestHeaderBehavior.none(),
            cookie_behavior=cloudfront.OriginRequestCookieBehavior.none(),
        )
        self.distribution = cloudfront.Distribution(
            self,
            "distribution",
            comment=f"Caseline {tenant.id}: document downloads",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_bucket_defaults(bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
                # Every link is signed for one request within minutes: nothing to share between viewers, and a
                # cache policy with caching disabled keeps the query out of a cache key that is never used.
                cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
                origin_request_policy=self.origin_requests,
                response_headers_policy=self.headers,
                compress=False,  # the stored bytes, as their SHA-256 was taken (and most documents are compressed)
            ),
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            # No minimum TLS version: on its cloudfront.net name CloudFront fixes it (CFR4 below).
            enable_logging=True,
            log_bucket=logs_bucket,
            log_file_prefix="downloads/",
            log_includes_cookies=False,
        )
        acknowledge_default_certificate(self.distribution)
        nag.acknowledge(
            self.distribution,
            "AwsSolutions-CFR1",
            "Staff and external participants download from wherever they work, as they reach the API, which is not "
            "restricted by country either; every download needs a presigned URL the API issued minutes before.",
        )
        nag.acknowledge(
            self.distribution,
            "AwsSolutions-CFR2",
            "Every request either carries a signature S3 accepts, which only the API issues (behind its own web "
            "ACL), or is refused by S3; nothing is cached. A CloudFront web ACL must live in us-east-1 (a second "
            "stack per tenant outside the tenant's region) and would guard only S3's refusals.",
        )
        self.url = f"https://{self.distribution.distribution_domain_name}"
