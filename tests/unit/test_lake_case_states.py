"""The case columns of an event that names a case but carries none (a portal link): the state of the case's newest
row at or before it in the same batch, else the state kept from earlier batches, else none; and which state each
case keeps for the batches to come."""

from datetime import datetime
from typing import TYPE_CHECKING, Any

from caseline_common.consumer import StatefulEvent
from caseline_common.envelope import EventEnvelope
from caseline_common.event_examples import CASES, DATA, ENVELOPES, TENANT
from caseline_common.events import EventType
from caseline_common.examples import CASE_SNAPSHOT
from service_modules import loaded_module

if TYPE_CHECKING:
    from services.insight.chalicelib.domain import lake
else:
    lake = loaded_module("insight", "chalicelib.domain.lake")

CASE_ID = CASE_SNAPSHOT["id"]
OTHER_ID = "01M8HF0000000000000000CAS2"


def example(event_type: EventType, **changes: Any) -> StatefulEvent:
    """The reference's example of `event_type`, with the case it carries (none for a portal link)."""
    return StatefulEvent.model_validate(
        {
            "tenant_id": TENANT,
            "case_id": CASE_ID,
            "type": event_type.value,
            "data": DATA[event_type],
            "case": CASES[event_type],
            **ENVELOPES[event_type],
            **changes,
        }
    )


def link_at(moment: str, case_id: str = CASE_ID) -> StatefulEvent:
    """A link issued at `moment` on `case_id`, its event id its own (the case's last four characters)."""
    event_id = ENVELOPES[EventType.PORTAL_LINK_ISSUED]["event_id"][:-4] + case_id[-4:]
    return example(EventType.PORTAL_LINK_ISSUED, occurred_at=moment, case_id=case_id, event_id=event_id)


def row_of(rows: list[dict[str, Any]], event: EventEnvelope) -> dict[str, Any]:
    return next(row for row in rows if row["event_id"] == event.event_id)


def test_a_link_takes_the_newest_state_at_or_before_it_in_its_batch_never_a_later_one() -> None:
    opened, added = example(EventType.CASE_OPENED), example(EventType.PARTICIPANT_ADDED)  # versions 1 and 2
    moved = example(EventType.CASE_STAGE_CHANGED)  # version 5, the next day
    link = link_at("2026-11-28T16:26:12Z")
    kept = {CASE_ID: lake.CaseState(template_key="other-template", case_version=9)}

    rows = lake.batch_rows([moved, link, added, opened], kept)  # in any order

    assert (row_of(rows, link)["case_version"], row_of(rows, link)["stage"]) == (2, "submitted")
    assert row_of(rows, link)["template_key"] == "motor-claim"
    assert row_of(rows, link)["owner"] == CASES[EventType.PARTICIPANT_ADDED]["owner"]  # type: ignore[index]
    assert row_of(rows, link)["participant_id"] == DATA[EventType.PORTAL_LINK_ISSUED]["participant_id"]
    assert lake.states_wanted([moved, link, added, opened]) == set()
    assert [row["event_id"] for row in rows] == [event.event_id for event in (moved, link, added, opened)]


def test_a_row_at_the_same_moment_counts_as_before_it() -> None:
    added = example(EventType.PARTICIPANT_ADDED)
    link = link_at(ENVELOPES[EventType.PARTICIPANT_ADDED]["occurred_at"])

    [_, row] = lake.batch_rows([added, link], {})

    assert row["case_version"] == 2


def test_without_an_earlier_row_in_the_batch_a_link_takes_the_kept_state_and_an_unknown_case_none() -> None:
    moved = example(EventType.CASE_STAGE_CHANGED)  # after the link: it does not say how the case stood then
    link, unknown = link_at("2026-11-28T16:26:12Z"), link_at("2026-11-28T16:27:00Z", case_id=OTHER_ID)
    kept = lake.CaseState(template_key="motor-claim", template_version=1, case_version=2, stage="submitted")
    batch = [moved, link, unknown]

    assert lake.states_wanted(batch) == {CASE_ID, OTHER_ID}
    rows = lake.batch_rows(batch, {CASE_ID: kept})

    assert {name: row_of(rows, link)[name] for name in ("template_key", "case_version", "stage")} == {
        "template_key": "motor-claim",
        "case_version": 2,
        "stage": "submitted",
    }
    assert row_of(rows, unknown)["case_id"] == OTHER_ID
    assert all(row_of(rows, unknown)[name] is None for name in lake.CaseState.model_fields)


def test_the_kept_times_are_naive_utc_like_the_rows() -> None:
    kept = lake.CaseState(opened_at=datetime(2026, 11, 28, 16, 20, 31), case_version=1)

    [row] = lake.batch_rows([link_at("2026-11-28T17:26:12+01:00")], {CASE_ID: kept})

    assert (row["opened_at"], row["occurred_at"]) == (
        datetime(2026, 11, 28, 16, 20, 31),
        datetime(2026, 11, 28, 16, 26, 12),
    )


def test_each_case_keeps_its_newest_version_in_the_batch_whatever_the_order() -> None:
    moved, added = example(EventType.CASE_STAGE_CHANGED), example(EventType.PARTICIPANT_ADDED)
    opened = dict(CASES[EventType.CASE_OPENED] or {})
    other = example(EventType.CASE_OPENED, case_id=OTHER_ID, case=opened | {"id": OTHER_ID})

    newest = lake.newest_states([moved, link_at("2026-12-05T00:00:00Z"), added, other])

    assert {case_id: state.case_version for case_id, state in newest.items()} == {CASE_ID: 5, OTHER_ID: 1}
    assert newest[CASE_ID].stage == "assessment"
    assert lake.newest_states([link_at("2026-12-05T00:00:00Z")]) == {}


def test_the_backfills_fold_gives_a_link_the_state_its_case_was_in_and_keeps_each_cases_last() -> None:
    order = (EventType.CASE_OPENED, EventType.PARTICIPANT_ADDED, EventType.PORTAL_LINK_ISSUED, EventType.COMMENT_ADDED)
    plain = [EventEnvelope.model_validate(example(each).model_dump(exclude={"case"})) for each in order]
    chains = lake.ChainFold()
    chains.add(OTHER_ID, 2, plain[1])  # a chain whose start was not read keeps no state

    rows = [row for seq, event in enumerate(plain, 1) for row in chains.add(CASE_ID, seq, event)]

    link = rows[2]
    assert (link["type"], link["template_key"], link["case_version"], link["stage"]) == (
        "portal.link_issued",
        "motor-claim",
        2,
        "submitted",
    )
    assert {case_id: state.case_version for case_id, state in chains.states().items()} == {CASE_ID: 2}
