"""The insight service's HTTP layer: one blueprint and its HttpApi, on which insight.py declares the reports.
The table below names them, so Chalice has every route at import while, in Lambda, the module is loaded at the
first call of one of its operations."""

from caseline_common.http import Tag
from chalice.app import Blueprint

from ..runtime import runtime

api = Blueprint(__name__)
http = runtime.http_api(api)

http.operations_in(
    f"{__name__}.insight",
    {
        "list_reports": ("GET", "/insight"),
        "get_report": ("GET", "/insight/{report}"),
        "get_report_csv": ("GET", "/insight/{report}/csv"),
    },
    tag=Tag(
        "insight",
        (
            "Figures over all of a tenant's cases, from the event lake: throughput, open cases per stage, time in "
            "stage, time to close, SLA performance, automation failures and portal activity, as JSON or CSV."
        ),
    ),
)
