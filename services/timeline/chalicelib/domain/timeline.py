"""What a timeline shows, how it is filtered, and what an external participant may see of it."""

import html
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum

from caseline_common.chain import Link
from caseline_common.contracts import CaseSnapshot, Participant
from caseline_common.envelope import ActorKind, EventEnvelope, Visibility
from caseline_common.events import CLOSING_EVENTS
from caseline_common.examples import WATER_DAMAGE_FIELDS
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.config import JsonDict

CLOSING_EVENT_TYPES = CLOSING_EVENTS


class Order(StrEnum):
    OLDEST_FIRST = "oldest"
    NEWEST_FIRST = "newest"


class TimelineFilter(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    types: tuple[str, ...] = ()
    actor_id: str | None = None
    actor_kind: ActorKind | None = None
    visibility: Visibility | None = None
    since: datetime | None = None
    until: datetime | None = None

    @property
    def active(self) -> bool:
        return bool(self.types or self.actor_id or self.actor_kind or self.visibility or self.since or self.until)


class CaseMembers(BaseModel):
    """What the timeline keeps of a case to decide who may read its history: the pinned template and who takes
    part (ids and roles, no names), as of the case version that last set them. It reads these straight from the
    case an event carries, leaving the rest of it unparsed."""

    model_config = ConfigDict(defer_build=True)

    template_key: str
    template_version: int
    participants: list[Participant]
    version: int

    @field_validator("participants")
    @classmethod
    def _without_names(cls, participants: list[Participant]) -> list[Participant]:
        return [p.model_copy(update={"name": None, "email": None}) for p in participants]

    @classmethod
    def of(cls, case: CaseSnapshot) -> "CaseMembers":
        return cls(
            template_key=case.template_key,
            template_version=case.template_version,
            participants=case.participants,
            version=case.version,
        )

    def newer(self, other: "CaseMembers | None") -> "CaseMembers":
        """Events arrive in any order: the later case version wins."""
        return self if other is None or self.version > other.version else other


# A claim's first entry: personal field values travel in `personal`, apart from what the hash covers.
_ENTRY_EXAMPLE: JsonDict = {
    "seq": 1,
    "hash": "59c2d131bb366931d9cc1ccbe68826e4bf0cb9ab419228c523cbe16577a58417",
    "prev_hash": "0000000000000000000000000000000000000000000000000000000000000000",
    "recorded_at": "2027-01-04T08:12:26.877963Z",
    "personal_data_erased": False,
    "event": {
        "event_id": "01JF3Z8H7JS3H1Z8WQGFEK5W34",
        "tenant_id": "nordlicht",
        "case_id": "01JF3Z8Q4V6W7X8Y9Z0A1B2C3D",
        "type": "case.opened",
        "occurred_at": "2027-01-04T08:12:25.129859Z",
        "actor": {
            "kind": "user",
            "id": "3f6c2a9e-8b1d-4c57-9e2f-6a0d4b8c1e75",
            "display_name": "maria.keller@nordlicht-versicherung.example",
        },
        "data": {
            "title": "Water damage from a burst pipe, Köln-Ehrenfeld",
            "template_key": "insurance-claim",
            "template_version": 1,
            "stage": "submitted",
            "status": "open",
            "owner": "3f6c2a9e-8b1d-4c57-9e2f-6a0d4b8c1e75",
            "participants": [
                {
                    "participant_id": "01JF3Z8H7C1Y8A925V0KZSQECN",
                    "kind": "internal",
                    "role": "claims_handler",
                    "user_id": "3f6c2a9e-8b1d-4c57-9e2f-6a0d4b8c1e75",
                }
            ],
            "fields": WATER_DAMAGE_FIELDS,
            "tasks_created": [
                {
                    "task_id": "01JF3Z8H7C1Y8A925V0KZSQECP",
                    "key": "acknowledge_claim",
                    "title": "Acknowledge the claim to the policyholder",
                    "required": True,
                    "due_at": "2027-01-06T11:00:00+00:00",
                }
            ],
        },
        "personal": {
            "fields": {
                "policyholder": {"kind": "person", "name": "Anna Schmidt", "email": "anna.schmidt@example.de"},
                "policyholder_email": "anna.schmidt@example.de",
                "policyholder_phone": "+4922112345678",
            }
        },
        "subjects": [],
        "visibility": "external",
        "correlation_id": "01JF3Z8H2CWEEXEMCBY8GH81HW",
        "causation_id": None,
        "causation_depth": 0,
    },
    "damaged": None,
}


class TimelineEntry(BaseModel):
    """One entry as the API shows it: the event (with its personal data unless erased) and its link."""

    model_config = ConfigDict(defer_build=True, json_schema_extra={"examples": [_ENTRY_EXAMPLE]})

    seq: int
    hash: str
    prev_hash: str
    recorded_at: datetime | None
    personal_data_erased: bool = Field(description="True once the people it concerned were erased.")
    event: EventEnvelope | None = Field(description="Absent only when the stored entry cannot be read.")
    damaged: str | None = Field(
        default=None, description="Why the stored entry cannot be read; verification reports where the chain breaks."
    )

    @classmethod
    def of(cls, link: Link) -> "TimelineEntry":
        try:
            return cls(
                seq=link.seq,
                hash=link.hash,
                prev_hash=link.prev_hash,
                recorded_at=link.record["recorded_at"],
                personal_data_erased=link.record.get("personal_digest") is not None and link.personal is None,
                event=link.event(),
            )
        except (KeyError, TypeError, ValueError, ValidationError) as error:
            return cls(
                seq=link.seq,
                hash=link.hash,
                prev_hash=link.prev_hash,
                recorded_at=None,
                personal_data_erased=False,
                event=None,
                damaged=f"the stored entry cannot be read ({type(error).__name__})",
            )


def external_projection(entries: Sequence[TimelineEntry], participant_id: str) -> list[TimelineEntry]:
    """What one external participant may see: external-visible entries only, and personal data only
    where it is about them."""
    visible = []
    for entry in entries:
        event = entry.event
        if event is None or event.visibility is not Visibility.EXTERNAL:
            continue
        if participant_id not in event.subjects:
            event = event.model_copy(
                update={"personal": {}, "subjects": [], "actor": event.actor.model_copy(update={"display_name": None})}
            )
        visible.append(entry.model_copy(update={"event": event}))
    return visible


def _history_row(entry: TimelineEntry) -> str:
    event = entry.event
    cells = (
        (event.occurred_at.isoformat(), event.type, event.actor.display_name or f"{event.actor.kind}:{event.actor.id}")
        if event is not None
        else ("", entry.damaged or "", "")
    )
    visibility = event.visibility if event is not None else ""
    when, what, who = (html.escape(cell) for cell in cells)
    return (
        f"<tr><td>{entry.seq}</td><td>{when}</td><td>{what}</td><td>{who}</td><td>{html.escape(visibility)}</td>"
        f"<td><code>{html.escape(entry.hash[:16])}</code></td></tr>"
    )


def render_history(case_id: str, entries: Sequence[TimelineEntry]) -> str:
    """A readable, self-contained HTML page of the case history (everything escaped)."""
    rows = "\n".join(_history_row(entry) for entry in entries)
    title = html.escape(f"History of case {case_id}")
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>' + title + "</title>"
        "<style>body{font-family:system-ui,sans-serif;margin:2rem}table{border-collapse:collapse}"
        "td,th{border:1px solid #999;padding:.3rem .6rem;text-align:left}</style></head><body>"
        f"<h1>{title}</h1><p>{len(entries)} entries, oldest first. Each row's hash chains to the one before.</p>"
        "<table><thead><tr><th>#</th><th>When</th><th>What</th><th>Who</th><th>Visibility</th><th>Hash</th></tr>"
        f"</thead><tbody>\n{rows}\n</tbody></table></body></html>\n"
    )
