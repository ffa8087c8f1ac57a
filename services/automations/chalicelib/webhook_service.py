"""Use cases of webhooks: subscriptions managed by tenant admins, and deliveries with retries.

The consumer only records a delivery, leased to the delivery queue, and sends the queue its ticket; the queue's
function makes the first attempt, off the rules' path, and the scheduled sweep every later one (or the first, if
the ticket never arrives within the lease). A delivery is attempted by whoever claims it: a conditional write on
its revision moves its due time a lease ahead, so two sweeps (or a sweep and the queue's function, or a ticket
delivered twice) never send the same attempt twice, and a delivery that succeeded is never sent again.
"""

import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from caseline_common.envelope import EventEnvelope, derived_id
from caseline_common.errors import ConflictError, ForbiddenError, NotFoundError
from caseline_common.idempotency import Answer, Claim, KeyClaimedError, replay_of
from caseline_common.pagination import Page
from caseline_common.tenant import StaffRole, TenantContext
from pydantic import BaseModel, ConfigDict

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
# After a receiver fails, its next deliveries wait this long for the sweep instead of being tried at once, so
# one receiver that is down (each try may take the sender's whole timeout) does not hold every delivery's batch.
QUIET_AFTER_FAILURE = timedelta(seconds=10)
SWEEP_LIMIT = 50
_SUBSCRIPTION_PAGE = 100
ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass(frozen=True)
class SendResult:
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryTicket(BaseModel):
    """What the delivery queue carries: which delivery, at the revision it was created with."""

    model_config = ConfigDict(defer_build=True)

    subscription_id: str
    delivery_id: str
    revision: int


class DeliveryQueue(Protocol):
    def send(self, tickets: Sequence[DeliveryTicket]) -> None:
        """Raises UnavailableError when a ticket was not taken (the event is then delivered again)."""
        ...


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

    def delivery_and_subscription(
        self, subscription_id: str, delivery_id: str
    ) -> tuple[Delivery | None, Subscription | None]:
        """Both in one consistent read."""
        ...

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
        queue: DeliveryQueue,
        *,
        clock: Callable[[], datetime],
        new_id: Callable[[], str],
        allow_insecure_urls: bool,
    ) -> None:
        self._store = store
        self._sender = sender
        self._queue = queue
        self._clock = clock
        self._new_id = new_id
        self._allow_insecure_urls = allow_insecure_urls
        self._quiet_until: dict[str, datetime] = {}  # subscription id → until when to leave it to the sweep
        # Every subscription, and when (time.monotonic()) the read that found them began; see begin_batch.
        self._subscriptions: tuple[float, list[Subscription]] | None = None
        self._batch = threading.local()  # when this thread's batch of events began (one per container in AWS)

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

    # delivery, for the consumer, rules, the delivery queue and the scheduled sweep

    def begin_batch(self) -> None:
        """Called by the consumer as a batch of events begins. Subscriptions are then read at most once for the
        whole batch: every event of it was on the queue before the batch began, so a list read since holds every
        subscription made before any of them was sent, as reading it again for each event would. Outside a batch
        (the API, tests) the list is read for each event."""
        self._batch.started = time.monotonic()

    def enqueue_event(self, event: EventEnvelope) -> list[str]:
        """One delivery per subscription the event matches, each handed to the delivery queue; a redelivered
        event finds its deliveries made already (their ids derive from the event) and creates nothing."""
        tickets = [
            self._record(subscription, event, derived_id(event.occurred_at, subscription.id, event.event_id))
            for subscription in self._current_subscriptions()
            if subscription.matches(event.type)
        ]
        self._queue.send(tickets)
        return [ticket.delivery_id for ticket in tickets]

    def call(self, url: str, event: EventEnvelope, key: str) -> str:
        """A rule's call_webhook action: delivers to the subscription registered for `url`, whatever its
        event filter. `key` identifies the rule's step, so running the step again sends nothing new."""
        subscription = self._registered(url, self._current_subscriptions())
        if subscription is None:  # registered since the batch's list was read?
            subscription = self._registered(url, self._read_subscriptions())
        if subscription is None:
            raise NotFoundError(f"No webhook is registered for {url}; register it with POST /webhooks.")
        ticket = self._record(subscription, event, derived_id(event.occurred_at, subscription.id, key))
        self._queue.send([ticket])
        return ticket.delivery_id

    def deliver(self, ticket: DeliveryTicket) -> Delivery | None:
        """The delivery queue's work: the first attempt of a delivery, unless it was attempted or taken since the
        ticket was sent (a ticket delivered twice, or one the sweep overtook), or its receiver failed moments ago
        (then the sweep makes it once the quiet time is over). Returns what was recorded, if anything."""
        delivery, subscription = self._store.delivery_and_subscription(ticket.subscription_id, ticket.delivery_id)
        if delivery is None or delivery.revision != ticket.revision or delivery.status is not DeliveryStatus.PENDING:
            return None
        if subscription is None:  # deleted since the event came
            self._store.remove_delivery(delivery)
            return None
        now = self._clock()
        quiet_until = self._quiet_until.get(subscription.id)
        if quiet_until is not None and now < quiet_until:
            self._store.save_delivery(delivery.claimed(quiet_until), expected_revision=delivery.revision)
            return None
        claimed = delivery.claimed(now + CLAIM_LEASE)
        if not self._store.save_delivery(claimed, expected_revision=delivery.revision):
            return None  # a copy of this ticket, or the sweep, took it a moment ago
        return self._attempt(claimed, subscription, now)

    def retry_due(self, now: datetime, *, limit: int = SWEEP_LIMIT) -> list[Delivery]:
        """Attempts pending deliveries due by `now`, oldest first; returns them as recorded (some dead by now)."""
        subscriptions: dict[str, Subscription | None] = {}
        attempted: list[Delivery] = []
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
            attempted.append(self._attempt(claimed, subscription, moment))
        return attempted

    def _record(self, subscription: Subscription, event: EventEnvelope, delivery_id: str) -> DeliveryTicket:
        """Created leased to the queue: the sweep attempts it only if the queue's function has not within the lease."""
        delivery = Delivery.claimed_new(delivery_id, subscription.id, event, self._clock(), CLAIM_LEASE)
        # Made already (a redelivered event): its ticket goes again, and finds it attempted unless it never was.
        self._store.create_delivery(delivery)
        return DeliveryTicket(subscription_id=subscription.id, delivery_id=delivery_id, revision=delivery.revision)

    @staticmethod
    def _registered(url: str, subscriptions: list[Subscription]) -> Subscription | None:
        return next((found for found in subscriptions if found.url == url), None)

    def _current_subscriptions(self) -> list[Subscription]:
        """Read again unless the last read began after this thread's batch did (see begin_batch)."""
        cached = self._subscriptions
        started: float | None = getattr(self._batch, "started", None)
        if cached is not None and started is not None and cached[0] >= started:
            return cached[1]
        return self._read_subscriptions()

    def _read_subscriptions(self) -> list[Subscription]:
        began = time.monotonic()
        subscriptions = list(self._all_subscriptions())
        self._subscriptions = (began, subscriptions)
        return subscriptions

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
