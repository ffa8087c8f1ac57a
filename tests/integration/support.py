"""Helpers shared by the integration tests: bounded waits, AWS call recording, problem checks, counts."""

import json
import uuid
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from caseline_common.envelope import EventEnvelope
from caseline_common.resources import CASES_TABLE, INSIGHT_TABLE, TIMELINE_TABLE, TenantResourceNames
from chalice.local import LambdaContext
from waiting import wait_until

from caseline.local.pumps import scheduled_event
from caseline.local.stack import LocalStack

__all__ = ["wait_until"]  # shared with the end-to-end tests; integration tests import it from here

Response = tuple[int, dict[str, str], Any]


def api_call(
    stack: LocalStack,
    method: str,
    path: str,
    body: Any = None,
    *,
    token: str,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """Calls the API in-process as the gateway does; the status, the headers and the JSON body (or None)."""
    sent = {"Authorization": f"Bearer {token}", **(headers or {})}
    payload = None
    if body is not None:
        sent["Content-Type"] = "application/json"
        payload = json.dumps(body).encode()
    status, reply_headers, raw = stack.api.handle(method, path, sent, payload)
    return status, dict(reply_headers), json.loads(raw) if raw else None


T = TypeVar("T")

PROBLEM_JSON = "application/problem+json"


class CallRecorder:
    """Records the name of every AWS operation the clients it is registered on make."""

    def __init__(self) -> None:
        self.operations: list[str] = []

    def record(self, model: Any, **_kwargs: Any) -> None:
        self.operations.append(model.name)

    def register(self, *clients: Any) -> None:
        for client in clients:
            client.meta.events.register("before-call", self.record)

    def unregister(self, *clients: Any) -> None:
        for client in clients:
            client.meta.events.unregister("before-call", self.record)


@contextmanager
def recording(*clients: Any) -> Iterator[CallRecorder]:
    recorder = CallRecorder()
    recorder.register(*clients)
    try:
        yield recorder
    finally:
        recorder.unregister(*clients)


def header(headers: Mapping[str, str], name: str) -> str | None:
    return next((value for key, value in headers.items() if key.lower() == name.lower()), None)


def assert_problem(response: tuple[int, Mapping[str, str], bytes], status: int) -> dict[str, Any]:
    """The response is RFC 9457 problem+json with the given status; returns the problem document."""
    actual_status, headers, raw = response
    assert actual_status == status, raw
    content_type = header(headers, "Content-Type") or ""
    assert content_type.split(";")[0].strip() == PROBLEM_JSON, headers
    problem = json.loads(raw)
    assert isinstance(problem, dict)
    assert problem["status"] == status
    for member in ("type", "title"):
        assert isinstance(problem[member], str), problem
        assert problem[member], problem
    return problem


def pointers(problem: Mapping[str, Any]) -> set[str]:
    return {issue["pointer"] for issue in problem.get("errors") or []}


def _count(stack: LocalStack, **query: Any) -> int:
    dynamodb = stack.aws.dynamodb()
    total = 0
    start: Any = None  # a LastEvaluatedKey, given back as it came
    while True:
        page = dynamodb.query(
            TableName=stack.tenant.names.table(CASES_TABLE),
            Select="COUNT",
            **query,
            **({"ExclusiveStartKey": start} if start else {}),
        )
        total += page["Count"]
        start = page.get("LastEvaluatedKey")
        if not start:
            return total


def count_cases(stack: LocalStack) -> int:
    """How many cases the tenant has, by the `by_updated` index (never a Scan)."""
    return _count(
        stack,
        IndexName="by_updated",
        KeyConditionExpression="gsi3pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "CASES"}},
    )


def count_templates(stack: LocalStack) -> int:
    return _count(
        stack,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "TEMPLATES"}},
    )


def queue_depth(stack: LocalStack, url: str) -> int:
    attributes = stack.aws.sqs().get_queue_attributes(
        QueueUrl=url,
        AttributeNames=[
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ],
    )["Attributes"]
    return sum(int(value) for value in attributes.values())


def run_scheduled(stack: LocalStack, function_name: str) -> Any:
    """Invokes the stack's own copy of a scheduled function now, as EventBridge Scheduler would."""
    context = LambdaContext(function_name=function_name, memory_size=512, max_runtime_ms=60_000)
    context.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
    return stack.functions[function_name].function(function_name)(scheduled_event(function_name), context)


def timeline(stack: LocalStack, case_id: str) -> list[dict[str, Any]]:
    """The case's timeline entries, or [] while it has none (not yet arrived: 503, or 404 for an older id)."""
    status, body = stack.request("GET", f"/cases/{case_id}/timeline?limit=200")
    if status in (404, 503):
        return []
    assert status == 200, body
    items: list[dict[str, Any]] = body["items"]
    return items


def timeline_table(stack: LocalStack) -> str:
    return stack.tenant.names.table(TIMELINE_TABLE)


def stored_items(stack: LocalStack, case_id: str, prefix: str) -> list[dict[str, Any]]:
    """The case's raw timeline items whose sort key starts with `prefix` (LINK#, EVENT#, HEAD), in key order."""
    dynamodb = stack.aws.dynamodb()
    items: list[dict[str, Any]] = []
    query: dict[str, Any] = {
        "TableName": timeline_table(stack),
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
        "ExpressionAttributeValues": {":pk": {"S": f"CASE#{case_id}"}, ":prefix": {"S": prefix}},
        "ConsistentRead": True,
    }
    while True:
        page = dynamodb.query(**query)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def stored_links(stack: LocalStack, case_id: str) -> list[dict[str, Any]]:
    """The case's LINK# items as stored, `record` decoded (compressed, or plain as older links are), oldest first."""
    return [
        {"sk": item["sk"]["S"], "hash": item["hash"]["S"], "record": json.loads(_record_text(item["record"]))}
        for item in stored_items(stack, case_id, "LINK#")
    ]


def _record_text(attribute: dict[str, Any]) -> str:
    return zlib.decompress(attribute["B"]).decode() if "B" in attribute else str(attribute["S"])


@dataclass(frozen=True)
class BusProbe:
    """A queue of our own on the tenant bus, behind the same rule pattern as the consumers' queues."""

    stack: LocalStack
    url: str
    seen: list[dict[str, Any]] = field(default_factory=list)

    def poll(self) -> list[dict[str, Any]]:
        """Every bus event received so far (and acknowledged), oldest first."""
        sqs = self.stack.aws.sqs()
        messages = sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        for message in messages:
            self.seen.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
        return self.seen

    def receive(self, events: list[EventEnvelope], timeout: float = 10.0) -> list[dict[str, Any]]:
        """The bus events that carried `events`, each exactly once; other events on the bus are skipped."""
        wanted = {event.event_id for event in events}

        def carried() -> list[dict[str, Any]]:
            return [seen for seen in self.poll() if seen["detail"]["event_id"] in wanted]

        wait_until(
            lambda: {seen["detail"]["event_id"] for seen in carried()} == wanted,
            what="events on the bus",
            timeout=timeout,
        )
        found = carried()
        assert len(found) == len(wanted), "an event was delivered twice"
        return found


@contextmanager
def bus_probe(stack: LocalStack) -> Iterator[BusProbe]:
    name = f"caseline-{stack.options.tenant_id}-probe-{uuid.uuid4().hex[:8]}"
    sqs, events = stack.aws.sqs(), stack.aws.events()
    bus = stack.tenant.names.event_bus()
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern = stack.tenant.queues["timeline_consumer"].spec.event_pattern
    events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "probe", "Arn": arn}])
    try:
        yield BusProbe(stack, url)
    finally:
        events.remove_targets(Rule=name, EventBusName=bus, Ids=["probe"])
        events.delete_rule(Name=name, EventBusName=bus)
        sqs.delete_queue(QueueUrl=url)


def insight_environment(names: TenantResourceNames, region: str, lake_bucket: str, engine_dir: str) -> dict[str, str]:
    """The settings the insight service reads at cold start, for a tenant on moto (no endpoint override)."""
    return {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": region,
        "CASELINE_TENANT_ID": names.tenant_id,
        "CASELINE_AWS_REGION": region,
        "CASELINE_EVENT_BUS_NAME": names.event_bus(),
        "CASELINE_OIDC_ISSUER": "https://issuer.example",
        "CASELINE_OIDC_CLIENT_IDS": '["console"]',
        "CASELINE_INSIGHT_TABLE": names.table(INSIGHT_TABLE),
        "CASELINE_LAKE_BUCKET": lake_bucket,
        "CASELINE_INSIGHT_ENGINE": f"duckdb://{engine_dir}",
    }
