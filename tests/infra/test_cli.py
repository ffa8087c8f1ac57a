"""`caseline tenant synth|deploy|list` (the typer sub-app in caseline/tenant_cli.py)."""

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from caseline import tenant_cli
from caseline.tenant_cli import CDK_CLI_VERSION, deploy_command, tenant_app
from tests.infra.conftest import Synthesized

runner = CliRunner()


def test_synth_packages_and_synthesizes_byte_identical_templates_every_time(
    assembly: Synthesized, packages_dir: Path, tmp_path: Path
) -> None:
    """The CLI's synth of one tenant and the session's synth of every tenant are two independent syntheses:
    the demo tenant's templates and assets must come out byte for byte the same."""
    out = tmp_path / "cdk.out"
    result = runner.invoke(tenant_app, ["synth", "demo", "--out", str(out), "--packages", str(packages_dir)])
    assert result.exit_code == 0, result.output
    assert "caseline-demo-shared" in result.output
    assert "Synthesized tenant demo" in result.output
    session = {Path(stack.template_full_path).name: stack for stack in assembly.stacks("demo")}
    produced = sorted((out / "assembly-tenant-demo").glob("*.template.json"))
    assert [path.name for path in produced] == sorted(session)
    for path in produced:
        assert path.read_bytes() == Path(session[path.name].template_full_path).read_bytes(), path.name
    for asset in out.glob("asset.*.zip"):
        assert asset.read_bytes() == (assembly.outdir / asset.name).read_bytes()
    assert not (out / "assembly-tenant-acme").exists()


def test_deploy_runs_the_pinned_cdk_cli_on_the_synthesized_assembly(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    calls: list[list[str]] = []

    def run(command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        calls.append(command)
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(tenant_cli, "synthesize", lambda name, out, **_: out)
    monkeypatch.setattr(shutil, "which", lambda _name: "/usr/bin/npx")
    monkeypatch.setattr(subprocess, "run", run)
    result = runner.invoke(tenant_app, ["deploy", "acme", "--out", str(tmp_path), "--profile", "acme-admin"])
    assert result.exit_code == 0, result.output
    assert calls == [
        [
            "npx",
            "--yes",
            f"aws-cdk@{CDK_CLI_VERSION}",
            "deploy",
            "--app",
            str(tmp_path),
            "--require-approval",
            "broadening",
            "--concurrency",
            "4",
            "--progress",
            "events",
            "--profile",
            "acme-admin",
            "tenant-acme/*",
        ]
    ]


def test_deploy_dry_run_prints_the_command_and_runs_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(tenant_cli, "synthesize", lambda name, out, **_: out)
    monkeypatch.setattr(subprocess, "run", lambda *_a, **_k: pytest.fail("ran a command"))
    result = runner.invoke(
        tenant_app, ["deploy", "demo", "--out", str(tmp_path), "--dry-run", "--require-approval", "never"]
    )
    assert result.exit_code == 0, result.output
    assert f"aws-cdk@{CDK_CLI_VERSION} deploy --app {tmp_path} --require-approval never" in result.output
    assert "'tenant-demo/*'" in result.output
    assert deploy_command("demo", tmp_path)[-1] == "tenant-demo/*"


def test_deploy_refuses_an_unknown_approval_level(tmp_path: Path) -> None:
    result = runner.invoke(tenant_app, ["deploy", "demo", "--out", str(tmp_path), "--require-approval", "maybe"])
    assert result.exit_code == 2


def test_unknown_tenant_and_a_foreign_out_directory_are_refused(tmp_path: Path) -> None:
    result = runner.invoke(tenant_app, ["synth", "nope", "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "no tenant 'nope'" in result.output
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(typer.Exit):
        tenant_cli._clear(tmp_path)
    assert (tmp_path / "precious.txt").exists()


def test_list_shows_every_tenant() -> None:
    result = runner.invoke(tenant_app, ["list"])
    assert result.exit_code == 0, result.output
    assert "demo" in result.output
    assert "acme" in result.output
    assert "eu-west-1" in result.output
