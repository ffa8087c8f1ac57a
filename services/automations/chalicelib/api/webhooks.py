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
    """Subscribes an HTTPS endpoint to events about cases: the types it names (`case.opened`, or a family such as
    `case.*`), or every type when `event_types` is empty. Each delivery is a POST signed per Standard Webhooks
    (`webhook-id`, `webhook-timestamp`, `webhook-signature`) whose body is `{"type", "timestamp", "data"}`, `data`
    being the whole event, personal data included (events of the cases service also carry `case`, the case as it
    stood right after). A delivery not answered 2xx within 5 s is retried after 10 s, 1 min, 5 min, 30 min, 2 h and
    8 h, then is dead (`GET /webhooks/dead-letters`).

    **Who:** `caseline-admins` only (others get 403). The answer shows the signing `secret` this once; `Location`
    names the subscription. With an `Idempotency-Key`, a retry answers the same subscription and secret.

    **Errors:** 422 when the URL is not `https://`, carries credentials, or points at a private, loopback or reserved
    address, or when an event type is malformed.
    """
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
    """The tenant's webhook subscriptions, oldest first, without their secrets (a rotation in progress shows as
    `previous_secret_expires_at`).

    **Who:** `caseline-admins` only (others get 403). Changes nothing.

    **Errors:** 422 for an invalid `limit`; 400 for a cursor of another query.
    """
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
    """Deliveries that failed every attempt, most recently dead first, of every subscription or, with `webhook_id`,
    of one. Each holds the exact payload sent and every attempt (status code or error, duration). Send one again
    with `POST /webhooks/{webhook_id}/deliveries/{delivery_id}/replay`; finished deliveries are kept 30 days.

    **Who:** `caseline-admins` only (others get 403): a payload holds the whole event, personal data included.
    Changes nothing.

    **Errors:** 404 when `webhook_id` names no subscription; 422 for invalid parameters; 400 for a cursor of another
    query.
    """
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
    """One webhook subscription: its URL, event types and description, who created it and when, never its secrets.

    **Who:** `caseline-admins` only (others get 403). Changes nothing.

    **Errors:** 404 when no subscription has this id.
    """
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
    """Unsubscribes: no event is delivered to the endpoint from now on, and the subscription's delivery log, dead
    letters included, is removed with it. A delivery already in flight may still arrive once.

    **Who:** `caseline-admins` only (others get 403).

    **Errors:** 404 when no subscription has this id (deleted already, say).
    """
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
    """Gives the subscription a new signing secret, shown in the answer this once. For 24 hours deliveries carry two
    signatures in `webhook-signature`, one made with each secret, so receivers can switch to the new one without
    missing a delivery; then only the new one signs.

    **Who:** `caseline-admins` only (others get 403). With an `Idempotency-Key`, a retry answers the same new secret.

    **Errors:** 404 when no subscription has this id; 409 when it changed at the same moment (another rotation):
    retry.
    """
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
    """The delivery log of one subscription, newest first, optionally of one `status` (`pending`, `succeeded`,
    `dead`): the event each delivery carries, the exact payload sent, every attempt with the receiver's status code
    or the error, and when the next attempt is due. Finished deliveries are kept 30 days.

    **Who:** `caseline-admins` only (others get 403): a payload holds the whole event, personal data included.
    Changes nothing.

    **Errors:** 404 when no subscription has this id; 422 for invalid parameters; 400 for a cursor of another query.
    """
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
    """Sends a dead delivery again: it goes back to `pending` with a fresh round of attempts, the first due now
    (the scheduled sweep sends it, within a minute), with the same `webhook-id`, so receivers that already processed
    it can drop it. Earlier attempts stay in the log.

    **Who:** `caseline-admins` only (others get 403). With an `Idempotency-Key`, a retry answers the delivery as
    first requeued.

    **Errors:** 404 when the subscription or the delivery does not exist; 409 when the delivery is not dead (pending
    or succeeded) or changed at the same moment.
    """
    delivery = webhook_service().replay(
        call.tenant(), call.path["webhook_id"], call.path["delivery_id"], call.idempotency_key
    )
    return Reply(delivery.resource, status=202, replayed=delivery.replayed)
