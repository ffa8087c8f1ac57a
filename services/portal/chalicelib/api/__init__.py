"""The portal service's HTTP operations: one blueprint and its HttpApi, on which the route modules declare them
(links.py: staff issue and manage access links; uploads.py: the uploads the case page's script makes in an
external participant's session). The HTML pages are in pages.py. The tables below name each module's routes, so
Chalice has them all at import while, in Lambda, a module is loaded at the first call of one of its routes."""

from caseline_common.http import Tag
from chalice.app import Blueprint

from ..runtime import runtime

api = Blueprint(__name__)
http = runtime.http_api(api)

http.operations_in(
    f"{__name__}.links",
    {
        "issue_portal_link": ("POST", "/cases/{case_id}/portal-links"),
        "list_portal_links": ("GET", "/cases/{case_id}/portal-links"),
        "revoke_portal_link": ("POST", "/cases/{case_id}/portal-links/{link_id}/revoke"),
        "rotate_portal_link": ("POST", "/cases/{case_id}/portal-links/{link_id}/rotate"),
    },
    tag=Tag(
        "portal links",
        (
            "Links that let a case's external participants (a claimant, a client) follow their case in the portal "
            "without an account: issue, list, rotate and revoke them."
        ),
    ),
)
http.operations_in(
    f"{__name__}.uploads",
    {
        "start_portal_upload": ("POST", "/portal/uploads"),
        "confirm_portal_upload": ("POST", "/portal/uploads/{upload_id}/confirm"),
    },
    tag=Tag(
        "portal uploads",
        (
            "What the portal's case page calls in an external participant's session (its cookie and CSRF header, "
            "never a bearer token): start uploading a document and confirm it. Not meant for integrators."
        ),
    ),
)
