"""`caseline fleet`: deploy a release to every tenant of the registry in waves, and say where the fleet stands.

`deploy` synthesizes every tenant once (or takes `--assembly`), then deploys the canary and the waves
(caseline/fleet.py) with the pinned CDK CLI, tagging each stack `caseline:version=<git commit>`; `--dry-run`
prints the waves and the stacks each tenant's deploy would change. `status` is the version inventory (the tag on
each tenant's stacks), the alarms in ALARM and, with `--drift`, CloudFormation's drift detection. `pipeline`
prints the CI workflow that runs the same waves (.github/workflows/fleet-deploy.yml is its output).
"""

import json
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console
from rich.table import Table

from infra.assembly import assembly_templates
from infra.tenants import REGISTRY_PATH, RegistryError, Tenant, TenantRegistry, load_registry

from .fleet import (
    FleetError,
    Outcome,
    Rollout,
    TenantResult,
    Wave,
    changed_stacks,
    drift_summary,
    own_alarms,
    plan_waves,
    roll_out,
    select_wave,
    stack_names,
    version_of,
)
from .fleet_aws import VERSION_TAG, FleetAws
from .paths import ROOT
from .tenant_cli import DEFAULT_ASSEMBLY_DIR, deploy_command, synthesize_tenants

fleet_app = typer.Typer(help="The fleet: deploy a release to every tenant in waves; versions, alarms, drift.")
console = Console(soft_wrap=True)  # a message is one line, whatever the terminal (logs of a pipeline)

RegistryOption = Annotated[Path | None, typer.Option(help="The tenant registry (default: tenants.toml).")]
EndpointOption = Annotated[str | None, typer.Option(help="AWS endpoint (an emulator); default: AWS itself.")]
WORKFLOW_PATH = ROOT / ".github" / "workflows" / "fleet-deploy.yml"


def _registry(path: Path | None) -> TenantRegistry:
    try:
        return load_registry(path or REGISTRY_PATH)
    except RegistryError as error:
        console.print(str(error), style="red", markup=False, highlight=False)
        raise typer.Exit(2) from error


def _waves(registry: TenantRegistry, canary: str | None, wave_size: int | None) -> list[Wave]:
    try:
        return plan_waves(
            list(registry.tenants),
            canary=canary or registry.fleet.canary,
            wave_size=wave_size or registry.fleet.wave_size,
        )
    except FleetError as error:
        console.print(str(error), style="red", markup=False, highlight=False)
        raise typer.Exit(2) from error


def _git(*arguments: str) -> str:
    command = ["git", *arguments]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()  # noqa: S603


def git_version() -> str:
    """The release being deployed: the commit checked out, marked when the work tree has changes."""
    try:
        commit, dirty = _git("rev-parse", "HEAD"), _git("status", "--porcelain")
    except (OSError, subprocess.CalledProcessError) as error:
        raise FleetError("cannot read the git commit: pass --version") from error
    return f"{commit}-dirty" if dirty else commit


@dataclass(frozen=True)
class CdkRunner:
    """Deploys a tenant's stage with the pinned CDK CLI, no questions asked (the pipeline has no one to ask)."""

    assembly: Path
    version: str

    def __call__(self, tenant: str) -> str | None:
        command = deploy_command(tenant, self.assembly, require_approval="never", tags={VERSION_TAG: self.version})
        console.print(f"[bold]Deploying {tenant}:[/bold] {shlex.join(command)}", highlight=False, soft_wrap=True)
        completed = subprocess.run(command, cwd=ROOT, check=False)  # noqa: S603 - fixed argv, no shell
        return None if completed.returncode == 0 else f"cdk deploy exited with {completed.returncode}"


def deploy_fleet(
    registry: TenantRegistry,
    waves: list[Wave],
    *,
    aws: FleetAws,
    deploy: Callable[[str], str | None],
    bake_minutes: float,
    last_wave: int,
    sleep: Callable[[float], None] = time.sleep,
) -> Rollout:
    """The rollout with AWS behind it: the tenants' alarms read through `aws`, the bake a real wait."""

    def bake(wave: Wave, minutes: float) -> None:
        console.print(f"Baking {wave.name} ({', '.join(wave.tenants)}) for {minutes:g} min before its alarms are read")
        sleep(minutes * 60)

    def report(result: TenantResult) -> None:
        colour = {Outcome.DEPLOYED: "green", Outcome.SKIPPED: "yellow"}.get(result.outcome, "red")
        detail = f": {result.detail}" if result.detail else ""
        console.print(f"  [{colour}]{result.outcome}[/{colour}] {result.tenant}{detail}", highlight=False)

    return roll_out(
        waves,
        deploy=deploy,
        alarms_firing=lambda tenant: own_alarms(tenant, aws.alarms_firing(registry.get(tenant)), registry.tenants),
        bake=bake,
        bake_minutes=bake_minutes,
        last_wave=last_wave,
        report=report,
    )


def _print_waves(waves: list[Wave], bake_minutes: float) -> None:
    for wave in waves:
        console.print(f"[bold]{wave.name}[/bold]: {', '.join(wave.tenants)}", highlight=False)
    console.print(f"bake {bake_minutes:g} min after each wave but the last; any alarm in ALARM or failed deploy halts")


def _deployed_templates(aws: FleetAws, tenant: Tenant, names: list[str]) -> dict[str, dict[str, Any] | None]:
    return {name: aws.template(tenant, name) for name in names}


def _dry_run(registry: TenantRegistry, waves: list[Wave], assembly: Path, aws: FleetAws | None) -> None:
    """The stacks each tenant's deploy would change: compared with what runs, or all of them offline."""
    templates = assembly_templates(assembly)
    for wave in waves:
        for tenant_id in wave.tenants:
            tenant = registry.get(tenant_id)
            synthesized = {name: json.loads(path.read_text()) for name, path in templates[tenant_id].items()}
            where = f"{tenant.account or 'the credentials account'}, {tenant.region}"
            reason = "no AWS credentials" if aws is None else None
            deployed: dict[str, dict[str, Any] | None] = {}
            if aws is not None:
                try:
                    deployed = _deployed_templates(aws, tenant, list(synthesized))
                except (BotoCoreError, ClientError) as error:
                    reason = str(error)
            changes = changed_stacks(synthesized, deployed)
            note = f" (could not compare with the deployed stacks: {reason})" if reason else ""
            console.print(
                f"[bold]{tenant_id}[/bold] ({wave.name}; {where}): would change {len(changes)} of "
                f"{len(synthesized)} stacks{note}",
                highlight=False,
                soft_wrap=True,
            )
            for name in changes:
                console.print(f"  {name}", highlight=False)


def _aws_if_configured(endpoint_url: str | None) -> FleetAws | None:
    import boto3

    session = boto3.Session()
    return FleetAws(session, endpoint_url=endpoint_url) if session.get_credentials() is not None else None


@fleet_app.command()
def deploy(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the waves and what each would change.")] = False,
    wave_size: Annotated[int | None, typer.Option(min=1, help="Tenants per wave (default: [fleet]).")] = None,
    bake_minutes: Annotated[
        float | None, typer.Option(min=0, help="Bake time after a wave (default: [fleet]).")
    ] = None,
    canary: Annotated[str | None, typer.Option(help="The canary tenant (default: [fleet]).")] = None,
    wave: Annotated[
        int | None, typer.Option(min=0, help="Deploy this wave only (0: the canary); a pipeline job's.")
    ] = None,
    assembly: Annotated[
        Path | None, typer.Option(help="An assembly already synthesized for every tenant (default: synthesize now).")
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", help="Where the assembly goes when synthesized.")
    ] = DEFAULT_ASSEMBLY_DIR,
    version: Annotated[str | None, typer.Option(help="The release's version tag (default: the git commit).")] = None,
    registry: RegistryOption = None,
    endpoint_url: EndpointOption = None,
) -> None:
    """Deploy the release to the canary, then to the other tenants in waves; halt on a failure or an alarm."""
    tenants = _registry(registry)
    waves = _waves(tenants, canary, wave_size)
    bake = tenants.fleet.bake_minutes if bake_minutes is None else bake_minutes
    try:
        chosen = select_wave(waves, wave)
    except FleetError as error:
        console.print(str(error), style="red", markup=False, highlight=False)
        raise typer.Exit(2) from error
    _print_waves(chosen, bake)
    if assembly is None:
        assembly = synthesize_tenants(list(tenants.tenants.values()), out)
    elif not (assembly / "manifest.json").is_file():
        console.print(f"{assembly} holds no cloud assembly (no manifest.json)", style="red", highlight=False)
        raise typer.Exit(2)
    if dry_run:
        _dry_run(tenants, chosen, assembly, _aws_if_configured(endpoint_url))
        return
    if shutil.which("npx") is None:
        console.print("[red]npx is not installed: the CDK CLI comes from npm (Node.js 20+)[/red]")
        raise typer.Exit(1)
    try:
        release = version or git_version()
        rollout = deploy_fleet(
            tenants,
            chosen,
            aws=FleetAws(endpoint_url=endpoint_url),
            deploy=CdkRunner(assembly.resolve(), release),
            bake_minutes=bake,
            last_wave=waves[-1].number,
        )
    except (FleetError, BotoCoreError, ClientError) as error:
        console.print(str(error), style="red", markup=False, highlight=False)
        raise typer.Exit(1) from error
    if not rollout.succeeded:
        console.print(f"Halted: {rollout.halted}", style="red bold", markup=False, highlight=False)
        raise typer.Exit(1)
    console.print(f"[green]Deployed {release}[/green] to {', '.join(t for w in chosen for t in w.tenants)}")


@fleet_app.command()
def status(
    drift: Annotated[
        bool, typer.Option("--drift", help="Also run CloudFormation's drift detection (minutes).")
    ] = False,
    registry: RegistryOption = None,
    endpoint_url: EndpointOption = None,
) -> None:
    """Per tenant: the version its stacks run, their state, the alarms in ALARM and (--drift) their drift."""
    tenants = _registry(registry)
    aws = FleetAws(endpoint_url=endpoint_url)
    table = Table(title="The fleet")
    for column in ("tenant", "where", "version", "stacks", "alarms in ALARM", *(("drift",) if drift else ())):
        table.add_column(column, overflow="fold")  # a narrow terminal (or a pipeline's log) still shows every name
    try:
        for tenant in tenants.tenants.values():
            names = stack_names(tenant.id)
            stacks = [aws.stack(tenant, name) for name in names]
            states = sorted({stack.status for stack in stacks if stack is not None})
            deployed = sum(stack is not None for stack in stacks)
            row = [
                tenant.id,
                f"{tenant.account or '-'} {tenant.region}",
                version_of(stacks),
                f"{deployed}/{len(names)} {', '.join(states)}".strip(),
                ", ".join(own_alarms(tenant.id, aws.alarms_firing(tenant), tenants.tenants)) or "none",
            ]
            if drift:
                present = [stack.name for stack in stacks if stack is not None]
                row.append(drift_summary([each for name in present for each in aws.drift(tenant, name)]))
            table.add_row(*row)
    except (BotoCoreError, ClientError, TimeoutError, RuntimeError) as error:
        console.print(f"Cannot read the fleet: {error}", style="red", markup=False, highlight=False)
        raise typer.Exit(1) from error
    console.print(table)


# GitHub Actions: a job per wave, each in its own environment (give the production waves' environments required
# reviewers: the manual approval), with AWS credentials from GitHub's OIDC token for the pipeline's deploy role.
WORKFLOW_TEMPLATE = """\
# Generated from tenants.toml: `caseline fleet pipeline > .github/workflows/fleet-deploy.yml`. Do not edit.
# A job per wave of `caseline fleet deploy`: each deploys its tenants, bakes, reads their alarms, and fails (so
# the next wave never starts) on a failed deploy or an alarm. Require reviewers on the environments of the waves
# that need an approval. AWS credentials: GitHub's OIDC token for the role in the repository variable
# CASELINE_DEPLOY_ROLE_ARN (docs/operations.md, "Running a fleet").
name: Fleet deploy
on:
  workflow_dispatch:
permissions:
  id-token: write
  contents: read
concurrency:
  group: fleet-deploy
  cancel-in-progress: false
jobs:
{%- for job in jobs %}
  {{ job.id }}:
    name: "{{ job.name }}"
{%- if job.needs %}
    needs: {{ job.needs }}
{%- endif %}
    runs-on: ubuntu-latest
    environment: fleet-{{ job.id }}
    timeout-minutes: {{ timeout }}
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - uses: actions/setup-node@v4
        with:
          node-version: "20"
      - uses: aws-actions/configure-aws-credentials@v4
        with:
          role-to-assume: ${{ '{{' }} vars.CASELINE_DEPLOY_ROLE_ARN {{ '}}' }}
          aws-region: us-east-1
      - run: make install
      - run: .venv/bin/caseline fleet deploy --wave {{ job.wave }} --version "$GITHUB_SHA"
{%- endfor %}
"""


def render_workflow(registry: TenantRegistry) -> str:
    """The CI workflow running the registry's waves in turn, one `caseline fleet deploy --wave N` job each."""
    from jinja2 import Environment, StrictUndefined

    waves = plan_waves(list(registry.tenants), canary=registry.fleet.canary, wave_size=registry.fleet.wave_size)
    ids = ["canary" if wave.number == 0 else f"wave-{wave.number}" for wave in waves]
    jobs = [
        {"id": ids[index], "name": f"{wave.name}: {', '.join(wave.tenants)}", "wave": wave.number,
         "needs": ids[index - 1] if index else None}
        for index, wave in enumerate(waves)
    ]  # fmt: skip
    template = Environment(undefined=StrictUndefined, autoescape=False).from_string(WORKFLOW_TEMPLATE)  # noqa: S701 - YAML, not HTML
    # A wave's job deploys (up to two hours for a tenant's ten stacks) and then bakes.
    return template.render(jobs=jobs, timeout=120 + registry.fleet.bake_minutes) + "\n"


@fleet_app.command()
def pipeline(registry: RegistryOption = None) -> None:
    """Print the CI workflow (GitHub Actions) that deploys the registry's waves, one job each."""
    tenants = _registry(registry)
    try:
        typer.echo(render_workflow(tenants), nl=False)
    except FleetError as error:
        console.print(str(error), style="red", markup=False, highlight=False)
        raise typer.Exit(2) from error
