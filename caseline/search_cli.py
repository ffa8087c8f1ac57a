"""`caseline search reindex`: rebuild a tenant's search index from its cases table.

It empties the engine, then feeds every published template, and every case with its comments (a page of 100 at a
time, most recently changed first), through the search service's own indexing code, the code the bus events run:
a rebuilt index is the one the indexer would have built, and running it twice gives the same index. Erasures kept
in the search table still apply. Locally it talks to the emulator `caseline dev` prints and writes the embedded
engine's directory; in AWS (credentials for the tenant's account, no endpoint) to the OpenSearch endpoint given
with --engine, which is how the one-off rebuild task runs it too.
"""

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any

import typer
from caseline_common.aws import AwsClients
from caseline_common.resources import CASES_TABLE, SEARCH_ENGINE_ENV_VAR, SEARCH_TABLE, TenantResourceNames
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from .case_source import CaseSource
from .local.loader import LoadedService, load_service
from .paths import STATE_DIR

if TYPE_CHECKING:
    from services.search.chalicelib.service import IndexingService

search_app = typer.Typer(help="Case search: rebuild a tenant's index.", no_args_is_help=True)
console = Console()


@cache
def _search_service() -> LoadedService:
    return load_service("search")


def reindex(source: CaseSource, indexing: "IndexingService", advance: Callable[[int], Any]) -> int:
    """Rebuilds the index from `source`; `advance` is told how many cases each page held. Returns how many cases
    were indexed."""
    indexing.clear()
    for key, version, definition in source.templates():
        indexing.keep_template(key, version, definition)
    search = _search_service().module("chalicelib.domain.search")
    indexed = 0
    for page in source.cases():
        batch = [
            (
                case,
                [
                    search.SearchComment(
                        id=comment.id,
                        body=comment.body,
                        external=comment.external,
                        author=comment.author,
                        at=comment.created_at,
                    )
                    for comment in source.comments(case.id)
                ],
            )
            for case in page
        ]
        indexed += indexing.rebuild(batch)
        advance(len(page))
    return indexed


def _indexing(aws: AwsClients, tenant: str, engine_location: str) -> "IndexingService":
    search = _search_service()
    sources = search.module("chalicelib.adapters.dynamo_sources").DynamoSearchSources(
        aws.dynamodb(), TenantResourceNames(tenant_id=tenant).table(SEARCH_TABLE)
    )
    if engine_location.startswith("file://"):
        engine = search.module("chalicelib.adapters.tantivy_engine").TantivyEngine(
            engine_location.removeprefix("file://")
        )
    else:
        engine = search.module("chalicelib.adapters.opensearch_engine").OpenSearchEngine.signed(
            engine_location, region=aws.region, tenant_id=tenant
        )
    indexing: IndexingService = search.module("chalicelib.service").IndexingService(sources, engine)
    return indexing


@search_app.command("reindex")
def reindex_command(
    tenant: Annotated[str, typer.Option(help="The tenant whose index is rebuilt.")] = "demo",
    endpoint_url: Annotated[
        str | None, typer.Option(help="The AWS endpoint: the local emulator's, as `caseline dev` prints it.")
    ] = None,
    region: Annotated[str, typer.Option(help="The AWS region.")] = "us-east-1",
    engine: Annotated[
        str | None,
        typer.Option(
            envvar=SEARCH_ENGINE_ENV_VAR,
            help="file://<directory> (the embedded engine) or https://<OpenSearch endpoint>; "
            "by default the local stack's directory for the tenant.",
        ),
    ] = None,
) -> None:
    """Empty the tenant's search index and rebuild it from the cases table, with a progress bar."""
    aws = AwsClients(region, endpoint_url)
    source = CaseSource(aws.dynamodb(), TenantResourceNames(tenant_id=tenant).table(CASES_TABLE))
    indexing = _indexing(aws, tenant, engine or f"file://{STATE_DIR / 'search' / tenant}")
    columns = (TextColumn("Indexing cases"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("cases", total=source.count())
        indexed = reindex(source, indexing, lambda done: progress.advance(task, done))
    console.print(f"[green]Indexed {indexed} cases of tenant {tenant}.[/green]")
