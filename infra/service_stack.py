"""One service's stack: its functions, each with its log group, role and policy, attached to what starts it and
watched by alarms and a dashboard.

The pieces live beside it: `infra.policies` writes each function's one policy, `infra.triggers` its event source
mappings and schedules (and the queues failures go to), `infra.monitoring` the alarms and the service's dashboard.
Construct ids are those the stack always had (the monitoring construct's id, `Default`, stays out of logical ids),
so a deployed tenant's resources are updated in place, never replaced.
"""

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from caseline_common.authorizer import ROUTE_SCOPES_ENV_VAR, RouteScopes
from caseline_common.observability import METRICS_NAMESPACE
from caseline_common.resources import (
    INSIGHT_ENGINE_ENV_VAR,
    LAKE_BUCKET,
    PEOPLE_TABLE,
    SEARCH_ENGINE_ENV_VAR,
    USER_POOL_ENV_VAR,
    QueueSpec,
    TenantResourceNames,
    download_environment,
    service_environment,
)
from constructs import Construct

from infra import nag
from infra.functions import MAIL_SENDERS, FunctionSpec, service_functions, wired_function_names
from infra.lake import INSIGHT_SERVICE, EventLake
from infra.monitoring import ServiceMonitoring
from infra.package import LambdaPackage
from infra.policies import FunctionPolicies
from infra.releases import GradualReleases
from infra.search_engine import SEARCH_SERVICE, SearchEngine
from infra.shared_stack import TenantSharedStack, log_group_prefix
from infra.tenants import Tenant
from infra.triggers import FunctionTriggers, trigger_of

LOG_RETENTION = logs.RetentionDays.ONE_YEAR


class PackageMismatchError(ValueError):
    """The package and the resource specs disagree about which functions exist."""


class ServiceStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        tenant: Tenant,
        service: str,
        package: LambdaPackage,
        shared: TenantSharedStack,
        route_scopes: RouteScopes,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.tenant, self.service, self.shared = tenant, service, shared
        self.route_scopes = route_scopes
        self.names = TenantResourceNames(tenant_id=tenant.id)
        packaged = set(package.handlers) - {"api"}
        wired = wired_function_names(service)
        if packaged != wired:
            raise PackageMismatchError(
                f"{service}: the package has functions {sorted(packaged)} but the specs wire {sorted(wired)}; "
                "wire each function in caseline_common.resources (or package again)"
            )
        self.code = lambda_.Code.from_asset(
            str(package.zip_path), asset_hash=package.content_hash, asset_hash_type=cdk.AssetHashType.CUSTOM
        )
        self.package = package
        self.search_engine = (
            SearchEngine(self, "search-engine", tenant=tenant, key=shared.data_keys[service], logs_key=shared.logs_key)
            if service == SEARCH_SERVICE
            else None
        )
        self.lake = (
            EventLake(self, "lake", tenant=tenant, key=shared.data_keys[LAKE_BUCKET.owner])
            if service == INSIGHT_SERVICE
            else None
        )
        self.function_environment = self._environment()
        # `Default`: CDK leaves the id out of logical ids, so the alarms keep those they had as the stack's own.
        self.monitoring = ServiceMonitoring(self, "Default", names=self.names, service=service)
        self.policies = FunctionPolicies(
            self, tenant=tenant, service=service, shared=shared, search_engine=self.search_engine, lake=self.lake
        )
        self.triggers = FunctionTriggers(
            self, tenant=tenant, service=service, shared=shared, monitoring=self.monitoring
        )
        self.releases = GradualReleases(self, "releases", names=self.names, service=service)
        self.functions: dict[str, lambda_.Function] = {}
        self.aliases: dict[str, lambda_.Alias] = {}
        self.roles: dict[str, iam.Role] = {}
        for spec in service_functions(service):
            self.functions[spec.name] = self._function(spec)
        if self.search_engine is not None:  # the engine names the functions' roles, which exist only now
            self.search_engine.allow({name: self.roles[name] for name in self.functions})
            self.search_engine.alarms(self.monitoring)
        self.monitoring.service_alarms()
        self.monitoring.dashboard()

    def _environment(self) -> dict[str, str]:
        shared = self.shared
        environment = {
            **service_environment(self.names, self.service, self.account),
            **download_environment(self.service, shared.downloads.url),
            "CASELINE_AWS_REGION": self.region,
            "CASELINE_OIDC_ISSUER": shared.oidc_issuer,
            # People's tokens come from the staff client; machine clients' from any app client of the pool.
            "CASELINE_OIDC_CLIENT_IDS": self.to_json_string([shared.staff_client.user_pool_client_id]),
            "CASELINE_CONSOLE_ORIGIN": shared.console.origin,
            "POWERTOOLS_SERVICE_NAME": self.service,
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
            "POWERTOOLS_LOG_LEVEL": "INFO",
            # No pydantic plugins are installed: without this, building the first model scans every installed
            # package's entry points for them (~15 ms of a cold start). Tracing needs no variable: it is
            # Lambda's active tracing (`tracing` below), with no SDK in the function (docs/architecture.md).
            "PYDANTIC_DISABLE_PLUGINS": "__all__",
        }
        if self.service == "portal":
            environment["CASELINE_PORTAL_BASE_URL"] = self.tenant.public_url
        if self.service == PEOPLE_TABLE.owner:  # the people directory is refreshed from the user pool
            environment[USER_POOL_ENV_VAR] = shared.user_pool.user_pool_id
        if self.service in MAIL_SENDERS:
            environment["CASELINE_MAIL_FROM"] = self.tenant.mail_from
        if self.search_engine is not None:
            environment[SEARCH_ENGINE_ENV_VAR] = self.search_engine.url
        if self.lake is not None:
            environment[INSIGHT_ENGINE_ENV_VAR] = self.lake.engine_url
        return environment

    def _function_environment(self, spec: FunctionSpec) -> dict[str, str]:
        if spec.kind == "authorizer":  # the scope of every route, which API Gateway's event does not carry
            return {**self.function_environment, ROUTE_SCOPES_ENV_VAR: self.route_scopes.model_dump_json()}
        return self.function_environment

    def _reserved_concurrency(self, spec: FunctionSpec) -> int:
        limits = self.tenant.limits
        trigger = trigger_of(self.service, spec.name)
        if isinstance(trigger, QueueSpec):  # never below its mapping's maximum concurrency: no throttled batches
            return max(limits.consumer_concurrency, trigger.max_concurrency)
        return {
            "api": limits.api_concurrency,
            "authorizer": limits.api_concurrency,  # one call per token and route in 5 minutes, on the API's path
            "stream": limits.stream_concurrency,
            "consumer": limits.consumer_concurrency,
            "schedule": limits.schedule_concurrency,
        }[spec.kind]

    def _function(self, spec: FunctionSpec) -> lambda_.Function:
        name = spec.function_name(self.names)
        log_group = logs.LogGroup(
            self,
            f"{spec.name}-logs",
            log_group_name=f"{log_group_prefix(self.names)}lambda/{name}",
            retention=LOG_RETENTION,
            encryption_key=self.shared.logs_key,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        role = iam.Role(
            self,
            f"{spec.name}-role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Caseline {self.tenant.id}: {name}",
        )
        self.roles[spec.name] = role
        trigger = trigger_of(self.service, spec.name)
        failures = self.triggers.failure_target(spec)
        policy = self.policies.policy(spec, role, log_group, trigger, failures)
        function = lambda_.Function(
            self,
            f"{spec.name}-function",
            function_name=name,
            description=f"Caseline {self.service}: {spec.name} ({spec.kind})",
            runtime=lambda_.Runtime.PYTHON_3_11,
            architecture=lambda_.Architecture.ARM_64,
            handler=self.package.handlers[spec.name],
            code=self.code,
            memory_size=spec.memory_mb,
            timeout=cdk.Duration.seconds(spec.timeout_seconds),
            # The policy above is the role's only policy: CDK's own grants (tracing, DLQ) would go inline.
            role=role.without_policy_updates(),
            environment=self._function_environment(spec),
            tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group,
            reserved_concurrent_executions=self._reserved_concurrency(spec),
            dead_letter_queue=failures if spec.kind == "schedule" else None,
        )
        function.node.add_dependency(policy)
        self._acknowledge_function(function, spec)
        release_alarms = self.monitoring.function(spec, function, name, self._reserved_concurrency(spec))
        alias = self.releases.release(spec, function, release_alarms)
        self.aliases[spec.name] = alias
        self.triggers.attach(alias, trigger, policy, name)
        return function

    def _acknowledge_function(self, function: lambda_.Function, spec: FunctionSpec) -> None:
        nag.acknowledge(function, "HIPAA.Security-LambdaInsideVPC", nag.NOT_IN_VPC)
        nag.acknowledge(
            function,
            "AwsSolutions-L1",
            "The services are built, locked and tested for Python 3.11 (pyproject requires-python, cp311 wheels), "
            "a runtime Lambda supports; moving every function to a newer runtime is one project-wide change.",
        )
        if spec.kind != "schedule":
            nag.acknowledge(function, "HIPAA.Security-LambdaDLQ", nag.SYNC_INVOCATION)
