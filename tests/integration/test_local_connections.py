"""The local stack's connections, as the browser and boto3 meet them: the gateway answers a kept-alive connection
in one write with Nagle's algorithm off (written apart, the body waited ~40 ms for the client's delayed ACK), the
emulator keeps connections open and says how long each answer is, so a botocore client makes its calls over one
connection, and concurrent DynamoDB reads and writes in the emulator no longer trip over each other."""

import http.client
import socket
import threading
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, cast

import boto3
import pytest
from botocore.config import Config
from caseline_common.aws import AwsClients
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.responses import DynamoHandler
from moto.server import ThreadedMotoServer

from caseline.local import moto_fixes
from caseline.local.emulator import EmulatorProcess
from caseline.local.gateway import GatewayServer, LocalApi

ANSWER = '{"text": "naïve ✓"}'.encode()


class _CountingSocket(socket.socket):
    """An accepted connection that counts the writes the server makes on it."""

    writes = 0

    def send(self, data: Any, flags: int = 0) -> int:
        self.writes += 1
        return super().send(data, flags)

    def sendall(self, data: Any, flags: int = 0) -> None:
        self.writes += 1
        super().sendall(data, flags)


class _CountingGateway(GatewayServer):
    def __init__(self) -> None:
        super().__init__("127.0.0.1", 0)
        self.accepted: list[_CountingSocket] = []

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = super().get_request()
        counted = _CountingSocket(connection.family, connection.type, connection.proto, fileno=connection.detach())
        self.accepted.append(counted)
        return counted, address


class _FixedApi:
    def handle(self, method: str, target: str, headers: Any, body: bytes | None) -> tuple[int, dict[str, Any], bytes]:
        return 200, {"Content-Type": "application/json", "Set-Cookie": ["a=1", "b=2"]}, ANSWER


@pytest.fixture
def gateway() -> Iterator[_CountingGateway]:
    server = _CountingGateway()
    server.api = cast(LocalApi, _FixedApi())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
    for connection in server.accepted:
        connection.close()


def test_the_gateway_answers_a_kept_connection_in_one_write_with_nagle_off(gateway: _CountingGateway) -> None:
    host, port = gateway.server_address[:2]
    client = http.client.HTTPConnection(str(host), port, timeout=5)
    try:
        sockets = []
        for method, body in [("GET", None), ("POST", b'{"a": 1}'), ("HEAD", None), ("GET", None)]:
            client.request(method, "/cases", body=body, headers={"Content-Type": "application/json"})
            response = client.getresponse()
            payload = response.read()
            assert response.status == 200
            assert payload == (b"" if method == "HEAD" else ANSWER)
            assert response.getheader("Content-Length") == str(len(ANSWER))
            assert response.getheader("Connection") is None
            assert response.headers.get_all("Set-Cookie") == ["a=1", "b=2"]
            sockets.append(client.sock)
        assert len(gateway.accepted) == 1  # one connection, kept
        assert len(set(map(id, sockets))) == 1
        accepted = gateway.accepted[0]
        assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0  # while it is open
    finally:
        client.close()
    assert accepted.writes == 4  # one per answer: status line, headers and body together


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorProcess]:
    process = EmulatorProcess("127.0.0.1", 0)
    yield process
    process.stop()


@contextmanager
def counted_connections(monkeypatch: pytest.MonkeyPatch, host: str, port: int) -> Iterator[list[int]]:
    """The TCP connections this process opens to host:port while the block runs."""
    opened: list[int] = []
    connect: Callable[[socket.socket, Any], None] = socket.socket.connect

    def counting_connect(self: socket.socket, address: Any) -> None:
        if tuple(address[:2]) == (host, port):
            opened.append(1)
        connect(self, address)

    with monkeypatch.context() as patch:
        patch.setattr(socket.socket, "connect", counting_connect)
        yield opened


def test_the_emulator_keeps_connections_and_says_how_long_each_answer_is(emulator: EmulatorProcess) -> None:
    client = http.client.HTTPConnection(emulator.host, emulator.port, timeout=10)
    try:
        sockets = []
        # The first request's body is one the emulator never reads: it must still not be taken for the next request.
        for body in [b"x" * 5000, None, b"{}"]:
            client.request("GET", "/moto-api/data.json?service=ses", body=body)
            response = client.getresponse()
            payload = response.read()
            assert response.status == 200, payload
            assert response.getheader("Connection") is None
            assert not response.will_close
            assert response.getheader("Content-Length") == str(len(payload))
            sockets.append(client.sock)
    finally:
        client.close()
    assert len(set(map(id, sockets))) == 1


def test_botocore_clients_make_their_calls_over_one_connection_each(
    emulator: EmulatorProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}.items():
        monkeypatch.setenv(name, value)
    aws = AwsClients("us-east-1", emulator.endpoint)
    table, bucket = f"connections-{uuid.uuid4().hex[:8]}", f"connections-{uuid.uuid4().hex[:8]}"
    calls = 0
    with counted_connections(monkeypatch, emulator.host, emulator.port) as opened:
        dynamodb, s3, sqs = aws.dynamodb(), aws.s3(), aws.sqs()
        dynamodb.create_table(
            TableName=table,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        )
        s3.create_bucket(Bucket=bucket)
        queue_url = sqs.create_queue(QueueName=table)["QueueUrl"]
        calls += 3
        for index in range(10):
            item = {"pk": {"S": f"case-{index}"}, "text": {"S": "naïve ✓" * index}}
            dynamodb.put_item(TableName=table, Item=item)
            assert dynamodb.get_item(TableName=table, Key={"pk": item["pk"]})["Item"] == item
            s3.put_object(Bucket=bucket, Key=f"doc-{index}", Body=ANSWER * index)
            assert s3.head_object(Bucket=bucket, Key=f"doc-{index}")["ContentLength"] == len(ANSWER) * index
            assert s3.get_object(Bucket=bucket, Key=f"doc-{index}")["Body"].read() == ANSWER * index
            sqs.send_message(QueueUrl=queue_url, MessageBody=f"message {index} ✓")
            calls += 6
        assert len(sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]) == 10
        assert dynamodb.scan(TableName=table)["Count"] == 10
        calls += 2

    assert calls == 65
    assert len(opened) == 3  # one per client, whatever the number of calls


class _PausingTable(defaultdict[Any, Any]):
    """A table's items that, once armed, stop a reader in the middle of walking them until a write is done."""

    def __init__(self, items: dict[Any, Any]) -> None:
        super().__init__(dict, items)
        self.armed = threading.Event()
        self.paused = threading.Event()
        self.written = threading.Event()

    def values(self) -> Any:
        walk = iter(super().values())
        if not self.armed.is_set():
            return walk
        self.armed.clear()
        return self._pause_after_first(walk)

    def _pause_after_first(self, walk: Iterator[Any]) -> Iterator[Any]:
        yield next(walk)
        self.paused.set()
        self.written.wait(timeout=1)  # a write that has to wait for this read never comes: go on without it
        yield from walk


@pytest.fixture
def dynamodb_in_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto's server in this process, with only the DynamoDB request fix (put back afterwards)."""
    monkeypatch.setattr(DynamoHandler, "call_action", DynamoHandler.call_action)
    moto_fixes._dynamodb_requests_one_at_a_time()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    client = boto3.session.Session(
        region_name="us-east-1", aws_access_key_id="local", aws_secret_access_key="local"
    ).client(
        "dynamodb",
        endpoint_url=f"http://{host}:{port}",
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
    )
    yield client
    server.stop()


@pytest.mark.parametrize("read", ["query", "scan"])
def test_a_read_walking_a_table_never_sees_it_change_under_it(dynamodb_in_process: Any, read: str) -> None:
    """A Query or Scan walks the whole table in moto; a PutItem of a new key beside it raised `RuntimeError:
    dictionary changed size during iteration` (a 500). The write now waits for the read, as DynamoDB applies
    each request atomically, and both succeed."""
    client = dynamodb_in_process
    name = f"busy-{uuid.uuid4().hex[:8]}"
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"} for key in ("pk", "sk", "g")],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by_g",
                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    for index in range(5):
        client.put_item(TableName=name, Item={"pk": {"S": f"seed-{index}"}, "sk": {"S": "0"}, "g": {"S": "g"}})
    table = dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].get_table(name)
    table.items = items = _PausingTable(table.items)
    found: list[Any] = []

    def walk() -> None:
        try:
            if read == "query":
                expression = {"KeyConditionExpression": "g = :g", "ExpressionAttributeValues": {":g": {"S": "g"}}}
                found.append(client.query(TableName=name, IndexName="by_g", **expression))
            else:
                found.append(client.scan(TableName=name))
        except Exception as error:
            found.append(error)

    items.armed.set()
    reader = threading.Thread(target=walk)
    reader.start()
    assert items.paused.wait(timeout=10)
    client.put_item(TableName=name, Item={"pk": {"S": "new"}, "sk": {"S": "0"}, "g": {"S": "h"}})
    items.written.set()
    reader.join(timeout=10)

    assert not reader.is_alive()
    assert not isinstance(found[0], Exception), found[0]
    assert found[0]["Count"] == 5  # the write came after the read, whole
    assert client.scan(TableName=name)["Count"] == 6
    client.delete_table(TableName=name)
