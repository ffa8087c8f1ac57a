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
    """The caller's saved views (`mine`) and the views others shared with a group of theirs (`team`, read-only), each
    list by name. A view is a named case-list query (`GET /search`'s parameters), the columns it shows and the groups
    it is shared with. Not paged: a person keeps at most 100 views, and `team` reads the caller's first 20 groups in
    name order.

    **Who:** `caseline-admins`, `caseline-staff` and `caseline-viewers`; external participants and callers without a
    Caseline group get 403. Changes nothing.
    """
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
    """Saves a view for the caller: a `name` (1 to 80 characters), a case-list `query` (`q`, `template_key`, `stage`,
    `status`, `owner`, `sort`), the `columns` shown in order, and the groups it is `shared_with`, whose members see it
    read-only. Answers 201 with the view, `Location`, and its `ETag`, to send back as `If-Match` to change or delete
    it.

    **Who:** `caseline-admins`, `caseline-staff` and `caseline-viewers`. A person shares only with groups they are in;
    an admin with any. With an `Idempotency-Key`, a retry answers the same view.

    **Errors:** 422 for an invalid view, a group the caller is not in (at `/shared_with/<i>`), a caller who keeps 100
    views already, or a group that has 200 views shared with it; 403 without a Caseline group.
    """
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
    """One saved view, with its `ETag`: the caller's own, one shared with a group of theirs, or (for admins) any.
    `editable` says whether the caller may change or delete it.

    **Who:** `caseline-admins`, `caseline-staff` and `caseline-viewers`. Changes nothing.

    **Errors:** 404 when the view does not exist, or is neither the caller's nor shared with a group of theirs.
    """
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
    """Replaces a view as a whole (name, query, columns, sharing), given the `ETag` it was read with as `If-Match`;
    answers the view at its next version with its new `ETag`. Groups it is shared with already may stay whoever edits
    it; a group added follows the rule of saving (the editor's own groups, or any for an admin).

    **Who:** the view's owner, or a member of `caseline-admins`; others who see it (through a shared group) get 403.

    **Errors:** 404 when the view does not exist or the caller cannot see it; 403 when they see it but may not change
    it; 428 without `If-Match`, 400 for a malformed one, 412 when the view changed since it was read
    (`current_version` says where it is); 422 as for saving.
    """
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
    """Deletes a view, given the `ETag` it was read with as `If-Match`; the members of the groups it was shared with
    no longer see it.

    **Who:** the view's owner, or a member of `caseline-admins`; others who see it (through a shared group) get 403.

    **Errors:** 404 when the view does not exist or the caller cannot see it; 403 when they see it but may not delete
    it; 428 without `If-Match`, 400 for a malformed one, 412 when the view changed since it was read
    (`current_version` says where it is).
    """
    view_service().delete_view(call.tenant(), call.path["view_id"], _if_match(call))
    return Reply(None, status=204)
