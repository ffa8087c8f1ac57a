"""The probe function's handler as Lambda runs it: its machine client from Secrets Manager (moto), a run against an
API that does not answer, and the failure both raised and recorded as the ProbeFailed metric its alarm watches."""

import json
import socket
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from infra.probe_function.probe import PROBE_METRIC, ProbeFailedError, handler


@pytest.fixture
def secret_arn(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "moto",
        "AWS_SECRET_ACCESS_KEY": "moto",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        created = boto3.client("secretsmanager").create_secret(
            Name="caseline-demo-probe-client", SecretString=json.dumps({"client_id": "c", "client_secret": "s"})
        )
        yield created["ARN"]


def _closed_port() -> int:
    with socket.socket() as probe_socket:
        probe_socket.bind(("127.0.0.1", 0))
        return int(probe_socket.getsockname()[1])


def test_a_run_that_fails_raises_and_records_a_failure_metric(
    secret_arn: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PROBE_SECRET_ARN", secret_arn)
    monkeypatch.setenv("PROBE_BASE_URL", f"http://127.0.0.1:{_closed_port()}/")
    monkeypatch.setenv("PROBE_TENANT", "demo")
    monkeypatch.setenv("PROBE_METRICS_NAMESPACE", "Caseline")

    with pytest.raises(ProbeFailedError) as failed:
        handler({"id": "run-1"}, None)

    assert failed.value.step == "token"
    (record,) = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert record[PROBE_METRIC] == 1
    assert record["tenant"] == "demo"
    (directive,) = record["_aws"]["CloudWatchMetrics"]
    assert directive == {
        "Namespace": "Caseline",
        "Dimensions": [["tenant"]],
        "Metrics": [{"Name": PROBE_METRIC, "Unit": "Count"}],
    }
