"""Staff routes of the portal service: access links for external participants (bearer tokens verified)."""

from caseline_common.http import Call, Reply
from pydantic import BaseModel, ConfigDict

from ..domain.links import IssuedLink, LinkSummary
from ..link_service import IssueLinkRequest
from ..runtime import link_service
from . import http


class LinkList(BaseModel):
    model_config = ConfigDict(defer_build=True)

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
    link = link_service().rotate_link(call.tenant(), call.path["case_id"], call.path["link_id"], call.idempotency_key)
    return Reply(link.resource, status=201, replayed=link.replayed)
