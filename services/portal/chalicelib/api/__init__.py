"""The portal service's HTTP operations: one blueprint and its HttpApi, on which the route modules declare them
(links.py: staff issue and manage access links; uploads.py: the uploads the case page's script makes in an
external participant's session). The HTML pages are in pages.py."""

from chalice.app import Blueprint

from ..runtime import runtime

api = Blueprint(__name__)
http = runtime.http_api(api)

from . import links, uploads  # noqa: E402, F401 - their operations register on `http`, which they import from here
