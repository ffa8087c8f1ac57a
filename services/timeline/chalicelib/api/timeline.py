"""HTTP routes of the timeline: a case's history, its verification and export, the signing key, erasure."""

from datetime import datetime

from caseline_common.chain import Verification
from caseline_common.envelope import ActorKind, Visibility
from caseline_common.http import Call, ProblemError, Reply
from caseline_common.pagination import Page
from caseline_common.scopes import Scope
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..domain.timeline import Order, TimelineEntry, TimelineFilter
from ..runtime import timeline_service
from ..service import ErasureReport, SigningKey
from . import http

ZIP = "application/zip"
MAX_TYPES = 100


class TimelineQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    order: Order = Order.OLDEST_FIRST
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = Field(default=None, max_length=2048)
    type: str | None = Field(
        default=None, max_length=500, pattern=r"^[a-z_.]+(,[a-z_.]+)*$", description="Event types, comma-separated."
    )
    actor: str | None = Field(default=None, max_length=256, description="Actor id.")
    actor_kind: ActorKind | None = None
    visibility: Visibility | None = None
    since: datetime | None = Field(default=None, description="Occurred at or after (ISO 8601 with offset).")
    until: datetime | None = Field(default=None, description="Occurred before (ISO 8601 with offset).")

    @model_validator(mode="after")
    def _range(self) -> "TimelineQuery":
        for moment in (self.since, self.until):
            if moment is not None and moment.tzinfo is None:
                raise ValueError("since and until need a time zone offset, e.g. 2027-01-04T09:00:00Z")
        if self.since and self.until and self.since >= self.until:
            raise ValueError("since must be before until")
        if self.type and len(set(self.type.split(","))) > MAX_TYPES:  # DynamoDB's IN takes at most 100 values
            raise ValueError(f"type names at most {MAX_TYPES} event types")
        return self

    def to_filter(self) -> TimelineFilter:
        return TimelineFilter(
            types=tuple(dict.fromkeys(self.type.split(","))) if self.type else (),
            actor_id=self.actor,
            actor_kind=self.actor_kind,
            visibility=self.visibility,
            since=self.since,
            until=self.until,
        )


@http.operation(
    "GET",
    "/cases/{case_id}/timeline",
    summary="The case's history, filtered, oldest or newest first",
    query=TimelineQuery,
    response=Page[TimelineEntry],
    errors=(404, 422, 503),
)
def get_timeline(call: Call) -> Reply:
    """The case's history as its hash chain holds it: every event about the case, each with its link (`seq`,
    `hash`, `prev_hash`), oldest first or, with `order=newest`, newest first. Filter by event `type`
    (comma-separated), `actor`, `actor_kind`, `visibility` and a `since`/`until` window (ISO 8601 with an offset).

    **Who:** `caseline-admins`, `caseline-staff` and `caseline-viewers` who may view the case: on a case that is
    a template role with `case.view` (through a group or participation); admins and viewers view every case.
    Field values the caller's roles hide are left out of each event's `data` and `personal`. Changes nothing.

    **Errors:** 404 when the case does not exist or the caller may not view it; 403 without a Caseline group;
    422 for invalid filters; 400 for a cursor of another query; 503 (`Retry-After`) for a case opened moments ago
    that has not reached the timeline yet.
    """
    query = call.query_as(TimelineQuery)
    page = timeline_service().timeline(
        call.tenant(),
        call.path["case_id"],
        query.to_filter(),
        order=query.order,
        limit=query.limit,
        cursor=query.cursor,
    )
    return Reply(page)


@http.operation(
    "GET",
    "/cases/{case_id}/timeline/verify",
    summary="Recompute the hash chain and check it against its anchor",
    response=Verification,
    errors=(404, 503),
)
def verify_timeline(call: Call) -> Reply:
    """Recomputes every hash of the case's chain (SHA-256 over RFC 8785 JSON) in order and checks its head
    against the case's latest anchor: a head hash written to write-once storage when the case closes or is
    cancelled, and every 15 minutes for a chain that grew. `valid: false` names the first bad sequence number and
    why (an edit, a gap, a reordering, a truncated tail). Computed over the whole chain whatever the caller's roles
    hide: the answer holds hashes only.

    **Who:** whoever may view the case (as for the timeline). Changes nothing.

    **Errors:** 404 when the case does not exist, has no timeline, or the caller may not view it; 503 (`Retry-After`)
    for a case opened moments ago.
    """
    return Reply(timeline_service().verify(call.tenant(), call.path["case_id"]))


@http.operation(
    "GET",
    "/cases/{case_id}/timeline/export",
    summary="A signed bundle of the case history (zip)",
    errors=(403, 404, 406, 409, 503),
    response_media_type=ZIP,
)
def export_timeline(call: Call) -> Reply:
    """A signed bundle of the case's whole history, `application/zip`: `events.jsonl` (every link, personal data
    included unless erased), `history.html` to read, `manifest.json` and `manifest.sig` (ECDSA P-256, SHA-256) to
    check them with the key of `GET /timeline/signing-key`. Verify it offline with `caseline timeline verify`.

    **Who:** `caseline-admins`, and callers whose template role on the case grants `timeline.export`. The export
    is recorded on the case's timeline as `timeline.exported` (who, the length and head hash exported).

    **Errors:** 404 when the case does not exist or the caller may not view it; 403 when they may view it without
    `timeline.export`; 406 when `Accept` excludes `application/zip`; 409 when the chain does not verify (it is
    never signed); 503 (`Retry-After`) for a case opened moments ago.
    """
    accept = call.headers.get("accept", "*/*")
    if not any(kind in accept for kind in (ZIP, "*/*", "application/*")):
        raise ProblemError(406, "not-acceptable", "Not acceptable", f"The export is {ZIP}; accept it.")
    case_id = call.path["case_id"]
    bundle = timeline_service().export(call.tenant(), case_id)
    disposition = f'attachment; filename="case-{case_id}-timeline.zip"'
    return Reply(bundle, media_type=ZIP, headers={"Content-Disposition": disposition})


@http.operation(
    "GET", "/timeline/signing-key", summary="The public key that verifies export bundles", response=SigningKey
)
def signing_key(call: Call) -> Reply:
    """The public key (PEM) of the tenant's timeline signing key, and its id, that verifies the signature of every
    export bundle. Fetch it once and keep it: a bundle then verifies offline, without calling the API.

    **Who:** `caseline-admins`, `caseline-staff` and `caseline-viewers`; callers without a Caseline group get 403.
    Changes nothing.
    """
    return Reply(timeline_service().signing_key(call.tenant()))


@http.operation(
    "POST",
    "/participants/{participant_id}/erase",
    # A change to case records (the personal part of their events), as a data-subject request tool would automate
    # it: `cases.write`, and the use case still asks for an administrator.
    scope=Scope.CASES_WRITE,
    summary="Erase a person's personal data from every timeline (the chains still verify)",
    response=ErasureReport,
    idempotent_create=True,
    errors=(403,),
)
def erase_participant(call: Call) -> Reply:
    """Erases a person's personal data (names, contact details, personal field values, their display name as an
    actor) from every case timeline that holds it, for a right-to-erasure request. The records and their hashes
    stay, so every chain still verifies.

    **Who:** `caseline-admins` only (others get 403). For each affected case, `personal_data.erased` is put on the
    bus first (the search index erases the person too) and then recorded on that case's timeline. The answer
    counts the entries erased and names the cases; erasing again erases nothing more. With an `Idempotency-Key`,
    a retry answers the first report again.
    """
    report = timeline_service().erase(call.tenant(), call.path["participant_id"], call.idempotency_key)
    return Reply(report.resource, replayed=report.replayed)
