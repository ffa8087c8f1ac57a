"""The typed client `make sdk` builds works without hand-written HTTP or headers.

The served `/openapi.json` of the running stack goes through `caseline sdk` (openapi-python-client, then a wheel);
the generator must not warn, the wheel installs, its functions take If-Match and Idempotency-Key as arguments, and
a short case runs through it: opened, patched with If-Match, moved, and its timeline read.
"""

import importlib
import inspect
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from caseline.local.stack import LocalStack
from caseline.sdk import PACKAGE, build_sdk

TEMPLATE: dict[str, Any] = {
    "key": "generated-client",
    "name": "Generated client",
    "fields": [{"key": "note", "label": "Note", "type": "text"}],
    "stages": [{"key": "open", "name": "Open"}, {"key": "done", "name": "Done", "next": []}],
}


@pytest.fixture(scope="module")
def generated(stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Builds the wheel from the served document, installs it into a directory of its own and makes that
    importable; yields what the generator said."""
    root = tmp_path_factory.mktemp("sdk")
    document = httpx.get(f"{stack.url}/openapi.json", timeout=10)
    assert document.status_code == 200, document.text
    (root / "openapi.json").write_bytes(document.content)
    wheel, said = build_sdk(root / "openapi.json", root / "sdk")
    installed = root / "installed"
    install = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--quiet", "--target", str(installed)]
    run = subprocess.run([*install, str(wheel)], capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    sys.path.insert(0, str(installed))
    try:
        yield said
    finally:
        sys.path.remove(str(installed))
        for name in [name for name in sys.modules if name.partition(".")[0] == PACKAGE]:
            del sys.modules[name]


def _module(name: str) -> ModuleType:
    return importlib.import_module(f"{PACKAGE}.{name}")


def _operation(operation_id: str) -> ModuleType:
    """The generated module of one operation, whichever tag the document files it under."""
    api = Path(_module("api").__file__ or "").parent
    (found,) = api.glob(f"*/{operation_id}.py")
    return _module(f"api.{found.parent.name}.{operation_id}")


def test_the_generator_does_not_warn(generated: str) -> None:
    assert "warning" not in generated.lower(), generated
    assert "error" not in generated.lower(), generated


def test_functions_take_the_headers_the_api_reads(generated: str) -> None:
    update = inspect.signature(_operation("update_case").sync_detailed).parameters
    assert update["if_match"].default is inspect.Parameter.empty, "PATCH /cases/{case_id} requires If-Match"
    transition = inspect.signature(_operation("transition_case").sync_detailed).parameters
    assert {"if_match", "idempotency_key"} <= set(transition)
    for operation in ("open_case", "publish_template", "add_comment", "confirm_upload"):
        assert "idempotency_key" in inspect.signature(_operation(operation).sync_detailed).parameters
    version = inspect.signature(_operation("get_template_version").sync_detailed).parameters["version"]
    assert version.annotation in (int, "int")


def test_a_case_is_opened_and_changed_through_the_generated_client(stack: LocalStack, generated: str) -> None:
    client = _module("client").AuthenticatedClient(base_url=stack.url, token=stack.staff_token(), timeout=10)
    models = _module("models")
    published = _operation("publish_template").sync_detailed(
        client=client, body=models.TemplateDefinition.from_dict(TEMPLATE)
    )
    assert published.status_code == 201, published.content

    open_request = models.OpenCaseRequest(template_key=TEMPLATE["key"], title="Through the generated client")
    opened = _operation("open_case").sync_detailed(
        client=client, body=open_request, idempotency_key="generated-client-open"
    )
    assert opened.status_code == 201, opened.content
    case = opened.parsed
    assert isinstance(case, models.CaseSnapshot)
    etag = opened.headers["ETag"]
    assert etag == f'"{case.version}"'
    again = _operation("open_case").sync_detailed(
        client=client, body=open_request, idempotency_key="generated-client-open"
    )
    assert (again.status_code, again.headers.get("Idempotent-Replayed")) == (201, "true"), again.content
    assert again.parsed.id == case.id

    update_case = _operation("update_case")
    changed = update_case.sync_detailed(
        case.id, client=client, body=models.UpdateCaseRequest(title="Renamed"), if_match=etag
    )
    assert changed.status_code == 200, changed.content
    assert (changed.parsed.title, changed.parsed.version) == ("Renamed", case.version + 1)
    assert changed.headers["ETag"] == f'"{case.version + 1}"'
    assert _operation("get_case").sync(case.id, client=client).title == "Renamed"

    stale = update_case.sync_detailed(
        case.id, client=client, body=models.UpdateCaseRequest(title="Lost update"), if_match=etag
    )
    assert stale.status_code == 412, stale.content
    assert isinstance(stale.parsed, models.Problem)
    assert stale.parsed.current_version == case.version + 1

    moved = _operation("transition_case").sync_detailed(
        case.id,
        client=client,
        body=models.TransitionRequest(to="done"),
        if_match=changed.headers["ETag"],
        idempotency_key="generated-client-move",
    )
    assert moved.status_code == 200, moved.content
    assert (moved.parsed.stage, moved.parsed.version) == ("done", case.version + 2)

    types = _timeline_types(client, case.id, until="case.stage_changed")
    assert types[0] == "case.opened", types
    assert "case.fields_changed" in types, types


def _timeline_types(client: Any, case_id: str, *, until: str) -> list[str]:
    """The case's timeline through the client, read again (as its 503's Retry-After asks) until `until` is on it:
    the timeline is a consumer of the bus, a moment behind the case."""
    get_timeline = _operation("get_timeline")
    deadline = time.monotonic() + 15
    while True:
        answer = get_timeline.sync_detailed(case_id, client=client)
        types = [entry.event.type_ for entry in answer.parsed.items] if answer.status_code == 200 else []
        if until in types or time.monotonic() > deadline:
            assert answer.status_code == 200, answer.content
            return types
        time.sleep(0.2)
