"""The portal service's event functions, as Chalice declares them; what each does is in handlers.py,
imported at the function's first event in Lambda (coldstart.deferred), so no other function of the service loads
it, nor the use cases and models it needs."""

from collections.abc import Callable
from typing import Any

from caseline_common.coldstart import deferred
from chalice.app import Blueprint

events = Blueprint(__name__)


@deferred
def _portal_consumer() -> Callable[[dict[str, Any], Any], Any]:
    from .handlers import portal_consumer

    return portal_consumer


@events.lambda_function(name="portal_consumer")
def portal_consumer(event: dict[str, Any], context: Any) -> Any:
    return _portal_consumer()(event, context)
