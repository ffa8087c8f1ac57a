"""`caseline tenant restore` against moto: a PITR copy, the live table repaired from it, the replay since the restore
point, and readable refusals.

moto's RestoreTableToPointInTime copies the table as it is when called, whatever the time asked. So the repair is
tested from a copy the test makes before the writes that the restore must undo (`--restored-table`, as after an
earlier run or an AWS Backup restore), and the whole command, restore included, on a table whose copy equals it.
moto's replay sends every archived event to every rule, whatever the window and rules asked: the replay is checked
by the request it got and by the table's consumer hearing an event again.
"""

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from caseline_common.aws import AwsClients
from caseline_common.resources import CASES_TABLE, CONSUMERS, TIMELINE_TABLE, TenantResourceNames
from moto import mock_aws
from typer.testing import CliRunner

from caseline.cli import app
from caseline.local.provision import provision_tenant

TENANT = "demo"  # in tenants.toml, in us-east-1
NAMES = TenantResourceNames(tenant_id=TENANT)
CASES = NAMES.table(CASES_TABLE)
TIMELINE = NAMES.table(TIMELINE_TABLE)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsClients]:
    # The command reads CASELINE_AWS_ENDPOINT_URL, which the session's local stack sets: here it talks to moto's mock.
    monkeypatch.delenv("CASELINE_AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        clients = AwsClients("us-east-1")
        provision_tenant(clients, TENANT)
        for table in (CASES, TIMELINE):  # as the shared stack has them
            clients.dynamodb().update_continuous_backups(
                TableName=table, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
            )
        yield clients


def _item(pk: str, sk: str, **values: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}, **{name: {"S": value} for name, value in values.items()}}


def _put(aws: AwsClients, table: str, *items: dict[str, Any]) -> None:
    for item in items:
        aws.dynamodb().put_item(TableName=table, Item=item)


def _items(aws: AwsClients, table: str) -> dict[str, dict[str, Any]]:
    return {item["pk"]["S"]: item for item in aws.dynamodb().scan(TableName=table)["Items"]}


def _restore(*args: str) -> Any:
    result = CliRunner().invoke(app, ["tenant", "restore", TENANT, *args])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def _restore_point(aws: AwsClients, table: str) -> datetime:
    """The earliest time PITR offers (moto: when it was enabled, in whole seconds), once it has passed."""
    backups = aws.dynamodb().describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
    earliest: datetime = backups["PointInTimeRecoveryDescription"]["EarliestRestorableDateTime"]
    time.sleep(max(0.0, (earliest - datetime.now(UTC)).total_seconds() + 0.01))
    return earliest


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture
def cases_before_and_after(aws: AwsClients) -> str:
    """The cases table with one case changed, one opened and one outbox item written after a copy of it: the copy's
    name."""
    _put(aws, CASES, _item("CASE#A", "CASE", title="before", event="v1"), _item("CASE#B", "CASE", title="kept"))
    _put(aws, CASES, _item("OUTBOX#1", "EVENT", event="first"))
    copy = f"{CASES}-restored-test"
    aws.dynamodb().restore_table_to_point_in_time(SourceTableName=CASES, TargetTableName=copy)
    _put(aws, CASES, _item("CASE#A", "CASE", title="bad import", event="v2"), _item("CASE#C", "CASE", title="newer"))
    _put(aws, CASES, _item("OUTBOX#2", "EVENT", event="second"))
    stream = aws.dynamodb().describe_table(TableName=CASES)["Table"]["LatestStreamArn"]
    aws.ssm().put_parameter(Name=NAMES.stream_arn_parameter("cases"), Value=stream, Type="String")
    return copy


def test_the_live_table_is_repaired_from_the_restored_copy(aws: AwsClients, cases_before_and_after: str) -> None:
    to = _restore_point(aws, CASES)
    result = _restore(
        "--table", "cases", "--to", _iso(to), "--restored-table", cases_before_and_after, "--delete-newer"
    )

    assert result.exit_code == 0, result.output
    live = _items(aws, CASES)
    assert live["CASE#A"]["title"] == {"S": "before"}
    assert "event" not in live["CASE#A"]  # put back without the event it carried: the stream publishes nothing
    assert live["CASE#B"]["title"] == {"S": "kept"}
    assert "CASE#C" not in live
    assert {"OUTBOX#1", "OUTBOX#2"} <= set(live)  # putting one back would publish its event again
    assert "1 items put back, 1 unchanged, 1 outbox items left alone" in result.output
    assert "1 items created after the restore point, deleted" in result.output
    assert '"CASE#C"' in result.output
    assert "unchanged: the live table was repaired in place and keeps its stream" in result.output
    assert "nothing replayed: the cases table is the source of truth" in result.output
    assert aws.events().list_replays()["Replays"] == []
    again = _restore("--table", "cases", "--to", _iso(to), "--restored-table", cases_before_and_after)
    assert "0 items put back, 2 unchanged, 1 outbox items left alone" in again.output


def test_a_stream_parameter_that_names_another_stream_is_reported_with_what_to_deploy(
    aws: AwsClients, cases_before_and_after: str
) -> None:
    stale = "arn:aws:dynamodb:us-east-1:123456789012:table/caseline-demo-cases/stream/2026-01-01T00:00:00.000"
    aws.ssm().put_parameter(Name=NAMES.stream_arn_parameter("cases"), Value=stale, Type="String", Overwrite=True)
    to = _restore_point(aws, CASES)
    result = _restore("--table", "cases", "--to", _iso(to), "--restored-table", cases_before_and_after, "--dry-run")

    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert f"holds {stale} but the table's stream is" in said
    assert f"`caseline tenant deploy {TENANT}`" in said


def test_a_dry_run_writes_nothing_and_says_what_it_would_do(aws: AwsClients, cases_before_and_after: str) -> None:
    before = _items(aws, CASES)
    to = _restore_point(aws, CASES)
    result = _restore(
        "--table", "cases", "--to", _iso(to), "--restored-table", cases_before_and_after, "--delete-newer", "--dry-run"
    )

    assert result.exit_code == 0, result.output
    assert _items(aws, CASES) == before
    assert "1 items would be put back, 1 unchanged" in result.output
    assert "1 items created after the restore point, kept" in result.output


def test_the_whole_command_restores_a_copy_and_replays_the_events_since_to_the_tables_consumer(
    aws: AwsClients,
) -> None:
    _put(aws, TIMELINE, _item("CASE#A", "SEQ#1", hash="h1"))
    events = aws.events()
    bus_arn = events.describe_event_bus(Name=NAMES.event_bus())["Arn"]
    events.create_archive(ArchiveName=f"{NAMES.prefix()}-events", EventSourceArn=bus_arn, RetentionDays=35)
    to = _restore_point(aws, TIMELINE)
    (timeline_consumer,) = [consumer for consumer in CONSUMERS if consumer.service == "timeline"]
    queue = aws.sqs().get_queue_url(QueueName=NAMES.queue(timeline_consumer))["QueueUrl"]
    events.put_events(
        Entries=[
            {"EventBusName": NAMES.event_bus(), "Source": "caseline.cases", "DetailType": "case.opened", "Detail": "{}"}
        ]
    )
    delivered = aws.sqs().receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    aws.sqs().delete_message_batch(
        QueueUrl=queue, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(delivered)]
    )

    result = _restore("--table", "timeline", "--to", _iso(to))

    assert result.exit_code == 0, result.output
    copy = f"{TIMELINE}-restored-{to.strftime('%Y%m%dT%H%M%SZ')}"
    assert aws.dynamodb().describe_table(TableName=copy)["Table"]["TableStatus"] == "ACTIVE"
    assert _items(aws, copy) == _items(aws, TIMELINE)
    assert "0 items put back, 1 unchanged" in result.output
    assert "has no stream: no mapping to re-point" in result.output
    (replay,) = events.list_replays()["Replays"]
    assert replay["ReplayName"] in result.output
    assert replay["EventStartTime"] == to
    assert to < replay["EventEndTime"] <= datetime.now(UTC)
    described = events.describe_replay(ReplayName=replay["ReplayName"])
    rule_arn = events.describe_rule(Name=NAMES.rule(timeline_consumer), EventBusName=NAMES.event_bus())["Arn"]
    assert described["Destination"] == {"Arn": bus_arn, "FilterArns": [rule_arn]}
    assert f"delete-table --table-name {copy}" in result.output
    # The timeline's consumer hears the event again, marked as replayed.
    (again,) = aws.sqs().receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    assert json.loads(again["Body"])["replay-name"] == replay["ReplayName"]


def test_without_an_archive_the_replay_step_says_so(aws: AwsClients) -> None:
    result = _restore("--table", "timeline", "--to", _iso(_restore_point(aws, TIMELINE)))

    assert result.exit_code == 2
    assert f"No event archive {NAMES.prefix()}-events" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--table", "cases", "--to", "yesterday"], "is not a time"),
        (["--table", "cases", "--to", "2026-01-01T09:00:00"], "has no time zone"),
        (["--table", "cases", "--to", "2999-01-01T00:00:00Z"], "is in the future"),
        (["--table", "cases", "--to", "2020-01-01T00:00:00Z"], "is outside the PITR window"),
        (["--table", "portal", "--to", "2020-01-01T00:00:00Z"], "has no point-in-time recovery enabled"),
        (["--table", "cases", "--to", "2026-01-01T00:00:00Z", "--restored-table", "nope"], "No table nope"),
    ],
)
def test_bad_input_gets_a_readable_message(aws: AwsClients, args: list[str], message: str) -> None:
    if "--restored-table" in args:  # a time inside the window, so the copy is what is refused
        args[3] = _iso(_restore_point(aws, CASES))
    result = _restore(*args)

    assert result.exit_code == 2
    assert message in " ".join(result.output.split())


def test_an_unknown_tenant_or_table_gets_a_readable_message() -> None:
    unknown_tenant = CliRunner().invoke(app, ["tenant", "restore", "nobody", "--table", "cases", "--to", "2026-01-01Z"])
    unknown_table = CliRunner().invoke(app, ["tenant", "restore", TENANT, "--table", "nope", "--to", "2026-01-01Z"])

    assert unknown_tenant.exit_code == unknown_table.exit_code == 2
    assert "nobody" in unknown_tenant.output
    assert "Traceback" not in unknown_tenant.output + unknown_table.output
    assert "'nope' is not one of" in " ".join(unknown_table.output.split())


def test_a_tenant_not_deployed_here_gets_a_readable_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CASELINE_AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        result = _restore("--table", "cases", "--to", _iso(datetime.now(UTC) - timedelta(minutes=1)))

    assert result.exit_code == 2
    assert f"No table {CASES}" in " ".join(result.output.split())
