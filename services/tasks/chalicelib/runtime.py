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
    from .notification_service import NotificationService
    from .people_service import PeopleService, UserDirectory
    from .service import InboxService


class TasksSettings(ServiceSettings):
    tasks_table: str = Field(min_length=3)
    people_table: str = Field(min_length=3)
    notifications_table: str = Field(min_length=3)
    mail_from: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", description="The sender of notification e-mails.")
    # The tenant's Cognito user pool, which the people directory is refreshed from (an id Cognito gives, not a name).
    user_pool_id: str = Field(min_length=3)


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


@deferred
def _people() -> "tuple[Callable[[], PeopleService], Callable[[], UserDirectory]]":
    from .adapters.cognito_people import CognitoDirectory
    from .adapters.dynamo_people import DynamoPeople
    from .people_service import PeopleService

    def service() -> PeopleService:
        return PeopleService(DynamoPeople(runtime.aws.dynamodb(), runtime.settings.people_table))

    def directory() -> CognitoDirectory:
        return CognitoDirectory(runtime.aws.cognito_idp(), runtime.settings.user_pool_id)

    return service, directory


@cache
def people_service() -> "PeopleService":
    return _people()[0]()


@cache
def user_directory() -> "UserDirectory":
    return _people()[1]()


@deferred
def _notification_service() -> "Callable[[], NotificationService]":
    from caseline_common.adapters.ses_mail import SesMailer

    from .adapters.dynamo_inbox import DynamoTaskInbox
    from .adapters.dynamo_notifications import DynamoNotifications
    from .adapters.dynamo_people import DynamoPeople
    from .notification_service import NotificationService

    def build() -> NotificationService:
        settings = runtime.settings
        return NotificationService(
            DynamoNotifications(runtime.aws.dynamodb(), settings.notifications_table, clock=utc_now),
            DynamoPeople(runtime.aws.dynamodb(), settings.people_table),
            DynamoTaskInbox(runtime.aws.dynamodb(), settings.tasks_table),
            lambda: SesMailer(runtime.aws.ses(), settings.mail_from),
            console_url=settings.console_origin,
        )

    return build


@cache
def notification_service() -> "NotificationService":
    return _notification_service()()
