"""Lag under a sustained rate (issue 14): field changes at RATE a second for SECONDS over CASES cases.

Each change is a PATCH through the in-process API setting the field `seq` to the change's number. A rule runs on
every field change (it comments on the case, so its run sends a command as rules do), and a webhook subscription
to case.fields_changed points at a receiver on 127.0.0.1. From the moment each PATCH is sent, it measures:

- timeline lag: until the timeline consumer has appended the change (it returns only once it has);
- automation run lag: until the automations consumer has handled it, which records the rule's run;
- webhook delivery lag: until the receiver got the delivery;
- search index lag: until the search indexer has committed the change to the engine (findable from then on: the
  embedded engine's searcher reloads before every search); after the run, each case is searched for its last value.

The rate starts WARMUP_SECONDS before the measured SECONDS, without a pause: the first seconds are the local
stack's cold starts (every instance of every queue's function loads its clients and caches at its first batch,
all of them at once in one interpreter), which the startup benchmark measures; their p95 is printed apart.

The consumers are watched through their pumps' observers, which see every invocation of every instance without
changing what runs (a stack whose pumps have none: by wrapping the handler, which there is the only instance).
Whatever has not arrived SETTLE_SECONDS after the last change counts as pending.
"""

import json
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from typing import Any

from rich.console import Console

from caseline.local.stack import LocalStack
from caseline.local.webhook_receiver import webhook_receiver

RATE = 10  # changes a second
SECONDS = 25
WARMUP_SECONDS = 5
CASES = 10
SETTLE_SECONDS = 15.0
TEMPLATE_KEY = "bench-lag"
PLAIN_TEMPLATE_KEY = "bench-lag-plain"
console = Console()

TEMPLATE = {
    "key": TEMPLATE_KEY,
    "name": "Bench lag",
    "fields": [{"key": "seq", "label": "Sequence", "type": "number"}],
    "stages": [{"key": "open", "name": "Open"}, {"key": "done", "name": "Done", "next": []}],
    "rules": [
        {
            "key": "note_change",
            "name": "Note each change",
            "trigger": {"event_type": "case.fields_changed"},
            "condition": {">=": [{"var": "fields.seq"}, 0]},
            "actions": [{"type": "add_comment", "body": "Sequence {{ fields.seq }} noted."}],
        }
    ],
}


class Arrivals:
    """When each change (by its `seq`) reached each place, in time.perf_counter()."""

    def __init__(self) -> None:
        self.sent: dict[int, float] = {}
        self.seen: dict[str, dict[int, float]] = {
            "timeline": {},
            "automation run": {},
            "webhook delivery": {},
            "search index": {},
        }
        self._lock = threading.Lock()

    def arrived(self, where: str, seq: int) -> None:
        now = time.perf_counter()
        with self._lock:
            self.seen[where].setdefault(seq, now)

    def lags_ms(self, where: str, *, measured: bool = True) -> list[float]:
        return [
            (at - self.sent[seq]) * 1000
            for seq, at in self.seen[where].items()
            if seq in self.sent and (seq >= WARMUP_SECONDS * RATE) == measured
        ]

    def measured(self) -> set[int]:
        return {seq for seq in self.sent if seq >= WARMUP_SECONDS * RATE}

    def pending(self, where: str) -> int:
        return len(set(self.sent) - set(self.seen[where]))


def _change_seq(event: dict[str, Any]) -> int | None:
    """The `seq` a case.fields_changed envelope set, if it is one of ours."""
    if event.get("type") != "case.fields_changed":
        return None
    after = ((event.get("data") or {}).get("changes") or {}).get("seq", {}).get("after")
    return int(after) if isinstance(after, int | float) else None


def _observer(arrivals: Arrivals, where: str) -> Callable[[list[dict[str, Any]], set[str]], None]:
    def observe(records: list[dict[str, Any]], failed: set[str]) -> None:
        if "*" in failed:
            return
        for record in records:
            if record["messageId"] in failed:
                continue
            seq = _change_seq(json.loads(record["body"]).get("detail") or {})
            if seq is not None:
                arrivals.arrived(where, seq)

    return observe


@contextmanager
def _watching(stack: LocalStack, arrivals: Arrivals) -> Iterator[None]:
    watched = {
        "queue:timeline_consumer": "timeline",
        "queue:automations_consumer": "automation run",
        # The indexer returns once the change is committed to the engine, which every search then reads.
        "queue:search_indexer": "search index",
    }
    restore: list[Callable[[], None]] = []
    for pump in stack.pumps:
        where = watched.get(pump.name)
        if where is None:
            continue
        observe = _observer(arrivals, where)
        observers = getattr(pump, "observers", None)
        if observers is not None:
            observers.append(observe)
            restore.append(partial(observers.remove, observe))
            continue
        handler = pump.handler  # type: ignore[attr-defined]

        def wrapped(event: dict[str, Any], context: Any, handler: Any = handler, observe: Any = observe) -> Any:
            response = handler(event, context)
            failures = {failure["itemIdentifier"] for failure in (response or {}).get("batchItemFailures", [])}
            observe(event["Records"], failures)
            return response

        pump.handler = wrapped  # type: ignore[attr-defined]
        restore.append(partial(setattr, pump, "handler", handler))
    try:
        yield
    finally:
        for undo in restore:
            undo()


def _receiver(arrivals: Arrivals) -> Any:
    def arrived(_headers: Any, body: bytes) -> int:
        seq = _change_seq(json.loads(body).get("data") or {})
        if seq is not None:
            arrivals.arrived("webhook delivery", seq)
        return 204

    return webhook_receiver(arrived, path="/lag")


def _call(
    stack: LocalStack, method: str, path: str, body: Any, token: str, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    all_headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", **(headers or {})}
    payload = None if body is None else json.dumps(body).encode()
    status, _headers, raw = stack.api.handle(method, path, all_headers, payload)
    return status, json.loads(raw) if raw else None


def _cases(stack: LocalStack, token: str, template_key: str) -> list[dict[str, Any]]:
    opened = []
    for index in range(CASES):
        body = {"template_key": template_key, "title": f"Lag {index}", "fields": {"seq": -1 - index}}
        status, case = _call(stack, "POST", "/cases", body, token)
        assert status == 201, case
        opened.append(case)
    return opened


def _wait_until_known(stack: LocalStack, cases: list[dict[str, Any]], token: str) -> None:
    """Until the automations service runs rules for the cases (it has their template and their first event)."""
    deadline = time.monotonic() + 60
    for case in cases:
        while stack.request("GET", f"/automations/runs?case_id={case['id']}", token=token)[0] != 200:
            if time.monotonic() > deadline:
                raise RuntimeError("the automations service never knew the bench cases")
            time.sleep(0.05)


def _drive(stack: LocalStack, cases: list[dict[str, Any]], arrivals: Arrivals, token: str) -> int:
    """Sends RATE changes a second for WARMUP_SECONDS + SECONDS, each on the next case in turn; returns how many
    were refused."""
    versions = {case["id"]: case["version"] for case in cases}
    locks = {case["id"]: threading.Lock() for case in cases}
    refused: list[int] = []

    def change(seq: int) -> None:
        case_id = cases[seq % CASES]["id"]
        with locks[case_id]:
            arrivals.sent[seq] = time.perf_counter()
            if_match = {"If-Match": f'"{versions[case_id]}"'}
            status, body = _call(stack, "PATCH", f"/cases/{case_id}", {"fields": {"seq": seq}}, token, if_match)
            if status == 200:
                versions[case_id] = body["version"]
            else:
                arrivals.sent.pop(seq, None)
                refused.append(status)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="lag-driver") as pool:
        for seq in range(RATE * (WARMUP_SECONDS + SECONDS)):
            delay = started + seq / RATE - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            pool.submit(change, seq)
    return len(refused)


def _settle(arrivals: Arrivals) -> None:
    deadline = time.monotonic() + SETTLE_SECONDS
    while time.monotonic() < deadline and any(arrivals.pending(where) for where in arrivals.seen):
        time.sleep(0.1)


def _found_by_last_value(stack: LocalStack, cases: list[dict[str, Any]], arrivals: Arrivals, token: str) -> int:
    """How many cases `GET /search` finds by the value their last change set."""
    found = 0
    for index, case in enumerate(cases):
        last = max((seq for seq in arrivals.sent if seq % CASES == index), default=None)
        if last is None:
            continue
        status, body = _call(stack, "GET", f"/search?q={last}&limit=100", None, token)
        found += status == 200 and any(item["case_id"] == case["id"] for item in body["items"])
    return found


def _quantile(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1] if len(samples) > 1 else samples[0]


def lag(stack: LocalStack) -> None:
    """The rate with a rule commenting on each change and a webhook per change (issue 14's load)."""
    token = stack.staff_token()
    arrivals = Arrivals()
    status, body = _call(stack, "POST", "/templates", TEMPLATE, token)
    assert status == 201, body
    with _receiver(arrivals) as url:
        status, hook = _call(stack, "POST", "/webhooks", {"url": url, "event_types": ["case.fields_changed"]}, token)
        assert status == 201, hook
        try:
            cases = _cases(stack, token, TEMPLATE_KEY)
            _wait_until_known(stack, cases, token)
            with _watching(stack, arrivals):
                refused = _drive(stack, cases, arrivals, token)
                _settle(arrivals)
            found = _found_by_last_value(stack, cases, arrivals, token)
        finally:
            _call(stack, "DELETE", f"/webhooks/{hook['id']}", None, token)
    _report(stack, arrivals, refused, found, "a rule comments on each; a webhook per change")


def plain_lag(stack: LocalStack) -> None:
    """The rate alone, no rule and no webhook (issue 20's figure: a change until it is findable)."""
    token = stack.staff_token()
    arrivals = Arrivals()
    plain = {**TEMPLATE, "key": PLAIN_TEMPLATE_KEY, "name": "Bench lag, no rule", "rules": []}
    status, body = _call(stack, "POST", "/templates", plain, token)
    assert status == 201, body
    cases = _cases(stack, token, PLAIN_TEMPLATE_KEY)
    _wait_until_known(stack, cases, token)
    arrivals.seen = {where: seen for where, seen in arrivals.seen.items() if where in ("timeline", "search index")}
    with _watching(stack, arrivals):
        refused = _drive(stack, cases, arrivals, token)
        _settle(arrivals)
    found = _found_by_last_value(stack, cases, arrivals, token)
    _report(stack, arrivals, refused, found, "no rule, no webhook")


def _report(stack: LocalStack, arrivals: Arrivals, refused: int, found: int, load: str) -> None:
    parts = []
    for where in arrivals.seen:
        lags, warming = arrivals.lags_ms(where), arrivals.lags_ms(where, measured=False)
        figures = (
            f"p50 {statistics.median(lags):.0f} ms, p95 {_quantile(lags, 95):.0f} ms, max {max(lags):.0f} ms"
            if lags
            else "nothing arrived"
        )
        warm_up = f"; warm-up p95 {_quantile(warming, 95):.0f} ms" if warming else ""
        parts.append(f"{where} {figures} ({arrivals.pending(where)} pending{warm_up})")
    concurrency = ", ".join(
        f"{pump.name.removeprefix('queue:')} {getattr(pump, 'peak_concurrency', 0)}"
        for pump in stack.pumps
        if hasattr(pump, "peak_concurrency")
    )
    console.print(
        f"Lag under load, {len(arrivals.measured())} field changes at {RATE}/s for {SECONDS} s over {CASES} cases, "
        f"after {WARMUP_SECONDS} s at the same rate ({load}), from each PATCH "
        f"sent{f' ({refused} refused)' if refused else ''}; pending {SETTLE_SECONDS:.0f} s after the last change: "
        + "; ".join(parts)
        + (f". Most invocations at once per queue: {concurrency}" if concurrency else "")
        + f". Searched for the value of its last change, {found} of {CASES} cases were found"
    )
