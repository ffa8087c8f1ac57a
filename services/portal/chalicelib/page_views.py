"""What the portal's pages (their routes are declared in pages.py) do: server-rendered HTML for external
participants, with no account. Loaded at the first page in Lambda.

A link opens a landing page that changes nothing; its button starts a session (an HttpOnly, SameSite=Strict
cookie) and the case page works from that. Every form carries a CSRF token, every response a strict
Content-Security-Policy with no inline code and no third-party origin, and error pages say nothing about
what exists.
"""

from collections.abc import Callable, Mapping
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from caseline_common.envelope import utc_now
from caseline_common.errors import DomainError, InvalidInputError
from caseline_common.events import EventType
from caseline_common.http import cookies
from chalice.app import Request, Response

from .domain.links import Session, new_token
from .domain.page import local_time
from .domain.projection import PortalEntry
from .domain.refusals import Worded
from .languages import Writing, choose, language_name, languages, messages, say
from .pages import FORM, pages
from .runtime import documents, runtime, visit_service
from .visit_service import LinkUnavailableError, RateLimitedError, SessionEndedError

if TYPE_CHECKING:
    from jinja2 import Environment

HERE = Path(__file__).parent
SESSION_COOKIE, LANDING_COOKIE, LANGUAGE_COOKIE = "cl_session", "cl_landing", "cl_language"
LANGUAGE_SECONDS = 365 * 24 * 3600
ASSETS = {"portal.js": "text/javascript; charset=utf-8", "portal.css": "text/css; charset=utf-8"}


@cache
def _templates() -> "Environment":
    """The pages' Jinja environment, made at the first page: the portal's consumer never renders one."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    return Environment(
        loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]), auto_reload=False
    )


@cache
def _storage_origin() -> str:
    """Where the browser sends uploads: the documents bucket's endpoint, the one origin besides our own."""
    url, _ = documents().upload_target(
        "quarantine/origin", content_type="text/plain", max_size=1, metadata={}, expires_in=timedelta(minutes=1)
    )
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _headers(content_type: str) -> dict[str, str | list[str]]:
    return {
        "Content-Type": content_type,
        "Content-Security-Policy": (
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; "
            f"connect-src 'self' {_storage_origin()}; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        ),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",  # the link's token must never leave in a Referer
        "Cache-Control": "no-store",
        "X-Frame-Options": "DENY",
    }


def json_headers() -> dict[str, str]:
    """The pages' security headers on the JSON answers of the operations the case page's script calls."""
    return {name: value for name, value in _headers("application/json").items() if isinstance(value, str)}


def _secure() -> bool:
    return runtime.settings.portal_base_url.startswith("https://")


def _cookie(name: str, value: str, *, path: str, max_age: int) -> str:
    secure = "; Secure" if _secure() else ""
    return f"{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"


def _language(participant: str | None = None) -> str:
    """The language a page speaks: the one the visitor picked on a page (`?lang=`, then kept in a cookie), else the
    one staff chose for the participant (`participant`, once the page knows who it is for), else their browser's
    best match among our catalogs, else English."""
    return choose(_picked() or _cookies().get(LANGUAGE_COOKIE), _header("accept-language"), participant)


def _picked() -> str | None:
    query = _request().query_params
    return str(query.get("lang")) if query and query.get("lang") else None


def _language_cookies(language: str) -> list[str]:
    """Keeps a language picked with `?lang=` for the visitor's next pages (a preference, not a secret)."""
    if _picked() != language or _cookies().get(LANGUAGE_COOKIE) == language:
        return []
    return [_cookie(LANGUAGE_COOKIE, language, path="/", max_age=LANGUAGE_SECONDS)]


def _page(
    name: str,
    status: int = 200,
    *,
    cookies: list[str] | None = None,
    here: str | None = None,
    language: str | None = None,
    **context: Any,
) -> Response:
    """Renders a page in `language`, else the visitor's; `here`, the page's own address, offers the others on it."""
    context.setdefault("brand", "Caseline")
    context.setdefault("theme", None)
    context.setdefault("logo_url", None)
    language = language or _language()
    switch = [(other, language_name(other), f"{here}?lang={other}") for other in languages() if other != language]
    html = (
        _templates()
        .get_template(name)
        .render(t=messages(language), lang=language, write=Writing(language), switch=switch if here else [], **context)
    )
    headers: dict[str, Any] = {**_headers("text/html; charset=utf-8"), "Content-Language": language}
    cookies = [*(cookies or []), *_language_cookies(language)]
    if cookies:
        headers["Set-Cookie"] = cookies if len(cookies) > 1 else cookies[0]
    return Response(body=html, status_code=status, headers=headers)


def _notice(kind: str, status: int, *, cookies: list[str] | None = None) -> Response:
    return _page("notice.html", status, cookies=cookies, kind=kind)


def _redirect(location: str, *, cookies: list[str] | None = None) -> Response:
    headers: dict[str, Any] = {**_headers("text/plain; charset=utf-8"), "Location": location}
    if cookies:
        headers["Set-Cookie"] = cookies if len(cookies) > 1 else cookies[0]
    return Response(body="", status_code=303, headers=headers)


def _request() -> Request:
    request: Request = pages.current_request
    return request


def _cookies() -> dict[str, str]:
    return cookies(_header("cookie"))


def _client() -> str:
    context = _request().context or {}
    return str(context.get("identity", {}).get("sourceIp") or "unknown")


def _form() -> dict[str, list[str]]:
    request = _request()
    media_type = _header("content-type").split(";")[0].strip().lower()
    raw = request.raw_body or b""
    if media_type != FORM or len(raw) > runtime.settings.max_request_bytes:
        raise InvalidInputError("Send the form as it is.", [])
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    return parse_qs(text, keep_blank_values=True)


def _header(name: str) -> str:
    headers = _request().headers
    return str(headers.get(name) or "") if headers else ""


def _guarded(action: Callable[..., Response]) -> Callable[..., Response]:
    """Maps what can go wrong to a page that says only what the person needs to know."""

    def run(**path: str) -> Response:
        try:
            return action(**path)
        except LinkUnavailableError:
            return _notice("missing", 404)
        except SessionEndedError:
            return _notice("ended", 401, cookies=[_cookie(SESSION_COOKIE, "", path="/portal", max_age=0)])
        except RateLimitedError:
            response = _notice("limited", 429)
            response.headers["Retry-After"] = "60"
            return response
        except Exception:
            runtime.observability.logger.exception("portal page failed")
            return _notice("error", 500)

    run.__name__ = action.__name__
    return run


def _session(*, csrf: str | None = None) -> tuple[str, Session]:
    session_id = _cookies().get(SESSION_COOKIE)
    session = visit_service().session(session_id)
    if csrf is not None and csrf != session.csrf_token:
        raise SessionEndedError  # a cross-site or stale form: make the person start again from their link
    assert session_id is not None
    return session_id, session


def _describe(entry: PortalEntry, view: Any, t: Mapping[str, str]) -> str:
    if entry.type == EventType.COMMENT_ADDED:  # the message itself is in the thread
        return t["timeline.comment.added.yours" if entry.by_external else "timeline.comment.added"]
    if entry.type == EventType.CASE_STAGE_CHANGED:
        line = t["timeline.case.stage_changed"].format(to=view.stage_names.get(entry.data.get("to"), ""))
    elif entry.type == EventType.DOCUMENT_ADDED:
        name = view.document_names.get(entry.data.get("document_type"), "")
        line = t["timeline.document.added"].format(document=name)
    else:
        line = t.get(f"timeline.{entry.type}", t["timeline.other"])
    return t["timeline.by_you"].format(line=line) if entry.by_external else line


def _case_page(
    session: Session,
    status: int = 200,
    *,
    flash_key: str | None = None,
    refusal: DomainError | None = None,
    **extra: Any,
) -> Response:
    """The case page, in the participant's language unless the visitor picked another; `flash_key` a message to
    show at its top, or `refusal` what was refused (in the catalogs' words when it is the portal's own)."""
    view = visit_service().page(session)
    language = _language(view.participant_language)
    t = messages(language)
    flash = t[flash_key] if flash_key else None
    if refusal is not None:
        flash = say(refusal.said, language) if isinstance(refusal, Worded) else refusal.detail
    return _page(
        "case.html",
        status,
        language=language,
        flash=flash,
        view=view,
        csrf=session.csrf_token,
        brand=view.brand_name,
        logo_url=view.logo_url,
        theme=view.theme,
        here="/portal/case",
        describe=lambda entry: _describe(entry, view, t),
        local=lambda moment: local_time(moment, view.timezone),
        errors=extra.pop("errors", {}),
        submitted=extra.pop("submitted", {}),
        labels={field.key: field.label for field in view.fields},
        **extra,
    )


FLASHES = {"message": "messages.sent", "fields": "form.saved", "task": "tasks.sent"}


@_guarded
def landing(token: str) -> Response:
    link, participant = visit_service().landing(token, _client())
    brand = visit_service().brand(link.case_id)
    csrf = new_token()
    return _page(
        "landing.html",
        language=_language(participant.language),
        token=token,
        csrf=csrf,
        brand=brand.name,
        logo_url=brand.logo_url,
        theme=brand.theme,
        here=f"/p/{token}",
        cookies=[_cookie(LANDING_COOKIE, csrf, path="/p", max_age=3600)],
    )


@_guarded
def start_session(token: str) -> Response:
    landing_csrf = _cookies().get(LANDING_COOKIE)
    sent = (_form().get("csrf") or [""])[0]
    if not landing_csrf or sent != landing_csrf:
        raise LinkUnavailableError
    session_id, session = visit_service().start_session(token, _client())
    seconds = int((session.expires_at - utc_now()).total_seconds())
    return _redirect(
        "/portal/case",
        cookies=[
            _cookie(SESSION_COOKIE, session_id, path="/portal", max_age=seconds),
            _cookie(LANDING_COOKIE, "", path="/p", max_age=0),
        ],
    )


@_guarded
def case_page() -> Response:
    _, session = _session()
    query = _request().query_params
    return _case_page(session, flash_key=FLASHES.get(str(query.get("sent") or "")) if query else None)


@_guarded
def post_message() -> Response:
    form = _form()
    _, session = _session(csrf=(form.get("csrf") or [""])[0])
    try:
        visit_service().post_message(session, (form.get("body") or [""])[0])
    except DomainError as refusal:
        return _case_page(session, 422, refusal=refusal)
    return _redirect("/portal/case?sent=message")


@_guarded
def submit_fields() -> Response:
    form = _form()
    _, session = _session(csrf=(form.get("csrf") or [""])[0])
    try:
        visit_service().submit_fields(session, form)
    except InvalidInputError as invalid:
        errors = {issue.pointer.removeprefix("/fields/").split("/")[0]: issue.detail for issue in invalid.issues}
        submitted = {key: values[0] if len(values) == 1 else values for key, values in form.items() if key != "csrf"}
        return _case_page(session, 422, errors=errors, submitted=submitted)
    except DomainError as refusal:
        return _case_page(session, 403, refusal=refusal)
    return _redirect("/portal/case?sent=fields")


@_guarded
def complete_task() -> Response:
    form = _form()
    _, session = _session(csrf=(form.get("csrf") or [""])[0])
    try:
        visit_service().complete_task(session, (form.get("task") or [""])[0])
    except DomainError as refusal:
        return _case_page(session, 404, refusal=refusal)
    return _redirect("/portal/case?sent=task")


@_guarded
def download(document_type: str, version: str) -> Response:
    _, session = _session()
    if not version.isdigit() or len(version) > 6:
        return _notice("missing", 404)
    try:
        return _redirect(visit_service().download_url(session, document_type, int(version)))
    except DomainError:
        return _notice("missing", 404)


@_guarded
def sign_out() -> Response:
    form = _form()
    session_id, _ = _session(csrf=(form.get("csrf") or [""])[0])
    visit_service().end_session(session_id)
    return _notice("signedout", 200, cookies=[_cookie(SESSION_COOKIE, "", path="/portal", max_age=0)])


def asset(name: str) -> Response:
    if name not in ASSETS:
        return _notice("missing", 404)
    headers = {**_headers(ASSETS[name]), "Cache-Control": "public, max-age=300"}
    return Response(body=(HERE / "static" / name).read_text(), status_code=200, headers=headers)


@_guarded
def theme(template_key: str, version: str) -> Response:
    """A template's portal colour, with text that keeps a readable contrast on it."""
    number = version.removesuffix(".css")
    colour = visit_service().brand_colour(template_key, int(number)) if number.isdigit() and len(number) <= 6 else None
    css = f":root {{ --brand: {colour}; --on-brand: {_readable_on(colour)}; }}\n" if colour else ""
    return Response(body=css, status_code=200, headers={**_headers("text/css; charset=utf-8")})


def _readable_on(colour: str) -> str:
    """Black or white, whichever contrasts more with `colour` (WCAG relative luminance)."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return "#000000" if (luminance + 0.05) / 0.05 > 1.05 / (luminance + 0.05) else "#ffffff"
