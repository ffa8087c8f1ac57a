"""What one tenant costs per month: AWS list prices (us-east-1) times requests counted per operation.

`python -m infra.cost` prints the line items at 1,000 and 100,000 cases a month, and the bench's 50-event case as
this model prices it; docs/operations.md explains every assumption. What an event costs in DynamoDB is not
modelled but measured: `MEASURED_EVENT` holds the units `make bench` counts at the wire for its 50-event case
(bench/cost.py), and tests/integration/test_case_cost.py fails when the product drifts from them. Everything
else (how often people read, how many events a case has) is an assumption, stated here. Free tiers are ignored:
a tenant should not depend on the account's other use of them.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from caseline_common.event_types import EventType
from caseline_common.resources import (
    CONSUMERS,
    SCHEDULES,
    STREAM_HANDLERS,
    TABLES,
    WORK_QUEUES,
    ConsumerSpec,
    QueueSpec,
)

from infra.functions import all_functions, data_owners
from infra.tenants import TIER_LIMITS, SearchDomain, Tier

# The bus archive's retention: PITR's window (infra/shared_stack.py PITR_DAYS; not imported, to keep CDK out of
# the cost model).
ARCHIVE_DAYS = 35

HOURS_PER_MONTH = 730
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600


@dataclass(frozen=True)
class Prices:
    """us-east-1 on-demand list prices in USD (AWS pricing pages, late 2025). Check before quoting."""

    lambda_gb_second_arm: float = 0.0000133334
    lambda_per_million: float = 0.20
    api_gateway_rest_per_million: float = 3.50
    waf_web_acl_month: float = 5.00
    waf_rule_month: float = 1.00
    waf_per_million: float = 0.60
    dynamodb_write_per_million: float = 0.625  # on-demand write request units
    dynamodb_read_per_million: float = 0.125  # on-demand read request units
    dynamodb_storage_gb_month: float = 0.25
    dynamodb_pitr_gb_month: float = 0.20
    backup_dynamodb_gb_month: float = 0.10
    eventbridge_events_per_million: float = 1.00  # custom events put on a bus
    eventbridge_archive_gb: float = 0.10
    eventbridge_archive_gb_month: float = 0.023
    scheduler_per_million: float = 1.00
    sqs_per_million: float = 0.40
    s3_gb_month: float = 0.023
    s3_put_per_thousand: float = 0.005
    s3_get_per_thousand: float = 0.0004
    cloudfront_https_per_ten_thousand: float = 0.01  # price class 100 (North America, Europe)
    cloudfront_gb_out: float = 0.085  # first 10 TB; S3 to CloudFront is free
    kms_key_month: float = 1.00
    kms_per_ten_thousand: float = 0.03
    cognito_plus_mau: float = 0.02
    cognito_m2m_client_month: float = 6.00
    cognito_m2m_token_per_thousand: float = 2.25
    logs_ingest_gb: float = 0.50
    logs_storage_gb_month: float = 0.03
    cloudwatch_alarm_month: float = 0.10
    cloudwatch_dashboard_month: float = 3.00
    cloudwatch_custom_metric_month: float = 0.30
    xray_traces_per_million: float = 5.00
    opensearch_instance_hour: dict[str, float] = field(default_factory=lambda: {"m7g.medium.search": 0.068})
    opensearch_gp3_gb_month: float = 0.122
    opensearch_serverless_ocu_hour: float = 0.24  # indexing and search OCUs alike
    opensearch_serverless_gb_month: float = 0.024  # managed storage
    athena_per_tb_scanned: float = 5.00
    athena_minimum_mb: float = 10.0  # each query is billed for at least this much
    glue_catalog_requests_per_million: float = 1.00  # above the catalog's free million a month, ignored here


@dataclass(frozen=True)
class Workload:
    """What a case does in its month, and what a tenant of that size looks like. All assumptions."""

    commands_per_case: int = 12  # field changes, transitions, task completions, a decision
    comments_per_case: int = 3
    documents_per_case: int = 2
    downloads_per_document: int = 2
    reads_per_case: int = 30  # GET case, timeline, lists by staff and integrators
    portal_requests_per_case: int = 10  # pages an external participant opens or posts
    case_item_kb: float = 2.0  # the case with the event of its version
    tasks_per_case: int = 4
    task_item_kb: float = 1.0  # a task of the inbox, kept in its table and copied whole into its three indexes
    search_source_kb: float = 4.0  # the case as the search service keeps it, with its comments
    index_kb_per_case: float = 8.0  # the engine's documents of a case: one per access class, comments included
    index_copy_kb: float = 0.2  # keys and filter attributes; six case indexes
    timeline_entry_kb: float = 1.0  # the link (record compressed), its markers
    document_mb: float = 0.5
    retained_months: int = 12  # cases kept in the tables (storage, PITR, backups)
    staff_per_thousand_cases: float = 20.0
    min_staff: int = 5
    integrator_clients: int = 1
    integrator_token_requests_month: int = 744  # one token an hour, cached
    log_kb_per_invocation: float = 1.5
    access_log_kb_per_request: float = 0.5
    waf_log_kb_per_request: float = 1.5
    event_kb: float = 2.0
    idle_sqs_receives_month: int = 5 * 3 * 60 * HOURS_PER_MONTH  # 5 long-polling pollers, one poll per 20 s
    warm_ms: dict[str, float] = field(
        # Billed ms of a warm invocation: `make bench` times each handler of its 50-event case and stretches its
        # processor time by the vCPU share its memory buys (api ~10 ms, stream ~6, consumers 19-56); rounded up.
        default_factory=lambda: {"api": 20.0, "stream": 10.0, "consumer": 40.0, "schedule": 300.0, "authorizer": 5.0}
    )
    # ASSUMED: the share of token-bearing requests the API's authorizer answers (its answer is cached 5 minutes per
    # token, method and resource; people and clients keep a token an hour and call a handful of routes).
    authorizer_cache_misses: float = 0.25
    xray_reservoir_per_second: float = 1.0
    xray_sample_rate: float = 0.05
    # The event lake (issue 15). ASSUMED, not yet measured: a lake row's share of a zstd Parquet file, and the billed
    # ms of a writer's batch (DuckDB writes a file per day the batch touches and PUTs it); bench/ measures both.
    lake_bytes_per_event: float = 60.0
    lake_batch_ms: float = 300.0
    # The compactor's billed ms a run: its measured first invocation merging an hour at 100,000 cases a month (the
    # current day's object and 24 batches, 60,000 events: 536 ms, DuckDB loaded), rounded up, at every volume.
    lake_compaction_ms: float = 600.0
    # Who reads insight and how: managers (a tenth of staff) open it 20 times a month; a view runs 8 reports over
    # the last 3 months, reading about a quarter of the lake's columns; half the runs are answered from the cache
    # (the same report, range and templates within one delivery of the lake).
    insight_reader_share: float = 0.1
    insight_views_per_reader: int = 20
    reports_per_view: int = 8
    insight_range_months: int = 3
    insight_columns_read: float = 0.25
    insight_cache_hits: float = 0.5

    @property
    def events_per_case(self) -> int:
        return 1 + self.commands_per_case + self.comments_per_case + self.documents_per_case

    @property
    def api_requests_per_case(self) -> int:
        # open + commands + comments + 2 calls per document (upload target, confirm) + reads + portal pages
        return (
            1
            + self.commands_per_case
            + self.comments_per_case
            + 2 * self.documents_per_case
            + self.reads_per_case
            + self.portal_requests_per_case
        )


@dataclass(frozen=True)
class MeasuredEvent:
    """DynamoDB units one case event costs, every table and index of every service (the change, its timeline
    link, the consumers' read models), as `make bench` counted them at the wire for its 50-event case. The change
    feed (GET /events) added 2.0 of the 13.8 writes: the link's copy in the timeline's `by_feed` index, and the
    feed's attributes, which take most links (just under 1 KB before) past one write unit."""

    write_units: float = 13.8
    read_units: float = 4.5


# The consumers of issue 20's read plane (the task inbox, the search index) and issue 16's notifications: priced apart
# so that the case's cost without them, issue 14's goal, and what they add can each be held to a figure
# (tests/infra/test_cost.py).
READ_PLANE_CONSUMERS = frozenset({"tasks_consumer", "search_indexer", "notify_consumer"})
# What the read plane may add to the bench's 50-event case: it counts $0.00016 (SQS $0.00007, DynamoDB $0.00007,
# Lambda $0.00002), with room for a row's worth of growth.
READ_PLANE_BUDGET_USD = 0.0002


MEASURED_EVENT = MeasuredEvent()


@dataclass(frozen=True)
class ConsumerUnits:
    write_units: float
    read_units: float


# DynamoDB units per event each read-plane consumer receives, counted the same way (its own table and indexes),
# apart from MEASURED_EVENT, which is the product without them: the task inbox reads and rewrites a case's head
# (and the entries of the tasks the event changes), the search indexer keeps the case as the event left it (or the
# comment) and reads back what it renders from.
READ_PLANE_UNITS: dict[str, ConsumerUnits] = {
    "tasks_consumer": ConsumerUnits(write_units=1.0, read_units=1.05),
    "search_indexer": ConsumerUnits(write_units=1.76, read_units=1.01),
    # Of the bench's events it receives only the comments, which mention nobody: it reads and writes nothing for
    # them (a mention costs a Query of the directory, a GetItem and a PutItem per person told, and an UpdateItem
    # per e-mail).
    "notify_consumer": ConsumerUnits(write_units=0.0, read_units=0.0),
}


def dynamodb_units_per_case(workload: Workload, measured: MeasuredEvent = MEASURED_EVENT) -> tuple[float, float]:
    """(write request units, read request units) one case consumes in its month, all tables."""
    w = workload
    writes = w.events_per_case * measured.write_units + w.portal_requests_per_case * 1  # the portal's rate counter
    reads = (
        w.events_per_case * measured.read_units
        + w.reads_per_case * 2  # a GetItem, or a list page's Query and BatchGetItem of 25 cases, with the template
        + w.portal_requests_per_case * 2
    )
    return float(writes), float(reads)


# bench/cost.py's case: the open, 30 field changes (never of the title), 10 stage moves, 9 comments.
BENCH_CASE: dict[str, tuple[int, dict[str, Any]]] = {
    EventType.CASE_OPENED: (1, {"version": 1, "title": "Cost bench"}),
    EventType.CASE_FIELDS_CHANGED: (30, {"version": 2, "changes": {"annual_salary": {"before": None, "after": 1}}}),
    EventType.CASE_STAGE_CHANGED: (10, {"version": 3, "from": "start", "to": "next"}),
    EventType.COMMENT_ADDED: (9, {"comment_id": "c", "external": False, "body": "Bench comment"}),
}
BENCH_CASE_EVENTS = sum(count for count, _data in BENCH_CASE.values())


def events_received(consumer: ConsumerSpec) -> int:
    """How many of the bench case's events the consumer's rule selects, by the matcher the local stack's emulator
    routes events with (moto's), so the model and the local stack agree on every pattern."""
    from moto.events.models import EventPattern

    pattern = EventPattern(None, consumer.event_pattern)
    return sum(
        count
        for event_type, (count, data) in BENCH_CASE.items()
        if pattern.matches_event(
            {"source": "caseline.cases", "detail-type": event_type, "detail": {"type": event_type, "data": data}}
        )
    )


def consumer_shares() -> dict[str, float]:
    """By consumer function, the share of case events its rule selects: a month's events are taken to fall as the
    bench case's do (commands, which only the cases service's consumer receives, are not case events)."""
    return {spec.function: events_received(spec) / BENCH_CASE_EVENTS for spec in CONSUMERS}


# Consumers whose mapping gathers messages for a while (a batching window): the lake's writer. A batch holds events
# of many cases, so they are priced per month of the tenant (`lake_cost`), not per case.
BATCHING_CONSUMERS = frozenset(spec.function for spec in CONSUMERS if spec.batching_window_seconds)
# The lake's compactor: its requests scale with the writer's files, so it is priced with the lake too.
(LAKE_COMPACTOR,) = [spec for spec in SCHEDULES if spec.function == "compact_lake"]
LAKE_COMPACTED_DAYS = 15  # the days a run lists (services/insight/chalicelib/compaction_service.py)
OLD_VERSION_DAYS = 90  # how long the lake bucket keeps a deleted object's previous version (infra/shared_stack.py)
SQS_MESSAGES_PER_RECEIVE = 10  # what one ReceiveMessage (and one DeleteMessageBatch) carries at most


def batches_per_month(queue: QueueSpec, messages: float) -> float:
    """Invocations of a batching queue's function for a month's messages: while messages keep coming, each window
    ends in a batch per instance at most (its maximum concurrency, the conservative side: more, smaller files);
    once a window gathers more than that, full batches. Never more batches than messages."""
    windows = SECONDS_PER_MONTH / queue.batching_window_seconds
    return min(messages, max(messages / queue.batch_size, windows * queue.max_concurrency))


def _read_plane_usd(deliveries: dict[str, float], p: "Prices") -> tuple[float, float]:
    """(write, read) USD of the read plane's consumers' DynamoDB units for these deliveries, by function."""
    writes = sum(
        count * READ_PLANE_UNITS[name].write_units for name, count in deliveries.items() if name in READ_PLANE_UNITS
    )
    reads = sum(
        count * READ_PLANE_UNITS[name].read_units for name, count in deliveries.items() if name in READ_PLANE_UNITS
    )
    return writes / 1e6 * p.dynamodb_write_per_million, reads / 1e6 * p.dynamodb_read_per_million


def bench_case_usd(
    prices: "Prices | None" = None, workload: "Workload | None" = None, *, read_plane: bool = True
) -> dict[str, float]:
    """The bench's 50-event case as this model prices it, per AWS product, each event on its own (a case worked
    over days shares no batch): to set beside what `make bench` counts; without the read plane's consumers when
    `read_plane` is false. The search engine is a monthly cost of the tenant, not of a case's calls, and so is the
    lake (`lake_cost`): its writer's batches hold many cases' events."""
    p, w = prices or Prices(), workload or Workload()
    events = BENCH_CASE_EVENTS
    functions = all_functions()
    memory = {(spec.service, spec.name): spec.memory_mb / 1024 for spec in functions}
    received = {
        spec.function: events_received(spec)
        for spec in CONSUMERS
        if (read_plane or spec.function not in READ_PLANE_CONSUMERS) and spec.function not in BATCHING_CONSUMERS
    }
    consumers = [spec for spec in functions if spec.kind == "consumer" and received.get(spec.name)]
    deliveries = sum(received.values())
    gb_seconds = events * (
        w.warm_ms["api"] / 1000 * memory["cases", "api"]
        + w.warm_ms["stream"] / 1000 * memory["cases", "outbox_publisher"]
    ) + sum(received[spec.name] * w.warm_ms["consumer"] / 1000 * memory[spec.service, spec.name] for spec in consumers)
    invocations = events * 2 + deliveries
    read_plane_writes, read_plane_reads = _read_plane_usd({name: float(n) for name, n in received.items()}, p)
    return {
        "API Gateway": events * p.api_gateway_rest_per_million / 1e6,
        "WAF": events * p.waf_per_million / 1e6,
        "Lambda": invocations * p.lambda_per_million / 1e6 + gb_seconds * p.lambda_gb_second_arm,
        "dynamodb": events
        * (
            MEASURED_EVENT.write_units * p.dynamodb_write_per_million
            + MEASURED_EVENT.read_units * p.dynamodb_read_per_million
        )
        / 1e6
        + read_plane_writes
        + read_plane_reads,
        "eventbridge": events * p.eventbridge_events_per_million / 1e6,
        "sqs": deliveries * 3 * p.sqs_per_million / 1e6,  # send, receive, delete
    }


@dataclass(frozen=True)
class LineItem:
    service: str
    what: str
    usd: float


def monthly_cost(
    cases: int, workload: Workload | None = None, prices: Prices | None = None, tier: Tier = Tier.STANDARD
) -> list[LineItem]:
    w, p = workload or Workload(), prices or Prices()
    items: list[LineItem] = []

    def add(service: str, what: str, usd: float) -> None:
        items.append(LineItem(service, what, usd))

    events = cases * w.events_per_case
    api_requests = cases * w.api_requests_per_case
    functions = all_functions()
    memory = {(spec.service, spec.name): spec.memory_mb / 1024 for spec in functions}
    # Each rule's queue and function receive the share of events its pattern selects (the work queues' functions
    # only what the rules send them, not modelled per event).
    shares = consumer_shares()
    consumers = [spec for spec in functions if spec.kind == "consumer" and spec.name in shares]
    deliveries = {spec.name: events * shares[spec.name] for spec in consumers}
    # The lake's writer is priced with the lake (`lake_cost`, below): its batches hold many events.
    per_event = [spec for spec in consumers if spec.name not in BATCHING_CONSUMERS]
    # So is the lake's compactor, whose requests follow the writer's files.
    schedules = [spec for spec in functions if spec.kind == "schedule" and spec.name != LAKE_COMPACTOR.function]

    # Lambda: one API invocation per request (the services' API function), the authorizer's for the requests its
    # cache does not answer, one publisher invocation per event
    # (at these rates batches hold one record), one invocation per event a consumer receives, schedules on their
    # rate.
    api_functions = [spec for spec in functions if spec.kind == "api"]
    api_memory = sum(memory[spec.service, spec.name] for spec in api_functions) / len(api_functions)
    every: dict[tuple[str, str], int] = {(spec.service, spec.function): spec.every_minutes for spec in SCHEDULES}
    runs = {(spec.service, spec.name): SECONDS_PER_MONTH / 60 / every[spec.service, spec.name] for spec in schedules}
    schedule_runs = sum(runs.values())
    (authorizer,) = [spec for spec in functions if spec.kind == "authorizer"]
    authorizer_calls = cases * (w.api_requests_per_case - w.portal_requests_per_case) * w.authorizer_cache_misses
    invocations = api_requests + authorizer_calls + events + sum(deliveries[spec.name] for spec in per_event)
    invocations += schedule_runs
    gb_seconds = (
        api_requests * w.warm_ms["api"] / 1000 * api_memory
        + authorizer_calls * w.warm_ms["authorizer"] / 1000 * memory[authorizer.service, authorizer.name]
        + events * w.warm_ms["stream"] / 1000 * memory["cases", "outbox_publisher"]
        + sum(
            deliveries[spec.name] * w.warm_ms["consumer"] / 1000 * memory[spec.service, spec.name] for spec in per_event
        )
        + sum(
            runs[spec.service, spec.name] * w.warm_ms["schedule"] / 1000 * memory[spec.service, spec.name]
            for spec in schedules
        )
    )
    add("Lambda", f"{invocations / 1e6:.2f} M invocations", invocations / 1e6 * p.lambda_per_million)
    add("Lambda", f"{gb_seconds:,.0f} GB-s on arm64", gb_seconds * p.lambda_gb_second_arm)

    add("API Gateway", f"{api_requests / 1e6:.2f} M REST requests", api_requests / 1e6 * p.api_gateway_rest_per_million)
    add("WAF", "web ACL + 4 rules", p.waf_web_acl_month + 4 * p.waf_rule_month)
    add("WAF", "requests", api_requests / 1e6 * p.waf_per_million)

    writes, reads = dynamodb_units_per_case(w)
    writes_usd, reads_usd = _read_plane_usd(deliveries, p)
    writes_usd += cases * writes / 1e6 * p.dynamodb_write_per_million
    reads_usd += cases * reads / 1e6 * p.dynamodb_read_per_million
    add("DynamoDB", f"{writes_usd / p.dynamodb_write_per_million:.1f} M write units", writes_usd)
    add("DynamoDB", f"{reads_usd / p.dynamodb_read_per_million:.1f} M read units", reads_usd)
    stored_kb = (
        w.case_item_kb
        + 6 * w.index_copy_kb
        + w.comments_per_case * 2.0  # a comment keeps the event it was written with
        + w.events_per_case * (w.timeline_entry_kb + 0.2)  # the link and its markers
        + w.tasks_per_case * w.task_item_kb * 4  # the inbox: each task in its table and three indexes
        + w.search_source_kb
    )
    stored_gb = cases * w.retained_months * stored_kb / 1024 / 1024
    add("DynamoDB", f"{stored_gb:.2f} GB stored", stored_gb * p.dynamodb_storage_gb_month)
    add("DynamoDB", "PITR (35 days)", stored_gb * p.dynamodb_pitr_gb_month)
    # Daily backups kept 35 days and monthly ones kept a year: incremental, about two full copies.
    add("AWS Backup", "table backups", 2 * stored_gb * p.backup_dynamodb_gb_month)

    add("EventBridge", f"{events / 1e6:.2f} M events", events / 1e6 * p.eventbridge_events_per_million)
    archived_gb = events * w.event_kb / 1024 / 1024
    # The archive keeps as long as PITR (35 days), so a restore can replay from any point it can restore to: a
    # month's events are ingested once and about 35/30 of a month's are held at any time.
    held_gb = archived_gb * ARCHIVE_DAYS / 30
    add(
        "EventBridge",
        f"archive ({ARCHIVE_DAYS} days)",
        archived_gb * p.eventbridge_archive_gb + held_gb * p.eventbridge_archive_gb_month,
    )
    add("EventBridge", "Scheduler", schedule_runs / 1e6 * p.scheduler_per_million)

    # SQS per event a consumer queue receives: EventBridge's send, Lambda's receive and delete; plus idle long polls.
    sqs_requests = sum(deliveries[spec.name] for spec in per_event) * 3 + len(consumers) * w.idle_sqs_receives_month
    add("SQS", f"{sqs_requests / 1e6:.2f} M requests", sqs_requests / 1e6 * p.sqs_per_million)

    documents = cases * w.documents_per_case
    s3_gb = documents * w.retained_months * w.document_mb / 1024
    add("S3", f"{s3_gb:.1f} GB documents", s3_gb * p.s3_gb_month)
    downloads = documents * w.downloads_per_document
    # A document: presigned POST, confirm (GET), copy, delete of the quarantine copy, its downloads; an anchor.
    add("S3", "requests", (documents * 3 + cases) / 1000 * p.s3_put_per_thousand
        + (documents + downloads) / 1000 * p.s3_get_per_thousand)  # fmt: skip
    # Downloads go out through the tenant's downloads distribution (nosniff), one uncached request each.
    download_gb = downloads * w.document_mb / 1024
    add("CloudFront", f"{downloads:,} downloads, {download_gb:,.0f} GB",
        downloads / 10_000 * p.cloudfront_https_per_ten_thousand + download_gb * p.cloudfront_gb_out)  # fmt: skip

    items += lake_cost(cases, w, p)
    _search_engine(add, cases, tier, w, p)

    keys = len(data_owners()) + 4  # data keys, messaging, logs, backup, signing
    add("KMS", f"{keys} customer-managed keys", keys * p.kms_key_month)
    # DynamoDB and S3 (bucket keys) and SQS (1 h data key reuse) cache data keys: about one call per function
    # environment and key per few minutes. A generous flat allowance:
    add("KMS", "requests", 200_000 / 10_000 * p.kms_per_ten_thousand)

    staff = staff_count(cases, w)
    add("Cognito", f"{staff} staff (Plus)", staff * p.cognito_plus_mau)
    add(
        "Cognito",
        "integrator client",
        w.integrator_clients
        * (p.cognito_m2m_client_month + w.integrator_token_requests_month / 1000 * p.cognito_m2m_token_per_thousand),
    )

    log_gb = (
        (
            invocations * w.log_kb_per_invocation
            + api_requests * w.access_log_kb_per_request
            + api_requests * w.waf_log_kb_per_request
        )
        / 1024
        / 1024
    )
    add("CloudWatch", f"{log_gb:.1f} GB logs", log_gb * p.logs_ingest_gb + log_gb * 6 * p.logs_storage_gb_month)
    # Errors and throttles per function, p95 duration per API function, a DLQ per queue, per stream its iterator
    # age and failure queue, a failure queue per service with schedules, SLA breaches and webhook dead letters, API
    # 5xx and p99, a search domain's health; in the shared stack the delivery DLQ, read and write throttles and
    # system errors per table, the mail's bounce and complaint rates. Dashboards: the tenant's and one per service.
    alarms = (
        2 * len(functions)
        + len(api_functions)
        + len(consumers)
        + len(WORK_QUEUES)
        + 2 * len(STREAM_HANDLERS)
        + len({s.service for s in SCHEDULES})
        + 4
        + 1
        + 3 * len(TABLES)
        + 2
        + (DOMAIN_ALARMS if isinstance(TIER_LIMITS[tier].search_engine, SearchDomain) else 0)
    )
    dashboards = 1 + len(api_functions)
    add(
        "CloudWatch",
        f"{alarms} alarms + {dashboards} dashboards",
        alarms * p.cloudwatch_alarm_month + dashboards * p.cloudwatch_dashboard_month,
    )
    metrics = 10 + len(functions)  # Caseline business metrics, plus Powertools' ColdStart per function
    add("CloudWatch", f"{metrics} custom metrics", metrics * p.cloudwatch_custom_metric_month)
    rate = api_requests / SECONDS_PER_MONTH
    traced = SECONDS_PER_MONTH * (min(rate, w.xray_reservoir_per_second) + max(0.0, rate - 1) * w.xray_sample_rate)
    add("X-Ray", f"{traced / 1e6:.2f} M traces", traced / 1e6 * p.xray_traces_per_million)
    return items


def staff_count(cases: int, w: Workload) -> int:
    return max(w.min_staff, math.ceil(cases / 1000 * w.staff_per_thousand_cases))


def lake_cost(cases: int, workload: Workload | None = None, prices: Prices | None = None) -> list[LineItem]:
    """The event lake's month: its writer (Lambda, its queue's SQS requests), the Parquet it keeps and writes (S3),
    and the reports run on it (Athena's scans, the S3 reads and catalog lookups they make). The insight table and
    the data key are with the others (DynamoDB, KMS); Athena's results expire in a week and weigh nothing."""
    w, p = workload or Workload(), prices or Prices()
    events = cases * w.events_per_case
    (writer,) = [spec for spec in CONSUMERS if spec.function in BATCHING_CONSUMERS]
    memory_gb = next(spec.memory_mb for spec in all_functions() if spec.name == writer.function) / 1024
    batches = batches_per_month(writer, events)
    items = [
        LineItem("Lake", f"Lambda: {batches:,.0f} writer batches", batches / 1e6 * p.lambda_per_million
                 + batches * w.lake_batch_ms / 1000 * memory_gb * p.lambda_gb_second_arm),
        # EventBridge sends each event; Lambda receives and deletes them ten at a time.
        LineItem("Lake", "SQS: the writer's queue",
                 events * (1 + 2 / SQS_MESSAGES_PER_RECEIVE) / 1e6 * p.sqs_per_million),
    ]  # fmt: skip
    stored_gb = events * w.retained_months * w.lake_bytes_per_event / 1e9
    items.append(LineItem("Lake", f"S3: {stored_gb:.2f} GB of Parquet", stored_gb * p.s3_gb_month))
    # A file per batch (a batch across midnight writes two: not counted).
    items.append(LineItem("Lake", "S3: the writer's PUTs", batches / 1000 * p.s3_put_per_thousand))
    items += _compaction_cost(batches, events, w, p)
    readers = math.ceil(staff_count(cases, w) * w.insight_reader_share)
    queries = readers * w.insight_views_per_reader * w.reports_per_view * (1 - w.insight_cache_hits)
    read_mb = events * w.insight_range_months * w.lake_bytes_per_event * w.insight_columns_read / 1e6
    scanned_tb = queries * max(p.athena_minimum_mb, read_mb) / 1e6
    items.append(LineItem("Lake", f"Athena: {queries:,.0f} queries, {scanned_tb:.3f} TB billed",
                          scanned_tb * p.athena_per_tb_scanned))  # fmt: skip
    # Athena lists each day's prefix and reads each file of the range once (files this small in one GET): a day's
    # merged object, and for the current day the batches written since the last compaction (half a run's on average).
    days = w.insight_range_months * 30
    files = days + compaction_batches(batches) / 2
    items.append(
        LineItem(
            "Lake",
            f"S3: Athena reads {files:,.0f} files a query",
            queries * (files / 1000 * p.s3_get_per_thousand + days / 1000 * p.s3_put_per_thousand),
        )
    )
    # The table and database are two catalog objects; each query looks the table up (partitions are projected).
    items.append(LineItem("Lake", "Glue Data Catalog: lookups", queries / 1e6 * p.glue_catalog_requests_per_million))
    return items


def compaction_batches(batches: float) -> float:
    """The writer's batches between two runs of the compactor, from its batches a month."""
    return batches / SECONDS_PER_MONTH * LAKE_COMPACTOR.every_minutes * 60


def _compaction_cost(batches: float, events: float, w: Workload, p: Prices) -> list[LineItem]:
    """The compactor's month: each run lists the recent days and merges the current one (its object and the batches
    since the last run: GETs, a PUT, a DeleteObjects); the objects it replaces stay as previous versions for 90
    days: each batch once, and the current day's object once a run, half a day's events on average."""
    runs = SECONDS_PER_MONTH / 60 / LAKE_COMPACTOR.every_minutes
    memory_gb = next(spec.memory_mb for spec in all_functions() if spec.name == LAKE_COMPACTOR.function) / 1024
    day_gb = events / 30 * w.lake_bytes_per_event / 1e9
    replaced_gb = OLD_VERSION_DAYS * day_gb * (1 + runs / 30 / 2)
    return [
        LineItem("Lake", f"Lambda and Scheduler: {runs:,.0f} compactions", runs / 1e6 * (p.lambda_per_million
                 + p.scheduler_per_million) + runs * w.lake_compaction_ms / 1000 * memory_gb * p.lambda_gb_second_arm),
        LineItem("Lake", "S3: the compactor's requests",
                 runs * (LAKE_COMPACTED_DAYS + 2) / 1000 * p.s3_put_per_thousand
                 + runs * (1 + compaction_batches(batches)) / 1000 * p.s3_get_per_thousand),
        LineItem("Lake", f"S3: {replaced_gb:.2f} GB of replaced objects (previous versions)",
                 replaced_gb * p.s3_gb_month),
    ]  # fmt: skip


DOMAIN_ALARMS = 3  # infra/search_engine.py's alarms on a domain's health (tests/infra/test_search_engine.py)
# AWS's sizing rule for a domain's storage: each copy of the index plus 45 % (indexing overhead, the space
# OpenSearch reserves, headroom). A domain keeps one replica: each shard twice, on two nodes.
DOMAIN_STORAGE_OVERHEAD = 1.45


def _search_engine(add: Callable[[str, str, float], None], cases: int, tier: Tier, w: Workload, p: Prices) -> None:
    """The tier's search engine: instance-hours and the volumes they need for a domain; for a collection its floor
    of OCUs (at these rates it scales no higher: see docs/operations.md) and its managed storage."""
    engine = TIER_LIMITS[tier].search_engine
    index_gb = cases * w.retained_months * w.index_kb_per_case / 1024 / 1024
    if isinstance(engine, SearchDomain):
        hours = engine.instance_count * HOURS_PER_MONTH
        add("OpenSearch", f"{engine.instance_count} x {engine.instance_type}",
            hours * p.opensearch_instance_hour[engine.instance_type])  # fmt: skip
        volume_gb = max(engine.volume_gb, math.ceil(2 * index_gb * DOMAIN_STORAGE_OVERHEAD / engine.instance_count))
        add("OpenSearch", f"{engine.instance_count} x {volume_gb} GB gp3",
            engine.instance_count * volume_gb * p.opensearch_gp3_gb_month)  # fmt: skip
        return
    add("OpenSearch Serverless", f"{engine.minimum_ocus:g} OCUs",
        engine.minimum_ocus * HOURS_PER_MONTH * p.opensearch_serverless_ocu_hour)  # fmt: skip
    add("OpenSearch Serverless", f"{index_gb:.1f} GB stored", index_gb * p.opensearch_serverless_gb_month)


def total(items: list[LineItem]) -> float:
    return sum(item.usd for item in items)


def main() -> None:
    from rich.console import Console

    for tier in Tier:
        for cases in (1_000, 100_000):
            _print_month(tier, cases)
    bench_case = bench_case_usd()
    parts = ", ".join(f"{product} ${usd:.6f}" for product, usd in sorted(bench_case.items(), key=lambda each: -each[1]))
    Console().print(f"The bench's 50-event case, as this model prices it: ${sum(bench_case.values()):.5f} ({parts})")


def _print_month(tier: Tier, cases: int) -> None:
    from rich.console import Console
    from rich.table import Table

    items = monthly_cost(cases, tier=tier)
    table = Table(title=f"{tier.value} tier, {cases:,} cases a month: ${total(items):,.2f}")
    for column in ("service", "what", "USD/month"):
        table.add_column(column, justify="right" if column == "USD/month" else "left")
    for item in items:
        table.add_row(item.service, item.what, f"{item.usd:,.2f}")
    Console().print(table)


if __name__ == "__main__":
    main()
