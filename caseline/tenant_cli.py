"""`caseline tenant`: synthesize and deploy one tenant's stack set, from the tenant registry (tenants.toml).

`synth NAME` packages every service for Lambda (arm64; only what changed since the last time), synthesizes the
tenant's stage with cdk-nag's AWS Solutions and HIPAA Security checks, and writes the cloud assembly. It needs
no AWS account, credentials or network, and the same sources always give byte-identical templates.

`deploy NAME` does the same, then runs the pinned npm `aws-cdk` CLI on that assembly
(`npx aws-cdk@<version> deploy --app <assembly> 'tenant-NAME/*'`), which needs credentials for the tenant's
account and a bootstrapped environment (docs/operations.md). `--dry-run` prints the command instead.
"""

import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from infra.tenants import REGISTRY_PATH, RegistryError, Tenant, load_registry

from .build import BuildError
from .paths import ROOT

# The CDK CLI is released apart from aws-cdk-lib; this one reads cloud assembly schema 55 (aws-cdk-lib 2.275.0).
CDK_CLI_VERSION = "2.1148.1"
DEFAULT_ASSEMBLY_DIR = ROOT / "cdk.out"
APPROVALS = ("never", "any-change", "broadening")

tenant_app = typer.Typer(help="Tenants: synthesize and deploy their AWS stacks (tenants.toml).", no_args_is_help=True)
console = Console()

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
