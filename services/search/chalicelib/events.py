"""The search service's event function, as Chalice declares it; what it does is in handlers.py, imported at the
function's first event in Lambda (coldstart.deferred), so the API function does not load it."""

from collections.abc import Callable
from typing import Any

from caseline_common.coldstart import deferred
from chalice.app import Blueprint

events = Blueprint(__name__)


@deferred
def _search_indexer() -> Callable[[dict[str, Any], Any], Any]:
    from .handlers import search_indexer

    return search_indexer


@events.lambda_function(name="search_indexer")
def search_indexer(event: dict[str, Any], context: Any) -> Any:
    return _search_indexer()(event, context)
