"""HTTP routes of the timeline service."""

from caseline_common.envelope import EventEnvelope
from caseline_common.http import Call, Reply
from caseline_common.pagination import Page
from chalice.app import Blueprint
from pydantic import BaseModel, ConfigDict, Field

from .domain.timeline import Order
from .runtime import runtime, timeline_service

api = Blueprint(__name__)
http = runtime.http_api(api)


class TimelineQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order: Order = Order.OLDEST_FIRST
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = Field(default=None, max_length=2048)


@http.operation(
    "GET",
    "/cases/{case_id}/timeline",
    summary="The case's history, in order",
    query=TimelineQuery,
    response=Page[EventEnvelope],
    errors=(404, 422),
)
def get_timeline(call: Call) -> Reply:
    query = call.query_as(TimelineQuery)
    page = timeline_service().timeline(
        call.tenant(), call.path["case_id"], order=query.order, limit=query.limit, cursor=query.cursor
    )
    return Reply(page)
