"""What the tenant's two CloudFront distributions (the staff console, document downloads) have in common: the
security headers every answer carries, and the viewer certificate both answer with."""

import aws_cdk as cdk
from aws_cdk import aws_cloudfront as cloudfront
from constructs import Construct

from infra import nag

HSTS_MAX_AGE = cdk.Duration.days(730)


def security_headers_policy(
    scope: Construct, construct_id: str, *, name: str, comment: str, content_security_policy: str
) -> cloudfront.ResponseHeadersPolicy:
    """nosniff, no framing, no referrer, HSTS and the given content security policy, overriding whatever the
    origin says."""
    return cloudfront.ResponseHeadersPolicy(
        scope,
        construct_id,
        response_headers_policy_name=name,
        comment=comment,
        security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
            content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                content_security_policy=content_security_policy, override=True
            ),
            content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
            frame_options=cloudfront.ResponseHeadersFrameOptions(
                frame_option=cloudfront.HeadersFrameOption.DENY, override=True
            ),
            referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                referrer_policy=cloudfront.HeadersReferrerPolicy.NO_REFERRER, override=True
            ),
            strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                access_control_max_age=HSTS_MAX_AGE, include_subdomains=True, override=True
            ),
        ),
    )


def acknowledge_default_certificate(distribution: cloudfront.Distribution) -> None:
    nag.acknowledge(
        distribution,
        "AwsSolutions-CFR4",
        "Without a custom domain the distribution answers on its cloudfront.net name with CloudFront's default "
        "certificate, whose security policy CloudFront fixes at TLSv1; browsers negotiate TLS 1.2 or 1.3 anyway. "
        "A domain of its own, with a certificate in us-east-1, would allow TLSv1.2_2021.",
    )
