"""The API reference integrators build on: the merged document the stack serves passes Spectral (`spectral:oas`)
and Redocly (`recommended`) with no error and no warning; `caseline openapi` writes that same document without a
stack; the rendered reference and the interactive docs load nothing from elsewhere."""

import json
import os
import re
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from browser import CHROMIUM, launch_chromium
from typer.testing import CliRunner

from caseline.cli import app
from caseline.local.gateway import REFERENCE_PAGE
from caseline.local.stack import LocalStack
from caseline.paths import ROOT

APILINT = ROOT / "tools" / "apilint"
SPECTRAL = APILINT / "node_modules" / ".bin" / "spectral"
REDOCLY = APILINT / "node_modules" / ".bin" / "redocly"

# Run by hand without `make apilint` or `make browser`, these tests skip; in CI (`make test`) they fail instead.
requires_linters = pytest.mark.skipif(
    (not SPECTRAL.exists() or not REDOCLY.exists()) and not os.environ.get("CI"),
    reason="Spectral or Redocly is missing: run `make apilint`",
)
requires_browser = pytest.mark.skipif(
    not CHROMIUM.exists() and not os.environ.get("CI"), reason="Chromium is missing: run `make browser`"
)


@pytest.fixture(scope="module")
def served(stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The merged document as the stack serves it, in a file for the linters."""
    response = httpx.get(f"{stack.url}/openapi.json", timeout=30)
    assert response.status_code == 200
    path = tmp_path_factory.mktemp("reference") / "openapi.json"
    path.write_bytes(response.content)
    return path


def _run(command: list[str | Path]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=APILINT, check=False)


@requires_linters
def test_spectral_finds_nothing(served: Path) -> None:
    linted = _run([SPECTRAL, "lint", "--quiet", "--ruleset", APILINT / ".spectral.yaml", "--format", "json", served])

    results = json.loads(linted.stdout or "null")
    found = "\n".join(
        f"{result['code']} at {'.'.join(map(str, result['path']))}: {result['message']}" for result in results or []
    )
    assert results == [], f"Spectral found {len(results or [])} problems:\n{found}\n{linted.stderr}"


@requires_linters
def test_redocly_finds_nothing(served: Path) -> None:
    linted = _run([REDOCLY, "lint", "--config", APILINT / "redocly.yaml", "--format", "stylish", served])

    totals = _run([REDOCLY, "lint", "--config", APILINT / "redocly.yaml", "--format", "json", served])
    counts = json.loads(totals.stdout)["totals"]
    assert (counts["errors"], counts["warnings"]) == (0, 0), f"Redocly:\n{linted.stdout}\n{linted.stderr}"


def test_the_command_writes_the_served_document_without_a_stack(served: Path, tmp_path: Path) -> None:
    written = tmp_path / "openapi.json"

    result = CliRunner().invoke(app, ["openapi", "--out", str(written)])

    assert result.exit_code == 0, result.output
    assert json.loads(written.read_text()) == json.loads(served.read_text())


def _external_requests(stack: LocalStack, path: str) -> tuple[list[str], list[str]]:
    """What the page at `path` asked of any other origin, and the console messages of what its content security
    policy blocked."""
    requests: list[str] = []
    blocked: list[str] = []
    with launch_chromium() as browser:
        page = browser.new_page()
        page.on("request", lambda request: requests.append(request.url))
        page.on("console", lambda message: blocked.append(message.text) if "Content Security" in message.text else None)
        page.goto(f"{stack.url}{path}")
        page.wait_for_load_state("networkidle")
        page.get_by_role("heading", name=re.compile(r"^Caseline API")).first.wait_for()  # the document is shown
    local = urlsplit(stack.url).netloc
    return [
        url for url in requests if urlsplit(url).scheme in ("http", "https") and urlsplit(url).netloc != local
    ], blocked


@requires_browser
def test_the_interactive_docs_load_nothing_from_elsewhere(stack: LocalStack) -> None:
    external, _blocked = _external_requests(stack, "/docs")

    assert external == []


@requires_browser
@pytest.mark.skipif(
    not REFERENCE_PAGE.exists() and not os.environ.get("CI"), reason="No rendered reference: run `make reference`"
)
def test_the_rendered_reference_loads_nothing_from_elsewhere(stack: LocalStack) -> None:
    external, blocked = _external_requests(stack, "/reference")

    # Redoc's attribution logo is Redocly's CDN's: the page's policy refuses it, and with it anything else.
    assert all(any(url in message for message in blocked) for url in external), (external, blocked)
