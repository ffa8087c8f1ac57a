"""The search engine in AWS: Amazon OpenSearch (a Serverless collection, "aoss", or a managed domain, "es"), one
index per tenant, every request signed with SigV4 by the function's role.

It behaves as the embedded engine does (adapters/tantivy_engine.py): the same analysis (text split on anything
that is not a letter or a digit, lowercased, ASCII-folded; a pattern tokenizer rather than the standard one, so
that an e-mail or a reference breaks into the same words in both engines), every word in some text field (one
`match_bool_prefix` with operator and on `all_text`, which every text field is copied to; the fields themselves
score, the title twice), the last word a prefix, the caller's reader terms a `terms` filter in the query, one hit
per case (`collapse` on case_id), facets and the total counted in documents (exact; a case counts twice only for a
caller reading it through two access classes: cardinality would count cases, approximately). A document's
texts travel in `_source` (not indexed), so highlights name the field or document they come from.
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from opensearchpy import OpenSearch, Urllib3AWSV4SignerAuth
from opensearchpy.exceptions import NotFoundError

from ..domain.search import (
    FACETS,
    HIGHLIGHTS_PER_HIT,
    FacetCount,
    Highlight,
    SearchDocument,
    SearchHit,
    SearchQuery,
    SearchResults,
    Sort,
    Text,
    Where,
    highlight,
)

ANALYZER = "caseline_words"
TEXT_FIELDS = tuple(where.value for where in Where)
FACET_SIZE = 50
MAX_CLASSES = 100  # access classes a case can have: one per distinct view of its roles, and the full one
# Marks around a match in a highlighted value: characters of Unicode's private use area, which no text holds.
PRE, POST = "\ue000", "\ue001"

INDEX_BODY: dict[str, Any] = {
    "settings": {
        "analysis": {
            "tokenizer": {ANALYZER: {"type": "pattern", "pattern": "[^\\p{L}\\p{N}]+"}},
            "analyzer": {ANALYZER: {"type": "custom", "tokenizer": ANALYZER, "filter": ["lowercase", "asciifolding"]}},
        }
    },
    "mappings": {
        "dynamic": "strict",
        "properties": {
            "case_id": {"type": "keyword"},
            "readers": {"type": "keyword"},
            **{name: {"type": "keyword"} for name in FACETS},
            "title_sort": {"type": "keyword"},
            "title_text": {"type": "keyword", "index": False},
            "template_version": {"type": "integer", "index": False},
            "created_at": {"type": "date"},
            "updated_at": {"type": "date"},
            "stage_due_at": {"type": "date"},
            "all_text": {"type": "text", "analyzer": ANALYZER},
            **{name: {"type": "text", "analyzer": ANALYZER, "copy_to": "all_text"} for name in TEXT_FIELDS},
            "texts": {"type": "object", "enabled": False},
        },
    },
}

_SORTS: dict[Sort, list[Any]] = {
    Sort.RELEVANCE: ["_score"],
    Sort.UPDATED: [{"updated_at": "desc"}],
    Sort.CREATED: [{"created_at": "desc"}],
    Sort.DUE: [{"stage_due_at": {"order": "asc", "missing": "_last"}}],
    Sort.TITLE: [{"title_sort": "asc"}],
}


def index_name(tenant_id: str) -> str:
    return f"caseline-{tenant_id.lower()}-cases"


def source(document: SearchDocument) -> dict[str, Any]:
    return {
        "case_id": document.case_id,
        "readers": sorted(document.readers),
        "template_key": document.template_key,
        "stage": document.stage,
        "status": document.status,
        "owner": document.owner,
        "title_sort": document.title_sort,
        "title_text": document.title,
        "template_version": document.template_version,
        "created_at": document.created_at.isoformat(),
        "updated_at": document.updated_at.isoformat(),
        "stage_due_at": document.stage_due_at.isoformat() if document.stage_due_at else None,
        **{where.value: document.texts_of(where) for where in Where},
        "texts": [{"where": text.where.value, "label": text.label, "text": text.text} for text in document.texts],
    }


def search_body(query: SearchQuery) -> dict[str, Any]:
    """The request body of a search: the access filter and the facet filters, the words, sort, collapse,
    facets and highlights."""
    filters: list[dict[str, Any]] = [{"terms": {"readers": sorted(query.readers)}}]
    filters += [{"term": {name: value}} for name, value in query.filters.items()]
    boolean: dict[str, Any] = {"filter": filters}
    if query.text:
        boolean["must"] = [{"match_bool_prefix": {"all_text": {"query": query.text, "operator": "and"}}}]
        boolean["should"] = [
            {
                "multi_match": {
                    "query": query.text,
                    "type": "bool_prefix",
                    "fields": [f"{name}^2" if name == Where.TITLE else name for name in TEXT_FIELDS],
                }
            }
        ]
    body: dict[str, Any] = {
        "from": query.offset,
        "size": query.limit,
        "query": {"bool": boolean},
        "collapse": {"field": "case_id"},
        "sort": [*_SORTS[query.sort], {"case_id": "asc"}],
        "track_total_hits": True,
        "_source": {"excludes": list(TEXT_FIELDS)},
        "aggs": {name: {"terms": {"field": name, "size": FACET_SIZE}} for name in FACETS},
    }
    if query.text:
        body["highlight"] = {
            "pre_tags": [PRE],
            "post_tags": [POST],
            "number_of_fragments": 0,
            "require_field_match": False,
            "fields": {name: {} for name in TEXT_FIELDS},
        }
    return body


def _spans(marked: str) -> tuple[str, list[tuple[int, int]]]:
    """The value without its marks, and where the marked parts are in it."""
    plain: list[str] = []
    spans: list[tuple[int, int]] = []
    length, start = 0, 0
    for char in marked:
        if char == PRE:
            start = length
        elif char == POST:
            spans.append((start, length))
        else:
            plain.append(char)
            length += 1
    return "".join(plain), spans


def _highlights(texts: list[dict[str, str]], marked: Mapping[str, list[str]]) -> tuple[Highlight, ...]:
    found: list[Highlight] = []
    for where in Where:
        for value in marked.get(where.value, []):
            plain, spans = _spans(value)
            label = next((t["label"] for t in texts if t["where"] == where.value and t["text"] == plain), "")
            shown = highlight(Text(where, label, plain), spans)
            if shown is not None and len(found) < HIGHLIGHTS_PER_HIT:
                found.append(shown)
    return tuple(found)


def _moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _hit(raw: dict[str, Any], scored: bool) -> SearchHit:
    stored = raw["_source"]
    return SearchHit(
        case_id=stored["case_id"],
        title=stored["title_text"],
        template_key=stored["template_key"],
        template_version=stored["template_version"],
        stage=stored["stage"],
        status=stored["status"],
        owner=stored["owner"],
        created_at=datetime.fromisoformat(stored["created_at"]),
        updated_at=datetime.fromisoformat(stored["updated_at"]),
        stage_due_at=_moment(stored.get("stage_due_at")),
        score=raw.get("_score") if scored else None,
        highlights=_highlights(stored.get("texts", []), raw.get("highlight", {})),
    )


class OpenSearchEngine:
    def __init__(self, client: OpenSearch, index: str, *, service: str) -> None:
        """`service`: "aoss" (Serverless) or "es" (a domain). A domain is asked to make each write searchable
        before it answers; a Serverless collection refreshes by itself and refuses the parameter."""
        self._client, self._index, self.service = client, index, service
        self._refresh = service == "es"
        self._ready = False

    @classmethod
    def signed(
        cls, endpoint: str, *, region: str, tenant_id: str, service: str | None = None, credentials: Any = None
    ) -> "OpenSearchEngine":
        """A client of `endpoint` signing with `credentials` (by default botocore's, the function's role) for
        `service`: "aoss" for a Serverless collection, "es" for a domain (by default, told by the host name)."""
        if credentials is None:
            import botocore.session

            credentials = botocore.session.get_session().get_credentials()
        parts = urlsplit(endpoint)
        host = parts.hostname or ""
        service = service or ("aoss" if host.endswith(".aoss.amazonaws.com") else "es")
        secure = parts.scheme == "https"
        client = OpenSearch(
            hosts=[{"host": host, "port": parts.port or (443 if secure else 80)}],
            http_auth=Urllib3AWSV4SignerAuth(credentials, region, service),
            use_ssl=secure,
            verify_certs=secure,
            timeout=10,
        )
        return cls(client, index_name(tenant_id), service=service)

    # writing

    def ensure_index(self) -> None:
        if not self._ready:
            if not self._client.indices.exists(index=self._index):
                self._client.indices.create(index=self._index, body=INDEX_BODY)
            self._ready = True

    def replace_case(self, case_id: str, documents: list[SearchDocument]) -> None:
        self.replace_cases({case_id: documents})

    def replace_cases(self, documents: Mapping[str, list[SearchDocument]]) -> None:
        """One bulk request: each case's new documents, and deletes of its documents no longer rendered (a
        class that went away). Serverless collections take no delete-by-query, so those are looked up first."""
        if not documents:
            return
        self.ensure_index()
        keep = {document.doc_id for sources in documents.values() for document in sources}
        actions: list[dict[str, Any]] = [
            {"delete": {"_index": self._index, "_id": doc_id}}
            for doc_id in self._doc_ids(list(documents))
            if doc_id not in keep
        ]
        for sources in documents.values():
            for document in sources:
                actions += [{"index": {"_index": self._index, "_id": document.doc_id}}, source(document)]
        self._bulk(actions)

    def delete_case(self, case_id: str) -> None:
        self.ensure_index()
        self._bulk([{"delete": {"_index": self._index, "_id": doc_id}} for doc_id in self._doc_ids([case_id])])

    def clear(self) -> None:
        """Drops the index; the next write creates it again with the current mapping."""
        self._client.indices.delete(index=self._index, ignore_unavailable=True)
        self._ready = False

    def _doc_ids(self, case_ids: list[str]) -> list[str]:
        found = self._client.search(
            index=self._index,
            body={
                "query": {"terms": {"case_id": case_ids}},
                "size": MAX_CLASSES * len(case_ids),
                "_source": False,
            },
        )
        return [hit["_id"] for hit in found["hits"]["hits"]]

    def _bulk(self, actions: list[dict[str, Any]]) -> None:
        if not actions:
            return
        options = {"refresh": "wait_for"} if self._refresh else {}
        answer = self._client.bulk(body=actions, **options)
        if answer.get("errors"):
            failed = [item for item in answer["items"] if next(iter(item.values())).get("status", 200) >= 300]
            failed = [item for item in failed if "delete" not in item or item["delete"].get("status") != 404]
            if failed:
                raise RuntimeError(f"OpenSearch refused {len(failed)} of {len(answer['items'])} actions: {failed[0]}")

    # searching

    def search(self, query: SearchQuery) -> SearchResults:
        try:
            answer = self._client.search(index=self._index, body=search_body(query))
        except NotFoundError:  # no case indexed yet
            return SearchResults(hits=[], facets={name: [] for name in FACETS}, total=0)
        aggregations = answer.get("aggregations", {})
        facets = {
            name: [
                FacetCount(value=str(bucket["key"]), count=int(bucket["doc_count"]))
                for bucket in aggregations.get(name, {}).get("buckets", [])
            ]
            for name in FACETS
        }
        hits = [_hit(raw, query.sort is Sort.RELEVANCE) for raw in answer["hits"]["hits"]]
        return SearchResults(hits=hits, facets=facets, total=int(answer["hits"]["total"]["value"]))
