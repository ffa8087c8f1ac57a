"""The cases service's HTTP layer: one blueprint and its HttpApi, on which the route modules declare their
operations (templates.py: drafts, publishing, versions, diff, migrations; cases.py: cases, their commands,
comments and documents), and the replies both kinds of route give. Errors are mapped in HttpApi."""

from typing import Annotated, Any

from caseline_common.http import ProblemError, Reply
from caseline_common.idempotency import Answer
from chalice.app import Blueprint
from pydantic import Field

from ..runtime import runtime

api = Blueprint(__name__)
http = runtime.http_api(api)

_VERSION_DIGITS = 9
# A version in a path, as page_version reads it.
VERSION_PATH = {"version": Annotated[int, Field(ge=1, lt=10**_VERSION_DIGITS)]}


def created_reply(created: Answer[Any], location: str) -> Reply:
    return Reply(created.resource, status=201, headers={"Location": location}, replayed=created.replayed)


def page_version(raw: str) -> int:
    if not raw.isdigit() or len(raw) > _VERSION_DIGITS:
        raise ProblemError(404, "not-found", "Not found", f"No version {raw[:16]!r}.")
    return int(raw)


from . import cases, templates  # noqa: E402, F401 - their operations register on `http`, which they import from here
