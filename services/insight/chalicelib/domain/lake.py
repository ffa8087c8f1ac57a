"""The lake's row of an event: its envelope, the case as the event left it, and the few facts of its `data` that
insight reads (caseline_common.lake.LAKE_COLUMNS).

A row is built from a whitelist, never from the event as a whole: the envelope's `personal` part, the actor's
display name, and whatever else `data` holds (a title, field values, a comment's body, a rule's name) never reach
it. The case state comes from the snapshot the event carries (`StatefulEvent.case`) or, when rebuilding the lake
from the timelines, from folding the case's events in order (`ChainFold`). An event that names a case but carries
none (a portal link, a personal-data erasure, a case too large for the bus entry) takes the state of the case's
newest row at or before it in the same batch, else the case's latest state kept from earlier batches
(`batch_rows`); a case the writer never saw leaves it without.
"""

import bisect
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from caseline_common.consumer import StatefulEvent
from caseline_common.contracts import CaseSnapshot
from caseline_common.envelope import EventEnvelope
from caseline_common.events import (
    DATA_MODELS,
    AutomationRan,
    CaseAssigned,
    CaseChange,
    CaseMigrated,
    CaseOpened,
    CaseRoleAssigned,
    CaseStageChanged,
    DocumentAdded,
    DocumentRequested,
    EventType,
    PersonalDataErased,
    PortalLink,
    SlaTimer,
    StatusChanged,
    TemplatePublished,
    data_of,
)
from caseline_common.lake import LAKE_COLUMNS
from pydantic import BaseModel, ConfigDict

LakeRow = dict[str, Any]


class CaseState(BaseModel):
    """The case columns of a row: what insight reads of a case after an event."""

    model_config = ConfigDict(frozen=True)

    template_key: str | None = None
    template_version: int | None = None
    case_version: int | None = None
    stage: str | None = None
    status: str | None = None
    owner: str | None = None
    assigned_role: str | None = None
    opened_at: datetime | None = None
    stage_entered_at: datetime | None = None
    closed_at: datetime | None = None

    @classmethod
    def of(cls, case: CaseSnapshot) -> "CaseState":
        return cls(
            template_key=case.template_key,
            template_version=case.template_version,
            case_version=case.version,
            stage=case.stage,
            status=case.status.value,
            owner=case.owner,
            assigned_role=case.assigned_role,
            opened_at=case.created_at,
            stage_entered_at=case.stage_entered_at,
            closed_at=case.closed_at,
        )


def lake_rows(event: StatefulEvent) -> list[LakeRow]:
    """The rows an event adds to the lake (one), with the state of the case it carries, if any."""
    return [lake_row(event, CaseState.of(event.case) if event.case is not None else None)]


def batch_rows(events: Sequence[StatefulEvent], kept: Mapping[str, CaseState]) -> list[LakeRow]:
    """The rows of a batch, in its order. An event that names a case but carries none takes the state of that
    case's newest row at or before it in the batch, else the state `kept` from earlier batches (`states_wanted`),
    else none (the case's events never reached the writer)."""
    carried = _carried_by_case(events)
    rows = []
    for event in events:
        state = CaseState.of(event.case) if event.case is not None else None
        if state is None and event.case_id:
            state = _earlier_in_batch(carried.get(event.case_id), event) or kept.get(event.case_id)
        rows.append(lake_row(event, state))
    return rows


def states_wanted(events: Sequence[StatefulEvent]) -> set[str]:
    """The cases whose kept state the batch needs: those of its events without a case that no earlier-or-equal
    row of the same case in the batch can fill."""
    carried = _carried_by_case(events)
    return {
        event.case_id
        for event in events
        if event.case is None and event.case_id and _earlier_in_batch(carried.get(event.case_id), event) is None
    }


def newest_states(events: Iterable[StatefulEvent]) -> dict[str, CaseState]:
    """Each case's newest state (by case version) among the events that carry one: what the writer keeps for the
    batches to come."""
    newest: dict[str, CaseState] = {}
    for event in events:
        if event.case is None:
            continue
        state = CaseState.of(event.case)
        known = newest.get(event.case.id)
        if known is None or (known.case_version or 0) < (state.case_version or 0):
            newest[event.case.id] = state
    return newest


# Sorts after every case version at the same moment: a row at the same moment as an event counts as before it.
_AFTER_ANY_VERSION = 2**63


class _Carried:
    """One case's states carried in a batch, ordered by time (naive UTC, then version)."""

    def __init__(self) -> None:
        self.times: list[tuple[datetime, int]] = []
        self.states: list[CaseState] = []

    def add(self, at: datetime, state: CaseState) -> None:
        place = bisect.bisect_right(self.times, (at, state.case_version or 0))
        self.times.insert(place, (at, state.case_version or 0))
        self.states.insert(place, state)


def _carried_by_case(events: Iterable[StatefulEvent]) -> dict[str, _Carried]:
    carried: dict[str, _Carried] = defaultdict(_Carried)
    for event in events:
        if event.case is not None:
            carried[event.case.id].add(_utc(event.occurred_at), CaseState.of(event.case))
    return carried


def _earlier_in_batch(carried: _Carried | None, event: EventEnvelope) -> CaseState | None:
    """The newest state carried at or before `event` (any version at the same moment counts as before it)."""
    if carried is None:
        return None
    place = bisect.bisect_right(carried.times, (_utc(event.occurred_at), _AFTER_ANY_VERSION))
    return carried.states[place - 1] if place else None


def lake_row(event: EventEnvelope, state: CaseState | None) -> LakeRow:
    row: LakeRow = dict.fromkeys(column.name for column in LAKE_COLUMNS)
    row |= {
        "event_id": event.event_id,
        "type": event.type,
        "occurred_at": _utc(event.occurred_at),
        "case_id": event.case_id or None,
        "actor_kind": event.actor.kind.value,
        "actor_id": event.actor.id,
    }
    if state is not None:
        row |= {name: _utc(value) if isinstance(value, datetime) else value for name, value in state}
    facts = _FACTS.get(event.type)
    if facts is not None:
        row |= facts(event, row)
    return row


def _utc(moment: datetime) -> datetime:
    """A naive UTC time: the lake's timestamps have no zone, and all are UTC."""
    return moment.astimezone(UTC).replace(tzinfo=None)


# What each event type adds of its `data`, by type: one small reader each (a type not named adds nothing).
Facts = Callable[[EventEnvelope, LakeRow], LakeRow]


def _template_published(event: EventEnvelope, _row: LakeRow) -> LakeRow:
    published = data_of(event, TemplatePublished)
    return {"template_key": published.template_key, "template_version": published.version}


def _stage_changed(event: EventEnvelope, _row: LakeRow) -> LakeRow:
    return {"from_stage": data_of(event, CaseStageChanged).from_}


def _sla(event: EventEnvelope, row: LakeRow) -> LakeRow:
    timer = data_of(event, SlaTimer)
    # A task's timer names no stage: it runs in the stage the case is in.
    return {"sla_scope": timer.scope, "sla_stage": timer.stage or row["stage"], "task_id": timer.task_id}


def _task(event: EventEnvelope, _row: LakeRow) -> LakeRow:
    return {"task_id": event.data["task_id"]}


def _automation_ran(event: EventEnvelope, _row: LakeRow) -> LakeRow:
    ran = data_of(event, AutomationRan)
    failed = ran.error is not None or any(action.status == "failed" for action in ran.actions)
    return {"automation_rule": ran.rule, "automation_failed": failed}


def _automation_refused(_event: EventEnvelope, _row: LakeRow) -> LakeRow:
    return {"automation_failed": True}


def _participant(event: EventEnvelope, _row: LakeRow) -> LakeRow:
    return {"participant_id": event.data["participant_id"]}


def _portal_link(event: EventEnvelope, _row: LakeRow) -> LakeRow:
    return {"participant_id": data_of(event, PortalLink).participant_id}


def _erased(event: EventEnvelope, _row: LakeRow) -> LakeRow:
    return {"participant_id": data_of(event, PersonalDataErased).participant_id}


def _document_added(event: EventEnvelope, _row: LakeRow) -> LakeRow:
    return {"document_type": data_of(event, DocumentAdded).document_type}


def _document_requested(event: EventEnvelope, _row: LakeRow) -> LakeRow:
    return {"document_type": data_of(event, DocumentRequested).document_type}


_FACTS: dict[str, Facts] = {
    EventType.TEMPLATE_PUBLISHED: _template_published,
    EventType.CASE_STAGE_CHANGED: _stage_changed,
    EventType.SLA_WARNING: _sla,
    EventType.SLA_BREACHED: _sla,
    # The task events' models all carry `task_id` (checked at the consumer's boundary: `LAKE_READS`).
    EventType.TASK_CREATED: _task,
    EventType.TASK_COMPLETED: _task,
    EventType.TASK_REOPENED: _task,
    EventType.TASK_ASSIGNED: _task,
    EventType.AUTOMATION_RAN: _automation_ran,
    EventType.AUTOMATION_REFUSED: _automation_refused,
    EventType.PORTAL_LINK_ISSUED: _portal_link,
    EventType.PORTAL_LINK_REVOKED: _portal_link,
    EventType.PARTICIPANT_ADDED: _participant,
    EventType.PARTICIPANT_ROLE_CHANGED: _participant,
    EventType.PARTICIPANT_REMOVED: _participant,
    EventType.PARTICIPANT_LANGUAGE_CHANGED: _participant,
    EventType.PERSONAL_DATA_ERASED: _erased,
    EventType.DOCUMENT_ADDED: _document_added,
    EventType.DOCUMENT_REQUESTED: _document_requested,
}
# The types whose `data` the lake reads: the consumer checks them against the catalogue before a row is built.
LAKE_READS = frozenset(_FACTS)


# The fold: the case state from the case's events in order, for rebuilding the lake from the timelines (which keep
# events, not snapshots). Each type that changes a column the lake keeps has one step; the case's version comes
# from every change's `data.version`.
Step = Callable[[CaseState, EventEnvelope], dict[str, Any]]


def _opened(_state: CaseState, event: EventEnvelope) -> dict[str, Any]:
    opened = data_of(event, CaseOpened)
    return {
        "template_key": opened.template_key,
        "template_version": opened.template_version,
        "case_version": 1,
        "stage": opened.stage,
        "status": opened.status,
        "owner": opened.owner,
        "assigned_role": None,
        "opened_at": event.occurred_at,
        "stage_entered_at": event.occurred_at,
        "closed_at": None,
    }


def _moved(_state: CaseState, event: EventEnvelope) -> dict[str, Any]:
    return {"stage": data_of(event, CaseStageChanged).to, "stage_entered_at": event.occurred_at}


def _status(_state: CaseState, event: EventEnvelope) -> dict[str, Any]:
    after = data_of(event, StatusChanged).after
    return {"status": after, "closed_at": None if after == "open" else event.occurred_at}


def _assigned(_state: CaseState, event: EventEnvelope) -> dict[str, Any]:
    return {"owner": data_of(event, CaseAssigned).after}


def _role_assigned(_state: CaseState, event: EventEnvelope) -> dict[str, Any]:
    return {"assigned_role": data_of(event, CaseRoleAssigned).after}


def _migrated(_state: CaseState, event: EventEnvelope) -> dict[str, Any]:
    return {"template_version": data_of(event, CaseMigrated).to_version}


_STEPS: dict[str, Step] = {
    EventType.CASE_OPENED: _opened,
    EventType.CASE_STAGE_CHANGED: _moved,
    EventType.CASE_CLOSED: _status,
    EventType.CASE_CANCELLED: _status,
    EventType.CASE_REOPENED: _status,
    EventType.CASE_ASSIGNED: _assigned,
    EventType.CASE_ROLE_ASSIGNED: _role_assigned,
    EventType.CASE_MIGRATED: _migrated,
}


def fold(state: CaseState, event: EventEnvelope) -> CaseState:
    """The case state after `event`, from the state before it."""
    changes: dict[str, Any] = {}
    model = DATA_MODELS.get(event.type)  # type: ignore[call-overload]  # a str finds its StrEnum member
    if model is not None and issubclass(model, CaseChange):
        changes["case_version"] = int(event.data["version"])
    step = _STEPS.get(event.type)
    if step is not None:
        changes |= step(state, event)
    return state.model_copy(update=changes) if changes else state


def folded_rows(events: Iterable[EventEnvelope]) -> list[LakeRow]:
    """The rows of one case's events, given in the order they happened (its timeline's order), each with the state
    the case was in after it."""
    state = CaseState()
    rows = []
    for event in events:
        state = fold(state, event)
        rows.append(lake_row(event, state))
    return rows


class ChainFold:
    """The rows of many cases' timelines read together (the change feed: every link, in the order recorded), each
    case folded in its chain's order: a link that comes before the one preceding it in its chain waits for it.
    An unreadable link (None) keeps its place and adds no row."""

    def __init__(self) -> None:
        self._states: dict[str, CaseState] = {}
        self._next_seq: dict[str, int] = {}
        self._waiting: dict[str, dict[int, EventEnvelope | None]] = {}

    def add(self, case_id: str, seq: int, event: EventEnvelope | None) -> list[LakeRow]:
        waiting = self._waiting.setdefault(case_id, {})
        waiting[seq] = event
        expected = self._next_seq.get(case_id, 1)
        state = self._states.get(case_id, CaseState())
        rows = []
        while expected in waiting:
            next_event = waiting.pop(expected)
            if next_event is not None:
                state = fold(state, next_event)
                rows.append(lake_row(next_event, state))
            expected += 1
        self._states[case_id], self._next_seq[case_id] = state, expected
        if not waiting:
            del self._waiting[case_id]
        return rows

    def states(self) -> dict[str, CaseState]:
        """Each case's state after the last link folded so far (a case whose chain's start was not read has none)."""
        return {case_id: state for case_id, state in self._states.items() if state.case_version is not None}

    def gaps(self) -> int:
        """How many cases still wait for a link (one missing from what was read)."""
        return len(self._waiting)
