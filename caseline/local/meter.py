"""Bills what the emulator serves as AWS would, for `make bench`'s cost of a case.

Installed in the emulator's process (`CASELINE_EMULATOR_METER=1`), it watches every request at the wire and
counts billable units from what was actually asked and stored, not from a model:

- DynamoDB: write units from the sizes of each written item before and after (the larger, per 1 KB, twice in a
  transaction), plus each global secondary index's writes from the projected items (a put, an update, or a
  delete and a put when the index key moved; nothing when nothing projected changed). Read units from the full
  size of every item a read evaluated (per 4 KB; half for eventually consistent reads; a Query or Scan is
  re-run without its projection and filter to see what it evaluated). Stream reads are counted but free:
  Lambda's reads of a table's stream are not billed.
- SQS: requests per 64 KB chunk, including the sends EventBridge makes to its targets; receives that return
  nothing are counted apart (an idle poller's cost is per month, not per case).
- EventBridge: entries put, per 64 KB chunk. S3, KMS, SES: requests by action.

`GET /_caseline/meter` answers the counts so far and `DELETE /_caseline/meter` zeroes them.
"""

import base64
import binascii
import functools
import io
import json
import math
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

METER_PATH = "/_caseline/meter"
ENABLE_VARIABLE = "CASELINE_EMULATOR_METER"
_CHUNK = 64 * 1024
_WRITE_UNIT, _READ_UNIT = 1024, 4096
_ACCOUNT = "123456789012"

Item = dict[str, Any]


def attribute_size(value: dict[str, Any]) -> int:
    """Bytes DynamoDB counts for one attribute value (wire JSON)."""
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        return math.ceil(len(inner.strip("-").replace(".", "").lstrip("0") or "0") / 2) + 1
    if kind == "B":
        return _binary_size(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(attribute_size({kind[0]: each}) for each in inner)
    if kind == "L":
        return 3 + sum(1 + attribute_size(each) for each in inner)
    if kind == "M":
        return 3 + sum(len(name.encode()) + attribute_size(each) + 1 for name, each in inner.items())
    raise ValueError(f"unknown attribute type {kind}")


def _binary_size(value: str | bytes) -> int:
    """moto keeps a binary value base64-encoded as it came over the wire; count the bytes it stands for."""
    try:
        return len(base64.b64decode(value))
    except binascii.Error:
        return len(value)


def item_size(item: Item | None) -> int:
    return sum(len(name.encode()) + attribute_size(value) for name, value in (item or {}).items())


def _units(size: int, unit: int) -> int:
    return max(1, math.ceil(size / unit))


class _Table:
    """What the meter needs of a moto table: its key names and its global indexes' keys and projections."""

    def __init__(self, table: Any) -> None:
        self.keys = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
        self.indexes: dict[str, tuple[list[str], dict[str, Any]]] = {
            index.name: ([key["AttributeName"] for key in index.schema], index.projection or {})
            for index in table.global_indexes
        }

    def key_of(self, item: Item) -> Item:
        return {name: item[name] for name in self.keys if name in item}

    def projected(self, index: str, item: Item | None) -> Item | None:
        """The index's copy of `item`, or None when the item lacks the index's keys (a sparse index)."""
        index_keys, projection = self.indexes[index]
        if item is None or any(name not in item for name in index_keys):
            return None
        kind = projection.get("ProjectionType", "ALL")
        if kind == "ALL":
            return item
        kept = (
            set(self.keys) | set(index_keys) | set(projection.get("NonKeyAttributes", []) if kind == "INCLUDE" else [])
        )
        return {name: value for name, value in item.items() if name in kept}


class Meter:
    def __init__(self, app: Callable[..., Any]) -> None:
        self._app = app
        self._lock = threading.Lock()
        self._writing = threading.Lock()  # one DynamoDB write at a time, so before/after images are its own
        self._inner = threading.local()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            # (product, operation, resource) -> {"requests": n, "units": n}
            self.lines: dict[tuple[str, str, str], dict[str, float]] = defaultdict(
                lambda: {"requests": 0.0, "units": 0.0}
            )

    def add(self, product: str, operation: str, resource: str, *, requests: float = 1, units: float = 0) -> None:
        with self._lock:
            line = self.lines[(product, operation, resource)]
            line["requests"] += requests
            line["units"] += units

    def report(self) -> list[dict[str, Any]]:
        with self._lock:
            return [
                {"product": product, "operation": operation, "resource": resource, **line}
                for (product, operation, resource), line in sorted(self.lines.items())
            ]

    # WSGI

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO") == METER_PATH:
            return self._answer(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        service = _service_of(environ)
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if service == "dynamodb" and target:
            return self._dynamodb(target.split(".", 1)[1], environ, body, start_response)
        self._inner.sqs_request = service == "sqs"
        try:
            status, headers, answer = self._call(environ, body)
        finally:
            self._inner.sqs_request = False
        self._bill_other(service, target, environ, body, answer)
        start_response(status, headers)
        return [answer]

    def _answer(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        if environ["REQUEST_METHOD"] == "DELETE":
            self.reset()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(self.report()).encode()]

    def _call(self, environ: dict[str, Any], body: bytes) -> tuple[str, list[tuple[str, str]], bytes]:
        captured: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], *_: Any) -> None:
            captured["status"], captured["headers"] = status, headers

        environ = {**environ, "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}
        chunks = self._app(environ, start_response)
        try:
            answer = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close:
                close()
        return captured["status"], captured["headers"], answer

    # DynamoDB

    def _dynamodb(self, operation: str, environ: dict[str, Any], body: bytes, start_response: Any) -> list[bytes]:
        request = json.loads(body or b"{}")
        region = _region_of(environ)
        writes = _writes(operation, request)
        if writes:
            with self._writing:
                before = {key: self._stored(region, *key) for key in writes}
                status, headers, answer = self._call(environ, body)
                after = {key: self._stored(region, *key) for key in writes}
            self._bill_writes(region, operation, writes, before, after)
        else:
            status, headers, answer = self._call(environ, body)
            if status.startswith("200"):
                self._bill_read(region, operation, environ, request)
        start_response(status, headers)
        return [answer]

    def _backend(self, region: str) -> Any:
        from moto.dynamodb.models import dynamodb_backends

        return dynamodb_backends[_ACCOUNT][region]

    def _table(self, region: str, name: str) -> _Table:
        return _Table(self._backend(region).get_table(name))

    def _stored(self, region: str, table: str, key: str) -> Item | None:
        try:
            found = self._backend(region).get_item(table, json.loads(key))
        except Exception:
            return None
        return found.to_json()["Attributes"] if found is not None else None

    def _bill_writes(
        self,
        region: str,
        operation: str,
        writes: dict[tuple[str, str], tuple[str, Item | None]],
        before: dict[tuple[str, str], Item | None],
        after: dict[tuple[str, str], Item | None],
    ) -> None:
        transactional = operation == "TransactWriteItems"
        self.add("dynamodb", operation, next(iter(writes))[0], units=0)
        for (table_name, key), (action, requested) in writes.items():
            old, new = before[(table_name, key)], after[(table_name, key)]
            size = max(item_size(old), item_size(new), item_size(requested))
            units = _units(size, _WRITE_UNIT) * (2 if transactional else 1)
            self.add("dynamodb", f"write ({action})", table_name, requests=0, units=units)
            table = self._table(region, table_name)
            for index in table.indexes:
                index_units = _index_write_units(table, index, old, new)
                if index_units:
                    self.add("dynamodb", "index write", f"{table_name}/{index}", requests=0, units=index_units)

    def _bill_read(self, region: str, operation: str, environ: dict[str, Any], request: Item) -> None:
        consistent = 1.0 if request.get("ConsistentRead") else 0.5
        if operation == "GetItem":
            found = self._stored(region, request["TableName"], json.dumps(request["Key"], sort_keys=True))
            units = _units(item_size(found), _READ_UNIT) * consistent if found else consistent
            self.add("dynamodb", operation, request["TableName"], units=units)
        elif operation in ("BatchGetItem", "TransactGetItems"):
            self._bill_batch_read(region, operation, request)
        elif operation in ("Query", "Scan"):
            evaluated = self._evaluated(environ, request)
            size = sum(item_size(item) for item in evaluated)
            self.add("dynamodb", operation, _resource(request), units=_units(size, _READ_UNIT) * consistent)
        elif operation.startswith(("GetRecords", "GetShardIterator", "DescribeStream")):
            self.add("dynamodb streams", operation, "stream")
        else:
            self.add("dynamodb", operation, request.get("TableName", "-"))

    def _bill_batch_read(self, region: str, operation: str, request: Item) -> None:
        if operation == "BatchGetItem":
            wanted = [
                (table, key, bool(spec.get("ConsistentRead")))
                for table, spec in request["RequestItems"].items()
                for key in spec["Keys"]
            ]
            factor = 1.0
        else:
            wanted = [(each["Get"]["TableName"], each["Get"]["Key"], True) for each in request["TransactItems"]]
            factor = 2.0
        units = 0.0
        for table, key, consistent in wanted:
            found = self._stored(region, table, json.dumps(key, sort_keys=True))
            units += _units(item_size(found), _READ_UNIT) * (1.0 if consistent else 0.5) * factor
        self.add("dynamodb", operation, wanted[0][0] if wanted else "-", units=units)

    def _evaluated(self, environ: dict[str, Any], request: Item) -> list[Item]:
        """The items a Query or Scan read before its filter and projection, as DynamoDB bills them."""
        bare = {
            name: value
            for name, value in request.items()
            if name not in ("ProjectionExpression", "FilterExpression", "Select", "AttributesToGet")
        }
        used = json.dumps(bare)
        names = bare.get("ExpressionAttributeNames") or {}
        bare["ExpressionAttributeNames"] = {name: value for name, value in names.items() if name in used} or None
        values = bare.get("ExpressionAttributeValues") or {}
        bare["ExpressionAttributeValues"] = {name: value for name, value in values.items() if name in used} or None
        bare = {name: value for name, value in bare.items() if value is not None}
        body = json.dumps(bare).encode()
        _status, _headers, answer = self._call(environ, body)
        return list(json.loads(answer or b"{}").get("Items", []))

    # Other products

    def _bill_other(self, service: str, target: str, environ: dict[str, Any], body: bytes, answer: bytes) -> None:
        operation = target.split(".", 1)[1] if "." in target else _query_action(environ, body)
        if service == "sqs":
            self._bill_sqs(operation, body, answer)
        elif service == "events" and operation == "PutEvents":
            entries = json.loads(body or b"{}").get("Entries", [])
            for entry in entries:
                chunks = _units(len(json.dumps(entry).encode()), _CHUNK)
                self.add("eventbridge", "PutEvents entry", entry.get("Source", "-"), requests=chunks)
        elif service == "s3":
            method = environ["REQUEST_METHOD"]
            tier = "GET" if method in ("GET", "HEAD") else "PUT/POST/LIST"
            self.add("s3", f"{method} ({tier})", environ.get("PATH_INFO", "/").split("/")[1])
        elif service:
            self.add(service, operation or environ["REQUEST_METHOD"], "-")

    def _bill_sqs(self, operation: str, body: bytes, answer: bytes) -> None:
        queue = _queue_of(body)
        if operation == "ReceiveMessage":
            received = b'"Messages"' in answer or b"<Message>" in answer
            self.add("sqs", "ReceiveMessage" if received else "ReceiveMessage (empty)", queue)
        elif operation in ("SendMessage", "SendMessageBatch"):
            self.add("sqs", operation, queue, requests=_units(len(body), _CHUNK))
        else:
            self.add("sqs", operation, queue)

    def count_internal_send(self, queue: str, body: str) -> None:
        """A message moto's EventBridge delivers to a queue target: one SendMessage billed to the queue."""
        if not getattr(self._inner, "sqs_request", False):
            self.add("sqs", "SendMessage (from EventBridge)", queue, requests=_units(len(body.encode()), _CHUNK))


def _index_write_units(table: _Table, index: str, old: Item | None, new: Item | None) -> int:
    before, after = table.projected(index, old), table.projected(index, new)
    if before == after:
        return 0
    if before is None:
        return _units(item_size(after), _WRITE_UNIT)
    if after is None:
        return _units(item_size(before), _WRITE_UNIT)
    index_keys = table.indexes[index][0]
    if all(before.get(name) == after.get(name) for name in index_keys):
        return _units(item_size(after), _WRITE_UNIT)  # updated in place
    return _units(item_size(before), _WRITE_UNIT) + _units(item_size(after), _WRITE_UNIT)  # moved: delete + put


def _writes(operation: str, request: Item) -> dict[tuple[str, str], tuple[str, Item | None]]:
    """(table, key as JSON) -> (action, requested item) for every item a write operation touches."""
    touched: list[tuple[str, str, Item | None, Item | None]] = []  # table, action, key or None, item or None
    if operation == "PutItem":
        touched.append((request["TableName"], "Put", None, request["Item"]))
    elif operation in ("UpdateItem", "DeleteItem"):
        touched.append((request["TableName"], operation.removesuffix("Item"), request["Key"], None))
    elif operation == "TransactWriteItems":
        for each in request["TransactItems"]:
            ((action, spec),) = each.items()
            touched.append((spec["TableName"], action, spec.get("Key"), spec.get("Item")))
    elif operation == "BatchWriteItem":
        for table, requests in request["RequestItems"].items():
            for each in requests:
                if "PutRequest" in each:
                    touched.append((table, "Put", None, each["PutRequest"]["Item"]))
                else:
                    touched.append((table, "Delete", each["DeleteRequest"]["Key"], None))
    else:
        return {}
    return {
        (table, json.dumps(key if key is not None else _key_from(item), sort_keys=True)): (action, item)
        for table, action, key, item in touched
    }


def _key_from(item: Item | None) -> Item:
    # The cases, timeline, portal and automations tables all key on pk and sk.
    return {name: value for name, value in (item or {}).items() if name in ("pk", "sk")}


def _service_of(environ: dict[str, Any]) -> str:
    """The service a SigV4-signed request names in its credential scope (header or presigned query)."""
    authorization = environ.get("HTTP_AUTHORIZATION", "")
    scope = authorization.split("Credential=", 1)[1].split(",", 1)[0] if "Credential=" in authorization else ""
    if not scope:
        scope = (parse_qs(environ.get("QUERY_STRING", "")).get("X-Amz-Credential") or [""])[0]
    parts = scope.split("/")
    return parts[3] if len(parts) > 3 else ""


def _region_of(environ: dict[str, Any]) -> str:
    authorization = environ.get("HTTP_AUTHORIZATION", "")
    parts = authorization.split("Credential=", 1)[1].split("/") if "Credential=" in authorization else []
    return parts[2] if len(parts) > 2 else "us-east-1"


def _query_action(environ: dict[str, Any], body: bytes) -> str:
    fields = parse_qs(body.decode(errors="replace")) if body else {}
    fields.update(parse_qs(environ.get("QUERY_STRING", "")))
    return (fields.get("Action") or [""])[0]


def _queue_of(body: bytes) -> str:
    try:
        url = str(json.loads(body or b"{}").get("QueueUrl", ""))
    except ValueError:
        url = (parse_qs(body.decode(errors="replace")).get("QueueUrl") or [""])[0]
    return url.rsplit("/", 1)[-1] or "-"


def _resource(request: Item) -> str:
    index = request.get("IndexName")
    return f"{request['TableName']}/{index}" if index else str(request["TableName"])


def install() -> Meter:
    """Wraps moto's WSGI application and its SQS backend's sends; returns the meter."""
    from moto.moto_server import werkzeug_app
    from moto.sqs.models import SQSBackend

    original_call = werkzeug_app.DomainDispatcherApplication.__call__
    meter = Meter(original_call)

    def metered(self: Any, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        meter._app = functools.partial(original_call, self)
        answer: Iterable[bytes] = meter(environ, start_response)
        return answer

    original_send = SQSBackend.send_message

    def send_message(self: Any, queue_name: str, message_body: str, *args: Any, **kwargs: Any) -> Any:
        meter.count_internal_send(queue_name, message_body)
        return original_send(self, queue_name, message_body, *args, **kwargs)

    werkzeug_app.DomainDispatcherApplication.__call__ = metered  # type: ignore[method-assign]
    SQSBackend.send_message = send_message  # type: ignore[method-assign]
    return meter
