"""The tasks service's event functions, as Chalice declares them: the inbox's consumer, the notifications' consumer,
the people directory's refresh and the API's request authorizer; what they do is in handlers.py and authorizer.py,
imported at a function's first event in Lambda (coldstart.deferred), so the API function does not load it."""

from collections.abc import Callable
from typing import Any

from caseline_common.coldstart import deferred
from chalice.app import Blueprint

events = Blueprint(__name__)


@deferred
def _tasks_consumer() -> Callable[[dict[str, Any], Any], Any]:
    from .handlers import tasks_consumer

    return tasks_consumer


@events.lambda_function(name="tasks_consumer")
def tasks_consumer(event: dict[str, Any], context: Any) -> Any:
    return _tasks_consumer()(event, context)


@deferred
def _sync_people() -> Callable[[dict[str, Any], Any], Any]:
    from .handlers import sync_people

    return sync_people


@events.lambda_function(name="sync_people")
def sync_people(event: dict[str, Any], context: Any) -> Any:
    return _sync_people()(event, context)


@deferred
def _api_authorizer() -> Callable[[dict[str, Any], Any], Any]:
    from .authorizer import api_authorizer

    return api_authorizer


@events.lambda_function(name="api_authorizer")
def api_authorizer(event: dict[str, Any], context: Any) -> Any:
    return _api_authorizer()(event, context)


@deferred
def _notify_consumer() -> Callable[[dict[str, Any], Any], Any]:
    from .handlers import notify_consumer

    return notify_consumer


@events.lambda_function(name="notify_consumer")
def notify_consumer(event: dict[str, Any], context: Any) -> Any:
    return _notify_consumer()(event, context)
