"""The plain Chalice package (caseline.build) of one service (timeline, the smallest), in a temporary directory; and
`make build`, which is not it: the packages CDK deploys (infra/package.py).

The first run downloads wheels with pip (~10-15 s); later runs reuse Chalice's cache in .chalice/deployments/.
"""

import json
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from caseline_common.resources import SERVICES

from caseline import build
from caseline.build import BuildError, BuildResult, build_service
from caseline.paths import ROOT, SERVICES_DIR
from infra.package import ARCHITECTURE, LambdaPackage, package_service


@pytest.fixture(scope="module")
def timeline(tmp_path_factory: pytest.TempPathFactory) -> BuildResult:
    return build_service("timeline", tmp_path_factory.mktemp("build"))


@pytest.fixture(scope="module")
def zip_names(timeline: BuildResult) -> set[str]:
    with zipfile.ZipFile(timeline.zip_path) as archive:
        return set(archive.namelist())


@pytest.fixture(scope="module")
def template(timeline: BuildResult) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(timeline.template_path.read_text())
    return loaded


def test_writes_zip_and_template_under_the_given_directory(
    timeline: BuildResult, tmp_path_factory: pytest.TempPathFactory
) -> None:
    assert timeline.zip_path.name == "deployment.zip"
    assert timeline.zip_path.is_file()
    assert timeline.zip_bytes > 1_000_000
    assert timeline.template_path == timeline.zip_path.parent / "sam.json"
    assert timeline.zip_path.parent.name == "timeline"
    assert tmp_path_factory.getbasetemp() in timeline.zip_path.parents


def test_zip_holds_the_app_its_chalicelib_and_the_vendored_shared_package(zip_names: set[str]) -> None:
    assert "app.py" in zip_names
    assert "chalicelib/__init__.py" in zip_names
    assert "chalicelib/events.py" in zip_names
    assert "caseline_common/__init__.py" in zip_names
    assert "caseline_common/envelope.py" in zip_names


def test_zip_holds_runtime_dependencies_with_linux_extensions(zip_names: set[str]) -> None:
    assert "pydantic/__init__.py" in zip_names
    assert any(name.startswith("pydantic_core/_pydantic_core.") and name.endswith(".so") for name in zip_names)
    assert "aws_lambda_powertools/__init__.py" in zip_names
    assert "aws_xray_sdk/__init__.py" not in zip_names  # tracing is Lambda's own: no SDK in the function
    assert "jwt/__init__.py" in zip_names
    assert "ulid/__init__.py" in zip_names


def test_zip_leaves_the_aws_sdk_to_the_lambda_runtime(zip_names: set[str]) -> None:
    top_level = {name.split("/", 1)[0] for name in zip_names}
    assert not top_level & {"boto3", "botocore", "s3transfer"}


def test_template_declares_the_timeline_consumer(template: dict[str, Any]) -> None:
    consumer = template["Resources"]["TimelineConsumer"]
    assert consumer["Type"] == "AWS::Serverless::Function"
    assert consumer["Properties"]["Handler"] == "chalicelib.events.timeline_consumer"
    assert consumer["Properties"]["CodeUri"] == "./deployment.zip"
    assert consumer["Properties"]["Runtime"] == "python3.11"


def test_template_declares_the_api_handler(template: dict[str, Any]) -> None:
    assert template["Resources"]["APIHandler"]["Properties"]["Handler"] == "app.app"


def test_leaves_no_vendor_directory_in_the_source_tree(timeline: BuildResult) -> None:
    assert not (SERVICES_DIR / "timeline" / "vendor").exists()


def test_unknown_service_is_a_build_error(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="nope: not a Chalice app"):
        build_service("nope", tmp_path)


def test_chalice_failure_is_a_readable_build_error_and_cleans_vendor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    failing = [sys.executable, "-c", "import sys; print('Traceback...'); print('NoSuchPackageError: xyz'); sys.exit(3)"]
    monkeypatch.setattr(build, "_chalice_command", lambda: failing)
    with pytest.raises(BuildError, match=r"timeline: `chalice package` exited with 3: NoSuchPackageError: xyz"):
        build_service("timeline", tmp_path)
    assert not (SERVICES_DIR / "timeline" / "vendor").exists()


def test_make_build_runs_the_packaging_cdk_deploys() -> None:
    """`make build` is infra/package.py (arm64, what synth deploys), not the plain Chalice package above."""
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\nbuild:", 1)[1].split("\n\n", 1)[0]
    assert "-m infra.package" in recipe
    assert "caseline.build" not in recipe


def test_make_builds_packages_are_the_bytes_cdk_packages(
    packages: dict[str, LambdaPackage], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """What `python -m infra.package` writes (package_all's default directory, which the CDK app loads) is
    byte for byte what synth packaged into its own directory: the same architecture, files and content hash."""
    built = package_service("timeline", tmp_path_factory.mktemp("make-build"))
    synthesized = packages["timeline"]
    assert built.architecture == synthesized.architecture == ARCHITECTURE == "arm64"
    assert built.content_hash == synthesized.content_hash
    assert built.handlers == synthesized.handlers


def test_the_chalice_config_sets_no_memory_or_timeout() -> None:
    """CDK sizes each function from measurements (infra/functions.py); a figure here would contradict it."""
    for service in SERVICES:
        stages = json.loads((SERVICES_DIR / service / ".chalice" / "config.json").read_text())["stages"]
        for stage in stages.values():
            assert not {"lambda_memory_size", "lambda_timeout"} & set(stage), service
