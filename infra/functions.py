"""Every Lambda function a tenant runs: derived from the resource specs, sized from measured figures.

One API function per service (`app.app`), plus the event functions the specs wire: stream handlers, queue
consumers and schedules. Memory comes from `infra.sizing.memory_for` applied to the figures in `MEASURED`
(`python -m infra.sizing` measures them again; docs/operations.md shows the table and the rule).
"""

from dataclasses import dataclass

from caseline_common.resources import (
    API_AUTHORIZER,
    BUCKETS,
    CONSUMERS,
    SCHEDULES,
    STREAM_HANDLERS,
    TABLES,
    WORK_QUEUES,
    TenantResourceNames,
)

from infra.catalog import Kind, functions, timeout_seconds
from infra.sizing import memory_for

DEFAULT_MEMORY_MB = 1024  # a function nobody measured yet (a test fails until someone does)


@dataclass(frozen=True)
class Measured:
    import_ms: float
    invoke_ms: float
    rss_peak_mb: float


# `python -m infra.sizing` on the development machine (x86-64, one core per process, Python 3.11.7), 2026-11-26:
# median import and first-invocation time of 3 cold starts, highest peak RSS. See docs/operations.md.
MEASURED: dict[tuple[str, str], Measured] = {
    ("cases", "api"): Measured(import_ms=476, invoke_ms=140, rss_peak_mb=82),
    ("timeline", "api"): Measured(import_ms=420, invoke_ms=9, rss_peak_mb=80),
    ("automations", "api"): Measured(import_ms=429, invoke_ms=4, rss_peak_mb=79),
    ("portal", "api"): Measured(import_ms=478, invoke_ms=73, rss_peak_mb=82),
    ("cases", "outbox_publisher"): Measured(import_ms=487, invoke_ms=214, rss_peak_mb=85),
    ("timeline", "timeline_consumer"): Measured(import_ms=419, invoke_ms=225, rss_peak_mb=90),
    ("automations", "automations_consumer"): Measured(import_ms=422, invoke_ms=1, rss_peak_mb=79),
    ("portal", "portal_consumer"): Measured(import_ms=485, invoke_ms=190, rss_peak_mb=93),
    ("cases", "case_commands"): Measured(import_ms=483, invoke_ms=139, rss_peak_mb=90),
    ("timeline", "anchor_heads"): Measured(import_ms=424, invoke_ms=162, rss_peak_mb=89),
    # Measured later the same day, alone, with the machine busier (the automations API imported in 663 ms then):
    # the import is overstated; the size (256 MB, set by the peak) is the same either way.
    ("automations", "run_due_work"): Measured(import_ms=651, invoke_ms=95, rss_peak_mb=89),
    # Not measured alone yet: the automations consumer's figures (the same package and imports; a first delivery
    # reads two items and writes twice around one POST, which waits on the receiver, not on memory).
    ("automations", "deliver_webhooks"): Measured(import_ms=422, invoke_ms=1, rss_peak_mb=79),
    # The read plane's, measured with the same probes on 2026-12-05, after issue 14 halved what an import loads (the
    # figures above predate that); the search functions with an OpenSearch endpoint, as deployed.
    ("tasks", "api"): Measured(import_ms=153, invoke_ms=54, rss_peak_mb=48),
    ("tasks", "tasks_consumer"): Measured(import_ms=147, invoke_ms=131, rss_peak_mb=63),
    ("search", "api"): Measured(import_ms=158, invoke_ms=68, rss_peak_mb=49),
    ("search", "search_indexer"): Measured(import_ms=153, invoke_ms=70, rss_peak_mb=50),
    # Measured with the same probes on 2026-12-05 once the insight service was whole (the search API imported in
    # 167 ms in the same run): the API renders its OpenAPI document; the writer writes a full batch of 1,000 events
    # into one Parquet file, loading DuckDB in that first invocation. Its peak sets its size: 384 MB.
    ("insight", "api"): Measured(import_ms=170, invoke_ms=107, rss_peak_mb=80),
    ("insight", "lake_writer"): Measured(import_ms=173, invoke_ms=375, rss_peak_mb=131),
    # The lake's compactor, measured the same way on 2026-12-05 (the writer: 191 ms, 378 ms, 131 MB in that run): an
    # hourly run at 100,000 cases a month, today's object and 24 batches (60,000 events) merged into one, DuckDB
    # loaded in that invocation (infra/sizing.py `_seed_lake`). Its peak sets its size: 384 MB.
    ("insight", "compact_lake"): Measured(import_ms=177, invoke_ms=536, rss_peak_mb=183),
    # The API's authorizer, measured on 2026-12-06 with the machine busy (the tasks API imported in 251 ms in the same
    # run, 153 ms above): the tasks package's import, then one token refused, which loads PyJWT and cryptography as
    # accepting one does (the JWKS fetch aside).
    ("tasks", "api_authorizer"): Measured(import_ms=222, invoke_ms=88, rss_peak_mb=57),
    # The people directory's refresh, measured with the same probes on 2026-12-06 with the machine shared (the tasks
    # API imported in 209 ms in the same run, 153 above): one run over the development pool's three users, all new.
    ("tasks", "sync_people"): Measured(import_ms=199, invoke_ms=166, rss_peak_mb=65),
    # Notifications' consumer, measured with the same probes on 2026-12-06 with the machine busy (the tasks API imported
    # in 577 ms and the inbox's consumer in 533 ms in the same run): a full batch of 10 events.
    ("tasks", "notify_consumer"): Measured(import_ms=490, invoke_ms=180, rss_peak_mb=50),
}

# Who may put what on the tenant bus (IAM condition `events:source`): the outbox publisher relays the cases
# service's events; the portal's API publishes its own events and the commands external participants send, and
# its consumer the link events of the links a document request e-mails;
# the automations service publishes its own events (`automation.ran`, ...) and the commands its rules send to
# the cases service, from its API (runs), its consumer (rules on events) and its sweep (due timers).
_AUTOMATIONS_SOURCES = ("caseline.automations", "caseline-command.automations")
BUS_SOURCES: dict[tuple[str, str], tuple[str, ...]] = {
    ("cases", "outbox_publisher"): ("caseline.cases",),
    ("portal", "api"): ("caseline.portal", "caseline-command.portal"),
    # Erasure is announced on the bus (`personal_data.erased`), so read models holding the person's data erase it.
    ("timeline", "api"): ("caseline.timeline",),
    ("portal", "portal_consumer"): ("caseline.portal",),
    ("automations", "api"): _AUTOMATIONS_SOURCES,
    ("automations", "automations_consumer"): _AUTOMATIONS_SOURCES,
    ("automations", "run_due_work"): _AUTOMATIONS_SOURCES,
}
# Services whose functions send e-mail with SES, from `Tenant.mail_from` on the tenant's verified domain: rule
# e-mails (automations), portal link invitations (portal) and notifications (tasks).
MAIL_SENDERS = ("automations", "portal", "tasks")
# Of a service that sends, the only functions that do where not all of them do: the tasks service's API, authorizer,
# inbox and directory send nothing.
MAIL_ONLY_FROM: dict[str, tuple[str, ...]] = {"tasks": ("notify_consumer",)}


@dataclass(frozen=True)
class FunctionSpec:
    service: str
    name: str  # Chalice's name of the function; "api" for the service's HTTP API
    kind: Kind
    timeout_seconds: int

    @property
    def measured(self) -> Measured | None:
        return MEASURED.get((self.service, self.name))

    @property
    def memory_mb(self) -> int:
        measured = self.measured
        if measured is None:
            return DEFAULT_MEMORY_MB
        return memory_for(self.kind, measured.import_ms, measured.invoke_ms, measured.rss_peak_mb, self.timeout_seconds)

    @property
    def sends_mail(self) -> bool:
        """Whether it may send e-mail with SES (a work queue's function aside: infra.policies)."""
        senders = MAIL_ONLY_FROM.get(self.service)
        return self.service in MAIL_SENDERS and self.kind != "stream" and (senders is None or self.name in senders)

    @property
    def bus_sources(self) -> tuple[str, ...]:
        return BUS_SOURCES.get((self.service, self.name), ())

    @property
    def short_name(self) -> str:
        return f"{self.service}-api" if self.kind == "api" else self.name.replace("_", "-")

    def function_name(self, names: TenantResourceNames) -> str:
        """At most 9 + 31 + 1 + 23 characters: within Lambda's 64."""
        return f"{names.prefix()}-{self.short_name}"


def all_functions() -> list[FunctionSpec]:
    return [
        FunctionSpec(service, name, kind, timeout_seconds(service, name, kind)) for service, name, kind in functions()
    ]


def service_functions(service: str) -> list[FunctionSpec]:
    return [spec for spec in all_functions() if spec.service == service]


def wired_function_names(service: str) -> set[str]:
    """The event functions of a service that some spec wires (the API function aside)."""
    return {
        spec.function
        for spec in (*STREAM_HANDLERS, *CONSUMERS, *WORK_QUEUES, *SCHEDULES, API_AUTHORIZER)
        if spec.service == service
    }


def data_owners() -> list[str]:
    """Services that own a table or a bucket: each gets its own data key."""
    owners: list[str] = [spec.owner for spec in (*TABLES, *BUCKETS)]
    return list(dict.fromkeys(owners))
