"""The operations the case page's script calls in an external participant's session: start an upload (a presigned
POST to the quarantine) and confirm it. Authenticated by the portal session's cookie and its CSRF token in a
header, never a bearer token; refusals are problem+json like every other operation's."""

from typing import Literal

from caseline_common.http import Call, Header, ProblemError, Reply, SessionAuth
from pydantic import BaseModel, ConfigDict

from ..domain.links import Session
from ..page_views import SESSION_COOKIE, json_headers
from ..runtime import visit_service
from ..strings import EN
from ..visit_service import PortalUploadRequest, PortalUploadTarget, RateLimitedError, SessionEndedError
from . import http


def _session(cookie: str | None, csrf: str | None) -> Session:
    session = visit_service().session(cookie)
    if csrf != session.csrf_token:
        raise SessionEndedError  # a cross-site or stale request: the person starts again from their link
    return session


PORTAL_SESSION = SessionAuth(
    scheme="portalSession",
    cookie=SESSION_COOKIE,
    csrf_header=Header("X-CSRF-Token", "The session's CSRF token, which the case page carries.", required=True),
    description=(
        "The session an external participant starts from their portal link (an HttpOnly, SameSite=Strict cookie); "
        "only the portal's own case page calls these operations."
    ),
    resolve=_session,
    problems={
        SessionEndedError: ProblemError(401, "session-ended", "Session ended", EN["ended.body"]),
        RateLimitedError: ProblemError(429, "rate-limited", "Too many requests", EN["limited.body"]),
    },
)


class UploadReceived(BaseModel):
    model_config = ConfigDict(defer_build=True)

    status: Literal["received"] = "received"


@http.operation(
    "POST",
    "/portal/uploads",
    summary="Portal: where to send a document, as a presigned POST to the case's quarantine",
    request=PortalUploadRequest,
    response=PortalUploadTarget,
    session=PORTAL_SESSION,
    errors=(404, 413, 415, 422, 503),
)
def start_portal_upload(call: Call) -> Reply:
    target = visit_service().start_upload(call.session_as(Session), call.body_as(PortalUploadRequest))
    return Reply(target, headers=json_headers())


@http.operation(
    "POST",
    "/portal/uploads/{upload_id}/confirm",
    summary="Portal: the document is in storage; the cases service checks it and adds it to the case",
    response=UploadReceived,
    session=PORTAL_SESSION,
    errors=(404, 422, 503),
)
def confirm_portal_upload(call: Call) -> Reply:
    visit_service().confirm_upload(call.session_as(Session), call.path["upload_id"])
    return Reply(UploadReceived(), headers=json_headers())
