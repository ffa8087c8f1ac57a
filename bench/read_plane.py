"""The read plane at organisation scale (issue 20): a search page and a task-inbox page at 1k and 100k cases.

Search: SCALES cases are rendered by the search service's own code (two access classes each: a role that sees every
field and one that does not) and written into the local stack's embedded engine, then `GET /search` is timed through
the in-process API as a member of staff who reads through a group (so every query carries the access filter), with
the AWS calls it makes counted. The goal is p95 <= 150 ms at 100k cases on the embedded engine.

The task inbox: the same cases' tasks are written into the tasks table through the projection's own adapter, then
`GET /tasks` (mine, my team's queue) and `GET /tasks/counts` are timed with their AWS calls, beside a bare Query of
the same index page on the same emulator. moto answers a Query by walking every item of the table (DynamoDB reads
only the page), so at 100k the emulator's own time dominates both: the calls, and the ratio to the bare call, are
the figures that carry over to AWS.
"""

import json
import random
import statistics
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from caseline_common.contracts import CaseSnapshot, TemplateDefinition
from caseline_common.envelope import new_id
from rich.console import Console
from rich.table import Table

from caseline.local.stack import LocalStack

SCALES = (1_000, 100_000)
ROUNDS = 30
BATCH = 500
GROUP = "bench-handlers"
CITIES = ("Köln", "München", "Zürich", "Lyon", "Porto", "Gent", "Turku", "Brno", "Graz", "Malmö")
SURNAMES = ("Becker", "Okafor", "Lindqvist", "Moreau", "Sato", "Novak", "García", "Byrne", "Kowalski", "Rossi")
WORDS = ("leak", "burst", "pipe", "roof", "storm", "theft", "fire", "glass", "flood", "crack", "mould", "boiler")
console = Console()

TEMPLATE = TemplateDefinition.model_validate(
    {
        "key": "bench-claim",
        "name": "Bench claim",
        "fields": [
            {"key": "city", "label": "City", "type": "text"},
            {"key": "policy", "label": "Policy number", "type": "text"},
            {"key": "amount", "label": "Amount", "type": "number"},
            {"key": "client", "label": "Client", "type": "party"},
        ],
        "stages": [
            {
                "key": "intake",
                "name": "Intake",
                "tasks": [{"key": "check", "title": "Check the policy", "assignee_role": "handler"}],
            },
            {"key": "review", "name": "Review"},
            {"key": "done", "name": "Done", "next": []},
        ],
        "roles": [
            {
                "key": "handler",
                "name": "Handler",
                "permissions": ["case.view"],
                "fields": {"*": "edit"},
                "groups": [GROUP],
            },
            {
                "key": "auditor",
                "name": "Auditor",
                "permissions": ["case.view"],
                "fields": {"city": "view"},
                "groups": ["bench-auditors"],
            },
        ],
    }
)


def synthetic_case(number: int, now: datetime, rng: random.Random) -> CaseSnapshot:
    """A realistic claim: words in its title, a city, a policy number, an amount, a client, one open task."""
    opened = now - timedelta(minutes=number)
    assignee = f"bench-user-{number % 50}" if number % 3 else None
    words = " ".join(rng.sample(WORDS, 3))
    return CaseSnapshot.model_validate(
        {
            "id": new_id(),
            "tenant_id": "demo",
            "template_key": TEMPLATE.key,
            "template_version": 1,
            "title": f"{words.capitalize()} at {rng.choice(CITIES)} {number}",
            "owner": f"bench-user-{number % 50}",
            "stage": "intake",
            "stage_entered_at": opened,
            "stage_due_at": opened + timedelta(days=rng.randint(1, 30)),
            "status": "open",
            "fields": {
                "city": rng.choice(CITIES),
                "policy": f"POL-{number:07d}",
                "amount": rng.randint(100, 90_000),
                "client": {"name": f"{rng.choice(('Lukas', 'Ana', 'Mei', 'Tomás'))} {rng.choice(SURNAMES)}"},
            },
            "tasks": [
                {
                    "id": f"task-{number}",
                    "key": "check",
                    "title": "Check the policy",
                    "stage": "intake",
                    "required": True,
                    "assignee": assignee,
                    "assignee_role": "handler",
                    "due_at": opened + timedelta(days=rng.randint(-5, 20)),
                    "created_at": opened,
                    "created_by": "bench",
                }
            ],
            "created_at": opened,
            "created_by": "bench",
            "updated_at": opened,
            "version": 1,
        }
    )


def synthetic_cases(count: int, start: int, now: datetime) -> Iterator[list[CaseSnapshot]]:
    rng = random.Random(start)
    for first in range(start, start + count, BATCH):
        yield [synthetic_case(number, now, rng) for number in range(first, min(first + BATCH, start + count))]


def _percentiles(samples: list[float]) -> tuple[float, float]:
    return statistics.median(samples), statistics.quantiles(samples, n=20, method="inclusive")[18]


def _timed(call: Callable[[], Any], calls: Callable[[], int], rounds: int = ROUNDS) -> tuple[float, float, int]:
    """p50 and p95 in ms of `call` after one warm call, and the AWS calls one call made."""
    call()
    before = calls()
    call()
    made = calls() - before
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    p50, p95 = _percentiles(samples)
    return p50, p95, made


class _Counter:
    def __init__(self, *clients: Any) -> None:
        self.count = 0
        for client in clients:
            client.meta.events.register("before-call", self._counted)

    def _counted(self, **_: Any) -> None:
        self.count += 1


def search_at_scale(stack: LocalStack) -> None:
    search = stack.api.service("search")
    render = search.module("chalicelib.domain.search").render
    engine = search.module("chalicelib.runtime").engine()
    counter = _Counter(search.module("chalicelib.runtime").runtime.aws.dynamodb())
    token = stack.idp.issue(
        subject="bench-user-7", email="bench7@demo.caseline.local", groups=["caseline-staff", GROUP]
    )
    headers = {"Authorization": f"Bearer {token}"}
    now = datetime.now(UTC)
    queries = {
        "a rare word (a policy number)": {"q": "POL-0000777"},
        "a common word": {"q": "storm"},
        "two words, the last a prefix": {"q": "koln bur"},
        "a client's name, accents folded": {"q": "garcia"},
        "no words, by due date": {"sort": "due"},
        "a word and two filters": {"q": "leak", "status": "open", "stage": "intake"},
    }
    table = Table(title="GET /search as a member of staff reading through a group (embedded engine, in-process API)")
    for column in ("cases", "query", "p50 ms", "p95 ms", "AWS calls", "found"):
        table.add_column(column)
    loaded = 0
    for scale in SCALES:
        started = time.perf_counter()
        for page in synthetic_cases(scale - loaded, loaded, now):
            engine.replace_cases({case.id: render(case, TEMPLATE) for case in page})
        console.print(f"Search: {scale - loaded:,} cases indexed in {time.perf_counter() - started:.0f} s")
        loaded = scale
        for name, query in queries.items():
            path = f"/search?{urlencode(query)}"

            def call(path: str = path) -> Any:
                status, _headers, body = stack.api.handle("GET", path, headers, None)
                assert status == 200, body
                return body

            p50, p95, made = _timed(call, lambda: counter.count)
            total = json.loads(call())["total"]
            table.add_row(f"{scale:,}", name, f"{p50:.1f}", f"{p95:.1f}", str(made), f"{total:,}")
    console.print(table)


def inbox_at_scale(stack: LocalStack) -> None:
    tasks = stack.api.service("tasks")
    runtime = tasks.module("chalicelib.runtime")
    client = runtime.runtime.aws.dynamodb()
    table = runtime.runtime.settings.tasks_table
    inbox = tasks.module("chalicelib.adapters.dynamo_inbox").DynamoTaskInbox(stack.aws.dynamodb(), table)
    inbox_change = tasks.module("chalicelib.domain.inbox").inbox_change
    runtime.inbox_service().keep_template(TEMPLATE.key, 1, TEMPLATE)
    counter = _Counter(client)
    bare = stack.aws.dynamodb()
    user = "bench-user-7"
    token = stack.idp.issue(subject=user, email="bench7@demo.caseline.local", groups=["caseline-staff", GROUP])
    headers = {"Authorization": f"Bearer {token}"}
    now = datetime.now(UTC)
    pages = {
        "my tasks (GET /tasks?assignee=me)": ("/tasks?assignee=me", ("by_assignee", "gsi1pk", f"ASSIGNEE#{user}#open")),
        "my team's queue (?role=handler)": ("/tasks?role=handler", ("by_role", "gsi2pk", "ROLE#handler#open")),
        "badges (GET /tasks/counts)": ("/tasks/counts", None),
    }
    result = Table(title="The task inbox as a member of staff reading through a group (in-process API, emulator)")
    for column in ("cases", "page", "p50 ms", "p95 ms", "AWS calls", "bare Query p50 ms"):
        result.add_column(column)
    loaded = 0
    for scale in SCALES:
        started = time.perf_counter()
        for page in synthetic_cases(scale - loaded, loaded, now):
            for case in page:
                inbox.apply(inbox_change(None, case, TEMPLATE), None)  # one transaction per new case, as projected
        console.print(f"Task inbox: {scale - loaded:,} cases projected in {time.perf_counter() - started:.0f} s")
        loaded = scale
        rounds = ROUNDS if scale <= 10_000 else 10  # moto walks every item of the table per Query
        for name, (path, bare_key) in pages.items():

            def call(path: str = path) -> Any:
                status, _headers, body = stack.api.handle("GET", path, headers, None)
                assert status == 200, body
                return body

            p50, p95, made = _timed(call, lambda: counter.count, rounds)
            bare_ms = "—"
            if bare_key is not None:
                index, key, value = bare_key
                query = {
                    "TableName": table,
                    "IndexName": index,
                    "KeyConditionExpression": f"{key} = :key",
                    "ExpressionAttributeValues": {":key": {"S": value}},
                    "Limit": 25,
                }

                def bare_call(query: dict[str, Any] = query) -> Any:
                    return bare.query(**query)

                bare_ms = f"{_timed(bare_call, lambda: 0, rounds)[0]:.1f}"
            result.add_row(f"{scale:,}", name, f"{p50:.1f}", f"{p95:.1f}", str(made), bare_ms)
    console.print(result)
