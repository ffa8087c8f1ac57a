"""Document downloads per tenant: a CloudFront distribution in front of the documents bucket that passes the
services' presigned GETs to S3 exactly as they were signed (the bucket's regional host, every query parameter, no
origin access control, nothing cached) and adds the headers S3 cannot (nosniff); the services that read the
bucket are told its address."""

import json
import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from aws_cdk import aws_cloudfront as cloudfront
from caseline_common.aws import AwsClients
from caseline_common.resources import DOCUMENTS_BUCKET, SERVICES, TenantResourceNames

from caseline.local.downloads import SECURITY_HEADERS
from infra.tenants import TenantRegistry
from tests.infra.conftest import Synthesized, resources

PLACEHOLDER_ACCOUNT = "123456789012"  # a tenant without an account gets the deploying account's (a Ref)


def _downloads(template: dict[str, Any], resource_type: str) -> tuple[str, dict[str, Any]]:
    ((logical_id, body),) = [
        (logical_id, body)
        for logical_id, body in resources(template, resource_type).items()
        if logical_id.startswith("downloads")
    ]
    return logical_id, body["Properties"]


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    separator: str
    separator, parts = value["Fn::Join"]
    assert all(isinstance(part, str) or part == {"Ref": "AWS::AccountId"} for part in parts)
    return separator.join(part if isinstance(part, str) else PLACEHOLDER_ACCOUNT for part in parts)


@pytest.fixture(scope="module")
def signing_credentials() -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    os.environ.update({"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "example"})
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def test_the_origin_is_the_host_the_services_sign_for_without_origin_access_control(
    assembly: Synthesized, registry: TenantRegistry, signing_credentials: None
) -> None:
    for tenant in registry.tenants.values():
        shared = assembly.template(tenant.id, "shared")
        _, distribution = _downloads(shared, "AWS::CloudFront::Distribution")
        (origin,) = distribution["DistributionConfig"]["Origins"]
        bucket = TenantResourceNames(tenant_id=tenant.id).bucket(
            DOCUMENTS_BUCKET, tenant.account or PLACEHOLDER_ACCOUNT
        )
        presigned = (
            AwsClients(tenant.region)
            .s3()
            .generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "cases/x/receipt/y"}, ExpiresIn=300)
        )
        assert _text(origin["DomainName"]) == urlsplit(presigned).netloc == f"{bucket}.s3.{tenant.region}.amazonaws.com"
        # S3 sees the viewer's request as it was presigned: CloudFront adds no signature of its own.
        assert "OriginAccessControlId" not in origin
        assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}
        assert all(name.startswith("console") for name in resources(shared, "AWS::CloudFront::OriginAccessControl"))


def test_every_query_parameter_and_no_viewer_header_reaches_s3_and_nothing_is_cached(
    assembly: Synthesized, registry: TenantRegistry
) -> None:
    for tenant in registry.tenants.values():
        shared = assembly.template(tenant.id, "shared")
        _, distribution = _downloads(shared, "AWS::CloudFront::Distribution")
        behavior = distribution["DistributionConfig"]["DefaultCacheBehavior"]
        assert "CacheBehaviors" not in distribution["DistributionConfig"]  # used for downloads only
        assert behavior["CachePolicyId"] == cloudfront.CachePolicy.CACHING_DISABLED.cache_policy_id
        policy_id, policy = _downloads(shared, "AWS::CloudFront::OriginRequestPolicy")
        assert behavior["OriginRequestPolicyId"] == {"Ref": policy_id}
        config = policy["OriginRequestPolicyConfig"]
        assert config["QueryStringsConfig"] == {"QueryStringBehavior": "all"}  # signature, response-* overrides
        assert config["HeadersConfig"] == {"HeaderBehavior": "none"}  # Host stays the origin's
        assert config["CookiesConfig"] == {"CookieBehavior": "none"}
        assert config["Name"] == f"caseline-{tenant.id}-downloads"
        assert behavior["ViewerProtocolPolicy"] == "https-only"
        assert behavior["AllowedMethods"] == ["GET", "HEAD"]
        assert behavior["Compress"] is False


def test_answers_carry_nosniff_and_the_local_gateways_security_headers(
    assembly: Synthesized, registry: TenantRegistry
) -> None:
    for tenant in registry.tenants.values():
        shared = assembly.template(tenant.id, "shared")
        _, distribution = _downloads(shared, "AWS::CloudFront::Distribution")
        headers_id, policy = _downloads(shared, "AWS::CloudFront::ResponseHeadersPolicy")
        assert distribution["DistributionConfig"]["DefaultCacheBehavior"]["ResponseHeadersPolicyId"] == {
            "Ref": headers_id
        }
        headers = policy["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
        assert headers["ContentTypeOptions"] == {"Override": True}  # X-Content-Type-Options: nosniff
        assert all(header["Override"] is True for header in headers.values())
        deployed = {
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": headers["ContentSecurityPolicy"]["ContentSecurityPolicy"],
            "Referrer-Policy": headers["ReferrerPolicy"]["ReferrerPolicy"],
            "X-Frame-Options": headers["FrameOptions"]["FrameOption"],
        }
        assert deployed == SECURITY_HEADERS
        assert headers["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 365 * 86400  # HTTPS only in AWS


def test_downloads_are_logged_and_answer_on_the_default_certificate(
    assembly: Synthesized, registry: TenantRegistry
) -> None:
    for tenant in registry.tenants.values():
        shared = assembly.template(tenant.id, "shared")
        _, distribution = _downloads(shared, "AWS::CloudFront::Distribution")
        config = distribution["DistributionConfig"]
        (logs_id,) = [
            name
            for name, body in resources(shared, "AWS::S3::Bucket").items()
            if "-cdn-logs-" in json.dumps(body["Properties"]["BucketName"])
        ]
        assert config["Logging"] == {
            "Bucket": {"Fn::GetAtt": [logs_id, "RegionalDomainName"]},
            "IncludeCookies": False,
            "Prefix": "downloads/",
        }
        # On its cloudfront.net name CloudFront fixes the TLS policy itself: no minimum to set (CFR4, acknowledged).
        assert "ViewerCertificate" not in config
        acknowledged = {
            rule.removeprefix("Annotation::")
            for path, data in assembly.metadata(tenant.id, "aws:cdk:acknowledged-rules")
            if path.strip("/").endswith("shared/downloads/distribution")
            for rule in data
        }
        assert acknowledged == {"AwsSolutions-CFR1", "AwsSolutions-CFR2", "AwsSolutions-CFR4"}


def test_the_documents_bucket_stays_private(assembly: Synthesized, registry: TenantRegistry) -> None:
    for tenant in registry.tenants.values():
        shared = assembly.template(tenant.id, "shared")
        ((bucket_id, bucket),) = [
            (name, body["Properties"])
            for name, body in resources(shared, "AWS::S3::Bucket").items()
            if "-documents-" in json.dumps(body["Properties"]["BucketName"])
        ]
        assert bucket["PublicAccessBlockConfiguration"] == dict.fromkeys(
            ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"), True
        )
        (policy,) = [
            body["Properties"]["PolicyDocument"]["Statement"]
            for body in resources(shared, "AWS::S3::BucketPolicy").values()
            if body["Properties"]["Bucket"] == {"Ref": bucket_id}
        ]
        assert [statement for statement in policy if statement["Effect"] == "Allow"] == []  # CloudFront gets no grant


def test_the_services_that_read_the_documents_bucket_are_given_the_distributions_address(
    assembly: Synthesized, registry: TenantRegistry
) -> None:
    for tenant in registry.tenants.values():
        distribution_id, _ = _downloads(assembly.template(tenant.id, "shared"), "AWS::CloudFront::Distribution")
        for service in SERVICES:
            functions = resources(assembly.template(tenant.id, service), "AWS::Lambda::Function").values()
            variables = [body["Properties"]["Environment"]["Variables"] for body in functions]
            assert variables
            for environment in variables:
                address = environment.get(DOCUMENTS_BUCKET.download_env_var)
                if not DOCUMENTS_BUCKET.read_by(service):
                    assert address is None
                    continue
                (prefix, imported) = address["Fn::Join"][1]
                assert prefix == "https://"
                assert distribution_id in imported["Fn::ImportValue"]
                assert "DomainName" in imported["Fn::ImportValue"]
