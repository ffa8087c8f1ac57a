"""`caseline tasks rebuild`: the task inbox rebuilt from the cases table, through the tasks service's own code.

Every published template version is stored, then every case is projected as the bus would have projected it, at
its stored version or newer (caseline_common.access decides who may view it, as for an event). A case that changed
meanwhile is left to its newer event; so the command is idempotent, and safe while the consumer runs.
"""

from collections.abc import Callable
from typing import Annotated, Any

import typer
from caseline_common.aws import AwsClients
from caseline_common.envelope import utc_now
from caseline_common.resources import CASES_TABLE, TASKS_TABLE, TenantResourceNames
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from .case_source import CaseSource
from .local.loader import load_service

tasks_app = typer.Typer(help="The task inbox: rebuild it from the cases table.", no_args_is_help=True)
console = Console()

LOCAL_REGION = "us-east-1"  # the local stack's (caseline/local/stack.py)


def rebuild_inbox(
    client: Any, cases_table: str, tasks_table: str, *, started: Callable[[int], None], advance: Callable[[], None]
) -> int:
    """Projects every template version and case of the cases table into the inbox; the number of cases written."""
    tasks = load_service("tasks")
    inbox = tasks.module("chalicelib.adapters.dynamo_inbox").DynamoTaskInbox(client, tasks_table)
    service = tasks.module("chalicelib.service")
    inbox_service = service.InboxService(inbox, clock=utc_now)
    source = CaseSource(client, cases_table)
    for key, version, definition in source.templates():
        inbox_service.keep_template(key, version, definition)
    started(source.count())
    written = 0
    for page in source.cases():
        for case in page:
            written += inbox_service.project(case, reconcile=True) is service.Consumed.PROJECTED
            advance()
    return written


@tasks_app.command()
def rebuild(
    tenant: Annotated[str, typer.Option(help="The tenant whose inbox is rebuilt.")],
    region: Annotated[str, typer.Option(envvar="AWS_REGION", help="The tenant's AWS region.")] = LOCAL_REGION,
    endpoint_url: Annotated[
        str | None,
        typer.Option(envvar="CASELINE_AWS_ENDPOINT_URL", help="Another DynamoDB endpoint (the local emulator's)."),
    ] = None,
) -> None:
    """Rebuild the task inbox of a tenant from its cases table (idempotent; safe while events flow)."""
    names = TenantResourceNames(tenant_id=tenant)
    client = AwsClients(region, endpoint_url).dynamodb()
    columns = (TextColumn("Cases"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console) as progress:
        bar = progress.add_task("cases", total=None)
        written = rebuild_inbox(
            client,
            names.table(CASES_TABLE),
            names.table(TASKS_TABLE),
            started=lambda total: progress.update(bar, total=total),
            advance=lambda: progress.advance(bar),
        )
    console.print(f"[green]Rebuilt[/green] the task inbox of {tenant}: {written} cases written.", highlight=False)
