"""The lake writer on moto, through its real handler and the local queue pump (batches of up to 1,000): one object
per day of a batch, a malformed record retried alone, nothing lost when a write fails and the batch comes back; the
backfill from a seeded timeline, twice, gives the same rows; the template readers keep the newest version; an event
that carries no case (a portal link) gets its case's columns from the state kept per case, which a late batch never
winds back, within a small budget of AWS calls."""

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import duckdb
import pytest
from caseline_common.aws import AwsClients
from caseline_common.envelope import Actor, ActorKind, EventEnvelope
from caseline_common.event_examples import CASES, CLAIM_HISTORY, DATA, ENVELOPES
from caseline_common.events import EventType, event_data
from caseline_common.examples import TEMPLATE_DEFINITION
from caseline_common.freshness import CaseArrival
from caseline_common.lake import LAKE_COLUMNS
from caseline_common.resources import CONSUMERS, INSIGHT_TABLE, LAKE_BUCKET, TIMELINE_TABLE, TenantResourceNames
from moto import mock_aws
from typer.testing import CliRunner

from caseline.cli import app
from caseline.insight_cli import backfill, lake_writer
from caseline.local.loader import LoadedService, load_service
from caseline.local.provision import LOCAL_ACCOUNT_ID, _create_table
from caseline.local.pumps import QueuePump
from caseline.timeline_source import TimelineSource

from .support import insight_environment, recording

if TYPE_CHECKING:
    from services.insight.chalicelib.adapters.parquet_lake import ParquetLake

TENANT = "lakeside"
NAMES = TenantResourceNames(tenant_id=TENANT)
BUCKET = NAMES.bucket(LAKE_BUCKET, LOCAL_ACCOUNT_ID)
REGION = "us-east-1"
DAY_ONE = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@dataclass
class Lake:
    aws: AwsClients
    insight: LoadedService
    pump: QueuePump
    queue_url: str
    directory: Path
    batches: list[list[str]]

    @property
    def parquet(self) -> "ParquetLake":
        parquet: ParquetLake = self.insight.module("chalicelib.runtime").lake()
        return parquet

    def send(self, *bodies: str) -> None:
        sqs = self.aws.sqs()
        for start in range(0, len(bodies), 10):
            sqs.send_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "MessageBody": body} for i, body in enumerate(bodies[start : start + 10])],
            )

    def rows(self) -> list[dict[str, Any]]:
        """Every row of every object, as a query reads the lake (a local copy, each event once)."""
        self.parquet.download_new(self.directory)
        files = sorted(str(path) for path in self.directory.glob("events/dt=*/*.parquet"))
        if not files:
            return []
        with duckdb.connect() as connection:
            relation = connection.read_parquet(files, hive_partitioning=True)
            names = relation.columns
            return [dict(zip(names, row, strict=True)) for row in relation.order("event_id").fetchall()]


@pytest.fixture
def lake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Lake]:
    environment = insight_environment(NAMES, REGION, BUCKET, str(tmp_path / "engine"))
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("CASELINE_AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        aws = AwsClients(REGION)
        _create_table(aws, NAMES, INSIGHT_TABLE)
        _create_table(aws, NAMES, TIMELINE_TABLE)
        aws.s3().create_bucket(Bucket=BUCKET)
        # The writer's visibility timeout: receiving a batch of 1,000 from moto may take longer than SQS's default.
        visibility = next(spec.visibility_timeout_seconds for spec in CONSUMERS if spec.function == "lake_writer")
        queue_url = aws.sqs().create_queue(
            QueueName="insight-events", Attributes={"VisibilityTimeout": str(visibility)}
        )["QueueUrl"]
        insight = load_service("insight")  # its own copy: its settings are read from this environment
        handler = insight.function("lake_writer")
        batches: list[list[str]] = []

        def recorded(event: dict[str, Any], context: Any) -> Any:
            batches.append([record["messageId"] for record in event["Records"]])
            return handler(event, context)

        pump = QueuePump(aws.sqs(), queue_url, "arn:aws:sqs:us-east-1:123456789012:insight-events", recorded,
                         "lake_writer", batch_size=1000, retry_delay_seconds=0)  # fmt: skip
        yield Lake(aws, insight, pump, queue_url, tmp_path / "copy", batches)


def bus_body(event: EventEnvelope, case: dict[str, Any] | None = None) -> str:
    """The SQS body EventBridge delivers: the entry, its detail the envelope and the case it carries."""
    detail = event.model_dump(mode="json") | ({"case": case} if case is not None else {})
    return json.dumps(
        {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": event.type,
            "source": "caseline.cases",
            "account": LOCAL_ACCOUNT_ID,
            "time": event.occurred_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": REGION,
            "resources": [],
            "detail": detail,
        }
    )


def comment(case_id: str, at: datetime, body: str = "Called the garage") -> EventEnvelope:
    return EventEnvelope.new(
        tenant_id=TENANT,
        case_id=case_id,
        type=EventType.COMMENT_ADDED,
        actor=Actor(kind=ActorKind.USER, id="staff-1", display_name="ana@example.org"),
        correlation_id="c-1",
        occurred_at=at,
        data=event_data(EventType.COMMENT_ADDED, comment_id="01M8HFAK4RA3T72SDPY6PNCDD9", external=False, body=body),
    )


def published(version: int, groups: list[str]) -> EventEnvelope:
    definition = {**TEMPLATE_DEFINITION, "roles": [{**TEMPLATE_DEFINITION["roles"][0], "groups": groups}]}
    return EventEnvelope.new(
        tenant_id=TENANT,
        type=EventType.TEMPLATE_PUBLISHED,
        actor=Actor(kind=ActorKind.USER, id="admin-1"),
        correlation_id=f"publish-{version}",
        occurred_at=DAY_ONE,
        data=event_data(
            EventType.TEMPLATE_PUBLISHED, template_key="motor-claim", version=version, name="Motor claim",
            definition=definition,
        ),
    )  # fmt: skip


def test_a_batch_is_one_object_per_day_with_every_events_row(lake: Lake) -> None:
    events = [comment(f"CASE{n:02d}", DAY_ONE + timedelta(hours=n * 2)) for n in range(12)]  # over two days
    lake.send(*(bus_body(event) for event in events))

    assert lake.pump.poll_once()

    assert len(lake.batches) == 1
    keys = lake.parquet.keys()
    assert sorted(key.rsplit("/", 1)[0] for key in keys) == ["events/dt=2026-12-01", "events/dt=2026-12-02"]
    rows = lake.rows()
    assert [row["event_id"] for row in rows] == sorted(event.event_id for event in events)
    assert {row["dt"].isoformat() for row in rows} == {"2026-12-01", "2026-12-02"}
    assert set(rows[0]) == {column.name for column in LAKE_COLUMNS} | {"dt"}
    assert "Called the garage" not in json.dumps(rows, default=str)
    assert not lake.pump.poll_once()  # every message was deleted


def test_a_malformed_record_is_retried_alone_and_the_others_are_written(lake: Lake) -> None:
    good = [comment("CASE-GOOD", DAY_ONE + timedelta(minutes=n)) for n in range(5)]
    not_an_event = json.dumps({"detail-type": "case.opened", "detail": {"event_id": "not a ULID"}})
    lake.send(*(bus_body(event) for event in good[:3]), not_an_event, *(bus_body(event) for event in good[3:]))

    lake.pump.poll_once()
    lake.pump.poll_once()

    first, second = lake.batches
    assert len(first) == 6
    assert len(second) == 1
    assert second[0] in first
    assert [row["event_id"] for row in lake.rows()] == sorted(event.event_id for event in good)


def test_a_failed_write_fails_the_batch_and_its_redelivery_loses_nothing(lake: Lake) -> None:
    events = [comment("CASE-RETRY", DAY_ONE + timedelta(minutes=n)) for n in range(4)]
    lake.send(*(bus_body(event) for event in events))
    s3 = lake.aws.s3()
    s3.delete_bucket(Bucket=BUCKET)  # the write fails

    lake.pump.poll_once()
    s3.create_bucket(Bucket=BUCKET)
    lake.pump.poll_once()
    lake.send(bus_body(events[0]))  # delivered once more after it was written: a duplicate row
    lake.pump.poll_once()

    assert [len(batch) for batch in lake.batches] == [4, 4, 1]
    rows = lake.rows()
    assert len(rows) == 5
    assert sorted({row["event_id"] for row in rows}) == sorted(event.event_id for event in events)


def test_the_template_readers_keep_the_newest_version(lake: Lake) -> None:
    lake.send(bus_body(published(2, ["claims-team"])), bus_body(published(1, ["everyone"])))
    lake.pump.poll_once()
    lake.send(bus_body(published(1, ["everyone"])))
    lake.pump.poll_once()

    readers = lake.insight.module("chalicelib.adapters.dynamo_insight").DynamoTemplateReaders(
        lake.aws.dynamodb(), NAMES.table(INSIGHT_TABLE)
    )
    assert readers.all() == {"motor-claim": frozenset({"claims-team"})}
    [row] = [row for row in lake.rows() if row["template_version"] == 2]
    assert (row["case_id"], row["template_key"], row["type"]) == (None, "motor-claim", "template.published")


def _seed_timeline(aws: AwsClients) -> list[EventEnvelope]:
    """Two cases' timelines and the template they follow, appended by the timeline service's own code."""
    timeline = load_service("timeline")
    repository = timeline.module("chalicelib.adapters.dynamo_timeline").DynamoTimelineRepository(
        aws.dynamodb(), NAMES.table(TIMELINE_TABLE)
    )
    service = timeline.module("chalicelib.service").TimelineService(
        repository,
        SimpleNamespace(put=lambda _anchor: None),
        None,
        None,
        tenant_id=TENANT,
        clock=lambda: datetime.now(UTC),
        new_salt=lambda: "00" * 16,
        arrival=CaseArrival(clock=lambda: datetime.now(UTC)),
    )
    service.record(published(3, ["claims-team"]))
    appended = []
    for case_id in ("01M8HF0000000000000000CAS1", "01M8HF0000000000000000CAS2"):
        for event_type in CLAIM_HISTORY:
            envelope = {**ENVELOPES[event_type], "event_id": f"{ENVELOPES[event_type]['event_id'][:-2]}{case_id[-2:]}"}
            event = EventEnvelope.model_validate(
                {**envelope, "tenant_id": TENANT, "case_id": case_id, "type": event_type, "data": DATA[event_type]}
            )
            service.record(event)
            appended.append(event)
    return appended


def test_backfill_twice_over_the_timelines_gives_the_same_rows_and_objects(lake: Lake) -> None:
    appended = _seed_timeline(lake.aws)
    source = TimelineSource(lake.aws.dynamodb(), NAMES.table(TIMELINE_TABLE))
    writer = lake_writer(lake.aws, TENANT, LOCAL_ACCOUNT_ID)
    links: list[int] = []

    first = backfill(source, writer, lambda: links.append(1))
    keys, rows = sorted(lake.parquet.keys()), lake.rows()
    second = backfill(source, writer, lambda: links.append(1))

    assert first.rows == second.rows == len(appended) == len(links) // 2
    assert sorted(lake.parquet.keys()) == keys
    assert lake.rows() == rows
    assert [row["event_id"] for row in rows] == sorted(event.event_id for event in appended)
    # The state each case's events left, folded from its chain: closed, then reopened.
    closed = next(row for row in rows if row["type"] == "case.closed")
    assert (closed["status"], closed["case_version"], closed["template_key"]) == ("closed", 8, "motor-claim")
    assert closed["closed_at"] == datetime.fromisoformat(CASES[EventType.CASE_CLOSED]["closed_at"]).replace(tzinfo=None)  # type: ignore[index]
    readers = lake.insight.module("chalicelib.adapters.dynamo_insight").DynamoTemplateReaders(
        lake.aws.dynamodb(), NAMES.table(INSIGHT_TABLE)
    )
    assert readers.all() == {"motor-claim": frozenset({"claims-team"})}
    # Each case's last state is kept for the live events that carry none (reopened: version 9).
    states = lake.insight.module("chalicelib.adapters.dynamo_insight").DynamoCaseStates(
        lake.aws.dynamodb(), NAMES.table(INSIGHT_TABLE)
    )
    kept = states.get(["01M8HF0000000000000000CAS1", "01M8HF0000000000000000CAS2"])
    assert {case_id: (state.case_version, state.status) for case_id, state in kept.items()} == {
        "01M8HF0000000000000000CAS1": (9, "open"),
        "01M8HF0000000000000000CAS2": (9, "open"),
    }


def test_the_backfill_command_writes_the_tenants_lake_and_says_how_much(lake: Lake) -> None:
    appended = _seed_timeline(lake.aws)

    result = CliRunner().invoke(app, ["insight", "backfill", "--tenant", TENANT, "--region", REGION])

    assert result.exit_code == 0, result.output
    assert f"Wrote {len(appended)} events of tenant {TENANT} into its lake." in result.output
    assert len(lake.rows()) == len(appended)


# Events that name a case but carry none (a portal link): their case columns come from the case's state the writer
# keeps from the batches before.
OWNER = "5c1e9a7b-3f2d-4e8a-9b6c-0d4f2a1e7c3b"


def snapshot(case_id: str, version: int, stage: str, owner: str = OWNER) -> dict[str, Any]:
    """The case a cases-service event carries: the reference's opened claim, at `version` in `stage`."""
    opened: dict[str, Any] = dict(CASES[EventType.CASE_OPENED] or {})
    return opened | {"id": case_id, "version": version, "stage": stage, "owner": owner}


def case_event(event_type: EventType, case_id: str, at: datetime) -> EventEnvelope:
    return EventEnvelope.new(
        tenant_id=TENANT,
        case_id=case_id,
        type=event_type,
        actor=Actor(kind=ActorKind.USER, id="staff-1"),
        correlation_id=f"c-{case_id}",
        occurred_at=at,
        data=DATA[event_type],
    )


def state_columns(row: dict[str, Any]) -> tuple[Any, ...]:
    return row["template_key"], row["case_version"], row["stage"], row["owner"]


def test_a_link_in_a_later_batch_takes_its_cases_state_and_a_late_older_batch_winds_nothing_back(lake: Lake) -> None:
    case_id = "01M8HF0000000000000000LNK1"
    opened, moved = (
        case_event(each, case_id, DAY_ONE) for each in (EventType.CASE_OPENED, EventType.CASE_STAGE_CHANGED)
    )
    issued = case_event(EventType.PORTAL_LINK_ISSUED, case_id, DAY_ONE + timedelta(hours=2))
    revoked = case_event(EventType.PORTAL_LINK_REVOKED, case_id, DAY_ONE + timedelta(hours=3))
    lake.send(bus_body(opened, snapshot(case_id, 1, "submitted")), bus_body(moved, snapshot(case_id, 2, "assessment")))
    lake.pump.poll_once()
    lake.send(bus_body(issued))  # the portal sends no case
    lake.pump.poll_once()
    lake.send(bus_body(opened, snapshot(case_id, 1, "submitted", owner="someone-else")))  # late and older
    lake.pump.poll_once()
    lake.send(bus_body(revoked))
    lake.pump.poll_once()

    rows = {row["event_id"]: row for row in lake.rows()}
    assert state_columns(rows[issued.event_id]) == ("motor-claim", 2, "assessment", OWNER)
    assert state_columns(rows[revoked.event_id]) == ("motor-claim", 2, "assessment", OWNER)
    states = lake.insight.module("chalicelib.adapters.dynamo_insight").DynamoCaseStates(
        lake.aws.dynamodb(), NAMES.table(INSIGHT_TABLE)
    )
    assert states.get([case_id, "01M8HF0000000000000000NKWN"])[case_id].case_version == 2

    # The portal report over this lake counts the link under its template, and a template filter keeps it.
    runtime = lake.insight.module("chalicelib.runtime")
    query = lake.insight.module("chalicelib.domain.reports").ReportQuery
    day = {"from": DAY_ONE.date(), "to": DAY_ONE.date()}
    for template in (None, "motor-claim"):
        report = runtime.engine().run(query.model_validate({"report": "portal", "template": template, **day}))
        assert [(row["template_key"], row["links_issued"]) for row in report.rows] == [("motor-claim", 1)]


def test_a_batch_of_400_events_over_20_cases_makes_a_handful_of_aws_calls(lake: Lake) -> None:
    case_ids = [f"01M8HF00000000000000000C{n:02d}" for n in range(20)]
    lake.send(*(bus_body(case_event(EventType.CASE_OPENED, case_id, DAY_ONE), snapshot(case_id, 1, "submitted"))
                for case_id in case_ids))  # fmt: skip
    lake.pump.poll_once()
    # Per case a link first (it needs the kept state: no earlier row of its case in the batch), then 19 events
    # that carry the case, its version moving on.
    later = DAY_ONE + timedelta(hours=1)
    bodies = []
    for case_id in case_ids:
        bodies.append(bus_body(case_event(EventType.PORTAL_LINK_ISSUED, case_id, later)))
        bodies += [
            bus_body(comment(case_id, later + timedelta(seconds=n)), snapshot(case_id, 1 + n, "assessment"))
            for n in range(1, 20)
        ]
    lake.send(*bodies)
    aws = lake.insight.module("chalicelib.runtime").runtime.aws

    with recording(aws.dynamodb()) as dynamodb, recording(aws.s3()) as s3:
        lake.pump.poll_once()

    assert [len(batch) for batch in lake.batches] == [20, 400]
    assert s3.operations == ["PutObject"]  # one day
    assert dynamodb.operations == ["BatchGetItem"] + ["PutItem"] * 20  # the kept states read once, one write a case
    links = [row for row in lake.rows() if row["type"] == "portal.link_issued"]
    assert len(links) == 20
    assert {state_columns(row) for row in links} == {("motor-claim", 1, "submitted", OWNER)}
