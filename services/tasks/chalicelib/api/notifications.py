"""HTTP routes of notifications: the caller's own list, their read marks and their preferences."""

from typing import Annotated

from caseline_common.http import Call, Reply
from caseline_common.pagination import PageQuery
from caseline_common.scopes import Scope
from pydantic import Field

from ..domain.notifications import NOTIFICATION_ID, Preferences
from ..notification_service import MarkedRead, NotificationList
from ..runtime import notification_service
from . import http

_ID = Annotated[str, Field(pattern=NOTIFICATION_ID, examples=["01JF3Z8Q4V6W7X8Y9Z0A1B2C3E-assigned"])]


@http.operation(
    "GET",
    "/notifications",
    summary="Your notifications, newest first, with how many are unread",
    query=PageQuery,
    response=NotificationList,
    errors=(400, 403, 422),
)
def list_notifications(call: Call) -> Reply:
    """The caller's notifications shown in the app, newest first: a case or task assigned to them, a mention of
    them in a comment (`@Name` or `@e-mail`), a client acting in the portal on their case, an SLA warning or breach
    on their case or task; never what they did themselves. `unread` counts all their unread ones (the console's
    bell). Kept for 90 days. A page is one query and may hold fewer than `limit` (those sent by e-mail only are left
    out) and still have a `next_cursor`.

    **Who:** people of the tenant (`caseline-admins`, `caseline-staff`, `caseline-viewers`), each only ever their
    own; machine clients and external callers get 403 (a client acts for no person, so nothing notifies it).

    **Errors:** 403 for a machine client or without a Caseline group; 422 for invalid parameters; 400 for a cursor
    of another person's list.
    """
    query = call.query_as(PageQuery)
    return Reply(notification_service().notifications(call.tenant(), limit=query.limit, cursor=query.cursor))


@http.operation(
    "POST",
    "/notifications/{notification_id}/read",
    summary="Mark one of your notifications read",
    response=MarkedRead,
    path_types={"notification_id": _ID},
    errors=(403, 404),
    scope=Scope.CASES_READ,
)
def mark_notification_read(call: Call) -> Reply:
    """Marks one of the caller's notifications read (again: no change) and answers how many stay unread.

    **Who:** as `GET /notifications`. It changes only the caller's own state, never a case, so `cases.read` is the
    scope it needs: a read-only viewer can clear their bell.

    **Errors:** 404 for an id the caller has no notification of (another person's included).
    """
    return Reply(notification_service().mark_read(call.tenant(), call.path["notification_id"]))


@http.operation(
    "POST",
    "/notifications/read",
    summary="Mark all your notifications read",
    response=MarkedRead,
    errors=(403,),
    scope=Scope.CASES_READ,
)
def mark_notifications_read(call: Call) -> Reply:
    """Marks every unread notification of the caller read; answers how many it marked.

    **Who:** as `POST /notifications/{notification_id}/read`.
    """
    return Reply(notification_service().mark_all_read(call.tenant()))


@http.operation(
    "GET",
    "/notifications/preferences",
    summary="How you hear of each kind of notification",
    response=Preferences,
    errors=(403,),
)
def notification_preferences(call: Call) -> Reply:
    """Per kind (`assigned`, `mentioned`, `client_activity`, `sla`) the caller's channel: `in_app`, `email`,
    `both` or `none`. Until they choose: `both` for assignments, mentions and SLAs, `in_app` for client activity.
    E-mail goes to the address the directory (`GET /people`) has for them.

    **Who:** as `GET /notifications`.
    """
    return Reply(notification_service().preferences(call.tenant()))


@http.operation(
    "PUT",
    "/notifications/preferences",
    summary="Choose how you hear of each kind of notification",
    request=Preferences,
    response=Preferences,
    errors=(403, 422),
    scope=Scope.CASES_READ,
)
def set_notification_preferences(call: Call) -> Reply:
    """Replaces the caller's channels (a kind left out takes its default) and answers them; they apply to the
    events that arrive from then on.

    **Who:** as `POST /notifications/{notification_id}/read`: the caller's own state, so `cases.read`.

    **Errors:** 422 for an unknown kind or channel.
    """
    return Reply(notification_service().set_preferences(call.tenant(), call.body_as(Preferences)))
