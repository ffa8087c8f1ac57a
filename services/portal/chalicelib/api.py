"""HTTP routes of the portal service: for now its health and OpenAPI document."""

from chalice.app import Blueprint

from .runtime import runtime

api = Blueprint(__name__)
http = runtime.http_api(api)
