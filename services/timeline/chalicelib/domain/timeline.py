"""What a timeline shows, how it is filtered, and what an external participant may see of it."""

import html
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum

from caseline_common.chain import Link
from caseline_common.envelope import ActorKind, EventEnvelope, Visibility
from pydantic import BaseModel, ConfigDict, Field

CLOSING_EVENT_TYPES = frozenset({"case.closed", "case.cancelled"})


class Order(StrEnum):
    OLDEST_FIRST = "oldest"
    NEWEST_FIRST = "newest"


class TimelineFilter(BaseModel):
    model_config = ConfigDict(frozen=True)

    types: tuple[str, ...] = ()
    actor_id: str | None = None
    actor_kind: ActorKind | None = None
    visibility: Visibility | None = None
    since: datetime | None = None
    until: datetime | None = None

    @property
    def active(self) -> bool:
        return bool(self.types or self.actor_id or self.actor_kind or self.visibility or self.since or self.until)


class TimelineEntry(BaseModel):
    """One entry as the API shows it: the event (with its personal data unless erased) and its link."""

    seq: int
    hash: str
    prev_hash: str
    recorded_at: datetime
    personal_data_erased: bool = Field(description="True once the people it concerned were erased.")
    event: EventEnvelope

    @classmethod
    def of(cls, link: Link) -> "TimelineEntry":
        return cls(
            seq=link.seq,
            hash=link.hash,
            prev_hash=link.prev_hash,
            recorded_at=link.record["recorded_at"],
            personal_data_erased=link.record.get("personal_digest") is not None and link.personal is None,
            event=link.event(),
        )


def external_projection(entries: Sequence[TimelineEntry], participant_id: str) -> list[TimelineEntry]:
    """What one external participant may see: external-visible entries only, and personal data only
    where it is about them."""
    visible = []
    for entry in entries:
        if entry.event.visibility is not Visibility.EXTERNAL:
            continue
        event = entry.event
        if participant_id not in event.subjects:
            event = event.model_copy(
                update={"personal": {}, "subjects": [], "actor": event.actor.model_copy(update={"display_name": None})}
            )
        visible.append(entry.model_copy(update={"event": event}))
    return visible


def render_history(case_id: str, entries: Sequence[TimelineEntry]) -> str:
    """A readable, self-contained HTML page of the case history (everything escaped)."""
    rows = "\n".join(
        "<tr><td>{seq}</td><td>{when}</td><td>{type}</td><td>{actor}</td><td>{visibility}</td><td><code>{hash}</code></td></tr>".format(
            seq=entry.seq,
            when=html.escape(entry.event.occurred_at.isoformat()),
            type=html.escape(entry.event.type),
            actor=html.escape(entry.event.actor.display_name or f"{entry.event.actor.kind}:{entry.event.actor.id}"),
            visibility=html.escape(entry.event.visibility),
            hash=html.escape(entry.hash[:16]),
        )
        for entry in entries
    )
    title = html.escape(f"History of case {case_id}")
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>' + title + "</title>"
        "<style>body{font-family:system-ui,sans-serif;margin:2rem}table{border-collapse:collapse}"
        "td,th{border:1px solid #999;padding:.3rem .6rem;text-align:left}</style></head><body>"
        f"<h1>{title}</h1><p>{len(entries)} entries, oldest first. Each row's hash chains to the one before.</p>"
        "<table><thead><tr><th>#</th><th>When</th><th>What</th><th>Who</th><th>Visibility</th><th>Hash</th></tr>"
        f"</thead><tbody>\n{rows}\n</tbody></table></body></html>\n"
    )
