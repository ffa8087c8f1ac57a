"""`caseline tenant`: synthesize and deploy one tenant's stack set, from the tenant registry (tenants.toml).

`synth NAME` packages every service for Lambda (arm64; only what changed since the last time), synthesizes the
tenant's stage with cdk-nag's AWS Solutions and HIPAA Security checks, and writes the cloud assembly. It needs
no AWS account, credentials or network, and the same sources always give byte-identical templates.

`deploy NAME` does the same, then runs the pinned npm `aws-cdk` CLI on that assembly
(`npx aws-cdk@<version> deploy --app <assembly> 'tenant-NAME/*'`), which needs credentials for the tenant's
account and a bootstrapped environment (docs/operations.md). `--dry-run` prints the command instead.

`restore NAME --table T --to TIME` restores one table to a point in time and repairs the live table from that copy,
then replays the archived events since TIME to the consumers that keep the table's data (caseline/restore.py).
"""

import shlex
import shutil
import subprocess
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from botocore.exceptions import BotoCoreError, ClientError
from caseline_common.aws import AwsClients
from caseline_common.resources import TABLES, TenantResourceNames
from rich.console import Console

from infra.tenants import REGISTRY_PATH, RegistryError, Tenant, load_registry

from . import restore as restoring
from .build import BuildError
from .paths import ROOT

# The CDK CLI is released apart from aws-cdk-lib; this one reads cloud assembly schema 55 (aws-cdk-lib 2.275.0).
CDK_CLI_VERSION = "2.1148.1"
DEFAULT_ASSEMBLY_DIR = ROOT / "cdk.out"
APPROVALS = ("never", "any-change", "broadening")

tenant_app = typer.Typer(help="Tenants: synthesize and deploy their AWS stacks (tenants.toml).", no_args_is_help=True)
console = Console()

TableName = StrEnum("TableName", {spec.id.upper(): spec.id for spec in TABLES})  # type: ignore[misc]
RegistryOption = Annotated[Path | None, typer.Option(help="The tenant registry (default: tenants.toml).")]
OutOption = Annotated[Path, typer.Option("--out", help="Where the cloud assembly goes (replaced).")]
PackagesOption = Annotated[Path | None, typer.Option(help="Where the Lambda packages go (default: build/lambda).")]


def _tenant(name: str, registry: Path | None) -> Tenant:
    try:
        return load_registry(registry or REGISTRY_PATH).get(name)
    except RegistryError as error:
        console.print(f"[red]{error}[/red]", highlight=False)
        raise typer.Exit(2) from error


def _clear(out: Path) -> None:
    """Start from an empty assembly directory, so nothing stale (old assets, other tenants) is deployed."""
    if out.exists():
        if any(out.iterdir()) and not (out / "manifest.json").is_file():
            console.print(f"[red]{out} is not empty and holds no cloud assembly; refusing to replace it[/red]")
            raise typer.Exit(2)
        shutil.rmtree(out)


def synthesize(name: str, out: Path, *, registry: Path | None = None, packages_dir: Path | None = None) -> Path:
    """Package what changed, synthesize the tenant's stage with the checks, and return the assembly directory."""
    return synthesize_tenants([_tenant(name, registry)], out, packages_dir=packages_dir)


def synthesize_tenants(tenants: list[Tenant], out: Path, *, packages_dir: Path | None = None) -> Path:
    """Package what changed, synthesize these tenants' stages with the checks, and return the assembly directory."""
    from infra.app import build_app  # aws-cdk-lib takes seconds to import: only when synthesizing
    from infra.package import DEFAULT_OUT_DIR, package_all

    try:
        with console.status("Packaging the services for Lambda (arm64)..."):
            packages = package_all(packages_dir or DEFAULT_OUT_DIR)
    except BuildError as error:
        console.print("[red bold]Packaging failed:[/red bold]", str(error), highlight=False, markup=False)
        raise typer.Exit(1) from error
    out = out.resolve()
    _clear(out)
    names = ", ".join(tenant.id for tenant in tenants)
    with console.status(f"Synthesizing {names} with cdk-nag (AWS Solutions, HIPAA Security)..."):
        app = build_app(tenants, packages=packages, outdir=out)
        try:
            assembly = app.synth()
        except RuntimeError as error:
            if "ValidationFailed" not in str(error):
                raise
            console.print(
                f"[red bold]cdk-nag findings:[/red bold] see {out / 'validation-report.json'} "
                "(fix them, or acknowledge each with a reason in infra/)",
                highlight=False,
            )
            raise typer.Exit(1) from error
    for stack in assembly.stacks_recursively:
        console.print(
            f"  {stack.stack_name:32} {Path(stack.template_full_path).relative_to(out)}",
            highlight=False,
            soft_wrap=True,
        )
    return out


def deploy_command(
    name: str,
    assembly: Path,
    *,
    require_approval: str = "broadening",
    profile: str | None = None,
    tags: dict[str, str] | None = None,
) -> list[str]:
    """The npm CDK CLI deploying every stack of the tenant's stage (dependencies first) from the assembly; `tags`
    become stack tags (CloudFormation copies them onto the stacks' resources)."""
    command = [
        "npx",
        "--yes",
        f"aws-cdk@{CDK_CLI_VERSION}",
        "deploy",
        "--app",
        str(assembly),
        "--require-approval",
        require_approval,
        "--concurrency",
        "4",
        "--progress",
        "events",
    ]
    if profile:
        command += ["--profile", profile]
    for key, value in (tags or {}).items():
        command += ["--tags", f"{key}={value}"]
    return [*command, f"tenant-{name}/*"]


@tenant_app.command("list")
def list_tenants(registry: RegistryOption = None) -> None:
    """The tenants of the registry."""
    try:
        tenants = load_registry(registry or REGISTRY_PATH).tenants.values()
    except RegistryError as error:
        console.print(f"[red]{error}[/red]", highlight=False)
        raise typer.Exit(2) from error
    for tenant in tenants:
        account = tenant.account or "(credentials' account)"
        console.print(f"{tenant.id:16} {tenant.region:14} {account:22} {tenant.tier.value:11} {tenant.domain}")


@tenant_app.command()
def synth(
    name: Annotated[str, typer.Argument(help="Tenant id in the registry.")],
    out: OutOption = DEFAULT_ASSEMBLY_DIR,
    registry: RegistryOption = None,
    packages: PackagesOption = None,
) -> None:
    """Package and synthesize one tenant's stacks (offline, deterministic, cdk-nag checked)."""
    assembly = synthesize(name, out, registry=registry, packages_dir=packages)
    console.print(f"[green]Synthesized[/green] tenant {name} into {assembly}", highlight=False)


@tenant_app.command()
def deploy(
    name: Annotated[str, typer.Argument(help="Tenant id in the registry.")],
    out: OutOption = DEFAULT_ASSEMBLY_DIR,
    registry: RegistryOption = None,
    packages: PackagesOption = None,
    require_approval: Annotated[
        str, typer.Option(help=f"Ask before deploying: {', '.join(APPROVALS)} (security-broadening changes).")
    ] = "broadening",
    profile: Annotated[str | None, typer.Option(help="AWS profile for the CDK CLI.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Synthesize and print the deploy command only.")] = False,
) -> None:
    """Synthesize one tenant, then deploy its stacks with the npm aws-cdk CLI."""
    if require_approval not in APPROVALS:
        console.print(f"[red]--require-approval must be one of {', '.join(APPROVALS)}[/red]")
        raise typer.Exit(2)
    assembly = synthesize(name, out, registry=registry, packages_dir=packages)
    command = deploy_command(name, assembly, require_approval=require_approval, profile=profile)
    if dry_run:
        console.print(shlex.join(command), highlight=False, soft_wrap=True)
        return
    if shutil.which("npx") is None:
        console.print("[red]npx is not installed: the CDK CLI comes from npm (Node.js 20+)[/red]")
        raise typer.Exit(1)
    console.print(f"[bold]Deploying tenant {name}:[/bold] {shlex.join(command)}", highlight=False, soft_wrap=True)
    completed = subprocess.run(command, cwd=ROOT, check=False)  # noqa: S603 - fixed argv, no shell
    raise typer.Exit(completed.returncode)


@tenant_app.command()
def restore(
    name: Annotated[str, typer.Argument(help="Tenant id in the registry.")],
    table: Annotated[TableName, typer.Option(help="The table to restore.")],
    to: Annotated[str, typer.Option("--to", help="The point in time, ISO 8601 with its zone: 2027-03-01T09:00:00Z.")],
    restored_table: Annotated[
        str | None,
        typer.Option(help="Repair from this table, restored already (an earlier run, AWS Backup), not a new restore."),
    ] = None,
    delete_newer: Annotated[
        bool, typer.Option("--delete-newer", help="Delete the live items created after --to (else listed only).")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check and say what would be done; restore, write and replay nothing.")
    ] = False,
    endpoint_url: Annotated[
        str | None,
        typer.Option(envvar="CASELINE_AWS_ENDPOINT_URL", help="Another AWS endpoint (the local emulator's)."),
    ] = None,
    registry: RegistryOption = None,
) -> None:
    """Restore a table to a point in time: PITR copy, repair of the live table, replay of the events since."""
    tenant = _tenant(name, registry)
    aws = AwsClients(tenant.region, endpoint_url)
    spec = next(spec for spec in TABLES if spec.id == table)
    try:
        started = datetime.now(UTC)
        plan = restoring.Restore(
            names=TenantResourceNames(tenant_id=tenant.id),
            table=spec,
            to=restoring.parse_restore_time(to, started),
            started=started,
        )
        _restore(aws, plan, restored_table=restored_table, delete_newer=delete_newer, dry_run=dry_run)
    except restoring.RestoreError as error:
        console.print(f"[red]{error}[/red]", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    except (ClientError, BotoCoreError) as error:
        console.print(f"[red]AWS refused a step:[/red] {error}", highlight=False, soft_wrap=True, markup=False)
        raise typer.Exit(1) from None


def _say(text: str) -> None:
    console.print(text, highlight=False, soft_wrap=True, markup=False)


def _restore(
    aws: AwsClients, plan: restoring.Restore, *, restored_table: str | None, delete_newer: bool, dry_run: bool
) -> None:
    dynamodb = aws.dynamodb()
    earliest = restoring.check_window(dynamodb, plan)
    mode = " (dry run: nothing is written)" if dry_run else ""
    _say(f"Restoring {plan.live} to {plan.to.isoformat()} (PITR reaches back to {earliest.isoformat()}){mode}")

    _say("1. Restore into a new table")
    copy = restored_table or plan.copy
    if restored_table:
        restoring.check_copy(dynamodb, restored_table)
        _say(f"  using {restored_table}, restored already")
    elif dry_run:
        _say(f"  would restore {plan.live} as of {plan.to.isoformat()} into {copy}")
    else:
        restoring.restore_copy(dynamodb, plan, _say)
        _say(f"  {copy} is active")
        if aws.endpoint_url:
            _say("  (an emulator may copy the table as it is now rather than as of --to: moto 5 does)")

    _say(f"2. Repair {plan.live} from {copy}")
    if dry_run and not restored_table:
        _say("  would put back every item that differs, and list the items created since (--delete-newer: delete)")
    else:
        repair = restoring.TableRepair(dynamodb, plan, copy, _say).run(delete_newer=delete_newer, dry_run=dry_run)
        _report_repair(repair, dry_run=dry_run)

    _say("3. Stream mapping")
    _say("  " + restoring.stream_state(dynamodb, aws.ssm(), plan))

    _say("4. Replay the archived events since the restore point")
    rules = restoring.replay_consumers(plan)
    if not rules:
        _say(f"  nothing replayed: {restoring.NOT_REPLAYED[plan.table.id]}")
    else:
        replay = restoring.start_replay(aws.events(), plan, rules, dry_run=dry_run)
        _say(
            f"  replay {replay.name}: events from {replay.start.isoformat()} to {replay.end.isoformat()}, "
            f"{replay.state}"
        )
        for rule in replay.rules:
            _say(f"    to {rule}")
        if not dry_run:
            _say(f"  follow it: aws events describe-replay --replay-name {replay.name}")
    if not dry_run:
        _say(f"Done. Verify the affected cases, then delete {copy}: aws dynamodb delete-table --table-name {copy}")


def _report_repair(repair: restoring.Repair, *, dry_run: bool) -> None:
    put = "would be put back" if dry_run else "put back"
    _say(f"  {repair.put_back} items {put}, {repair.unchanged} unchanged, {repair.left_alone} outbox items left alone")
    if repair.newer:
        verb = "deleted" if repair.deleted else "kept (--delete-newer deletes them)"
        _say(f"  {len(repair.newer)} items created after the restore point, {verb}:")
        for key in repair.newer[: restoring.NEWER_SHOWN]:
            _say(f"    {restoring.key_text(key)}")
        if len(repair.newer) > restoring.NEWER_SHOWN:
            _say(f"    ... and {len(repair.newer) - restoring.NEWER_SHOWN} more")
