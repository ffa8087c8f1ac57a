"""Builds valid hash chains for tests: each link's salt and record time follow from its position."""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from caseline_common.chain import GENESIS_HASH, Link, link_event
from caseline_common.envelope import EventEnvelope

T0 = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)


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
