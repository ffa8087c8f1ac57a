"""What a cold start loads: each service's handler module, imported in a fresh interpreter in Lambda's environment
as deployed, leaves out what only some functions or routes need (docs/architecture.md, "Cold start"). Counts
modules and built models, not milliseconds, so the gain cannot slip back on a noisy machine; `make bench`
(bench/startup.py) prints the times. In Lambda a route's module, an event function's work and the adapters are
imported at their first use (caseline_common/coldstart.py, `deferred`): these tests run that path, which the
local stack and the other tests (every module imported at once) never take."""

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from caseline_common.openapi import build_openapi
from caseline_common.runtime import API_VERSION

from caseline.local.loader import load_service
from caseline.paths import COMMON_DIR, SERVICES_DIR

SERVICES = ("cases", "timeline", "automations", "portal", "tasks", "search", "insight")

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
    "babel": "the portal's languages, at its first page",
    "puremagic": "at the first upload checked",
    "ulid": "python-ulid at the first id",
    # In Lambda (coldstart.deferred): Chalice gets every route and event function at import, each is loaded at the
    # first call of what it serves.
    "chalicelib.api.": "a route module at the first call of one of its routes",
    "chalicelib.handlers": "an event function's work at its first event",
    "chalicelib.page_views": "the portal's pages at the first page",
    "chalicelib.languages": "the portal's catalogs and locale formats, with its pages",
    "chalicelib.domain": "with the use cases that need it",
    "chalicelib.adapters": "at the first use of the factory that makes it (chalicelib/runtime.py)",
    "caseline_common.contracts": "the template format and case snapshot, with the routes and events that read them",
    "caseline_common.events": "the event catalogue, likewise",
    "caseline_common.consumer": "at a consumer's first batch",
}
# What the import creates, at most: the HTTP layer's and the settings' own models (the problem document and its
# field issues, the caller and its claims, the envelope and its actor, the settings), not one of a route, a use case
# or the event catalogue.
MAX_MODELS_AT_IMPORT = 9

_PROBE = """
import gc, json, sys
import app
from pydantic import BaseModel

def subclasses(kind):
    for sub in kind.__subclasses__():
        yield sub
        yield from subclasses(sub)

loaded = sorted(sys.modules)
made = sorted({f"{model.__module__}.{model.__qualname__}" for model in subclasses(BaseModel)})
from caseline_common.contracts import CaseSnapshot, TemplateDefinition
from caseline_common.envelope import EventEnvelope
from caseline_common.events import DATA_MODELS

models = [TemplateDefinition, CaseSnapshot, EventEnvelope, *DATA_MODELS.values()]
print(json.dumps({
    "modules": loaded,
    "models": made,
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
        if any(
            name == module or name.startswith(module if module.endswith(".") else f"{module}.")
            for name in found["modules"]
        )
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


def test_the_import_creates_only_the_http_layers_models(cold_start: tuple[str, dict[str, Any]]) -> None:
    service, found = cold_start
    assert len(found["models"]) <= MAX_MODELS_AT_IMPORT, f"{service}: importing app created {found['models']}"


# In Lambda's environment: a route loads its module at its first call, and only that one; the OpenAPI document loads
# them all and is the one the other tests (and the local stack) build with every module imported at once; each event
# function's work, and the portal's pages, load by their names.
_LAMBDA_PROBE = """
import json, sys
import app
from chalice.test import Client

service, first = sys.argv[1], sys.argv[2]
api = sys.modules["chalicelib.api"]
modules = lambda: sorted(name for name in sys.modules if name.startswith("chalicelib."))
found = {"at_import": modules()}
with Client(app.app) as client:
    if first:
        found["first_status"] = client.http.get(first).status_code
        found["after_first"] = modules()
    answer = client.http.get(f"/openapi/{service}.json")
found["openapi_status"], found["openapi"] = answer.status_code, json.loads(answer.body)
events = sys.modules["chalicelib.events"]
found["event_functions"] = {
    function.name: callable(getattr(events, "_" + function.handler_string.rsplit(".", 1)[1])())
    for function in app.app.pure_lambda_functions
}
if "chalicelib.pages" in sys.modules:
    pages = sys.modules["chalicelib.pages"]
    views = pages._page_views()
    found["page_views"] = sorted(
        entry.view_name for routes in app.app.routes.values() for entry in routes.values()
        if entry.view_function.__module__ == "chalicelib.pages" and not callable(getattr(views, entry.view_name, None))
    )
found["after_all"] = modules()
print(json.dumps(found))
"""
# A public route of one route module, where the service has one.
_FIRST_ROUTE = {"cases": "/schemas/template"}


@pytest.fixture(scope="module", params=SERVICES)
def lambda_calls(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    service: str = request.param
    completed = subprocess.run(
        [sys.executable, "-c", _LAMBDA_PROBE, service, _FIRST_ROUTE.get(service, "")],
        cwd=SERVICES_DIR / service,
        env=_lambda_environment(service),
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    found: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return service, found


def test_in_lambda_a_route_loads_its_own_module_at_its_first_call(lambda_calls: tuple[str, dict[str, Any]]) -> None:
    service, found = lambda_calls
    assert not [name for name in found["at_import"] if name.startswith("chalicelib.api.")], service
    if service == "cases":
        assert found["first_status"] == 200
        assert "chalicelib.api.templates" in found["after_first"]
        assert "chalicelib.api.cases" not in found["after_first"]


def test_in_lambda_the_openapi_document_is_the_one_built_with_every_module_imported(
    lambda_calls: tuple[str, dict[str, Any]],
) -> None:
    service, found = lambda_calls
    assert found["openapi_status"] == 200
    operations = load_service(service).module("chalicelib.api").http.operations
    assert found["openapi"] == build_openapi(title=f"Caseline {service}", version=API_VERSION, operations=operations)


def test_in_lambda_each_event_function_and_page_loads_its_work(lambda_calls: tuple[str, dict[str, Any]]) -> None:
    service, found = lambda_calls
    assert found["event_functions"], service
    assert all(found["event_functions"].values()), found["event_functions"]
    assert "chalicelib.handlers" in found["after_all"]
    assert found.get("page_views", []) == [], f"{service}: pages without a view in page_views.py"
