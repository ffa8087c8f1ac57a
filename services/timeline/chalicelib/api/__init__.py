"""The timeline service's HTTP layer: one blueprint and its HttpApi, on which timeline.py declares the operations
(a case's history, its verification and export, the signing key, erasure) and events.py the change feed. The tables
below name them, so Chalice has every route at import while, in Lambda, each module is loaded at the first call of
one of its operations."""

from caseline_common.http import Tag
from chalice.app import Blueprint

from ..runtime import runtime

api = Blueprint(__name__)
http = runtime.http_api(api)

http.operations_in(
    f"{__name__}.timeline",
    {
        "get_timeline": ("GET", "/cases/{case_id}/timeline"),
        "verify_timeline": ("GET", "/cases/{case_id}/timeline/verify"),
        "export_timeline": ("GET", "/cases/{case_id}/timeline/export"),
        "signing_key": ("GET", "/timeline/signing-key"),
        "erase_participant": ("POST", "/participants/{participant_id}/erase"),
    },
    tag=Tag(
        "timeline",
        (
            "A case's history: every event in order, hash-chained so a third party can verify it, and exported as "
            "a signed bundle; the public key that signs bundles; erasing a person's personal data."
        ),
    ),
)
http.operations_in(
    f"{__name__}.events",
    {"list_events": ("GET", "/events")},
    tag=Tag(
        "change feed",
        (
            "The tenant's events in the order the timeline recorded them, from a cursor and 30 days back: catch up "
            "after downtime, or poll instead of receiving webhooks."
        ),
    ),
)
