"""Events flow from a write, through the outbox, stream, bus and queues, to every consumer."""

import json
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
from caseline_common.envelope import Actor, ActorKind, EventEnvelope, new_id

from caseline.local.idp import DevIdentityProvider
from caseline.local.provision import LOCAL_ACCOUNT_ID
from caseline.local.stack import LOCAL_REGION, LocalStack

if TYPE_CHECKING:
    from types_boto3_sqs.type_defs import MessageTypeDef

from .support import (
    assert_problem,
    bus_probe,
    header,
    queue_depth,
    stored_items,
    stored_links,
    timeline,
    wait_until,
)

CONSUMER_QUEUES = ("timeline", "automations", "portal")


def _template(key: str) -> dict[str, Any]:
    return {
        "key": key,
        "name": "Pipeline check",
        "fields": [{"key": "reference", "label": "Reference", "type": "text", "required": True}],
        "stages": [{"key": "received", "name": "Received"}, {"key": "done", "name": "Done"}],
    }


def _bus_event(envelope: EventEnvelope) -> str:
    """The SQS body EventBridge delivers for one outbox event, as a consumer queue receives it."""
    return json.dumps(
        {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": envelope.type,
            "source": "caseline.cases",
            "account": LOCAL_ACCOUNT_ID,
            "time": envelope.occurred_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": LOCAL_REGION,
            "resources": [],
            "detail": envelope.model_dump(mode="json"),
        }
    )


def _drained(stack: LocalStack, *services: str) -> bool:
    return all(queue_depth(stack, stack.tenant.queues[f"{service}_consumer"].url) == 0 for service in services)


@pytest.fixture(scope="module")
def opened_case(stack: LocalStack) -> dict[str, Any]:
    key = f"pipeline-{uuid.uuid4().hex[:10]}"
    status, body = stack.request("POST", "/templates", _template(key))
    assert status == 201, body
    status, case = stack.request(
        "POST", "/cases", {"template_key": key, "title": "Pipeline", "fields": {"reference": "P-1"}}
    )
    assert status == 201, case
    return dict(case)


def test_an_opened_case_reaches_its_timeline(stack: LocalStack, opened_case: dict[str, Any]) -> None:
    entries = wait_until(lambda: timeline(stack, opened_case["id"]), what="case.opened on the timeline")
    assert [(entry["seq"], entry["event"]["type"]) for entry in entries] == [(1, "case.opened")]
    assert entries[0]["prev_hash"] == "0" * 64
    assert entries[0]["personal_data_erased"] is False
    event = entries[0]["event"]
    assert event["case_id"] == opened_case["id"]
    assert event["tenant_id"] == "demo"
    assert event["actor"]["kind"] == "user"
    assert event["data"]["title"] == "Pipeline"
    assert event["data"]["fields"] == {"reference": "P-1"}
    assert event["data"]["template_key"] == opened_case["template_key"]


def test_every_consumer_acknowledges_and_nothing_is_dead_lettered(
    stack: LocalStack, opened_case: dict[str, Any]
) -> None:
    wait_until(lambda: timeline(stack, opened_case["id"]), what="case.opened on the timeline")
    pumps = {pump.name: pump for pump in stack.pumps}
    for service in CONSUMER_QUEUES:
        assert pumps[f"queue:{service}_consumer"].invocations > 0, f"{service} never consumed anything"
    wait_until(lambda: _drained(stack, "automations", "portal", "timeline"), what="the consumer queues to drain")
    for service in CONSUMER_QUEUES:
        dead = _dead_letters(stack, stack.tenant.queues[f"{service}_consumer"].dead_letter_url)
        assert not [body for body in dead if opened_case["id"] in body], f"{service} dead-lettered this case's events"


def _dead_letters(stack: LocalStack, url: str) -> list[str]:
    """The bodies in a dead-letter queue, left there: other tests of this stack put their own poison in on purpose
    (the timeline's chaos), so only this case's events may not be there."""
    sqs, bodies = stack.aws.sqs(), []
    for _ in range(queue_depth(stack, url) // 10 + 2):
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30).get("Messages", [])
        bodies += [message["Body"] for message in messages]
    return bodies


def test_the_timeline_keeps_one_entry_per_event_however_often_it_is_delivered(stack: LocalStack) -> None:
    case_id = new_id()
    envelope = EventEnvelope.new(
        tenant_id="demo",
        case_id=case_id,
        type="case.note_added",
        actor=Actor(kind=ActorKind.USER, id="dev-pipeline"),
        correlation_id=new_id(),
        data={"note": "delivered twice"},
        occurred_at=datetime.now(UTC),
    )
    body = _bus_event(envelope)
    sqs = stack.aws.sqs()
    queue_url = stack.tenant.queues["timeline_consumer"].url
    sqs.send_message(QueueUrl=queue_url, MessageBody=body)
    sqs.send_message(QueueUrl=queue_url, MessageBody=body)

    wait_until(lambda: timeline(stack, case_id), what="the event on the timeline")
    wait_until(lambda: _drained(stack, "timeline"), what="both deliveries to be consumed")
    entries = timeline(stack, case_id)
    assert [(entry["seq"], entry["event"]["event_id"]) for entry in entries] == [(1, envelope.event_id)]
    assert entries[0]["event"]["data"] == {"note": "delivered twice"}
    assert [link["sk"] for link in stored_links(stack, case_id)] == [f"LINK#{1:012d}"]
    assert [item["sk"]["S"] for item in stored_items(stack, case_id, "EVENT#")] == [f"EVENT#{envelope.event_id}"]
    [head] = stored_items(stack, case_id, "HEAD")
    assert head["seq"] == {"N": "1"}
    assert head["hash"]["S"] == entries[0]["hash"]
    assert queue_depth(stack, stack.tenant.queues["timeline_consumer"].dead_letter_url) == 0


def test_a_redelivered_event_does_not_overwrite_the_first_delivery(stack: LocalStack) -> None:
    """Same event id, different content (say, a replay of an edited archive): the first write stands."""
    case_id = new_id()
    first = EventEnvelope.new(
        tenant_id="demo",
        case_id=case_id,
        type="case.note_added",
        actor=Actor(kind=ActorKind.USER, id="dev-pipeline"),
        correlation_id=new_id(),
        data={"note": "first"},
    )
    later = first.model_copy(update={"data": {"note": "later"}})
    sqs = stack.aws.sqs()
    queue_url = stack.tenant.queues["timeline_consumer"].url
    sqs.send_message(QueueUrl=queue_url, MessageBody=_bus_event(first))
    wait_until(lambda: timeline(stack, case_id), what="the first delivery on the timeline")
    sqs.send_message(QueueUrl=queue_url, MessageBody=_bus_event(later))
    wait_until(lambda: _drained(stack, "timeline"), what="the second delivery to be consumed")
    entries = timeline(stack, case_id)
    assert [(entry["seq"], entry["event"]["event_id"], entry["event"]["data"]) for entry in entries] == [
        (1, first.event_id, {"note": "first"})
    ]
    [link] = stored_links(stack, case_id)
    assert link["record"]["event"]["data"] == {"note": "first"}
    status, verification = stack.request("GET", f"/cases/{case_id}/timeline/verify")
    assert status == 200, verification
    assert (verification["valid"], verification["length"]) == (True, 1)


def test_a_poison_message_ends_in_the_dead_letter_queue(stack: LocalStack) -> None:
    timeline_queue = stack.tenant.queues["timeline_consumer"]
    assert timeline_queue.spec.max_receive_count == 5
    poison = f'{{"not json, poison {uuid.uuid4()}'
    sqs = stack.aws.sqs()
    sqs.send_message(QueueUrl=timeline_queue.url, MessageBody=poison)

    def dead_lettered() -> list["MessageTypeDef"]:
        messages = sqs.receive_message(
            QueueUrl=timeline_queue.dead_letter_url,
            MaxNumberOfMessages=10,
            AttributeNames=["All"],
            WaitTimeSeconds=0,
        ).get("Messages", [])
        ours = [message for message in messages if message["Body"] == poison]
        others = [message for message in messages if message["Body"] != poison]
        if others:  # not ours to judge: put back at once
            sqs.change_message_visibility_batch(
                QueueUrl=timeline_queue.dead_letter_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                    for i, m in enumerate(others)
                ],
            )
        return ours

    landed = wait_until(dead_lettered, what="the poison message in the timeline DLQ", timeout=20, interval=0.25)
    assert len(landed) == 1
    assert int(landed[0]["Attributes"]["ApproximateReceiveCount"]) >= timeline_queue.spec.max_receive_count
    sqs.delete_message(QueueUrl=timeline_queue.dead_letter_url, ReceiptHandle=landed[0]["ReceiptHandle"])
    wait_until(lambda: _drained(stack, "timeline"), what="the timeline queue to be empty again")


def test_the_timeline_still_works_after_a_poison_message(stack: LocalStack) -> None:
    status, case = stack.request(
        "POST",
        "/cases",
        {
            "template_key": "employee-onboarding",
            "title": "After the poison",
            "fields": {"employee": {"name": "Ola Nordmann"}, "start_date": "2027-05-02", "department": "sales"},
        },
    )
    assert status == 201, case
    entries = wait_until(lambda: timeline(stack, case["id"]), what="case.opened on the timeline")
    assert [entry["event"]["type"] for entry in entries] == ["case.opened"]


def test_cancelled_writes_publish_nothing_and_do_not_stall_the_stream(stack: LocalStack) -> None:
    """An idempotent replay and a duplicate template are cancelled transactions; what follows still flows."""
    body = json.dumps(
        {
            "template_key": "employee-onboarding",
            "title": "Replayed",
            "fields": {"employee": {"name": "Kim Replay"}, "start_date": "2027-06-01", "department": "people"},
        }
    ).encode()
    token = stack.staff_token()

    def post(path: str, payload: bytes, correlation_id: str, **extra: str) -> tuple[int, dict[str, str], bytes]:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        return stack.api.handle("POST", path, {**headers, "X-Correlation-Id": correlation_id, **extra}, payload)

    run = uuid.uuid4().hex
    key = f"replay-{run}"
    with bus_probe(stack) as probe:
        first = post("/cases", body, f"{run}-first", **{"Idempotency-Key": key})
        assert first[0] == 201, first[2]
        replay = post("/cases", body, f"{run}-replay", **{"Idempotency-Key": key})
        assert replay[0] == 201, replay[2]
        assert header(replay[1], "Idempotent-Replayed") == "true"
        duplicate = json.dumps({"key": "employee-onboarding", "name": "Again", "stages": [{"key": "s", "name": "S"}]})
        assert post("/templates", duplicate.encode(), f"{run}-duplicate")[0] == 422
        after = post("/cases", body, f"{run}-after")
        assert after[0] == 201, after[2]

        def ours() -> list[str]:
            return [
                seen["detail"]["correlation_id"]
                for seen in probe.poll()
                if seen["detail"]["correlation_id"].startswith(run)
            ]

        wait_until(lambda: f"{run}-after" in ours(), what="the event of the write after the cancelled ones")
        assert sorted(ours()) == [f"{run}-after", f"{run}-first"]
    case_id = json.loads(after[2])["id"]
    entries = wait_until(lambda: timeline(stack, case_id), what="its timeline")
    assert [entry["event"]["type"] for entry in entries] == ["case.opened"]


def test_a_token_signed_by_another_key_is_rejected(stack: LocalStack) -> None:
    impostor = DevIdentityProvider(stack.idp.issuer)  # same issuer and client, a fresh RSA key
    assert impostor.key_id != stack.idp.key_id
    token = impostor.issue(subject="dev-impostor", email="impostor@example.org", groups=["caseline-admins"])
    response = stack.api.handle("GET", "/cases", {"Authorization": f"Bearer {token}"}, None)
    # Refused by the API's authorizer, before the service (API Gateway's answer in AWS).
    assert assert_problem(response, 401)["detail"] == "A valid bearer token is required."
    status, _body = stack.request("GET", "/cases", token=stack.staff_token())
    assert status == 200, "the real issuer's tokens still work"


def test_the_dev_issuer_publishes_its_key(stack: LocalStack) -> None:
    status, headers, raw = stack.api.handle("GET", "/dev-idp/.well-known/jwks.json", {}, None)
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    keys = json.loads(raw)["keys"]
    assert [key["kid"] for key in keys] == [stack.idp.key_id]
    assert keys[0]["kty"] == "RSA"
    assert "d" not in keys[0], "the JWKS must hold only the public key"
