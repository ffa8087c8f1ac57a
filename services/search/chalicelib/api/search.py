"""HTTP route of case search: `GET /search`, the console's search box and its sortable, faceted case list."""

from datetime import datetime
from typing import Literal

from caseline_common.http import Call, Reply
from pydantic import BaseModel, ConfigDict, Field

from ..domain.search import FACETS, Highlight, SearchHit, Sort, Where
from ..runtime import search_service
from ..service import SearchPage, SearchRequest
from . import http

FacetValue = Field(default=None, min_length=1, max_length=256)


class SearchCasesQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    q: str = Field(
        default="",
        max_length=200,
        description="Words, each found somewhere in the case; the last may be the start of a word.",
    )
    template_key: str | None = FacetValue
    stage: str | None = FacetValue
    status: str | None = FacetValue
    owner: str | None = FacetValue
    sort: Sort | None = Field(default=None, description="relevance by default with q; updated (newest first) without.")
    limit: int = Field(default=25, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=2048)

    def to_request(self) -> SearchRequest:
        filters = {name: value for name in FACETS if (value := getattr(self, name)) is not None}
        return SearchRequest(q=self.q, filters=filters, sort=self.sort, limit=self.limit, cursor=self.cursor)


class HighlightPartOut(BaseModel):
    model_config = ConfigDict(defer_build=True)

    text: str
    match: bool


class HighlightOut(BaseModel):
    model_config = ConfigDict(defer_build=True)

    where: Literal["title", "field", "participant", "comment", "document", "decision"]
    label: str = Field(description="The field's label, the participant's role, the document type...")
    parts: list[HighlightPartOut]

    @classmethod
    def of(cls, highlight: Highlight) -> "HighlightOut":
        parts = [HighlightPartOut(text=part.text, match=part.match) for part in highlight.parts]
        return cls(where=Where(highlight.where).value, label=highlight.label, parts=parts)


class SearchItem(BaseModel):
    model_config = ConfigDict(defer_build=True)

    case_id: str
    title: str
    template_key: str
    template_version: int
    stage: str
    status: str
    owner: str
    created_at: datetime
    updated_at: datetime
    stage_due_at: datetime | None
    score: float | None = Field(description="Relevance, when sorted by it.")
    highlights: list[HighlightOut]

    @classmethod
    def of(cls, hit: SearchHit) -> "SearchItem":
        return cls(
            case_id=hit.case_id,
            title=hit.title,
            template_key=hit.template_key,
            template_version=hit.template_version,
            stage=hit.stage,
            status=hit.status,
            owner=hit.owner,
            created_at=hit.created_at,
            updated_at=hit.updated_at,
            stage_due_at=hit.stage_due_at,
            score=hit.score,
            highlights=[HighlightOut.of(each) for each in hit.highlights],
        )


class FacetCountOut(BaseModel):
    model_config = ConfigDict(defer_build=True)

    value: str
    count: int


class SearchFacets(BaseModel):
    model_config = ConfigDict(defer_build=True)

    template_key: list[FacetCountOut]
    stage: list[FacetCountOut]
    status: list[FacetCountOut]
    owner: list[FacetCountOut]


class SearchResponse(BaseModel):
    model_config = ConfigDict(
        defer_build=True,
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "case_id": "01JF3Z8Q4V6W7X8Y9Z0A1B2C3D",
                            "title": "Water damage from a burst pipe, Köln-Ehrenfeld",
                            "template_key": "insurance-claim",
                            "template_version": 1,
                            "stage": "submitted",
                            "status": "open",
                            "owner": "3f6c2a9e-8b1d-4c57-9e2f-6a0d4b8c1e75",
                            "created_at": "2027-01-04T08:12:25.129859Z",
                            "updated_at": "2027-01-04T08:12:28.438200Z",
                            "stage_due_at": "2027-01-06T17:00:00Z",
                            "score": 4.9,
                            "highlights": [
                                {
                                    "where": "title",
                                    "label": "Title",
                                    "parts": [
                                        {"text": "Water damage from a ", "match": False},
                                        {"text": "burst", "match": True},
                                        {"text": " ", "match": False},
                                        {"text": "pipe", "match": True},
                                        {"text": ", Köln-Ehrenfeld", "match": False},
                                    ],
                                },
                                {
                                    "where": "field",
                                    "label": "What happened",
                                    "parts": [
                                        {"text": "A ", "match": False},
                                        {"text": "pipe", "match": True},
                                        {"text": " ", "match": False},
                                        {"text": "burst", "match": True},
                                        {
                                            "text": (
                                                " in the bathroom overnight; water came through the kitchen ceiling "
                                                "and soaked the floor and the cupboards."
                                            ),
                                            "match": False,
                                        },
                                    ],
                                },
                            ],
                        }
                    ],
                    "facets": {
                        "template_key": [{"value": "insurance-claim", "count": 1}],
                        "stage": [{"value": "submitted", "count": 1}],
                        "status": [{"value": "open", "count": 1}],
                        "owner": [{"value": "3f6c2a9e-8b1d-4c57-9e2f-6a0d4b8c1e75", "count": 1}],
                    },
                    "total": 1,
                    "next_cursor": None,
                }
            ]
        },
    )

    items: list[SearchItem]
    facets: SearchFacets
    total: int = Field(description="Cases matching, the caller may view.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last.")

    @classmethod
    def of(cls, page: SearchPage) -> "SearchResponse":
        facets = {
            name: [FacetCountOut(value=each.value, count=each.count) for each in page.results.facets.get(name, [])]
            for name in FACETS
        }
        return cls(
            items=[SearchItem.of(hit) for hit in page.results.hits],
            facets=SearchFacets.model_validate(facets),
            total=page.results.total,
            next_cursor=page.next_cursor,
        )


@http.operation(
    "GET",
    "/search",
    summary="Cases the caller may view that match words, filtered, sorted, with facets and highlights",
    query=SearchCasesQuery,
    response=SearchResponse,
    errors=(400, 403, 422, 503),
)
def search_cases(call: Call) -> Reply:
    """Full-text search over the cases the caller may view, from the search service's index (usually current within
    a second or two of a change). Every word of `q` must occur somewhere in the case: title, reference, field values,
    participants' names and e-mails, comments, document file names, decisions; whole words, ignoring letter case and
    accents, the last word also as the start of one. Exact filters `template_key`, `stage`, `status`, `owner`; `sort`
    by `relevance` (the default with `q`), `updated` (the default without), `created`, `due` or `title`. Each hit says
    where it matched (`highlights`); `facets` and `total` count the matching cases. Pages stop at 1,000 results.

    **Who:** `caseline-admins`, `caseline-staff` and `caseline-viewers`. A case the caller may not view is never found
    or counted, and a value their roles hide is neither matched nor shown. Changes nothing.

    **Errors:** 403 for external participants and callers without a Caseline group; 422 for invalid parameters; 400
    for a cursor of another query.
    """
    query = call.query_as(SearchCasesQuery)
    return Reply(SearchResponse.of(search_service().search(call.tenant(), query.to_request())))
