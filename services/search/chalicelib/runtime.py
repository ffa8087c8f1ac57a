"""Composition root of the search service, built once per cold start.

The search engine behind the `SearchEngine` port is chosen by the scheme of `search_engine`: `file://` is the
embedded engine (tantivy, on the local disk: `make dev` and the tests), `https://` an Amazon OpenSearch endpoint
signed with the function's role (AWS). The adapters and use cases are imported where they are first needed."""

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING

from caseline_common.coldstart import deferred
from caseline_common.envelope import new_id, utc_now
from caseline_common.runtime import ServiceRuntime
from caseline_common.settings import ServiceSettings
from pydantic import Field

if TYPE_CHECKING:
    from .adapters.opensearch_engine import OpenSearchEngine
    from .adapters.tantivy_engine import TantivyEngine
    from .ports import SearchEngine
    from .service import IndexingService, SearchService
    from .view_service import ViewService


class SearchSettings(ServiceSettings):
    search_table: str = Field(min_length=3)
    search_engine: str = Field(
        pattern=r"^(file://|https://)\S+$",
        description="The engine: file://<directory> for the embedded engine, https://<endpoint> for OpenSearch.",
    )


runtime = ServiceRuntime("search", SearchSettings)


# One loader per engine, so that a Lambda function imports only OpenSearch's client (tantivy is not packaged).
@deferred
def _tantivy_engine() -> "type[TantivyEngine]":
    from .adapters.tantivy_engine import TantivyEngine

    return TantivyEngine


@deferred
def _opensearch_engine() -> "type[OpenSearchEngine]":
    from .adapters.opensearch_engine import OpenSearchEngine

    return OpenSearchEngine


@deferred
def _indexing_service() -> "Callable[[], IndexingService]":
    from .adapters.dynamo_sources import DynamoSearchSources
    from .service import IndexingService

    return lambda: IndexingService(DynamoSearchSources(runtime.aws.dynamodb(), runtime.settings.search_table), engine())


@deferred
def _search_service() -> "Callable[[], SearchService]":
    from .service import SearchService

    return lambda: SearchService(engine())


@deferred
def _view_service() -> "Callable[[], ViewService]":
    from .adapters.dynamo_views import DynamoViews
    from .view_service import ViewService

    return lambda: ViewService(
        DynamoViews(runtime.aws.dynamodb(), runtime.settings.search_table), clock=utc_now, new_id=new_id
    )


@cache
def engine() -> "SearchEngine":
    location = runtime.settings.search_engine
    if location.startswith("file://"):
        return _tantivy_engine()(location.removeprefix("file://"))
    return _opensearch_engine().signed(
        location, region=runtime.settings.aws_region, tenant_id=runtime.settings.tenant_id
    )


@cache
def indexing_service() -> "IndexingService":
    return _indexing_service()()


@cache
def search_service() -> "SearchService":
    return _search_service()()


@cache
def view_service() -> "ViewService":
    return _view_service()()
