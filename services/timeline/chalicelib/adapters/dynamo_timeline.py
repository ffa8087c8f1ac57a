"""The timeline table.

    CASE#<id> / HEAD              seq, hash of the last link; gsi1pk=UNANCHORED while not anchored;
                                  members: the case's template and participants, for access checks
    CASE#<id> / LINK#<seq:012>    the link: record (what the hash covers), hash, prev_hash, personal, salt,
                                  plus type / actor / visibility / occurred_at for filtering; it is also the
                                  event's change feed entry: gsi2pk=FEED, gsi2sk=<recorded at>#<event id>, with
                                  readers (terms that view the case) and reader_roles (the template's key and
                                  version, and per role the staff taking part with it), as the case stood then
    CASE#<id> / EVENT#<event_id>  marks the event as appended: a redelivery fails this condition
    SUBJECT#<person> / CASE#<id>#LINK#<seq:012>   which links hold a person's data, for erasure
    TEMPLATE#<key> / VERSION#<n:06>  a published template version's definition (roles and field access)
    IDEMPOTENCY#<hash of scope> / IDEMPOTENCY  an erasure's Idempotency-Key and the report it answered

An append is a sequence of writes, not a transaction (see `append`): the link, conditional on its seq being free,
then the event marker with the subject markers (one BatchWriteItem), then the head (conditional on the head read
before, with the event's marker, in one BatchGetItem). Whoever meets an unfinished append finishes it, so a chain has
neither gaps nor duplicates.
"""

import json
import re
import zlib
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from caseline_common.adapters.dynamo_claims import read_claim, write_claim
from caseline_common.chain import Link
from caseline_common.contracts import TemplateDefinition
from caseline_common.envelope import EventEnvelope
from caseline_common.errors import InvalidCursorError
from caseline_common.idempotency import Claim
from caseline_common.pagination import Page, decode_cursor, encode_cursor, query_page
from pydantic import ValidationError

from ..domain.feed import FeedItem, FeedReaders, feed_position
from ..domain.timeline import CaseMembers, Order, TimelineFilter
from ..service import AppendConflictError, Head

if TYPE_CHECKING:
    from types_boto3_dynamodb.client import DynamoDBClient

UNANCHORED = "UNANCHORED"
_TEMPLATES_KEPT = 256
_BATCH_GET_MAX_KEYS = 100
_BATCH_GET_ATTEMPTS = 5
_HASH = {"#hash": "hash"}
_MEMBER_ATTEMPTS = 3
_LINK_PREFIX = "LINK#"
_LINK_ATTRIBUTES = "pk, sk, #record, #hash, prev_hash, personal, salt"
FEED = "FEED"
FEED_INDEX = "by_feed"
# A feed cursor names the position after which the next page starts: an entry's, or the moment a page reached.
_FEED_CURSOR = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z(#[0-9A-HJKMNP-TV-Z]{26})?$")
_LINK_CURSOR = re.compile(r"^LINK#(\d{12})?$")  # one case's feed: the link it reached (or none yet)


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _case(case_id: str) -> dict[str, str]:
    return _s(f"CASE#{case_id}")


def _link_key(case_id: str, seq: int) -> dict[str, dict[str, str]]:
    return {"pk": _case(case_id), "sk": _s(f"{_LINK_PREFIX}{seq:012d}")}


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def _marker_key(case_id: str, event_id: str) -> dict[str, dict[str, str]]:
    return {"pk": _case(case_id), "sk": _s(f"EVENT#{event_id}")}


def _template_key(key: str, version: int) -> dict[str, dict[str, str]]:
    return {"pk": _s(f"TEMPLATE#{key}"), "sk": _s(f"VERSION#{version:06d}")}


def _text_of(attribute: dict[str, Any]) -> str:
    """A stored record: compressed (binary), or plain text as links were written before."""
    if "B" in attribute:
        return zlib.decompress(attribute["B"]).decode()
    return str(attribute["S"])


def _link(item: dict[str, Any]) -> Link:
    try:
        return Link(
            record=json.loads(_text_of(item["record"])),
            hash=item["hash"]["S"],
            prev_hash=item["prev_hash"]["S"],
            personal=json.loads(item["personal"]["S"]) if "personal" in item else None,
            salt=item["salt"]["S"] if "salt" in item else None,
        )
    except (KeyError, TypeError, ValueError, ValidationError, zlib.error):
        # Stored links are never written like this: keep its place in the chain so that verification reports
        # it (its hash cannot match) and reads show it as damaged instead of failing.
        return Link(
            record={"seq": int(item["sk"]["S"].removeprefix(_LINK_PREFIX)), "unreadable": True},
            hash=str(item.get("hash", {}).get("S", "")),
            prev_hash=str(item.get("prev_hash", {}).get("S", "")),
        )


def _feed_cursor(cursor: str | None, oldest: str) -> tuple[str | None, str | None, str | None]:
    """A feed cursor's position and, from one case's feed, that case and the link it reached. Refuses a cursor
    this feed did not give, or one older than the feed keeps."""
    if not cursor:
        return None, None, None
    try:
        decoded = decode_cursor(cursor, expected={}, key_names={"after"}) or {}
    except InvalidCursorError:
        decoded = decode_cursor(cursor, expected={}, key_names={"after", "case", "sk"}) or {}
    after = str(decoded["after"]["S"])
    link, case = (decoded[name]["S"] if name in decoded else None for name in ("sk", "case"))
    if not _FEED_CURSOR.match(after) or (link is not None and not _LINK_CURSOR.match(link)):
        raise InvalidCursorError("The cursor does not belong to this query.")
    if after < oldest:
        raise InvalidCursorError(
            "The cursor is older than the change feed keeps: catch up from the timelines of the cases, then read "
            "the feed again without a cursor."
        )
    return after, link, case


def _feed_item(item: dict[str, Any]) -> FeedItem | None:
    """A change feed entry: the event without its personal data, and who may read it. An entry whose record
    cannot be read is left out (the case's verification reports where its chain breaks)."""
    try:
        record = json.loads(_text_of(item["record"]))
        public = record["event"]
        event = EventEnvelope.model_validate(
            {**public, "actor": {**public["actor"], "display_name": None}, "personal": {}}
        )
        readers = None
        if "reader_roles" in item:
            template_key, template_version, members = json.loads(item["reader_roles"]["S"])
            readers = FeedReaders(
                template_key=template_key,
                template_version=template_version,
                readers=frozenset(item.get("readers", {}).get("SS", [])),
                members={role: frozenset(subjects) for role, subjects in members.items()},
            )
        return FeedItem(seq=record["seq"], recorded_at=record["recorded_at"], event=event, readers=readers)
    except (KeyError, TypeError, ValueError, ValidationError, zlib.error):
        return None


def _head(case_id: str, item: dict[str, Any]) -> Head:
    members = CaseMembers.model_validate_json(item["members"]["S"]) if "members" in item else None
    return Head(case_id=case_id, seq=int(item["seq"]["N"]), hash=item["hash"]["S"], members=members)


def _subjects(event: EventEnvelope) -> set[str]:
    people = set(event.subjects)
    if event.actor.display_name:
        people.add(event.actor.id)
    return people


class DynamoTimelineRepository:
    def __init__(self, client: "DynamoDBClient", table_name: str) -> None:
        self._client = client
        self._table = table_name
        self._templates: dict[tuple[str, int], TemplateDefinition] = {}

    def head(self, case_id: str) -> Head | None:
        item = self._client.get_item(
            TableName=self._table, Key={"pk": _case(case_id), "sk": _s("HEAD")}, ConsistentRead=True
        ).get("Item")
        return _head(case_id, item) if item is not None else None

    def append_point(self, case_id: str, event_id: str) -> tuple[Head | None, bool]:
        """The head and the event's marker in one consistent BatchGetItem; the marker is found before a second
        link of the event could be written, since it is written before the head moves past the first."""
        head_key = {"pk": _case(case_id), "sk": _s("HEAD")}
        keys: list[Any] = [head_key, _marker_key(case_id, event_id)]
        found: list[dict[str, Any]] = []
        for _ in range(_BATCH_GET_ATTEMPTS):
            response = self._client.batch_get_item(RequestItems={self._table: {"Keys": keys, "ConsistentRead": True}})
            found += list(response["Responses"].get(self._table) or [])
            unprocessed: dict[str, Any] = dict(response.get("UnprocessedKeys") or {})
            keys = list(unprocessed.get(self._table, {}).get("Keys", []))
            if not keys:
                break
        else:
            raise AppendConflictError(case_id)  # throttled: the message is retried
        head_item = next((item for item in found if item["sk"]["S"] == "HEAD"), None)
        marker = next((item for item in found if item["sk"]["S"] != "HEAD"), None)
        head = _head(case_id, head_item) if head_item is not None else None
        if marker is None:
            return head, False
        # A redelivery: its append may have stopped after the marker (before the head, or with a subject marker
        # unwritten): see it through again, every write of it being the same however often it is made.
        self._finish(self._link_item(case_id, int(marker["seq"]["N"])), head, None)
        return head, True

    def append(
        self,
        link: Link,
        event: EventEnvelope,
        previous: Head | None,
        members: CaseMembers | None,
        readers: FeedReaders | None = None,
    ) -> None:
        """Appends without a transaction (which would bill every KB twice), in an order any crash can be finished
        from: the link (its seq taken only if free), then the markers (the event's, the subjects'), then the head.
        Whoever finds a link that is not behind the head finishes it first, so no chain waits on a crash and no
        event is appended twice (its marker is found, by `append_point`, before a second link could be written).
        The link is the event's change feed entry too, so the feed has an entry exactly when the chain has the link."""
        case_id = link.record["case_id"]
        item = self._new_link_item(link, event, readers)
        try:
            self._client.put_item(TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)")
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            taken = self._link_item(case_id, link.seq)
            if taken.get("event_id", {}).get("S") != event.event_id:
                self._finish(taken, previous, None)  # another append got there first: see it through
                raise AppendConflictError(case_id) from error
            item = taken  # this event's own earlier attempt
        self._finish(item, previous, members)

    def _new_link_item(self, link: Link, event: EventEnvelope, readers: FeedReaders | None) -> dict[str, Any]:
        item: dict[str, Any] = {
            **_link_key(link.record["case_id"], link.seq),
            # Compressed: a link of an ordinary event then fits one write unit (1 KB) instead of two.
            "record": {"B": zlib.compress(json.dumps(link.record, separators=(",", ":"), ensure_ascii=False).encode())},
            "hash": _s(link.hash),
            "prev_hash": _s(link.prev_hash),
            "event_id": _s(event.event_id),
            "type": _s(event.type),
            "actor_kind": _s(event.actor.kind.value),
            "actor_id": _s(event.actor.id),
            "visibility": _s(event.visibility.value),
            "occurred_at": _s(event.occurred_at.astimezone(UTC).isoformat()),  # compared as strings
            "gsi2pk": _s(FEED),
            "gsi2sk": _s(f"{feed_position(datetime.fromisoformat(link.record['recorded_at']))}#{event.event_id}"),
        }
        if readers is not None:  # short: most links are just under 1 KB, a write unit, without them
            if readers.readers:  # a String Set is never empty
                item["readers"] = {"SS": sorted(readers.readers)}
            members = {role: sorted(subjects) for role, subjects in readers.members.items()}
            item["reader_roles"] = _s(json.dumps([readers.template_key, readers.template_version, members]))
        if link.personal is not None and link.salt is not None:
            item["personal"] = _s(json.dumps(link.personal, separators=(",", ":"), ensure_ascii=False))
            item["salt"] = _s(link.salt)
        if subjects := _subjects(event):
            item["subjects"] = {"SS": sorted(subjects)}  # so that whoever finishes the append can mark them
        return item

    def _link_item(self, case_id: str, seq: int) -> dict[str, Any]:
        item = self._client.get_item(TableName=self._table, Key=_link_key(case_id, seq), ConsistentRead=True)
        return dict(item["Item"])

    def _finish(self, link_item: dict[str, Any], previous: Head | None, members: CaseMembers | None) -> None:
        """The writes after a link, each the same whoever makes it and however often."""
        case_id = link_item["pk"]["S"].removeprefix("CASE#")
        seq = int(link_item["sk"]["S"].removeprefix(_LINK_PREFIX))
        markers: list[Any] = [
            {"pk": _s(f"SUBJECT#{person}"), "sk": _s(f"CASE#{case_id}#{_LINK_PREFIX}{seq:012d}")}
            for person in link_item.get("subjects", {}).get("SS", [])
        ]
        markers.append({**_marker_key(case_id, link_item["event_id"]["S"]), "seq": {"N": str(seq)}})
        self._put_all(markers)
        if previous is not None and previous.seq >= seq:
            return  # the head is past this link already: a head only moves forward
        kept = members if members is not None else (previous.members if previous else None)
        head: dict[str, Any] = {
            "pk": _case(case_id),
            "sk": _s("HEAD"),
            "seq": {"N": str(seq)},
            "hash": link_item["hash"],
            "gsi1pk": _s(UNANCHORED),
            "gsi1sk": _s(case_id),
        }
        if kept is not None:
            head["members"] = _s(kept.model_dump_json())
        condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
        if previous is not None:
            condition = {"ConditionExpression": "seq = :seq", "ExpressionAttributeValues": {":seq": _n(previous.seq)}}
        try:
            self._client.put_item(TableName=self._table, Item=head, **condition)
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            # Someone else moved the head past this link (finishing it); only who may read can be newer here.
            if members is not None:
                self._keep_members(case_id, members)

    def _put_all(self, items: list[Any]) -> None:
        """The subject markers and the event marker, one PutItem each (one, as a rule): not BatchWriteItem, which
        would let the consumer's role delete links as well as put them (infra/access.py)."""
        for item in items:
            self._client.put_item(TableName=self._table, Item=item)

    def _keep_members(self, case_id: str, members: CaseMembers) -> None:
        for _ in range(_MEMBER_ATTEMPTS):
            head = self.head(case_id)
            if head is None or members.newer(head.members) is not members:
                return
            try:
                self._client.update_item(
                    TableName=self._table,
                    Key={"pk": _case(case_id), "sk": _s("HEAD")},
                    UpdateExpression="SET members = :members",
                    ConditionExpression="seq = :seq",
                    ExpressionAttributeValues={":members": _s(members.model_dump_json()), ":seq": _n(head.seq)},
                )
                return
            except ClientError as error:
                if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
        # The head kept moving: the next event that carries the case sets who may read it.

    def save_template(self, key: str, version: int, definition: TemplateDefinition) -> None:
        self._client.put_item(
            TableName=self._table,
            Item={**_template_key(key, version), "doc": _s(definition.model_dump_json())},
        )
        self._templates[(key, version)] = definition

    def template(self, key: str, version: int) -> TemplateDefinition | None:
        """Published versions never change, so each container keeps those it has read."""
        if (key, version) not in self._templates:
            item = self._client.get_item(TableName=self._table, Key=_template_key(key, version)).get("Item")
            if item is None:
                return None
            if len(self._templates) >= _TEMPLATES_KEPT:
                self._templates.clear()
            self._templates[(key, version)] = TemplateDefinition.model_validate_json(item["doc"]["S"])
        return self._templates[(key, version)]

    def page(
        self, case_id: str, timeline_filter: TimelineFilter, *, order: Order, limit: int, cursor: str | None
    ) -> Page[Link]:
        partition = f"CASE#{case_id}"
        names: dict[str, str] = {"#record": "record", "#hash": "hash"}
        values: dict[str, Any] = {":pk": _s(partition), ":link": _s(_LINK_PREFIX)}
        conditions: list[str] = []
        if timeline_filter.types:
            placeholders = []
            for index, event_type in enumerate(timeline_filter.types):
                values[f":type{index}"] = _s(event_type)
                placeholders.append(f":type{index}")
            names["#type"] = "type"
            conditions.append(f"#type IN ({', '.join(placeholders)})")
        for attribute, value in (
            ("actor_id", timeline_filter.actor_id),
            ("actor_kind", timeline_filter.actor_kind),
            ("visibility", timeline_filter.visibility),
        ):
            if value is not None:
                values[f":{attribute}"] = _s(str(value))
                conditions.append(f"{attribute} = :{attribute}")
        if timeline_filter.since is not None:
            values[":since"] = _s(timeline_filter.since.astimezone(UTC).isoformat())
            conditions.append("occurred_at >= :since")
        if timeline_filter.until is not None:
            values[":until"] = _s(timeline_filter.until.astimezone(UTC).isoformat())
            conditions.append("occurred_at < :until")
        query: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :link)",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ProjectionExpression": _LINK_ATTRIBUTES,
            "ScanIndexForward": order is Order.OLDEST_FIRST,
            "Limit": limit,
        }
        if conditions:
            query["FilterExpression"] = " AND ".join(conditions)
        start = decode_cursor(cursor, expected={"pk": partition}, key_names={"pk", "sk"})
        response = query_page(self._client, query, start)
        return Page(
            items=[_link(item) for item in response["Items"]],
            next_cursor=encode_cursor(response.get("LastEvaluatedKey")),
        )

    def feed(
        self,
        readers: frozenset[str] | None,
        *,
        types: tuple[str, ...],
        case_id: str | None,
        since: datetime,
        until: datetime,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[FeedItem], str, bool]:
        oldest, settled = feed_position(since), feed_position(until)
        after, link, cursor_case = _feed_cursor(cursor, oldest)
        names: dict[str, str] = {"#record": "record"}
        values: dict[str, Any] = {}
        conditions = []
        if readers is not None:
            for index, term in enumerate(sorted(readers)):
                values[f":reader{index}"] = _s(term)
            conditions.append("(" + " OR ".join(f"contains(readers, :reader{i})" for i in range(len(readers))) + ")")
        if types:
            for index, event_type in enumerate(types):
                values[f":type{index}"] = _s(event_type)
            names["#type"] = "type"
            conditions.append(f"#type IN ({', '.join(f':type{i}' for i in range(len(types)))})")
        query: dict[str, Any] = {"TableName": self._table, "ExpressionAttributeNames": names, "Limit": limit}
        if case_id is not None:
            link = link if cursor_case == case_id else None  # another case's cursor: only its position holds
            return self._case_feed(query, case_id, conditions, values, oldest=oldest, after=after, link=link)
        # Every position has the same length, so whatever sorts after `after` sorts after `after#`, which `after`
        # itself does not: the page starts right after the cursor's entry (or at the moment it names).
        start = f"{after}#" if after else oldest
        if start > settled:  # a cursor from a clock ahead of this one: nothing is settled after it yet
            return [], encode_cursor({"after": _s(after or oldest)}) or "", False
        values.update({":feed": _s(FEED), ":start": _s(start), ":settled": _s(settled)})
        query.update(
            IndexName=FEED_INDEX,
            # BETWEEN takes both ends: `start` is no entry's position, and entries at `settled` sort after it.
            KeyConditionExpression="gsi2pk = :feed AND gsi2sk BETWEEN :start AND :settled",
            ProjectionExpression="gsi2sk, #record, readers, reader_roles",
            ExpressionAttributeValues=values,
        )
        if conditions:
            query["FilterExpression"] = " AND ".join(conditions)
        response = self._client.query(**query)
        items = [entry for entry in map(_feed_item, response["Items"]) if entry is not None]
        last = response.get("LastEvaluatedKey")
        position = str(last["gsi2sk"]["S"]) if last else settled
        return items, encode_cursor({"after": _s(position)}) or "", last is not None

    def _case_feed(
        self,
        query: dict[str, Any],
        case_id: str,
        conditions: list[str],
        values: dict[str, Any],
        *,
        oldest: str,
        after: str | None,
        link: str | None,
    ) -> tuple[list[FeedItem], str, bool]:
        """One case's entries: a Query of its own partition, in the order of its chain, whatever the tenant's
        volume. A chain is appended one link at a time (link n+1 only once link n is there), so a reader going by
        seq misses nothing and needs no settling; the cursor keeps the position too, for the feed without the
        filter."""
        partition = f"CASE#{case_id}"
        values.update({":pk": _s(partition), ":link": _s(_LINK_PREFIX), ":oldest": _s(oldest)})
        conditions = [*conditions, "gsi2sk >= :oldest"]  # the feed's retention
        if after and link is None:  # a cursor of the whole feed: this case's entries recorded after it
            values[":after"] = _s(f"{after}#")
            conditions.append("gsi2sk > :after")
        query.update(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :link)",
            ProjectionExpression="sk, gsi2sk, #record, readers, reader_roles",
            ExpressionAttributeValues=values,
            FilterExpression=" AND ".join(conditions),
        )
        response = query_page(self._client, query, {"pk": _s(partition), "sk": _s(link)} if link else None)
        found = [(raw, entry) for raw in response["Items"] if (entry := _feed_item(raw)) is not None]
        last = response.get("LastEvaluatedKey")
        # Where the next page starts: after the last link read (filtered out or not), else the last one shown.
        link = str(last["sk"]["S"]) if last else (str(found[-1][0]["sk"]["S"]) if found else link or _LINK_PREFIX)
        after = str(found[-1][0]["gsi2sk"]["S"]) if found else after or oldest
        next_cursor = encode_cursor({"after": _s(after), "case": _s(case_id), "sk": _s(link)}) or ""
        return [entry for _, entry in found], next_cursor, bool(last)

    def links(self, case_id: str) -> list[Link]:
        links: list[Link] = []
        query: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :link)",
            "ExpressionAttributeNames": {"#record": "record", "#hash": "hash"},
            "ExpressionAttributeValues": {":pk": _case(case_id), ":link": _s(_LINK_PREFIX)},
            "ProjectionExpression": _LINK_ATTRIBUTES,
            "ConsistentRead": True,
        }
        while True:
            response = self._client.query(**query)
            links += [_link(item) for item in response["Items"]]
            if "LastEvaluatedKey" not in response:
                return links
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def _subject_markers(self, subject_id: str) -> Iterator[dict[str, Any]]:
        """The markers of the links about the subject: sort key `CASE#<case id>#SEQ#<seq>`."""
        query: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": _s(f"SUBJECT#{subject_id}")},
        }
        while True:
            response = self._client.query(**query)
            yield from response["Items"]
            if "LastEvaluatedKey" not in response:
                return
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def links_about(self, subject_id: str) -> dict[str, int]:
        return dict(Counter(marker["sk"]["S"].split("#")[1] for marker in self._subject_markers(subject_id)))

    def erase_subject(self, subject_id: str) -> dict[str, int]:
        erased: Counter[str] = Counter()
        for marker in self._subject_markers(subject_id):
            _, case_id, _, seq = marker["sk"]["S"].split("#")
            self._client.update_item(
                TableName=self._table,
                Key=_link_key(case_id, int(seq)),
                UpdateExpression="REMOVE personal, salt",
                ConditionExpression="attribute_exists(pk)",
            )
            self._client.delete_item(TableName=self._table, Key={"pk": marker["pk"], "sk": marker["sk"]})
            erased[case_id] += 1
        return dict(erased)

    def claim(self, scope: str) -> Claim | None:
        return read_claim(self._client, self._table, scope)

    def save_claim(self, claim: Claim) -> None:
        write_claim(self._client, self._table, claim)

    def unanchored_heads(self, limit: int) -> list[Head]:
        """The heads the index lists (its copies hold keys only, so appends to a listed head write nothing to
        it), read from the table in one BatchGetItem of at most 100 keys."""
        response = self._client.query(
            TableName=self._table,
            IndexName="by_unanchored",
            KeyConditionExpression="gsi1pk = :unanchored",
            ExpressionAttributeValues={":unanchored": _s(UNANCHORED)},
            Limit=min(limit, _BATCH_GET_MAX_KEYS),
        )
        keys: list[Any] = [{"pk": item["pk"], "sk": item["sk"]} for item in response["Items"]]
        heads: list[Head] = []
        for _ in range(_BATCH_GET_ATTEMPTS):  # what is still unread after them waits for the next run
            if not keys:
                break
            request: Any = {"Keys": keys, "ProjectionExpression": "pk, seq, #hash", "ExpressionAttributeNames": _HASH}
            found = self._client.batch_get_item(RequestItems={self._table: request})
            read: list[Any] = list(found["Responses"].get(self._table) or [])
            heads += [
                Head(case_id=item["pk"]["S"].removeprefix("CASE#"), seq=int(item["seq"]["N"]), hash=item["hash"]["S"])
                for item in read
            ]
            unprocessed: dict[str, Any] = dict(found.get("UnprocessedKeys") or {})
            keys = list(unprocessed.get(self._table, {}).get("Keys", []))
        return heads

    def mark_anchored(self, head: Head) -> None:
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"pk": _case(head.case_id), "sk": _s("HEAD")},
                UpdateExpression="REMOVE gsi1pk, gsi1sk",
                ConditionExpression="seq = :seq",
                ExpressionAttributeValues={":seq": {"N": str(head.seq)}},
            )
        except ClientError as error:
            # The head moved on after this anchor: it stays unanchored for the next run.
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
