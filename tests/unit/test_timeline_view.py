"""What a timeline shows (domain/timeline.py): entries, filters, the external participant's view, the history page."""

import re
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from caseline_common.chain import GENESIS_HASH, Link, link_event
from caseline_common.envelope import Actor, ActorKind, EventEnvelope, Visibility
from chains import T0, case_event
from narrowing import present
from pydantic import ValidationError
from service_modules import loaded_module

if TYPE_CHECKING:
    from services.timeline.chalicelib.domain import timeline as domain
else:
    domain = loaded_module("timeline", "chalicelib.domain.timeline")

PAT = "person-pat"


def event(
    event_type: str = "case.comment_added", *, visibility: Visibility = Visibility.EXTERNAL, **changes: Any
) -> EventEnvelope:
    """External by default; keyword arguments other than the envelope's own become its data."""
    own = {name: changes.pop(name) for name in ("actor", "personal", "subjects") if name in changes}
    return case_event(event_type, visibility=visibility, data=changes, **own)


def link_of(each: EventEnvelope, seq: int = 1, case_id: str = "case-1") -> Link:
    return link_event(
        case_id=case_id,
        seq=seq,
        previous_hash=GENESIS_HASH,
        event=each,
        recorded_at=T0 + timedelta(seconds=seq),
        salt=f"{seq:032x}",
    )


def entries(*events: EventEnvelope) -> list[Any]:
    return [domain.TimelineEntry.of(link_of(each, seq)) for seq, each in enumerate(events, start=1)]


# Entries


def test_an_entry_shows_the_link_and_the_event_as_sent() -> None:
    sent = event(personal={"email": "pat@example.org"}, subjects=[PAT])
    link = link_of(sent, seq=4)

    entry = domain.TimelineEntry.of(link)

    assert entry.seq == 4
    assert entry.hash == link.hash
    assert entry.prev_hash == GENESIS_HASH
    assert entry.recorded_at == T0 + timedelta(seconds=4)
    assert entry.event == sent
    assert entry.personal_data_erased is False


def test_an_entry_says_when_its_personal_data_was_erased() -> None:
    link = link_of(event(personal={"email": "pat@example.org"}, subjects=[PAT]))

    entry = domain.TimelineEntry.of(link.model_copy(update={"personal": None, "salt": None}))

    assert entry.personal_data_erased is True
    assert present(entry.event).personal == {}
    assert present(entry.event).actor.display_name is None


def test_an_entry_that_never_had_personal_data_is_not_erased() -> None:
    entry = domain.TimelineEntry.of(link_of(event(actor=Actor(kind=ActorKind.AUTOMATION, id="rule-1"))))

    assert entry.personal_data_erased is False


# Filters


def test_an_empty_filter_is_not_active() -> None:
    assert domain.TimelineFilter().active is False


@pytest.mark.parametrize(
    "criteria",
    [
        {"types": ("case.closed",)},
        {"actor_id": "user-1"},
        {"actor_kind": ActorKind.AUTOMATION},
        {"visibility": Visibility.INTERNAL},
        {"since": T0},
        {"until": T0},
    ],
    ids=lambda criteria: next(iter(criteria)),
)
def test_any_one_criterion_makes_a_filter_active(criteria: dict[str, Any]) -> None:
    assert domain.TimelineFilter(**criteria).active is True


def test_a_filter_is_immutable() -> None:
    timeline_filter = domain.TimelineFilter()

    with pytest.raises(ValidationError):
        timeline_filter.actor_id = "user-1"  # type: ignore[misc]  # refused at run time, which is the point


def test_orders_and_closing_events() -> None:
    assert domain.Order("oldest") is domain.Order.OLDEST_FIRST
    assert domain.Order("newest") is domain.Order.NEWEST_FIRST
    assert frozenset({"case.closed", "case.cancelled"}) == domain.CLOSING_EVENT_TYPES


# What an external participant sees


def test_an_external_participant_sees_only_external_entries() -> None:
    shown = entries(
        event("case.opened", visibility=Visibility.INTERNAL),
        event("case.comment_added"),
        event("case.stage_changed", visibility=Visibility.INTERNAL),
        event("case.closed"),
    )

    visible = domain.external_projection(shown, PAT)

    assert [present(entry.event).type for entry in visible] == ["case.comment_added", "case.closed"]
    assert [entry.seq for entry in visible] == [2, 4]
    assert [entry.hash for entry in visible] == [shown[1].hash, shown[3].hash]


def test_an_external_participant_sees_personal_data_about_them() -> None:
    [about_pat] = entries(event(personal={"email": "pat@example.org"}, subjects=[PAT]))

    [visible] = domain.external_projection([about_pat], PAT)

    assert visible == about_pat
    assert present(visible.event).personal == {"email": "pat@example.org"}
    assert present(visible.event).actor.display_name == "Ann Example"


def test_personal_data_about_others_is_stripped() -> None:
    [about_sam] = entries(event(personal={"email": "sam@example.org"}, subjects=["person-sam"], note="hi"))

    [visible] = domain.external_projection([about_sam], PAT)

    assert present(visible.event).personal == {}
    assert present(visible.event).subjects == []
    assert present(visible.event).actor == Actor(kind=ActorKind.USER, id="user-1")
    assert present(visible.event).data == {"note": "hi"}
    assert (visible.seq, visible.hash, present(visible.event).event_id) == (
        about_sam.seq,
        about_sam.hash,
        present(about_sam.event).event_id,
    )
    assert "sam@example.org" not in visible.model_dump_json()
    assert "Ann Example" not in visible.model_dump_json()


def test_an_entry_about_nobody_loses_the_actors_name() -> None:
    [plain] = entries(event())

    [visible] = domain.external_projection([plain], PAT)

    assert present(visible.event).actor.display_name is None


def test_the_projection_leaves_the_entries_it_was_given_alone() -> None:
    shown = entries(event(personal={"email": "sam@example.org"}, subjects=["person-sam"]))
    before = [entry.model_copy(deep=True) for entry in shown]

    domain.external_projection(shown, PAT)

    assert shown == before


def test_nothing_external_means_nothing_to_see() -> None:
    assert domain.external_projection([], PAT) == []
    assert domain.external_projection(entries(event(visibility=Visibility.INTERNAL)), PAT) == []


# The history page


def test_the_history_lists_every_entry_with_a_short_hash() -> None:
    shown = entries(event("case.opened"), event("case.closed", actor=Actor(kind=ActorKind.SYSTEM, id="cases")))

    page = domain.render_history("case-1", shown)

    assert page.startswith("<!doctype html>")
    assert "<title>History of case case-1</title>" in page
    assert "2 entries, oldest first" in page
    assert page.count("<tr><td>") == 2
    assert f"<code>{shown[0].hash[:16]}</code>" in page
    assert shown[0].hash[:17] not in page
    assert "<td>Ann Example</td>" in page
    assert "<td>system:cases</td>" in page
    assert "<td>external</td>" in page
    assert "<td>2025-03-14T09:30:00+00:00</td>" in page


def test_the_history_escapes_a_display_name() -> None:
    mallory = Actor(kind=ActorKind.EXTERNAL, id="person-m", display_name='<script>alert("x")</script>')

    page = domain.render_history("case-1", entries(event(actor=mallory)))

    assert "<script" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page


def test_the_history_escapes_an_actor_id_when_there_is_no_name() -> None:
    page = domain.render_history("case-1", entries(event(actor=Actor(kind=ActorKind.USER, id="<img src=x>"))))

    assert "<img" not in page
    assert "user:&lt;img src=x&gt;" in page


def test_the_history_escapes_an_event_type_and_the_case_id() -> None:
    [entry] = entries(event())
    # The envelope's pattern keeps such types off the bus; the page must not rely on it.
    hostile = entry.model_copy(
        update={"event": present(entry.event).model_copy(update={"type": "<script>x()</script>"})}
    )

    page = domain.render_history('case-"1"<b>', [hostile])

    assert "<script" not in page
    assert "<b>" not in page
    assert "&lt;script&gt;x()&lt;/script&gt;" in page
    assert "History of case case-&quot;1&quot;&lt;b&gt;" in page


def test_the_history_of_an_empty_timeline_has_no_rows() -> None:
    page = domain.render_history("case-1", [])

    assert "0 entries" in page
    assert not re.search(r"<tr><td>", page)
