"""What a cold start loads: each service's handler module, imported in a fresh interpreter in Lambda's environment
as deployed, leaves out what only some functions or routes need (docs/architecture.md, "Cold start"). Counts
modules and built models, not milliseconds, so the gain cannot slip back on a noisy machine; `make bench`
(bench/startup.py) prints the times."""

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from caseline.paths import COMMON_DIR, SERVICES_DIR

SERVICES = ("cases", "timeline", "automations", "portal")

# Each loaded where it is first needed, never by the import of a handler module.
NOT_AT_IMPORT = {
    "aws_xray_sdk": "tracing is Lambda's active tracing: no SDK (nor Powertools Tracer) in the function",
    "opentelemetry": "no tracing SDK either",
    "boto3": "clients come from a botocore session",
    "s3transfer": "nothing uses boto3's transfer manager",
    "jwt": "PyJWT at the first bearer token verified",
    "cryptography": "at the first token, export or signing key",
    "pydantic_settings": "at the first read of the settings",
    "aws_lambda_powertools.utilities.batch": "at a consumer's first batch",
    "aws_lambda_powertools.utilities.parser": "at a consumer's or the outbox publisher's first batch",
    "caseline_common.openapi": "at GET /openapi/<service>.json",
    "caseline_common.bundle": "at the first export",
    "jinja2": "at the first portal page or rule e-mail",
    "puremagic": "at the first upload checked",
}

_PROBE = """
import gc, json, sys
import app
from caseline_common.contracts import CaseSnapshot, TemplateDefinition
from caseline_common.envelope import EventEnvelope
from caseline_common.events import DATA_MODELS

models = [TemplateDefinition, CaseSnapshot, EventEnvelope, *DATA_MODELS.values()]
print(json.dumps({
    "modules": sorted(sys.modules),
    "built": sorted(model.__name__ for model in models if model.__pydantic_complete__),
    "gc": {"enabled": gc.isenabled(), "frozen": gc.get_freeze_count()},
}))
"""


def _lambda_environment(service: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": os.pathsep.join([str(SERVICES_DIR / service), str(COMMON_DIR)]),
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": f"caseline-acme-{service}-api",
        "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001",
        "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
        "AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000",
        "CASELINE_TENANT_ID": "acme",
        "POWERTOOLS_SERVICE_NAME": service,
        "POWERTOOLS_METRICS_NAMESPACE": "Caseline",
        "PYDANTIC_DISABLE_PLUGINS": "__all__",
    }


@pytest.fixture(scope="module", params=SERVICES)
def cold_start(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    service: str = request.param
    completed = subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=SERVICES_DIR / service,
        env=_lambda_environment(service),
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    found: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return service, found


def test_the_handler_import_leaves_what_only_some_functions_need(cold_start: tuple[str, dict[str, Any]]) -> None:
    service, found = cold_start
    loaded = {
        module: why
        for module, why in NOT_AT_IMPORT.items()
        if any(name == module or name.startswith(f"{module}.") for name in found["modules"])
    }
    assert not loaded, f"{service}: importing app loaded {loaded}"
    assert "botocore" in found["modules"]  # the clients are still made at init, from botocore


def test_the_template_format_and_event_catalogue_are_built_at_first_use(
    cold_start: tuple[str, dict[str, Any]],
) -> None:
    service, found = cold_start
    assert found["built"] == [], f"{service}: importing app built the schemas of {found['built']}"


def test_in_lambda_the_import_pauses_the_cyclic_gc_and_leaves_it_on(
    cold_start: tuple[str, dict[str, Any]],
) -> None:
    """caseline_common/coldstart.py: app.py imports it first and calls loaded() last."""
    service, found = cold_start
    assert found["gc"]["enabled"], service
    assert found["gc"]["frozen"] > 10_000, service  # what the import made, out of the collector's way
