"""The staff console per tenant: a private bucket behind CloudFront (origin access control, HTTPS, the local
gateway's security headers), its files and a config.json naming the tenant's own API, hosted UI and staff
client, the staff client's URLs, and CORS for the console's origin on the API and the documents bucket."""

import json
import re
from typing import Any

from caseline_common.resources import DOCUMENTS_BUCKET, TenantResourceNames

from caseline import console_assets
from caseline.local.console import CONSOLE_DIR, _security_headers
from infra.api_stack import CORS_HEADERS, CORS_METHODS
from infra.console import CONSOLE_SCOPES
from infra.tenants import TENANT_ID_PATTERN, Branding, Tenant, TenantRegistry
from tests.infra.conftest import Synthesized, resources


def _only(template: dict[str, Any], resource_type: str) -> tuple[str, dict[str, Any]]:
    ((logical_id, body),) = resources(template, resource_type).items()
    return logical_id, body["Properties"]


def _console(template: dict[str, Any], resource_type: str) -> tuple[str, dict[str, Any]]:
    """The console's distribution or headers policy (the shared stack also has those of document downloads)."""
    ((logical_id, body),) = [
        (logical_id, body)
        for logical_id, body in resources(template, resource_type).items()
        if logical_id.startswith("console")
    ]
    return logical_id, body["Properties"]


def _import_of(assembly: Synthesized, tenant_id: str, logical_id: str, attribute: str = "Ref") -> dict[str, Any]:
    """How another stack of the tenant names an attribute of a shared-stack resource (an export of its own)."""
    outputs = assembly.template(tenant_id, "shared")["Outputs"].values()
    (export,) = [
        output["Export"]["Name"]
        for output in outputs
        if "Export" in output and logical_id in output["Export"]["Name"] and attribute in output["Export"]["Name"]
    ]
    assert export.startswith(f"caseline-{tenant_id}-shared:")
    return {"Fn::ImportValue": export}


def _text(value: Any) -> str:
    """A string property; the account of a tenant without one (a Ref) reads as ACCOUNT."""
    if isinstance(value, str):
        return value
    separator: str
    separator, parts = value["Fn::Join"]
    return separator.join(part if isinstance(part, str) else "ACCOUNT" for part in parts)


def _directives(policy: str) -> dict[str, list[str]]:
    return {name: values for name, *values in (part.split() for part in policy.split(";") if part.strip())}


def test_each_tenant_gets_a_private_console_bucket_behind_cloudfront(
    assembly: Synthesized, registry: TenantRegistry
) -> None:
    for tenant in registry.tenants.values():
        shared = assembly.template(tenant.id, "shared")
        buckets = {
            json.dumps(body["Properties"]["BucketName"]): (name, body["Properties"])
            for name, body in resources(shared, "AWS::S3::Bucket").items()
        }
        ((bucket_id, bucket),) = [found for name, found in buckets.items() if f"caseline-{tenant.id}-console-" in name]
        assert bucket["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"] is True
        assert bucket["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
        assert bucket["LoggingConfiguration"]["LogFilePrefix"] == "console/"
        _, oac = _only(shared, "AWS::CloudFront::OriginAccessControl")
        assert oac["OriginAccessControlConfig"]["SigningBehavior"] == "always"
        distribution_id, distribution = _console(shared, "AWS::CloudFront::Distribution")
        config = distribution["DistributionConfig"]
        (origin,) = config["Origins"]
        assert origin["DomainName"] == {"Fn::GetAtt": [bucket_id, "RegionalDomainName"]}
        assert "OriginAccessControlId" in origin
        assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}  # no legacy identity
        behavior = config["DefaultCacheBehavior"]
        assert behavior["ViewerProtocolPolicy"] == "redirect-to-https"
        assert behavior["AllowedMethods"] == ["GET", "HEAD"]
        assert config["DefaultRootObject"] == "index.html"
        headers_id, _ = _console(shared, "AWS::CloudFront::ResponseHeadersPolicy")
        assert behavior["ResponseHeadersPolicyId"] == {"Ref": headers_id}
        (logs_id,) = [found[0] for name, found in buckets.items() if f"caseline-{tenant.id}-cdn-logs-" in name]
        assert config["Logging"]["Bucket"] == {"Fn::GetAtt": [logs_id, "RegionalDomainName"]}
        # Only CloudFront, and only for this distribution, reads the bucket; and only over TLS.
        (policy,) = [
            body["Properties"]["PolicyDocument"]["Statement"]
            for body in resources(shared, "AWS::S3::BucketPolicy").values()
            if body["Properties"]["Bucket"] == {"Ref": bucket_id}
        ]
        (read,) = [statement for statement in policy if statement["Effect"] == "Allow"]
        assert read["Principal"] == {"Service": "cloudfront.amazonaws.com"}
        assert read["Action"] == "s3:GetObject"
        assert distribution_id in json.dumps(read["Condition"]["StringEquals"]["AWS:SourceArn"])
        assert any(
            statement["Effect"] == "Deny" and "aws:SecureTransport" in json.dumps(statement) for statement in policy
        )
        assert assembly.template(tenant.id, "shared")["Outputs"]["ConsoleUrl"]


def test_the_security_headers_are_the_local_gateways_with_the_tenants_own_endpoints(
    assembly: Synthesized, registry: TenantRegistry
) -> None:
    local = _directives(_security_headers()["Content-Security-Policy"])
    for tenant in registry.tenants.values():
        _, policy = _console(assembly.template(tenant.id, "shared"), "AWS::CloudFront::ResponseHeadersPolicy")
        headers = policy["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
        deployed = _directives(_text(headers["ContentSecurityPolicy"]["ContentSecurityPolicy"]))
        assert {name: values for name, values in deployed.items() if name != "connect-src"} == {
            name: values for name, values in local.items() if name != "connect-src"
        }
        assert deployed["frame-ancestors"] == ["'none'"]
        account = tenant.account or "ACCOUNT"
        buckets = [TenantResourceNames(tenant_id=tenant.id).bucket(DOCUMENTS_BUCKET, account)]  # uploads go only there
        assert deployed["connect-src"] == [
            "'self'",
            tenant.public_url,
            *[host for bucket in buckets for host in (f"https://{bucket}.s3.{tenant.region}.amazonaws.com",
                                                      f"https://{bucket}.s3.amazonaws.com")],
            f"https://{tenant.auth_host}",
        ]  # fmt: skip
        assert headers["ContentTypeOptions"]["Override"] is True  # nosniff
        assert headers["ReferrerPolicy"]["ReferrerPolicy"] == "no-referrer"
        assert headers["FrameOptions"]["FrameOption"] == "DENY"
        assert headers["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 365 * 86400
        assert all(header["Override"] is True for header in headers.values())


def _deployments(assembly: Synthesized, tenant_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The deployment of the versioned assets, and that of index.html and config.json."""
    found = {
        logical_id: body
        for logical_id, body in resources(
            assembly.template(tenant_id, "console"), "Custom::CDKBucketDeployment"
        ).items()
    }
    ((assets_id, assets),) = [(name, body) for name, body in found.items() if name.startswith("assets")]
    ((_, files),) = [(name, body) for name, body in found.items() if name.startswith("files")]
    assert assets_id in files["DependsOn"]  # never an index.html naming assets not there yet
    return assets["Properties"], files["Properties"]


def test_the_console_stack_deploys_the_files_and_a_config_json_of_the_tenants_own(
    assembly: Synthesized, registry: TenantRegistry
) -> None:
    current = console_assets.version(CONSOLE_DIR)
    for tenant in registry.tenants.values():
        assets, deployment = _deployments(assembly, tenant.id)
        for each in (assets, deployment):
            assert json.dumps(each["DestinationBucketName"]).count(f"caseline-{tenant.id}-console-") == 1
        # Scripts and style sheets under their version, kept a year; the versions a release replaces pruned.
        assert assets["DestinationBucketKeyPrefix"] == "assets/"
        assert assets["Prune"] is True
        assert assets["SystemMetadata"] == {"cache-control": "public, max-age=31536000, immutable"}
        assert "DistributionId" not in assets  # new paths: nothing cached to invalidate
        (assets_dir,) = (assembly.outdir / f"asset.{key.removesuffix('.zip')}" for key in assets["SourceObjectKeys"])
        assert [path.name for path in assets_dir.iterdir()] == [current]
        assert sorted(
            path.relative_to(assets_dir / current) for path in (assets_dir / current).rglob("*.js")
        ) == sorted(path.relative_to(CONSOLE_DIR) for path in CONSOLE_DIR.rglob("*.js"))
        # index.html (naming them) and config.json, revalidated and invalidated on each release.
        assert deployment["Prune"] is False
        assert deployment["SystemMetadata"] == {"cache-control": "no-cache"}
        assert deployment["DistributionPaths"] == ["/", "/index.html", "/config.json"]
        shared = assembly.template(tenant.id, "shared")
        distribution_id, _ = _console(shared, "AWS::CloudFront::Distribution")
        assert deployment["DistributionId"] == _import_of(assembly, tenant.id, distribution_id)
        files, config_asset = (
            assembly.outdir / f"asset.{key.removesuffix('.zip')}" for key in deployment["SourceObjectKeys"]
        )
        assert [path.name for path in files.iterdir()] == ["index.html"]
        index = (files / "index.html").read_text()
        assert f'<script type="module" src="assets/{current}/js/app.js">' in index
        assert 'href="css/' not in index
        assert 'src="js/' not in index
        text = (config_asset / "config.json").read_text()
        markers = deployment["SourceMarkers"][1]
        assert set(re.findall(r"<<marker:0xbaba:\d+>>", text)) == set(markers)
        for marker, value in markers.items():
            text = text.replace(marker, json.dumps(value))
        config = json.loads(text)
        (client_id,) = [name for name, body in resources(shared, "AWS::Cognito::UserPoolClient").items()
                        if body["Properties"]["ClientName"] == f"caseline-{tenant.id}-staff"]  # fmt: skip
        url = {"Fn::Join": ["", ['"https://', _import_of(assembly, tenant.id, distribution_id, "DomainName"), '/"']]}
        assert config == {
            "api": tenant.public_url,
            "auth": {
                "mode": "cognito",
                "domain": tenant.auth_host,
                "client_id": {"Fn::Join": ["", ['"', _import_of(assembly, tenant.id, client_id), '"']]},
                "redirect_uri": url,
                "scopes": list(CONSOLE_SCOPES),
            },
        }
        assert {"openid", "email", "profile"} <= set(config["auth"]["scopes"])


def test_the_staff_client_signs_in_on_the_hosted_ui_of_every_tenant(
    assembly: Synthesized, registry: TenantRegistry
) -> None:
    for tenant in registry.tenants.values():
        shared = assembly.template(tenant.id, "shared")
        distribution_id, _ = _console(shared, "AWS::CloudFront::Distribution")
        (staff,) = [body["Properties"] for body in resources(shared, "AWS::Cognito::UserPoolClient").values()
                    if body["Properties"]["ClientName"] == f"caseline-{tenant.id}-staff"]  # fmt: skip
        url = {"Fn::Join": ["", ["https://", {"Fn::GetAtt": [distribution_id, "DomainName"]}, "/"]]}
        assert staff["CallbackURLs"] == staff["LogoutURLs"] == [url]
        assert staff["AllowedOAuthFlows"] == ["code"]
        assert staff["GenerateSecret"] is False
        (server,) = resources(shared, "AWS::Cognito::UserPoolResourceServer")
        scopes = json.loads(json.dumps(staff["AllowedOAuthScopes"]).replace(json.dumps({"Ref": server}), '"caseline"'))
        assert set(CONSOLE_SCOPES) <= {scope if isinstance(scope, str) else _text(scope) for scope in scopes}
        _, domain = _only(shared, "AWS::Cognito::UserPoolDomain")
        assert domain["Domain"] == tenant.auth_prefix


def test_a_tenant_without_a_domain_prefix_gets_a_deterministic_one() -> None:
    def tenant(tenant_id: str, domain: str) -> Tenant:
        return Tenant(id=tenant_id, region="eu-west-1", domain=domain, admin_email="a@example.org",
                      branding=Branding(display_name="x"))  # fmt: skip

    first = tenant("beta", "cases.beta.example")
    assert first.auth_prefix == tenant("beta", "cases.beta.example").auth_prefix
    assert first.auth_prefix.startswith("caseline-beta-")
    assert first.auth_prefix != tenant("beta", "cases.other.example").auth_prefix
    assert re.fullmatch(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", first.auth_prefix)
    reserved = tenant("awsome", "cases.awsome.example").auth_prefix  # Cognito refuses "aws" in a prefix
    assert "aws" not in reserved
    assert re.fullmatch(TENANT_ID_PATTERN.replace("{1,30}", "{1,62}"), reserved)
    assert first.auth_host == f"{first.auth_prefix}.auth.eu-west-1.amazoncognito.com"


def test_the_api_answers_preflights_and_its_own_errors_for_the_console_origin_only(
    assembly: Synthesized, registry: TenantRegistry
) -> None:
    for tenant in registry.tenants.values():
        api = assembly.template(tenant.id, "api")
        distribution_id, _ = _console(assembly.template(tenant.id, "shared"), "AWS::CloudFront::Distribution")
        origin = {"Fn::Join": ["", ["'https://", _import_of(assembly, tenant.id, distribution_id, "DomainName"), "'"]]}
        methods = [body["Properties"] for body in resources(api, "AWS::ApiGateway::Method").values()]
        preflights = [method for method in methods if method["HttpMethod"] == "OPTIONS"]
        # Every resource, and the root, answers a preflight.
        assert len(preflights) == len(resources(api, "AWS::ApiGateway::Resource")) + 1
        for preflight in preflights:
            assert preflight["AuthorizationType"] == "NONE"
            assert preflight["Integration"]["Type"] == "MOCK"
            (response,) = preflight["Integration"]["IntegrationResponses"]
            headers = response["ResponseParameters"]
            assert headers["method.response.header.Access-Control-Allow-Origin"] == origin
            assert headers["method.response.header.Access-Control-Allow-Headers"] == f"'{','.join(CORS_HEADERS)}'"
            assert headers["method.response.header.Access-Control-Allow-Methods"] == f"'{','.join(CORS_METHODS)}'"
            assert headers["method.response.header.Vary"] == "'Origin'"
        for response in resources(api, "AWS::ApiGateway::GatewayResponse").values():
            parameters = response["Properties"]["ResponseParameters"]
            assert parameters["gatewayresponse.header.Access-Control-Allow-Origin"] == origin


def test_the_documents_bucket_accepts_uploads_from_the_portal_and_the_console(
    assembly: Synthesized, registry: TenantRegistry
) -> None:
    for tenant in registry.tenants.values():
        shared = assembly.template(tenant.id, "shared")
        distribution_id, _ = _console(shared, "AWS::CloudFront::Distribution")
        console = {"Fn::Join": ["", ["https://", {"Fn::GetAtt": [distribution_id, "DomainName"]}]]}
        with_cors = [
            body["Properties"]["CorsConfiguration"]["CorsRules"]
            for body in resources(shared, "AWS::S3::Bucket").values()
            if "CorsConfiguration" in body["Properties"]
        ]
        assert len(with_cors) == 1  # the documents bucket's: nobody uploads to the anchors or the lake from a browser
        for (rule,) in with_cors:
            assert rule["AllowedOrigins"] == [tenant.public_url, console]
            assert rule["AllowedMethods"] == ["POST"]  # downloads are navigations to the downloads distribution


def test_the_console_is_deployed_with_its_own_least_privilege_role(assembly: Synthesized) -> None:
    console = assembly.template("acme", "console")
    (policy,) = resources(console, "AWS::IAM::ManagedPolicy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    actions = sorted(action for statement in statements for action in (
        statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]))  # fmt: skip
    assert actions == sorted([
        "logs:CreateLogStream", "logs:PutLogEvents", "s3:GetObject", "s3:ListBucket", "s3:GetBucketTagging",
        "s3:GetObject", "s3:PutObject", "s3:DeleteObject", "cloudfront:CreateInvalidation",
        "cloudfront:GetInvalidation",
    ])  # fmt: skip
    (function,) = resources(console, "AWS::Lambda::Function").values()
    (role_id,) = resources(console, "AWS::IAM::Role")
    assert function["Properties"]["Role"] == {"Fn::GetAtt": [role_id, "Arn"]}
    (log_group,) = resources(console, "AWS::Logs::LogGroup").values()
    assert log_group["Properties"]["LogGroupName"] == "/caseline/acme/lambda/caseline-acme-console-deploy"
    assert function["Properties"]["LoggingConfig"]["LogGroup"] == {
        "Ref": next(iter(resources(console, "AWS::Logs::LogGroup")))
    }
