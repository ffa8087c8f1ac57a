"""Staff routes of the portal service: access links for external participants (bearer tokens verified)."""

from caseline_common.http import Call, Reply
from pydantic import BaseModel, ConfigDict

from ..domain.links import IssuedLink, LinkSummary
from ..link_service import IssueLinkRequest
from ..runtime import link_service
from . import http


class LinkList(BaseModel):
    model_config = ConfigDict(
        defer_build=True,
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "id": "01JF3Z8MC2M7Y4B6455C6K7B0R",
                            "participant_id": "01JF3Z8KHY8W21WDHGHTVPCQ8G",
                            "created_at": "2027-01-04T08:12:28.354250Z",
                            "created_by": "3f6c2a9e-8b1d-4c57-9e2f-6a0d4b8c1e75",
                            "expires_at": "2027-02-03T08:12:28.354250Z",
                            "revoked_at": "2027-01-05T10:03:41.118204Z",
                            "last_used_at": "2027-01-04T19:47:02.530611Z",
                        },
                        {
                            "id": "01JF3Z8MKEYD7XW9H4J9DVH4EE",
                            "participant_id": "01JF3Z8KHY8W21WDHGHTVPCQ8G",
                            "created_at": "2027-01-05T10:03:41.151876Z",
                            "created_by": "3f6c2a9e-8b1d-4c57-9e2f-6a0d4b8c1e75",
                            "expires_at": "2027-01-19T10:03:41.151876Z",
                            "revoked_at": None,
                            "last_used_at": "2027-01-05T18:22:15.904337Z",
                        },
                    ]
                }
            ]
        },
    )

    items: list[LinkSummary]


@http.operation(
    "POST",
    "/cases/{case_id}/portal-links",
    summary="Issue a portal link for an external participant; the URL is shown once",
    request=IssueLinkRequest,
    response=IssuedLink,
    status=201,
    idempotent_create=True,
    errors=(404, 413, 415, 422, 503),
)
def issue_portal_link(call: Call) -> Reply:
    """Issues an external participant a link to the case's portal: a URL with a random token, shown in this answer
    only (the portal keeps its hash). The URL opens a public landing page (`GET /p/{token}`, no account); from there
    the participant starts a session in which they see what their role may see of the case, post messages, answer
    fields and upload documents. The link works for `expires_in_days` (1 to 90, the tenant's default when absent)
    unless revoked.

    **Who:** `caseline-admins`, and `caseline-staff` whose roles on the case grant `participant.manage`. Emits
    `portal.link_issued` (recorded on the case's timeline). With an `Idempotency-Key`, a retry answers the same link
    and URL.

    **Errors:** 404 when the case does not exist or the caller may not view it; 403 without `participant.manage`;
    422 when `participant_id` is not an external participant of the case; 503 (`Retry-After`) for a case or
    participant added moments ago that has not reached the portal yet.
    """
    link = link_service().issue_link(
        call.tenant(), call.path["case_id"], call.body_as(IssueLinkRequest), call.idempotency_key
    )
    return Reply(link.resource, status=201, replayed=link.replayed)


@http.operation(
    "GET",
    "/cases/{case_id}/portal-links",
    summary="The case's portal links, with when each was last used (never their tokens)",
    response=LinkList,
    errors=(404, 503),
)
def list_portal_links(call: Call) -> Reply:
    """Every portal link issued on the case, oldest first: for whom, by whom and when, when it expires, when it was
    revoked, and when a session was last started with it. Never their tokens or URLs: those are shown once, when a
    link is issued.

    **Who:** `caseline-admins`, and `caseline-staff` whose roles on the case grant `participant.manage`. Changes
    nothing.

    **Errors:** 404 when the case does not exist or the caller may not view it; 403 without `participant.manage`;
    503 (`Retry-After`) for a case opened moments ago.
    """
    return Reply(LinkList(items=link_service().list_links(call.tenant(), call.path["case_id"])))


@http.operation(
    "POST",
    "/cases/{case_id}/portal-links/{link_id}/revoke",
    summary="Revoke a link: it stops working at once, and so do sessions opened with it",
    response=LinkSummary,
    idempotent_create=True,
    errors=(404, 503),
)
def revoke_portal_link(call: Call) -> Reply:
    """Revokes a portal link: it stops working at once, and so do the sessions started with it (each request of a
    session checks its link). Revoking a revoked link changes nothing and answers it as it is.

    **Who:** `caseline-admins`, and `caseline-staff` whose roles on the case grant `participant.manage`. Emits
    `portal.link_revoked` (recorded on the case's timeline). With an `Idempotency-Key`, a retry answers the link as
    revoked the first time.

    **Errors:** 404 when the case or the link does not exist, or the caller may not view the case; 403 without
    `participant.manage`; 503 (`Retry-After`) for a case opened moments ago.
    """
    link = link_service().revoke_link(call.tenant(), call.path["case_id"], call.path["link_id"], call.idempotency_key)
    return Reply(link.resource, replayed=link.replayed)


@http.operation(
    "POST",
    "/cases/{case_id}/portal-links/{link_id}/rotate",
    summary="Replace a link with a new one for the same participant",
    response=IssuedLink,
    status=201,
    idempotent_create=True,
    errors=(404, 422, 503),
)
def rotate_portal_link(call: Call) -> Reply:
    """Replaces a link, when a URL went astray say: revokes it (and the sessions started with it) and issues a new
    one for the same participant, for the tenant's default number of days. The new URL is shown in this answer only.

    **Who:** `caseline-admins`, and `caseline-staff` whose roles on the case grant `participant.manage`. Emits
    `portal.link_revoked` (unless it was revoked already) and `portal.link_issued`. With an `Idempotency-Key`, a
    retry answers the same new link and URL.

    **Errors:** 404 when the case or the link does not exist, or the caller may not view the case; 403 without
    `participant.manage`; 422 when its participant is no longer an external participant of the case; 503
    (`Retry-After`) for a case opened moments ago.
    """
    link = link_service().rotate_link(call.tenant(), call.path["case_id"], call.path["link_id"], call.idempotency_key)
    return Reply(link.resource, status=201, replayed=link.replayed)
