"""The event catalogue (caseline_common/events.py) is the one list of event types: every type has a `data`
model, the template format and the docs list exactly its types."""

import re
from pathlib import Path

from caseline_common.events import (
    CASE_EVENTS,
    DATA_MODELS,
    RULE_TRIGGERS,
    CaseStageChanged,
    EventType,
    SlaBreached,
    catalogue_markdown,
)

from caseline.local.loader import LoadedService

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_every_event_type_has_a_data_model() -> None:
    assert set(DATA_MODELS) == set(EventType)
    assert len(set(DATA_MODELS.values())) == len(EventType)  # one model per type


def test_the_template_format_names_the_catalogues_case_events(cases: LoadedService) -> None:
    templates = cases.module("chalicelib.domain.templates")
    assert templates.EVENT_TYPES == CASE_EVENTS
    assert templates.RULE_TRIGGERS == RULE_TRIGGERS
    assert {EventType.PORTAL_LINK_ISSUED, EventType.PORTAL_LINK_REVOKED} == CASE_EVENTS - RULE_TRIGGERS


def test_the_api_docs_table_is_the_catalogue() -> None:
    text = (DOCS / "api.md").read_text()
    table = text.split("<!-- events:begin -->\n")[1].split("<!-- events:end -->")[0]
    assert table == catalogue_markdown(), "regenerate the table from caseline_common.events.catalogue_markdown()"


def test_the_template_docs_list_the_rule_triggers() -> None:
    text = (DOCS / "templates.md").read_text()
    listed = text.split("The event types: ")[1].split(". (")[0]
    assert set(re.findall(r"`([a-z_]+\.[a-z_]+)`", listed)) == set(RULE_TRIGGERS)


def test_data_dumps_as_sent_absent_members_left_out_and_nulls_kept() -> None:
    moved = {
        "version": 3,
        "from": "intake",
        "to": "review",
        "direction": "forward",
        "reason": None,
        "overridden": [],
        "tasks_created": [
            {"task_id": "t", "key": None, "title": "Check", "required": True, "due_at": "2026-01-02T10:00:00+00:00"}
        ],
    }
    assert CaseStageChanged.model_validate(moved).dump() == moved
    assert list(CaseStageChanged.model_validate(moved).dump()) == list(moved)
    breached = {
        "timer_id": "x",
        "due_at": "2026-01-02T10:00:00+00:00",
        "scope": "task",
        "task_id": "t",
        "title": "T",
        "task_due_at": "2026-01-02T10:00:00+00:00",
    }
    assert SlaBreached.model_validate(breached).dump() == breached
