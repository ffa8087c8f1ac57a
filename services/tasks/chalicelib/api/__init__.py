"""The tasks service's HTTP layer: one blueprint and its HttpApi, on which inbox.py declares the task inbox's
operations and people.py the people directory's. The tables below name them, so Chalice has every route at import
while, in Lambda, a module is loaded at the first call of one of its operations."""

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
