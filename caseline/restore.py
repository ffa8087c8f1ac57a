"""Restoring one of a tenant's tables to a point in time, behind `caseline tenant restore` (docs/operations.md).

The live table keeps its name, its stream and its place in the stacks: CloudFormation owns it, the functions name it
and the outbox publisher reads its stream. So a restore is PITR into a new table, then a repair of the live table
from that copy: items that differ are put back as they were, items created since are listed (and deleted only when
asked). Nothing is announced: outbox items are left alone, and a put-back case item leaves out the event it carried
(the stream would publish it again). Then the consumers that keep the table's data hear again, from the bus's
archive, every event since the restore point; they are idempotent (the timeline by event id, the projections by
case version), so what they had already is unchanged.

The repair reads both tables whole (a Scan of the copy, and of the live table's keys): comparing every item is the
job, done once per restore by an operator, off the product's paths, where the no-Scan rule holds.

This module talks to AWS (boto3 clients, emulator or not) and says what it does through `say`; the command prints.
"""

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError
from caseline_common.resources import CASES_TABLE, CONSUMERS, TableSpec, TenantResourceNames

Say = Callable[[str], None]
Item = dict[str, Any]  # as DynamoDB's client gives it: attribute name -> typed value

# Items a repair neither puts back nor deletes, by the prefix of their partition key: the outbox's (they only carry
# an event, and expire in 7 days).
NOT_REPAIRED = {CASES_TABLE.id: ("OUTBOX#",)}
# The attributes that make the cases table's stream publish an item's event (cases' `carried_event`): a put-back
# item leaves them out, so the repair announces nothing, and items are compared without them.
QUIET = {CASES_TABLE.id: ("event", "source")}
# Tables whose consumers must not hear events again, and why (printed).
NOT_REPLAYED = {
    CASES_TABLE.id: "the cases table is the source of truth: the projections already hold every event since, and "
    "its own consumer applies commands, which must not run again on the repaired cases",
}
BATCH_GET = 100  # DynamoDB's limits per BatchGetItem and BatchWriteItem
BATCH_WRITE = 25
NEWER_SHOWN = 20
# A restore of a large table takes hours (AWS: "usually less than", by table size); poll every 20 s for up to 12 h.
RESTORE_WAIT = {"Delay": 20, "MaxAttempts": 12 * 180}


class RestoreError(Exception):
    """The restore cannot go on; the message says why, for the console."""


def parse_restore_time(text: str, now: datetime) -> datetime:
    """An ISO 8601 instant with its zone (`2027-03-01T09:00:00Z`), in the past."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise RestoreError(
            f"--to {text!r} is not a time: give an ISO 8601 instant, e.g. 2027-03-01T09:00:00Z"
        ) from None
    if moment.tzinfo is None:
        raise RestoreError(f"--to {text!r} has no time zone: add Z (UTC) or an offset, e.g. 2027-03-01T09:00:00Z")
    if moment >= now:
        raise RestoreError(f"--to {moment.isoformat()} is in the future (now is {now.isoformat(timespec='seconds')})")
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class Restore:
    """One restore: which table of which tenant, to when, and where its copy goes."""

    names: TenantResourceNames
    table: TableSpec
    to: datetime
    started: datetime

    @property
    def live(self) -> str:
        return self.names.table(self.table)

    @property
    def copy(self) -> str:
        return f"{self.live}-restored-{self.to.strftime('%Y%m%dT%H%M%SZ')}"

    @property
    def replay_name(self) -> str:
        # At most 64 characters: the tenant's prefix, the table and when the restore started.
        return f"{self.names.prefix()}-{self.table.id}-{self.started.strftime('%Y%m%dT%H%M%S')}"[-64:]


def check_window(dynamodb: Any, restore: Restore) -> datetime:
    """The earliest time PITR can restore the live table to; refuses a restore point outside the window."""
    try:
        backups = dynamodb.describe_continuous_backups(TableName=restore.live)["ContinuousBackupsDescription"]
    except ClientError as error:
        if error.response["Error"]["Code"] in {"TableNotFoundException", "ResourceNotFoundException"}:
            raise RestoreError(
                f"No table {restore.live}: is the tenant {restore.names.tenant_id!r} deployed in this account and "
                "region (locally: --endpoint-url the emulator of `caseline dev --tenant`)?"
            ) from None
        raise
    pitr = backups.get("PointInTimeRecoveryDescription", {})
    if pitr.get("PointInTimeRecoveryStatus") != "ENABLED":
        raise RestoreError(f"{restore.live} has no point-in-time recovery enabled: there is nothing to restore from.")
    earliest: datetime = pitr["EarliestRestorableDateTime"].astimezone(UTC)
    if restore.to < earliest:
        days = pitr.get("RecoveryPeriodInDays", 35)
        raise RestoreError(
            f"--to {restore.to.isoformat()} is outside the PITR window of {restore.live} ({days} days): the earliest "
            f"restorable time is {earliest.isoformat(timespec='seconds')}."
        )
    return earliest


def restore_copy(dynamodb: Any, restore: Restore, say: Say) -> None:
    """PITR of the live table into `restore.copy`, encrypted with the live table's key, and waits until it is active.

    The copy has the live table's keys, indexes and data as of `restore.to`; it has no stream, TTL or PITR of its own
    (AWS restores none of them), and it is not in any stack: delete it once the repair is done."""
    live = dynamodb.describe_table(TableName=restore.live)["Table"]
    request: dict[str, Any] = {
        "SourceTableName": restore.live,
        "TargetTableName": restore.copy,
        "RestoreDateTime": restore.to,
        "BillingModeOverride": "PAY_PER_REQUEST",
    }
    key = live.get("SSEDescription", {}).get("KMSMasterKeyArn")
    if key:
        request["SSESpecificationOverride"] = {"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": key}
    try:
        dynamodb.restore_table_to_point_in_time(**request)
    except ClientError as error:
        code = error.response["Error"]["Code"]
        if code == "TableAlreadyExistsException":
            raise RestoreError(
                f"{restore.copy} exists already (an earlier restore to the same time?): repair from it with "
                f"--restored-table {restore.copy}, or delete it first."
            ) from None
        if code == "InvalidRestoreTimeException":
            raise RestoreError(
                f"AWS refuses the restore time: {error.response['Error'].get('Message', code)}"
            ) from None
        raise
    say(f"  restoring {restore.live} as of {restore.to.isoformat()} into {restore.copy} (waiting until it is active)")
    dynamodb.get_waiter("table_exists").wait(TableName=restore.copy, WaiterConfig=RESTORE_WAIT)


def check_copy(dynamodb: Any, name: str) -> None:
    """An existing restored copy to repair from: it must be there and active."""
    try:
        status = dynamodb.describe_table(TableName=name)["Table"]["TableStatus"]
    except ClientError as error:
        if error.response["Error"]["Code"] == "ResourceNotFoundException":
            raise RestoreError(f"No table {name} to repair from (--restored-table).") from None
        raise
    if status != "ACTIVE":
        raise RestoreError(f"{name} is {status}: wait until it is ACTIVE, then run the command again.")


@dataclass
class Repair:
    """What a repair found and did."""

    scanned: int = 0
    put_back: int = 0
    unchanged: int = 0
    left_alone: int = 0  # outbox items
    newer: list[Item] = field(default_factory=list)  # keys of items created after the restore point
    deleted: int = 0


class TableRepair:
    """Puts the live table's items back as the restored copy has them."""

    def __init__(self, dynamodb: Any, restore: Restore, copy: str, say: Say) -> None:
        self.dynamodb, self.restore, self.copy, self.say = dynamodb, restore, copy, say
        key = restore.table.key
        self.key_names = [key.partition, *([key.sort] if key.sort else [])]
        self.skipped_prefixes = NOT_REPAIRED.get(restore.table.id, ())
        self.quiet = QUIET.get(restore.table.id, ())

    def _key(self, item: Item) -> Item:
        return {name: item[name] for name in self.key_names}

    def _state(self, item: Item | None) -> Item | None:
        return None if item is None else {name: value for name, value in item.items() if name not in self.quiet}

    def _skipped(self, item: Item) -> bool:
        partition = item[self.key_names[0]]
        return any(str(partition.get("S", "")).startswith(prefix) for prefix in self.skipped_prefixes)

    def _pages(self, table: str, **scan: Any) -> Iterator[list[Item]]:
        for page in self.dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True, **scan):
            yield page["Items"]

    def _live_items(self, keys: list[Item]) -> dict[str, Item]:
        found: dict[str, Item] = {}
        request = {self.restore.live: {"Keys": keys, "ConsistentRead": True}}
        while request:
            answer = self.dynamodb.batch_get_item(RequestItems=request)
            for item in answer["Responses"].get(self.restore.live, []):
                found[key_text(self._key(item))] = item
            request = answer.get("UnprocessedKeys") or {}
            if request:
                time.sleep(0.2)  # throttled: DynamoDB returns what it could not read, to ask again
        return found

    def _write(self, requests: list[Item]) -> None:
        for start in range(0, len(requests), BATCH_WRITE):
            pending = {self.restore.live: requests[start : start + BATCH_WRITE]}
            while pending:
                pending = self.dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
                if pending:
                    time.sleep(0.2)

    def run(self, *, delete_newer: bool, dry_run: bool) -> Repair:
        repair, restored_keys = Repair(), set[str]()
        for page in self._pages(self.copy):
            wanted = [item for item in page if not self._skipped(item)]
            repair.left_alone += len(page) - len(wanted)
            for start in range(0, len(wanted), BATCH_GET):
                chunk = wanted[start : start + BATCH_GET]
                live = self._live_items([self._key(item) for item in chunk])
                changed = [
                    state
                    for item in chunk
                    if self._state(live.get(key_text(self._key(item)))) != (state := self._state(item))
                ]
                if not dry_run:
                    self._write([{"PutRequest": {"Item": item}} for item in changed])
                repair.put_back += len(changed)
                repair.unchanged += len(chunk) - len(changed)
            restored_keys.update(key_text(self._key(item)) for item in wanted)
            repair.scanned += len(page)
            self.say(f"  {repair.scanned} restored items read, {repair.put_back} differ from the live table")
        names = {f"#k{i}": name for i, name in enumerate(self.key_names)}
        keys_only = {"ProjectionExpression": ", ".join(names), "ExpressionAttributeNames": names}
        for page in self._pages(self.restore.live, **keys_only):
            repair.newer += [
                self._key(item)
                for item in page
                if not self._skipped(item) and key_text(self._key(item)) not in restored_keys
            ]
        if delete_newer and not dry_run:
            self._write([{"DeleteRequest": {"Key": key}} for key in repair.newer])
            repair.deleted = len(repair.newer)
        return repair


def key_text(key: Item) -> str:
    return json.dumps(key, sort_keys=True)


def stream_state(dynamodb: Any, ssm: Any, restore: Restore) -> str:
    """Whether the stream mapping reads the live table's stream: it reads the SSM parameter the shared stack writes,
    when the service's stack deploys (infra/arns.py)."""
    if not restore.table.stream:
        return f"{restore.live} has no stream: no mapping to re-point."
    current = dynamodb.describe_table(TableName=restore.live)["Table"].get("LatestStreamArn")
    parameter = restore.names.stream_arn_parameter(restore.table.id)
    try:
        recorded = ssm.get_parameter(Name=parameter)["Parameter"]["Value"]
    except ClientError as error:
        if error.response["Error"]["Code"] == "ParameterNotFound":
            return f"no parameter {parameter} (no stacks deployed here, as locally): nothing to re-point."
        raise
    if recorded == current:
        return f"unchanged: the live table was repaired in place and keeps its stream ({current})."
    return (
        f"{parameter} holds {recorded} but the table's stream is {current}: deploy the shared stack, then the "
        f"{restore.table.owner} stack (`caseline tenant deploy {restore.names.tenant_id}`): it re-creates the mapping."
    )


@dataclass(frozen=True)
class Replay:
    name: str
    start: datetime
    end: datetime
    rules: list[str]
    state: str


def replay_consumers(restore: Restore) -> list[str]:
    """The rules of the consumers that keep the restored table's data (names), or [] (NOT_REPLAYED says why)."""
    if restore.table.id in NOT_REPLAYED:
        return []
    return [restore.names.rule(consumer) for consumer in CONSUMERS if consumer.service == restore.table.owner]


def start_replay(events: Any, restore: Restore, rules: list[str], *, dry_run: bool) -> Replay:
    """Replays every archived event from the restore point to now, to the given rules of the tenant bus only."""
    bus, archive = restore.names.event_bus(), f"{restore.names.prefix()}-events"
    try:
        archive_arn = events.describe_archive(ArchiveName=archive)["ArchiveArn"]
    except ClientError as error:
        if error.response["Error"]["Code"] == "ResourceNotFoundException":
            raise RestoreError(
                f"No event archive {archive}: the events since the restore point cannot be replayed (the local "
                "stack has no archive; the shared stack creates it in AWS)."
            ) from None
        raise
    bus_arn = events.describe_event_bus(Name=bus)["Arn"]
    rule_arns = [events.describe_rule(Name=rule, EventBusName=bus)["Arn"] for rule in rules]
    if dry_run:
        return Replay(restore.replay_name, restore.to, restore.started, rule_arns, "not started (dry run)")
    events.start_replay(
        ReplayName=restore.replay_name,
        Description=f"After restoring {restore.live} to {restore.to.isoformat()}",
        EventSourceArn=archive_arn,
        EventStartTime=restore.to,
        EventEndTime=restore.started,
        Destination={"Arn": bus_arn, "FilterArns": rule_arns},
    )
    state = events.describe_replay(ReplayName=restore.replay_name)["State"]
    return Replay(restore.replay_name, restore.to, restore.started, rule_arns, state)
