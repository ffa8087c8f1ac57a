"""A tenant's stage: the shared stack, one stack per service, the API stack and the console stack, all in the
tenant's environment.

Stacks are named `caseline-<tenant>-<part>`; the service stacks depend on the shared stack (tables, queues,
keys, user pool, the console's bucket and distribution) and the API stack on the service stacks (it integrates
with their API functions by name); the console stack, which deploys the console's files, comes last.
"""

from typing import Any

import aws_cdk as cdk
from caseline_common.resources import SERVICES
from constructs import Construct

from infra.api_stack import ApiStack, token_route_scopes
from infra.console import ConsoleStack
from infra.package import LambdaPackage
from infra.service_stack import ServiceStack
from infra.shared_stack import TenantSharedStack, log_group_prefix
from infra.tenants import Tenant


def stack_name(tenant_id: str, part: str) -> str:
    return f"caseline-{tenant_id}-{part}"


class TenantStage(cdk.Stage):
    def __init__(
        self, scope: Construct, construct_id: str, *, tenant: Tenant, packages: dict[str, LambdaPackage], **kwargs: Any
    ) -> None:
        super().__init__(
            scope, construct_id, env=cdk.Environment(account=tenant.account, region=tenant.region), **kwargs
        )
        self.tenant = tenant
        cdk.Tags.of(self).add("caseline:tenant", tenant.id)
        cdk.Tags.of(self).add("caseline:tier", tenant.tier.value)
        self.shared = TenantSharedStack(
            self,
            "shared",
            tenant=tenant,
            stack_name=stack_name(tenant.id, "shared"),
            description=f"Caseline {tenant.id}: data, messaging, keys and identity",
            termination_protection=True,  # it holds the data; removing a tenant is a deliberate procedure
        )
        self.services: dict[str, ServiceStack] = {}
        route_scopes = token_route_scopes(packages)
        for service in SERVICES:
            stack = ServiceStack(
                self,
                service,
                tenant=tenant,
                service=service,
                package=packages[service],
                shared=self.shared,
                route_scopes=route_scopes,
                stack_name=stack_name(tenant.id, service),
                description=f"Caseline {tenant.id}: the {service} service",
            )
            stack.add_stack_dependency(self.shared)
            self.services[service] = stack
        self.api = ApiStack(
            self,
            "api",
            tenant=tenant,
            packages=packages,
            shared=self.shared,
            stack_name=stack_name(tenant.id, "api"),
            description=f"Caseline {tenant.id}: the API, its firewall and the dashboard",
        )
        for stack in self.services.values():
            self.api.add_stack_dependency(stack)
        self.console = ConsoleStack(
            self,
            "console",
            tenant=tenant,
            site=self.shared.console,
            staff_client_id=self.shared.staff_client.user_pool_client_id,
            logs_key=self.shared.logs_key,
            log_group_prefix=log_group_prefix(self.shared.names),
            stack_name=stack_name(tenant.id, "console"),
            description=f"Caseline {tenant.id}: the staff console's files",
        )
        self.console.add_stack_dependency(self.api)  # the console is of no use before the API answers

    @property
    def stacks(self) -> list[cdk.Stack]:
        return [self.shared, *self.services.values(), self.api, self.console]
