"""One service's monitoring: its alarms, wired to the tenant's alarm topic, and its dashboard.

Alarms: errors and throttles of every function, p95 duration of the API function, the iterator age of a stream
handler, the depth of every dead-letter and failure queue, and the business alarms on the service's own metrics.
The dashboard (`caseline-<tenant>-<service>`) shows, per function of the service, invocations, errors, p95
duration and throttles, and the depth of the service's dead-letter and failure queues; the tenant's dashboard (the
API stack's) shows every function side by side.

The construct's id in the service stack is `Default`, which CDK leaves out of logical ids: the alarms, which were
the stack's own resources before this construct existed, keep their logical ids and are not replaced.
"""

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from caseline_common.observability import METRICS_NAMESPACE
from caseline_common.resources import QueueSpec, StreamHandlerSpec, TenantResourceNames
from constructs import Construct

from infra.functions import FunctionSpec
from infra.shared_stack import alarm_topic_name
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
# The insight API waits on Athena for each report its cache does not hold: seconds each (the query's queueing,
# planning and every file of its days), within API Gateway's 29 s and the engine's 25 s. Its alarm is at 10 s:
# reports that slow at p95 for 15 minutes mean the lake's files have piled up or Athena is struggling.
API_LATENCY_P95_MS_BY_SERVICE: dict[str, float] = {"insight": 10_000.0}


def api_latency_p95_ms(service: str) -> float:
    return API_LATENCY_P95_MS_BY_SERVICE.get(service, API_LATENCY_P95_MS)


class ServiceMonitoring(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, names: TenantResourceNames, service: str) -> None:
        super().__init__(scope, construct_id)
        self.names, self.service = names, service
        stack = cdk.Stack.of(self)
        self.alarm_topic = sns.Topic.from_topic_arn(
            self,
            "alarm-topic",
            stack.format_arn(
                service="sns", resource=alarm_topic_name(names), arn_format=cdk.ArnFormat.NO_RESOURCE_NAME
            ),
        )
        self.functions: list[tuple[FunctionSpec, lambda_.Function]] = []
        self.failure_queues: list[str] = []  # names of the queues that hold failed work: the dashboard shows them

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
        alarm.add_alarm_action(cloudwatch_actions.SnsAction(self.alarm_topic))
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
        errors = self.alarm(
            f"{spec.short_name}-errors",
            function.metric_errors(period=PERIOD, statistic="Sum"),
            f"{name} failed (unhandled errors or timeouts)",
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

    def service_alarms(self) -> None:
        """Business alarms on the Powertools metrics a service emits (namespace Caseline, dimension service)."""
        if self.service != "automations":
            return

        def metric(name: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace=METRICS_NAMESPACE,
                metric_name=name,
                dimensions_map={"service": self.service},
                statistic="Sum",
                period=PERIOD,
            )

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
