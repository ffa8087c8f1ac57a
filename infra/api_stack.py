"""The tenant's one API: a REST API whose routes integrate with each service's API function, and the dashboard.

Routes come from each package's route table (the app's own routes, and from its OpenAPI document whether each is
public and which scope it needs). Staff and integrator routes pass the API's request authorizer
(caseline_common.authorizer): a token of the tenant's user pool with the route's scope (`caseline/cases.read`,
`caseline/cases.write`, `caseline/templates.admin` or `caseline/webhooks.admin`, from caseline_common.scopes), and the
usage plan of the app client it came from (each integrator's own, the staff plan for people); public routes
(health, OpenAPI documents, the template schema, the portal's pages) need none. The services verify every token,
and its scope, again themselves. `POST /oauth2/token` passes machine
clients on to the Cognito domain's token endpoint, so the API's own URL is where they get tokens, as locally.

REST rather than HTTP API: X-Ray tracing, WAF, request validation, execution logs and per-stage throttling
are what a regulated workload is audited for, and only REST APIs have them all.
"""

import json
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_wafv2 as wafv2
from caseline_common.authorizer import REFUSALS, THROTTLED_RETRY_AFTER_SECONDS, RouteScopes
from caseline_common.resources import CONSUMERS, SERVICES, TenantResourceNames
from caseline_common.scopes import RESOURCE_SERVER, TOKEN_PATH, Scope
from constructs import Construct

from infra import nag
from infra.functions import FunctionSpec, all_functions
from infra.monitoring import alarm_topic_name, business_metric, notify
from infra.package import LambdaPackage, Route
from infra.probes import TenantProbe
from infra.releases import alias_arn
from infra.shared_stack import TenantSharedStack, log_group_prefix, waf_log_group_name
from infra.tenants import Tenant, TierLimits

STAGE = "api"
KNOWN_SCOPES = frozenset(scope.qualified for scope in Scope)
PROBLEM_JSON = "application/problem+json"
PORTAL_PREFIXES = ("/p/", "/portal/")
LOGGING_LEVEL = apigateway.MethodLoggingLevel.ERROR
WAF_RATE_LIMIT_PER_5_MINUTES = 3000  # per client IP
# The authorizer's answer is cached per token, method and resource (so the route's scope is checked exactly).
AUTHORIZER_IDENTITY = (
    apigateway.IdentitySource.header("Authorization"),
    apigateway.IdentitySource.context("httpMethod"),
    apigateway.IdentitySource.context("resourcePath"),
)
AUTHORIZER_CACHE = cdk.Duration.minutes(5)
# The probe's own plan: one run every 5 minutes makes a dozen calls.
PROBE_RATE_PER_SECOND, PROBE_BURST = 2, 5
# CDK's standard fields, and who called (a machine client's id, the staff console's for people) and why API
# Gateway refused (THROTTLED, WAF_FILTERED...): which client fills a method's bucket is one Logs Insights query.
ACCESS_LOG_FIELDS = {
    "requestId": apigateway.AccessLogField.context_request_id(),
    "ip": apigateway.AccessLogField.context_identity_source_ip(),
    "user": apigateway.AccessLogField.context_identity_user(),
    "requestTime": apigateway.AccessLogField.context_request_time(),
    "httpMethod": apigateway.AccessLogField.context_http_method(),
    "resourcePath": apigateway.AccessLogField.context_resource_path(),
    "status": apigateway.AccessLogField.context_status(),
    "protocol": apigateway.AccessLogField.context_protocol(),
    "responseLength": apigateway.AccessLogField.context_response_length(),
    "clientId": apigateway.AccessLogField.context_authorizer("clientId"),
    "errorType": apigateway.AccessLogField.context_error_response_type(),
}
# The staff console calls the API from its own origin (CloudFront): what its requests may carry.
CORS_HEADERS = ("Authorization", "Content-Type", "If-Match", "Idempotency-Key")
CORS_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
CORS_MAX_AGE = cdk.Duration.minutes(10)


def _problem(status: int | None, title: str, detail: str) -> str:
    # $context.error.messageString is API Gateway's message already quoted and escaped for JSON.
    detail_json = detail if detail.startswith("$context.") else f'"{detail}"'
    status_json = f'"status":{status},' if status is not None else ""
    return (
        f'{{"type":"about:blank","title":"{title}",{status_json}"detail":{detail_json},'
        '"correlation_id":"$context.requestId"}'
    )


# API Gateway's own answers (no route, no token, throttled...) in the same RFC 9457 shape as the services'. The
# defaults keep API Gateway's status (which their templates cannot name).
GATEWAY_RESPONSES: dict[str, tuple[apigateway.ResponseType, int | None, str, str]] = {
    "missing-route": (
        apigateway.ResponseType.MISSING_AUTHENTICATION_TOKEN,
        404,
        "Not found",
        "No route for this method and path.",
    ),
    "unauthorized": (apigateway.ResponseType.UNAUTHORIZED, *REFUSALS["unauthorized"]),
    "access-denied": (apigateway.ResponseType.ACCESS_DENIED, *REFUSALS["access-denied"]),
    "throttled": (apigateway.ResponseType.THROTTLED, *REFUSALS["throttled"]),
    "no-usage-plan": (apigateway.ResponseType.INVALID_API_KEY, *REFUSALS["no-usage-plan"]),
    "waf-blocked": (apigateway.ResponseType.WAF_FILTERED, 403, "Forbidden", "The request was blocked."),
    "too-large": (apigateway.ResponseType.REQUEST_TOO_LARGE, 413, "Payload too large", "The body exceeds 10 MB."),
    "default-4xx": (apigateway.ResponseType.DEFAULT_4_XX, None, "Request refused", "$context.error.messageString"),
    "default-5xx": (apigateway.ResponseType.DEFAULT_5_XX, None, "Gateway error", "$context.error.messageString"),
}


class ApiStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        tenant: Tenant,
        packages: dict[str, LambdaPackage],
        shared: TenantSharedStack,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.tenant, self.shared = tenant, shared
        self.names = names = TenantResourceNames(tenant_id=tenant.id)
        self.api_name = f"{names.prefix()}-api"
        access_logs = logs.LogGroup(
            self,
            "access-logs",
            log_group_name=f"{log_group_prefix(names)}api/access",
            retention=logs.RetentionDays.ONE_YEAR,
            encryption_key=shared.logs_key,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        limits = tenant.limits
        self.api = apigateway.RestApi(
            self,
            "api",
            rest_api_name=self.api_name,
            description=f"Caseline API of tenant {tenant.id}",
            endpoint_types=[apigateway.EndpointType.REGIONAL],
            # One-time per account and region (docs/operations.md): API Gateway's CloudWatch role.
            cloud_watch_role=False,
            # Usage plans key by the app client the authorizer found in the token, never by a header callers send.
            api_key_source_type=apigateway.ApiKeySourceType.AUTHORIZER,
            binary_media_types=sorted({media for package in packages.values() for media in package.binary_media_types}),
            disable_execute_api_endpoint=tenant.certificate_arn is not None,
            # Preflights are answered by API Gateway itself (a mock integration on every resource), for the
            # console's origin only. No credentials mode: the console sends its token in Authorization.
            default_cors_preflight_options=apigateway.CorsOptions(
                allow_origins=[shared.console.origin],
                allow_headers=list(CORS_HEADERS),
                allow_methods=list(CORS_METHODS),
                max_age=CORS_MAX_AGE,
            ),
            deploy_options=apigateway.StageOptions(
                stage_name=STAGE,
                tracing_enabled=True,
                metrics_enabled=True,
                logging_level=LOGGING_LEVEL,
                data_trace_enabled=False,  # request and response bodies hold personal data
                throttling_rate_limit=limits.api_rate_per_second,
                throttling_burst_limit=limits.api_burst,
                method_options=portal_throttles(packages, limits),
                access_log_destination=apigateway.LogGroupLogDestination(access_logs),
                access_log_format=apigateway.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FIELDS)),
            ),
        )
        # Execution logs (errors only): API Gateway writes them into a group named after the API; created here
        # so they are encrypted and expire.
        execution_logs = logs.LogGroup(
            self,
            "execution-logs",
            log_group_name=f"API-Gateway-Execution-Logs_{self.api.rest_api_id}/{STAGE}",
            retention=logs.RetentionDays.ONE_YEAR,
            encryption_key=shared.logs_key,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        self.api.deployment_stage.node.add_dependency(execution_logs)
        for response_id, (response_type, status, title, detail) in GATEWAY_RESPONSES.items():
            self.api.add_gateway_response(
                response_id,
                type=response_type,
                status_code=str(status) if status is not None else None,
                # The console must be able to read API Gateway's own refusals (401, 403, 429...) too.
                response_headers={
                    "Content-Type": f"'{PROBLEM_JSON}'",
                    "Access-Control-Allow-Origin": f"'{shared.console.origin}'",
                    **({"Retry-After": f"'{THROTTLED_RETRY_AFTER_SECONDS}'"} if response_id == "throttled" else {}),
                },
                templates={"application/json": _problem(status, title, detail)},
            )
        self.authorizer = self._authorizer()
        self.validator = self.api.add_request_validator(
            "parameters", request_validator_name="parameters", validate_request_parameters=True
        )
        nag.acknowledge(
            self.api,
            "AwsSolutions-APIG2",
            "Required path parameters are validated here; bodies and query strings are validated by each service "
            "against the pydantic models its OpenAPI document is generated from (422 with a JSON Pointer per "
            "issue). API Gateway models (JSON Schema draft 4) copied from them would drift and answer differently.",
        )
        self.routes: dict[tuple[str, str], str] = {}
        for service in SERVICES:
            self._service_routes(service, packages[service].routes)
        self._token_endpoint()
        self._firewall()
        if tenant.certificate_arn:
            self._custom_domain(tenant.certificate_arn)
        self._alarms_and_dashboard()
        url = f"{tenant.public_url}/" if tenant.certificate_arn else self.api.url
        cdk.CfnOutput(self, "ApiUrl", value=url, description="The tenant's API (and portal) base URL")
        self.probe = TenantProbe(self, "probe", tenant=tenant, shared=shared, base_url=url)
        self._usage_plans()

    def _authorizer(self) -> apigateway.RequestAuthorizer:
        """The request authorizer (its function's live alias, in the tasks stack), cached per token and route."""
        spec = next(spec for spec in all_functions() if spec.kind == "authorizer")
        function = lambda_.Function.from_function_attributes(
            self,
            "authorizer-function",
            function_arn=alias_arn(self._function_arn(spec)),
            same_environment=True,  # so CDK grants API Gateway the invoke permission here
        )
        return apigateway.RequestAuthorizer(
            self,
            "staff-and-integrators",
            authorizer_name=f"{self.names.prefix()}-tokens",
            handler=function,
            identity_sources=list(AUTHORIZER_IDENTITY),
            results_cache_ttl=AUTHORIZER_CACHE,
        )

    def _function_arn(self, spec: FunctionSpec) -> str:
        return f"arn:{self.partition}:lambda:{self.region}:{self.account}:function:{spec.function_name(self.names)}"

    def _usage_plans(self) -> None:
        """People's plan (their tokens come from the staff client) at the methods' own limits, and the probe's.
        Integrators' plans are made with their clients (`caseline client create --rate --burst`)."""
        limits = self.tenant.limits
        staff_client = self.shared.staff_client.user_pool_client_id
        self.usage_plan("staff", staff_client, limits.api_rate_per_second, limits.api_burst)
        self.usage_plan("probe", self.probe.client.user_pool_client_id, PROBE_RATE_PER_SECOND, PROBE_BURST)

    def usage_plan(self, name: str, app_client_id: str, rate_per_second: int, burst: int) -> apigateway.UsagePlan:
        """A plan whose one API key's value is the app client's id, which the authorizer returns for its tokens."""
        plan = apigateway.UsagePlan(
            self,
            f"{name}-plan",
            name=f"{self.names.prefix()}-{name}",
            description=f"Requests of the {name} app client",
            api_stages=[apigateway.UsagePlanPerApiStage(api=self.api, stage=self.api.deployment_stage)],
            throttle=apigateway.ThrottleSettings(rate_limit=rate_per_second, burst_limit=burst),
        )
        plan.add_api_key(
            apigateway.ApiKey(self, f"{name}-key", api_key_name=f"{self.names.prefix()}-{name}", value=app_client_id)
        )
        return plan

    def _service_routes(self, service: str, routes: tuple[Route, ...]) -> None:
        function_name = f"{self.names.prefix()}-{service}-api"
        # Its live alias (infra/releases.py): a version CodeDeploy has not released yet gets no request.
        function_arn = alias_arn(f"arn:{self.partition}:lambda:{self.region}:{self.account}:function:{function_name}")
        integration = apigateway.Integration(
            type=apigateway.IntegrationType.AWS_PROXY,
            integration_http_method="POST",
            uri=f"arn:{self.partition}:apigateway:{self.region}:lambda:path/2015-03-31/functions/{function_arn}"
            "/invocations",
        )
        # One permission per service (CDK's LambdaIntegration would add one per method, filling the function's
        # resource policy): this API, its stage, any method and path.
        lambda_.CfnPermission(
            self,
            f"{service}-invoke",
            action="lambda:InvokeFunction",
            function_name=function_arn,
            principal="apigateway.amazonaws.com",
            source_arn=self.api.arn_for_execute_api("*", "/*", STAGE),
        )
        for route in routes:
            if (route.method, route.path) in self.routes:
                raise ValueError(f"{route.method} {route.path} is declared by {self.routes[route.method, route.path]}")
            self.routes[route.method, route.path] = service
            resource = self.api.root.resource_for_path(route.path)
            parameters = {f"method.request.path.{name}": True for name in _path_parameters(route.path)}
            if route.public:
                method = resource.add_method(
                    route.method,
                    integration,
                    authorization_type=apigateway.AuthorizationType.NONE,
                    request_parameters=parameters or None,
                    request_validator=self.validator if parameters else None,
                )
                reason = _public_reason(route)
                nag.acknowledge(method, "AwsSolutions-APIG4", reason)
                nag.acknowledge(method, "AwsSolutions-COG4", reason)
            else:
                if route.scope not in KNOWN_SCOPES:
                    raise ValueError(f"{route.method} {route.path} needs a token but names no known scope")
                method = resource.add_method(
                    route.method,
                    integration,
                    authorization_type=apigateway.AuthorizationType.CUSTOM,
                    authorizer=self.authorizer,
                    api_key_required=True,  # the caller's usage plan, by the key the authorizer returns
                    request_parameters=parameters or None,
                    request_validator=self.validator if parameters else None,
                )
                nag.acknowledge(
                    method,
                    "AwsSolutions-COG4",
                    "The request authorizer verifies the user pool's tokens as Cognito's authorizer would (RS256 "
                    "signature, issuer, expiry, client) and the route's scope, and also names the caller's usage "
                    "plan, which a Cognito authorizer cannot (docs/architecture.md, Throttling).",
                )

    def _token_endpoint(self) -> None:
        """Machine clients get their tokens at the API's own `/oauth2/token`, which the OpenAPI document names:
        passed on as it is to the Cognito domain's token endpoint, which authenticates the client."""
        if ("POST", TOKEN_PATH) in self.routes:
            raise ValueError(f"POST {TOKEN_PATH} is the token endpoint, not {self.routes['POST', TOKEN_PATH]}'s")
        cognito_token_url = f"{self.shared.auth_domain.base_url()}{TOKEN_PATH}"
        method = self.api.root.resource_for_path(TOKEN_PATH).add_method(
            "POST",
            apigateway.HttpIntegration(cognito_token_url, http_method="POST", proxy=True),
            authorization_type=apigateway.AuthorizationType.NONE,
        )
        reason = (
            f"POST {TOKEN_PATH} is the OAuth 2.0 token endpoint: a machine client authenticates there with its id "
            "and secret, which Cognito checks, so it cannot ask for a token first; the firewall rate-limits it per "
            "client address."
        )
        nag.acknowledge(method, "AwsSolutions-APIG4", reason)
        nag.acknowledge(method, "AwsSolutions-COG4", reason)

    def _firewall(self) -> None:
        def managed(name: str, priority: int, *, count: tuple[str, ...] = ()) -> wafv2.CfnWebACL.RuleProperty:
            return wafv2.CfnWebACL.RuleProperty(
                name=name,
                priority=priority,
                override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                        vendor_name="AWS",
                        name=name,
                        rule_action_overrides=[
                            wafv2.CfnWebACL.RuleActionOverrideProperty(
                                name=rule, action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={})
                            )
                            for rule in count
                        ]
                        or None,
                    )
                ),
                visibility_config=self._waf_visibility(name),
            )

        acl = wafv2.CfnWebACL(
            self,
            "firewall",
            name=f"{self.names.prefix()}-api",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=self._waf_visibility(f"{self.names.prefix()}-api"),
            rules=[
                wafv2.CfnWebACL.RuleProperty(
                    name="rate-per-ip",
                    priority=0,
                    action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                            limit=WAF_RATE_LIMIT_PER_5_MINUTES, aggregate_key_type="IP"
                        )
                    ),
                    visibility_config=self._waf_visibility("rate-per-ip"),
                ),
                managed("AWSManagedRulesAmazonIpReputationList", 1),
                # Templates and case fields are JSON bodies up to 200 KiB: the common set's 8 KB body limit would
                # block them, so that one rule only counts.
                managed("AWSManagedRulesCommonRuleSet", 2, count=("SizeRestrictions_BODY",)),
                managed("AWSManagedRulesKnownBadInputsRuleSet", 3),
            ],
        )
        wafv2.CfnWebACLAssociation(
            self, "firewall-association", resource_arn=self.api.deployment_stage.stage_arn, web_acl_arn=acl.attr_arn
        )
        waf_logs = logs.LogGroup(
            self,
            "firewall-logs",
            log_group_name=waf_log_group_name(self.names),  # WAF requires the aws-waf-logs- prefix
            retention=logs.RetentionDays.ONE_YEAR,
            encryption_key=self.shared.logs_key,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        wafv2.CfnLoggingConfiguration(
            self,
            "firewall-logging",
            resource_arn=acl.attr_arn,
            log_destination_configs=[
                self.format_arn(
                    service="logs",
                    resource="log-group",
                    resource_name=waf_logs.log_group_name,
                    arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                )
            ],
            # Tokens and session cookies never reach the logs.
            redacted_fields=[
                wafv2.CfnLoggingConfiguration.FieldToMatchProperty(single_header={"Name": "authorization"}),
                wafv2.CfnLoggingConfiguration.FieldToMatchProperty(single_header={"Name": "cookie"}),
            ],
        )

    @staticmethod
    def _waf_visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
        return wafv2.CfnWebACL.VisibilityConfigProperty(
            cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
        )

    def _custom_domain(self, certificate_arn: str) -> None:
        domain = apigateway.DomainName(
            self,
            "domain",
            domain_name=self.tenant.domain,
            certificate=acm.Certificate.from_certificate_arn(self, "certificate", certificate_arn),
            endpoint_type=apigateway.EndpointType.REGIONAL,
            security_policy=apigateway.SecurityPolicy.TLS_1_2,
        )
        domain.add_base_path_mapping(self.api, stage=self.api.deployment_stage)
        cdk.CfnOutput(self, "DnsTarget", value=domain.domain_name_alias_domain_name)
        cdk.CfnOutput(self, "DnsHostedZone", value=domain.domain_name_alias_hosted_zone_id)

    def _alarms_and_dashboard(self) -> None:
        prefix, period = self.names.prefix(), cdk.Duration.minutes(5)
        alarm_topic = sns.Topic.from_topic_arn(
            self,
            "alarm-topic",
            self.format_arn(
                service="sns", resource=alarm_topic_name(self.names), arn_format=cdk.ArnFormat.NO_RESOURCE_NAME
            ),
        )
        server_errors = self.api.metric_server_error(period=period, statistic="Sum")
        latency = self.api.metric_latency(period=period, statistic="p99")
        for alarm_id, metric, threshold, description in (
            ("api-5xx", server_errors, 5, "The API answered 5xx five times or more in 5 minutes"),
            ("api-latency-p99", latency, 3000, "The API's p99 latency exceeded 3 s"),
        ):
            alarm = cloudwatch.Alarm(
                self,
                alarm_id,
                alarm_name=f"{prefix}-{alarm_id}",
                alarm_description=description,
                metric=metric,
                threshold=threshold,
                evaluation_periods=3 if alarm_id == "api-latency-p99" else 1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            notify(alarm, alarm_topic)

        def lambda_metric(name: str, function_name: str, statistic: str = "Sum") -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace="AWS/Lambda",
                metric_name=name,
                dimensions_map={"FunctionName": function_name},
                statistic=statistic,
                period=period,
                label=function_name.removeprefix(f"{prefix}-"),
            )

        def queue_metric(name: str, queue_name: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace="AWS/SQS",
                metric_name=name,
                dimensions_map={"QueueName": queue_name},
                statistic="Maximum",
                period=period,
                label=queue_name.removeprefix(f"{prefix}-"),
            )

        def caseline_metric(name: str, service: str) -> cloudwatch.Metric:
            return business_metric(self.names, service, name, period=period).with_(label=f"{service} {name}")

        names = [spec.function_name(self.names) for spec in all_functions()]
        consuming = list(dict.fromkeys(spec.service for spec in CONSUMERS))  # the metrics are per service
        dashboard = cloudwatch.Dashboard(self, "dashboard", dashboard_name=prefix)
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="API requests and errors",
                left=[
                    self.api.metric_count(period=period, statistic="Sum"),
                    self.api.metric_client_error(period=period, statistic="Sum"),
                    server_errors,
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="API latency",
                left=[self.api.metric_latency(period=period, statistic=statistic) for statistic in ("p50", "p99")],
                width=12,
            ),
        )
        for title, metric_name, statistic in (
            ("Invocations", "Invocations", "Sum"),
            ("Errors", "Errors", "Sum"),
            ("Throttles", "Throttles", "Sum"),
            ("Duration p95 (ms)", "Duration", "p95"),
            ("Concurrent executions", "ConcurrentExecutions", "Maximum"),
        ):
            dashboard.add_widgets(
                cloudwatch.GraphWidget(
                    title=f"Functions: {title}",
                    left=[lambda_metric(metric_name, name, statistic) for name in names],
                    width=24,
                )
            )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Consumer queues: messages waiting",
                left=[queue_metric("ApproximateNumberOfMessagesVisible", self.names.queue(spec)) for spec in CONSUMERS],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Dead-letter queues: messages",
                left=[
                    queue_metric("ApproximateNumberOfMessagesVisible", self.names.dead_letter_queue(spec))
                    for spec in CONSUMERS
                ],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Events",
                left=[
                    caseline_metric("EventsPublished", "cases"),
                    *[caseline_metric("EventsConsumed", service) for service in consuming],
                    *[caseline_metric("EventsFailed", service) for service in consuming],
                    caseline_metric("SlaBreaches", "automations"),
                ],
                width=8,
            ),
        )
        nag.acknowledge(
            self.api.deployment_stage,
            "HIPAA.Security-APIGWCacheEnabledAndEncrypted",
            "Responses depend on the caller (field visibility, case access) and hold personal data; a stage cache "
            "shared by callers could serve one caller's view to another, so nothing is cached.",
        )
        nag.acknowledge(
            self.api.deployment_stage,
            "HIPAA.Security-APIGWSSLEnabled",
            "Every integration is a Lambda proxy: API Gateway invokes Lambda through the signed Lambda API, there "
            "is no HTTP backend that could verify a client certificate.",
        )


def is_portal_page(route: Route) -> bool:
    """A page external participants open with a link or its session, not a staff or integrator operation."""
    return route.public and route.path.startswith(PORTAL_PREFIXES)


def portal_throttles(
    packages: dict[str, LambdaPackage], limits: TierLimits
) -> dict[str, apigateway.MethodDeploymentOptions]:
    """The portal pages' own per-method throttle (`/p/{token}/GET` -> rate, burst); every other method keeps the
    stage's. Set on the stage (not on the methods) because API Gateway throttles there, per method."""
    # A method's settings replace the stage's as a whole: metrics and logging are repeated.
    throttle = apigateway.MethodDeploymentOptions(
        metrics_enabled=True,
        logging_level=LOGGING_LEVEL,
        data_trace_enabled=False,
        throttling_rate_limit=limits.portal_rate_per_second,
        throttling_burst_limit=limits.portal_burst,
    )
    return {
        f"{route.path}/{route.method}": throttle
        for package in packages.values()
        for route in package.routes
        if is_portal_page(route)
    }


def token_route_scopes(packages: dict[str, LambdaPackage]) -> RouteScopes:
    """What the authorizer checks: each route that needs a token, with its scope."""
    prefix = f"{RESOURCE_SERVER}/"
    return RouteScopes.of(
        (route.method, route.path, Scope(route.scope.removeprefix(prefix)))
        for package in packages.values()
        for route in package.routes
        if not route.public and route.scope is not None
    )


def _public_reason(route: Route) -> str:
    if is_portal_page(route):
        return (
            f"{route.method} {route.path} is a portal page for external participants, who have no account: the "
            "portal service authenticates it by the link token or the session cookie it issued, rate-limits it "
            "and checks a CSRF token on every form; the firewall rate-limits per client address."
        )
    return (
        f"{route.method} {route.path} serves a health check, an OpenAPI document or the template JSON Schema: "
        "the same for everyone, no tenant data, meant to be read without a token."
    )


def _path_parameters(path: str) -> list[str]:
    return [part[1:-1].rstrip("+") for part in path.split("/") if part.startswith("{") and part.endswith("}")]
