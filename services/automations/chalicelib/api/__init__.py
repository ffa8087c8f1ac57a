"""The automations service's HTTP layer: one blueprint and its HttpApi, on which the route modules declare their
operations (runs.py: runs and the dry run; webhooks.py: webhook subscriptions and deliveries)."""

from chalice.app import Blueprint

from ..runtime import runtime

api = Blueprint(__name__)
http = runtime.http_api(api)

from . import runs, webhooks  # noqa: E402, F401 - their operations register on `http`, which they import from here
