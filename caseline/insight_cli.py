"""`caseline insight backfill`: build a tenant's event lake from its timelines; `caseline insight compact`: merge
each day's objects of the lake into one, as its hourly `compact_lake` function does.

It reads every link of the tenant's chains from the timeline table's change feed index (in the order recorded),
folds each case's state from its events in chain order, and writes the rows through the insight service's own code
(the rows the lake writer writes from the bus, the case's state from the fold instead of the snapshot an event
carries). Objects are named by the events they hold, so running it again writes the same objects over themselves;
rows it shares with what the lake writer wrote are counted once by every query (by event id). Who may read each
template's figures is taken from the newest version the timeline keeps of each template a case follows. Each case's
last state is kept too, so a live event that carries no case (a portal link) on a case opened before the lake gets
its columns.

Locally it talks to the emulator `caseline dev` prints; in AWS to the tenant's account (credentials, no endpoint).
"""

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Annotated, Any

import typer
from caseline_common.aws import AwsClients
from caseline_common.envelope import utc_now
from caseline_common.resources import INSIGHT_TABLE, LAKE_BUCKET, TIMELINE_TABLE, TenantResourceNames
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .local.loader import load_service
from .timeline_source import Link, TimelineSource

if TYPE_CHECKING:
    from services.insight.chalicelib.adapters.parquet_lake import ParquetLake
    from services.insight.chalicelib.compaction_service import LakeCompactor
    from services.insight.chalicelib.lake_service import LakeWriter, Rebuilt

insight_app = typer.Typer(
    help="Insight: build the event lake from the timelines, and compact it.", no_args_is_help=True
)
console = Console()
EndpointOption = Annotated[
    str | None, typer.Option(help="The AWS endpoint: the local emulator's, as `caseline dev` prints it.")
]


def parquet_lake(aws: AwsClients, tenant: str, account_id: str) -> "ParquetLake":
    bucket = TenantResourceNames(tenant_id=tenant).bucket(LAKE_BUCKET, account_id)
    lake: ParquetLake = load_service("insight").module("chalicelib.adapters.parquet_lake").ParquetLake(aws.s3(), bucket)
    return lake


def lake_writer(aws: AwsClients, tenant: str, account_id: str) -> "LakeWriter":
    insight = load_service("insight")
    names = TenantResourceNames(tenant_id=tenant)
    lake = parquet_lake(aws, tenant, account_id)
    adapters, table = insight.module("chalicelib.adapters.dynamo_insight"), names.table(INSIGHT_TABLE)
    readers = adapters.DynamoTemplateReaders(aws.dynamodb(), table)
    states = adapters.DynamoCaseStates(aws.dynamodb(), table)
    writer: LakeWriter = insight.module("chalicelib.lake_service").LakeWriter(lake, readers, states)
    return writer


def backfill(source: TimelineSource, writer: "LakeWriter", advance: Callable[[], Any]) -> "Rebuilt":
    """Writes the lake's rows of every link `source` holds, then the readers of the templates they follow."""

    def counted() -> Iterator[Link]:
        for link in source.links():
            yield link
            advance()

    rebuilt = writer.rebuild(counted())
    for key in sorted(rebuilt.templates):
        newest = source.newest_template(key)
        if newest is not None:
            writer.keep_template(key, *newest)
    return rebuilt


@insight_app.command("backfill")
def backfill_command(
    tenant: Annotated[str, typer.Option(help="The tenant whose lake is built.")] = "demo",
    endpoint_url: EndpointOption = None,
    region: Annotated[str, typer.Option(help="The AWS region.")] = "us-east-1",
) -> None:
    """Write every event of the tenant's timelines into its event lake, with a progress bar; safe to run again."""
    aws = AwsClients(region, endpoint_url)
    account_id = str(aws.sts().get_caller_identity()["Account"])
    source = TimelineSource(aws.dynamodb(), TenantResourceNames(tenant_id=tenant).table(TIMELINE_TABLE))
    writer = lake_writer(aws, tenant, account_id)
    columns = (TextColumn("Writing events"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        # DynamoDB's count of the feed's links is refreshed about every six hours: the bar's end is an estimate.
        task = progress.add_task("links", total=source.approximate_links() or None)
        rebuilt = backfill(source, writer, lambda: progress.advance(task))
    console.print(f"[green]Wrote {rebuilt.rows} events of tenant {tenant} into its lake.[/green]")
    if rebuilt.incomplete_cases:
        console.print(
            f"[yellow]{rebuilt.incomplete_cases} cases miss a link in their timeline's feed: their later events "
            "were left out. Run it again once their appends have finished.[/yellow]"
        )


@insight_app.command("compact")
def compact_command(
    tenant: Annotated[str, typer.Option(help="The tenant whose lake is compacted.")] = "demo",
    all_days: Annotated[
        bool, typer.Option("--all", help="Every day of the lake, not only the last 15 (after a backfill).")
    ] = False,
    endpoint_url: EndpointOption = None,
    region: Annotated[str, typer.Option(help="The AWS region.")] = "us-east-1",
) -> None:
    """Merge each day's objects of the tenant's lake into one, each event once; safe to run at any time."""
    aws = AwsClients(region, endpoint_url)
    account_id = str(aws.sts().get_caller_identity()["Account"])
    compactor: LakeCompactor = (
        load_service("insight")
        .module("chalicelib.compaction_service")
        .LakeCompactor(parquet_lake(aws, tenant, account_id), clock=utc_now)
    )
    with console.status("Merging the lake's objects"):
        compacted = compactor.compact_all() if all_days else compactor.compact_recent()
    merged = sum(day.merged for day in compacted)
    console.print(
        f"[green]Merged {merged} objects of tenant {tenant}'s lake into {len(compacted)} (a day each).[/green]"
    )
