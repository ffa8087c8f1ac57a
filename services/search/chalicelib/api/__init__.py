"""The search service's HTTP layer: one blueprint and its HttpApi, on which search.py declares case search and
views.py the saved views. The tables below name them, so Chalice has every route at import while, in Lambda,
each module is loaded at the first call of one of its operations."""

from caseline_common.http import Tag
from chalice.app import Blueprint

from ..runtime import runtime

api = Blueprint(__name__)
http = runtime.http_api(api)

http.operations_in(
    f"{__name__}.search",
    {"search_cases": ("GET", "/search")},
    tag=Tag(
        "search",
        (
            "Case search: words anywhere in a case (title, reference, field values, participants, comments, file "
            "names, decisions), with filters, facets, highlights and sorts."
        ),
    ),
)
http.operations_in(
    f"{__name__}.views",
    {
        "list_views": ("GET", "/views"),
        "create_view": ("POST", "/views"),
        "get_view": ("GET", "/views/{view_id}"),
        "replace_view": ("PUT", "/views/{view_id}"),
        "delete_view": ("DELETE", "/views/{view_id}"),
    },
    tag=Tag(
        "saved views",
        "Saved searches: a person's own, and those shared with their groups.",
    ),
)
