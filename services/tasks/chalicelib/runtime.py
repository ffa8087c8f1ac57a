"""Composition root of the tasks service, built once per cold start.

The adapters and use cases are imported where they are first needed, in Lambda (coldstart.deferred): the handler
module's import only declares routes and the event function, and a function loads what it serves."""

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING

from caseline_common.coldstart import deferred
from caseline_common.envelope import utc_now
from caseline_common.runtime import ServiceRuntime
from caseline_common.settings import ServiceSettings
from pydantic import Field

if TYPE_CHECKING:
    from .service import InboxService


class TasksSettings(ServiceSettings):
    tasks_table: str = Field(min_length=3)


runtime = ServiceRuntime("tasks", TasksSettings)


@deferred
def _inbox_service() -> "Callable[[], InboxService]":
    from .adapters.dynamo_inbox import DynamoTaskInbox
    from .service import InboxService

    def build() -> InboxService:
        return InboxService(DynamoTaskInbox(runtime.aws.dynamodb(), runtime.settings.tasks_table), clock=utc_now)

    return build


@cache
def inbox_service() -> "InboxService":
    return _inbox_service()()
