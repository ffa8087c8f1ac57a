"""ARNs of one tenant's resources, built from their names (no cross-stack exports, which could never change while
imported), in the account and region of the stack that names them.

A table's stream ARN cannot be built from a name (it ends with the stream's creation time) and changes whenever the
table is restored in its place or its stream is turned off and on. The shared stack writes it to an SSM parameter
and a service stack reads that parameter when CloudFormation deploys it (docs/operations.md, "Backup and
restore"): a new stream ARN reaches the stream mapping with the next deploy, which an export would refuse while
imported."""

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_ssm as ssm
from caseline_common.resources import TenantResourceNames

from infra.tenants import Tenant


def mail_configuration_set_name(names: TenantResourceNames) -> str:
    """The SES configuration set the tenant's mail identity sends with (the shared stack's)."""
    return f"{names.prefix()}-mail"


class TenantArns:
    """ARNs of the tenant's resources, from their names, in the stack's account and region."""

    def __init__(self, stack: cdk.Stack, tenant: Tenant) -> None:
        self.stack, self.tenant = stack, tenant
        self.names = TenantResourceNames(tenant_id=tenant.id)

    def table(self, table_name: str) -> str:
        return self.stack.format_arn(service="dynamodb", resource="table", resource_name=table_name)

    def stream(self, table_id: str) -> str:
        """The table's stream ARN as its SSM parameter holds it when this stack deploys (one CloudFormation
        parameter per stack, however many constructs ask)."""
        return ssm.StringParameter.value_for_string_parameter(self.stack, self.names.stream_arn_parameter(table_id))

    def bucket(self, bucket_name: str) -> str:
        return f"arn:{self.stack.partition}:s3:::{bucket_name}"

    def queue(self, queue_name: str) -> str:
        return self.stack.format_arn(service="sqs", resource=queue_name, arn_format=cdk.ArnFormat.NO_RESOURCE_NAME)

    def mail_identity(self) -> str:
        """The SES identity of the tenant's domain (created and verified in the shared stack's region)."""
        return self.stack.format_arn(service="ses", resource="identity", resource_name=self.tenant.domain)

    def mail_configuration_set(self) -> str:
        """Sending from the identity goes through it, so a sender needs the sending actions on it too."""
        return self.stack.format_arn(
            service="ses", resource="configuration-set", resource_name=mail_configuration_set_name(self.names)
        )

    def bus(self) -> str:
        return self.stack.format_arn(service="events", resource="event-bus", resource_name=self.names.event_bus())

    def kms_via(self, key_arn: str, actions: list[str], services: list[str], **context: str) -> iam.PolicyStatement:
        conditions: dict[str, Any] = {
            "StringEquals": {"kms:ViaService": [f"{name}.{self.stack.region}.amazonaws.com" for name in services]}
        }
        if context:
            conditions["StringEquals"].update({f"kms:EncryptionContext:{k}": v for k, v in context.items()})
        return iam.PolicyStatement(actions=actions, resources=[key_arn], conditions=conditions)
