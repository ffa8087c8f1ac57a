"""HTTP route of the change feed: the tenant's events in the order the timeline recorded them."""

from caseline_common.http import Call, Reply
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..domain.feed import EventFeed, expand_types
from ..runtime import timeline_service
from . import http


class EventsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    after: str | None = Field(
        default=None, max_length=2048, description="The `next_cursor` of the page before; absent: 30 days ago."
    )
    types: str | None = Field(
        default=None,
        max_length=1000,
        pattern=r"^[a-z_]+\.([a-z_]+|\*)(,[a-z_]+\.([a-z_]+|\*))*$",
        description="Event types, comma-separated: exact types such as `case.stage_changed`, or every type of a "
        "family such as `case.*`.",
    )
    case_id: str | None = Field(default=None, pattern=r"^[0-9A-HJKMNP-TV-Z]{26}$", description="One case's events.")
    limit: int = Field(default=100, ge=1, le=500, description="How many entries the page reads at most.")

    @field_validator("types")
    @classmethod
    def _known_types(cls, types: str | None) -> str | None:
        if types is not None:
            expand_types(types.split(","))  # unknown types fail here, as 422
        return types

    def event_types(self) -> tuple[str, ...]:
        return expand_types(self.types.split(",")) if self.types else ()


@http.operation(
    "GET",
    "/events",
    summary="The tenant's events in order, from a cursor (the change feed)",
    query=EventsQuery,
    response=EventFeed,
    errors=(400, 403, 422),
)
def list_events(call: Call) -> Reply:
    """The change feed: every event on the tenant's case timelines, oldest first, in the order the timeline recorded
    them, so an integrator can catch up after downtime or poll instead of receiving webhooks.

    Start without `after` (the feed goes back 30 days, as long as the event bus's archive), then pass each page's
    `next_cursor` as `after`. `next_cursor` is always given: when `has_more` is false the feed is read to its end
    for now; ask again from that cursor later (every few seconds at most) for what is recorded next. An entry is
    served once it is 2 seconds old, so that no entry recorded at the same moment by another instance is skipped.
    A page reads at most `limit` entries and shows those the caller may see, so it can hold fewer (even none)
    while `has_more` is true.

    **Who:** the tenant's staff and viewers (a Caseline group). Each caller gets the events of the cases
    they could view when the event was recorded (admins and viewers: every case; staff: the cases where a role
    of theirs, through their groups or as a participant, may view the case), with the field values their roles
    on the case may not view left out. Events carry no personal data here (`personal` is empty, the actor's
    display name absent): read the case or its timeline for it. Changes nothing.

    **Errors:** 400 for a cursor this feed did not give, or one older than 30 days (start again without `after`);
    403 for a caller without a Caseline group or an external participant; 422 for an unknown event type or a
    malformed case id."""
    query = call.query_as(EventsQuery)
    page = timeline_service().feed(
        call.tenant(), types=query.event_types(), case_id=query.case_id, limit=query.limit, cursor=query.after
    )
    return Reply(page)
