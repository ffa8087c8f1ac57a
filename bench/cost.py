"""What one 50-event case costs in AWS, counted from the calls the local stack actually makes.

A case of the demo template is opened and worked through the HTTP API (30 field changes, 10 stage moves, 9
comments: 50 events), with every consumer running, until each has done its part. The emulator's meter
(`caseline/local/meter.py`) counts every billable unit at the wire; Lambda invocations and their durations are
timed around each handler; API Gateway and WAF bill each request. Prices are `infra.cost.Prices`.

Honest limits: handler durations are measured here, against an emulator on loopback, not in Lambda (GB-s
use the deployed memory of each function); an SQS poller's empty receives are a monthly cost, not a case's,
and are shown apart; nothing idle (schedules, alarms, storage) is in the figure, which is what
`python -m infra.cost` adds per month.
"""

import json
import os
import tempfile
import threading
import time
import urllib.request
from collections import defaultdict
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from caseline_common.resources import BUCKETS, CONSUMERS, SIGNING_KEYS, TABLES
from rich.console import Console
from rich.table import Table

from caseline.local import gateway
from caseline.local.meter import ENABLE_VARIABLE, METER_PATH
from caseline.local.pumps import SchedulePump
from caseline.local.stack import LocalStack, StackOptions
from infra.cost import Prices, bench_case_usd
from infra.functions import all_functions
from infra.sizing import ONE_VCPU_MB

FIELD_CHANGES, STAGE_MOVES, COMMENTS = 30, 10, 9
CASE_EVENTS = 1 + FIELD_CHANGES + STAGE_MOVES + COMMENTS
TARGET_USD = 0.001
SETTLE_SECONDS = 60
QUIET_SECONDS = 0.6  # longer than a pump's idle poll interval
console = Console(width=150)


Timing = tuple[float, float]  # (seconds on the clock, seconds of the thread's processor time)


class LambdaMeter:
    """Invocations and their durations per function, timed around each handler the stack runs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.invocations: dict[tuple[str, str], list[Timing]] = defaultdict(list)

    def record(self, service: str, function: str, timing: Timing) -> None:
        with self._lock:
            self.invocations[(service, function)].append(timing)

    def reset(self) -> None:
        with self._lock:
            self.invocations.clear()

    def timed(self, service: str, function: str, handler: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            started, processor = time.perf_counter(), time.thread_time()
            try:
                return handler(*args, **kwargs)
            finally:
                timing = (time.perf_counter() - started, time.thread_time() - processor)
                self.record(service, function, timing)

        return run


def _meter(stack: LocalStack, method: str) -> list[dict[str, Any]]:
    request = urllib.request.Request(f"{stack.aws_endpoint}{METER_PATH}", method=method)
    with urllib.request.urlopen(request, timeout=30) as response:
        return list(json.loads(response.read()))


@contextmanager
def _instrumented(stack: LocalStack, lambdas: LambdaMeter) -> Iterator[None]:
    owners = {spec.name: spec.service for spec in all_functions() if spec.kind != "api"}
    for pump in stack.pumps:
        function = pump.name.split(":", 1)[1]
        pump.handler = lambdas.timed(owners.get(function, "?"), function, pump.handler)  # type: ignore[attr-defined]
    declared = gateway.LocalApi.__dict__["_invoke"]  # the staticmethod itself, to put back as it was
    original = gateway.LocalApi._invoke

    def invoke(backend: Any, *args: Any) -> Any:
        return lambdas.timed(backend.service.name, "api", original)(backend, *args)

    gateway.LocalApi._invoke = staticmethod(invoke)  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        setattr(gateway.LocalApi, "_invoke", declared)  # noqa: B010 - a class attribute mypy would not let through


@contextmanager
def metered_stack() -> Iterator[tuple[LocalStack, LambdaMeter]]:
    """A local stack whose emulator bills every request, its handlers timed, its schedules paused (a monthly
    cost, not a case's)."""
    lambdas = LambdaMeter()
    os.environ[ENABLE_VARIABLE] = "1"
    try:
        with (
            tempfile.TemporaryDirectory() as state,
            LocalStack(StackOptions(port=0, state_dir=Path(state))) as stack,
            _instrumented(stack, lambdas),
        ):
            for pump in stack.pumps:
                if isinstance(pump, SchedulePump):
                    pump.paused.set()
            yield stack, lambdas
    finally:
        os.environ.pop(ENABLE_VARIABLE, None)


@dataclass(frozen=True)
class CaseBill:
    """What working one case made the stack ask of AWS."""

    lines: list[dict[str, Any]]  # the meter's: product, operation, resource, requests, units
    invocations: dict[tuple[str, str], list[Timing]]
    api_requests: int
    resource_prefix: str

    def dynamodb_units(self, kind: str, *, excluding: Collection[str] = ()) -> float:
        """Write units (index writes included) or read units, every table but those `excluding` names (by id)."""
        left_out = tuple(f"{self.resource_prefix}{table}" for table in excluding)
        lines = [
            line
            for line in self.lines
            if line["product"] == "dynamodb"
            and not any(line["resource"] == name or line["resource"].startswith(f"{name}/") for name in left_out)
        ]
        return float(sum(line["units"] for line in lines if ("write" in line["operation"]) == (kind == "write")))

    def requests(self, product: str, operation_prefix: str = "") -> float:
        return float(
            sum(
                line["requests"]
                for line in self.lines
                if line["product"] == product and line["operation"].startswith(operation_prefix)
            )
        )


def bill_of_a_case(stack: LocalStack, lambdas: LambdaMeter, *, paced: bool = True) -> CaseBill:
    """Works the 50-event case on a metered stack, from a quiet meter to a quiet meter."""
    _quiet(stack)  # the demo tenant's seeding is not the case's cost
    stages = [stage["key"] for stage in _template(stack)["definition"]["stages"]]
    _quiet(stack)
    _meter(stack, "DELETE")
    lambdas.reset()
    case_id, api_requests = _work_a_case(stack, stages, paced=paced)
    _quiet(stack)  # watching only the meter: asking the API whether the work is done would be billed
    bill = CaseBill(
        lines=_meter(stack, "GET"),
        invocations={key: list(durations) for key, durations in lambdas.invocations.items()},
        api_requests=api_requests,
        resource_prefix=f"caseline-{stack.tenant.names.tenant_id}-",
    )
    events = _timeline_length(stack, case_id)
    assert events == CASE_EVENTS, f"{events} events on the timeline"
    return bill


def _work_a_case(stack: LocalStack, stages: list[str], *, paced: bool) -> tuple[str, int]:
    """Opens a case and makes its 49 further changes, each once the stack has done with the one before, as a
    case worked over days is (nothing shares a batch); returns its id and the number of API requests."""
    token = stack.staff_token()
    requests = 0

    def call(method: str, path: str, body: Any = None) -> Any:
        nonlocal requests
        requests += 1
        status, reply = stack.request(method, path, body, token=token)
        assert status < 300, (method, path, status, reply)
        if paced:
            _quiet(stack, QUIET_SECONDS)
        return reply

    fields = {"employee": {"name": "Cost Bench"}, "start_date": "2027-01-04", "department": "finance"}
    case = call("POST", "/cases", {"template_key": "employee-onboarding", "title": "Cost bench", "fields": fields})
    for index in range(FIELD_CHANGES):
        change: dict[str, Any] = {"annual_salary": {"amount": str(50_000 + index), "currency": "EUR"}}
        if index % 3 == 0:
            change["remote"] = not case["fields"].get("remote", False)
        case = call("PATCH", f"/cases/{case['id']}", {"fields": change, "version": case["version"]})
    moves = [*stages[1:], *[stages[-2], stages[-1]] * STAGE_MOVES][:STAGE_MOVES]
    for target in moves:
        back = stages.index(target) < stages.index(case["stage"])
        body = {"to": target, "force": True, "reason": "Bench: moving on regardless"}
        if back:
            body["reason"] = "Bench: one step back"
        case = call("POST", f"/cases/{case['id']}/transitions", body)
    for index in range(COMMENTS):
        call("POST", f"/cases/{case['id']}/comments", {"body": f"Bench comment {index}"})
    return case["id"], requests


def _template(stack: LocalStack) -> Any:
    status, template = stack.request("GET", "/templates/employee-onboarding", token=stack.staff_token())
    assert status == 200, template
    return template


def _timeline_length(stack: LocalStack, case_id: str) -> int:
    status, verification = stack.request("GET", f"/cases/{case_id}/timeline/verify", token=stack.staff_token())
    assert status == 200, verification
    return int(verification["length"])


def _moved_by_work(line: dict[str, Any]) -> bool:
    """Pollers reading an idle stream or queue move the meter too; they are not work."""
    return bool(line["product"] != "dynamodb streams" and line["operation"] != "ReceiveMessage (empty)")


def _quiet(stack: LocalStack, pause: float = 2.0) -> None:
    """Until the meter stops moving for `pause` seconds: every consumer has done its part."""
    deadline = time.monotonic() + SETTLE_SECONDS
    previous: Any = None
    while time.monotonic() < deadline:
        current = [line for line in _meter(stack, "GET") if _moved_by_work(line)]
        if current == previous:
            return
        previous = current
        time.sleep(pause)
    raise RuntimeError("the stack did not come to rest")


def _owner_of(resource: str, tenant_prefix: str) -> str:
    """The service that owns a table, queue, bucket or key, from its physical name; the source for events."""
    name = resource.removeprefix(tenant_prefix).split("/")[0]
    owners = {spec.id: spec.owner for spec in (*TABLES, *BUCKETS, *SIGNING_KEYS)}
    owners.update({spec.name: spec.service for spec in CONSUMERS})
    owners.update({f"{spec.name}-dlq": spec.service for spec in CONSUMERS})
    if name in owners:
        return owners[name]
    if name.startswith("caseline."):
        return name.removeprefix("caseline.")
    return next((owner for stem, owner in owners.items() if name.startswith(stem)), "-")


def cost_of_a_case() -> None:
    with metered_stack() as (stack, lambdas):
        bill = bill_of_a_case(stack, lambdas)
    _print(bill, Prices())


def _print(bill: CaseBill, prices: Prices) -> None:
    lines, invocations, api_requests, prefix = bill.lines, bill.invocations, bill.api_requests, bill.resource_prefix
    memory = {(spec.service, spec.name): spec.memory_mb for spec in all_functions()}
    rows: list[tuple[str, str, str, str, float]] = []  # product, service, what, count, usd
    rows.append(
        (
            "API Gateway",
            "-",
            "REST requests",
            f"{api_requests}",
            api_requests * prices.api_gateway_rest_per_million / 1e6,
        )
    )
    rows.append(("WAF", "-", "requests inspected", f"{api_requests}", api_requests * prices.waf_per_million / 1e6))
    for (service, function), durations in sorted(invocations.items()):
        memory_mb = memory.get((service, function), 1024)
        seconds = sum(_lambda_seconds(timing, memory_mb) for timing in durations)
        gb_seconds = seconds * memory_mb / 1024
        usd = len(durations) * prices.lambda_per_million / 1e6 + gb_seconds * prices.lambda_gb_second_arm
        rows.append(
            (
                "Lambda",
                service,
                f"{function}: {len(durations)} invocations of {seconds / len(durations) * 1000:.0f} ms "
                f"at {memory_mb} MB, {gb_seconds:.2f} GB-s",
                str(len(durations)),
                usd,
            )
        )
    for line in lines:
        product, operation, resource = line["product"], line["operation"], line["resource"]
        owner = _owner_of(resource, prefix)
        if product == "dynamodb":
            write = operation.startswith(("write", "index write"))
            unit_price = prices.dynamodb_write_per_million if write else prices.dynamodb_read_per_million
            usd = line["units"] * unit_price / 1e6
            what = f"{operation} {resource.removeprefix(prefix)}: {line['units']:g} {'WRU' if write else 'RRU'}"
        elif product == "sqs":
            usd = 0.0 if operation == "ReceiveMessage (empty)" else line["requests"] * prices.sqs_per_million / 1e6
            what = f"{operation} {resource.removeprefix(prefix)}" + (
                " (idle polling: per month, not per case)" if usd == 0 else ""
            )
        elif product == "eventbridge":
            usd = line["requests"] * prices.eventbridge_events_per_million / 1e6
            what = f"events from {resource}"
        elif product == "s3":
            per_thousand = prices.s3_get_per_thousand if "(GET)" in operation else prices.s3_put_per_thousand
            usd = line["requests"] * per_thousand / 1000
            what = f"{operation} {resource.removeprefix(prefix)}"
        elif product == "kms":
            usd = line["requests"] * prices.kms_per_ten_thousand / 10_000
            what = operation
        else:  # stream reads by Lambda are free, and anything else is listed at no price
            usd, what = 0.0, f"{operation} (free to Lambda triggers)" if product == "dynamodb streams" else operation
        rows.append((product, owner, what, f"{line['requests']:g}", usd))
    _print_rows(rows, api_requests)


def _lambda_seconds(timing: Timing, memory_mb: int) -> float:
    """A local invocation's duration in Lambda: its processor time stretched by the share of a vCPU the function's
    memory buys (one at 1,769 MB), its waiting (on AWS, here on the emulator) as it was; billed per millisecond."""
    wall, processor = timing
    seconds = processor * max(1.0, ONE_VCPU_MB / memory_mb) + max(0.0, wall - processor)
    return max(0.001, round(seconds, 3))


def _print_rows(rows: list[tuple[str, str, str, str, float]], api_requests: int) -> None:
    table = Table(title=f"AWS cost of one 50-event case ({api_requests} API requests), counted at the wire")
    for column in ("product", "service", "what", "requests", "USD"):
        table.add_column(column, justify="right" if column in ("requests", "USD") else "left")
    for product, service, what, count, usd in rows:
        if usd or product in ("dynamodb streams",):
            table.add_row(product, service, what, count, f"{usd:.7f}")
    console.print(table)
    by_product: dict[str, float] = defaultdict(float)
    by_service: dict[str, float] = defaultdict(float)
    for product, service, _what, _count, usd in rows:
        by_product[product] += usd
        by_service[service] += usd
    total = sum(by_product.values())
    summary = Table(title="Cost of the case by AWS product and by service")
    for column in ("group", "USD", "share"):
        summary.add_column(column, justify="right" if column != "group" else "left")
    for name, usd in sorted(by_product.items(), key=lambda each: -each[1]):
        summary.add_row(name, f"{usd:.6f}", f"{usd / total:.0%}")
    for name, usd in sorted(by_service.items(), key=lambda each: -each[1]):
        summary.add_row(f"service: {name}", f"{usd:.6f}", f"{usd / total:.0%}")
    console.print(summary)
    verdict = "meets" if total <= TARGET_USD else "MISSES"
    console.print(f"One 50-event case costs ${total:.5f} all-in; goal ${TARGET_USD:.3f}: {verdict} the goal")
    modelled = bench_case_usd()
    console.print(
        f"infra/cost.py prices the same case at ${sum(modelled.values()):.5f}: "
        + ", ".join(
            f"{product} ${usd:.6f} (counted ${by_product.get(product, 0.0):.6f})" for product, usd in modelled.items()
        )
    )
