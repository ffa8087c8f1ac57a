"""`caseline`: the project's console."""

import json
import signal
import threading
import time
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from caseline_common.bundle import verify_bundle
from rich.console import Console
from rich.panel import Panel

from .client_cli import client_app
from .fleet_cli import fleet_app
from .insight_cli import insight_app
from .local.console import DEV_USERS, dev_user_by_email
from .local.idp import TOKEN_LIFETIME_SECONDS, DevIdentityProvider
from .local.mailbox import MAILBOX_PATH
from .local.stack import LocalStack, StackOptions
from .paths import STATE_DIR
from .sdk import sdk
from .search_cli import search_app
from .tasks_cli import tasks_app
from .tenant_cli import tenant_app

app = typer.Typer(help="Caseline: case orchestration on serverless AWS.", no_args_is_help=True)
timeline_app = typer.Typer(help="Timeline bundles: verify them offline.", no_args_is_help=True)
app.add_typer(timeline_app, name="timeline")
app.add_typer(tenant_app, name="tenant")
app.add_typer(tasks_app, name="tasks")
app.add_typer(search_app, name="search")
app.add_typer(insight_app, name="insight")
app.add_typer(client_app, name="client")
app.add_typer(fleet_app, name="fleet")
app.command()(sdk)
console = Console()
errors = Console(stderr=True)  # what a command says about its output, so stdout stays that output alone


# Who `caseline token --role` mints for: the console's development users, by id (ADMIN = "admin", ...).
# mypy cannot list members built from data, hence the ignore; typer offers them as the option's choices.
TokenRole = StrEnum("TokenRole", {user.id.upper(): user.id for user in DEV_USERS})  # type: ignore[misc]


def _try_this(stack: LocalStack, token: str) -> str:
    case_id = stack.seeded_case_ids[0] if stack.seeded_case_ids else "CASE_ID"
    claim_id = stack.seeded_case_ids[4] if len(stack.seeded_case_ids) > 4 else "CASE_ID"  # the insurance claim
    url = stack.url
    auth = '-H "Authorization: Bearer $TOKEN"'
    return "\n".join(
        [
            f"export TOKEN={token}",
            f"curl -s {auth} {url}/templates",
            f"curl -s {auth} '{url}/cases?status=open&limit=10'",
            f"curl -s {auth} -H 'Content-Type: application/json' -H 'Idempotency-Key: try-1' \\",
            f'     -d \'{{"template_key":"employee-onboarding","title":"Onboarding: Sam Lee","fields":'
            f'{{"employee":{{"name":"Sam Lee"}},"start_date":"2027-02-01","department":"sales"}}}}\' {url}/cases',
            f"curl -s {auth} {url}/cases/{case_id}/timeline",
            "# what keeps a case in its stage, and a move that is refused until it is met:",
            f"curl -s {auth} {url}/cases/{claim_id}/criteria",
            f"curl -s {auth} -H 'Content-Type: application/json' -d '{{\"to\":\"triage\"}}' "
            f"{url}/cases/{claim_id}/transitions",
        ]
    )


@app.command()
def dev(
    port: Annotated[int, typer.Option(help="Port of the local API gateway.")] = 8000,
    host: Annotated[str, typer.Option(help="Address to bind; keep it on loopback.")] = "127.0.0.1",
    tenant: Annotated[str, typer.Option(help="Tenant to provision and seed.")] = "demo",
    seed: Annotated[bool, typer.Option(help="Seed the demo templates and cases.")] = True,
) -> None:
    """Start the whole product locally: emulator, six services, pumps, gateway, demo tenant."""
    stop = threading.Event()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signal_number, lambda *_: stop.set())
    with console.status("Starting moto, provisioning the tenant, loading the services..."):
        try:
            stack = LocalStack(StackOptions(tenant_id=tenant, host=host, port=port, seed=seed)).start()
        except OSError as error:
            console.print(f"[red]Cannot start:[/red] {error}. Is port {port} in use? Try --port.")
            raise typer.Exit(1) from error
    token = stack.staff_token()
    console.print(
        Panel.fit(
            f"[bold]Console[/bold]    {stack.url}/console/  (sign in as admin, agent or viewer)\n"
            f"[bold]API[/bold]        {stack.url}\n"
            f"[bold]Reference[/bold]  {stack.url}/reference  (`make reference` renders it)\n"
            f"[bold]API docs[/bold]   {stack.url}/docs  (try the operations)\n"
            f"[bold]OpenAPI[/bold]    {stack.url}/openapi.json\n"
            f"[bold]Mailbox[/bold]    {stack.url}{MAILBOX_PATH}  (e-mail the services sent)\n"
            f"[bold]Tenant[/bold]     {tenant}  (emulator at {stack.aws_endpoint})\n"
            "[bold]Staff token[/bold]  $TOKEN below: admin and staff, valid 12 h; "
            "`caseline token --role agent|viewer|admin` makes more\n"
            f"[bold]Clients[/bold]    `caseline client create NAME --scope cases.read --tenant {tenant} "
            f"--endpoint-url {stack.aws_endpoint}`, tokens at {stack.token_url}",
            title="Caseline is running",
            border_style="green",
        )
    )
    portal = stack.demo_portal_link() if seed else None
    if portal:
        console.print(f"[bold]Portal[/bold]     {portal}  (the demo claimant's link to the insurance claim)")
    console.print("[bold]Try this:[/bold]")
    console.print(_try_this(stack, token), soft_wrap=True, highlight=False)
    console.print("\nPress Ctrl-C to stop.")
    stop.wait()
    with console.status("Stopping..."):
        stack.stop()
    console.print("Stopped.")


@app.command()
def token(
    role: Annotated[
        TokenRole | None,
        typer.Option(help="One of the console's users: admin (every right), agent (case worker), viewer (reads only)."),
    ] = None,
    group: Annotated[
        list[str] | None, typer.Option(help="Instead of --role: a cognito:groups entry; repeat for more.")
    ] = None,
    email: Annotated[
        str | None,
        typer.Option(
            help=(
                "E-mail claim; the subject is a console user's for their address, else dev-<its local part>. "
                "If absent, the role's user's e-mail and subject."
            )
        ),
    ] = None,
    port: Annotated[int, typer.Option(help="Port of the running `caseline dev` gateway (the issuer).")] = 8000,
) -> None:
    """Mint a development token for a running `caseline dev` (same signing key, same claims as Cognito).

    The token alone goes to stdout (`export TOKEN=$(caseline token --role agent)`); who it is for, to stderr."""
    if (role is None) == (group is None):
        errors.print(
            "[red]Say who the token is for:[/red] --role admin|agent|viewer, or --group (repeat it).", soft_wrap=True
        )
        raise typer.Exit(2)
    key_file = STATE_DIR / "dev-signing-key.pem"
    if not key_file.exists():
        errors.print("[red]No development signing key yet:[/red] run `caseline dev` once first.", soft_wrap=True)
        raise typer.Exit(1)
    user = next(user for user in DEV_USERS if user.id == role) if role else None
    groups = [str(each) for each in user.groups] if user else group or []
    if user and not email:  # the console user: the very subject the console's sign-in mints
        subject, email = user.subject, user.email
    else:
        email = email or "dev.user@demo.caseline.local"
        known = dev_user_by_email(email)  # one person, one subject: a development user's address is theirs
        subject = known.subject if known else f"dev-{email.split('@')[0]}"
    issued_at = time.time()
    idp = DevIdentityProvider(f"http://127.0.0.1:{port}/dev-idp", key_file)
    typer.echo(idp.issue(subject=subject, email=email, groups=groups, now=issued_at))
    expires = datetime.fromtimestamp(int(issued_at) + TOKEN_LIFETIME_SECONDS, UTC).isoformat().replace("+00:00", "Z")
    errors.print(
        f"Token for {subject} ({email}), groups {', '.join(groups) or 'none'}, expires {expires}",
        highlight=False,
        soft_wrap=True,
    )


@app.command()
def openapi(
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write it to this file instead of stdout.")] = None,
) -> None:
    """The merged OpenAPI 3.1 document of the whole API, with its webhooks, as `/openapi.json` serves it; built from
    the services' code, no stack started."""
    from .reference import api_document  # loads every service: only this command needs them

    text = json.dumps(api_document(), indent=2)
    if out is None:
        typer.echo(text)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")
    errors.print(f"Wrote {out}", highlight=False)


@timeline_app.command("verify")
def verify_timeline_bundle(
    bundle: Annotated[Path, typer.Argument(help="A bundle from GET /cases/{case_id}/timeline/export.")],
    public_key: Annotated[
        Path, typer.Option("--public-key", "-k", help="PEM public key, from GET /timeline/signing-key.")
    ],
) -> None:
    """Verify an exported timeline offline: signature, file digests and every link of the hash chain."""
    for path in (bundle, public_key):
        if not path.is_file():
            console.print(f"[red]No such file:[/red] {path}")
            raise typer.Exit(2)
    result = verify_bundle(bundle.read_bytes(), public_key.read_bytes())
    if result.valid:
        console.print(
            f"[green]valid[/green]: case {result.case_id}, {result.length} entries, head hash {result.head_hash}"
        )
        return
    console.print("[red]INVALID[/red]" + (f": case {result.case_id}" if result.case_id else ""))
    for problem in result.problems:
        console.print(f"  - {problem}")
    raise typer.Exit(1)
