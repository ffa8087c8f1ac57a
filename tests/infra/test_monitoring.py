"""Each service's monitoring: a dashboard of its own, and an alarm on its API function's p95 duration whose threshold
stays well above what the sizing measured."""

import json
from typing import Any

from caseline_common.resources import CONSUMERS, SERVICES, TenantResourceNames

from infra.functions import all_functions, service_functions
from infra.monitoring import API_LATENCY_P95_MS, api_latency_p95_ms
from infra.sizing import LATENCY_BUDGET_MS, ONE_VCPU_MB
from tests.infra.conftest import Synthesized, resources

TENANT = "demo"
NAMES = TenantResourceNames(tenant_id=TENANT)


def test_the_latency_threshold_is_the_cold_start_budget_and_twice_the_slowest_measured_request() -> None:
    assert LATENCY_BUDGET_MS["api"] == API_LATENCY_P95_MS
    for spec in all_functions():
        if spec.kind == "api":
            assert spec.measured is not None
            # The measured first invocation on one core, at the function's share of a vCPU.
            at_its_memory = spec.measured.invoke_ms * ONE_VCPU_MB / spec.memory_mb
            assert 2 * at_its_memory <= api_latency_p95_ms(spec.service), spec


def _alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        body["Properties"]["AlarmName"]: body["Properties"]
        for body in resources(template, "AWS::CloudWatch::Alarm").values()
    }


def test_each_api_function_has_a_p95_latency_alarm_on_the_alarm_topic(assembly: Synthesized) -> None:
    for service in SERVICES:
        alarm = _alarms(assembly.template(TENANT, service))[f"caseline-demo-{service}-api-latency-p95"]
        assert (alarm["Namespace"], alarm["MetricName"], alarm["ExtendedStatistic"]) == (
            "AWS/Lambda",
            "Duration",
            "p95",
        )
        threshold = api_latency_p95_ms(service)
        assert (alarm["Threshold"], alarm["EvaluationPeriods"], alarm["Period"]) == (threshold, 3, 300)
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert ":caseline-demo-alarms" in json.dumps(alarm["AlarmActions"])
    # Every API but insight's, whose reports wait on Athena for seconds, is held to the cold-start budget.
    assert {service for service in SERVICES if api_latency_p95_ms(service) != API_LATENCY_P95_MS} == {"insight"}


def test_each_service_has_a_dashboard_of_its_functions_and_failure_queues(assembly: Synthesized) -> None:
    for service in SERVICES:
        (dashboard,) = [
            body["Properties"]
            for body in resources(assembly.template(TENANT, service), "AWS::CloudWatch::Dashboard").values()
        ]
        assert dashboard["DashboardName"] == f"caseline-demo-{service}"
        body = json.dumps(dashboard["DashboardBody"])
        for title in ("Invocations", "Errors", "Duration p95 (ms)", "Throttles", "Dead-letter and failure queues"):
            assert title in body, (service, title)
        for spec in service_functions(service):
            assert f'\\"label\\":\\"{spec.short_name}\\"' in body, (service, spec.name)
        for consumer in CONSUMERS:
            if consumer.service == service:
                assert NAMES.dead_letter_queue(consumer) in body
