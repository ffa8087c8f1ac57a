"""The ports of the search service: the search engine and the stored sources its documents are rendered from."""

from collections.abc import Mapping
from typing import Protocol

from caseline_common.contracts import CaseSnapshot, TemplateDefinition

from .domain.search import SearchComment, SearchDocument, SearchQuery, SearchResults, StoredCase


class SearchEngine(Protocol):
    def replace_case(self, case_id: str, documents: list[SearchDocument]) -> None:
        """Deletes every document of the case and adds these, visible to searches together."""
        ...

    def replace_cases(self, documents: Mapping[str, list[SearchDocument]]) -> None:
        """`replace_case` for each case of a batch (a page of a rebuild), in one write."""
        ...

    def delete_case(self, case_id: str) -> None: ...

    def search(self, query: SearchQuery) -> SearchResults:
        """The page of cases at `query.offset` (one hit per case), the facets and the total over every case the
        query's readers match."""
        ...

    def clear(self) -> None: ...


class SearchSources(Protocol):
    def save_template(self, key: str, version: int, definition: TemplateDefinition) -> None: ...

    def template(self, key: str, version: int) -> TemplateDefinition | None: ...

    def save_case(self, case: CaseSnapshot) -> None:
        """Keeps the snapshot unless a newer version is stored already."""
        ...

    def save_comment(self, case_id: str, comment: SearchComment) -> None: ...

    def mark_erased(self, case_id: str, participant_id: str) -> None: ...

    def stored_case(self, case_id: str) -> StoredCase:
        """Everything stored about the case, in one read."""
        ...
