"""Composition root of the automations service, built once per cold start.

Each factory's adapters and use cases are imported where it is first called, in Lambda (coldstart.deferred): the
handler module's import only declares routes and event functions, and a function loads what it serves."""

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING

from caseline_common.coldstart import deferred
from caseline_common.envelope import new_id, utc_now
from caseline_common.runtime import ServiceRuntime
from caseline_common.settings import ServiceSettings
from pydantic import Field

if TYPE_CHECKING:
    from .service import AutomationsService
    from .webhook_service import WebhookService


class AutomationsSettings(ServiceSettings):
    automations_table: str = Field(min_length=3)
    mail_from: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", description="The sender of rule e-mails.")
    automation_max_depth: int = Field(
        default=5, ge=1, le=20, description="How many rules may follow one another before the chain stops."
    )
    webhook_queue: str = Field(min_length=3, description="The queue of webhook deliveries' first attempts.")
    allow_insecure_webhooks: bool = Field(
        default=False, description="Accept http:// webhook URLs on loopback addresses (the local stack only)."
    )


runtime = ServiceRuntime("automations", AutomationsSettings)


@deferred
def _webhook_service() -> "Callable[[], WebhookService]":
    from .adapters.dynamo_webhooks import DynamoWebhookStore
    from .adapters.http_webhooks import UrllibWebhookSender
    from .adapters.sqs_deliveries import SqsDeliveryQueue
    from .webhook_service import WebhookService

    def build() -> WebhookService:
        settings = runtime.settings
        return WebhookService(
            DynamoWebhookStore(runtime.aws.dynamodb(), settings.automations_table),
            UrllibWebhookSender(allow_loopback=settings.allow_insecure_webhooks),
            SqsDeliveryQueue(runtime.aws.sqs(), settings.webhook_queue),
            clock=utc_now,
            new_id=new_id,
            allow_insecure_urls=settings.allow_insecure_webhooks,
        )

    return build


@deferred
def _automations_service() -> "Callable[[], AutomationsService]":
    from caseline_common.adapters.ses_mail import SesMailer
    from caseline_common.freshness import CaseArrival

    from .adapters.dynamo_automations import DynamoAutomationsStore
    from .adapters.eventbridge_events import EventBridgeBus
    from .service import AutomationsService

    def build() -> AutomationsService:
        settings = runtime.settings
        return AutomationsService(
            DynamoAutomationsStore(runtime.aws.dynamodb(), settings.automations_table),
            EventBridgeBus(runtime.aws.events(), settings.event_bus_name),
            SesMailer(runtime.aws.ses(), settings.mail_from),
            webhook_service(),
            tenant_id=settings.tenant_id,
            max_depth=settings.automation_max_depth,
            clock=utc_now,
            arrival=CaseArrival(clock=utc_now),
        )

    return build


@cache
def webhook_service() -> "WebhookService":
    return _webhook_service()()


@cache
def automations_service() -> "AutomationsService":
    return _automations_service()()
