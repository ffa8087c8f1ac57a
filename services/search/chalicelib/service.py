"""Use cases of case search: keeping the index from bus events (and rebuilding it), and searching it."""

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from caseline_common.access import principal_terms
from caseline_common.consumer import StatefulEvent
from caseline_common.contracts import CaseSnapshot, TemplateDefinition
from caseline_common.errors import ForbiddenError, InvalidCursorError
from caseline_common.events import CommentAdded, EventType, PersonalDataErased, TemplatePublished, data_of
from caseline_common.tenant import TenantContext

from .domain.search import (
    CaseNotProjectedError,
    SearchComment,
    SearchDocument,
    SearchQuery,
    SearchResults,
    Sort,
    render,
)
from .ports import SearchEngine, SearchSources

# How deep a search pages: past it, narrow the search (offset paging costs the engine more with every page).
MAX_DEPTH = 1000

# The events whose `data` the indexer reads (the consumer checks them against the catalogue).
READS = frozenset({EventType.TEMPLATE_PUBLISHED, EventType.COMMENT_ADDED, EventType.PERSONAL_DATA_ERASED})


class IndexingService:
    """Keeps what each case's documents are rendered from, and re-renders the case's documents on every event
    about it. Rendering reads the stored state (the newest snapshot, every comment, every erasure), never the
    event alone, so an event applied twice or late leaves the same documents."""

    def __init__(self, sources: SearchSources, engine: SearchEngine) -> None:
        self._sources, self._engine = sources, engine
        self._keep: dict[str, Callable[[StatefulEvent], None]] = {
            EventType.TEMPLATE_PUBLISHED: self._keep_template,
            EventType.COMMENT_ADDED: self._keep_comment,
            EventType.PERSONAL_DATA_ERASED: self._keep_erasure,
        }

    def index(self, event: StatefulEvent) -> None:
        keep = self._keep.get(event.type)
        if keep is not None:
            keep(event)
        if event.case_id is None:
            return
        if event.case is not None:
            self._sources.save_case(event.case)
        documents = self._documents(event.case_id)
        if documents is not None:
            self._engine.replace_case(event.case_id, documents)

    def rebuild(self, cases: Iterable[tuple[CaseSnapshot, list[SearchComment]]]) -> int:
        """Stores a page of cases with their comments (each only if newer) and replaces their documents in one
        engine write: the reindex command's step, the same code the bus events run. Returns how many."""
        rendered: dict[str, list[SearchDocument]] = {}
        for case, comments in cases:
            self._sources.save_case(case)
            for comment in comments:
                self._sources.save_comment(case.id, comment)
            documents = self._documents(case.id)
            if documents is not None:
                rendered[case.id] = documents
        self._engine.replace_cases(rendered)
        return len(rendered)

    def _documents(self, case_id: str) -> list[SearchDocument] | None:
        """None while no snapshot of the case has arrived (its comment came first): the next event renders it."""
        stored = self._sources.stored_case(case_id)
        if stored.case is None:
            return None
        template = self._sources.template(stored.case.template_key, stored.case.template_version)
        if template is None:
            raise CaseNotProjectedError(f"template {stored.case.template_key} v{stored.case.template_version}")
        return render(stored.case, template, stored.comments, stored.erased)

    def keep_template(self, key: str, version: int, definition: TemplateDefinition) -> None:
        self._sources.save_template(key, version, definition)

    def clear(self) -> None:
        """Empties the engine (a rebuild's first step); what the documents are rendered from stays."""
        self._engine.clear()

    def _keep_template(self, event: StatefulEvent) -> None:
        published = data_of(event, TemplatePublished)
        self.keep_template(published.template_key, published.version, published.definition)

    def _keep_comment(self, event: StatefulEvent) -> None:
        if event.case_id is None:
            return
        added = data_of(event, CommentAdded)
        comment = SearchComment(
            id=added.comment_id, body=added.body, external=added.external, author=event.actor.id, at=event.occurred_at
        )
        self._sources.save_comment(event.case_id, comment)

    def _keep_erasure(self, event: StatefulEvent) -> None:
        if event.case_id is not None:
            self._sources.mark_erased(event.case_id, data_of(event, PersonalDataErased).participant_id)


@dataclass(frozen=True)
class SearchRequest:
    """A search as a caller asks it: `q` as typed, facet filters, a sort (by default relevance with words and
    the most recently updated first without), a page size and the cursor of the page before."""

    q: str = ""
    filters: Mapping[str, str] = field(default_factory=dict)
    sort: Sort | None = None
    limit: int = 25
    cursor: str | None = None

    def fingerprint(self) -> str:
        said = json.dumps([self.q, sorted(self.filters.items()), self.sort], separators=(",", ":"))
        return hashlib.sha256(said.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class SearchPage:
    results: SearchResults
    next_cursor: str | None


def encode_offset(offset: int, fingerprint: str) -> str:
    raw = json.dumps({"offset": offset, "query": fingerprint}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_offset(cursor: str, fingerprint: str) -> int:
    """The offset a cursor of this very search carries; InvalidCursorError for any other."""
    try:
        plain = json.loads(base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode()))
    except (binascii.Error, ValueError, RecursionError) as error:
        raise InvalidCursorError("The cursor is malformed.") from error
    offset = plain.get("offset") if isinstance(plain, dict) else None
    if plain.get("query") != fingerprint or not isinstance(offset, int) or not 0 < offset < MAX_DEPTH:
        raise InvalidCursorError("The cursor does not belong to this search.")
    return offset


class SearchService:
    def __init__(self, engine: SearchEngine) -> None:
        self._engine = engine

    def search(self, context: TenantContext, request: SearchRequest) -> SearchPage:
        readers = principal_terms(context.principal)
        if not readers:
            raise ForbiddenError(
                "Search is for the tenant's staff and viewers (a Caseline group); external participants read their "
                "case in the portal."
            )
        q = request.q.strip()
        sort = request.sort or (Sort.RELEVANCE if q else Sort.UPDATED)
        if sort is Sort.RELEVANCE and not q:
            sort = Sort.UPDATED
        fingerprint = request.fingerprint()
        offset = decode_offset(request.cursor, fingerprint) if request.cursor else 0
        limit = min(request.limit, MAX_DEPTH - offset)
        query = SearchQuery(text=q, readers=readers, filters=request.filters, sort=sort, offset=offset, limit=limit)
        results = self._engine.search(query)
        reached = offset + len(results.hits)
        more = len(results.hits) == limit and reached < min(results.total, MAX_DEPTH)
        return SearchPage(results, encode_offset(reached, fingerprint) if more else None)
