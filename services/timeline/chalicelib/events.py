"""The timeline service's event functions, as Chalice declares them; what each does is in handlers.py,
imported at the function's first event in Lambda (coldstart.deferred), so no other function of the service loads
it, nor the use cases and models it needs."""

from collections.abc import Callable
from typing import Any

from caseline_common.coldstart import deferred
from chalice.app import Blueprint

events = Blueprint(__name__)


@deferred
def _timeline_consumer() -> Callable[[dict[str, Any], Any], Any]:
    from .handlers import timeline_consumer

    return timeline_consumer


@events.lambda_function(name="timeline_consumer")
def timeline_consumer(event: dict[str, Any], context: Any) -> Any:
    return _timeline_consumer()(event, context)


@deferred
def _anchor_heads() -> Callable[[dict[str, Any], Any], dict[str, int]]:
    from .handlers import anchor_heads

    return anchor_heads


@events.lambda_function(name="anchor_heads")
def anchor_heads(event: dict[str, Any], context: Any) -> dict[str, int]:
    return _anchor_heads()(event, context)
