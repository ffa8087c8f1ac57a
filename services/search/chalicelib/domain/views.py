"""Saved views: a person's named case-list query (filters and sort) and the columns they show.

A view belongs to the person who saved it. They may share it with groups they belong to (the tenant's Cognito
groups, such as "claims-team"; "caseline-staff" is every member of staff); a member of such a group sees it under
"Team views", read-only. Only its owner, or an admin, changes or deletes it. The limits keep every answer one
bounded read: GET /views is one Query for the caller's own views plus one per group they are in.
"""

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from caseline_common.contracts import CaseStatus
from caseline_common.text import SINGLE_LINE
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic.config import JsonDict

MAX_VIEWS_PER_OWNER = 100
MAX_AUDIENCES_PER_VIEW = 10
# A group's members read every view shared with it in one Query page (1 MB); 200 views of at most ~4 KB fit.
MAX_VIEWS_PER_AUDIENCE = 200
# A caller's groups read for "Team views", in name order; a person in more groups sees the first ones only.
MAX_CALLER_AUDIENCES = 20
NAME_LENGTH = 80

# Cognito group names, less "#", which the table's keys use as a separator.
GROUP_PATTERN = r"^[A-Za-z0-9_.:@+=,-]{1,128}$"
Group = Annotated[str, Field(pattern=GROUP_PATTERN, description="A tenant group name, such as claims-team.")]


class ViewSort(StrEnum):
    """GET /search's orders."""

    RELEVANCE = "relevance"  # only with search words
    UPDATED = "updated"
    CREATED = "created"
    DUE = "due"  # the next SLA deadline
    TITLE = "title"


class Column(StrEnum):
    TITLE = "title"
    TEMPLATE = "template"
    STAGE = "stage"
    STATUS = "status"
    OWNER = "owner"
    UPDATED = "updated"
    CREATED = "created"
    DUE = "due"


DEFAULT_COLUMNS = (Column.TITLE, Column.TEMPLATE, Column.STAGE, Column.STATUS, Column.OWNER, Column.DUE, Column.UPDATED)


def _trimmed(value: str) -> str:
    return value.strip()


def _has_words(value: str | None) -> str | None:
    if value is not None and not value.split():
        raise ValueError("must contain a word to search for")
    return value


class ViewQuery(BaseModel):
    """The case list's query as the view keeps it: GET /search's parameters (or GET /cases' without words)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    q: Annotated[str, Field(min_length=1, max_length=200), SINGLE_LINE, AfterValidator(_has_words)] | None = None
    template_key: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9-]{1,62}$")
    stage: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]{0,62}$")
    status: CaseStatus | None = None
    owner: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._:@-]{1,256}$")
    sort: ViewSort = Field(
        default=ViewSort.UPDATED,
        description="Each in its own direction: relevance best first, updated and created newest first, "
        "due soonest first, title A to Z.",
    )

    @model_validator(mode="after")
    def _relevance_needs_words(self) -> "ViewQuery":
        if self.sort is ViewSort.RELEVANCE and self.q is None:
            raise ValueError("sort by relevance needs search words (q)")
        return self


def _unique(values: list[str]) -> list[str]:
    if len(set(values)) != len(values):
        raise ValueError("must not name the same value twice")
    return values


class ViewRequest(BaseModel):
    """What POST /views and PUT /views/{view_id} send: the whole view but its id, owner and history."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        defer_build=True,
        json_schema_extra={
            "examples": [
                {
                    "name": "Water claims due this week",
                    "query": {"q": "water", "template_key": "insurance-claim", "status": "open", "sort": "due"},
                    "columns": ["title", "stage", "owner", "due"],
                    "shared_with": ["claims-handlers"],
                }
            ]
        },
    )

    name: Annotated[str, AfterValidator(_trimmed), Field(min_length=1, max_length=NAME_LENGTH), SINGLE_LINE]
    query: ViewQuery = Field(default_factory=ViewQuery)
    columns: Annotated[list[Column], Field(min_length=1, max_length=len(Column)), AfterValidator(_unique)] = Field(
        default_factory=lambda: list(DEFAULT_COLUMNS), description="The columns shown, in order."
    )
    shared_with: Annotated[list[Group], Field(max_length=MAX_AUDIENCES_PER_VIEW), AfterValidator(_unique)] = Field(
        default_factory=list,
        description="Groups whose members see the view read-only; yours only (admins: any group).",
    )


# A claims handler's view, and one a colleague shared with the claims handlers.
_VIEW_EXAMPLE: JsonDict = {
    "id": "01JF3Z8RPDP0EFGE2EAT63Y7HS",
    "name": "Water claims due this week",
    "owner": "3f6c2a9e-8b1d-4c57-9e2f-6a0d4b8c1e75",
    "query": {
        "q": "water",
        "template_key": "insurance-claim",
        "stage": None,
        "status": "open",
        "owner": None,
        "sort": "due",
    },
    "columns": ["title", "stage", "owner", "due"],
    "shared_with": ["claims-handlers"],
    "created_at": "2027-01-04T08:12:32.781639Z",
    "updated_at": "2027-01-04T08:12:32.781639Z",
    "version": 1,
    "editable": True,
}
_SHARED_VIEW_EXAMPLE: JsonDict = {
    "id": "01JF3Z2W8D5K7M9P1R3T5V7X9Z",
    "name": "Claims without an adjuster report",
    "owner": "9a4b6c8d-0e2f-4a1b-8c3d-5e7f9a1b3c5d",
    "query": {
        "q": None,
        "template_key": "insurance-claim",
        "stage": "assessment",
        "status": "open",
        "owner": None,
        "sort": "created",
    },
    "columns": ["title", "owner", "created", "due"],
    "shared_with": ["claims-handlers"],
    "created_at": "2026-12-14T15:31:09.402117Z",
    "updated_at": "2026-12-18T08:05:44.910263Z",
    "version": 3,
    "editable": False,
}


class SavedView(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, defer_build=True, json_schema_extra={"examples": [_VIEW_EXAMPLE]}
    )

    id: str
    name: str
    owner: str = Field(description="The subject of the person who saved it.")
    query: ViewQuery
    columns: list[Column]
    shared_with: list[str]
    created_at: datetime
    updated_at: datetime
    version: int = Field(ge=1, description="Send it back as If-Match to change or delete the view.")
    editable: bool = Field(default=False, description="Whether the caller may change or delete it.")

    def stored(self) -> "SavedView":
        """The view as kept: `editable` is the caller's, worked out per request."""
        return self.model_copy(update={"editable": False})


class ViewList(BaseModel):
    model_config = ConfigDict(
        frozen=True,
        defer_build=True,
        json_schema_extra={"examples": [{"mine": [_VIEW_EXAMPLE], "team": [_SHARED_VIEW_EXAMPLE]}]},
    )

    mine: list[SavedView] = Field(description="The caller's own views, by name.")
    team: list[SavedView] = Field(description="Views others shared with a group of the caller's, by name.")


def by_name(views: list[SavedView]) -> list[SavedView]:
    return sorted(views, key=lambda view: (view.name.casefold(), view.id))


class OwnerFullError(Exception):
    """The owner has MAX_VIEWS_PER_OWNER views already; nothing was written."""


class AudienceFullError(Exception):
    """A group has MAX_VIEWS_PER_AUDIENCE views shared with it already; nothing was written."""

    def __init__(self, group: str) -> None:
        super().__init__(group)
        self.group = group


class StaleViewError(Exception):
    """The view changed, or went, after it was read; nothing was written."""
