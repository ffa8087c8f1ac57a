"""`chalice package` of each service into build/<service>/ (a SAM template and its deployment.zip), with their sizes.

Not what ships: `make build` and `caseline tenant synth` run infra/package.py, which reuses the helpers below to
package for arm64 with the byte code and the entry module, and CDK sets each function's memory and timeout
(infra/functions.py); Chalice's config names neither, so this package carries Chalice's defaults for the host's
architecture. `python -m caseline.build` remains to look at one service's plain Chalice package.

For every service, in sequence:

1. vendor the shared package: services/common/caseline_common -> services/<service>/vendor/caseline_common
   (fresh each time; Chalice copies vendor/ into the root of the zip);
2. `chalice package --pkg-format cloudformation --stage dev build/<service>` from the service directory
   (Chalice downloads the manylinux wheels of requirements.txt with pip);
3. remove vendor/ again so the source tree stays clean, whatever happened;
4. drop the AWS SDK (boto3, botocore, s3transfer) from the zip: the Lambda runtime provides it, and a
   dependency that requires botocore would make pip bundle it anyway;
5. keep only the newest package in Chalice's own cache (.chalice/deployments/, gitignored), so it stops growing;
6. check the zip holds app.py, chalicelib/, caseline_common/ and pydantic_core's compiled extension.

`python -m caseline.build --service timeline` builds one service; `--out DIR` writes elsewhere than build/.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from caseline_common.resources import SERVICES
from rich.console import Console
from rich.table import Table

from .paths import COMMON_DIR, ROOT, SERVICES_DIR

STAGE = "dev"
DEFAULT_OUT_DIR = ROOT / "build"
DEFAULT_REGION = "us-east-1"
SHARED_PACKAGE = "caseline_common"
ZIP_NAME = "deployment.zip"
TEMPLATE_NAME = "sam.json"

# Top-level names in the zip that the Lambda Python runtime already provides (with their .dist-info).
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer")
_RUNTIME_PROVIDED_DIST_INFO = re.compile(rf"^({'|'.join(RUNTIME_PROVIDED)})-[^/]+\.dist-info$")
# What every zip must hold: label -> pattern matched against the zip's member names.
REQUIRED_IN_ZIP = {
    "app.py": re.compile(r"app\.py$"),
    "chalicelib/": re.compile(r"chalicelib/"),
    f"{SHARED_PACKAGE}/": re.compile(rf"{SHARED_PACKAGE}/"),
    "pydantic_core/_pydantic_core.*.so": re.compile(r"pydantic_core/_pydantic_core\..+\.so$"),
}
_OUTPUT_TAIL_LINES = 15


class BuildError(Exception):
    """A service could not be packaged; the message says which one and why."""


@dataclass(frozen=True)
class BuildResult:
    service: str
    zip_path: Path
    template_path: Path
    seconds: float

    @property
    def zip_bytes(self) -> int:
        return self.zip_path.stat().st_size

    def functions(self) -> list[str]:
        """Logical ids of the Lambda functions the generated template declares."""
        template: dict[str, Any] = json.loads(self.template_path.read_text())
        return [
            name
            for name, resource in template.get("Resources", {}).items()
            if resource.get("Type") in ("AWS::Serverless::Function", "AWS::Lambda::Function")
        ]


def _chalice_command() -> list[str]:
    """The chalice of the running interpreter's environment, so the build never picks up another install."""
    beside = Path(sys.executable).parent / "chalice"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("chalice")
    if found is None:
        raise BuildError("chalice is not installed in this environment; run `make install`")
    return [found]


def vendor_common(service_dir: Path) -> Path:
    """Copy caseline_common into the service's vendor/, replacing whatever was there."""
    vendor_dir = service_dir / "vendor"
    shutil.rmtree(vendor_dir, ignore_errors=True)
    shutil.copytree(
        COMMON_DIR / SHARED_PACKAGE,
        vendor_dir / SHARED_PACKAGE,
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    return vendor_dir


def _is_runtime_provided(name: str) -> bool:
    top = name.split("/", 1)[0]
    return top in RUNTIME_PROVIDED or _RUNTIME_PROVIDED_DIST_INFO.match(top) is not None


def strip_runtime_provided(zip_path: Path) -> None:
    """Rewrite the zip without the packages the Lambda runtime provides."""
    with zipfile.ZipFile(zip_path) as source:
        if not any(_is_runtime_provided(name) for name in source.namelist()):
            return
        stripped = zip_path.with_suffix(".stripped.zip")
        with zipfile.ZipFile(stripped, "w", compression=zipfile.ZIP_DEFLATED) as target:
            for info in source.infolist():
                if not _is_runtime_provided(info.filename):
                    target.writestr(info, source.read(info))
    stripped.replace(zip_path)


def check_zip(service: str, zip_path: Path) -> None:
    """Fail if the zip lacks the app, its chalicelib, the vendored shared package or pydantic's extension."""
    with zipfile.ZipFile(zip_path) as archive:
        names = archive.namelist()
    missing = [label for label, pattern in REQUIRED_IN_ZIP.items() if not any(map(pattern.match, names))]
    if missing:
        raise BuildError(f"{service}: {zip_path} lacks {', '.join(missing)}")


def prune_chalice_cache(service_dir: Path) -> None:
    """Keep only the newest zip Chalice cached in .chalice/deployments/; every source change adds one."""
    cached = sorted((service_dir / ".chalice" / "deployments").glob("*.zip"), key=lambda path: path.stat().st_mtime)
    for stale in cached[:-1]:
        stale.unlink(missing_ok=True)


def _failure(service: str, returncode: int, output: str) -> BuildError:
    """The last line of Chalice's output (usually the error itself) first, then the tail for context."""
    lines = [line for line in output.strip().splitlines() if line.strip()]
    last = lines[-1].strip() if lines else "(no output)"
    tail = "\n".join(lines[-_OUTPUT_TAIL_LINES:])
    return BuildError(
        f"{service}: `chalice package` exited with {returncode}: {last}\n"
        f"--- last {_OUTPUT_TAIL_LINES} lines of its output ---\n{tail}"
    )


def build_service(service: str, out_dir: Path = DEFAULT_OUT_DIR) -> BuildResult:
    """Package one service into out_dir/<service>/ (deployment.zip and sam.json)."""
    service_dir = SERVICES_DIR / service
    if not (service_dir / ".chalice" / "config.json").is_file():
        raise BuildError(f"{service}: not a Chalice app ({service_dir} has no .chalice/config.json)")
    target = out_dir.resolve() / service
    shutil.rmtree(target, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION}
    command = [*_chalice_command(), "package", "--pkg-format", "cloudformation", "--stage", STAGE, str(target)]
    started = time.monotonic()
    try:
        vendor_common(service_dir)
        completed = subprocess.run(  # noqa: S603 - fixed argv, no shell
            command, cwd=service_dir, env=env, capture_output=True, text=True, check=False
        )
    finally:
        shutil.rmtree(service_dir / "vendor", ignore_errors=True)
    if completed.returncode != 0:
        raise _failure(service, completed.returncode, completed.stdout + completed.stderr)
    zip_path, template_path = target / ZIP_NAME, target / TEMPLATE_NAME
    for produced in (zip_path, template_path):
        if not produced.is_file():
            raise BuildError(f"{service}: `chalice package` succeeded but wrote no {produced}")
    prune_chalice_cache(service_dir)
    strip_runtime_provided(zip_path)
    check_zip(service, zip_path)
    return BuildResult(service, zip_path, template_path, time.monotonic() - started)


def build_all(services: Iterable[str] = SERVICES, out_dir: Path = DEFAULT_OUT_DIR) -> list[BuildResult]:
    """Package the services one after the other; the first failure stops the build."""
    return [build_service(service, out_dir) for service in services]


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.2f} MB"


def results_table(results: Sequence[BuildResult], out_dir: Path) -> Table:
    table = Table(title=f"chalice package --stage {STAGE}", caption=f"in {out_dir}/<service>/")
    table.add_column("Service")
    table.add_column(ZIP_NAME, justify="right")
    table.add_column("Time", justify="right")
    table.add_column("Functions")
    for result in results:
        table.add_row(
            result.service, _megabytes(result.zip_bytes), f"{result.seconds:.1f} s", ", ".join(result.functions())
        )
    if len(results) > 1:
        table.add_section()
        total_bytes = sum(result.zip_bytes for result in results)
        total_seconds = sum(result.seconds for result in results)
        table.add_row("total", _megabytes(total_bytes), f"{total_seconds:.1f} s", "")
    return table


cli = typer.Typer(add_completion=False, help="Package every Chalice service into build/.")


@cli.command()
def main(
    service: Annotated[
        list[str] | None, typer.Option("--service", "-s", help=f"Build only this service: {', '.join(SERVICES)}.")
    ] = None,
    out: Annotated[Path, typer.Option(help="Output directory; each service goes to OUT/<service>/.")] = DEFAULT_OUT_DIR,
) -> None:
    """chalice package each service (vendoring caseline_common) and print the deployment.zip sizes."""
    console = Console()
    services = service or list(SERVICES)
    unknown = sorted(set(services) - set(SERVICES))
    if unknown:
        console.print(f"[red]Unknown service:[/red] {', '.join(unknown)}. Choose from {', '.join(SERVICES)}.")
        raise typer.Exit(2)
    results: list[BuildResult] = []
    try:
        for name in services:
            with console.status(f"Packaging {name}..."):
                results.append(build_service(name, out))
    except BuildError as error:
        if results:
            console.print(results_table(results, out))
        console.print("[red bold]Build failed:[/red bold]", end=" ")
        console.print(str(error), highlight=False, markup=False)
        raise typer.Exit(1) from error
    console.print(results_table(results, out))


if __name__ == "__main__":
    cli()
