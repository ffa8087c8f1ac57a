"""The portal's pages: server-rendered HTML for external participants, with no account (page_views.py says what
each does). Chalice needs every route at import; the views, the use cases and Jinja behind them are imported at the
first page in Lambda (coldstart.deferred), so the portal's API operations and its consumer never load them."""

from collections.abc import Callable
from types import ModuleType

from caseline_common.coldstart import deferred
from chalice.app import Blueprint, Response

pages = Blueprint(__name__)
FORM = "application/x-www-form-urlencoded"


@deferred
def _page_views() -> ModuleType:
    from . import page_views

    return page_views


def _view(name: str) -> Callable[..., Response]:
    view: Callable[..., Response] = getattr(_page_views(), name)
    return view


@pages.route("/p/{token}", methods=["GET"])
def landing(token: str) -> Response:
    return _view("landing")(token=token)


@pages.route("/p/{token}/session", methods=["POST"], content_types=[FORM])
def start_session(token: str) -> Response:
    return _view("start_session")(token=token)


@pages.route("/portal/case", methods=["GET"])
def case_page() -> Response:
    return _view("case_page")()


@pages.route("/portal/messages", methods=["POST"], content_types=[FORM])
def post_message() -> Response:
    return _view("post_message")()


@pages.route("/portal/fields", methods=["POST"], content_types=[FORM])
def submit_fields() -> Response:
    return _view("submit_fields")()


@pages.route("/portal/tasks", methods=["POST"], content_types=[FORM])
def complete_task() -> Response:
    return _view("complete_task")()


@pages.route("/portal/documents/{document_type}/{version}", methods=["GET"])
def download(document_type: str, version: str) -> Response:
    return _view("download")(document_type=document_type, version=version)


@pages.route("/portal/signout", methods=["POST"], content_types=[FORM])
def sign_out() -> Response:
    return _view("sign_out")()


@pages.route("/portal/assets/{name}", methods=["GET"])
def asset(name: str) -> Response:
    return _view("asset")(name=name)


@pages.route("/portal/theme/{template_key}/{version}", methods=["GET"])
def theme(template_key: str, version: str) -> Response:
    return _view("theme")(template_key=template_key, version=version)
