"""The tenant's AWS resources, declared once as data.

The local stack provisions from these specs and the CDK app synthesizes from them, so names, keys,
indexes, streams and event routing cannot drift between a laptop and AWS.
"""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .envelope import COMMAND_SOURCE_PREFIX
from .event_types import EventType

SERVICES = ("cases", "timeline", "automations", "portal", "tasks", "search", "insight")
Service = Literal["cases", "timeline", "automations", "portal", "tasks", "search", "insight"]


class Spec(BaseModel):
    # Built at the first instance: the specs below are made at import, TenantResourceNames only where a name is
    # needed (not in a function's cold start).
    model_config = ConfigDict(frozen=True, defer_build=True)


class KeySpec(Spec):
    partition: str
    sort: str | None = None


class IndexSpec(Spec):
    """A global secondary index. Its copy of an item holds the keys and, for INCLUDE, `attributes`: every
    change to what it holds is a write of the copy, so copies hold only what their queries read or filter on."""

    name: str
    key: KeySpec
    projection: Literal["ALL", "KEYS_ONLY", "INCLUDE"] = "KEYS_ONLY"
    attributes: tuple[str, ...] = ()


class TableSpec(Spec):
    id: str
    owner: Service
    key: KeySpec
    indexes: tuple[IndexSpec, ...] = ()
    stream: Literal["NEW_IMAGE", "NEW_AND_OLD_IMAGES"] | None = None
    ttl_attribute: str | None = None
    env_var: str


class BucketSpec(Spec):
    id: str
    owner: Service
    env_var: str
    object_lock: bool = False
    # Other services that read objects of it (and write only into its quarantine prefix), as the portal
    # does for the files external participants share and upload.
    shared_with: tuple[Service, ...] = ()
    # Where browsers download its objects: the base URL, in this variable, that presigned GETs are rewritten to
    # (a CloudFront distribution in AWS, a route of the local gateway), which adds the headers S3 cannot.
    download_env_var: str | None = None

    def read_by(self, service: str) -> bool:
        return self.owner == service or service in self.shared_with


class SigningKeySpec(Spec):
    """An asymmetric KMS key (ECC P-256, sign/verify) that one service signs with."""

    id: str
    owner: Service
    env_var: str


class ScheduleSpec(Spec):
    """A function run on a fixed rate (EventBridge Scheduler in AWS, a pump locally)."""

    service: Service
    function: str
    every_minutes: int = Field(ge=1)


class QueueSpec(Spec):
    """An SQS queue (with DLQ) read by one function through an event source mapping.

    Its function (`id`, unique in the tenant like every function's name) reads it in batches of `batch_size`, with at
    most `max_concurrency` invocations at once: the mapping's maximum concurrency in AWS (ScalingConfig), the number
    of instances the local pump runs side by side. Its resources are known by `name`, the stem of its queue's and
    DLQ's names (and of their construct ids in infra): at most 23 characters, so every name stays within AWS's limits
    for any tenant id.
    """

    service: Service
    function: str
    name: str = Field(pattern=r"^[a-z][a-z0-9-]*[a-z0-9]$", max_length=23)
    max_receive_count: int = Field(default=5, ge=1)
    visibility_timeout_seconds: int = Field(default=60, ge=1)
    batch_size: int = Field(default=10, ge=1, le=10_000)
    # How long the mapping gathers messages before invoking (up to `batch_size`): AWS allows more than 10 per batch
    # only with a window. Locally the pump passes on what is waiting, without waiting for more.
    batching_window_seconds: int = Field(default=0, ge=0, le=300)
    max_concurrency: int = Field(default=5, ge=2, le=1000)  # SQS event sources allow 2 to 1,000

    @model_validator(mode="after")
    def _window_for_large_batches(self) -> "QueueSpec":
        if self.batch_size > 10 and self.batching_window_seconds == 0:
            raise ValueError(f"{self.name}: a batch of more than 10 messages needs a batching window")
        return self

    @property
    def id(self) -> str:
        """The queue's key wherever queues are kept by id (the local queues and pumps, infra's queues)."""
        return self.function


class ConsumerSpec(QueueSpec):
    """One EventBridge rule on the tenant bus, delivering to one SQS queue (with DLQ) read by one function.

    A service may have several; the rule's name has the queue's stem too (within EventBridge's 64). A deployed
    consumer keeps its name, since a new one replaces its queues and what they hold; the consumers that existed
    while a service could have only one are named `<service>-events`.
    """

    event_pattern: dict[str, Any]


class WorkQueueSpec(QueueSpec):
    """A queue a service sends its own work to (no rule: only `senders`, functions of the same service, send to
    it), found by its name in `env_var`."""

    senders: tuple[str, ...]
    env_var: str


class StreamHandlerSpec(Spec):
    table_id: str
    service: Service
    function: str
    batch_size: int = 100


class AuthorizerSpec(Spec):
    """The API's request authorizer (caseline_common.authorizer): API Gateway calls it before every route that needs
    a token; nothing else starts it."""

    service: Service
    function: str


ALL_CASELINE_EVENTS: dict[str, Any] = {"source": [{"prefix": "caseline."}]}
# The task inbox changes only with a case's tasks, who may see them (participants, the template) and what a row
# shows of the case (its title, stage and status): it receives no other event, so it pays for no other.
TASK_EVENTS: dict[str, Any] = {
    **ALL_CASELINE_EVENTS,
    "$or": [
        {
            "detail-type": [
                EventType.TEMPLATE_PUBLISHED,
                EventType.CASE_OPENED,
                EventType.CASE_STAGE_CHANGED,
                EventType.CASE_CLOSED,
                EventType.CASE_CANCELLED,
                EventType.CASE_REOPENED,
                EventType.CASE_MIGRATED,
                EventType.TASK_CREATED,
                EventType.TASK_COMPLETED,
                EventType.TASK_REOPENED,
                EventType.TASK_ASSIGNED,
                EventType.PARTICIPANT_ADDED,
                EventType.PARTICIPANT_ROLE_CHANGED,
                EventType.PARTICIPANT_REMOVED,
            ]
        },
        {"detail-type": [EventType.CASE_FIELDS_CHANGED], "detail": {"data": {"title": [{"exists": True}]}}},
    ],
}
# Notifications (services/tasks, domain/notifications.py): assignments, comments (for mentions), SLA timers, and what
# external participants do in the portal; nothing else can notify anyone, so nothing else is delivered to it.
NOTIFYING_EVENT_TYPES = (
    EventType.CASE_ASSIGNED,
    EventType.TASK_ASSIGNED,
    EventType.TASK_CREATED,
    EventType.COMMENT_ADDED,
    EventType.SLA_WARNING,
    EventType.SLA_BREACHED,
)
CLIENT_ACTION_EVENT_TYPES = (EventType.DOCUMENT_ADDED, EventType.CASE_FIELDS_CHANGED, EventType.TASK_COMPLETED)
NOTIFIED_EVENTS: dict[str, Any] = {
    **ALL_CASELINE_EVENTS,
    "$or": [
        {"detail-type": list(NOTIFYING_EVENT_TYPES)},
        {"detail-type": list(CLIENT_ACTION_EVENT_TYPES), "detail": {"actor": {"kind": ["external"]}}},
    ],
}
# The search index holds what a case shows (and who may see it): every event but those that change no case.
SEARCHED_EVENTS: dict[str, Any] = {
    **ALL_CASELINE_EVENTS,
    "detail-type": [
        {
            "anything-but": [
                EventType.AUTOMATION_RAN,
                EventType.AUTOMATION_REFUSED,
                EventType.SLA_WARNING,
                EventType.SLA_BREACHED,
                EventType.TIMER_FIRED,
                EventType.PORTAL_LINK_ISSUED,
                EventType.PORTAL_LINK_REVOKED,
                EventType.TIMELINE_EXPORTED,
            ]
        }
    ],
}

# What the cases table's indexes copy: the case id and the attributes a list filters on.
CASE_FILTERS: dict[str, Any] = {
    "projection": "INCLUDE",
    "attributes": ("case_id", "case_status", "case_stage", "template_key", "case_owner"),
}
CASES_TABLE = TableSpec(
    id="cases",
    owner="cases",
    key=KeySpec(partition="pk", sort="sk"),
    # One index per list filter, holding keys and the filter attributes (a list reads the cases it names with
    # one BatchGetItem). `by_updated` is sorted by `updated_at#case_id` and follows every change; the others are
    # sorted by case id (newest case first), so only a change of status, stage, template or owner writes them.
    indexes=(
        IndexSpec(name="by_status", key=KeySpec(partition="gsi1pk", sort="gsi1sk"), **CASE_FILTERS),
        IndexSpec(name="by_stage", key=KeySpec(partition="gsi2pk", sort="gsi2sk"), **CASE_FILTERS),
        IndexSpec(name="by_updated", key=KeySpec(partition="gsi3pk", sort="gsi3sk"), **CASE_FILTERS),
        IndexSpec(name="by_template", key=KeySpec(partition="gsi4pk", sort="gsi4sk"), **CASE_FILTERS),
        IndexSpec(name="by_owner", key=KeySpec(partition="gsi5pk", sort="gsi5sk"), **CASE_FILTERS),
        # Sparse: only membership items (one per internal participant of a case) carry it.
        IndexSpec(name="by_member", key=KeySpec(partition="gsi6pk", sort="gsi6sk"), **CASE_FILTERS),
    ),
    stream="NEW_IMAGE",
    ttl_attribute="expires_at",
    env_var="CASELINE_CASES_TABLE",
)
TIMELINE_TABLE = TableSpec(
    id="timeline",
    owner="timeline",
    key=KeySpec(partition="pk", sort="sk"),
    # Sparse: only case heads appended to since their last anchor carry gsi1pk. Keys only, so appends to a head
    # already listed write nothing to it; the anchoring job reads the heads it lists.
    # The change feed (GET /events): every link, sorted by when it was recorded, with what a page reads and filters
    # on (the record without personal data, its type, who may read it), so a page is one Query. Sparse too, in
    # that heads and markers carry no gsi2pk.
    indexes=(
        IndexSpec(name="by_unanchored", key=KeySpec(partition="gsi1pk", sort="gsi1sk")),
        IndexSpec(
            name="by_feed",
            key=KeySpec(partition="gsi2pk", sort="gsi2sk"),
            projection="INCLUDE",
            attributes=("record", "type", "readers", "reader_roles"),
        ),
    ),
    # Only erasure's idempotency claims expire; links and heads carry no expiry.
    ttl_attribute="expires_at",
    env_var="CASELINE_TIMELINE_TABLE",
)
PORTAL_TABLE = TableSpec(
    id="portal",
    owner="portal",
    key=KeySpec(partition="pk", sort="sk"),
    ttl_attribute="expires_at",
    env_var="CASELINE_PORTAL_TABLE",
)
AUTOMATIONS_TABLE = TableSpec(
    id="automations",
    owner="automations",
    key=KeySpec(partition="pk", sort="sk"),
    # Sparse: only pending work (timers, webhook and e-mail deliveries awaiting an attempt) carries gsi1pk,
    # sorted by when it is due, so the scheduled sweep reads exactly what is due.
    indexes=(IndexSpec(name="by_due", key=KeySpec(partition="gsi1pk", sort="gsi1sk"), projection="ALL"),),
    ttl_attribute="expires_at",
    env_var="CASELINE_AUTOMATIONS_TABLE",
)
# The task inbox (services/tasks): one item per task of every case, with who may see it, and an index per way of
# asking (by assignee, by role, by status), each sorted by due date, so every inbox page is one Query.
TASKS_TABLE = TableSpec(
    id="tasks",
    owner="tasks",
    key=KeySpec(partition="pk", sort="sk"),
    indexes=(
        IndexSpec(name="by_assignee", key=KeySpec(partition="gsi1pk", sort="gsi1sk"), projection="ALL"),
        IndexSpec(name="by_role", key=KeySpec(partition="gsi2pk", sort="gsi2sk"), projection="ALL"),
        IndexSpec(name="by_status", key=KeySpec(partition="gsi3pk", sort="gsi3sk"), projection="ALL"),
    ),
    env_var="CASELINE_TASKS_TABLE",
)
# The people directory (services/tasks, domain/people.py): the tenant's staff by name, a projection of its Cognito user
# pool that a scheduled refresh keeps, so names are read without a call to Cognito per row.
PEOPLE_TABLE = TableSpec(
    id="people",
    owner="tasks",
    key=KeySpec(partition="pk", sort="sk"),
    env_var="CASELINE_PEOPLE_TABLE",
)
# Notifications (services/tasks, adapters/dynamo_notifications.py): per person their preferences and notifications,
# newest first, with a sparse index of the unread ones for the bell's count; notifications expire after 90 days.
NOTIFICATIONS_TABLE = TableSpec(
    id="notifications",
    owner="tasks",
    key=KeySpec(partition="pk", sort="sk"),
    indexes=(IndexSpec(name="by_unread", key=KeySpec(partition="gsi1pk", sort="gsi1sk")),),
    ttl_attribute="expires_at",
    env_var="CASELINE_NOTIFICATIONS_TABLE",
)
# The tenant's Cognito user pool, for the service that keeps the directory (the table's owner). Cognito gives its
# id when it creates it, so it is not a name.
USER_POOL_ENV_VAR = "CASELINE_USER_POOL_ID"
# The search service's own state (services/search): what each case's index documents are rendered from (the case
# as its newest event left it, its comments) and the saved views, with an index of the views shared per audience.
SEARCH_TABLE = TableSpec(
    id="search",
    owner="search",
    key=KeySpec(partition="pk", sort="sk"),
    indexes=(IndexSpec(name="by_audience", key=KeySpec(partition="gsi1pk", sort="gsi1sk"), projection="ALL"),),
    env_var="CASELINE_SEARCH_TABLE",
)
# The insight service's own state (services/insight): who may read which template's figures (its roles' groups, from
# `template.published`), and insight results cached per query and range until the lake's next delivery.
INSIGHT_TABLE = TableSpec(
    id="insight",
    owner="insight",
    key=KeySpec(partition="pk", sort="sk"),
    ttl_attribute="expires_at",
    env_var="CASELINE_INSIGHT_TABLE",
)
# Where the insight service runs its SQL: duckdb://<directory> locally (embedded, over a copy of the lake's files in
# that directory), athena://<workgroup> in AWS. Known only once the workgroup exists, so it is not a name.
INSIGHT_ENGINE_ENV_VAR = "CASELINE_INSIGHT_ENGINE"
# Where the search service's engine is: file://<directory> locally (embedded), the OpenSearch endpoint in AWS.
# Known only once the engine exists, so it is not a name (as the download URL).
SEARCH_ENGINE_ENV_VAR = "CASELINE_SEARCH_ENGINE"
DOCUMENTS_BUCKET = BucketSpec(
    id="documents",
    owner="cases",
    env_var="CASELINE_DOCUMENTS_BUCKET",
    shared_with=("portal",),
    download_env_var="CASELINE_DOCUMENTS_DOWNLOAD_URL",
)
# The event lake (docs/timeline.md, "The lake"): every case event as a Parquet row without personal data, under
# events/dt=YYYY-MM-DD/, which Athena (AWS) and DuckDB (locally) query.
LAKE_BUCKET = BucketSpec(id="lake", owner="insight", env_var="CASELINE_LAKE_BUCKET")
ANCHORS_BUCKET = BucketSpec(id="anchors", owner="timeline", env_var="CASELINE_ANCHORS_BUCKET", object_lock=True)
TIMELINE_SIGNING_KEY = SigningKeySpec(id="timeline-signing", owner="timeline", env_var="CASELINE_SIGNING_KEY_ID")

TABLES = (
    CASES_TABLE,
    TIMELINE_TABLE,
    PORTAL_TABLE,
    AUTOMATIONS_TABLE,
    TASKS_TABLE,
    PEOPLE_TABLE,
    NOTIFICATIONS_TABLE,
    SEARCH_TABLE,
    INSIGHT_TABLE,
)
BUCKETS = (DOCUMENTS_BUCKET, ANCHORS_BUCKET, LAKE_BUCKET)
SIGNING_KEYS = (TIMELINE_SIGNING_KEY,)
SCHEDULES = (
    ScheduleSpec(service="timeline", function="anchor_heads", every_minutes=15),
    # Timers and delivery retries: one sweep a minute over the due-time index (see docs/architecture.md).
    ScheduleSpec(service="automations", function="run_due_work", every_minutes=1),
    # Each recent day's lake objects merged into one (services/insight/chalicelib/compaction_service.py): hourly, so
    # the current day holds an hour's batches at most (24) besides its merged object.
    ScheduleSpec(service="insight", function="compact_lake", every_minutes=60),
    # The people directory made equal to the user pool: someone added to it has a name within ten minutes.
    ScheduleSpec(service="tasks", function="sync_people", every_minutes=10),
)
CONSUMERS = (
    # Two at once, the least a queue's mapping allows: a chain takes one append at a time, so more instances
    # only race for the same heads; a batch is appended case by case in version order (timeline handlers).
    ConsumerSpec(
        service="timeline",
        function="timeline_consumer",
        name="timeline-events",
        event_pattern=ALL_CASELINE_EVENTS,
        max_concurrency=2,
    ),
    ConsumerSpec(
        service="automations",
        function="automations_consumer",
        name="automations-events",
        event_pattern=ALL_CASELINE_EVENTS,
    ),
    ConsumerSpec(service="portal", function="portal_consumer", name="portal-events", event_pattern=ALL_CASELINE_EVENTS),
    # The read plane: the task inbox and the search index, each a projection of case events (docs/architecture.md).
    # Two instances each, the least a mapping allows: an engine takes one commit at a time (the embedded one groups
    # what arrives meanwhile into it), and locally every instance is one more thread of the stack's one interpreter.
    ConsumerSpec(
        service="tasks", function="tasks_consumer", name="tasks-events", event_pattern=TASK_EVENTS, max_concurrency=2
    ),
    # Notifications: two instances, the least a mapping allows (an event tells a few people, one put and mail each).
    ConsumerSpec(
        service="tasks",
        function="notify_consumer",
        name="notifications-events",
        event_pattern=NOTIFIED_EVENTS,
        max_concurrency=2,
    ),
    ConsumerSpec(
        service="search",
        function="search_indexer",
        name="search-events",
        event_pattern=SEARCHED_EVENTS,
        max_concurrency=2,
    ),
    # The event lake: every event (the lake's rows leave out personal data), gathered for up to five minutes into
    # one Parquet file per day it touches, so Athena reads few, large files. The visibility timeout covers the
    # window and six times the function's 60 s, as AWS advises for batching windows.
    ConsumerSpec(
        service="insight",
        function="lake_writer",
        name="insight-events",
        event_pattern=ALL_CASELINE_EVENTS,
        batch_size=1000,
        batching_window_seconds=300,
        visibility_timeout_seconds=660,
        max_concurrency=2,
    ),
    # What external participants do in the portal, and what automation rules do, reaches the cases service
    # as commands, never as writes to its table; their source is outside `caseline.` so only it receives them.
    # (Named `cases-events` from when each service had one consumer: the name is its deployed queues'.)
    ConsumerSpec(
        service="cases",
        function="case_commands",
        name="cases-events",
        event_pattern={"source": [f"{COMMAND_SOURCE_PREFIX}portal", f"{COMMAND_SOURCE_PREFIX}automations"]},
    ),
)
STREAM_HANDLERS = (StreamHandlerSpec(table_id="cases", service="cases", function="outbox_publisher"),)
API_AUTHORIZER = AuthorizerSpec(service="tasks", function="api_authorizer")
# Webhook deliveries, each attempted off the rules' path (docs/architecture.md): the automations consumer sends one
# message per delivery it creates; a receiver's whole timeout (5 s) can pass per attempt, so a batch of 10 may take
# 50 s and the visibility timeout is six times the function's 60 s. Retries that are due later are the sweep's.
WEBHOOK_DELIVERIES = WorkQueueSpec(
    service="automations",
    function="deliver_webhooks",
    name="webhook-deliveries",
    senders=("automations_consumer",),
    env_var="CASELINE_WEBHOOK_QUEUE",
    visibility_timeout_seconds=360,
)
WORK_QUEUES = (WEBHOOK_DELIVERIES,)


class TenantResourceNames(Spec):
    """Physical names of one tenant's resources."""

    tenant_id: str

    def prefix(self) -> str:
        return f"caseline-{self.tenant_id}"

    def table(self, spec: TableSpec) -> str:
        return f"{self.prefix()}-{spec.id}"

    def stream_arn_parameter(self, table_id: str) -> str:
        """The SSM parameter holding the current stream ARN of one of the tenant's tables (infra/arns.py)."""
        return f"/caseline/{self.tenant_id}/tables/{table_id}/stream-arn"

    def user_pool(self) -> str:
        """The tenant's Cognito user pool: its staff, and the app clients of its integrators."""
        return f"{self.prefix()}-users"

    def bucket(self, spec: BucketSpec, account_id: str) -> str:
        return f"{self.prefix()}-{spec.id}-{account_id}"

    def signing_key_alias(self, spec: SigningKeySpec) -> str:
        return f"alias/{self.prefix()}-{spec.id}"

    def event_bus(self) -> str:
        return f"{self.prefix()}-bus"

    def rule(self, consumer: ConsumerSpec) -> str:
        return f"{self.prefix()}-{consumer.name}"

    def queue(self, queue: QueueSpec) -> str:
        return f"{self.prefix()}-{queue.name}"

    def dead_letter_queue(self, queue: QueueSpec) -> str:
        return f"{self.prefix()}-{queue.name}-dlq"


def service_environment(names: TenantResourceNames, service: str, account_id: str) -> dict[str, str]:
    """The resource names one service reads at cold start: only those it owns, plus the bus."""
    environment = {"CASELINE_TENANT_ID": names.tenant_id, "CASELINE_EVENT_BUS_NAME": names.event_bus()}
    environment.update({table.env_var: names.table(table) for table in TABLES if table.owner == service})
    environment.update(
        {bucket.env_var: names.bucket(bucket, account_id) for bucket in BUCKETS if bucket.read_by(service)}
    )
    environment.update({key.env_var: names.signing_key_alias(key) for key in SIGNING_KEYS if key.owner == service})
    environment.update({queue.env_var: names.queue(queue) for queue in WORK_QUEUES if queue.service == service})
    return environment


def download_environment(service: str, download_url: str) -> dict[str, str]:
    """Where one service's download links point, for each bucket it reads that browsers download from. The URL is
    known only once the tenant's distribution exists (or the local gateway listens), so it is not a name."""
    return {
        bucket.download_env_var: download_url
        for bucket in BUCKETS
        if bucket.download_env_var is not None and bucket.read_by(service)
    }
