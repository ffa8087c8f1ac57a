"""Narrow corrections to the emulator where it differs from AWS in ways our code depends on."""

import base64
import json
import threading
import time
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import moto.backends
import moto.sqs.models
from moto.core.model_instances import model_data as tracked_models
from moto.core.serialize import BaseJSONSerializer
from moto.core.utils import camelcase_to_underscores
from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.responses import DynamoHandler
from moto.events.utils import EventTemplateParser
from moto.moto_api._internal.responses import MotoAPIResponse
from moto.moto_server.werkzeug_app import MotoRequestHandler
from moto.sqs.models import Queue
from werkzeug.debug.tbtools import DebugTraceback
from werkzeug.exceptions import ClientDisconnected, InternalServerError
from werkzeug.serving import WSGIRequestHandler
from werkzeug.wsgi import LimitedStream


def apply() -> None:
    _keep_connections_alive()
    _targets_receive_the_whole_event()
    _transactions_check_then_write()
    _dynamodb_requests_one_at_a_time()
    _queue_attributes_computed_on_demand()
    _model_data_of_one_service()
    _attribute_values_written_as_they_are()
    _strings_compared_directly()
    _services_listed_once()
    _queue_clock_read_directly()


class _QueueAttributes(Mapping[str, Any]):
    """A queue's attributes, each computed when read: moto counts every message for the Approximate*
    attributes, and reads the whole set on every send and for every message it receives, which makes a
    queue of n messages cost O(n) per message."""

    def __init__(self, queue: Queue) -> None:
        self._queue = queue
        names = list(queue.BASE_ATTRIBUTES)
        if queue.fifo_queue:
            names += queue.FIFO_ATTRIBUTES
        if queue.kms_master_key_id:  # type: ignore[attr-defined]
            names += queue.KMS_ATTRIBUTES
        if queue.policy:
            names.append("Policy")
        if queue.redrive_policy:
            names.append("RedrivePolicy")
        self._names = names

    def __getitem__(self, name: str) -> Any:
        if name not in self._names:
            raise KeyError(name)
        if name == "Policy":
            return self._queue.policy
        if name == "RedrivePolicy":
            return json.dumps(self._queue.redrive_policy)
        value = getattr(self._queue, camelcase_to_underscores(name))
        return str(value).lower() if isinstance(value, bool) else value

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def _queue_attributes_computed_on_demand() -> None:
    if isinstance(Queue.__dict__.get("attributes"), property) and getattr(
        Queue.__dict__["attributes"].fget, "caseline_fixed", False
    ):
        return

    def attributes(self: Queue) -> Mapping[str, Any]:
        return _QueueAttributes(self)

    attributes.caseline_fixed = True  # type: ignore[attr-defined]
    Queue.attributes = property(attributes)  # type: ignore[assignment,method-assign]


def _keep_connections_alive() -> None:
    """werkzeug's development server, which moto's is, answers every request with `Connection: close`
    (its `run_wsgi` cannot tell where one request's body ends and the next request begins), so boto3
    opened a TCP connection for every call. Here each request's body is read to its end, whatever the
    application read of it, each answer carries its exact Content-Length, and the connection stays open
    for the next request, as AWS keeps it. The status line, headers and body leave in one write on a
    socket without Nagle's algorithm, so a kept connection does not wait for the client's delayed ACK
    (about 40 ms) before the body of an answer."""
    if getattr(MotoRequestHandler.run_wsgi, "caseline_fixed", False):
        return
    _run_wsgi_keeping_the_connection.caseline_fixed = True  # type: ignore[attr-defined]
    MotoRequestHandler.protocol_version = "HTTP/1.1"
    MotoRequestHandler.disable_nagle_algorithm = True
    MotoRequestHandler.run_wsgi = _run_wsgi_keeping_the_connection  # type: ignore[method-assign]


_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length"})


def _run_wsgi_keeping_the_connection(self: WSGIRequestHandler) -> None:
    if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
        self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    self.environ = environ = self.make_environ()
    body = _request_body(self, environ)
    started: list[tuple[str, list[tuple[str, str]]]] = []
    chunks: list[bytes] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        if started and exc_info is None:
            raise AssertionError("Headers already set")
        started[:] = [(status, headers)]
        return chunks.append

    def run(app: Any) -> None:
        answer = app(environ, start_response)
        try:
            chunks.extend(answer)
        finally:
            if hasattr(answer, "close"):
                answer.close()

    try:
        run(self.server.app)
    except (ConnectionError, TimeoutError) as error:
        self.connection_dropped(error, environ)
        self.close_connection = True
        return
    except Exception as error:  # as werkzeug does: a 500 for the client, the traceback in the log
        if self.server.passthrough_errors:
            raise
        started.clear()
        chunks.clear()
        run(InternalServerError())
        self.server.log("error", f"Error on request:\n{DebugTraceback(error).render_traceback_text()}")
    if body is not None:
        _skip_unread(self, body)
    status, headers = started[0]
    head, payload = _response_head(self, status, headers, b"".join(chunks))
    self.wfile.write(head + payload)
    self.log_request(int(status.split(None, 1)[0]), len(payload))


def _skip_unread(handler: WSGIRequestHandler, body: Any) -> None:
    try:
        while body.read(1 << 16):
            pass
    except (OSError, ValueError, ClientDisconnected):
        handler.close_connection = True


def _response_head(
    handler: WSGIRequestHandler, status: str, headers: list[tuple[str, str]], payload: bytes
) -> tuple[bytes, bytes]:
    """The status line and headers of an answer, with the body that goes with them."""
    code = int(status.split(None, 1)[0])
    head = [f"{handler.protocol_version} {status}", f"Server: {handler.version_string()}"]
    head += [f"Date: {handler.date_time_string()}"]
    head += [f"{name}: {value}" for name, value in headers if name.lower() not in _HOP_BY_HOP]
    if handler.command == "HEAD":  # the length the body would have had, as the application says it
        head += [f"{name}: {value}" for name, value in headers if name.lower() == "content-length"]
        payload = b""
    elif code < 200 or code in (204, 304):
        payload = b""
    else:
        head.append(f"Content-Length: {len(payload)}")
    if handler.close_connection:
        head.append("Connection: close")
    elif handler.request_version == "HTTP/1.0":
        head.append("Connection: keep-alive")
    return "\r\n".join([*head, "", ""]).encode("latin-1"), payload


def _request_body(handler: WSGIRequestHandler, environ: dict[str, Any]) -> Any:
    """The request's body as a stream that ends where the body does, so that what the application does not
    read can be skipped and the next request read from the connection."""
    if environ.get("wsgi.input_terminated"):  # chunked: werkzeug's reader stops at the last chunk
        return environ["wsgi.input"]
    declared = handler.headers.get("Content-Length")
    if declared is None:
        return None
    if not declared.strip().isdigit():
        handler.close_connection = True  # where this body ends cannot be known
        return None
    body = LimitedStream(handler.rfile, int(declared))  # type: ignore[arg-type]
    environ["wsgi.input"] = body
    return body


def _targets_receive_the_whole_event() -> None:
    """Without an input transformer EventBridge delivers the event itself. moto 5.2 rebuilds it from a
    default template instead, which leaves out `account` (Powertools' EventBridgeModel rightly requires it)
    and compiles eight JSONPath expressions per target per event (about 10 ms each time)."""
    original = EventTemplateParser.parse
    if getattr(original, "caseline_fixed", False):
        return

    def parse(input_template: str, input_paths_map: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
        if input_template:
            return original(input_template, input_paths_map, event)  # type: ignore[arg-type]
        return {name: value for name, value in event.items() if name != "ingestion-time"}

    parse.caseline_fixed = True  # type: ignore[attr-defined]
    EventTemplateParser.parse = staticmethod(parse)  # type: ignore[method-assign,assignment]


def _transactions_check_then_write() -> None:
    """moto 5.2 runs TransactWriteItems by deep-copying every table it touches (once per item), writing
    item by item and, if a condition fails, swapping the copies back in. That costs time in proportion
    to the table's size (about 270 ms per transaction at 8,000 items), and the swapped-in copy carries a
    copy of the stream shard, so an open stream iterator never sees another record and the writes that
    were rolled back remain in the stream. DynamoDB checks every condition first and then writes all or
    nothing; this does the same, so nothing ever needs rolling back."""
    if getattr(DynamoDBBackend.transact_write_items, "caseline_fixed", False):
        return

    def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        if len(transact_items) > 100:
            raise TooManyTransactionsException()
        operations: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
        targets: set[tuple[str, str]] = set()
        reasons: list[tuple[Any, Any, Any]] = []
        for entry in transact_items:
            op_type, op = next(iter(entry.items()))
            table = self.get_table(op["TableName"])
            if op_type == "Put":
                key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = op["Item"][table.range_key_attr]
            else:
                key = op["Key"]
            target = (op["TableName"], str(sorted(key.items())))
            if target in targets:
                raise MultipleTransactionsException()
            targets.add(target)
            current = self.get_item(op["TableName"], key)
            condition = op.get("ConditionExpression")
            holds = condition is None or get_filter_expression(
                condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
            ).expr(current)
            if holds:
                reasons.append((None, None, None))
            else:
                old = (
                    current.to_json()["Attributes"]
                    if current and op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD"
                    else None
                )
                reasons.append(("ConditionalCheckFailed", "The conditional request failed", old))
            operations.append((op_type, op, key))
        if any(code is not None for code, _, _ in reasons):
            raise TransactionCanceledException(reasons)
        for op_type, op, key in operations:
            names, values = op.get("ExpressionAttributeNames") or {}, op.get("ExpressionAttributeValues") or {}
            if op_type == "Put":
                self.put_item(op["TableName"], op["Item"])
            elif op_type == "Delete":
                self.delete_item(op["TableName"], key)
            elif op_type == "Update":
                self.update_item(
                    op["TableName"],
                    key,
                    update_expression=op["UpdateExpression"],
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )

    transact_write_items.caseline_fixed = True  # type: ignore[attr-defined]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


_DYNAMODB_LOCK = threading.Lock()


def _dynamodb_requests_one_at_a_time() -> None:
    """moto's server answers each request on a thread of its own, and its DynamoDB tables are plain dicts
    that reads walk while writes change them: a Query or Scan beside a PutItem raised `RuntimeError:
    dictionary changed size during iteration` (a GetItem of a missing key adds one too, the table being a
    defaultdict), a read could see an UpdateItem half applied, and two conditional writes (or two
    transactions, checked and then written above) could both pass a condition only one may pass. DynamoDB
    applies each request atomically; so does this, one DynamoDB request at a time. The interpreter lock
    already runs the emulator's Python one thread at a time, so the lock costs an uncontended acquire."""
    original = DynamoHandler.call_action
    if getattr(original, "caseline_fixed", False):
        return

    def call_action(self: DynamoHandler) -> Any:
        with _DYNAMODB_LOCK:
            return original(self)

    call_action.caseline_fixed = True  # type: ignore[attr-defined]
    DynamoHandler.call_action = call_action  # type: ignore[method-assign]


_DYNAMODB_SERVICES = frozenset({"dynamodb", "dynamodbstreams"})  # other services have shapes of that name too


def _attribute_values_written_as_they_are() -> None:
    """moto 5.2 writes every DynamoDB response by walking botocore's shape of each attribute value, about
    25 Python calls per attribute: a page of 100 cases took some 190 ms to write and almost nothing to find.
    moto already holds attribute values in their wire form (binary as bytes), so they are written as they
    are, binary encoded in base64 as the walk does."""
    original = BaseJSONSerializer._serialize_type_structure
    if getattr(original, "caseline_fixed", False):
        return

    def serialize_structure(self: BaseJSONSerializer, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if (
            key
            and shape.name == "AttributeValue"
            and isinstance(value, dict)
            and self.service_model.service_name in _DYNAMODB_SERVICES
        ):
            serialized[key] = _wire_attribute_value(value)
            return
        original(self, serialized, value, shape, key)

    serialize_structure.caseline_fixed = True  # type: ignore[attr-defined]
    BaseJSONSerializer._serialize_type_structure = serialize_structure  # type: ignore[method-assign]


def _strings_compared_directly() -> None:
    """moto compares and sorts attribute values through `cast_value`, which asks five questions of a value's
    type before it returns a string as it is. A query walks and sorts the whole table on every page, so these
    questions were most of a query's own time; strings, which every key here is, now skip them."""
    general = DynamoType.__dict__["cast_value"].fget
    if getattr(general, "caseline_fixed", False):
        return

    def cast_value(self: DynamoType) -> Any:
        if self.type == "S":
            return self.value
        return general(self)

    cast_value.caseline_fixed = True  # type: ignore[attr-defined]
    DynamoType.cast_value = property(cast_value)  # type: ignore[method-assign,assignment]


def _services_listed_once() -> None:
    """moto's server lists its own package directory (a stat per service) on every request to find which
    service a host name means; the list never changes while it runs."""
    listed = moto.backends.list_of_moto_modules
    if getattr(listed, "caseline_fixed", False):
        return
    services = tuple(listed())

    def list_of_moto_modules() -> tuple[str, ...]:
        return services

    list_of_moto_modules.caseline_fixed = True  # type: ignore[attr-defined]
    moto.backends.list_of_moto_modules = list_of_moto_modules


def _queue_clock_read_directly() -> None:
    """SQS decides every message's visibility on every receive by building two naive datetimes and
    subtracting them; reading the epoch clock directly gives the same milliseconds at a fraction of the cost."""
    general = moto.sqs.models.unix_time_millis  # type: ignore[attr-defined]
    if getattr(general, "caseline_fixed", False):
        return

    def unix_time_millis(dt: datetime | None = None) -> float:
        return time.time() * 1000.0 if dt is None else general(dt)

    unix_time_millis.caseline_fixed = True  # type: ignore[attr-defined]
    moto.sqs.models.unix_time_millis = unix_time_millis  # type: ignore[attr-defined]


def _wire_attribute_value(value: dict[str, Any]) -> dict[str, Any]:
    wire: dict[str, Any] = {}
    for kind, inner in value.items():
        if inner is None:
            continue
        if kind == "B":
            wire[kind] = _base64(inner)
        elif kind == "BS":
            wire[kind] = [_base64(member) for member in inner]
        elif kind == "L":
            wire[kind] = [_wire_attribute_value(member) for member in inner]
        elif kind == "M":
            wire[kind] = {name: _wire_attribute_value(member) for name, member in inner.items()}
        else:
            wire[kind] = inner
    return wire


def _base64(value: str | bytes) -> str:
    raw = value.encode() if isinstance(value, str) else value
    return base64.b64encode(raw).decode()


def _model_data_of_one_service() -> None:
    """`/moto-api/data.json?service=ses`: the dev mailbox reads sent e-mail from moto's data dump, which
    otherwise serialises every attribute of every instance of every service (every table item, every queued
    message) and after a busy test session takes longer than any sensible timeout."""
    everything = MotoAPIResponse.model_data

    def model_data(self: MotoAPIResponse, request: Any, full_url: str, headers: Any) -> Any:
        service = parse_qs(urlsplit(full_url).query).get("service", [None])[0]
        if service is None:
            return everything(self, request, full_url, headers)
        results: dict[str, dict[str, list[dict[str, Any]]]] = {service: {}}
        for name, model in sorted(tracked_models.get(service, {}).items()):
            instances = model.instances_tracked  # type: ignore[attr-defined]
            results[service][name] = [_plain_attributes(instance) for instance in instances]
        return 200, {"Content-Type": "application/json"}, json.dumps(results)

    MotoAPIResponse.model_data = model_data  # type: ignore[method-assign]


def _plain_attributes(instance: Any) -> dict[str, Any]:
    plain = {}
    for name in dir(instance):
        if name.startswith("_"):
            continue
        try:
            value = getattr(instance, name)
            json.dumps(value)
        except (TypeError, AttributeError, ValueError):
            continue
        plain[name] = value
    return plain
