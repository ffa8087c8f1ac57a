"""What each tenant's stacks hold: the resources of the specs, hardened, and the functions wired to them."""

import json
from typing import Any

import pytest
from caseline_common.resources import (
    BUCKETS,
    CASES_TABLE,
    CONSUMERS,
    SCHEDULES,
    SERVICES,
    STREAM_HANDLERS,
    TABLES,
    WORK_QUEUES,
    TenantResourceNames,
)
from caseline_common.scopes import Scope
from caseline_common.tenant import StaffRole

from infra.functions import MAIL_SENDERS, all_functions, service_functions
from infra.package import LambdaPackage
from infra.search_engine import DOMAIN_ALARMS
from infra.tenants import TenantRegistry
from infra.triggers import rate_expression
from tests.infra.conftest import Synthesized, resources

TENANT = "demo"
NAMES = TenantResourceNames(tenant_id=TENANT)


@pytest.fixture(scope="module")
def shared(assembly: Synthesized) -> dict[str, Any]:
    return assembly.template(TENANT, "shared")


@pytest.fixture(scope="module")
def api(assembly: Synthesized) -> dict[str, Any]:
    return assembly.template(TENANT, "api")


def _one(template: dict[str, Any], resource_type: str, **properties: Any) -> dict[str, Any]:
    matches: list[dict[str, Any]] = [
        body["Properties"]
        for body in resources(template, resource_type).values()
        if all(body["Properties"].get(key) == value for key, value in properties.items())
    ]
    assert len(matches) == 1, f"{resource_type} {properties}: {len(matches)} matches"
    return matches[0]


def test_every_tenant_gets_a_shared_stack_a_stack_per_service_an_api_and_a_console(
    assembly: Synthesized, registry: TenantRegistry
) -> None:
    for tenant_id in registry.tenants:
        names = sorted(stack.stack_name for stack in assembly.stacks(tenant_id))
        assert names == sorted(f"caseline-{tenant_id}-{part}" for part in ("shared", "api", "console", *SERVICES))


def test_tables_match_the_specs_with_pitr_deletion_protection_and_a_customer_key(shared: dict[str, Any]) -> None:
    tables = resources(shared, "AWS::DynamoDB::Table")
    assert len(tables) == len(TABLES)
    for spec in TABLES:
        (body,) = [body for body in tables.values() if body["Properties"]["TableName"] == NAMES.table(spec)]
        table = body["Properties"]
        assert body["DeletionPolicy"] == "Retain"
        assert table["DeletionProtectionEnabled"] is True
        assert table["PointInTimeRecoverySpecification"] == {
            "PointInTimeRecoveryEnabled": True,
            "RecoveryPeriodInDays": 35,
        }
        assert table["SSESpecification"]["SSEEnabled"] is True
        assert table["SSESpecification"]["SSEType"] == "KMS"
        assert "KMSMasterKeyId" in table["SSESpecification"]
        assert [index["IndexName"] for index in table.get("GlobalSecondaryIndexes", [])] == [
            index.name for index in spec.indexes
        ]
        if spec.ttl_attribute:
            assert table["TimeToLiveSpecification"] == {"AttributeName": spec.ttl_attribute, "Enabled": True}
    cases = _one(shared, "AWS::DynamoDB::Table", TableName=NAMES.table(CASES_TABLE))
    assert cases["StreamSpecification"] == {"StreamViewType": "NEW_IMAGE"}


def test_buckets_are_private_versioned_kms_encrypted_logged_and_tls_only(shared: dict[str, Any]) -> None:
    buckets = resources(shared, "AWS::S3::Bucket")
    assert len(buckets) == len(BUCKETS) + 3  # and the access-log bucket, the console's and its CloudFront logs'
    for body in buckets.values():
        bucket = body["Properties"]
        assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
        assert bucket["PublicAccessBlockConfiguration"] == dict.fromkeys(
            ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"), True
        )
        assert body["DeletionPolicy"] == "Retain"
        encryption = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        name = json.dumps(bucket["BucketName"])
        if "access-logs" in name or "cdn-logs" in name or "-console-" in name:
            # What S3 and CloudFront logging accept; the console's files are public static files.
            assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
            if "access-logs" not in name:
                assert bucket["LoggingConfiguration"]["DestinationBucketName"]["Ref"].startswith("accesslogs")
        else:
            assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
            assert encryption["BucketKeyEnabled"] is True
            assert "LoggingConfiguration" in bucket
    policies = resources(shared, "AWS::S3::BucketPolicy")
    assert len(policies) == len(buckets)
    for body in policies.values():
        statements = body["Properties"]["PolicyDocument"]["Statement"]
        assert any(
            statement["Effect"] == "Deny" and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for statement in statements
        )


def test_anchors_bucket_has_compliance_object_lock_and_the_signing_key_is_asymmetric(shared: dict[str, Any]) -> None:
    locked = [
        body["Properties"]
        for body in resources(shared, "AWS::S3::Bucket").values()
        if body["Properties"].get("ObjectLockEnabled")
    ]
    assert len(locked) == 1
    assert locked[0]["ObjectLockConfiguration"]["Rule"]["DefaultRetention"] == {"Days": 3650, "Mode": "COMPLIANCE"}
    _one(shared, "AWS::KMS::Key", KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")
    _one(shared, "AWS::KMS::Alias", AliasName="alias/caseline-demo-timeline-signing")
    for key in resources(shared, "AWS::KMS::Key").values():
        if key["Properties"].get("KeySpec") is None:
            assert key["Properties"]["EnableKeyRotation"] is True


def test_each_consumer_gets_a_rule_and_an_encrypted_queue_with_a_dead_letter_queue(shared: dict[str, Any]) -> None:
    for consumer in CONSUMERS:
        queue = _one(shared, "AWS::SQS::Queue", QueueName=NAMES.queue(consumer))
        assert queue["RedrivePolicy"]["maxReceiveCount"] == consumer.max_receive_count
        assert queue["VisibilityTimeout"] == consumer.visibility_timeout_seconds
        assert "KmsMasterKeyId" in queue
        _one(shared, "AWS::SQS::Queue", QueueName=NAMES.dead_letter_queue(consumer))
        rule = _one(shared, "AWS::Events::Rule", Name=NAMES.rule(consumer))
        assert rule["EventBusName"] == NAMES.event_bus()
        assert rule["EventPattern"] == consumer.event_pattern
        (target,) = rule["Targets"]
        assert "DeadLetterConfig" in target
        assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185}
    _one(shared, "AWS::Events::EventBus", Name=NAMES.event_bus())
    _one(shared, "AWS::Events::Archive", RetentionDays=35)  # the PITR window (test_restore_wiring.py)


def _distribution(template: dict[str, Any]) -> str:
    """The console's (the other one serves document downloads)."""
    (logical_id,) = [
        name for name in resources(template, "AWS::CloudFront::Distribution") if name.startswith("console")
    ]
    return logical_id


def test_user_pool_requires_mfa_has_the_staff_groups_the_staff_client_and_the_api_scopes(
    shared: dict[str, Any],
) -> None:
    pool = _one(shared, "AWS::Cognito::UserPool", UserPoolName="caseline-demo-users")
    assert pool["MfaConfiguration"] == "ON"
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert pool["UserPoolAddOns"] == {"AdvancedSecurityMode": "ENFORCED"}
    groups = {body["Properties"]["GroupName"] for body in resources(shared, "AWS::Cognito::UserPoolGroup").values()}
    assert groups == {role.value for role in StaffRole}
    staff = _one(shared, "AWS::Cognito::UserPoolClient", ClientName="caseline-demo-staff")
    assert staff["GenerateSecret"] is False  # a public client: authorization code with PKCE
    assert staff["AllowedOAuthFlows"] == ["code"]
    console_url = {"Fn::Join": ["", ["https://", {"Fn::GetAtt": [_distribution(shared), "DomainName"]}, "/"]]}
    assert staff["CallbackURLs"] == staff["LogoutURLs"] == [console_url]  # the staff console
    assert len(staff["AllowedOAuthScopes"]) == 3 + len(Scope)  # openid, email, profile and every API scope
    # Machine clients are made per integrator at run time (`caseline client create`), none in the template.
    assert len(resources(shared, "AWS::Cognito::UserPoolClient")) == 1
    server = _one(shared, "AWS::Cognito::UserPoolResourceServer", Identifier="caseline")
    assert {scope["ScopeName"] for scope in server["Scopes"]} == {scope.value for scope in Scope}
    admin = _one(shared, "AWS::Cognito::UserPoolUser", Username="dana.admin@demo.caseline.example")
    assert admin["DesiredDeliveryMediums"] == ["EMAIL"]
    attachments = resources(shared, "AWS::Cognito::UserPoolUserToGroupAttachment").values()
    assert sorted(body["Properties"]["GroupName"] for body in attachments) == [StaffRole.ADMIN, StaffRole.STAFF]
    _one(shared, "AWS::Cognito::UserPoolDomain", Domain="caseline-demo-example")


def test_functions_are_arm64_traced_sized_and_capped(assembly: Synthesized, packages: dict[str, LambdaPackage]) -> None:
    for service in SERVICES:
        template = assembly.template(TENANT, service)
        functions = {body["Properties"]["FunctionName"]: body["Properties"] for body in resources(
            template, "AWS::Lambda::Function").values()}  # fmt: skip
        specs = service_functions(service)
        assert len(functions) == len(specs)
        for spec in specs:
            function = functions[spec.function_name(NAMES)]
            assert function["Architectures"] == ["arm64"]
            assert function["Runtime"] == "python3.11"
            assert function["TracingConfig"] == {"Mode": "Active"}
            assert function["MemorySize"] == spec.memory_mb
            assert function["Timeout"] == spec.timeout_seconds
            assert function["Handler"] == packages[service].handlers[spec.name]
            assert function["ReservedConcurrentExecutions"] >= 1
            # The asset uploaded is the package's zip itself (CDK names it after a hash of the content hash).
            staged = assembly.outdir / f"asset.{function['Code']['S3Key']}"
            assert staged.read_bytes() == packages[service].zip_path.read_bytes()
            variables = function["Environment"]["Variables"]
            assert variables["CASELINE_TENANT_ID"] == TENANT
            assert "CASELINE_OIDC_ISSUER" in variables
            assert "CASELINE_OIDC_CLIENT_IDS" in variables
            assert variables["PYDANTIC_DISABLE_PLUGINS"] == "__all__"  # no entry-point scan at the first model
            assert not any(name.startswith(("POWERTOOLS_TRACE", "AWS_XRAY")) for name in variables)  # no tracing SDK


def test_handlers_go_through_the_entry_module_so_app_middleware_applies(packages: dict[str, LambdaPackage]) -> None:
    for spec in all_functions():
        handler = packages[spec.service].handlers[spec.name]
        assert handler == ("app.app" if spec.kind == "api" else f"caseline_lambda.{spec.name}")


def test_the_outbox_stream_bisects_retries_reports_partial_failures_and_keeps_what_fails(
    assembly: Synthesized,
) -> None:
    (stream,) = STREAM_HANDLERS
    template = assembly.template(TENANT, stream.service)
    (mapping,) = [
        body["Properties"]
        for body in resources(template, "AWS::Lambda::EventSourceMapping").values()
        if "StartingPosition" in body["Properties"]
    ]
    assert mapping["StartingPosition"] == "TRIM_HORIZON"
    assert mapping["BatchSize"] == stream.batch_size
    assert mapping["BisectBatchOnFunctionError"] is True
    assert mapping["MaximumRetryAttempts"] == 10
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert "OnFailure" in mapping["DestinationConfig"]


def test_each_consumer_reads_its_queue_with_partial_batch_responses(assembly: Synthesized) -> None:
    for consumer in CONSUMERS:
        template = assembly.template(TENANT, consumer.service)
        (mapping,) = [
            body["Properties"]
            for body in resources(template, "AWS::Lambda::EventSourceMapping").values()
            if NAMES.queue(consumer) in json.dumps(body["Properties"]["EventSourceArn"])
        ]
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert mapping["BatchSize"] == consumer.batch_size
        assert mapping["ScalingConfig"]["MaximumConcurrency"] == consumer.max_concurrency  # as the local pump runs


def _policy_statements(template: dict[str, Any], function_name: str) -> list[dict[str, Any]]:
    (policy,) = [
        body["Properties"]
        for logical_id, body in resources(template, "AWS::IAM::ManagedPolicy").items()
        if logical_id.startswith(f"{function_name.replace('_', '')}policy")
    ]
    statements: list[dict[str, Any]] = policy["PolicyDocument"]["Statement"]
    return statements


def test_each_work_queue_is_read_by_its_function_and_sent_to_only_by_its_senders(
    assembly: Synthesized, shared: dict[str, Any]
) -> None:
    for spec in WORK_QUEUES:
        queue = _one(shared, "AWS::SQS::Queue", QueueName=NAMES.queue(spec))
        assert queue["RedrivePolicy"]["maxReceiveCount"] == spec.max_receive_count
        assert queue["VisibilityTimeout"] == spec.visibility_timeout_seconds
        assert "KmsMasterKeyId" in queue
        _one(shared, "AWS::SQS::Queue", QueueName=NAMES.dead_letter_queue(spec))
        assert not [
            rule
            for rule in resources(shared, "AWS::Events::Rule").values()
            if rule["Properties"]["Name"].endswith(spec.name)
        ]
        template = assembly.template(TENANT, spec.service)
        (mapping,) = [
            body["Properties"]
            for body in resources(template, "AWS::Lambda::EventSourceMapping").values()
            if NAMES.queue(spec) in json.dumps(body["Properties"]["EventSourceArn"])
        ]
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert mapping["ScalingConfig"]["MaximumConcurrency"] == spec.max_concurrency
        for function in service_functions(spec.service):
            statements = _policy_statements(template, function.name)
            sends = [s for s in statements if "sqs:SendMessage" in s["Action"] and NAMES.queue(spec) in json.dumps(s)]
            assert bool(sends) == (function.name in spec.senders), function.name
            if function.name == spec.function:  # it does the one job it is given: no e-mail, nothing on the bus
                assert "ses:SendEmail" not in json.dumps(statements)
                assert "events:PutEvents" not in json.dumps(statements)
        for body in resources(template, "AWS::Lambda::Function").values():
            assert body["Properties"]["Environment"]["Variables"][spec.env_var] == NAMES.queue(spec)


def test_schedules_run_their_function_at_the_spec_rate_with_a_dead_letter_queue(assembly: Synthesized) -> None:
    for schedule in SCHEDULES:
        template = assembly.template(TENANT, schedule.service)
        (found,) = resources(template, "AWS::Scheduler::Schedule").values()
        expression = found["Properties"]["ScheduleExpression"]
        assert expression == rate_expression(schedule.every_minutes)
        plural = "" if schedule.every_minutes == 1 else "s"
        assert expression == f"rate({schedule.every_minutes} minute{plural})"
        assert "DeadLetterConfig" in found["Properties"]["Target"]


def test_alarms_watch_dead_letters_errors_throttles_the_stream_and_sla_breaches(assembly: Synthesized) -> None:
    alarms: dict[str, dict[str, Any]] = {}
    for part in ("api", *SERVICES):
        alarms.update(
            {
                body["Properties"]["AlarmName"]: body["Properties"]
                for body in resources(assembly.template(TENANT, part), "AWS::CloudWatch::Alarm").values()
            }
        )
    for spec in all_functions():
        assert f"caseline-demo-{spec.short_name}-errors" in alarms
        assert f"caseline-demo-{spec.short_name}-throttles" in alarms
    for consumer in CONSUMERS:
        assert alarms[f"caseline-demo-{consumer.name}-dlq-depth"]["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarms["caseline-demo-outbox-publisher-iterator-age"]["MetricName"] == "IteratorAge"
    assert "caseline-demo-cases-stream-failures" in alarms
    for service in {schedule.service for schedule in SCHEDULES}:
        assert f"caseline-demo-{service}-async-failures" in alarms
    # As infra/cost.py counts them; one more per service since the API functions' p95 duration alarms.
    for queue in WORK_QUEUES:
        assert alarms[f"caseline-demo-{queue.name}-dlq-depth"]["MetricName"] == "ApproximateNumberOfMessagesVisible"
    engine_alarms = len(DOMAIN_ALARMS)  # the demo tenant's tier has a search domain
    scheduled_failures = len({schedule.service for schedule in SCHEDULES})  # a queue per service with schedules
    assert len(alarms) == (
        2 * len(all_functions())
        + len(SERVICES)
        + len(CONSUMERS)
        + len(WORK_QUEUES)
        + scheduled_failures
        + 6
        + 1  # the synthetic probe's (infra/probes.py)
        + engine_alarms
    )
    for name, metric in (("sla-breaches", "SlaBreaches"), ("webhook-dead-letters", "WebhookDeadLettered")):
        alarm = alarms[f"caseline-demo-{name}"]
        assert (alarm["Namespace"], alarm["MetricName"]) == ("Caseline", metric)
        assert alarm["Dimensions"] == [{"Name": "service", "Value": "automations"}, {"Name": "tenant", "Value": TENANT}]
    assert "caseline-demo-api-5xx" in alarms
    assert all(alarm["AlarmActions"] and alarm["OKActions"] for alarm in alarms.values())


def test_every_route_of_every_service_is_on_the_api_with_the_right_authorization(
    api: dict[str, Any], packages: dict[str, LambdaPackage]
) -> None:
    paths = _resource_paths(api)
    methods = {
        (body["Properties"]["HttpMethod"], paths[body["Properties"]["ResourceId"]["Ref"]]): body["Properties"]
        for body in resources(api, "AWS::ApiGateway::Method").values()
        if body["Properties"]["ResourceId"].get("Ref") in paths and body["Properties"]["HttpMethod"] != "OPTIONS"
    }
    routes = [route for package in packages.values() for route in package.routes]
    token_endpoint = methods.pop(("POST", "/oauth2/token"))  # passed on to Cognito's, for machine clients
    assert token_endpoint["AuthorizationType"] == "NONE"
    assert token_endpoint["Integration"]["Type"] == "HTTP_PROXY"
    assert len(methods) == len(routes)
    for route in routes:
        method = methods[route.method, route.path]
        if route.public:
            assert method["AuthorizationType"] == "NONE", route
        else:  # the request authorizer checks the route's scope (tests/infra/test_client_plans.py)
            assert method["AuthorizationType"] == "CUSTOM", route
            assert method["ApiKeyRequired"] is True, route
            assert "AuthorizationScopes" not in method, route
        assert method["Integration"]["Type"] == "AWS_PROXY"
    scopes = {(route.method, route.path): route.scope for route in routes}
    assert scopes["GET", "/cases"] == "caseline/cases.read"
    assert scopes["POST", "/cases"] == "caseline/cases.write"
    assert scopes["GET", "/templates"] == "caseline/cases.read"
    assert scopes["PUT", "/templates/{key}/draft"] == "caseline/templates.admin"
    assert scopes["GET", "/webhooks"] == "caseline/webhooks.admin"
    public = {route.path for route in routes if route.public}
    assert {"/health/cases", "/openapi/cases.json", "/schemas/template", "/p/{token}"} <= public
    # One invoke permission per service, not one per method, and the authorizer's.
    invokes = [
        body for body in resources(api, "AWS::Lambda::Permission").values()
        if body["Properties"]["Principal"] == "apigateway.amazonaws.com"
    ]  # fmt: skip
    assert len(invokes) == len(SERVICES) + 1


def test_the_api_stage_is_traced_logged_throttled_and_behind_a_firewall(api: dict[str, Any]) -> None:
    (stage,) = resources(api, "AWS::ApiGateway::Stage").values()
    assert stage["Properties"]["TracingEnabled"] is True
    access_log = json.loads(stage["Properties"]["AccessLogSetting"]["Format"])
    assert access_log["clientId"] == "$context.authorizer.clientId"  # who fills a method's bucket
    assert access_log["errorType"] == "$context.error.responseType"  # THROTTLED among them
    (settings,) = [
        setting
        for setting in stage["Properties"]["MethodSettings"]
        if (setting["ResourcePath"], setting["HttpMethod"]) == ("/*", "*")
    ]
    assert settings["LoggingLevel"] == "ERROR"
    assert settings["DataTraceEnabled"] is False
    assert settings["ThrottlingRateLimit"] == 50
    assert len(resources(api, "AWS::WAFv2::WebACLAssociation")) == 1
    assert len(resources(api, "AWS::WAFv2::LoggingConfiguration")) == 1
    assert len(resources(api, "AWS::CloudWatch::Dashboard")) == 1
    responses = {
        body["Properties"]["ResponseType"]: body["Properties"]
        for body in resources(api, "AWS::ApiGateway::GatewayResponse").values()
    }
    assert {"MISSING_AUTHENTICATION_TOKEN", "UNAUTHORIZED", "ACCESS_DENIED", "THROTTLED"} <= set(responses)
    assert responses["MISSING_AUTHENTICATION_TOKEN"]["StatusCode"] == "404"
    assert "StatusCode" not in responses["DEFAULT_4XX"]  # keeps API Gateway's own status
    for response in responses.values():
        parameters = response["ResponseParameters"]
        assert parameters["gatewayresponse.header.Content-Type"] == "'application/problem+json'"
        throttled = {"gatewayresponse.header.Retry-After"} if response["ResponseType"] == "THROTTLED" else set()
        assert set(parameters) == {
            "gatewayresponse.header.Content-Type",
            "gatewayresponse.header.Access-Control-Allow-Origin",
            *throttled,
        }
        json.loads(response["ResponseTemplates"]["application/json"].replace("$context.error.messageString", '"m"'))


def test_each_portal_page_has_its_own_lower_throttle_and_keeps_metrics_and_logs(
    api: dict[str, Any], packages: dict[str, LambdaPackage], registry: TenantRegistry
) -> None:
    (stage,) = resources(api, "AWS::ApiGateway::Stage").values()
    settings = {
        (setting["ResourcePath"], setting["HttpMethod"]): setting for setting in stage["Properties"]["MethodSettings"]
    }
    limits = registry.tenants[TENANT].limits
    assert limits.portal_rate_per_second < limits.api_rate_per_second
    pages = {
        ("/" + route.path.replace("/", "~1"), route.method)
        for route in packages["portal"].routes
        if route.public and route.path.startswith(("/p/", "/portal/"))
    }
    assert ("/~1p~1{token}", "GET") in pages
    assert set(settings) == {("/*", "*"), *pages}  # staff and integrator methods keep the stage's throttle
    for page in pages:
        assert settings[page]["ThrottlingRateLimit"] == limits.portal_rate_per_second, page
        assert settings[page]["ThrottlingBurstLimit"] == limits.portal_burst, page
        assert settings[page]["MetricsEnabled"] is True, page
        assert settings[page]["LoggingLevel"] == "ERROR", page
        assert settings[page]["DataTraceEnabled"] is False, page


def test_a_tenant_with_a_certificate_gets_its_custom_domain(assembly: Synthesized) -> None:
    api = assembly.template("acme", "api")
    (domain,) = resources(api, "AWS::ApiGateway::DomainName").values()
    assert domain["Properties"]["DomainName"] == "cases.acme.example"
    assert domain["Properties"]["SecurityPolicy"] == "TLS_1_2"
    (rest_api,) = resources(api, "AWS::ApiGateway::RestApi").values()
    assert rest_api["Properties"]["DisableExecuteApiEndpoint"] is True


def test_no_inline_policies_and_no_scan_anywhere(assembly: Synthesized, registry: TenantRegistry) -> None:
    for tenant_id in registry.tenants:
        for stack in assembly.stacks(tenant_id):
            template = assembly.template(tenant_id, stack.stack_name.removeprefix(f"caseline-{tenant_id}-"))
            assert not resources(template, "AWS::IAM::Policy"), stack.stack_name
            assert "dynamodb:Scan" not in json.dumps(template)
            for role in resources(template, "AWS::IAM::Role").values():
                assert "Policies" not in role["Properties"]


def _resource_paths(api: dict[str, Any]) -> dict[str, str]:
    """Logical id of each API Gateway resource -> its full path."""
    found = resources(api, "AWS::ApiGateway::Resource")
    paths: dict[str, str] = {}

    def path_of(logical_id: str) -> str:
        if logical_id not in paths:
            properties = found[logical_id]["Properties"]
            parent = properties["ParentId"]
            prefix = path_of(parent["Ref"]) if "Ref" in parent else ""
            paths[logical_id] = f"{prefix}/{properties['PathPart']}"
        return paths[logical_id]

    for logical_id in found:
        path_of(logical_id)
    return paths


def test_mail_senders_send_only_from_the_tenants_ses_identity(
    assembly: Synthesized, shared: dict[str, Any], registry: TenantRegistry
) -> None:
    tenant = registry.get(TENANT)
    _one(shared, "AWS::SES::EmailIdentity", EmailIdentity=tenant.domain)
    for service in SERVICES:
        template = assembly.template(TENANT, service)
        for function in resources(template, "AWS::Lambda::Function").values():
            variables = function["Properties"]["Environment"]["Variables"]
            assert variables.get("CASELINE_MAIL_FROM") == (tenant.mail_from if service in MAIL_SENDERS else None)
        sends = [
            statement
            for policy in resources(template, "AWS::IAM::ManagedPolicy").values()
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]
            if "ses:SendEmail" in json.dumps(statement["Action"])
        ]
        if service not in MAIL_SENDERS:
            assert not sends, service
            continue
        # Every function of the service that sends (the tasks service's notifications alone), but a work queue's,
        # which does the one job it is given.
        work_queues = {queue.function for queue in WORK_QUEUES if queue.service == service}
        senders = [spec for spec in service_functions(service) if spec.sends_mail and spec.name not in work_queues]
        assert len(sends) == len(senders), service
        for statement in sends:
            assert statement["Action"] == ["ses:SendEmail", "ses:SendRawEmail"]
            assert f":identity/{tenant.domain}" in json.dumps(statement["Resource"])
            assert statement["Condition"] == {"StringEquals": {"ses:FromAddress": tenant.mail_from}}
