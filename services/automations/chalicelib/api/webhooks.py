"""HTTP routes for webhook subscriptions and their deliveries."""

from caseline_common.http import LOCATION, Call, Reply
from caseline_common.pagination import Page, PageQuery
from caseline_common.scopes import Scope
from pydantic import Field

from ..domain.webhooks import CreateWebhookRequest, Delivery, DeliveryStatus, RotatedSecret, Webhook, WebhookCreated
from ..runtime import webhook_service
from . import http

_ULID = r"^[0-9A-HJKMNP-TV-Z]{26}$"


class DeliveryQuery(PageQuery):
    status: DeliveryStatus | None = None


class DeadLetterQuery(PageQuery):
    webhook_id: str | None = Field(default=None, pattern=_ULID, description="Only this webhook's dead letters.")


@http.operation(
    "POST",
    "/webhooks",
    scope=Scope.WEBHOOKS_ADMIN,
    summary="Subscribe an endpoint to events; the answer shows its signing secret, once",
    request=CreateWebhookRequest,
    response=WebhookCreated,
    status=201,
    idempotent_create=True,
    errors=(413, 415, 422),
    response_headers=(LOCATION,),
)
def create_webhook(call: Call) -> Reply:
    created = webhook_service().create(call.tenant(), call.body_as(CreateWebhookRequest), call.idempotency_key)
    location = {"Location": f"/webhooks/{created.resource.id}"}
    return Reply(created.resource, status=201, headers=location, replayed=created.replayed)


@http.operation(
    "GET",
    "/webhooks",
    scope=Scope.WEBHOOKS_ADMIN,
    summary="List webhook subscriptions",
    query=PageQuery,
    response=Page[Webhook],
    errors=(422,),
)
def list_webhooks(call: Call) -> Reply:
    query = call.query_as(PageQuery)
    return Reply(webhook_service().list(call.tenant(), limit=query.limit, cursor=query.cursor))


@http.operation(
    "GET",
    "/webhooks/dead-letters",
    scope=Scope.WEBHOOKS_ADMIN,
    summary="Deliveries that ran out of attempts, most recently dead first",
    query=DeadLetterQuery,
    response=Page[Delivery],
    errors=(404, 422),
)
def list_dead_letters(call: Call) -> Reply:
    query = call.query_as(DeadLetterQuery)
    return Reply(
        webhook_service().dead_letters(
            call.tenant(), webhook_id=query.webhook_id, limit=query.limit, cursor=query.cursor
        )
    )


@http.operation(
    "GET",
    "/webhooks/{webhook_id}",
    scope=Scope.WEBHOOKS_ADMIN,
    summary="One webhook subscription",
    response=Webhook,
    errors=(404,),
)
def get_webhook(call: Call) -> Reply:
    return Reply(webhook_service().get(call.tenant(), call.path["webhook_id"]))


@http.operation(
    "DELETE",
    "/webhooks/{webhook_id}",
    scope=Scope.WEBHOOKS_ADMIN,
    summary="Unsubscribe, removing the delivery log",
    status=204,
    errors=(404,),
)
def delete_webhook(call: Call) -> Reply:
    webhook_service().delete(call.tenant(), call.path["webhook_id"])
    return Reply(None, status=204)


@http.operation(
    "POST",
    "/webhooks/{webhook_id}/secret",
    scope=Scope.WEBHOOKS_ADMIN,
    summary="Rotate the signing secret; the previous one keeps signing alongside for 24 hours",
    response=RotatedSecret,
    idempotent_create=True,
    errors=(404, 409),
)
def rotate_webhook_secret(call: Call) -> Reply:
    rotated = webhook_service().rotate_secret(call.tenant(), call.path["webhook_id"], call.idempotency_key)
    return Reply(rotated.resource, replayed=rotated.replayed)


@http.operation(
    "GET",
    "/webhooks/{webhook_id}/deliveries",
    scope=Scope.WEBHOOKS_ADMIN,
    summary="The delivery log of a webhook, newest first",
    query=DeliveryQuery,
    response=Page[Delivery],
    errors=(404, 422),
)
def list_webhook_deliveries(call: Call) -> Reply:
    query = call.query_as(DeliveryQuery)
    return Reply(
        webhook_service().deliveries(
            call.tenant(), call.path["webhook_id"], status=query.status, limit=query.limit, cursor=query.cursor
        )
    )


@http.operation(
    "POST",
    "/webhooks/{webhook_id}/deliveries/{delivery_id}/replay",
    scope=Scope.WEBHOOKS_ADMIN,
    summary="Send a dead delivery again, with a fresh round of attempts starting now",
    response=Delivery,
    status=202,
    idempotent_create=True,
    errors=(404, 409),
)
def replay_webhook_delivery(call: Call) -> Reply:
    delivery = webhook_service().replay(
        call.tenant(), call.path["webhook_id"], call.path["delivery_id"], call.idempotency_key
    )
    return Reply(delivery.resource, status=202, replayed=delivery.replayed)
