"""The Lambda packages synth deploys: Chalice's package for arm64, normalized, with the entry module."""

import importlib.util
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from caseline_common.resources import SERVICES

from caseline.build import BuildError
from infra.functions import service_functions
from infra.package import (
    UNZIPPED_LIMIT_BYTES,
    LambdaPackage,
    _route,
    check_unzipped_size,
    fingerprint,
    load_packages,
    package_service,
)


def _names(package: LambdaPackage) -> set[str]:
    with zipfile.ZipFile(package.zip_path) as archive:
        return set(archive.namelist())


def test_each_zip_holds_arm64_wheels_the_service_the_shared_package_and_the_entry_module(
    packages: dict[str, LambdaPackage],
) -> None:
    for service, package in packages.items():
        names = _names(package)
        assert {"app.py", "caseline_lambda.py", "chalice/app.py", "caseline_common/resources.py"} <= names, service
        assert any(name.startswith("chalicelib/") for name in names)
        extensions = [name for name in names if name.startswith("pydantic_core/_pydantic_core.")]
        assert extensions == [next(name for name in extensions if name.endswith("-aarch64-linux-gnu.so"))], service
        assert not any(name.endswith("x86_64-linux-gnu.so") for name in names), service
        assert not {name.split("/", 1)[0] for name in names} & {"boto3", "botocore", "s3transfer"}, service
        assert package.architecture == "arm64"
        assert package.with_dependencies


def test_every_module_ships_with_its_byte_code_as_lambda_cannot_write_it(packages: dict[str, LambdaPackage]) -> None:
    """/var/task is read-only: a module without byte code in the zip is compiled again at every cold start."""
    with zipfile.ZipFile(packages["timeline"].zip_path) as archive:
        names = set(archive.namelist())
        modules = [name for name in names if name.endswith(".py")]
        for name in ("app.py", "caseline_common/contracts.py", "pydantic/main.py"):
            header = archive.read(_compiled_name(name))[:16]
            assert header[:4] == importlib.util.MAGIC_NUMBER  # Python 3.11, the runtime's
            assert int.from_bytes(header[4:8], "little") == 0b01  # hash-based, unchecked: no timestamps
    missing = [name for name in modules if _compiled_name(name) not in names]
    assert not missing, missing[:10]


def _compiled_name(module: str) -> str:
    directory, _, file = module.rpartition("/")
    return f"{directory}/__pycache__/{file[:-3]}.cpython-311.pyc".lstrip("/")


def test_the_portal_ships_its_page_templates_and_assets(packages: dict[str, LambdaPackage]) -> None:
    names = _names(packages["portal"])
    assert any(name.startswith("chalicelib/templates/") for name in names)
    assert any(name.startswith("chalicelib/static/") for name in names)


def test_insight_ships_duckdb_for_arm64_within_lambdas_unzipped_limit(packages: dict[str, LambdaPackage]) -> None:
    insight = packages["insight"]
    names = _names(insight)
    assert [name for name in names if name.startswith("_duckdb.")] == ["_duckdb.cpython-311-aarch64-linux-gnu.so"]
    assert "sqlglot/__init__.py" in names
    unzipped = check_unzipped_size("insight", insight.zip_path)
    assert 60_000_000 < unzipped < UNZIPPED_LIMIT_BYTES  # about 107 MB, DuckDB's library 62 MB of it
    with pytest.raises(BuildError, match=r"insight: \d+ MB unzipped, over Lambda's 1 MB"):
        check_unzipped_size("insight", insight.zip_path, limit=1_000_000)


def test_every_function_the_specs_wire_has_a_handler(packages: dict[str, LambdaPackage]) -> None:
    for service in SERVICES:
        assert {spec.name for spec in service_functions(service)} == set(packages[service].handlers)


def test_zip_entries_are_sorted_with_fixed_times(packages: dict[str, LambdaPackage]) -> None:
    with zipfile.ZipFile(packages["timeline"].zip_path) as archive:
        infos = archive.infolist()
    assert [info.filename for info in infos] == sorted(info.filename for info in infos)
    assert {info.date_time for info in infos} == {(1980, 1, 1, 0, 0, 0)}


def test_packaging_again_gives_the_same_bytes_and_unchanged_sources_are_not_repackaged(
    packages: dict[str, LambdaPackage], packages_dir: Path, tmp_path: Path
) -> None:
    again = package_service("timeline", tmp_path, force=True)
    assert again.zip_path.read_bytes() == packages["timeline"].zip_path.read_bytes()
    assert again.content_hash == packages["timeline"].content_hash
    before = packages["timeline"].zip_path.stat().st_mtime_ns
    assert package_service("timeline", packages_dir) == packages["timeline"]
    assert packages["timeline"].zip_path.stat().st_mtime_ns == before


def _run(code: str, directory: Path) -> str:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=directory,
        env={"PYTHONPATH": str(directory), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def test_the_entry_module_wraps_event_handlers_in_the_apps_middleware(tmp_path: Path) -> None:
    """Lambda imports the handler's module alone. Chalice's own handler (chalicelib.events.<function>) would
    leave app.py unimported, so no middleware (logging context, metrics flush, tracing) wraps the function;
    the entry module imports app first. Runs the timeline's code from a (source-only) package's files."""
    package = package_service("timeline", tmp_path / "packages", with_dependencies=False)
    extracted = tmp_path / "extracted"
    with zipfile.ZipFile(package.zip_path) as archive:
        archive.extractall(extracted)
    count = "print(len(list({}.timeline_consumer.middleware_handlers)))"
    assert _run(f"import chalicelib.events as m; {count.format('m')}", extracted) == "0"
    assert int(_run(f"import caseline_lambda as m; {count.format('m')}", extracted)) >= 3
    assert _run("import caseline_lambda as m; print(callable(m.anchor_heads))", extracted) == "True"


def test_a_route_outside_the_openapi_document_must_be_declared(tmp_path: Path) -> None:
    page = {"method": "GET", "path": "/portal/case", "public": False, "scope": None, "documented": False}
    assert _route("portal", page).public
    cases = _route("cases", {**page, "path": "/cases", "scope": "caseline/cases.read", "documented": True})
    assert not cases.public
    assert cases.scope == "caseline/cases.read"
    with pytest.raises(BuildError, match="GET /secret is not in its OpenAPI document"):
        _route("cases", {**page, "path": "/secret"})


def test_synth_refuses_source_only_stale_or_missing_packages(tmp_path: Path) -> None:
    package_service("automations", tmp_path, with_dependencies=False)
    with pytest.raises(BuildError, match="source-only"):
        load_packages(tmp_path, services=["automations"])
    with pytest.raises(BuildError, match="no package"):
        load_packages(tmp_path, services=["portal"])
    assert fingerprint("automations") != fingerprint("automations", with_dependencies=False)
