"""`caseline sdk`: a typed Python client generated from the API's OpenAPI document, built into a wheel.

openapi-python-client writes the package (attrs models, a function per operation with the headers it reads as
arguments); setuptools, already in the environment, builds the wheel without reaching an index. Nothing in it is
written by hand, so it is exactly as complete as the document.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

PACKAGE = "caseline_client"
PROJECT = "caseline-client"
# The export is application/zip, which the generator reads as bytes only under application/octet-stream; no post
# hooks, so nothing formats the code (and nothing warns that a formatter is missing).
_GENERATOR_CONFIG = f"""\
project_name_override: {PROJECT}
package_name_override: {PACKAGE}
content_type_overrides:
  application/zip: application/octet-stream
post_hooks: []
"""
_TIMEOUT_SECONDS = 300


class SdkError(Exception):
    """The client could not be generated or built; the message says which step and why."""


def _run(command: list[str], cwd: Path, step: str) -> str:
    run = subprocess.run(  # noqa: S603 - our own argv, no shell
        command, cwd=cwd, capture_output=True, text=True, timeout=_TIMEOUT_SECONDS, check=False
    )
    output = run.stdout + run.stderr
    if run.returncode != 0:
        raise SdkError(f"{step} failed:\n{output.strip()}")
    return output


def build_sdk(document: Path, out: Path) -> tuple[Path, str]:
    """Generates the client from `document` into `out/src` and builds its wheel into `out/dist`; the wheel and what
    the generator said (it must say nothing about warnings)."""
    try:
        version = json.loads(document.read_text())["info"]["version"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise SdkError(f"{document} is not an OpenAPI document: {error}") from None
    out.mkdir(parents=True, exist_ok=True)
    source, dist = out / "src", out / "dist"
    for stale in (source, dist):
        shutil.rmtree(stale, ignore_errors=True)
    config = out / "generator.yml"
    config.write_text(_GENERATOR_CONFIG + f"package_version_override: {version}\n")
    generator = [sys.executable, "-m", "openapi_python_client", "generate", "--meta", "setup"]
    generator += ["--path", str(document.resolve()), "--config", str(config.resolve())]
    generator += ["--output-path", str(source.resolve())]
    said = _run(generator, out, "Generating the client")
    wheel = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "--quiet"]
    _run([*wheel, "--wheel-dir", str(dist.resolve()), "."], source, "Building the wheel")
    built = sorted(dist.glob(f"{PACKAGE}-*.whl"))
    if len(built) != 1:
        raise SdkError(f"expected one wheel in {dist}, found {[path.name for path in built]}")
    return built[0], said


def sdk(
    document: Annotated[Path, typer.Argument(help="The OpenAPI document (`caseline openapi > openapi.json`).")],
    out: Annotated[Path, typer.Option(help="Where the source (src/) and the wheel (dist/) are written.")] = Path(
        "build/sdk"
    ),
) -> None:
    """Generate the typed Python client from the OpenAPI document and build its wheel."""
    try:
        wheel, _ = build_sdk(document, out)
    except SdkError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"Built {wheel} (import {PACKAGE}; install with `pip install {wheel}`).")
