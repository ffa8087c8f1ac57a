"""The timeline's hash chain through the whole stack: events go on the tenant bus, the consumer chains them,
and the API verifies, exports, filters, pages and erases. Tampering is done behind the service's back,
straight on the table."""

import io
import json
import random
import uuid
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from caseline_common.bundle import EVENTS_FILE, verify_bundle
from caseline_common.chain import GENESIS_HASH, link_event
from caseline_common.envelope import Actor, ActorKind, EventEnvelope, Visibility, new_id
from caseline_common.pagination import encode_cursor
from caseline_common.resources import ANCHORS_BUCKET
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from ulid import ULID

from caseline.local.provision import LOCAL_ACCOUNT_ID
from caseline.local.pumps import SchedulePump
from caseline.local.stack import LocalStack

from .support import (
    CallRecorder,
    assert_problem,
    header,
    queue_depth,
    recording,
    run_scheduled,
    stored_items,
    stored_links,
    timeline,
    timeline_table,
    wait_until,
)

T0 = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
SYSTEM = Actor(kind=ActorKind.SYSTEM, id="chain-test")
ZIP = "application/zip"


@pytest.fixture(autouse=True, scope="module")
def anchoring_only_when_asked(stack: LocalStack) -> Iterator[None]:
    """The anchoring schedule is paused while this module runs: its tests anchor when they mean to."""
    [pump] = [pump for pump in stack.pumps if isinstance(pump, SchedulePump) and pump.name == "schedule:anchor_heads"]
    scheduled = pump.handler
    pump.handler = lambda _event, _context: {"anchored": 0}
    try:
        yield
    finally:
        pump.handler = scheduled


# helpers


def event(
    case_id: str,
    type_: str = "case.note_added",
    *,
    minutes: int = 0,
    actor: Actor = SYSTEM,
    visibility: Visibility = Visibility.INTERNAL,
    data: dict[str, Any] | None = None,
    personal: dict[str, Any] | None = None,
    subjects: list[str] | None = None,
) -> EventEnvelope:
    return EventEnvelope.new(
        tenant_id="demo",
        case_id=case_id,
        type=type_,
        actor=actor,
        correlation_id=new_id(),
        data=data if data is not None else {"note": f"at minute {minutes}"},
        personal=personal,
        subjects=subjects,
        visibility=visibility,
        occurred_at=T0 + timedelta(minutes=minutes),
    )


def publish(stack: LocalStack, *events: EventEnvelope) -> None:
    """Puts the events on the tenant bus, as the cases service's outbox publisher does."""
    bus = stack.tenant.names.event_bus()
    entries = [envelope.bus_entry(source_service="cases", bus_name=bus) for envelope in events]
    for start in range(0, len(entries), 10):
        response = stack.aws.events().put_events(Entries=entries[start : start + 10])  # type: ignore[arg-type]
        assert response["FailedEntryCount"] == 0, response


def wait_for(stack: LocalStack, case_id: str, count: int) -> list[dict[str, Any]]:
    """The case's timeline, once it holds `count` entries."""

    def entries() -> list[dict[str, Any]]:
        found = timeline(stack, case_id)
        return found if len(found) >= count else []

    return wait_until(entries, what=f"{count} entries on the timeline of {case_id}")


def chained_case(stack: LocalStack, count: int = 3) -> tuple[str, list[dict[str, Any]]]:
    case_id = new_id()
    publish(stack, *(event(case_id, minutes=minute) for minute in range(count)))
    return case_id, wait_for(stack, case_id, count)


def call(
    stack: LocalStack, method: str, path: str, *, token: str | None = None, accept: str | None = None
) -> tuple[int, dict[str, str], bytes]:
    headers = {"Authorization": f"Bearer {token or stack.staff_token()}"}
    if accept:
        headers["Accept"] = accept
    return stack.api.handle(method, path, headers, None)


def verify(stack: LocalStack, case_id: str) -> dict[str, Any]:
    status, body = stack.request("GET", f"/cases/{case_id}/timeline/verify")
    assert status == 200, body
    return dict(body)


def link_key(case_id: str, seq: int) -> dict[str, Any]:
    return {"pk": {"S": f"CASE#{case_id}"}, "sk": {"S": f"LINK#{seq:012d}"}}


def export(stack: LocalStack, case_id: str) -> bytes:
    status, headers, raw = call(stack, "GET", f"/cases/{case_id}/timeline/export", accept=ZIP)
    assert status == 200, raw
    assert (header(headers, "Content-Type") or "").startswith(ZIP), headers
    assert f"case-{case_id}-timeline.zip" in (header(headers, "Content-Disposition") or ""), headers
    return raw


def signing_key_pem(stack: LocalStack) -> bytes:
    status, body = stack.request("GET", "/timeline/signing-key")
    assert status == 200, body
    assert body["algorithm"] == "ECDSA_SHA_256"
    assert body["key_id"]
    pem: str = body["public_key_pem"]
    assert pem.startswith("-----BEGIN PUBLIC KEY-----")
    return pem.encode()


def with_file(bundle: bytes, name: str, content: bytes) -> bytes:
    """The same bundle with one file's content replaced."""
    source, target = zipfile.ZipFile(io.BytesIO(bundle)), io.BytesIO()
    with source, zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            archive.writestr(info, content if info.filename == name else source.read(info.filename))
    return target.getvalue()


def anchors_bucket(stack: LocalStack) -> str:
    return stack.tenant.names.bucket(ANCHORS_BUCKET, LOCAL_ACCOUNT_ID)


def anchor_keys(stack: LocalStack, case_id: str) -> list[str]:
    listing = stack.aws.s3().list_objects_v2(Bucket=anchors_bucket(stack), Prefix=f"anchors/{case_id}/")
    return [item["Key"] for item in listing.get("Contents", [])]


# verification


def test_an_untouched_chain_verifies(stack: LocalStack) -> None:
    case_id, entries = chained_case(stack, 3)
    assert [entry["seq"] for entry in entries] == [1, 2, 3]
    assert entries[0]["prev_hash"] == GENESIS_HASH
    assert [entry["prev_hash"] for entry in entries[1:]] == [entry["hash"] for entry in entries[:-1]]
    result = verify(stack, case_id)
    assert result["valid"] is True, result
    assert (result["length"], result["head_hash"], result["first_bad_seq"]) == (3, entries[-1]["hash"], None)


def unknown_case_id() -> str:
    """An id minted a day ago that no event ever named: no case is on its way under it."""
    return str(ULID.from_datetime(datetime.now(UTC) - timedelta(days=1)))


def test_verifying_an_unknown_case_is_not_found(stack: LocalStack) -> None:
    response = call(stack, "GET", f"/cases/{unknown_case_id()}/timeline/verify")
    assert_problem(response, 404)


def test_a_case_id_minted_moments_ago_that_has_not_arrived_is_retried_not_denied(stack: LocalStack) -> None:
    status, headers, body = call(stack, "GET", f"/cases/{new_id()}/timeline")
    assert status == 503, body
    assert header(headers, "Retry-After") == "1"


def test_a_damaged_stored_link_is_shown_as_damaged_reported_by_verify_and_not_signed(stack: LocalStack) -> None:
    case_id, _entries = chained_case(stack, 3)
    stack.aws.dynamodb().update_item(
        TableName=timeline_table(stack),
        Key=link_key(case_id, 2),
        UpdateExpression="SET #record = :record",
        ExpressionAttributeNames={"#record": "record"},
        ExpressionAttributeValues={":record": {"S": '{"seq": 2, "event": {"type": 7'}},
    )

    status, page = stack.request("GET", f"/cases/{case_id}/timeline")
    assert status == 200, page
    assert [entry["event"] is None for entry in page["items"]] == [False, True, False]
    assert "cannot be read" in page["items"][1]["damaged"]
    result = verify(stack, case_id)
    assert (result["valid"], result["first_bad_seq"]) == (False, 2), result
    assert_problem(call(stack, "GET", f"/cases/{case_id}/timeline/export", accept=ZIP), 409)


def test_an_edited_link_breaks_the_chain_at_that_link(stack: LocalStack) -> None:
    case_id, _entries = chained_case(stack, 4)
    assert verify(stack, case_id)["valid"] is True
    [stored] = [link for link in stored_links(stack, case_id) if link["record"]["seq"] == 3]
    record = stored["record"]
    record["event"]["data"]["note"] = "rewritten later"
    stack.aws.dynamodb().update_item(
        TableName=timeline_table(stack),
        Key=link_key(case_id, 3),
        UpdateExpression="SET #record = :record",
        ExpressionAttributeNames={"#record": "record"},
        ExpressionAttributeValues={":record": {"S": json.dumps(record, separators=(",", ":"))}},
    )
    result = verify(stack, case_id)
    assert (result["valid"], result["first_bad_seq"], result["length"]) == (False, 3, 2), result
    assert "hash does not match" in result["reason"]


def test_a_truncated_chain_fails_against_its_anchor(stack: LocalStack) -> None:
    case_id, entries = chained_case(stack, 3)
    assert run_scheduled(stack, "anchor_heads")["anchored"] >= 1
    # The latest anchor is at the head (a scheduled run already under way as the module began may have
    # anchored an earlier head too).
    assert anchor_keys(stack, case_id)[-1] == f"anchors/{case_id}/{3:012d}.json"
    [head] = stored_items(stack, case_id, "HEAD")
    assert "gsi1pk" not in head, "an anchored head leaves the unanchored index"
    anchored = verify(stack, case_id)
    assert anchored["valid"] is True, anchored
    assert (anchored["anchor"]["seq"], anchored["anchor"]["hash"]) == (3, entries[2]["hash"])

    dynamodb = stack.aws.dynamodb()
    dynamodb.delete_item(TableName=timeline_table(stack), Key=link_key(case_id, 3))
    dynamodb.put_item(
        TableName=timeline_table(stack),
        Item={**head, "seq": {"N": "2"}, "hash": {"S": entries[1]["hash"]}},
    )
    assert [entry["seq"] for entry in timeline(stack, case_id)] == [1, 2], "the API alone cannot tell"
    result = verify(stack, case_id)
    assert (result["valid"], result["first_bad_seq"], result["length"]) == (False, 3, 2), result
    assert "ends before its anchor" in result["reason"]


def test_reordered_links_break_the_chain(stack: LocalStack) -> None:
    case_id, _entries = chained_case(stack, 4)
    dynamodb, table = stack.aws.dynamodb(), timeline_table(stack)
    second, third = (
        dynamodb.get_item(TableName=table, Key=link_key(case_id, seq), ConsistentRead=True)["Item"] for seq in (2, 3)
    )
    for target, source in ((second, third), (third, second)):
        dynamodb.update_item(
            TableName=table,
            Key={"pk": target["pk"], "sk": target["sk"]},
            UpdateExpression="SET #record = :record, #hash = :hash",
            ExpressionAttributeNames={"#record": "record", "#hash": "hash"},
            ExpressionAttributeValues={":record": source["record"], ":hash": source["hash"]},
        )
    result = verify(stack, case_id)
    assert (result["valid"], result["first_bad_seq"], result["length"]) == (False, 2, 1), result


def test_closing_a_case_anchors_its_head_at_once(stack: LocalStack) -> None:
    case_id = new_id()
    publish(stack, event(case_id, minutes=0), event(case_id, minutes=1))
    wait_for(stack, case_id, 2)
    assert anchor_keys(stack, case_id) == [], "nothing anchored it yet"
    publish(stack, event(case_id, "case.closed", minutes=2, data={"outcome": "done"}))
    entries = wait_for(stack, case_id, 3)
    keys = wait_until(lambda: anchor_keys(stack, case_id), what="the closed case's anchor", timeout=5)
    assert keys == [f"anchors/{case_id}/{3:012d}.json"]
    body = stack.aws.s3().get_object(Bucket=anchors_bucket(stack), Key=keys[0])["Body"].read()
    anchor = json.loads(body)
    assert (anchor["case_id"], anchor["seq"], anchor["hash"]) == (case_id, 3, entries[2]["hash"])
    [head] = stored_items(stack, case_id, "HEAD")
    assert "gsi1pk" not in head
    assert verify(stack, case_id)["anchor"]["seq"] == 3


# export


def test_an_export_verifies_offline_and_a_changed_byte_does_not(stack: LocalStack) -> None:
    case_id = new_id()
    person = f"participant-{uuid.uuid4().hex[:8]}"
    publish(
        stack,
        event(case_id, minutes=0),
        event(case_id, minutes=1, personal={"name": "Ada <Lovelace>"}, subjects=[person]),
        event(case_id, minutes=2, visibility=Visibility.EXTERNAL),
    )
    entries = wait_for(stack, case_id, 3)
    bundle, pem = export(stack, case_id), signing_key_pem(stack)

    result = verify_bundle(bundle, pem)
    assert result.valid, result.problems
    assert (result.case_id, result.length, result.head_hash) == (case_id, 3, entries[-1]["hash"])
    with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
        assert sorted(archive.namelist()) == ["events.jsonl", "history.html", "manifest.json", "manifest.sig"]
        events = archive.read(EVENTS_FILE)
        history = archive.read("history.html").decode()
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["entries"] == [{"seq": entry["seq"], "hash": entry["hash"]} for entry in entries]
    assert "<Lovelace>" not in history, "the history page escapes what it shows"

    position = events.index(b"at minute 2") + len(b"at minute ")
    tampered = events[:position] + b"3" + events[position + 1 :]
    assert sum(old != new for old, new in zip(events, tampered, strict=True)) == 1
    broken = verify_bundle(with_file(bundle, EVENTS_FILE, tampered), pem)
    assert not broken.valid
    assert any("events.jsonl does not match" in problem for problem in broken.problems), broken.problems
    assert any("chain breaks at sequence number 3" in problem for problem in broken.problems), broken.problems

    other_key = ec.generate_private_key(ec.SECP256R1()).public_key()
    stranger = verify_bundle(bundle, other_key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    assert not stranger.valid
    assert any("signature" in problem for problem in stranger.problems)


def test_an_export_must_be_accepted_as_a_zip(stack: LocalStack) -> None:
    case_id, _entries = chained_case(stack, 1)
    assert_problem(call(stack, "GET", f"/cases/{case_id}/timeline/export", accept="text/html"), 406)
    assert_problem(call(stack, "GET", f"/cases/{unknown_case_id()}/timeline/export", accept=ZIP), 404)


# erasure


def test_erasing_a_participant_keeps_the_chain_verifiable(stack: LocalStack) -> None:
    case_id, person = new_id(), f"participant-42-{uuid.uuid4().hex[:8]}"
    about_ada = event(case_id, minutes=0, personal={"name": "Ada"}, subjects=[person])
    publish(stack, about_ada, event(case_id, minutes=1))
    before = wait_for(stack, case_id, 2)
    [ada_entry] = [entry for entry in before if entry["event"]["event_id"] == about_ada.event_id]
    assert ada_entry["event"]["personal"] == {"name": "Ada"}
    assert ada_entry["personal_data_erased"] is False

    staff = stack.staff_token(admin=False, email="sam.staff@demo.caseline.local")
    assert_problem(call(stack, "POST", f"/participants/{person}/erase", token=staff), 403)
    assert timeline(stack, case_id) == before, "a refused erasure changes nothing"

    status, report = stack.request("POST", f"/participants/{person}/erase", token=stack.staff_token(admin=True))
    assert status == 200, report
    assert report == {"participant_id": person, "erased_links": 1, "cases": [case_id]}

    after = timeline(stack, case_id)
    assert [entry["seq"] for entry in after] == [1, 2, 3]
    [erased] = [entry for entry in after if entry["event"]["event_id"] == about_ada.event_id]
    assert erased["personal_data_erased"] is True
    assert erased["event"]["personal"] == {}
    assert (erased["hash"], erased["prev_hash"]) == (ada_entry["hash"], ada_entry["prev_hash"])
    [other] = [entry for entry in after[:2] if entry is not erased]
    assert other["personal_data_erased"] is False
    record = after[2]
    assert record["event"]["type"] == "personal_data.erased"
    assert record["event"]["data"] == {"participant_id": person, "entries": 1}
    assert record["event"]["actor"]["kind"] == "user"
    assert record["event"]["actor"]["display_name"] is None

    result = verify(stack, case_id)
    assert (result["valid"], result["length"]) == (True, 3), result
    bundle = export(stack, case_id)
    assert verify_bundle(bundle, signing_key_pem(stack)).valid
    with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
        assert b"Ada" not in archive.read(EVENTS_FILE)

    status, again = stack.request("POST", f"/participants/{person}/erase")
    assert status == 200, again
    assert again == {"participant_id": person, "erased_links": 0, "cases": []}
    latest = timeline(stack, case_id)
    assert [entry["event"]["type"] for entry in latest[3:]] == ["timeline.exported"], "nothing erased, nothing recorded"


def test_erasing_an_actor_removes_their_name_from_every_case(stack: LocalStack) -> None:
    person = f"dev-grace-{uuid.uuid4().hex[:8]}"
    grace = Actor(kind=ActorKind.USER, id=person, display_name="Grace Hopper")
    first, second = new_id(), new_id()
    publish(stack, event(first, actor=grace), event(second, actor=grace), event(second, minutes=1, actor=grace))
    wait_for(stack, first, 1)
    wait_for(stack, second, 2)

    status, report = stack.request("POST", f"/participants/{person}/erase")
    assert status == 200, report
    assert report == {"participant_id": person, "erased_links": 3, "cases": sorted([first, second])}
    for case_id, erased in ((first, 1), (second, 2)):
        entries = timeline(stack, case_id)
        assert [entry["event"]["actor"]["display_name"] for entry in entries[:erased]] == [None] * erased
        assert [entry["event"]["actor"]["id"] for entry in entries[:erased]] == [person] * erased
        assert entries[-1]["event"]["data"] == {"participant_id": person, "entries": erased}
        assert verify(stack, case_id)["valid"] is True


# filters


@pytest.fixture(scope="module")
def filtered_case(stack: LocalStack) -> tuple[str, dict[str, EventEnvelope]]:
    case_id = new_id()
    alice = Actor(kind=ActorKind.USER, id="dev-alice")
    robot = Actor(kind=ActorKind.AUTOMATION, id="welcome-mail")
    events = {
        "note": event(case_id, "case.note_added", minutes=0, actor=alice),
        "stage": event(case_id, "case.stage_changed", minutes=60, visibility=Visibility.EXTERNAL),
        "mail": event(case_id, "case.note_added", minutes=120, actor=robot, visibility=Visibility.EXTERNAL),
        "field": event(case_id, "case.fields_changed", minutes=180, actor=alice),
    }
    publish(stack, *events.values())
    wait_for(stack, case_id, len(events))
    return case_id, events


def _query(stack: LocalStack, case_id: str, **params: str) -> list[dict[str, Any]]:
    status, body = stack.request("GET", f"/cases/{case_id}/timeline?{urlencode(params)}")
    assert status == 200, body
    items: list[dict[str, Any]] = body["items"]
    return items


def _names(found: list[dict[str, Any]], events: dict[str, EventEnvelope]) -> set[str]:
    by_id = {envelope.event_id: name for name, envelope in events.items()}
    return {by_id[entry["event"]["event_id"]] for entry in found}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, {"note", "stage", "mail", "field"}),
        ({"type": "case.note_added"}, {"note", "mail"}),
        ({"type": "case.note_added,case.stage_changed"}, {"note", "stage", "mail"}),
        ({"type": "case.closed"}, set()),
        ({"actor": "dev-alice"}, {"note", "field"}),
        ({"actor_kind": "automation"}, {"mail"}),
        ({"visibility": "external"}, {"stage", "mail"}),
        ({"visibility": "internal", "actor": "dev-alice"}, {"note", "field"}),
        ({"since": "2027-01-04T10:00:00Z"}, {"stage", "mail", "field"}),
        ({"until": "2027-01-04T10:00:00Z"}, {"note"}),
        ({"since": "2027-01-04T10:00:00Z", "until": "2027-01-04T12:00:00Z"}, {"stage", "mail"}),
        ({"since": "2027-01-04T10:00:00.000001Z"}, {"mail", "field"}),
        ({"until": "2027-01-04T10:00:00.000001Z"}, {"note", "stage"}),
        # offsets other than UTC mean the same instants (the stored times are compared as strings)
        ({"since": "2027-01-04T12:00:00+02:00", "until": "2027-01-04T13:00:00+02:00"}, {"stage"}),
        ({"since": "2027-01-04T05:00:00-05:00"}, {"stage", "mail", "field"}),
        ({"until": "2027-01-04T11:30:00+01:00"}, {"note", "stage"}),
        ({"type": "case.note_added", "since": "2027-01-04T10:00:00Z"}, {"mail"}),
    ],
    ids=lambda value: urlencode(value) if isinstance(value, dict) else None,
)
def test_filters(
    stack: LocalStack,
    filtered_case: tuple[str, dict[str, EventEnvelope]],
    params: dict[str, str],
    expected: set[str],
) -> None:
    case_id, events = filtered_case
    found = _query(stack, case_id, **params)
    assert _names(found, events) == expected
    assert [entry["seq"] for entry in found] == sorted(entry["seq"] for entry in found)


def test_newest_first(stack: LocalStack, filtered_case: tuple[str, dict[str, EventEnvelope]]) -> None:
    case_id, events = filtered_case
    oldest = _query(stack, case_id)
    newest = _query(stack, case_id, order="newest")
    assert [entry["seq"] for entry in newest] == [4, 3, 2, 1]
    assert newest == oldest[::-1]
    assert [entry["seq"] for entry in _query(stack, case_id, order="newest", limit="1")] == [4]
    external = _query(stack, case_id, order="newest", visibility="external")
    assert _names(external, events) == {"stage", "mail"}
    assert [entry["seq"] for entry in external] == sorted((entry["seq"] for entry in external), reverse=True)


@pytest.mark.parametrize(
    "params",
    [
        {"since": "2027-01-04T10:00:00"},
        {"until": "2027-01-04T10:00:00"},
        {"since": "2027-01-04T12:00:00Z", "until": "2027-01-04T10:00:00Z"},
        {"since": "yesterday"},
        {"order": "sideways"},
        {"visibility": "public"},
        {"type": "Case.Opened"},
        {"limit": "201"},
        {"colour": "blue"},
    ],
    ids=lambda params: urlencode(params),
)
def test_bad_filters_are_refused(
    stack: LocalStack, filtered_case: tuple[str, dict[str, EventEnvelope]], params: dict[str, str]
) -> None:
    case_id, _events = filtered_case
    assert_problem(call(stack, "GET", f"/cases/{case_id}/timeline?{urlencode(params)}"), 422)


def test_a_cursor_only_pages_the_case_it_came_from(
    stack: LocalStack, filtered_case: tuple[str, dict[str, EventEnvelope]]
) -> None:
    case_id, _events = filtered_case
    status, first = stack.request("GET", f"/cases/{case_id}/timeline?limit=2")
    assert status == 200, first
    assert first["next_cursor"]
    status, rest = stack.request("GET", f"/cases/{case_id}/timeline?limit=2&cursor={first['next_cursor']}")
    assert status == 200, rest
    assert [entry["seq"] for entry in first["items"] + rest["items"]] == [1, 2, 3, 4]
    other_case, _entries = chained_case(stack, 1)
    response = call(stack, "GET", f"/cases/{other_case}/timeline?limit=2&cursor={first['next_cursor']}")
    assert assert_problem(response, 400)["type"].endswith("invalid-cursor")


def test_a_filter_matching_nothing_on_an_unknown_case_is_not_found(stack: LocalStack) -> None:
    assert_problem(call(stack, "GET", f"/cases/{unknown_case_id()}/timeline?type=case.opened"), 404)


# page cost


LONG_CASE_LINKS = 10_000
PAGE = 200


def write_chain(stack: LocalStack, case_id: str, events: Iterator[EventEnvelope]) -> int:
    """Writes the events' links (a valid chain) and the head straight to the table, 25 per BatchWriteItem,
    in the layout of the timeline's DynamoDB adapter; returns the chain's length."""
    dynamodb, table = stack.aws.dynamodb(), timeline_table(stack)
    recorded_at, previous, seq = datetime.now(UTC), GENESIS_HASH, 0
    batch: list[dict[str, Any]] = []

    def flush() -> None:
        request: dict[str, Any] = {table: batch[:]} if batch else {}
        while request:
            request = dynamodb.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
        batch.clear()

    for seq, envelope in enumerate(events, start=1):
        link = link_event(
            case_id=case_id, seq=seq, previous_hash=previous, event=envelope, recorded_at=recorded_at, salt="00"
        )
        previous = link.hash
        item = {
            "pk": {"S": f"CASE#{case_id}"},
            "sk": {"S": f"LINK#{seq:012d}"},
            "record": {"S": json.dumps(link.record, separators=(",", ":"))},
            "hash": {"S": link.hash},
            "prev_hash": {"S": link.prev_hash},
            "event_id": {"S": envelope.event_id},
            "type": {"S": envelope.type},
            "actor_kind": {"S": envelope.actor.kind.value},
            "actor_id": {"S": envelope.actor.id},
            "visibility": {"S": envelope.visibility.value},
            "occurred_at": {"S": envelope.occurred_at.astimezone(UTC).isoformat()},
        }
        batch.append({"PutRequest": {"Item": item}})
        if len(batch) == 25:
            flush()
    flush()
    head = {"pk": {"S": f"CASE#{case_id}"}, "sk": {"S": "HEAD"}, "seq": {"N": str(seq)}, "hash": {"S": previous}}
    dynamodb.put_item(TableName=table, Item=head)
    return seq


@pytest.fixture(scope="module")
def long_case(stack: LocalStack) -> str:
    """A case with 10,000 links; every thousandth is a milestone."""
    case_id = new_id()
    events = (
        event(case_id, "case.milestone" if seq % 1000 == 0 else "case.tick", minutes=seq)
        for seq in range(1, LONG_CASE_LINKS + 1)
    )
    assert write_chain(stack, case_id, events) == LONG_CASE_LINKS
    return case_id


@pytest.fixture
def timeline_calls(stack: LocalStack) -> Iterator[CallRecorder]:
    """Every DynamoDB call of the copy of the timeline service that serves HTTP."""
    client = stack.api.service("timeline").module("chalicelib.runtime").runtime.aws.dynamodb()
    with recording(client) as recorder:
        yield recorder


def _page(stack: LocalStack, case_id: str, **params: str) -> dict[str, Any]:
    status, body = stack.request("GET", f"/cases/{case_id}/timeline?{urlencode(params)}")
    assert status == 200, body
    return dict(body)


def test_every_page_of_a_long_timeline_is_one_query(
    stack: LocalStack, long_case: str, timeline_calls: CallRecorder
) -> None:
    seqs: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        timeline_calls.operations.clear()
        body = _page(stack, long_case, limit=str(PAGE), **({"cursor": cursor} if cursor else {}))
        assert timeline_calls.operations == ["GetItem", "Query"], f"page {pages + 1}: the head, one Query"
        pages += 1
        seqs += [entry["seq"] for entry in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
        assert pages <= LONG_CASE_LINKS // PAGE, "the pages never end"
    assert seqs == list(range(1, LONG_CASE_LINKS + 1))
    assert pages in (LONG_CASE_LINKS // PAGE, LONG_CASE_LINKS // PAGE + 1)  # an empty last page is allowed


def test_a_filtered_page_deep_in_a_long_timeline_is_one_query(
    stack: LocalStack, long_case: str, timeline_calls: CallRecorder
) -> None:
    # the cursor the 24th page of 200 hands out: the next page starts at link 4801
    cursor = encode_cursor({"pk": {"S": f"CASE#{long_case}"}, "sk": {"S": f"LINK#{24 * PAGE:012d}"}})
    assert cursor is not None
    assert _page(stack, long_case, limit=str(PAGE), cursor=cursor)["items"][0]["seq"] == 24 * PAGE + 1
    timeline_calls.operations.clear()
    milestones = _page(stack, long_case, limit=str(PAGE), type="case.milestone", cursor=cursor)
    assert timeline_calls.operations == ["GetItem", "Query"], "a filter reads one page of keys, whatever it keeps"
    assert [entry["seq"] for entry in milestones["items"]] == [5000]
    assert milestones["next_cursor"]

    timeline_calls.operations.clear()
    newest = _page(stack, long_case, order="newest", limit="3")
    assert [entry["seq"] for entry in newest["items"]] == [10_000, 9_999, 9_998]
    older = _page(stack, long_case, order="newest", limit="3", cursor=newest["next_cursor"])
    assert [entry["seq"] for entry in older["items"]] == [9_997, 9_996, 9_995]
    assert timeline_calls.operations == ["GetItem", "Query", "GetItem", "Query"]


def test_a_chain_longer_than_one_query_page_verifies_and_exports(
    stack: LocalStack, timeline_calls: CallRecorder
) -> None:
    """DynamoDB returns at most 1 MB per Query: verify and export must follow LastEvaluatedKey."""
    case_id, filler = new_id(), "x" * 3000
    assert write_chain(stack, case_id, (event(case_id, minutes=i, data={"note": filler}) for i in range(500))) == 500
    result = verify(stack, case_id)
    assert (result["valid"], result["length"]) == (True, 500), result
    assert timeline_calls.operations[0] == "GetItem", "the head: who may read"
    assert set(timeline_calls.operations[1:]) == {"Query"}
    assert len(timeline_calls.operations) >= 3, "the links span more than one 1 MB page"
    verified = verify_bundle(export(stack, case_id), signing_key_pem(stack))
    assert (verified.valid, verified.length) == (True, 500), verified.problems


# the consumer


def test_the_same_event_twice_on_the_bus_is_one_link(stack: LocalStack) -> None:
    case_id = new_id()
    once = event(case_id)
    publish(stack, once)
    publish(stack, once)
    wait_for(stack, case_id, 1)
    wait_until(lambda: queue_depth(stack, stack.tenant.queues["timeline_consumer"].url) == 0, what="both deliveries")
    entries = timeline(stack, case_id)
    assert [(entry["seq"], entry["event"]["event_id"]) for entry in entries] == [(1, once.event_id)]
    assert [link["sk"] for link in stored_links(stack, case_id)] == [f"LINK#{1:012d}"]
    assert verify(stack, case_id)["length"] == 1


def test_shuffled_events_get_gapless_sequence_numbers(stack: LocalStack) -> None:
    case_id = new_id()
    events = [event(case_id, minutes=minute) for minute in range(5)]
    shuffled = events[:]
    random.Random(5).shuffle(shuffled)
    for envelope in shuffled:
        publish(stack, envelope)
    entries = wait_for(stack, case_id, 5)
    assert [entry["seq"] for entry in entries] == [1, 2, 3, 4, 5]
    assert sorted(entry["event"]["event_id"] for entry in entries) == sorted(e.event_id for e in events)
    assert [item["seq"] for item in stored_items(stack, case_id, "HEAD")] == [{"N": "5"}]
    result = verify(stack, case_id)
    assert (result["valid"], result["length"], result["head_hash"]) == (True, 5, entries[-1]["hash"])
