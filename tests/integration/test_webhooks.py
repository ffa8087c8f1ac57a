"""Webhook deliveries against the emulator (moto, in-process) and a real receiver on 127.0.0.1.

The consumer's side (`enqueue_event`, `call`) records deliveries and hands their tickets to a queue, here a list
that `drain` hands to the delivery function's use case (`deliver`), as the delivery queue's mapping does.
Retries are driven by calling the sweep with a later `now`, never by sleeping. Signatures carry the real
time of sending, so the receiver verifies them with standardwebhooks as any integrator would.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from caseline_common.aws import AwsClients
from caseline_common.envelope import Actor, ActorKind, EventEnvelope, new_id, utc_now
from caseline_common.errors import ConflictError, NotFoundError
from caseline_common.resources import AUTOMATIONS_TABLE, TenantResourceNames
from caseline_common.tenant import Principal, StaffRole, TenantContext
from moto import mock_aws
from service_modules import loaded_module
from standardwebhooks import Webhook as StandardWebhook
from standardwebhooks.webhooks import WebhookVerificationError

from caseline.local.provision import _create_table
from caseline.local.webhook_receiver import webhook_receiver

from .support import recording

if TYPE_CHECKING:
    from services.automations.chalicelib import webhook_service
    from services.automations.chalicelib.adapters import dynamo_webhooks, http_webhooks
    from services.automations.chalicelib.domain import webhooks as hooks
else:
    webhook_service = loaded_module("automations", "chalicelib.webhook_service")
    http_webhooks = loaded_module("automations", "chalicelib.adapters.http_webhooks")
    dynamo_webhooks = loaded_module("automations", "chalicelib.adapters.dynamo_webhooks")
    hooks = loaded_module("automations", "chalicelib.domain.webhooks")

ADMIN = TenantContext(
    tenant_id="hooks",
    principal=Principal(subject="admin-1", groups=frozenset({StaffRole.ADMIN.value})),
    correlation_id="corr-1",
)
LATER = timedelta(days=1)  # past any single wait of the backoff


@dataclass
class Received:
    headers: dict[str, str]
    body: str
    verified: bool
    answered: int


@dataclass
class Receiver:
    """Answers 500 to the first `failures` requests (all of them when None), then 204."""

    url: str
    failures: int | None = 0
    secret: str = ""
    requests: list[Received] = field(default_factory=list)

    @property
    def successes(self) -> list[Received]:
        return [request for request in self.requests if request.answered == 204]

    def answer(self, headers: dict[str, str], body: str) -> int:
        try:
            StandardWebhook(self.secret).verify(body, headers)
            verified = True
        except WebhookVerificationError:
            verified = False
        failing = self.failures is None or len(self.requests) < self.failures
        status = 500 if failing or not verified else 204
        self.requests.append(Received(headers, body, verified, status))
        return status


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state: list[Receiver] = []
    with webhook_receiver(lambda headers, body: state[0].answer(dict(headers), body.decode())) as url:
        state.append(Receiver(url=url))
        yield state[0]


@dataclass
class ListQueue:
    tickets: list[Any] = field(default_factory=list)

    def send(self, tickets: Any) -> None:
        self.tickets.extend(tickets)


@dataclass
class Webhooks:
    service: "webhook_service.WebhookService"
    store: "dynamo_webhooks.DynamoWebhookStore"
    client: Any
    queue: ListQueue

    def drain(self) -> int:
        """What the delivery queue's function does with every ticket sent so far; how many it handled."""
        tickets, self.queue.tickets = self.queue.tickets, []
        for ticket in tickets:
            self.service.deliver(ticket)
        return len(tickets)

    def enqueue(self, event: EventEnvelope) -> list[str]:
        """The consumer's part, then the delivery function's."""
        delivery_ids = self.service.enqueue_event(event)
        self.drain()
        return delivery_ids

    def call(self, url: str, event: EventEnvelope, key: str) -> str:
        delivery_id = self.service.call(url, event, key)
        self.drain()
        return delivery_id

    def subscribe(self, receiver: Receiver, event_types: list[str] | None = None) -> str:
        request = hooks.CreateWebhookRequest(url=receiver.url, event_types=event_types or [])
        created = self.service.create(ADMIN, request).resource
        receiver.secret = created.secret
        subscription_id: str = created.id
        return subscription_id

    def delivery(self, subscription_id: str, delivery_id: str) -> Any:
        return self.store.get_delivery(subscription_id, delivery_id)


@pytest.fixture
def webhooks() -> Iterator[Webhooks]:
    with mock_aws():
        aws = AwsClients("eu-west-1")
        names = TenantResourceNames(tenant_id="hooks")
        _create_table(aws, names, AUTOMATIONS_TABLE)
        client = aws.dynamodb()
        store = dynamo_webhooks.DynamoWebhookStore(client, names.table(AUTOMATIONS_TABLE))
        sender = http_webhooks.UrllibWebhookSender(allow_loopback=True)
        queue = ListQueue()
        service = webhook_service.WebhookService(
            store, sender, queue, clock=utc_now, new_id=new_id, allow_insecure_urls=True
        )
        with recording(client) as calls:
            yield Webhooks(service, store, client, queue)
        assert "Scan" not in calls.operations


def make_event(event_type: str = "case.opened") -> EventEnvelope:
    return EventEnvelope.new(
        tenant_id="hooks",
        case_id=new_id(),
        type=event_type,
        actor=Actor(kind=ActorKind.USER, id="user-1"),
        correlation_id="corr-1",
        data={"stage": "intake"},
    )


def test_an_endpoint_failing_three_times_then_succeeding_gets_exactly_one_success(
    webhooks: Webhooks, receiver: Receiver
) -> None:
    receiver.failures = 3
    subscription_id = webhooks.subscribe(receiver)
    [delivery_id] = webhooks.enqueue(make_event())

    first = webhooks.delivery(subscription_id, delivery_id)
    assert first.status == "pending"
    assert first.next_attempt_at == first.attempts[0].at + timedelta(seconds=10)
    assert not webhooks.service.retry_due(utc_now())  # not due yet

    # Each sweep a day after the one before: the backoff counts from the sweep's time.
    assert [len(webhooks.service.retry_due(utc_now() + LATER * day)) for day in (1, 2, 3)] == [1, 1, 1]
    assert not webhooks.service.retry_due(utc_now() + 30 * LATER)  # succeeded: never sent again

    assert len(receiver.requests) == 4
    assert len(receiver.successes) == 1
    assert all(request.verified for request in receiver.requests)
    assert {request.headers["webhook-id"] for request in receiver.requests} == {delivery_id}
    delivered = webhooks.delivery(subscription_id, delivery_id)
    assert delivered.status == "succeeded"
    assert [attempt.status_code for attempt in delivered.attempts] == [500, 500, 500, 204]
    log = webhooks.service.deliveries(ADMIN, subscription_id)
    assert [entry.id for entry in log.items] == [delivery_id]
    assert webhooks.service.deliveries(ADMIN, subscription_id, status=hooks.DeliveryStatus.PENDING).items == []


def test_a_receiver_that_just_failed_is_left_to_the_sweep_so_it_slows_no_other_event(
    webhooks: Webhooks, receiver: Receiver
) -> None:
    receiver.failures = 1
    subscription_id = webhooks.subscribe(receiver)
    webhooks.enqueue(make_event())
    assert len(receiver.requests) == 1, "the first event's delivery is tried from the queue, and fails"

    # The next events arrive while the receiver is in its quiet time: recorded, but nobody waits on it.
    later = [webhooks.enqueue(make_event()) for _ in range(3)]
    assert len(receiver.requests) == 1
    for [delivery_id] in later:
        waiting = webhooks.delivery(subscription_id, delivery_id)
        assert (waiting.status, waiting.attempts) == ("pending", [])

    # Once the quiet time is over the sweep sends each, once; a success ends the quiet time.
    quiet = webhook_service.QUIET_AFTER_FAILURE
    assert len(webhooks.service.retry_due(utc_now() + quiet + timedelta(seconds=1))) == 4  # with the first's retry
    assert len(receiver.successes) == 4
    webhooks.enqueue(make_event())
    assert len(receiver.successes) == 5, "tried at once again"


def test_an_endpoint_that_never_succeeds_ends_dead_and_a_replay_delivers_it(
    webhooks: Webhooks, receiver: Receiver
) -> None:
    receiver.failures = None
    subscription_id = webhooks.subscribe(receiver)
    [delivery_id] = webhooks.enqueue(make_event())
    day, swept = 1, []
    while attempted := webhooks.service.retry_due(utc_now() + LATER * day):
        swept += attempted
        day += 1
    # The sweep that made the last attempt reports it dead (the webhook-dead-letters alarm counts those).
    assert [delivery.status for delivery in swept] == ["pending"] * (len(swept) - 1) + ["dead"]

    dead = webhooks.delivery(subscription_id, delivery_id)
    assert dead.status == "dead"
    assert len(dead.attempts) == len(receiver.requests) == hooks.MAX_ATTEMPTS
    assert [entry.id for entry in webhooks.service.dead_letters(ADMIN).items] == [delivery_id]
    assert [entry.id for entry in webhooks.service.dead_letters(ADMIN, webhook_id=subscription_id).items] == [
        delivery_id
    ]

    replayed = webhooks.service.replay(ADMIN, subscription_id, delivery_id).resource
    assert replayed.status == "pending"
    assert webhooks.service.dead_letters(ADMIN).items == []
    with pytest.raises(ConflictError, match="pending"):
        webhooks.service.replay(ADMIN, subscription_id, delivery_id)

    receiver.failures = 0  # the integrator fixed the endpoint
    assert len(webhooks.service.retry_due(utc_now())) == 1
    delivered = webhooks.delivery(subscription_id, delivery_id)
    assert delivered.status == "succeeded"
    assert len(delivered.attempts) == hooks.MAX_ATTEMPTS + 1
    assert len(receiver.successes) == 1
    assert not webhooks.service.retry_due(utc_now() + 30 * LATER)


def test_a_redelivered_event_creates_one_delivery(webhooks: Webhooks, receiver: Receiver) -> None:
    subscription_id = webhooks.subscribe(receiver)
    event = make_event()
    first = webhooks.enqueue(event)
    again = webhooks.enqueue(event)
    assert first == again
    assert len(webhooks.service.deliveries(ADMIN, subscription_id).items) == 1
    assert len(receiver.requests) == 1


def test_only_subscriptions_whose_filter_matches_get_the_event(webhooks: Webhooks, receiver: Receiver) -> None:
    cases = webhooks.subscribe(receiver, ["case.*"])
    tasks = webhooks.subscribe(receiver, ["task.completed"])
    webhooks.enqueue(make_event("case.stage_changed"))
    assert len(webhooks.service.deliveries(ADMIN, cases).items) == 1
    assert webhooks.service.deliveries(ADMIN, tasks).items == []


def test_a_stale_copy_of_a_delivery_cannot_be_claimed(webhooks: Webhooks, receiver: Receiver) -> None:
    receiver.failures = 1
    subscription_id = webhooks.subscribe(receiver)
    [delivery_id] = webhooks.enqueue(make_event())
    read_by_two_sweeps = webhooks.delivery(subscription_id, delivery_id)
    until = utc_now() + timedelta(minutes=2)
    assert webhooks.store.save_delivery(
        read_by_two_sweeps.claimed(until), expected_revision=read_by_two_sweeps.revision
    )
    assert not webhooks.store.save_delivery(
        read_by_two_sweeps.claimed(until), expected_revision=read_by_two_sweeps.revision
    )


def test_a_rule_calls_only_a_registered_webhook_once_per_key(webhooks: Webhooks, receiver: Receiver) -> None:
    event = make_event()
    with pytest.raises(NotFoundError, match="register it with POST /webhooks"):
        webhooks.call(receiver.url, event, "rule-1#step-1")
    subscription_id = webhooks.subscribe(receiver, ["task.completed"])  # a rule's call ignores the filter
    first = webhooks.call(receiver.url, event, "rule-1#step-1")
    assert webhooks.call(receiver.url, event, "rule-1#step-1") == first
    assert webhooks.call(receiver.url, event, "rule-2#step-1") != first
    assert len(webhooks.service.deliveries(ADMIN, subscription_id).items) == 2
    assert len(receiver.successes) == 2


def test_rotation_signs_with_both_secrets_and_deleting_removes_the_log(webhooks: Webhooks, receiver: Receiver) -> None:
    subscription_id = webhooks.subscribe(receiver)
    old_secret = receiver.secret
    rotated = webhooks.service.rotate_secret(ADMIN, subscription_id).resource
    assert rotated.previous_secret_expires_at > datetime.now(UTC) + timedelta(hours=23)
    webhooks.enqueue(make_event())
    [request] = receiver.requests
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    for secret in (old_secret, rotated.secret):
        assert StandardWebhook(secret).verify(request.body, request.headers)
    shown = webhooks.service.get(ADMIN, subscription_id)
    assert shown.previous_secret_expires_at == rotated.previous_secret_expires_at
    assert [webhook.id for webhook in webhooks.service.list(ADMIN).items] == [subscription_id]

    webhooks.service.delete(ADMIN, subscription_id)
    assert webhooks.service.list(ADMIN).items == []
    with pytest.raises(NotFoundError):
        webhooks.service.deliveries(ADMIN, subscription_id)
    with pytest.raises(NotFoundError):
        webhooks.service.delete(ADMIN, subscription_id)
    assert (
        webhooks.client.query(
            TableName=webhooks.store._table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"DELIVERY#{subscription_id}"}},
        )["Items"]
        == []
    )


def test_the_consumer_records_deliveries_for_the_queue_and_reads_subscriptions_once_a_batch(
    webhooks: Webhooks, receiver: Receiver
) -> None:
    subscription_id = webhooks.subscribe(receiver)
    webhooks.service.begin_batch()
    with recording(webhooks.client) as calls:
        made = [webhooks.service.enqueue_event(make_event()) for _ in range(10)]
    assert calls.operations == ["Query"] + ["PutItem"] * 10, "the subscriptions once, then one write a delivery"
    assert receiver.requests == [], "no attempt on the consumer's path"
    for [delivery_id] in made:
        waiting = webhooks.delivery(subscription_id, delivery_id)
        assert (waiting.status, waiting.attempts) == ("pending", [])
        assert waiting.next_attempt_at >= waiting.created_at + webhook_service.CLAIM_LEASE  # leased to the queue

    with recording(webhooks.client) as calls:
        assert webhooks.drain() == 10
    assert len(receiver.successes) == 10
    # Each: the delivery and its subscription in one read, the claim, and the attempt's record.
    assert calls.operations == ["BatchGetItem", "PutItem", "PutItem"] * 10


def test_a_subscription_made_during_a_batch_gets_events_from_the_next_batch_on(
    webhooks: Webhooks, receiver: Receiver
) -> None:
    first = webhooks.subscribe(receiver)
    webhooks.service.begin_batch()
    webhooks.service.enqueue_event(make_event())
    second = webhooks.subscribe(receiver)
    webhooks.service.enqueue_event(make_event())  # sent before the batch began, so before `second` existed
    assert webhooks.service.deliveries(ADMIN, second).items == []
    webhooks.service.begin_batch()
    webhooks.service.enqueue_event(make_event())
    assert len(webhooks.service.deliveries(ADMIN, first).items) == 3
    assert len(webhooks.service.deliveries(ADMIN, second).items) == 1
    # A rule's call finds a webhook registered a moment ago, batch or not.
    third = hooks.CreateWebhookRequest(url=receiver.url + "/rules", event_types=[])
    created = webhooks.service.create(ADMIN, third).resource
    assert webhooks.service.call(third.url, make_event(), "rule-1#step-1")
    assert len(webhooks.service.deliveries(ADMIN, created.id).items) == 1


def test_a_ticket_delivered_twice_or_after_the_sweep_took_over_sends_nothing_more(
    webhooks: Webhooks, receiver: Receiver
) -> None:
    subscription_id = webhooks.subscribe(receiver)
    webhooks.service.enqueue_event(make_event())
    webhooks.queue.tickets *= 2  # SQS delivers a message more than once, now and then
    assert webhooks.drain() == 2
    assert len(receiver.requests) == 1

    # The ticket is late: its lease is over, so the sweep has made the attempt already.
    [late] = webhooks.service.enqueue_event(make_event())
    assert len(webhooks.service.retry_due(utc_now() + webhook_service.CLAIM_LEASE + timedelta(seconds=1))) == 1
    assert webhooks.drain() == 1
    assert len(receiver.requests) == 2
    assert [attempt.status_code for attempt in webhooks.delivery(subscription_id, late).attempts] == [204]

    # The subscription is deleted before its ticket comes: nothing is sent, nothing stays behind.
    webhooks.service.enqueue_event(make_event())
    webhooks.service.delete(ADMIN, subscription_id)
    assert webhooks.drain() == 1
    assert len(receiver.requests) == 2
