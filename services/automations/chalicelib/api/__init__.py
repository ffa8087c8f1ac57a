"""The automations service's HTTP layer: one blueprint and its HttpApi, on which the route modules declare their
operations (runs.py: runs and the dry run; webhooks.py: webhook subscriptions and deliveries). The tables below
name each module's routes, so Chalice has them all at import while, in Lambda, a module is loaded at the first call
of one of its routes."""

from caseline_common.http import Tag
from chalice.app import Blueprint

from ..runtime import runtime

api = Blueprint(__name__)
http = runtime.http_api(api)

http.operations_in(
    f"{__name__}.runs",
    {
        "list_runs": ("GET", "/automations/runs"),
        "test_rules": ("POST", "/templates/{key}/rules/test"),
    },
    tag=Tag(
        "automation runs",
        (
            "What the templates' automation rules did (each run, with its actions and refusals), and a dry run of "
            "a template's rules against a case."
        ),
    ),
)
http.operations_in(
    f"{__name__}.webhooks",
    {
        "create_webhook": ("POST", "/webhooks"),
        "list_webhooks": ("GET", "/webhooks"),
        "list_dead_letters": ("GET", "/webhooks/dead-letters"),
        "get_webhook": ("GET", "/webhooks/{webhook_id}"),
        "delete_webhook": ("DELETE", "/webhooks/{webhook_id}"),
        "rotate_webhook_secret": ("POST", "/webhooks/{webhook_id}/secret"),
        "list_webhook_deliveries": ("GET", "/webhooks/{webhook_id}/deliveries"),
        "replay_webhook_delivery": ("POST", "/webhooks/{webhook_id}/deliveries/{delivery_id}/replay"),
    },
    tag=Tag(
        "webhooks",
        (
            "Webhook subscriptions, for `caseline-admins`: a case's events delivered to your endpoint as signed "
            "POSTs (Standard Webhooks), with their deliveries, dead letters and replays. The body of each event "
            "type is under *Webhooks*."
        ),
    ),
)
