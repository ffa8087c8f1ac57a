"""`make bench`: AWS calls and latency per API operation against bare calls, handler import times, event lag,
search and the task inbox at 1k and 100k cases, insight reports over a million lake events.

Everything runs against an in-process local stack on free loopback ports. Ratios compare like with like on
the same emulator, which is what makes them meaningful on a noisy machine; absolute numbers are not.
"""

import hashlib
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from caseline_common.chain import GENESIS_HASH, link_event, new_salt, verify_chain
from caseline_common.envelope import Actor, ActorKind, EventEnvelope, new_id
from caseline_common.event_types import EventType
from chalice.local import LambdaContext
from rich.console import Console
from rich.table import Table

from caseline.local.stack import LocalStack, StackOptions

from .automations import automations
from .conditions import conditions
from .console import console_pages
from .cost import cost_of_a_case
from .insight import insight_lake
from .lag import lag, plain_lag
from .read_plane import inbox_at_scale, search_at_scale
from .startup import startup

ROUNDS = 200
LAG_SAMPLES = 40
INGEST_CASES, INGEST_EVENTS_PER_CASE = 25, 20
VERIFY_SIZES = (10, 1_000, 10_000)
VERIFY_THROUGH_API_MAX = 1_000  # 10,000 appends through moto take minutes; the in-memory figure covers it
console = Console()


@contextmanager
def counting(client: Any) -> Iterator[Counter[str]]:
    calls: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    client.meta.events.register("before-call", count)
    try:
        yield calls
    finally:
        client.meta.events.unregister("before-call", count)


def median_ms(action: Callable[[], Any], rounds: int = ROUNDS) -> float:
    action()  # warm
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def api_operations(stack: LocalStack) -> None:
    cases_client = stack.api.service("cases").module("chalicelib.runtime").runtime.aws.dynamodb()
    timeline_client = stack.api.service("timeline").module("chalicelib.runtime").runtime.aws.dynamodb()
    bare = stack.aws.dynamodb()
    cases_table = stack.tenant.names.table(_table("cases"))
    timeline_table = stack.tenant.names.table(_table("timeline"))
    case_id = stack.seeded_case_ids[0]
    token = stack.staff_token()
    body = {"template_key": "employee-onboarding", "title": "Bench case", "fields": _fields()}

    def request(method: str, path: str, payload: Any = None) -> Callable[[], Any]:
        def call() -> Any:
            status, reply = stack.request(method, path, payload, token=token)
            assert status < 300, reply
            return reply

        return call

    # Bare calls do the same work as the product with items of the same size: the stored case item (with its
    # event), its membership item, the head and links of its timeline.
    case_key = {"pk": {"S": f"CASE#{case_id}"}, "sk": {"S": "CASE"}}
    case_item = bare.get_item(TableName=cases_table, Key=case_key, ConsistentRead=True)["Item"]
    member_item = bare.query(
        TableName=cases_table,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :member)",
        ExpressionAttributeValues={":pk": case_key["pk"], ":member": {"S": "MEMBER#"}},
    )["Items"][0]

    def copy_of(item: dict[str, Any], item_id: str) -> dict[str, Any]:
        return {**item, "pk": {"S": item_id}}

    def bare_open() -> None:
        """Read the template's head; write the case item and its opener's membership item in one transaction."""
        bare.get_item(TableName=cases_table, Key={"pk": {"S": "TEMPLATES"}, "sk": {"S": "employee-onboarding"}})
        item_id = f"BENCH#{time.perf_counter_ns()}"
        bare.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": cases_table, "Item": copy_of(case_item, item_id)}},
                {"Put": {"TableName": cases_table, "Item": copy_of(member_item, item_id)}},
            ]
        )

    current = stack.request("GET", f"/cases/{case_id}", token=token)[1]

    def patch_case() -> Any:
        """Flips a field, so every call really changes the case."""
        payload = {"fields": {"remote": not current["fields"].get("remote")}, "version": current["version"]}
        current.update(request("PATCH", f"/cases/{case_id}", payload)())
        return current

    def bare_change() -> None:
        """Read the case; write an item of its size, conditionally, as a field change does."""
        bare.get_item(TableName=cases_table, Key=case_key)
        bare.put_item(
            TableName=cases_table,
            Item=copy_of(case_item, f"BENCH#{time.perf_counter_ns()}"),
            ConditionExpression="attribute_not_exists(pk)",
        )

    def bare_list() -> None:
        """The index page names 25 cases; one BatchGetItem reads them."""
        page = bare.query(
            TableName=cases_table,
            IndexName="by_status",
            KeyConditionExpression="gsi1pk = :pk",
            ExpressionAttributeValues={":pk": {"S": "STATUS#open"}},
            ScanIndexForward=False,
            Limit=25,
        )["Items"]
        keys: list[Any] = [{"pk": item["pk"], "sk": item["sk"]} for item in page]
        bare.batch_get_item(RequestItems={cases_table: {"Keys": keys}})

    def bare_timeline() -> None:
        """The head (who may read), then a page of links."""
        bare.get_item(TableName=timeline_table, Key={"pk": case_key["pk"], "sk": {"S": "HEAD"}}, ConsistentRead=True)
        bare.query(
            TableName=timeline_table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :link)",
            ExpressionAttributeValues={":pk": case_key["pk"], ":link": {"S": "LINK#"}},
            Limit=50,
        )

    operations: list[tuple[str, Callable[[], Any], Any, Callable[[], Any]]] = [
        ("PATCH /cases/{id}", patch_case, cases_client, bare_change),
        ("POST /cases", request("POST", "/cases", body), cases_client, bare_open),
        (
            "GET /cases/{id}",
            request("GET", f"/cases/{case_id}"),
            cases_client,
            lambda: bare.get_item(TableName=cases_table, Key={"pk": {"S": f"CASE#{case_id}"}, "sk": {"S": "CASE"}}),
        ),
        ("GET /cases?status=open", request("GET", "/cases?status=open&limit=25"), cases_client, bare_list),
        ("GET /cases/{id}/timeline", request("GET", f"/cases/{case_id}/timeline"), timeline_client, bare_timeline),
    ]
    table = Table(
        title=f"API operations (median of {ROUNDS}, in-process, same moto server, pumps paused)",
        caption="Bare calls make the operation's AWS calls with items of the product's size: the ratio is the "
        "product's own work (HTTP, auth, validation, access, serialization) on top of the same AWS work",
    )
    for column in ("operation", "AWS calls", "median ms", "bare calls ms", "ratio"):
        table.add_column(column, justify="right" if column != "operation" else "left")
    for name, action, client, bare_action in operations:
        with counting(client) as calls:
            action()
        operation_ms = median_ms(action)
        bare_ms = median_ms(bare_action)
        described = ", ".join(f"{count}x {op}" for op, count in sorted(calls.items()))
        table.add_row(name, described, f"{operation_ms:.2f}", f"{bare_ms:.2f}", f"{operation_ms / bare_ms:.2f}x")
    console.print(table)


def portal_page(stack: LocalStack) -> None:
    """The external participant's case page: AWS calls, server time and bytes sent to a phone."""
    url = stack.demo_portal_link()
    assert url is not None, "the demo claimant's link"
    path = url.removeprefix(stack.url)
    _status, landing_headers, landing = stack.api.handle("GET", path, {}, None)
    csrf = landing.decode().split('name="csrf" value="')[1].split('"')[0]
    landing_cookie = str(landing_headers["Set-Cookie"]).split(";")[0]
    form = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": landing_cookie}
    _status, session_headers, _ = stack.api.handle("POST", f"{path}/session", form, f"csrf={csrf}".encode())
    cookies = session_headers["Set-Cookie"]
    session_cookie = next(
        c for c in (cookies if isinstance(cookies, list) else [cookies]) if c.startswith("cl_session")
    )
    headers = {"Cookie": session_cookie.split(";")[0]}
    portal_client = stack.api.service("portal").module("chalicelib.runtime").runtime.aws.dynamodb()

    def page() -> bytes:
        status, _headers, body = stack.api.handle("GET", "/portal/case", headers, None)
        assert status == 200, body[:200]
        return body

    with counting(portal_client) as calls:
        size = len(page())
    described = ", ".join(f"{count}x {op}" for op, count in sorted(calls.items()))
    assets = sum(
        len(stack.api.handle("GET", f"/portal/assets/{name}", {}, None)[2]) for name in ("portal.css", "portal.js")
    )
    console.print(
        f"Portal case page: {described}; median {median_ms(page, rounds=100):.1f} ms in process; "
        f"{size / 1024:.1f} KiB of HTML plus {assets / 1024:.1f} KiB of CSS and JS (cacheable), no other requests"
    )


def event_lag(stack: LocalStack) -> None:
    token = stack.staff_token()
    lags = []
    for index in range(LAG_SAMPLES):
        body = {"template_key": "employee-onboarding", "title": f"Lag {index}", "fields": _fields()}
        started = time.perf_counter()
        status, case = stack.request("POST", "/cases", body, token=token)
        assert status == 201, case
        while stack.request("GET", f"/cases/{case['id']}/timeline", token=token)[0] != 200:
            time.sleep(0.005)
        lags.append((time.perf_counter() - started) * 1000)
    quantiles = statistics.quantiles(lags, n=20)
    console.print(
        f"Event lag, POST /cases until case.opened is on the timeline (stream pump -> bus -> SQS pump), "
        f"{LAG_SAMPLES} cases: p50 {statistics.median(lags):.0f} ms, p95 {quantiles[18]:.0f} ms, "
        f"max {max(lags):.0f} ms"
    )


def _sqs_event(events: list[EventEnvelope]) -> dict[str, Any]:
    records = []
    for event in events:
        body = json.dumps(
            {
                "version": "0",
                "id": str(uuid.uuid4()),
                "detail-type": event.type,
                "source": "caseline.cases",
                "account": "123456789012",
                "time": event.occurred_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "region": "us-east-1",
                "resources": [],
                "detail": event.model_dump(mode="json"),
            }
        )
        records.append(
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": "bench",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "0",
                    "SenderId": "bench",
                    "ApproximateFirstReceiveTimestamp": "0",
                },
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(body.encode()).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:bench",
                "awsRegion": "us-east-1",
            }
        )
    return {"Records": records}


def _case_events(case_id: str, count: int) -> list[EventEnvelope]:
    actor = Actor(kind=ActorKind.USER, id="bench", display_name="bench@example.org")
    return [
        EventEnvelope.new(
            tenant_id="demo",
            case_id=case_id,
            type=EventType.COMMENT_ADDED,
            actor=actor,
            correlation_id="bench",
            data={"index": index},
        )
        for index in range(count)
    ]


def timeline_ingestion(stack: LocalStack) -> None:
    consumer = stack.functions["timeline_consumer"].function("timeline_consumer")
    context = LambdaContext(function_name="timeline_consumer", memory_size=512, max_runtime_ms=60_000)
    events = [event for _ in range(INGEST_CASES) for event in _case_events(new_id(), INGEST_EVENTS_PER_CASE)]
    started = time.perf_counter()
    for start in range(0, len(events), 10):
        response = consumer(_sqs_event(events[start : start + 10]), context)
        assert not response["batchItemFailures"], response
    consumer_rate = len(events) / (time.perf_counter() - started)
    bare = stack.aws.dynamodb()
    table = stack.tenant.names.table(_table("timeline"))
    started = time.perf_counter()
    for event in events:
        bare.put_item(
            TableName=table,
            Item={"pk": {"S": f"BENCH#{event.case_id}"}, "sk": {"S": event.event_id}, "v": {"S": event.to_json()}},
            ConditionExpression="attribute_not_exists(pk)",
        )
    bare_rate = len(events) / (time.perf_counter() - started)
    console.print(
        f"Timeline ingestion, {len(events)} events in batches of 10 through the consumer handler: "
        f"{consumer_rate:.0f} events/s; bare conditional PutItem: {bare_rate:.0f}/s; "
        f"the consumer takes {bare_rate / consumer_rate:.2f}x the time of a bare put"
    )


def verification_times(stack: LocalStack) -> None:
    table = Table(title="Timeline verification")
    for column in ("events", "verify_chain in memory ms", "GET .../verify ms"):
        table.add_column(column, justify="right")
    consumer = stack.functions["timeline_consumer"].function("timeline_consumer")
    context = LambdaContext(function_name="timeline_consumer", memory_size=512, max_runtime_ms=60_000)
    token = stack.staff_token()
    for count in VERIFY_SIZES:
        case_id = new_id()
        links, previous = [], GENESIS_HASH
        for seq, event in enumerate(_case_events(case_id, count), start=1):
            link = link_event(
                case_id=case_id,
                seq=seq,
                previous_hash=previous,
                event=event,
                recorded_at=event.occurred_at,
                salt=new_salt(),
            )
            links.append(link)
            previous = link.hash
        started = time.perf_counter()
        assert verify_chain(links).valid
        in_memory_ms = (time.perf_counter() - started) * 1000
        endpoint = "-"
        if count <= VERIFY_THROUGH_API_MAX:
            events = _case_events(case_id, count)
            for start in range(0, count, 10):
                consumer(_sqs_event(events[start : start + 10]), context)
            started = time.perf_counter()
            status, verification = stack.request("GET", f"/cases/{case_id}/timeline/verify", token=token)
            endpoint = f"{(time.perf_counter() - started) * 1000:.0f}"
            assert status == 200, verification
            assert verification["valid"], verification
            assert verification["length"] == count, verification
        table.add_row(str(count), f"{in_memory_ms:.1f}", endpoint)
    console.print(table)


def _table(table_id: str) -> Any:
    from caseline_common.resources import TABLES

    return next(table for table in TABLES if table.id == table_id)


def _fields() -> dict[str, Any]:
    return {"employee": {"name": "Bench Person"}, "start_date": "2027-01-04", "department": "finance"}


def _wait_for_seeded_timelines(stack: LocalStack) -> None:
    deadline = time.monotonic() + 30
    while any(stack.request("GET", f"/cases/{case}/timeline")[0] != 200 for case in stack.seeded_case_ids):
        if time.monotonic() > deadline:
            raise RuntimeError("the seeded cases never reached their timelines")
        time.sleep(0.1)


def main() -> None:
    startup()
    conditions()
    insight_lake()
    with tempfile.TemporaryDirectory() as state, LocalStack(StackOptions(port=0, state_dir=Path(state))) as stack:
        console.print(f"Local stack at {stack.url}; emulator at {stack.aws_endpoint}")
        _wait_for_seeded_timelines(stack)
        for pump in stack.pumps:
            pump.paused.set()
        api_operations(stack)
        for pump in stack.pumps:
            pump.paused.clear()
        event_lag(stack)
        lag(stack)
        plain_lag(stack)
        portal_page(stack)
        timeline_ingestion(stack)
        verification_times(stack)
        console_pages(stack)
        search_at_scale(stack)
        inbox_at_scale(stack)
        automations(stack)  # last: it moves the stack's clock
    cost_of_a_case()  # a stack of its own, whose emulator bills every request
    console.print(json.dumps({"python": sys.version.split()[0]}))


if __name__ == "__main__":
    main()
