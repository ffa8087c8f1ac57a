"""What the OpenSearch adapter sends, recorded by an HTTP server on 127.0.0.1 standing in for the collection: the
index it creates (the analyzer, the keyword and hidden fields), the documents it writes, a search with the
caller's reader terms as a filter, and a SigV4 signature on every request that checks out."""

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from service_modules import loaded_module

if TYPE_CHECKING:
    from services.search.chalicelib.adapters import opensearch_engine
    from services.search.chalicelib.domain import search as domain
else:
    opensearch_engine = loaded_module("search", "chalicelib.adapters.opensearch_engine")
    domain = loaded_module("search", "chalicelib.domain.search")

CREDENTIALS = Credentials("AKIDEXAMPLE", "secret-key", "session-token")
REGION = "eu-west-1"
INDEX = "caseline-acme-cases"
T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Sent:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Collection:
    """Answers as OpenSearch would, to the requests this adapter makes, and remembers them."""

    def __init__(self) -> None:
        self.sent: list[Sent] = []
        self.index_exists = False
        self.stored_ids: list[str] = []
        self.hits: list[dict[str, Any]] = []

    def answer(self, request: Sent) -> tuple[int, Any]:
        self.sent.append(request)
        path = request.path.split("?")[0]
        if request.method == "HEAD" and path == f"/{INDEX}":
            return (200 if self.index_exists else 404), None
        if request.method == "PUT" and path == f"/{INDEX}":
            self.index_exists = True
            return 200, {"acknowledged": True, "index": INDEX}
        if path == f"/{INDEX}/_search" and "aggs" not in request.json():
            return 200, {"hits": {"hits": [{"_id": doc_id} for doc_id in self.stored_ids]}}
        if path == f"/{INDEX}/_search":
            aggregations = {name: {"buckets": [{"key": "claim", "doc_count": 1}]} for name in domain.FACETS}
            total = {"value": len(self.hits), "relation": "eq"}
            return 200, {"hits": {"total": total, "hits": self.hits}, "aggregations": aggregations}
        if path == "/_bulk":
            return 200, {"errors": False, "items": []}
        return 400, {"error": f"unexpected {request.method} {request.path}"}


@pytest.fixture
def collection() -> Iterator[tuple[Collection, str]]:
    recorded = Collection()

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            sent = Sent(
                self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length)
            )
            status, body = recorded.answer(sent)
            raw = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(raw)

        do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _handle

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield recorded, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def engine(endpoint: str, service: str = "aoss") -> "opensearch_engine.OpenSearchEngine":
    return opensearch_engine.OpenSearchEngine.signed(
        endpoint, region=REGION, tenant_id="acme", service=service, credentials=CREDENTIALS
    )


def document(access_class: str, readers: set[str]) -> "domain.SearchDocument":
    return domain.SearchDocument(
        case_id="c-1",
        access_class=access_class,
        readers=frozenset(readers),
        template_key="claim",
        template_version=1,
        title="Burst pipe",
        stage="intake",
        status="open",
        owner="ana",
        created_at=T0,
        updated_at=T0,
        stage_due_at=None,
        texts=(
            domain.Text(domain.Where.TITLE, "Title", "Burst pipe"),
            domain.Text(domain.Where.FIELD, "City", "Köln"),
        ),
    )


def test_the_first_write_creates_the_tenant_index_with_the_analyzer_and_field_types(
    collection: tuple[Collection, str],
) -> None:
    recorded, endpoint = collection
    engine(endpoint).replace_case("c-1", [document("full", {"admin", "viewer"})])
    head, create = recorded.sent[:2]
    assert (head.method, head.path, create.method, create.path) == ("HEAD", f"/{INDEX}", "PUT", f"/{INDEX}")
    body = create.json()
    analysis = body["settings"]["analysis"]
    assert analysis["analyzer"]["caseline_words"] == {
        "type": "custom",
        "tokenizer": "caseline_words",
        "filter": ["lowercase", "asciifolding"],
    }
    assert analysis["tokenizer"]["caseline_words"] == {"type": "pattern", "pattern": "[^\\p{L}\\p{N}]+"}
    fields = body["mappings"]["properties"]
    assert body["mappings"]["dynamic"] == "strict"
    for keyword in ("case_id", "readers", "template_key", "stage", "status", "owner", "title_sort"):
        assert fields[keyword] == {"type": "keyword"}, keyword
    for text in ("title", "field", "participant", "comment", "document", "decision"):
        assert fields[text] == {"type": "text", "analyzer": "caseline_words", "copy_to": "all_text"}, text
    assert fields["texts"] == {"type": "object", "enabled": False}  # kept for highlights, never matched


def test_replacing_a_case_writes_its_documents_and_deletes_the_classes_it_no_longer_has(
    collection: tuple[Collection, str],
) -> None:
    recorded, endpoint = collection
    recorded.index_exists = True
    recorded.stored_ids = ["c-1:full", "c-1:cgone"]
    engine(endpoint).replace_case("c-1", [document("full", {"admin", "viewer", "group:claims"})])
    lookup, bulk = recorded.sent[1:]
    assert lookup.json()["query"] == {"terms": {"case_id": ["c-1"]}}
    lines = [json.loads(line) for line in bulk.body.decode().splitlines()]
    assert lines[0] == {"delete": {"_index": INDEX, "_id": "c-1:cgone"}}
    assert lines[1] == {"index": {"_index": INDEX, "_id": "c-1:full"}}
    assert lines[2]["readers"] == ["admin", "group:claims", "viewer"]
    assert lines[2]["field"] == ["Köln"]
    assert "refresh" not in bulk.path  # a Serverless collection refreshes by itself


def test_a_domain_is_asked_to_make_each_write_searchable_before_it_answers(collection: tuple[Collection, str]) -> None:
    recorded, endpoint = collection
    recorded.index_exists = True
    engine(endpoint, service="es").replace_case("c-1", [document("full", {"admin"})])
    assert "refresh=wait_for" in recorded.sent[-1].path


def test_a_search_filters_on_the_callers_reader_terms_in_the_query(collection: tuple[Collection, str]) -> None:
    recorded, endpoint = collection
    source = opensearch_engine.source(document("full", {"admin"}))
    recorded.hits = [
        {
            "_id": "c-1:full",
            "_score": 2.5,
            "_source": source,
            "highlight": {"field": ["\ue000Köln\ue001"]},
        }
    ]
    query = domain.SearchQuery(
        text="koln bu",
        readers=frozenset({"user:ana", "group:claims"}),
        filters={"stage": "intake"},
        sort=domain.Sort.RELEVANCE,
        offset=25,
        limit=25,
    )
    results = engine(endpoint).search(query)
    body = recorded.sent[-1].json()
    assert body["query"]["bool"]["filter"] == [
        {"terms": {"readers": ["group:claims", "user:ana"]}},
        {"term": {"stage": "intake"}},
    ]
    assert body["query"]["bool"]["must"] == [
        {"match_bool_prefix": {"all_text": {"query": "koln bu", "operator": "and"}}}
    ]
    assert body["collapse"] == {"field": "case_id"}
    assert (body["from"], body["size"]) == (25, 25)
    assert body["aggs"]["stage"] == {"terms": {"field": "stage", "size": 50}}
    assert body["track_total_hits"] is True
    [hit] = results.hits
    assert (hit.case_id, hit.score, results.total) == ("c-1", 2.5, 1)
    [highlight] = hit.highlights
    assert (highlight.where, highlight.label) == (domain.Where.FIELD, "City")
    assert [(part.text, part.match) for part in highlight.parts] == [("Köln", True)]
    assert results.facets["template_key"] == [domain.FacetCount("claim", 1)]


def test_every_request_carries_a_sigv4_signature_that_checks_out(collection: tuple[Collection, str]) -> None:
    recorded, endpoint = collection
    engine(endpoint).replace_case("c-1", [document("full", {"admin"})])
    assert recorded.sent
    for sent in recorded.sent:
        authorization = sent.headers["authorization"]
        found = re.fullmatch(
            r"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/(\d{8})/eu-west-1/aoss/aws4_request, "
            r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})",
            authorization,
        )
        assert found is not None, authorization
        signed = found.group(2).split(";")
        assert {"host", "x-amz-date", "x-amz-security-token"} <= set(signed)
        assert sent.headers["x-amz-date"].startswith(found.group(1))
        request = AWSRequest(
            method=sent.method,
            url=f"{endpoint}{sent.path}",
            data=sent.body,
            headers={name: sent.headers[name] for name in signed},
        )
        request.context["timestamp"] = sent.headers["x-amz-date"]
        auth = SigV4Auth(CREDENTIALS, "aoss", REGION)
        expected = auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request)
        assert found.group(3) == expected


def test_the_service_is_told_by_the_host_name() -> None:
    serverless = opensearch_engine.OpenSearchEngine.signed(
        "https://abc123.eu-west-1.aoss.amazonaws.com", region=REGION, tenant_id="Acme", credentials=CREDENTIALS
    )
    domain_engine = opensearch_engine.OpenSearchEngine.signed(
        "https://search-acme.eu-west-1.es.amazonaws.com", region=REGION, tenant_id="acme", credentials=CREDENTIALS
    )
    assert serverless.service == "aoss"
    assert domain_engine.service == "es"
    assert opensearch_engine.index_name("Acme") == INDEX
