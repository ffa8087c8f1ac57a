"""The operations the case page's script calls in an external participant's session: start an upload (a presigned
POST to the quarantine) and confirm it. Authenticated by the portal session's cookie and its CSRF token in a
header, never a bearer token; refusals are problem+json like every other operation's, worded in the language the
case page speaks."""

from collections.abc import Mapping
from typing import Literal

from caseline_common.http import Call, Header, ProblemError, Reply, SessionAuth, cookies
from pydantic import BaseModel, ConfigDict

from ..domain.links import Session
from ..domain.refusals import Worded
from ..languages import SOURCE, choose, languages, messages, say
from ..page_views import LANGUAGE_COOKIE, SESSION_COOKIE, json_headers
from ..runtime import visit_service
from ..strings import EN
from ..visit_service import (
    RATE_WINDOW_SECONDS,
    PortalUploadRequest,
    PortalUploadTarget,
    RateLimitedError,
    SessionEndedError,
)
from . import http


def _session(cookie: str | None, csrf: str | None) -> Session:
    session = visit_service().session(cookie)
    if csrf != session.csrf_token:
        raise SessionEndedError  # a cross-site or stale request: the person starts again from their link
    return session


# What a refusal that is not the portal's own says in another language than English: its English detail may name
# what only a programmer reads.
_DETAILS = {
    "session-ended": "ended.body",
    "rate-limited": "limited.body",
    "validation-error": "problem.detail.validation-error",
    "unavailable": "problem.detail.unavailable",
}


def worded(problem: ProblemError, error: Exception, language: str) -> ProblemError:
    """The problem's title and detail (and the issues of the portal's own refusals) in `language`; its type, status
    and everything else as they are."""
    t = messages(language)
    title = t.get(f"problem.{problem.slug}") or (problem.title if language == SOURCE else t["problem.other"])
    issues = problem.issues
    if isinstance(error, Worded):
        detail = say(error.said, language)
        issues = [
            issue.model_copy(update={"detail": say(said, language)})
            for issue, said in zip(problem.issues or [], error.said_issues, strict=True)
        ]
    elif problem.slug in ("session-ended", "rate-limited") or language != SOURCE:
        detail = t[_DETAILS.get(problem.slug, "error.body")]
    else:
        detail = problem.detail
    return ProblemError(problem.status, problem.slug, title, detail, issues, problem.extensions, problem.headers)


def _in_visitor_language(
    problem: ProblemError, error: Exception, headers: Mapping[str, str], session: Session | None
) -> ProblemError:
    """A refusal in the language the case page speaks (page_views._language): the visitor's pick, else the language
    staff chose for the participant, else the browser's, else English. The participant is read only when needed."""
    asked = cookies(headers.get("cookie", "")).get(LANGUAGE_COOKIE)
    chosen = None
    if asked not in languages() and session is not None:
        chosen = visit_service().participant_language(session)
    return worded(problem, error, choose(asked, headers.get("accept-language", ""), chosen))


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
        RateLimitedError: ProblemError(
            429,
            "rate-limited",
            "Too many requests",
            EN["limited.body"],
            headers={"Retry-After": str(RATE_WINDOW_SECONDS)},
        ),
    },
    localize=_in_visitor_language,
)


class UploadReceived(BaseModel):
    model_config = ConfigDict(defer_build=True, json_schema_extra={"examples": [{"status": "received"}]})

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
    """Runs in an external participant's portal session, for the portal's own case page (not for integrators): where
    to upload a document of a type asked of external participants that the participant's role may upload. The
    answer is a presigned POST form into the case's quarantine, valid 15 minutes and bound to the content type and
    the type's size limit: post each of `fields`, then the file as `file`, to `url`; then confirm the upload.
    Nothing is added to the case yet.

    **Who:** an external participant in a session started from their portal link (the public page `GET /p/{token}`):
    the session's cookie and its `X-CSRF-Token` header, never a bearer token.

    **Errors:** 401 when the session has ended (signed out, expired, or its link revoked); 429 when requests come
    too fast; 403 when the case is closed; 422 when the participant may not upload this type, its content type or
    size is not allowed, or the file is empty. Each refusal's `title` and `detail` are in the language the case page
    speaks (the `cl_language` cookie, else the participant's language, else `Accept-Language`, else English).
    """
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
    """Runs in an external participant's portal session, for the portal's own case page (not for integrators): the
    file is in storage. The portal passes the upload to the cases service (a `portal.document_uploaded` command),
    which checks its content type, size and contents and adds it to the case as the next version of its type,
    recording `document.added`; a file it refuses is never added. The answer only says the upload was passed on.

    **Who:** an external participant in a session (the session's cookie and its `X-CSRF-Token` header), never a
    bearer token.

    **Errors:** 401 when the session has ended (signed out, expired, or its link revoked); 429 when requests come
    too fast; 404 for an id that names no upload.
    """
    visit_service().confirm_upload(call.session_as(Session), call.path["upload_id"])
    return Reply(UploadReceived(), headers=json_headers())
