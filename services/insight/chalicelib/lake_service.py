"""The lake writer: a batch of bus events into the lake, one object per day, and the groups that may read each
template's figures from the `template.published` among them. It keeps each case's latest state, so an event that
carries no case (a portal link) gets its case's columns all the same. And the lake rebuilt from the timelines
(`caseline insight backfill`), through the same rows."""

from collections.abc import Iterable
from dataclasses import dataclass

from caseline_common.consumer import StatefulEvent
from caseline_common.contracts import TemplateDefinition
from caseline_common.envelope import EventEnvelope
from caseline_common.events import EventType, TemplatePublished, data_of

from .domain.lake import ChainFold, LakeRow, batch_rows, newest_states, states_wanted
from .ports import CaseStates, Lake, TemplateReaders

# A backfill's rows are written this many at a time (one object per day among them), so memory stays bounded.
ROWS_PER_WRITE = 200_000


@dataclass(frozen=True)
class Rebuilt:
    rows: int
    incomplete_cases: int  # cases whose chain misses a link in what was read: their later events are left out
    templates: frozenset[str]  # the templates of the cases written


class LakeWriter:
    def __init__(self, lake: Lake, readers: TemplateReaders, states: CaseStates) -> None:
        self._lake = lake
        self._readers = readers
        self._states = states

    def write(self, events: list[StatefulEvent]) -> list[str]:
        """Writes the batch's rows at once (one object per day); returns the keys written. Then keeps each case's
        newest state in the batch, after the rows: if that fails, the batch comes back whole. Safe to repeat: a row
        written twice is counted once by every query (by its event id); readers and states keep the newest
        version."""
        for event in events:
            if event.type == EventType.TEMPLATE_PUBLISHED:
                published = data_of(event, TemplatePublished)
                self.keep_template(published.template_key, published.version, published.definition)
        wanted = states_wanted(events)
        rows = batch_rows(events, self._states.get(wanted) if wanted else {})
        keys = self._lake.write(rows) if rows else []
        self._states.keep(newest_states(events))
        return keys

    def keep_template(self, key: str, version: int, definition: TemplateDefinition) -> None:
        groups = sorted({group for role in definition.roles for group in role.groups})
        self._readers.record(key, version, groups)

    def rebuild(
        self, links: Iterable[tuple[str, int, EventEnvelope | None]], *, rows_per_write: int = ROWS_PER_WRITE
    ) -> "Rebuilt":
        """Writes the rows of every link given (case id, seq, event; in any order across cases), each case's state
        folded from its chain, then keeps each case's last state for the live writer. Objects are named by their
        events, so a second rebuild of the same links writes the same objects again rather than adding copies."""
        chains = ChainFold()
        pending: list[LakeRow] = []
        written = 0
        templates: set[str] = set()
        for case_id, seq, event in links:
            rows = chains.add(case_id, seq, event)
            templates.update(row["template_key"] for row in rows if row["template_key"])
            pending += rows
            if len(pending) >= rows_per_write:
                self._lake.write(pending, backfill=True)
                written, pending = written + len(pending), []
        if pending:
            self._lake.write(pending, backfill=True)
            written += len(pending)
        self._states.keep(chains.states())
        return Rebuilt(rows=written, incomplete_cases=chains.gaps(), templates=frozenset(templates))
