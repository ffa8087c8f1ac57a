"""The automations service's HTTP layer, shared by its route modules (runs and dry runs, webhooks)."""

from chalice.app import Blueprint

from .runtime import runtime

api = Blueprint(__name__)
http = runtime.http_api(api)
