"""Use cases of webhooks: subscriptions managed by tenant admins, and deliveries with retries.

A delivery is attempted by whoever claims it: a conditional write on its revision moves its due time a
lease ahead, so two sweeps (or a sweep and the consumer) never send the same attempt twice, and a
delivery that succeeded is never sent again.
"""

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from caseline_common.envelope import EventEnvelope, derived_id
from caseline_common.errors import ConflictError, ForbiddenError, NotFoundError
from caseline_common.idempotency import Answer, Claim, KeyClaimedError, replay_of
from caseline_common.pagination import Page
from caseline_common.tenant import StaffRole, TenantContext
from pydantic import BaseModel

from .domain.webhooks import (
    Attempt,
    CreateWebhookRequest,
    Delivery,
    DeliveryStatus,
    RotatedSecret,
    Subscription,
    Webhook,
    WebhookCreated,
    check_url,
    new_secret,
    signed_headers,
)

# Longer than a send can take (the sender gives up after 5 s), so a claim only lapses if its holder died.
CLAIM_LEASE = timedelta(minutes=2)
# After a receiver fails, its next deliveries wait this long for the sweep instead of being tried inline, so
# one receiver that is down (each try may take the sender's whole timeout) does not slow every rule's batch.
QUIET_AFTER_FAILURE = timedelta(seconds=10)
SWEEP_LIMIT = 50
_SUBSCRIPTION_PAGE = 100
ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass(frozen=True)
class SendResult:
    status_code: int | None
    error: str | None
    duration_ms: int


class WebhookSender(Protocol):
    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> SendResult:
        """Never raises for network errors: they come back as `error`."""
        ...


class WebhookStore(Protocol):
    """A write that takes a claim writes it in the same transaction, or raises KeyClaimedError and writes nothing
    when an unexpired claim holds its scope."""

    def create_subscription(self, subscription: Subscription, claim: Claim | None) -> None: ...

    def save_subscription(
        self, subscription: Subscription, *, expected_revision: int, claim: Claim | None = None
    ) -> bool:
        """False when the stored revision is not `expected_revision`."""
        ...

    def claim(self, scope: str) -> Claim | None: ...

    def get_subscription(self, subscription_id: str) -> Subscription | None: ...

    def list_subscriptions(self, *, limit: int, cursor: str | None) -> Page[Subscription]: ...

    def delete_subscription(self, subscription_id: str) -> bool:
        """Deletes the subscription and its deliveries; False when it did not exist."""
        ...

    def create_delivery(self, delivery: Delivery) -> bool:
        """False when a delivery with its id exists already."""
        ...

    def save_delivery(self, delivery: Delivery, *, expected_revision: int, claim: Claim | None = None) -> bool:
        """False when the stored revision is not `expected_revision` (or the delivery is gone)."""
        ...

    def remove_delivery(self, delivery: Delivery) -> None: ...

    def get_delivery(self, subscription_id: str, delivery_id: str) -> Delivery | None: ...

    def list_deliveries(
        self, subscription_id: str, *, status: DeliveryStatus | None, limit: int, cursor: str | None
    ) -> Page[Delivery]: ...

    def dead_deliveries(self, *, limit: int, cursor: str | None) -> Page[Delivery]: ...

    def due_deliveries(self, now: datetime, *, limit: int) -> list[Delivery]: ...


class WebhookService:
    def __init__(
        self,
        store: WebhookStore,
        sender: WebhookSender,
        *,
        clock: Callable[[], datetime],
        new_id: Callable[[], str],
        allow_insecure_urls: bool,
    ) -> None:
        self._store = store
        self._sender = sender
        self._clock = clock
        self._new_id = new_id
        self._allow_insecure_urls = allow_insecure_urls
        self._quiet_until: dict[str, datetime] = {}  # subscription id → until when not to try it inline

    # management, for tenant admins

    def _replayed(self, claim: Claim | None, model: type[ModelT]) -> Answer[ModelT] | None:
        """An earlier request's answer to this one's Idempotency-Key, read before anything else is checked."""
        return replay_of(claim, self._store.claim(claim.scope) if claim else None, model)

    def create(
        self, context: TenantContext, request: CreateWebhookRequest, idempotency_key: str | None = None
    ) -> Answer[WebhookCreated]:
        _require_admin(context)
        claim = Claim.of(context, "create_webhook", idempotency_key, request, self._clock())
        replayed = self._replayed(claim, WebhookCreated)
        if replayed is not None:
            return replayed
        check_url(request.url, allow_insecure=self._allow_insecure_urls)
        now = self._clock()
        subscription = Subscription(
            id=self._new_id(),
            url=request.url,
            event_types=sorted(set(request.event_types)),
            description=request.description,
            created_at=now,
            created_by=context.principal.subject,
            secret=new_secret(),
        )
        created = WebhookCreated(**subscription.view(now).model_dump(), secret=subscription.secret)
        try:  # the secret is in the claim as it is in the subscription: both are in this table
            self._store.create_subscription(subscription, claim and claim.answering(created))
        except KeyClaimedError as taken:
            return taken.replay(WebhookCreated)
        return Answer(created)

    def get(self, context: TenantContext, webhook_id: str) -> Webhook:
        _require_admin(context)
        return self._subscription(webhook_id).view(self._clock())

    def delete(self, context: TenantContext, webhook_id: str) -> None:
        _require_admin(context)
        if not self._store.delete_subscription(webhook_id):
            raise NotFoundError(f"No webhook {webhook_id}.")

    def rotate_secret(
        self, context: TenantContext, webhook_id: str, idempotency_key: str | None = None
    ) -> Answer[RotatedSecret]:
        _require_admin(context)
        now = self._clock()
        claim = Claim.of(context, f"rotate_secret#{webhook_id}", idempotency_key, None, now)
        replayed = self._replayed(claim, RotatedSecret)
        if replayed is not None:
            return replayed
        subscription = self._subscription(webhook_id)
        rotated = subscription.rotated(new_secret(), now)
        assert rotated.previous_secret is not None
        answer = RotatedSecret(
            webhook_id=webhook_id, secret=rotated.secret, previous_secret_expires_at=rotated.previous_secret.expires_at
        )
        try:
            saved = self._store.save_subscription(
                rotated, expected_revision=subscription.revision, claim=claim and claim.answering(answer)
            )
        except KeyClaimedError as taken:
            return taken.replay(RotatedSecret)
        if not saved:
            raise ConflictError("The webhook changed at the same moment (another rotation?); retry.")
        return Answer(answer)

    def deliveries(
        self,
        context: TenantContext,
        webhook_id: str,
        *,
        status: DeliveryStatus | None = None,
        limit: int = 25,
        cursor: str | None = None,
    ) -> Page[Delivery]:
        """The delivery log of one subscription, newest first."""
        _require_admin(context)
        self._subscription(webhook_id)
        return self._store.list_deliveries(webhook_id, status=status, limit=limit, cursor=cursor)

    def dead_letters(
        self, context: TenantContext, *, webhook_id: str | None = None, limit: int = 25, cursor: str | None = None
    ) -> Page[Delivery]:
        """Deliveries that ran out of attempts, of one subscription or of all, most recently dead first."""
        if webhook_id is not None:
            return self.deliveries(context, webhook_id, status=DeliveryStatus.DEAD, limit=limit, cursor=cursor)
        _require_admin(context)
        return self._store.dead_deliveries(limit=limit, cursor=cursor)

    def replay(
        self, context: TenantContext, webhook_id: str, delivery_id: str, idempotency_key: str | None = None
    ) -> Answer[Delivery]:
        """A dead delivery goes back to pending, due now, with a fresh round of attempts; the sweep sends it."""
        _require_admin(context)
        claim = Claim.of(context, f"replay#{webhook_id}#{delivery_id}", idempotency_key, None, self._clock())
        replayed = self._replayed(claim, Delivery)
        if replayed is not None:
            return replayed
        delivery = self._store.get_delivery(webhook_id, delivery_id)
        if delivery is None:
            raise NotFoundError(f"No delivery {delivery_id} of webhook {webhook_id}.")
        if delivery.status is not DeliveryStatus.DEAD:
            raise ConflictError(f"Only a dead delivery can be replayed; this one is {delivery.status.value}.")
        again = delivery.replayed(self._clock())
        try:
            saved = self._store.save_delivery(
                again, expected_revision=delivery.revision, claim=claim and claim.answering(again)
            )
        except KeyClaimedError as taken:
            return taken.replay(Delivery)
        if not saved:
            raise ConflictError("The delivery changed at the same moment; read it again.")
        return Answer(again)

    # delivery, for the consumer, rules and the scheduled sweep

    def enqueue_event(self, event: EventEnvelope) -> list[str]:
        """One delivery per subscription the event matches, each attempted once now (unless its receiver
        failed moments ago: then the sweep makes the attempt); a redelivered event finds its deliveries made
        already (their ids derive from the event) and creates nothing."""
        return [
            self._deliver(subscription, event, derived_id(event.occurred_at, subscription.id, event.event_id))
            for subscription in self._all_subscriptions()
            if subscription.matches(event.type)
        ]

    def call(self, url: str, event: EventEnvelope, key: str) -> str:
        """A rule's call_webhook action: delivers to the subscription registered for `url`, whatever its
        event filter. `key` identifies the rule's step, so running the step again sends nothing new."""
        subscription = next((found for found in self._all_subscriptions() if found.url == url), None)
        if subscription is None:
            raise NotFoundError(f"No webhook is registered for {url}; register it with POST /webhooks.")
        return self._deliver(subscription, event, derived_id(event.occurred_at, subscription.id, key))

    def retry_due(self, now: datetime, *, limit: int = SWEEP_LIMIT) -> int:
        """Attempts pending deliveries due by `now`, oldest first; returns how many it attempted."""
        subscriptions: dict[str, Subscription | None] = {}
        attempted = 0
        # Leases and backoff count from the sweep's time (which a test, or a late scheduler, moves ahead).
        moment = max(now, self._clock())
        for delivery in self._store.due_deliveries(now, limit=limit):
            claimed = delivery.claimed(moment + CLAIM_LEASE)
            if not self._store.save_delivery(claimed, expected_revision=delivery.revision):
                continue  # another sweep took it, or it changed since the index was read
            if delivery.subscription_id not in subscriptions:
                subscriptions[delivery.subscription_id] = self._store.get_subscription(delivery.subscription_id)
            subscription = subscriptions[delivery.subscription_id]
            if subscription is None:  # deleted while this delivery was pending
                self._store.remove_delivery(claimed)
                continue
            self._attempt(claimed, subscription, moment)
            attempted += 1
        return attempted

    def _deliver(self, subscription: Subscription, event: EventEnvelope, delivery_id: str) -> str:
        now = self._clock()
        quiet_until = self._quiet_until.get(subscription.id)
        if quiet_until is not None and now < quiet_until:
            # Its receiver failed moments ago: the sweep makes the first attempt once the quiet time is over.
            self._store.create_delivery(
                Delivery.claimed_new(delivery_id, subscription.id, event, now, quiet_until - now)
            )
            return delivery_id
        # Created already claimed: its creator makes the first attempt without another write.
        delivery = Delivery.claimed_new(delivery_id, subscription.id, event, now, CLAIM_LEASE)
        if self._store.create_delivery(delivery):
            self._attempt(delivery, subscription, now)
        return delivery_id

    def _attempt(self, claimed: Delivery, subscription: Subscription, moment: datetime) -> Delivery:
        """Signed with the real time (receivers check it); recorded at `moment`, which the backoff counts from."""
        now = self._clock()
        headers = signed_headers(claimed.id, claimed.payload, subscription.signing_secrets(now), now)
        result = self._sender.post(subscription.url, claimed.payload.encode(), headers)
        attempt = Attempt(at=moment, status_code=result.status_code, error=result.error, duration_ms=result.duration_ms)
        if attempt.succeeded:
            self._quiet_until.pop(subscription.id, None)
        else:
            self._quiet_until[subscription.id] = now + QUIET_AFTER_FAILURE
        recorded = claimed.recorded(attempt)
        # Lost only if the claim lapsed and another sender took it over; its record then stands.
        self._store.save_delivery(recorded, expected_revision=claimed.revision)
        return recorded

    def _subscription(self, webhook_id: str) -> Subscription:
        subscription = self._store.get_subscription(webhook_id)
        if subscription is None:
            raise NotFoundError(f"No webhook {webhook_id}.")
        return subscription

    def _all_subscriptions(self) -> Iterator[Subscription]:
        cursor: str | None = None
        while True:
            page = self._store.list_subscriptions(limit=_SUBSCRIPTION_PAGE, cursor=cursor)
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    # Declared last: from here on `list` in this class body names the method, not the builtin.
    def list(self, context: TenantContext, *, limit: int = 25, cursor: str | None = None) -> Page[Webhook]:
        _require_admin(context)
        now = self._clock()
        page = self._store.list_subscriptions(limit=limit, cursor=cursor)
        return Page(items=[subscription.view(now) for subscription in page.items], next_cursor=page.next_cursor)


def _require_admin(context: TenantContext) -> None:
    if not context.principal.has_any(StaffRole.ADMIN):
        raise ForbiddenError(f"Managing webhooks needs the {StaffRole.ADMIN.value} group.")
