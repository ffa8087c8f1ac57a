"""What the automations consumer does per event, counted through the in-process local stack: it reads the
webhook subscriptions once a batch, never attempts a webhook itself (the delivery queue's function does), and
makes a bounded number of AWS calls per event. Counts, not timings."""

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from caseline_common.aws import AwsClients
from caseline_common.resources import AUTOMATIONS_TABLE, TenantResourceNames
from moto import mock_aws
from service_modules import loaded_module

from caseline.local.provision import _create_table
from caseline.local.pumps import QueuePump
from caseline.local.stack import LocalStack
from caseline.local.webhook_receiver import webhook_receiver

from .support import recording, wait_until

CHANGES = 3
# Per field change with one rule that comments and one matching webhook: the case's members and timers, the run,
# automation.ran and the comment command, the delivery and its ticket; at most the batch's subscriptions, the
# template (once a container) and the queue's URL (once a container) on top.
CALLS_PER_EVENT = 7
CALLS_PER_BATCH = 3
TEMPLATE = {
    "key": "consumer-calls",
    "name": "Consumer calls",
    "fields": [{"key": "note", "label": "Note", "type": "text"}],
    "stages": [{"key": "open", "name": "Open"}, {"key": "done", "name": "Done", "next": []}],
    "rules": [
        {
            "key": "note_changed",
            "name": "Note changed",
            "trigger": {"event_type": "case.fields_changed"},
            "actions": [{"type": "add_comment", "body": "Noted."}],
        }
    ],
}


@pytest.fixture
def received() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    bodies: list[dict[str, Any]] = []

    def keep(_headers: Any, body: bytes) -> int:
        bodies.append(json.loads(body))
        return 204

    with webhook_receiver(keep, path="/calls") as url:
        yield url, bodies


@pytest.fixture
def automations_pump(stack: LocalStack) -> Iterator[QueuePump]:
    [pump] = [p for p in stack.pumps if isinstance(p, QueuePump) and p.name.endswith("automations_consumer")]
    handler = pump.handler
    yield pump
    pump.handler = handler
    pump.paused.clear()


class Calls:
    """Every AWS call of some clients, and which Query read the webhook subscriptions."""

    def __init__(self, *clients: Any) -> None:
        self.clients = clients
        self.operations: list[str] = []
        self.subscription_reads = 0

    def _call(self, model: Any, **_kwargs: Any) -> None:
        self.operations.append(model.name)

    def _query(self, params: dict[str, Any], **_kwargs: Any) -> None:
        if params.get("ExpressionAttributeValues", {}).get(":pk") == {"S": "WEBHOOKS"}:
            self.subscription_reads += 1

    def __enter__(self) -> "Calls":
        for client in self.clients:
            client.meta.events.register("before-call", self._call)
            client.meta.events.register("before-parameter-build.dynamodb.Query", self._query)
        return self

    def __exit__(self, *_exc: object) -> None:
        for client in self.clients:
            client.meta.events.unregister("before-call", self._call)
            client.meta.events.unregister("before-parameter-build.dynamodb.Query", self._query)


def _queue_depth(stack: LocalStack, url: str) -> int:
    attributes = stack.aws.sqs().get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def test_the_rule_consumer_reads_subscriptions_once_a_batch_and_leaves_every_attempt_to_the_delivery_queue(
    stack: LocalStack, automations_pump: QueuePump, received: tuple[str, list[dict[str, Any]]]
) -> None:
    url, bodies = received
    assert stack.request("POST", "/templates", TEMPLATE)[0] == 201
    status, hook = stack.request("POST", "/webhooks", {"url": url, "event_types": ["case.fields_changed"]})
    assert status == 201, hook
    try:
        status, case = stack.request("POST", "/cases", {"template_key": TEMPLATE["key"], "title": "Calls"})
        assert status == 201, case
        queue_url = stack.tenant.queues["automations_consumer"].url
        wait_until(
            lambda: stack.request("GET", f"/automations/runs?case_id={case['id']}")[0] == 200 or None,
            what="the automations service to know the case",
        )
        wait_until(lambda: _queue_depth(stack, queue_url) == 0 or None, what="the automations queue to drain")
        # From here the events wait in the queue, and this test hands them to the pump's first instance.
        automations_pump.paused.set()
        time.sleep(1.5)  # a long poll under way ends, with nothing
        runtime = stack.functions["automations_consumer"].module("chalicelib.runtime")
        sender = runtime.webhook_service()._sender
        attempts: list[str] = []
        real_post = sender.post

        def post(target: str, *args: Any) -> Any:
            attempts.append(target)
            return real_post(target, *args)

        sender.post = post
        version = case["version"]
        for index in range(CHANGES):
            headers = {"If-Match": f'"{version}"'}
            status, _headers, raw = stack.api.handle(
                "PATCH",
                f"/cases/{case['id']}",
                {"Authorization": f"Bearer {stack.staff_token()}", "Content-Type": "application/json", **headers},
                json.dumps({"fields": {"note": f"change {index}"}}).encode(),
            )
            assert status == 200, raw
            version = json.loads(raw)["version"]
        wait_until(lambda: _queue_depth(stack, queue_url) >= CHANGES or None, what="the changes in the queue")

        handled: list[str] = []
        automations_pump.observers.append(lambda records, _failed: handled.extend(r["messageId"] for r in records))
        aws = runtime.runtime.aws
        batches = 0
        try:
            with Calls(aws.dynamodb(), aws.events(), aws.sqs()) as calls:
                while len(handled) < CHANGES:
                    assert automations_pump.poll_once(), "the changes are in the queue"
                    batches += 1
        finally:
            sender.post = real_post
            automations_pump.observers.clear()
        assert attempts == [], "no webhook attempt on the rules' path"
        assert batches == 1, "the three changes came in one batch"
        assert calls.subscription_reads == 1, "the subscriptions once a batch, not once an event"
        assert calls.operations.count("SendMessageBatch") == CHANGES  # each delivery's ticket
        assert len(calls.operations) <= CALLS_PER_EVENT * len(handled) + CALLS_PER_BATCH * batches, calls.operations
        automations_pump.paused.clear()
        # The delivery queue's function makes the attempts.
        wait_until(lambda: len(bodies) >= CHANGES or None, what="the deliveries")
        assert sorted(body["data"]["data"]["changes"]["note"]["after"] for body in bodies) == [
            f"change {index}" for index in range(CHANGES)
        ]
    finally:
        stack.request("DELETE", f"/webhooks/{hook['id']}")


def test_the_members_of_a_case_version_are_put_once_a_container() -> None:
    """A change's event, the runs it sets off and its comments carry the same case version: the first puts the
    access record, the others would be refused, so they are not sent; an older version is refused by DynamoDB."""
    members_module = loaded_module("automations", "chalicelib.domain.members")
    store_module = loaded_module("automations", "chalicelib.adapters.dynamo_automations")
    with mock_aws():
        aws = AwsClients("eu-west-1")
        names = TenantResourceNames(tenant_id="calls")
        _create_table(aws, names, AUTOMATIONS_TABLE)
        client = aws.dynamodb()
        store = store_module.DynamoAutomationsStore(client, names.table(AUTOMATIONS_TABLE))
        other_container = store_module.DynamoAutomationsStore(client, names.table(AUTOMATIONS_TABLE))

        def members(version: int) -> Any:
            return members_module.CaseMembers(
                case_id="c-1", template_key="t", template_version=1, version=version, participants=[]
            )

        with recording(client) as calls:
            for version in (2, 2, 2, 1, 3, 3):
                store.save_members(members(version))
            other_container.save_members(members(2))  # refused: version 3 is stored
        assert calls.operations == ["PutItem", "PutItem", "PutItem"]  # 2, 3 and the other container's 2
        assert store.members("c-1").version == 3
