"""Gradual releases: every function is invoked through its `live` alias, which CodeDeploy moves to a new version
10% of the traffic first, for 5 minutes, then all of it; back to the previous version, automatically, if the
function's own alarms go off meanwhile (or the deployment fails or is stopped).

Each deploy that changes a function's code or configuration publishes a new version (`current_version`); the
alias's update policy hands the switch to the function's deployment group. What invokes a function (API Gateway,
event source mappings, schedules) names the alias, never `$LATEST`, so an unreleased version gets no traffic.
One CodeDeploy application and one service role per service stack: a role per function would add 19 roles (not 7) to
each tenant's IAM quota for the same permissions.
"""

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from caseline_common.resources import TenantResourceNames
from constructs import Construct

from infra import nag
from infra.functions import FunctionSpec

LIVE_ALIAS = "live"
RELEASE_CONFIG = codedeploy.LambdaDeploymentConfig.CANARY_10_PERCENT_5_MINUTES
CODEDEPLOY_LAMBDA_POLICY = "service-role/AWSCodeDeployRoleForLambdaLimited"


def alias_arn(function_arn: str) -> str:
    """The ARN callers invoke: the function's `live` alias."""
    return f"{function_arn}:{LIVE_ALIAS}"


class GradualReleases(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, names: TenantResourceNames, service: str) -> None:
        super().__init__(scope, construct_id)
        self.names = names
        self.application = codedeploy.LambdaApplication(
            self, "application", application_name=f"{names.prefix()}-{service}"
        )
        self.role = iam.Role(
            self,
            "role",
            assumed_by=iam.ServicePrincipal("codedeploy.amazonaws.com"),
            description=f"CodeDeploy shifts the {service} functions' live aliases of {names.prefix()}",
        )
        nag.acknowledge(
            self.role,
            f"AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/{CODEDEPLOY_LAMBDA_POLICY}]",
            "AWSCodeDeployRoleForLambdaLimited is the policy CodeDeploy documents for Lambda deployments: it reads "
            "alarms, gets and updates aliases and invokes only functions named CodeDeployHook_*; CDK attaches it to "
            "every Lambda deployment group's role. The role is assumable by CodeDeploy only.",
        )

    def release(
        self, spec: FunctionSpec, function: lambda_.Function, alarms: Sequence[cloudwatch.IAlarm]
    ) -> lambda_.Alias:
        """The function's `live` alias on its current version, shifted by a canary rolled back by `alarms`."""
        alias = lambda_.Alias(
            cdk.Stack.of(self), f"{spec.name}-alias", alias_name=LIVE_ALIAS, version=function.current_version
        )
        codedeploy.LambdaDeploymentGroup(
            self,
            f"{spec.name}-release",
            application=self.application,
            deployment_group_name=spec.function_name(self.names),
            alias=alias,
            deployment_config=RELEASE_CONFIG,
            alarms=list(alarms),
            role=self.role,
            auto_rollback=codedeploy.AutoRollbackConfig(
                failed_deployment=True, stopped_deployment=True, deployment_in_alarm=True
            ),
        )
        return alias
