"""The cases service's event functions, as Chalice declares them; what each does is in handlers.py,
imported at the function's first event in Lambda (coldstart.deferred), so no other function of the service loads
it, nor the use cases and models it needs."""

from collections.abc import Callable
from typing import Any

from caseline_common.coldstart import deferred
from chalice.app import Blueprint

events = Blueprint(__name__)


@deferred
def _publish_outbox() -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    from .handlers import publish_outbox

    return publish_outbox


@events.lambda_function(name="outbox_publisher")
def publish_outbox(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _publish_outbox()(event, context)


@deferred
def _case_commands() -> Callable[[dict[str, Any], Any], Any]:
    from .handlers import case_commands

    return case_commands


@events.lambda_function(name="case_commands")
def case_commands(event: dict[str, Any], context: Any) -> Any:
    return _case_commands()(event, context)
