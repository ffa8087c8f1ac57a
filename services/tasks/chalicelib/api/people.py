"""HTTP route of the people directory: the people whose name or e-mail address holds the words asked for."""

from typing import Annotated

from caseline_common.http import Call, Reply
from caseline_common.pagination import Page
from caseline_common.text import SINGLE_LINE
from pydantic import BaseModel, ConfigDict, Field

from ..domain.people import Person
from ..runtime import people_service
from . import http


class PeopleQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    q: Annotated[str, Field(max_length=200), SINGLE_LINE] = Field(
        default="", description="Words each found in the name or e-mail address; none: everyone."
    )
    limit: int = Field(default=25, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=2048)


@http.operation(
    "GET",
    "/people",
    summary="People of the tenant by name or e-mail address, in name order",
    query=PeopleQuery,
    response=Page[Person],
    errors=(400, 403, 422),
)
def list_people(call: Call) -> Reply:
    """The directory of the tenant's staff (its Cognito user pool, refreshed every ten minutes): each person's
    subject (what cases, tasks and events record), name, e-mail address and Caseline role. `q` keeps the people
    whose name or e-mail address holds each of its words, ignoring case and accents (`q=novak` finds "Jana
    Nováková"); without it, everyone. Pickers (owner, assignee, participant) ask it as a person types; the console
    reads it once a session to show names for subjects.

    **Who:** `caseline-admins`, `caseline-staff` and `caseline-viewers`, and machine clients with `cases.read`;
    external callers get 403. Changes nothing.

    **Errors:** 403 without a Caseline group; 422 for invalid parameters; 400 for a cursor of another query.
    """
    query = call.query_as(PeopleQuery)
    return Reply(people_service().people(call.tenant(), query.q, limit=query.limit, cursor=query.cursor))
