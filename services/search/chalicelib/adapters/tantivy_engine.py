"""The embedded search engine (tantivy, on the local disk): `make dev` and the tests.

Text is analysed by one registered analyzer (simple tokenizer, lowercase, ASCII folding), the same for documents
and for queries, so "koln" finds "Köln". Facets, sorts, the case id and the reader terms are raw-tokenized fields
(fast where they are counted or sorted). Highlights are computed from the stored texts with that same analyzer:
tantivy's SnippetGenerator neither highlights prefix matches nor says which value of a many-valued field matched.

tantivy allows one IndexWriter per directory across processes (a lock file): each write opens one, commits, waits
for its merges and lets it go, retrying for a while when another process holds it (the CLI may reindex while
`make dev` runs). A searcher reloads before each search, so what was committed is found at once.
"""

import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import tantivy

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

# A new schema is a new directory: an index of an older one is left behind and rebuilt (`caseline search reindex`).
SCHEMA_VERSION = "v1"
ANALYZER = "caseline_words"
TEXT_FIELDS = tuple(where.value for where in Where)
TITLE_BOOST = 2.0
NO_DUE = 2**62  # a case without a deadline sorts after every deadline
WRITER_HEAP = 50_000_000
LOCK_PATIENCE_SECONDS = 30.0
FACET_SIZE = 50


def _analyzer() -> tantivy.TextAnalyzer:
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .build()
    )


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("case_id", stored=True, fast=True, tokenizer_name="raw")
    builder.add_text_field("readers", tokenizer_name="raw", index_option="basic")
    for name in FACETS:
        builder.add_text_field(name, stored=True, fast=True, tokenizer_name="raw", index_option="basic")
    builder.add_text_field("title_sort", fast=True, tokenizer_name="raw", index_option="basic")
    for name in ("created_at", "updated_at", "stage_due_at"):
        builder.add_integer_field(name, stored=True, fast=True)
    builder.add_integer_field("template_version", stored=True)
    builder.add_text_field("title_text", stored=True, tokenizer_name="raw", index_option="basic")
    for name in TEXT_FIELDS:
        builder.add_text_field(name, tokenizer_name=ANALYZER)
    builder.add_bytes_field("texts", stored=True)
    return builder.build()


def _micros(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


def _moment(micros: int) -> datetime:
    return datetime.fromtimestamp(micros / 1_000_000, UTC)


def _document(source: SearchDocument) -> tantivy.Document:
    document = tantivy.Document(
        case_id=source.case_id,
        readers=sorted(source.readers),
        template_key=source.template_key,
        stage=source.stage,
        status=source.status,
        owner=source.owner,
        title_sort=source.title_sort,
        title_text=source.title,
        created_at=_micros(source.created_at),
        updated_at=_micros(source.updated_at),
        stage_due_at=_micros(source.stage_due_at) if source.stage_due_at else NO_DUE,
        template_version=source.template_version,
    )
    for where in Where:
        for text in source.texts_of(where):
            document.add_text(where.value, text)
    stored = [[text.where.value, text.label, text.text] for text in source.texts]
    document.add_bytes("texts", json.dumps(stored, ensure_ascii=False).encode())
    return document


# Each sort: the fast field and its direction (None: by score).
_ORDER: dict[Sort, tuple[str, tantivy.Order] | None] = {
    Sort.RELEVANCE: None,
    Sort.UPDATED: ("updated_at", tantivy.Order.Desc),
    Sort.CREATED: ("created_at", tantivy.Order.Desc),
    Sort.DUE: ("stage_due_at", tantivy.Order.Asc),
    Sort.TITLE: ("title_sort", tantivy.Order.Asc),
}


class _Queued:
    """A change waiting for the commit that takes it, and that commit's outcome."""

    def __init__(self, change: Callable[[tantivy.IndexWriter], Any]) -> None:
        self.change = change
        self.done = threading.Event()
        self.error: BaseException | None = None


class TantivyEngine:
    def __init__(self, path: str | Path) -> None:
        directory = Path(path) / SCHEMA_VERSION
        directory.mkdir(parents=True, exist_ok=True)
        self._schema = _schema()
        self._analyzer = _analyzer()
        self._index = tantivy.Index(self._schema, path=str(directory), reuse=True)
        self._index.register_tokenizer(ANALYZER, self._analyzer)
        self._lock = threading.Lock()  # held by the thread committing
        self._queue_lock = threading.Lock()
        self._queue: list[_Queued] = []

    # writing

    def replace_case(self, case_id: str, documents: list[SearchDocument]) -> None:
        self.replace_cases({case_id: documents})

    def replace_cases(self, documents: Mapping[str, list[SearchDocument]]) -> None:
        def replace(writer: tantivy.IndexWriter) -> None:
            for case_id, sources in documents.items():
                writer.delete_documents_by_term("case_id", case_id)
                for source in sources:
                    writer.add_document(_document(source))

        if documents:
            self._write(replace)

    def delete_case(self, case_id: str) -> None:
        self._write(lambda writer: writer.delete_documents_by_term("case_id", case_id))

    def clear(self) -> None:
        self._write(lambda writer: writer.delete_all_documents())

    def _write(self, change: Callable[[tantivy.IndexWriter], Any]) -> None:
        """Applies `change` in a commit, returning once it is committed. A commit costs about the same for one change
        as for many, so changes queued by other threads meanwhile go in the same one (a group commit): whoever gets
        the writer commits everything queued, and each waiter learns the outcome of the commit that held its change."""
        queued = _Queued(change)
        with self._queue_lock:
            self._queue.append(queued)
        while not queued.done.is_set():
            if not self._lock.acquire(timeout=0.005):
                continue
            try:
                with self._queue_lock:
                    group, self._queue = self._queue, []
                if group:
                    self._commit(group)
            finally:
                self._lock.release()
        if queued.error is not None:
            raise queued.error

    def _commit(self, group: list["_Queued"]) -> None:
        error: BaseException | None = None
        writer = self._writer()
        try:
            for queued in group:
                queued.change(writer)
            writer.commit()
        except BaseException as failed:  # every change of the group is refused: each one's caller retries
            writer.rollback()
            error = failed
        finally:
            writer.wait_merging_threads()  # and the writer, with its lock, is gone
        for queued in group:
            queued.error = error
            queued.done.set()

    def _writer(self) -> tantivy.IndexWriter:
        """The directory's one writer, waiting (with a growing pause) while another process holds it."""
        deadline, pause = time.monotonic() + LOCK_PATIENCE_SECONDS, 0.02
        while True:
            try:
                return self._index.writer(WRITER_HEAP, 1)
            except ValueError as error:
                if "LockBusy" not in str(error) or time.monotonic() > deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, 0.5)

    # searching

    def search(self, query: SearchQuery) -> SearchResults:
        self._index.reload()
        searcher = self._index.searcher()
        words = self._analyzer.analyze(query.text) if query.text else []
        engine_query = self._query(query, words)
        page, total = self._page(searcher, engine_query, query)
        hits = [
            self._hit(searcher, address, score if query.sort is Sort.RELEVANCE else None, words)
            for score, address in page
        ]
        return SearchResults(hits=hits, facets=self._facets(searcher, engine_query), total=total)

    def _query(self, query: SearchQuery, words: list[str]) -> tantivy.Query:
        must = [tantivy.Query.term_set_query(self._schema, "readers", sorted(query.readers))]
        must += [tantivy.Query.term_query(self._schema, name, value) for name, value in query.filters.items()]
        for position, word in enumerate(words):
            last = position == len(words) - 1
            anywhere = [(tantivy.Occur.Should, self._word_query(name, word, prefix=last)) for name in TEXT_FIELDS]
            must.append(tantivy.Query.boolean_query(anywhere))
        return tantivy.Query.boolean_query([(tantivy.Occur.Must, each) for each in must])

    def _word_query(self, field: str, word: str, *, prefix: bool) -> tantivy.Query:
        """The word in one text field; as the last word, any word it begins (its first 50 terms, like
        OpenSearch's match_bool_prefix)."""
        found = (
            tantivy.Query.phrase_prefix_query(self._schema, field, [word])
            if prefix
            else tantivy.Query.term_query(self._schema, field, word)
        )
        return tantivy.Query.boost_query(found, TITLE_BOOST) if field == Where.TITLE else found

    def _page(
        self, searcher: tantivy.Searcher, engine_query: tantivy.Query, query: SearchQuery
    ) -> tuple[list[tuple[float, tantivy.DocAddress]], int]:
        """The page's documents, one per case, and the total. A caller reading a case through two access classes
        finds two documents of it, and the first (the best) stands for the case, so the window grows until it
        holds enough distinct cases. The total counts cases when the window saw every match, documents when not
        (the same number, unless the caller reads some case through two classes)."""
        order = _ORDER[query.sort]
        wanted = query.offset + query.limit
        window = wanted
        while True:
            if order is None:
                found = searcher.search(engine_query, window, count=True)
            else:
                found = searcher.search(engine_query, window, count=True, order_by_field=order[0], order=order[1])
            distinct = dict(self._distinct(searcher, found.hits))
            seen_all = len(found.hits) < window
            if len(distinct) >= wanted or seen_all:
                page = list(distinct.values())[query.offset : wanted]
                matches: int = found.count  # type: ignore[attr-defined]  # tantivy's stubs leave it out
                total = len(distinct) if seen_all else matches
                return [(float(score), address) for score, address in page], total
            window *= 2

    def _distinct(
        self, searcher: tantivy.Searcher, found: list[tuple[Any, tantivy.DocAddress]]
    ) -> Iterator[tuple[str, tuple[Any, tantivy.DocAddress]]]:
        seen: set[str] = set()
        for key, address in found:
            case_id: str = searcher.doc(address).to_dict()["case_id"][0]
            if case_id not in seen:
                seen.add(case_id)
                yield case_id, (key if isinstance(key, float) else 0.0, address)

    def _facets(self, searcher: tantivy.Searcher, engine_query: tantivy.Query) -> dict[str, list[FacetCount]]:
        """Matches per value of each facet, the most frequent first."""
        spec = {name: {"terms": {"field": name, "size": FACET_SIZE}} for name in FACETS}
        answer = searcher.aggregate(engine_query, spec)
        return {
            name: [
                FacetCount(value=str(bucket["key"]), count=int(bucket["doc_count"]))
                for bucket in answer[name]["buckets"]
            ]
            for name in FACETS
        }

    def _hit(
        self, searcher: tantivy.Searcher, address: tantivy.DocAddress, score: float | None, words: list[str]
    ) -> SearchHit:
        stored = {name: values[0] for name, values in searcher.doc(address).to_dict().items()}
        due = stored["stage_due_at"]
        return SearchHit(
            case_id=stored["case_id"],
            title=stored["title_text"],
            template_key=stored["template_key"],
            template_version=stored["template_version"],
            stage=stored["stage"],
            status=stored["status"],
            owner=stored["owner"],
            created_at=_moment(stored["created_at"]),
            updated_at=_moment(stored["updated_at"]),
            stage_due_at=None if due == NO_DUE else _moment(due),
            score=score,
            highlights=self._highlights(stored["texts"], words),
        )

    def _highlights(self, stored: bytes, words: list[str]) -> tuple[Highlight, ...]:
        if not words:
            return ()
        exact, prefix = set(words[:-1]), words[-1]
        found: list[Highlight] = []
        for where, label, said in json.loads(stored):
            spans = [
                (token.char_offset_from, token.char_offset_to)
                for token in self._analyzer.pre_tokenize(said).tokens
                if token.text in exact or token.text.startswith(prefix)
            ]
            marked = highlight(Text(Where(where), label, said), spans)
            if marked is not None:
                found.append(marked)
            if len(found) == HIGHLIGHTS_PER_HIT:
                break
        return tuple(found)
