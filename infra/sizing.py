"""Measures each Lambda function's cold-start import time and peak memory, and turns them into memory sizes.

`python -m infra.sizing` starts the AWS emulator, provisions a tenant from the resource specs, and for every
function runs, in a fresh interpreter each time (a cold start):

1. the import Lambda performs (`app` for the API; the entry module, which imports `app` too, for the others),
   timed with `time.perf_counter`;
2. one representative invocation against the emulator: the API renders its OpenAPI document (the heaviest
   request that needs no caller: pydantic builds every schema) and answers its health route; a stream handler
   gets a full batch of 100 outbox INSERT records and publishes them; a queue consumer gets a full batch of bus
   events (its spec's batch size: 10, or the lake writer's 1,000); a scheduled function runs once (the lake's
   compactor over a day of a 100,000-cases-a-month tenant, written before each run: `_seed_lake`);
3. the process's own peak resident set (`VmHWM`) after the import and after the invocation (the peak).

The environment is Lambda's (active tracing sets the trace id and daemon address; the function loads no tracing
SDK) with the variables infra/service_stack.py sets; metrics are written as EMF.

The sizing rule (`memory_for`) and the figures it was applied to are in docs/operations.md; `MEASURED` in
infra/functions.py holds the figures, so synth never measures anything. The list of functions and their timeouts
come from infra/catalog.py, which infra/functions.py reads too (this module imports nothing of that one).
"""

import json
import math
import os
import statistics
import subprocess
import sys
from dataclasses import dataclass

from caseline_common.authorizer import ROUTE_SCOPES_ENV_VAR, RouteScopes
from caseline_common.resources import (
    API_AUTHORIZER,
    CONSUMERS,
    INSIGHT_ENGINE_ENV_VAR,
    PEOPLE_TABLE,
    SEARCH_ENGINE_ENV_VAR,
    USER_POOL_ENV_VAR,
    WORK_QUEUES,
    TenantResourceNames,
    download_environment,
    service_environment,
)

from caseline.paths import COMMON_DIR, SERVICES_DIR
from infra.catalog import Kind, functions
from infra.catalog import timeout_seconds as function_timeout

RUNS = 3
ONE_VCPU_MB = 1769  # Lambda allocates one full vCPU at 1,769 MB, proportionally less below
MEMORY_STEPS = (256, 384, 512, 640, 768, 1024, 1280, 1536, 1769)
HEADROOM = 2.0
# Cold-start budget for functions a person or the event lag waits on; queue consumers absorb cold starts.
LATENCY_BUDGET_MS = {"api": 600.0, "stream": 1000.0, "authorizer": 600.0}  # an authorizer: on a request's path

_PROBE = r"""
import json, resource, sys, time
service, function, kind, batch_size = *sys.argv[1:4], int(sys.argv[4])
def high_water_kb():
    # VmHWM is this process's own peak; ru_maxrss also keeps the parent's size from before exec on Linux.
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
import app as app_module
if kind != "api":
    import importlib
    handler = None
    for candidate in app_module.app.pure_lambda_functions:
        if candidate.name == function:
            module, attribute = candidate.handler_string.rsplit(".", 1)
            handler = getattr(importlib.import_module(module), attribute)
    assert handler is not None, function
else:
    handler = app_module.app
import_ms = (time.perf_counter() - started) * 1000
rss_import = high_water_kb()
from chalice.local import LambdaContext
from caseline_common.envelope import Actor, ActorKind, EventEnvelope, new_id
from caseline_common.event_types import EventType
context = LambdaContext(function_name=function, memory_size=1024, max_runtime_ms=30_000)
actor = Actor(kind=ActorKind.USER, id="sizing", display_name="sizing@example.org")
def envelopes(count):
    case_id = new_id()
    return [EventEnvelope.new(tenant_id="sizing", case_id=case_id, type=EventType.COMMENT_ADDED, actor=actor,
                              correlation_id="sizing", data={"index": index, "text": "x" * 400})
            for index in range(count)]
def api_event(path):
    return {"resource": path, "path": path, "httpMethod": "GET", "headers": {"accept": "application/json"},
            "multiValueHeaders": {}, "queryStringParameters": None, "multiValueQueryStringParameters": None,
            "pathParameters": None, "stageVariables": None, "body": None, "isBase64Encoded": False,
            "requestContext": {"resourcePath": path, "httpMethod": "GET", "path": "/api" + path, "stage": "api",
                               "requestId": "sizing", "identity": {"sourceIp": "127.0.0.1"}}}
started = time.perf_counter()
if kind == "api":
    for path in (f"/openapi/{service}.json", f"/health/{service}"):
        reply = handler(api_event(path), context)
        assert reply["statusCode"] == 200, reply
elif kind == "stream":
    records = []
    for index, event in enumerate(envelopes(100)):
        image = {"pk": {"S": "OUTBOX#" + event.event_id}, "sk": {"S": "OUTBOX"}, "source": {"S": service},
                 "event": {"S": event.to_json()}, "expires_at": {"N": "4102444800"}}
        records.append({"eventID": str(index), "eventName": "INSERT", "eventVersion": "1.1",
                        "eventSource": "aws:dynamodb", "awsRegion": "us-east-1",
                        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2026",
                        "dynamodb": {"ApproximateCreationDateTime": 1767225600, "Keys": {"pk": image["pk"],
                                     "sk": image["sk"]}, "NewImage": image, "SequenceNumber": str(10**20 + index),
                                     "SizeBytes": 900, "StreamViewType": "NEW_IMAGE"}})
    reply = handler({"Records": records}, context)
    assert not reply["batchItemFailures"], reply
elif kind == "consumer":
    records = []
    for index, event in enumerate(envelopes(batch_size)):
        source = "caseline-command.portal" if function == "case_commands" else "caseline.cases"
        body = json.dumps({"version": "0", "id": new_id(), "detail-type": event.type, "source": source,
                           "account": "123456789012", "time": "2027-01-04T09:00:00Z", "region": "us-east-1",
                           "resources": [], "detail": event.model_dump(mode="json")})
        records.append({"messageId": new_id(), "receiptHandle": "sizing", "body": body,
                        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0", "SenderId": "sizing",
                                       "ApproximateFirstReceiveTimestamp": "0"},
                        "messageAttributes": {}, "md5OfBody": "0", "eventSource": "aws:sqs",
                        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:sizing", "awsRegion": "us-east-1"})
    try:  # a consumer whose records all fail raises (Powertools); the work was done all the same
        handler({"Records": records}, context)
    except Exception as error:
        print(f"consumer raised {type(error).__name__}", file=sys.stderr)
elif kind == "authorizer":  # a token refused: the same imports as one accepted (PyJWT, cryptography), no JWKS fetch
    arn = "arn:aws:execute-api:us-east-1:123456789012:sizing/api/GET/cases"
    try:
        handler({"type": "REQUEST", "methodArn": arn, "resource": "/cases", "path": "/cases", "httpMethod": "GET",
                 "headers": {"Authorization": "Bearer x.y.z"}}, context)
    except PermissionError:
        pass
else:
    handler({}, context)
invoke_ms = (time.perf_counter() - started) * 1000
rss_peak = high_water_kb()
print("SIZING " + json.dumps({"import_ms": import_ms, "invoke_ms": invoke_ms, "rss_import_kb": rss_import,
                              "rss_peak_kb": rss_peak}))
"""


@dataclass(frozen=True)
class Measurement:
    service: str
    function: str
    kind: Kind
    import_ms: float
    invoke_ms: float
    rss_import_mb: float
    rss_peak_mb: float


def memory_for(kind: Kind, import_ms: float, invoke_ms: float, rss_peak_mb: float, timeout_seconds: int) -> int:
    """The sizing rule. Lambda gives CPU in proportion to memory (one vCPU at 1,769 MB), so work that takes
    `t` ms on one full core takes about `t * 1769 / memory` ms in Lambda. The smallest step that

    1. holds twice the measured peak (the Lambda runtime's own process, bigger batches and fragmentation), and
    2. for the API and the outbox publisher, imports within the cold-start budget (a person or the event lag
       waits on it): `import_ms * 1769 / memory <= LATENCY_BUDGET_MS[kind]`;
       for queue consumers and schedules, finishes a cold invocation within half its timeout:
       `(import_ms + invoke_ms) * 1769 / memory <= timeout / 2`, so a cold start never times out a batch.
    """
    floor = max(MEMORY_STEPS[0], math.ceil(rss_peak_mb * HEADROOM))
    budget = LATENCY_BUDGET_MS.get(kind)
    for memory in MEMORY_STEPS:
        if memory < floor:
            continue
        scale = ONE_VCPU_MB / memory
        if budget is not None and import_ms * scale <= budget:
            return memory
        if budget is None and (import_ms + invoke_ms) * scale <= timeout_seconds * 1000 / 2:
            return memory
    return MEMORY_STEPS[-1]


def _probe_environment(service: str, function: str, endpoint: str, tenant_id: str, user_pool_id: str) -> dict[str, str]:
    from caseline.local.provision import LOCAL_ACCOUNT_ID

    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": os.pathsep.join([str(SERVICES_DIR / service), str(COMMON_DIR)]),
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": f"caseline-{tenant_id}-{function}",
        # Lambda's runtime API (nothing calls it here): with it, the import pauses the cyclic GC and leaves what only
        # some invocations need to their first (caseline_common/coldstart.py), as in Lambda
        "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001",
        "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
        "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
        "CASELINE_AWS_REGION": "us-east-1",
        "CASELINE_AWS_ENDPOINT_URL": endpoint,
        "CASELINE_OIDC_ISSUER": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_sizing",
        "CASELINE_OIDC_CLIENT_IDS": json.dumps(["sizing"]),
        "CASELINE_PORTAL_BASE_URL": "https://sizing.example.org",
        "CASELINE_MAIL_FROM": "caseline@sizing.example.org",
        "POWERTOOLS_SERVICE_NAME": service,
        "POWERTOOLS_METRICS_NAMESPACE": "Caseline",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "PYDANTIC_DISABLE_PLUGINS": "__all__",
    }
    environment.update(service_environment(TenantResourceNames(tenant_id=tenant_id), service, LOCAL_ACCOUNT_ID))
    environment.update(download_environment(service, "https://downloads.sizing.example.org"))
    if service == "search":  # as deployed: an OpenSearch endpoint (a first invocation of these probes reaches none)
        environment[SEARCH_ENGINE_ENV_VAR] = "https://search-sizing.us-east-1.es.amazonaws.com"
    if (service, function) == (API_AUTHORIZER.service, API_AUTHORIZER.function):
        environment[ROUTE_SCOPES_ENV_VAR] = RouteScopes().model_dump_json()
    if service == "insight":  # as deployed: an Athena workgroup (the probes run no report)
        environment[INSIGHT_ENGINE_ENV_VAR] = "athena://caseline-sizing-insight"
    if service == PEOPLE_TABLE.owner:  # the people directory's refresh reads the tenant's pool
        environment[USER_POOL_ENV_VAR] = user_pool_id
    return environment


def _batch_size(service: str, function: str) -> int:
    """A full batch of the function's queue (unused by other kinds)."""
    queues = [spec for spec in (*CONSUMERS, *WORK_QUEUES) if (spec.service, spec.function) == (service, function)]
    return queues[0].batch_size if queues else 0


# What the lake's compactor merges in an hour of a 100,000-cases-a-month tenant (1.8 M events a month): the current
# day's merged object (57,500 events: all but the last hour) and the hour's 24 batches (2,500 events).
LAKE_DAY_EVENTS, LAKE_HOUR_BATCHES, LAKE_HOUR_EVENTS = 60_000, 24, 2_500


def _seed_lake(endpoint: str, tenant_id: str) -> None:
    """Today's partition of the tenant's lake as the compactor finds it each hour, its other objects removed."""
    from datetime import UTC, datetime, timedelta

    from caseline_common.aws import AwsClients
    from caseline_common.lake import LAKE_COLUMNS
    from caseline_common.resources import LAKE_BUCKET

    from caseline.local.loader import load_service
    from caseline.local.provision import LOCAL_ACCOUNT_ID

    lake_module = load_service("insight").module("chalicelib.adapters.parquet_lake")
    bucket = TenantResourceNames(tenant_id=tenant_id).bucket(LAKE_BUCKET, LOCAL_ACCOUNT_ID)
    lake = lake_module.ParquetLake(AwsClients("us-east-1", endpoint).s3(), bucket)
    lake.delete(lake.keys())
    start = datetime.now(UTC).replace(tzinfo=None, hour=0, minute=0, second=0, microsecond=0)

    def rows(first: int, count: int) -> list[dict[str, object]]:
        found: list[dict[str, object]] = []
        for index in range(first, first + count):
            row: dict[str, object] = {column.name: None for column in LAKE_COLUMNS}
            at = start + timedelta(seconds=index)
            row.update(event_id=f"sizing-{index:06d}", type="case.stage_changed", occurred_at=at,
                       case_id=f"case-{index // 18:05d}", actor_kind="user", actor_id=f"staff-{index % 40}",
                       template_key=f"template-{index % 7}", template_version=1, case_version=index % 18,
                       stage="review", status="open", owner=f"staff-{index % 40}", assigned_role="team",
                       opened_at=start, stage_entered_at=at, from_stage="intake")  # fmt: skip
            found.append(row)
        return found

    merged = LAKE_DAY_EVENTS - LAKE_HOUR_EVENTS
    lake.write(rows(0, merged))
    per_batch = LAKE_HOUR_EVENTS // LAKE_HOUR_BATCHES
    for batch in range(LAKE_HOUR_BATCHES):
        lake.write(rows(merged + batch * per_batch, per_batch))


def measure(
    service: str, function: str, kind: Kind, endpoint: str, tenant_id: str, user_pool_id: str, runs: int = RUNS
) -> Measurement:
    samples = []
    for _ in range(runs):
        if (service, function) == ("insight", "compact_lake"):
            _seed_lake(endpoint, tenant_id)
        completed = subprocess.run(  # noqa: S603 - our own interpreter and probe
            [sys.executable, "-c", _PROBE, service, function, kind, str(_batch_size(service, function))],
            cwd=SERVICES_DIR / service,
            env=_probe_environment(service, function, endpoint, tenant_id, user_pool_id),
            capture_output=True,
            text=True,
            check=False,
        )
        lines = [line for line in completed.stdout.splitlines() if line.startswith("SIZING ")]
        if completed.returncode != 0 or not lines:
            raise RuntimeError(f"{service}/{function}: the probe failed:\n{completed.stderr[-3000:]}")
        samples.append(json.loads(lines[-1].removeprefix("SIZING ")))
    return Measurement(
        service=service,
        function=function,
        kind=kind,
        import_ms=statistics.median(sample["import_ms"] for sample in samples),
        invoke_ms=statistics.median(sample["invoke_ms"] for sample in samples),
        rss_import_mb=max(sample["rss_import_kb"] for sample in samples) / 1024,
        rss_peak_mb=max(sample["rss_peak_kb"] for sample in samples) / 1024,
    )


def measure_all(runs: int = RUNS) -> list[Measurement]:
    from caseline_common.aws import AwsClients

    from caseline.local.emulator import EmulatorProcess
    from caseline.local.provision import provision_tenant

    tenant_id = "sizing"
    emulator = EmulatorProcess("127.0.0.1", 0)
    try:
        previous = {name: os.environ.get(name) for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
        os.environ.update({"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"})
        try:
            provisioned = provision_tenant(AwsClients("us-east-1", emulator.endpoint), tenant_id)
        finally:
            for name, value in previous.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
        return [
            measure(service, function, kind, emulator.endpoint, tenant_id, provisioned.user_pool_id, runs)
            for service, function, kind in functions()
        ]
    finally:
        emulator.stop()


def main() -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Cold start per function (fresh interpreter, median of {RUNS}; peak = max)")
    for column in ("service", "function", "kind", "import ms", "1st invoke ms", "RSS import MB", "RSS peak MB"):
        table.add_column(column, justify="left" if column in ("service", "function", "kind") else "right")
    table.add_column("memory MB (rule)", justify="right")
    for found in measure_all():
        table.add_row(
            found.service,
            found.function,
            found.kind,
            f"{found.import_ms:.0f}",
            f"{found.invoke_ms:.0f}",
            f"{found.rss_import_mb:.0f}",
            f"{found.rss_peak_mb:.0f}",
            str(
                memory_for(
                    found.kind,
                    found.import_ms,
                    found.invoke_ms,
                    found.rss_peak_mb,
                    function_timeout(found.service, found.function, found.kind),
                )
            ),
        )
    Console().print(table)


if __name__ == "__main__":
    main()
