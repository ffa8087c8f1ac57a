"""The tasks service's HTTP layer: one blueprint and its HttpApi, on which inbox.py declares the task inbox's
operations, people.py the people directory's and notifications.py a person's notifications. The tables below name
them, so Chalice has every route at import while, in Lambda, a module is loaded at the first call of one of its
operations."""

from caseline_common.http import Tag
from chalice.app import Blueprint

from ..runtime import runtime

api = Blueprint(__name__)
http = runtime.http_api(api)

http.operations_in(
    f"{__name__}.inbox",
    {
        "list_tasks": ("GET", "/tasks"),
        "task_counts": ("GET", "/tasks/counts"),
    },
    tag=Tag(
        "tasks",
        (
            "The task inbox: open tasks across cases by assignee, role or template, with the counts behind the "
            "console's badges."
        ),
    ),
)

http.operations_in(
    f"{__name__}.people",
    {"list_people": ("GET", "/people")},
    tag=Tag(
        "people",
        (
            "The directory: the tenant's staff by name, so that owners, assignees, authors and actors read as people, "
            "and the pickers that choose them."
        ),
    ),
)

http.operations_in(
    f"{__name__}.notifications",
    {
        "list_notifications": ("GET", "/notifications"),
        "mark_notification_read": ("POST", "/notifications/{notification_id}/read"),
        "mark_notifications_read": ("POST", "/notifications/read"),
        "notification_preferences": ("GET", "/notifications/preferences"),
        "set_notification_preferences": ("PUT", "/notifications/preferences"),
    },
    tag=Tag(
        "notifications",
        (
            "A person's notifications (assigned to them, mentioned in a comment, a client acting in the portal on "
            "their case, an SLA warning or breach) and how they hear of each kind: in the app, by e-mail, both or not."
        ),
    ),
)
