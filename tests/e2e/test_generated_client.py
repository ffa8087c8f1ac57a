"""A client generated from the served OpenAPI document works without hand-written headers.

openapi-python-client reads `/openapi.json` from the running stack and must not warn; the generated functions
take If-Match and Idempotency-Key as arguments, and a case is opened and changed through them.
"""

import importlib
import inspect
import subprocess
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import httpx
import pytest

from caseline.local.stack import LocalStack

PACKAGE = "caseline_generated_client"
# The export is application/zip, which the generator only reads as bytes under the name application/octet-stream;
# no post hooks, so nothing formats the code (and nothing warns that a formatter is missing).
GENERATOR_CONFIG = """\
content_type_overrides:
  application/zip: application/octet-stream
post_hooks: []
"""
TEMPLATE: dict[str, Any] = {
    "key": "generated-client",
    "name": "Generated client",
    "fields": [{"key": "note", "label": "Note", "type": "text"}],
    "stages": [{"key": "open", "name": "Open"}, {"key": "done", "name": "Done", "next": []}],
}


@pytest.fixture(scope="module")
def generated(stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Generates the client package from the served document and makes it importable; yields the generator's
    output."""
    root = tmp_path_factory.mktemp("generated-client")
    document = httpx.get(f"{stack.url}/openapi.json", timeout=10)
    assert document.status_code == 200, document.text
    (root / "openapi.json").write_bytes(document.content)
    (root / "config.yml").write_text(GENERATOR_CONFIG)
    generator = [sys.executable, "-m", "openapi_python_client", "generate", "--meta", "none"]
    generator += ["--path", "openapi.json", "--config", "config.yml", "--output-path", PACKAGE]
    run = subprocess.run(generator, cwd=root, capture_output=True, text=True, timeout=120, check=False)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    sys.path.insert(0, str(root))
    try:
        yield output
    finally:
        sys.path.remove(str(root))
        for name in [name for name in sys.modules if name.partition(".")[0] == PACKAGE]:
            del sys.modules[name]


def _module(name: str) -> ModuleType:
    return importlib.import_module(f"{PACKAGE}.{name}")


def test_the_generator_does_not_warn(generated: str) -> None:
    assert "warning" not in generated.lower(), generated
    assert "error" not in generated.lower(), generated


def test_functions_take_the_headers_the_api_reads(generated: str) -> None:
    update = inspect.signature(_module("api.cases.update_case").sync_detailed).parameters
    assert update["if_match"].default is inspect.Parameter.empty, "PATCH /cases/{case_id} requires If-Match"
    transition = inspect.signature(_module("api.cases.transition_case").sync_detailed).parameters
    assert {"if_match", "idempotency_key"} <= set(transition)
    for operation in ("cases.open_case", "templates.publish_template", "cases.add_comment", "cases.confirm_upload"):
        assert "idempotency_key" in inspect.signature(_module(f"api.{operation}").sync_detailed).parameters
    version = inspect.signature(_module("api.templates.get_template_version").sync_detailed).parameters["version"]
    assert version.annotation in (int, "int")


def test_a_case_is_opened_and_changed_through_the_generated_client(stack: LocalStack, generated: str) -> None:
    client = _module("client").AuthenticatedClient(base_url=stack.url, token=stack.staff_token(), timeout=10)
    models = _module("models")
    published = _module("api.templates.publish_template").sync_detailed(
        client=client, body=models.TemplateDefinition.from_dict(TEMPLATE)
    )
    assert published.status_code == 201, published.content

    open_request = models.OpenCaseRequest(template_key=TEMPLATE["key"], title="Through the generated client")
    opened = _module("api.cases.open_case").sync_detailed(
        client=client, body=open_request, idempotency_key="generated-client-open"
    )
    assert opened.status_code == 201, opened.content
    case = opened.parsed
    assert isinstance(case, models.CaseSnapshot)
    etag = opened.headers["ETag"]
    assert etag == f'"{case.version}"'
    again = _module("api.cases.open_case").sync_detailed(
        client=client, body=open_request, idempotency_key="generated-client-open"
    )
    assert (again.status_code, again.headers.get("Idempotent-Replayed")) == (201, "true"), again.content
    assert again.parsed.id == case.id

    update_case = _module("api.cases.update_case")
    changed = update_case.sync_detailed(
        case.id, client=client, body=models.UpdateCaseRequest(title="Renamed"), if_match=etag
    )
    assert changed.status_code == 200, changed.content
    assert (changed.parsed.title, changed.parsed.version) == ("Renamed", case.version + 1)
    assert changed.headers["ETag"] == f'"{case.version + 1}"'
    assert _module("api.cases.get_case").sync(case.id, client=client).title == "Renamed"

    stale = update_case.sync_detailed(
        case.id, client=client, body=models.UpdateCaseRequest(title="Lost update"), if_match=etag
    )
    assert stale.status_code == 412, stale.content
    assert isinstance(stale.parsed, models.Problem)
    assert stale.parsed.current_version == case.version + 1
