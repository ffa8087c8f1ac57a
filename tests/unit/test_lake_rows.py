"""The lake's rows: one per event, the case columns from the snapshot the event carries or from the fold of the
case's events, the facts insight reads of each type's data, and never any personal data."""

import json
import random
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pytest
from caseline_common.consumer import StatefulEvent
from caseline_common.contracts import TemplateDefinition
from caseline_common.envelope import EventEnvelope
from caseline_common.event_examples import CASES, CLAIM_HISTORY, DATA, ENVELOPES, TENANT
from caseline_common.events import EventType, event_data
from caseline_common.examples import CASE_SNAPSHOT, TEMPLATE_DEFINITION
from caseline_common.lake import LAKE_COLUMNS
from service_modules import loaded_module

if TYPE_CHECKING:
    from services.insight.chalicelib.domain import lake
else:
    lake = loaded_module("insight", "chalicelib.domain.lake")

CASE_ID = CASE_SNAPSHOT["id"]
STATE_COLUMNS = (
    "template_key",
    "template_version",
    "case_version",
    "stage",
    "status",
    "owner",
    "assigned_role",
    "opened_at",
    "stage_entered_at",
    "closed_at",
)


def example(event_type: EventType, **changes: Any) -> StatefulEvent:
    """The reference's example of `event_type`: its envelope, data and the case it carries."""
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


def only_row(event: StatefulEvent) -> dict[str, Any]:
    [row] = lake.lake_rows(event)
    assert list(row) == [column.name for column in LAKE_COLUMNS]
    return row


def test_a_row_holds_the_envelope_and_the_case_as_the_event_left_it() -> None:
    row = only_row(example(EventType.CASE_ROLE_ASSIGNED))

    assert row["event_id"] == ENVELOPES[EventType.CASE_ROLE_ASSIGNED]["event_id"]
    assert row["type"] == "case.role_assigned"
    assert row["occurred_at"] == datetime(2026, 12, 1, 11, 3, 47, 120377)  # naive UTC
    assert (row["case_id"], row["actor_kind"], row["actor_id"]) == (CASE_ID, "automation", "queue_approved_claims")
    assert (row["template_key"], row["template_version"], row["case_version"]) == ("motor-claim", 1, 8)
    assert (row["stage"], row["status"], row["assigned_role"]) == ("assessment", "open", "claims_handler")
    assert row["owner"] == CASE_SNAPSHOT["owner"]
    assert row["opened_at"] == datetime(2026, 11, 28, 16, 20, 31)
    assert row["stage_entered_at"] == datetime.fromisoformat(CASE_SNAPSHOT["stage_entered_at"]).replace(tzinfo=None)
    assert row["closed_at"] is None


@pytest.mark.parametrize(
    ("event_type", "facts"),
    [
        (EventType.CASE_STAGE_CHANGED, {"from_stage": "submitted"}),
        (
            EventType.SLA_WARNING,
            {"sla_scope": "task", "sla_stage": "assessment", "task_id": "01M8RNAYCRHHR6CA69RH78H7W9"},
        ),
        (EventType.TASK_COMPLETED, {"task_id": DATA[EventType.TASK_COMPLETED]["task_id"]}),
        (EventType.TASK_CREATED, {"task_id": DATA[EventType.TASK_CREATED]["task_id"]}),
        (EventType.TASK_REOPENED, {"task_id": DATA[EventType.TASK_REOPENED]["task_id"]}),
        (EventType.TASK_ASSIGNED, {"task_id": DATA[EventType.TASK_ASSIGNED]["task_id"]}),
        (EventType.AUTOMATION_RAN, {"automation_rule": "notify_policyholder_of_outcome", "automation_failed": False}),
        (EventType.AUTOMATION_REFUSED, {"automation_failed": True}),
        (EventType.PORTAL_LINK_ISSUED, {"participant_id": DATA[EventType.PORTAL_LINK_ISSUED]["participant_id"]}),
        (EventType.PORTAL_LINK_REVOKED, {"participant_id": DATA[EventType.PORTAL_LINK_REVOKED]["participant_id"]}),
        (EventType.PARTICIPANT_ADDED, {"participant_id": DATA[EventType.PARTICIPANT_ADDED]["participant_id"]}),
        (EventType.PARTICIPANT_REMOVED, {"participant_id": DATA[EventType.PARTICIPANT_REMOVED]["participant_id"]}),
        (EventType.DOCUMENT_ADDED, {"document_type": DATA[EventType.DOCUMENT_ADDED]["document_type"]}),
        (EventType.DOCUMENT_REQUESTED, {"document_type": "repair_estimate"}),
        (EventType.COMMENT_ADDED, {}),
        (EventType.CASE_FIELDS_CHANGED, {}),
    ],
)
def test_each_type_adds_the_facts_insight_reads_of_its_data(event_type: EventType, facts: dict[str, Any]) -> None:
    row = only_row(example(event_type))

    fact_columns = [column.name for column in LAKE_COLUMNS[LAKE_COLUMNS.index(_column("from_stage")) :]]
    assert {name: row[name] for name in fact_columns if row[name] is not None} == facts


def _column(name: str) -> Any:
    return next(column for column in LAKE_COLUMNS if column.name == name)


def test_a_stage_sla_names_its_stage_and_a_failed_action_or_an_error_is_a_failed_run() -> None:
    breached = example(
        EventType.SLA_BREACHED,
        data={"timer_id": "t-1", "due_at": "2026-12-01T16:20:31+00:00", "scope": "stage", "stage": "submitted"},
    )
    assert (only_row(breached)["sla_scope"], only_row(breached)["sla_stage"]) == ("stage", "submitted")

    ran: dict[str, Any] = json.loads(json.dumps(DATA[EventType.AUTOMATION_RAN]))
    failed_action = {**ran, "actions": [{**ran["actions"][0], "status": "failed", "error": "refused"}]}
    errored = {**ran, "error": "the condition could not be evaluated", "actions": []}
    for data in (failed_action, errored):
        assert only_row(example(EventType.AUTOMATION_RAN, data=data))["automation_failed"] is True


def test_an_event_without_the_case_keeps_what_its_envelope_and_data_give() -> None:
    row = only_row(example(EventType.PORTAL_LINK_ISSUED))

    assert row["case_id"] == CASE_ID
    assert row["participant_id"] is not None
    assert all(row[name] is None for name in STATE_COLUMNS)


def test_a_published_template_is_a_row_of_its_key_and_version_without_a_case() -> None:
    definition = TemplateDefinition.model_validate(TEMPLATE_DEFINITION)
    published = {"template_key": "motor-claim", "version": 3, "name": "Motor claim"}
    data = event_data(EventType.TEMPLATE_PUBLISHED, **published, definition=definition.model_dump(mode="json"))
    event = StatefulEvent.model_validate(
        {**ENVELOPES[EventType.CASE_OPENED], "tenant_id": TENANT, "type": "template.published", "data": data}
    )

    row = only_row(event)

    assert (row["case_id"], row["template_key"], row["template_version"], row["stage"]) == (
        None,
        "motor-claim",
        3,
        None,
    )


# Every string a person could be recognised by, put where each event type can carry it.
SECRETS = (
    "Jonas Becker",
    "jonas.becker@example.org",
    "lena.hoffmann@nordlicht-versicherung.example",
    "Claim of Jonas Becker",
    "+49 170 5550123",
    "The policyholder says the brakes failed",
    "Becker_invoice.pdf",
    "Tell the policyholder the outcome",
)


def _with_personal_parts(event_type: EventType) -> StatefulEvent:
    case = CASES[event_type]
    if case is not None:
        fields = {**case["fields"], "policyholder": {"kind": "person", "name": SECRETS[0], "email": SECRETS[1]}}
        case = {**case, "title": SECRETS[3], "fields": fields}
    data = dict(DATA[event_type])
    if event_type is EventType.COMMENT_ADDED:
        data["body"] = SECRETS[5]
    if event_type is EventType.CASE_OPENED:
        data["title"] = SECRETS[3]
    if event_type is EventType.CASE_FIELDS_CHANGED:
        data["title"] = {"before": "A claim", "after": SECRETS[3]}
    return example(
        event_type,
        case=case,
        data=data,
        actor={"kind": "external", "id": "01M8HFN050BK1667VV8QSGJGYF", "display_name": SECRETS[2]},
        personal={
            "name": SECRETS[0],
            "email": SECRETS[1],
            "phone": SECRETS[4],
            "filename": SECRETS[6],
            "fields": {"policyholder": {"name": SECRETS[0]}},
        },
        subjects=["01M8HFN050BK1667VV8QSGJGYF"],
    )


def test_no_row_ever_holds_personal_data_titles_field_values_comment_bodies_or_display_names() -> None:
    events = [_with_personal_parts(event_type) for event_type in CASES]
    ran = example(EventType.AUTOMATION_RAN)  # its actor's display name is the rule's name
    events.append(ran.model_copy(update={"actor": ran.actor.model_copy(update={"display_name": SECRETS[7]})}))

    written = json.dumps([lake.lake_rows(event) for event in events], default=str)

    sent = json.dumps([event.model_dump(mode="json") for event in events])
    assert all(secret in sent for secret in SECRETS)  # each is there to leave out
    for secret in SECRETS:
        assert secret not in written
    assert "MP-204518" not in written  # a field value that is not personal is not kept either


def _history() -> list[StatefulEvent]:
    """The claim of the reference from opening to its decision, closed, then reopened: each event with the case
    it left behind, as the cases service sends them."""
    return [example(event_type) for event_type in CLAIM_HISTORY]


def test_folding_a_cases_events_gives_the_state_columns_its_snapshots_give() -> None:
    history = _history()
    from_snapshots = [only_row(event) for event in history]
    # The timeline keeps events without the case; the fold rebuilds it.
    plain = [EventEnvelope.model_validate(event.model_dump(exclude={"case"})) for event in history]

    folded = lake.folded_rows(plain)

    assert [row["case_version"] for row in from_snapshots] == [1, 2, 2, 3, 4, 5, 6, 7, 8, 9]
    assert [row["status"] for row in folded][-3:] == ["open", "closed", "open"]
    assert folded[-2]["closed_at"] is not None
    assert folded[-1]["closed_at"] is None
    for snapshot_row, folded_row in zip(from_snapshots, folded, strict=True):
        assert {name: folded_row[name] for name in STATE_COLUMNS} == {
            name: snapshot_row[name] for name in STATE_COLUMNS
        }
    assert folded == from_snapshots


def test_the_fold_follows_owner_role_migration_and_cancellation() -> None:
    state = lake.CaseState()
    worked = (EventType.CASE_ASSIGNED, EventType.CASE_ROLE_ASSIGNED, EventType.CASE_MIGRATED, EventType.CASE_CANCELLED)
    for event_type in (EventType.CASE_OPENED, *worked):
        state = lake.fold(state, example(event_type))

    assert state.owner == CASES[EventType.CASE_ASSIGNED]["owner"]  # type: ignore[index]
    assert (state.assigned_role, state.template_version, state.status) == ("claims_handler", 2, "cancelled")
    assert state.closed_at == datetime.fromisoformat(ENVELOPES[EventType.CASE_CANCELLED]["occurred_at"])


def test_cases_read_together_in_any_interleaving_fold_each_in_its_chains_order() -> None:
    plain = [EventEnvelope.model_validate(event.model_dump(exclude={"case"})) for event in _history()]
    other = [event.model_copy(update={"case_id": "01M8HF0000000000000000OTHR"}) for event in plain]
    links = [(CASE_ID, seq, event) for seq, event in enumerate(plain, 1)]
    links += [("01M8HF0000000000000000OTHR", seq, event) for seq, event in enumerate(other, 1)]
    links.append(("01M8HF0000000000000000GAP1", 2, plain[1]))  # its first link was not read
    expected = lake.folded_rows(plain) + lake.folded_rows(other)

    for seed in range(20):
        shuffled = random.Random(seed).sample(links, len(links))
        chains = lake.ChainFold()
        rows = [row for case_id, seq, event in shuffled for row in chains.add(case_id, seq, event)]

        assert sorted(rows, key=lambda row: (row["case_id"], row["case_version"], row["event_id"])) == sorted(
            expected, key=lambda row: (row["case_id"], row["case_version"], row["event_id"])
        )
        assert chains.gaps() == 1
