"""Builds case events and valid hash chains for tests: each link's salt and record time follow from its
position."""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from caseline_common.chain import GENESIS_HASH, Link, link_event
from caseline_common.envelope import Actor, ActorKind, EventEnvelope, Visibility

T0 = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)
ANN = Actor(kind=ActorKind.USER, id="user-1", display_name="Ann Example")


def case_event(
    event_type: str,
    *,
    case_id: str | None = "case-1",
    actor: Actor = ANN,
    data: dict[str, Any] | None = None,
    personal: dict[str, Any] | None = None,
    subjects: list[str] | None = None,
    visibility: Visibility = Visibility.INTERNAL,
    occurred_at: datetime = T0,
) -> EventEnvelope:
    """An event of tenant `acme`, correlation `corr-1`."""
    return EventEnvelope.new(
        tenant_id="acme",
        case_id=case_id,
        type=event_type,
        actor=actor,
        correlation_id="corr-1",
        data=data,
        personal=personal,
        subjects=subjects,
        visibility=visibility,
        occurred_at=occurred_at,
    )


def chain_of(events: Sequence[EventEnvelope], case_id: str = "case-1") -> list[Link]:
    links: list[Link] = []
    previous = GENESIS_HASH
    for seq, each in enumerate(events, start=1):
        link = link_event(
            case_id=case_id,
            seq=seq,
            previous_hash=previous,
            event=each,
            recorded_at=T0 + timedelta(seconds=seq),
            salt=f"{seq:032x}",
        )
        links.append(link)
        previous = link.hash
    return links
