"""The tenant's synthetic probe: every 5 minutes a function opens, works and closes a case through the public API and
the portal (infra/probe_function/probe.py, the same steps tests/e2e/test_probe.py runs locally), alarmed when runs
fail (or stop running) in 2 of 3 periods.

The probe authenticates as its own machine client (client credentials) with the scopes its steps need: cases.read
and cases.write, and templates.admin to publish its own template the first time. The client's id and secret are
kept in Secrets Manager, encrypted with the tenant's messaging key; the function's one policy reads that secret and
writes its log group, nothing else (its metric travels in its log, in CloudWatch's embedded metric format).
"""

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk import custom_resources
from caseline_common.observability import METRICS_NAMESPACE
from caseline_common.resources import TenantResourceNames
from caseline_common.scopes import Scope
from constructs import Construct

from caseline.paths import ROOT
from infra import nag
from infra.monitoring import alarm_topic_name
from infra.probe_function.probe import PROBE_METRIC
from infra.shared_stack import TenantSharedStack, log_group_prefix
from infra.tenants import Tenant

PROBE_DIR = ROOT / "infra" / "probe_function"
PROBE_SCOPES = (Scope.CASES_READ, Scope.CASES_WRITE, Scope.TEMPLATES_ADMIN)
PROBE_EVERY = cdk.Duration.minutes(5)
PROBE_TIMEOUT = cdk.Duration.seconds(60)  # seven steps of at most 10 s each, and the portal's 30 s wait at worst
FAILED_PERIODS, OF_PERIODS = 2, 3


class TenantProbe(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        tenant: Tenant,
        shared: TenantSharedStack,
        base_url: str,
    ) -> None:
        super().__init__(scope, construct_id)
        names = TenantResourceNames(tenant_id=tenant.id)
        self.name = name = f"{names.prefix()}-probe"
        self.client = cognito.UserPoolClient(
            self,
            "client",
            user_pool=shared.user_pool,
            user_pool_client_name=name,
            generate_secret=True,
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(client_credentials=True),
                scopes=[cognito.OAuthScope.custom(scope.qualified) for scope in PROBE_SCOPES],
            ),
        )
        self.secret = secretsmanager.Secret(
            self,
            "secret",
            secret_name=f"{name}-client",
            description=f"The synthetic probe's machine client of {names.prefix()}",
            encryption_key=shared.messaging_key,
            secret_object_value={
                "client_id": cdk.SecretValue.unsafe_plain_text(self.client.user_pool_client_id),
                "client_secret": self._generated_secret(shared),
            },
        )
        log_group = logs.LogGroup(
            self,
            "logs",
            log_group_name=f"{log_group_prefix(names)}lambda/{name}",
            retention=logs.RetentionDays.ONE_YEAR,
            encryption_key=shared.logs_key,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        role = iam.Role(
            self, "role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"), description=f"Caseline {name}"
        )
        stack = cdk.Stack.of(self)
        policy = iam.ManagedPolicy(
            self,
            "policy",
            description=f"Caseline {name}: its machine client's secret and its log group",
            statements=[
                iam.PolicyStatement(
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[log_group.log_group_arn]
                ),
                iam.PolicyStatement(actions=["secretsmanager:GetSecretValue"], resources=[self.secret.secret_arn]),
                iam.PolicyStatement(
                    actions=["kms:Decrypt"],
                    resources=[shared.messaging_key.key_arn],
                    conditions={"StringEquals": {"kms:ViaService": f"secretsmanager.{stack.region}.amazonaws.com"}},
                ),
            ],
            roles=[role],
        )
        self.function = lambda_.Function(
            self,
            "function",
            function_name=name,
            description=f"Caseline {tenant.id}: the synthetic probe (a case opened, worked and closed)",
            runtime=lambda_.Runtime.PYTHON_3_11,
            architecture=lambda_.Architecture.ARM_64,
            handler="probe.handler",
            code=lambda_.Code.from_asset(str(PROBE_DIR), exclude=["__pycache__", "*.pyc"]),
            memory_size=256,
            timeout=PROBE_TIMEOUT,
            role=role.without_policy_updates(),
            environment={
                "PROBE_BASE_URL": base_url,
                "PROBE_SECRET_ARN": self.secret.secret_arn,
                "PROBE_TENANT": tenant.id,
                "PROBE_METRICS_NAMESPACE": METRICS_NAMESPACE,
            },
            log_group=log_group,
            reserved_concurrent_executions=1,  # one run at a time: a slow run is not overtaken by the next
            retry_attempts=0,  # a retry would open a second case; the next run comes in 5 minutes
        )
        self.function.node.add_dependency(policy)
        self.schedule = events.Rule(
            self,
            "schedule",
            rule_name=name,
            description=f"Runs {name} every {PROBE_EVERY.to_minutes()} minutes",
            schedule=events.Schedule.rate(PROBE_EVERY),
            targets=[targets.LambdaFunction(self.function, retry_attempts=0)],
        )
        failures = cloudwatch.Metric(
            namespace=METRICS_NAMESPACE,
            metric_name=PROBE_METRIC,
            dimensions_map={"tenant": tenant.id},
            statistic="Sum",
            period=PROBE_EVERY,
        )
        self.alarm = cloudwatch.Alarm(
            self,
            "alarm",
            alarm_name=name,
            alarm_description=f"The synthetic probe failed (or did not run) in {FAILED_PERIODS} of the last "
            f"{OF_PERIODS} runs: a case could not be opened, worked and closed through the API and the portal",
            metric=failures,
            threshold=1,
            evaluation_periods=OF_PERIODS,
            datapoints_to_alarm=FAILED_PERIODS,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.BREACHING,  # a probe that stopped running is down too
        )
        self._acknowledge()
        alarm_topic = sns.Topic.from_topic_arn(
            self,
            "alarm-topic",
            stack.format_arn(
                service="sns", resource=alarm_topic_name(names), arn_format=cdk.ArnFormat.NO_RESOURCE_NAME
            ),
        )
        self.alarm.add_alarm_action(cloudwatch_actions.SnsAction(alarm_topic))
        self.alarm.add_ok_action(cloudwatch_actions.SnsAction(alarm_topic))

    def _generated_secret(self, shared: TenantSharedStack) -> cdk.SecretValue:
        """The client secret Cognito generated, read back during the deployment (CloudFormation has no attribute for
        it) by CDK's custom resource function, under a role of its own with a managed policy: that one call on this
        tenant's user pool (CDK's `user_pool_client_secret` would give its role an inline policy)."""
        role = iam.Role(
            self,
            "secret-reader-role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Reads the probe client's generated secret of {self.name} during deployments",
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AWSLambdaBasicExecutionRole")
            ],
        )
        policy = iam.ManagedPolicy(
            self,
            "secret-reader-policy",
            statements=[
                iam.PolicyStatement(
                    actions=["cognito-idp:DescribeUserPoolClient"], resources=[shared.user_pool.user_pool_arn]
                )
            ],
            roles=[role],
        )
        describe = custom_resources.AwsSdkCall(
            service="CognitoIdentityServiceProvider",
            action="describeUserPoolClient",
            parameters={"UserPoolId": shared.user_pool.user_pool_id, "ClientId": self.client.user_pool_client_id},
            physical_resource_id=custom_resources.PhysicalResourceId.of(self.client.user_pool_client_id),
            output_paths=["UserPoolClient.ClientSecret"],
        )
        reader = custom_resources.AwsCustomResource(
            self,
            "secret-reader",
            resource_type="Custom::DescribeCognitoUserPoolClient",
            on_create=describe,
            on_update=describe,
            role=role,
            install_latest_aws_sdk=False,
        )
        reader.node.add_dependency(policy)
        return cdk.SecretValue.resource_attribute(reader.get_response_field("UserPoolClient.ClientSecret"))

    def _acknowledge(self) -> None:
        nag.acknowledge(self.function, "HIPAA.Security-LambdaInsideVPC", nag.NOT_IN_VPC)
        nag.acknowledge(
            self.function,
            "AwsSolutions-L1",
            "The probe runs on the services' runtime, Python 3.11 (what they are built and tested for), so it "
            "exercises the same standard library; moving every function to a newer runtime is one change.",
        )
        nag.acknowledge(
            self.function,
            "HIPAA.Security-LambdaDLQ",
            "The schedule invokes the probe without retries, on purpose (a retry would open a second case): a "
            "failed run is recorded as its ProbeFailed metric, which the alarm watches; a dead-letter queue would "
            "only collect schedule events.",
        )
        for rule in ("AwsSolutions-SMG4", "HIPAA.Security-SecretsManagerRotationEnabled"):
            nag.acknowledge(
                self.secret,
                rule,
                "The secret is a copy of the probe's Cognito app client secret, which Cognito generates: it is "
                "rotated by replacing the app client (a new construct id for it), whose new secret this stack "
                "writes here; a rotation function could not change it.",
            )
        # CDK's custom resource function (one per stack), which reads the generated client secret back.
        stack = cdk.Stack.of(self)
        (reader,) = [child for child in stack.node.children if child.node.id.startswith("AWS679f53fac002430cb0da5b")]
        nag.acknowledge(
            self.node.find_child("secret-reader-role"),
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
            "CDK's custom resource function (it reads the probe client's secret during deployments) writes its "
            "logs with the basic execution policy CDK gives it; it runs only while CloudFormation deploys.",
        )
        nag.acknowledge(
            reader,
            "HIPAA.Security-LambdaDLQ",
            "CloudFormation invokes the custom resource function and waits for its answer; a failure fails the "
            "deployment, so a dead-letter queue would receive nothing.",
        )
        nag.acknowledge(
            reader,
            "HIPAA.Security-LambdaInsideVPC",
            "CDK's custom resource function calls only Cognito's regional API, over TLS with SigV4, during "
            "deployments; a VPC would add endpoints for nothing.",
        )
        nag.acknowledge(
            reader,
            "HIPAA.Security-LambdaConcurrency",
            "The function runs only when CloudFormation deploys this stack; reserved concurrency would take "
            "capacity from the tenant's functions for nothing.",
        )
