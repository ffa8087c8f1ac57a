"""The automations service's event functions, as Chalice declares them; what each does is in handlers.py,
imported at the function's first event in Lambda (coldstart.deferred), so no other function of the service loads
it, nor the use cases and models it needs."""

from collections.abc import Callable
from typing import Any

from caseline_common.coldstart import deferred
from chalice.app import Blueprint

events = Blueprint(__name__)


@deferred
def _automations_consumer() -> Callable[[dict[str, Any], Any], Any]:
    from .handlers import automations_consumer

    return automations_consumer


@events.lambda_function(name="automations_consumer")
def automations_consumer(event: dict[str, Any], context: Any) -> Any:
    return _automations_consumer()(event, context)


@deferred
def _deliver_webhooks() -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    from .handlers import deliver_webhooks

    return deliver_webhooks


@events.lambda_function(name="deliver_webhooks")
def deliver_webhooks(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _deliver_webhooks()(event, context)


@deferred
def _run_due_work() -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    from .handlers import run_due_work

    return run_due_work


@events.lambda_function(name="run_due_work")
def run_due_work(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _run_due_work()(event, context)
