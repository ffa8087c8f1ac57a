"""`make bench`: AWS calls and latency per API operation against bare calls, handler import times, event lag.

Everything runs against an in-process local stack on free loopback ports. Ratios compare like with like on
the same emulator, which is what makes them meaningful on a noisy machine; absolute numbers are not.
"""

import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from caseline.local.stack import LocalStack, StackOptions
from caseline.paths import COMMON_DIR, SERVICES_DIR

ROUNDS = 200
IMPORT_RUNS = 7
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

    def bare_open() -> None:
        bare.get_item(TableName=cases_table, Key={"pk": {"S": "TEMPLATES"}, "sk": {"S": "employee-onboarding"}})
        item_id = f"BENCH#{time.perf_counter_ns()}"
        bare.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": cases_table, "Item": {"pk": {"S": item_id}, "sk": {"S": "CASE"}}}},
                {"Put": {"TableName": cases_table, "Item": {"pk": {"S": f"{item_id}#O"}, "sk": {"S": "X"}}}},
            ]
        )

    operations: list[tuple[str, Callable[[], Any], Any, Callable[[], Any]]] = [
        ("POST /cases", request("POST", "/cases", body), cases_client, bare_open),
        (
            "GET /cases/{id}",
            request("GET", f"/cases/{case_id}"),
            cases_client,
            lambda: bare.get_item(TableName=cases_table, Key={"pk": {"S": f"CASE#{case_id}"}, "sk": {"S": "CASE"}}),
        ),
        (
            "GET /cases?status=open",
            request("GET", "/cases?status=open&limit=25"),
            cases_client,
            lambda: bare.query(
                TableName=cases_table,
                IndexName="by_status",
                KeyConditionExpression="gsi1pk = :pk",
                ExpressionAttributeValues={":pk": {"S": "STATUS#open"}},
                Limit=25,
            ),
        ),
        (
            "GET /cases/{id}/timeline",
            request("GET", f"/cases/{case_id}/timeline"),
            timeline_client,
            lambda: bare.query(
                TableName=timeline_table,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": f"CASE#{case_id}"}},
                Limit=50,
            ),
        ),
    ]
    table = Table(title=f"API operations (median of {ROUNDS}, in-process, same moto server)")
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


def event_lag(stack: LocalStack) -> None:
    token = stack.staff_token()
    lags = []
    for index in range(20):
        body = {"template_key": "employee-onboarding", "title": f"Lag {index}", "fields": _fields()}
        started = time.perf_counter()
        status, case = stack.request("POST", "/cases", body, token=token)
        assert status == 201, case
        while stack.request("GET", f"/cases/{case['id']}/timeline", token=token)[0] != 200:
            time.sleep(0.005)
        lags.append((time.perf_counter() - started) * 1000)
    console.print(
        f"Event lag, POST /cases until case.opened is on the timeline (stream pump -> bus -> SQS pump), "
        f"20 cases: median {statistics.median(lags):.0f} ms, max {max(lags):.0f} ms"
    )


def _import_seconds(code: str, cwd: Path) -> float:
    runs = []
    for _ in range(IMPORT_RUNS):
        output = subprocess.run(
            [sys.executable, "-c", f"import time; t = time.perf_counter(); {code}; print(time.perf_counter() - t)"],
            cwd=cwd,
            env={"PYTHONPATH": f"{cwd}:{COMMON_DIR}", "PATH": "/usr/bin:/bin", "CASELINE_TENANT_ID": "bench"},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        runs.append(float(output.strip().splitlines()[-1]))
    return statistics.median(runs)


def import_times() -> None:
    with tempfile.TemporaryDirectory() as empty:
        baseline = _import_seconds("import boto3", Path(empty))
    table = Table(title=f"Handler module import in a fresh interpreter (median of {IMPORT_RUNS})")
    for column in ("module", "ms", "vs import boto3"):
        table.add_column(column, justify="right" if column != "module" else "left")
    table.add_row("import boto3", f"{baseline * 1000:.0f}", "1.00x")
    for service in ("cases", "timeline", "automations", "portal"):
        seconds = _import_seconds("import app", SERVICES_DIR / service)
        table.add_row(f"{service}/app.py", f"{seconds * 1000:.0f}", f"{seconds / baseline:.2f}x")
    console.print(table)


def _table(table_id: str) -> Any:
    from caseline_common.resources import TABLES

    return next(table for table in TABLES if table.id == table_id)


def _fields() -> dict[str, Any]:
    return {"employee": {"name": "Bench Person"}, "start_date": "2027-01-04", "department": "finance"}


def main() -> None:
    import_times()
    with tempfile.TemporaryDirectory() as state, LocalStack(StackOptions(port=0, state_dir=Path(state))) as stack:
        console.print(f"Local stack at {stack.url}; emulator at {stack.aws_endpoint}")
        api_operations(stack)
        event_lag(stack)
    console.print(json.dumps({"python": sys.version.split()[0]}))


if __name__ == "__main__":
    main()
