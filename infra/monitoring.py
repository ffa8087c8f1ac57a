"""The tenant's alarms, wired to its alarm topic, and each service's monitoring: its alarms and its dashboard.

Alarms: errors and throttles of every function, p95 duration of the API function, the iterator age of a stream
handler, the depth of every dead-letter and failure queue, and the business alarms on the service's own metrics.
The dashboard (`caseline-<tenant>-<service>`) shows, per function of the service, invocations, errors, p95
duration and throttles, and the depth of the service's dead-letter and failure queues; the tenant's dashboard (the
API stack's) shows every function side by side.

The construct's id in the service stack is `Default`, which CDK leaves out of logical ids: the alarms, which were
the stack's own resources before this construct existed, keep their logical ids and are not replaced.

Every alarm is named `caseline-<tenant>-...` (`alarm_name_pattern`): the topic's policy and its key's let CloudWatch
publish for those alarms alone. Each notifies the topic when it fires and again when it is back to OK. The shared
stack's alarms (`TenantAlarms`) watch what no service owns: the bus's delivery DLQ, the tables and the mail.
"""

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from caseline_common.observability import METRICS_NAMESPACE, TENANT_DIMENSION
from caseline_common.resources import QueueSpec, StreamHandlerSpec, TableSpec, TenantResourceNames
from constructs import Construct

from infra.functions import FunctionSpec
from infra.sizing import LATENCY_BUDGET_MS

SLA_BREACH_METRIC = "SlaBreaches"
WEBHOOK_DEAD_LETTER_METRIC = "WebhookDeadLettered"
PERIOD = cdk.Duration.minutes(5)
# p95 of an API function's duration (Lambda's Duration: the handler's time, cold-start initialisation aside) that
# alarms once it lasts three 5-minute periods. The sizing rule gives each API function the memory at which its cold
# import fits the cold-start budget a person may wait, LATENCY_BUDGET_MS["api"] (600 ms); at those sizes the measured
# first invocations (infra.functions.MEASURED, scaled to the memory) take 6-161 ms, the slowest being the cases
# service rendering its whole OpenAPI document. A warm request taking the whole cold-start budget at p95 is 3.7 times
# the slowest of them: a regression or a slow dependency, not noise (tests/infra/test_monitoring.py checks the
# margin stays at least twofold as the figures change).
API_LATENCY_P95_MS = LATENCY_BUDGET_MS["api"]
API_LATENCY_PERIODS = 3
AUTHORIZER_FAILED_PERCENT = 50  # of its calls in 5 minutes (at least 20): refused tokens are clients' doing
# The insight API waits on Athena for each report its cache does not hold: seconds each (the query's queueing,
# planning and every file of its days), within API Gateway's 29 s and the engine's 25 s. Its alarm is at 10 s:
# reports that slow at p95 for 15 minutes mean the lake's files have piled up or Athena is struggling.
API_LATENCY_P95_MS_BY_SERVICE: dict[str, float] = {"insight": 10_000.0}


# The operations the services call on their tables, read and write apart: a math expression of an alarm sums at
# most 10 metrics, and DynamoDB reports throttles and system errors per table and operation.
TABLE_READS = ("GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems")
TABLE_WRITES = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")
# SES reviews an account whose bounce rate reaches 5 % or whose complaint rate reaches 0.1 % (and may pause its
# sending at 10 % and 0.5 %): the alarms fire at half the review's rates, while there is time to act.
MAIL_BOUNCE_RATE = 0.025
MAIL_COMPLAINT_RATE = 0.0005


def api_latency_p95_ms(service: str) -> float:
    return API_LATENCY_P95_MS_BY_SERVICE.get(service, API_LATENCY_P95_MS)


def alarm_topic_name(names: TenantResourceNames) -> str:
    return f"{names.prefix()}-alarms"


def alarm_name_pattern(names: TenantResourceNames) -> str:
    """Every alarm of the tenant is named under it: the alarm topic accepts notifications of these alone."""
    return f"{names.prefix()}-*"


def notify(alarm: cloudwatch.Alarm, topic: sns.ITopic) -> None:
    """The topic hears of the alarm when it fires and when it is back to OK (so nobody chases what has passed)."""
    action = cloudwatch_actions.SnsAction(topic)
    alarm.add_alarm_action(action)
    alarm.add_ok_action(action)


def business_metric(
    names: TenantResourceNames, service: str, metric_name: str, *, period: cdk.Duration = PERIOD
) -> cloudwatch.Metric:
    """A metric a service emits with Powertools: per service and per tenant (tenants may share an account)."""
    return cloudwatch.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name=metric_name,
        dimensions_map={"service": service, TENANT_DIMENSION: names.tenant_id},
        statistic="Sum",
        period=period,
    )


def _sum_over_operations(table_name: str, metric_name: str, operations: tuple[str, ...]) -> cloudwatch.MathExpression:
    return cloudwatch.MathExpression(
        expression="SUM(METRICS())",
        using_metrics={
            f"m{index}": cloudwatch.Metric(
                namespace="AWS/DynamoDB",
                metric_name=metric_name,
                dimensions_map={"TableName": table_name, "Operation": operation},
                statistic="Sum",
                period=PERIOD,
            )
            for index, operation in enumerate(operations)
        },
        label=f"{metric_name} of {table_name}",
        period=PERIOD,
    )


class TenantAlarms(Construct):
    """Alarms of the tenant, named `caseline-<tenant>-<id>`, that notify its alarm topic (by name when the topic is
    another stack's)."""

    def __init__(
        self, scope: Construct, construct_id: str, *, names: TenantResourceNames, topic: sns.ITopic | None = None
    ) -> None:
        super().__init__(scope, construct_id)
        self.names = names
        self.alarm_topic = topic or sns.Topic.from_topic_arn(
            self,
            "alarm-topic",
            cdk.Stack.of(self).format_arn(
                service="sns", resource=alarm_topic_name(names), arn_format=cdk.ArnFormat.NO_RESOURCE_NAME
            ),
        )

    def alarm(
        self,
        construct_id: str,
        metric: cloudwatch.IMetric,
        description: str,
        *,
        threshold: float = 1,
        evaluation_periods: int = 1,
    ) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            alarm_name=f"{self.names.prefix()}-{construct_id}",
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            evaluation_periods=evaluation_periods,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        notify(alarm, self.alarm_topic)
        return alarm

    @staticmethod
    def queue_depth(queue_name: str) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace="AWS/SQS",
            metric_name="ApproximateNumberOfMessagesVisible",
            dimensions_map={"QueueName": queue_name},
            statistic="Maximum",
            period=PERIOD,
        )

    def delivery_dead_letters(self, queue_name: str) -> None:
        self.alarm(
            "delivery-dlq-depth",
            self.queue_depth(queue_name),
            f"EventBridge could not deliver events to a consumer queue for 24 hours: they are in {queue_name}",
        )

    def table(self, spec: TableSpec) -> None:
        table_name = self.names.table(spec)
        for kind, operations in (("read", TABLE_READS), ("write", TABLE_WRITES)):
            self.alarm(
                f"{spec.id}-table-{kind}-throttles",
                _sum_over_operations(table_name, "ThrottledRequests", operations),
                f"DynamoDB throttled {kind}s of {table_name} (a hot partition or the table's on-demand limits)",
            )
        self.alarm(
            f"{spec.id}-table-system-errors",
            _sum_over_operations(table_name, "SystemErrors", TABLE_READS + TABLE_WRITES),
            f"DynamoDB failed requests to {table_name} with internal errors (HTTP 500)",
        )

    def mail(self, configuration_set_name: str) -> None:
        """SES's reputation metrics of the configuration set the tenant's identity sends with."""
        for construct_id, metric_name, threshold, what in (
            ("mail-bounce-rate", "Reputation.BounceRate", MAIL_BOUNCE_RATE, "bounce"),
            ("mail-complaint-rate", "Reputation.ComplaintRate", MAIL_COMPLAINT_RATE, "complaint"),
        ):
            self.alarm(
                construct_id,
                cloudwatch.Metric(
                    namespace="AWS/SES",
                    metric_name=metric_name,
                    dimensions_map={"ses:configuration-set": configuration_set_name},
                    statistic="Maximum",
                    period=cdk.Duration.hours(1),
                ),
                f"The {what} rate of the tenant's mail reached {threshold:.2%} (SES reviews an account from "
                f"{threshold * 2:.2%})",
                threshold=threshold,
            )


class ServiceMonitoring(TenantAlarms):
    def __init__(self, scope: Construct, construct_id: str, *, names: TenantResourceNames, service: str) -> None:
        super().__init__(scope, construct_id, names=names)
        self.service = service
        self.functions: list[tuple[FunctionSpec, lambda_.Function]] = []
        self.failure_queues: list[str] = []  # names of the queues that hold failed work: the dashboard shows them

    def failure_queue(self, construct_id: str, queue_name: str) -> None:
        """A queue of the service's own that holds failed work (a stream's or the schedules' failures)."""
        self.failure_queues.append(queue_name)
        self.alarm(f"{self.service}-{construct_id}", self.queue_depth(queue_name), f"{queue_name} holds failed work")

    def dead_letters(self, consumer: QueueSpec) -> None:
        queue_name = self.names.dead_letter_queue(consumer)
        self.failure_queues.append(queue_name)
        self.alarm(
            f"{consumer.name}-dlq-depth",
            self.queue_depth(queue_name),
            f"{consumer.function} gave up on events: they are in {queue_name}",
        )

    def stream(self, function: lambda_.IFunction, trigger: StreamHandlerSpec) -> None:
        self.alarm(
            f"{trigger.function.replace('_', '-')}-iterator-age",
            function.metric("IteratorAge", statistic="Maximum", period=cdk.Duration.minutes(1)),
            "Outbox events wait more than a minute to be published (the stream is falling behind)",
            threshold=60_000,
            evaluation_periods=5,
        )

    def function(
        self, spec: FunctionSpec, function: lambda_.Function, name: str, reserved_concurrency: int
    ) -> list[cloudwatch.Alarm]:
        """The function's alarms; returns those a bad release trips (errors, an API's latency), which roll it back
        (infra/releases.py). Throttles are about capacity, not the version."""
        self.functions.append((spec, function))
        errors = (
            self._authorizer_errors(function, name)
            if spec.kind == "authorizer"
            else self.alarm(
                f"{spec.short_name}-errors",
                function.metric_errors(period=PERIOD, statistic="Sum"),
                f"{name} failed (unhandled errors or timeouts)",
            )
        )
        self.alarm(
            f"{spec.short_name}-throttles",
            function.metric_throttles(period=PERIOD, statistic="Sum"),
            f"{name} was throttled: its reserved concurrency ({reserved_concurrency}) is exhausted",
        )
        if spec.kind == "api":
            threshold = api_latency_p95_ms(spec.service)
            latency = self.alarm(
                f"{spec.short_name}-latency-p95",
                function.metric_duration(period=PERIOD, statistic="p95"),
                f"{name} took {threshold:.0f} ms or more at p95 for {API_LATENCY_PERIODS * 5} minutes "
                "(see infra/monitoring.py)",
                threshold=threshold,
                evaluation_periods=API_LATENCY_PERIODS,
            )
            return [errors, latency]
        return [errors]

    def _authorizer_errors(self, function: lambda_.Function, name: str) -> cloudwatch.Alarm:
        """The authorizer answers an invalid or expired token by failing with `Unauthorized` (API Gateway's only way
        to a 401), which Lambda counts as an error: clients cause some. Most calls failing is the authorizer broken
        (its JWKS unreachable, a bad release) and trips the alarm; a few refused tokens do not."""
        return self.alarm(
            "api-authorizer-errors",
            cloudwatch.MathExpression(
                expression="IF(calls >= 20, 100 * failed / calls, 0)",
                using_metrics={
                    "failed": function.metric_errors(period=PERIOD, statistic="Sum"),
                    "calls": function.metric_invocations(period=PERIOD, statistic="Sum"),
                },
                period=PERIOD,
                label="failed calls (%)",
            ),
            f"{name} refused or failed {AUTHORIZER_FAILED_PERCENT}% or more of at least 20 calls in 5 minutes: "
            "tokens cannot be verified (the JWKS unreachable, a bad release) or a flood of invalid tokens",
            threshold=AUTHORIZER_FAILED_PERCENT,
        )

    def service_alarms(self) -> None:
        """Business alarms on the Powertools metrics a service emits (namespace Caseline, dimensions service and
        tenant)."""
        if self.service != "automations":
            return

        def metric(name: str) -> cloudwatch.Metric:
            return business_metric(self.names, self.service, name)

        self.alarm(
            "sla-breaches", metric(SLA_BREACH_METRIC), "Cases breached their SLA (automations' SlaBreaches metric)"
        )
        self.alarm(
            "webhook-dead-letters",
            metric(WEBHOOK_DEAD_LETTER_METRIC),
            "Webhook deliveries failed every attempt and were dead-lettered (automations' WebhookDeadLettered metric)",
        )

    def dashboard(self) -> cloudwatch.Dashboard:
        """The service's dashboard, once its functions and queues are all known."""

        def graph(title: str, metrics: list[cloudwatch.IMetric], width: int = 12) -> cloudwatch.GraphWidget:
            return cloudwatch.GraphWidget(title=title, left=metrics, width=width)

        def labelled(spec: FunctionSpec, metric: cloudwatch.Metric) -> cloudwatch.IMetric:
            return metric.with_(label=spec.short_name)

        functions = self.functions
        dashboard = cloudwatch.Dashboard(self, "dashboard", dashboard_name=f"{self.names.prefix()}-{self.service}")
        dashboard.add_widgets(
            graph(
                "Invocations",
                [labelled(s, f.metric_invocations(period=PERIOD, statistic="Sum")) for s, f in functions],
            ),
            graph("Errors", [labelled(s, f.metric_errors(period=PERIOD, statistic="Sum")) for s, f in functions]),
        )
        dashboard.add_widgets(
            graph(
                "Duration p95 (ms)",
                [labelled(s, f.metric_duration(period=PERIOD, statistic="p95")) for s, f in functions],
            ),
            graph("Throttles", [labelled(s, f.metric_throttles(period=PERIOD, statistic="Sum")) for s, f in functions]),
        )
        dashboard.add_widgets(
            graph(
                "Dead-letter and failure queues: messages",
                [
                    self.queue_depth(name).with_(label=name.removeprefix(f"{self.names.prefix()}-"))
                    for name in self.failure_queues
                ],
                width=24,
            )
        )
        return dashboard
