"""A metric a service emits names its tenant: the EMF document Powertools prints carries the `tenant` dimension
(from the tenant id setting) beside `service`, on every invocation."""

import json
from collections.abc import Iterator
from typing import Any

import pytest
from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit
from caseline_common.observability import METRICS_NAMESPACE, TENANT_DIMENSION
from caseline_common.runtime import ServiceRuntime
from caseline_common.settings import ServiceSettings
from chalice.app import Chalice

SETTINGS = {
    "CASELINE_TENANT_ID": "metrics-tenant",
    "CASELINE_AWS_REGION": "eu-west-1",
    "CASELINE_EVENT_BUS_NAME": "caseline-metrics-tenant-bus",
    "CASELINE_OIDC_ISSUER": "https://issuer.example",
    "CASELINE_OIDC_CLIENT_IDS": '["staff"]',
}


class LambdaContext:
    function_name = "caseline-metrics-tenant-cases-consumer"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:eu-west-1:111122223333:function:caseline-metrics-tenant-cases-consumer"
    aws_request_id = "request-1"


@pytest.fixture
def emitting(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in SETTINGS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    monkeypatch.delenv("POWERTOOLS_DEV", raising=False)
    # Powertools keeps dimensions and unflushed metrics per process, shared by every Metrics: start from none.
    Metrics().clear_default_dimensions()
    Metrics().clear_metrics()
    yield
    Metrics().clear_default_dimensions()


def _documents(printed: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in printed.splitlines() if line.startswith('{"_aws"')]


def test_every_metric_a_service_emits_carries_its_tenant(emitting: None, capsys: pytest.CaptureFixture[str]) -> None:
    app = Chalice("metrics-tenant")
    runtime = ServiceRuntime("cases", ServiceSettings)
    runtime.observability.instrument(app)

    @app.lambda_function(name="consumer")
    def consumer(_event: dict[str, Any], _context: Any) -> dict[str, Any]:
        runtime.observability.metrics.add_metric(name="EventsConsumed", unit=MetricUnit.Count, value=2)
        return {}

    for _ in range(2):  # the first invocation (cold start) and the next: the dimension stays through the flush
        consumer({}, LambdaContext())
    documents = _documents(capsys.readouterr().out)
    assert len(documents) == 2
    for document in documents:
        (directive,) = document["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == METRICS_NAMESPACE
        assert directive["Dimensions"] == [[TENANT_DIMENSION, "service"]]
        assert (document[TENANT_DIMENSION], document["service"], document["EventsConsumed"]) == (
            "metrics-tenant",
            "cases",
            [2.0],
        )
