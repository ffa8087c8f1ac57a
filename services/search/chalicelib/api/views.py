"""HTTP routes of saved views: a person's own, and those shared with their groups."""

import re

from caseline_common.http import LOCATION, Call, Header, ProblemError, Reply

from ..domain.views import SavedView, ViewList, ViewRequest
from ..runtime import view_service
from . import http

_ETAG = re.compile(r'^(?:W/)?"?(\d{1,12})"?$')
_ETAG_HEADER = Header(
    "ETag",
    'The view\'s version, such as "3": send it back as If-Match to change or delete it.',
    {"type": "string", "pattern": r'^"\d+"$'},
    required=True,
)
_IF_MATCH = Header(
    "If-Match",
    'The ETag of the view as you read it, such as "3"; if it has changed since, the answer is 412; without it, 428.',
    {"type": "string", "pattern": _ETAG.pattern},
    required=True,
)


def _if_match(call: Call) -> int:
    raw = call.headers.get("if-match")
    if raw is None:
        raise ProblemError(
            428, "precondition-required", "Precondition required", "Send If-Match with the ETag of the view you read."
        )
    match = _ETAG.fullmatch(raw.strip())
    if match is None:
        raise ProblemError(400, "invalid-if-match", "Invalid If-Match", 'If-Match must be a view ETag, such as "3".')
    return int(match.group(1))


def _view_reply(view: SavedView, *, status: int = 200, replayed: bool = False) -> Reply:
    headers = {"ETag": f'"{view.version}"'}
    if status == 201:
        headers["Location"] = f"/views/{view.id}"
    return Reply(view, status=status, headers=headers, replayed=replayed)


@http.operation(
    "GET",
    "/views",
    summary="The caller's saved views, and those shared with a group of theirs (each list by name)",
    response=ViewList,
)
def list_views(call: Call) -> Reply:
    return Reply(view_service().list_views(call.tenant()))


@http.operation(
    "POST",
    "/views",
    summary="Save a view: a case-list query, its columns, and the groups it is shared with",
    request=ViewRequest,
    response=SavedView,
    status=201,
    idempotent_create=True,
    errors=(409, 413, 415, 422),
    response_headers=(LOCATION, _ETAG_HEADER),
)
def create_view(call: Call) -> Reply:
    created = view_service().create_view(call.tenant(), call.body_as(ViewRequest), call.idempotency_key)
    return _view_reply(created.resource, status=201, replayed=created.replayed)


@http.operation(
    "GET",
    "/views/{view_id}",
    summary="One saved view the caller owns or that is shared with them",
    response=SavedView,
    errors=(404,),
    response_headers=(_ETAG_HEADER,),
)
def get_view(call: Call) -> Reply:
    return _view_reply(view_service().get_view(call.tenant(), call.path["view_id"]))


@http.operation(
    "PUT",
    "/views/{view_id}",
    summary="Replace a view (its owner or an admin); send If-Match",
    request=ViewRequest,
    response=SavedView,
    errors=(404, 409, 412, 413, 415, 422, 428),
    headers=(_IF_MATCH,),
    response_headers=(_ETAG_HEADER,),
)
def replace_view(call: Call) -> Reply:
    view = view_service().replace_view(call.tenant(), call.path["view_id"], call.body_as(ViewRequest), _if_match(call))
    return _view_reply(view)


@http.operation(
    "DELETE",
    "/views/{view_id}",
    summary="Delete a view (its owner or an admin); send If-Match",
    status=204,
    errors=(404, 409, 412, 428),
    headers=(_IF_MATCH,),
)
def delete_view(call: Call) -> Reply:
    view_service().delete_view(call.tenant(), call.path["view_id"], _if_match(call))
    return Reply(None, status=204)
