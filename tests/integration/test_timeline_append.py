"""The timeline's append without a transaction: wherever a consumer stops, the next one finishes its work.

Each test stops an append after a chosen write (the client raises, as a Lambda that timed out would simply be
gone), then lets a redelivery or another event go on, and checks the chain: no gap, no event twice, the head
at the last link, every marker written.
"""

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from caseline_common.chain import GENESIS_HASH, Link, link_event
from caseline_common.envelope import Actor, ActorKind, EventEnvelope, new_id
from caseline_common.resources import TIMELINE_TABLE
from service_modules import loaded_module

from caseline.local.stack import LocalStack

if TYPE_CHECKING:
    from services.timeline.chalicelib import service
    from services.timeline.chalicelib.adapters import dynamo_timeline
else:
    dynamo_timeline = loaded_module("timeline", "chalicelib.adapters.dynamo_timeline")
    service = loaded_module("timeline", "chalicelib.service")

ACTOR = Actor(kind=ActorKind.USER, id="dev-append", display_name="append@example.org")


class Stopped(Exception):
    """The consumer's Lambda ended here."""


class StoppingClient:
    """The real client, until the `stop_after`-th write has been made; then every call raises."""

    def __init__(self, client: Any, stop_after: int) -> None:
        self._client = client
        self._puts_left = stop_after

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self._client, name)

        def call(**kwargs: Any) -> Any:
            if self._puts_left <= 0:
                raise Stopped(name)
            if name == "put_item":
                self._puts_left -= 1
            return method(**kwargs)

        return call


@pytest.fixture
def table(stack: LocalStack) -> str:
    return stack.tenant.names.table(TIMELINE_TABLE)


def repository(
    stack: LocalStack, table: str, stop_after: int | None = None
) -> "dynamo_timeline.DynamoTimelineRepository":
    client: Any = stack.aws.dynamodb()
    if stop_after is not None:
        client = StoppingClient(client, stop_after)
    return dynamo_timeline.DynamoTimelineRepository(client, table)


def an_event(case_id: str) -> EventEnvelope:
    return EventEnvelope.new(
        tenant_id="demo", case_id=case_id, type="comment.added", actor=ACTOR, correlation_id="append-test"
    )


def append(repo: "dynamo_timeline.DynamoTimelineRepository", event: EventEnvelope) -> Link:
    """What the service does: read where to append (a redelivery stops there), link the event after it, append."""
    previous, appended = repo.append_point(str(event.case_id), event.event_id)
    if appended:
        raise service.DuplicateEventError(event.event_id)
    link = link_event(
        case_id=str(event.case_id),
        seq=previous.seq + 1 if previous else 1,
        previous_hash=previous.hash if previous else GENESIS_HASH,
        event=event,
        recorded_at=event.occurred_at,
        salt="00" * 16,
    )
    repo.append(link, event, previous, None)
    return link


def stored(stack: LocalStack, table: str, pk: str, prefix: str = "") -> list[dict[str, Any]]:
    response = stack.aws.dynamodb().query(
        TableName=table,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
        ExpressionAttributeValues={":pk": {"S": pk}, ":prefix": {"S": prefix}},
        ConsistentRead=True,
    )
    return list(response["Items"])


def chain_of(stack: LocalStack, table: str, case_id: str) -> list[str]:
    return [item["event_id"]["S"] for item in stored(stack, table, f"CASE#{case_id}", "LINK#")]


# One append writes, in order: the link, the markers (the event's and the actor's as subject), the head.
@pytest.mark.parametrize("stop_after", [1, 2], ids=["after the link", "after the markers"])
def test_a_redelivery_finishes_a_stopped_append_and_adds_nothing(
    stack: LocalStack, table: str, stop_after: int
) -> None:
    case_id = new_id()
    first = an_event(case_id)
    with pytest.raises(Stopped):
        append(repository(stack, table, stop_after), first)

    repo = repository(stack, table)
    try:
        append(repo, first)  # the redelivery: finished where it stopped, or found appended
    except service.DuplicateEventError:
        assert stop_after == 2, "only an append that wrote its marker is a duplicate"

    assert chain_of(stack, table, case_id) == [first.event_id]
    head = repo.head(case_id)
    assert head is not None
    assert head.seq == 1
    assert stored(stack, table, f"CASE#{case_id}", f"EVENT#{first.event_id}")
    assert stored(stack, table, f"SUBJECT#{ACTOR.id}", f"CASE#{case_id}#")
    append(repo, an_event(case_id))
    assert len(chain_of(stack, table, case_id)) == 2


@pytest.mark.parametrize("stop_after", [1, 2], ids=["after the link", "after the markers"])
def test_the_next_event_finishes_a_stopped_append_before_its_own(
    stack: LocalStack, table: str, stop_after: int
) -> None:
    case_id = new_id()
    first, second = an_event(case_id), an_event(case_id)
    with pytest.raises(Stopped):
        append(repository(stack, table, stop_after), first)

    repo = repository(stack, table)
    with pytest.raises(service.AppendConflictError):
        append(repo, second)  # finds seq 1 taken and sees it through
    append(repo, second)  # the service's retry
    with pytest.raises(service.DuplicateEventError):
        append(repo, first)  # the stopped event's own redelivery, later

    assert chain_of(stack, table, case_id) == [first.event_id, second.event_id]
    head = repo.head(case_id)
    assert head is not None
    assert head.seq == 2
    for each in (first, second):
        assert stored(stack, table, f"CASE#{case_id}", f"EVENT#{each.event_id}")


def test_an_append_is_single_writes_not_a_transaction(stack: LocalStack, table: str) -> None:
    """A transaction bills each KB twice: the append reads the head and the event's marker in one call, then
    writes the link, each marker (the actor's as subject, the event's) and the head: PutItems only, since a
    BatchWriteItem would need a permission that deletes links too (infra/access.py)."""
    calls: list[str] = []
    client = stack.aws.dynamodb()
    client.meta.events.register("before-call", lambda model, **_: calls.append(model.name))
    append(dynamo_timeline.DynamoTimelineRepository(client, table), an_event(new_id()))
    assert calls == ["BatchGetItem", "PutItem", "PutItem", "PutItem", "PutItem"]
