"""The insight service's event functions, as Chalice declares them; what each does is in handlers.py, imported at
the function's first event in Lambda (coldstart.deferred), so the API function does not load it."""

from collections.abc import Callable
from typing import Any

from caseline_common.coldstart import deferred
from chalice.app import Blueprint

events = Blueprint(__name__)


@deferred
def _lake_writer() -> Callable[[dict[str, Any], Any], Any]:
    from .handlers import lake_writer

    return lake_writer


@events.lambda_function(name="lake_writer")
def lake_writer(event: dict[str, Any], context: Any) -> Any:
    return _lake_writer()(event, context)


@deferred
def _compact_lake() -> Callable[[dict[str, Any], Any], dict[str, int]]:
    from .handlers import compact_lake

    return compact_lake


@events.lambda_function(name="compact_lake")
def compact_lake(event: dict[str, Any], context: Any) -> dict[str, int]:
    return _compact_lake()(event, context)
