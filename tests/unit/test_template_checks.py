"""What template validation catches beyond fields: conditions, reachability, roles, documents, decisions,
rules, portal and calendar; and what a diff between two versions reports."""

from typing import TYPE_CHECKING, Any

import pytest
from caseline_common.contracts import TemplateDefinition
from service_modules import loaded_module

if TYPE_CHECKING:
    from services.cases.chalicelib.domain import templates
else:
    templates = loaded_module("cases", "chalicelib.domain.templates")


BASE: dict[str, Any] = {
    "key": "claims",
    "name": "Claims",
    "fields": [
        {"key": "amount", "label": "Amount", "type": "number"},
        {"key": "claimant_email", "label": "E-mail", "type": "email"},
        {"key": "note", "label": "Note", "type": "text"},
    ],
    "stages": [
        {"key": "intake", "name": "Intake"},
        {"key": "review", "name": "Review"},
        {"key": "paid", "name": "Paid"},
    ],
    "document_types": [
        {"key": "report", "name": "Police report", "content_types": ["application/pdf"], "max_size_bytes": 1000}
    ],
    "decisions": [{"key": "outcome", "label": "Outcome", "options": ["pay", "reject"], "decider_roles": ["handler"]}],
    "roles": [
        {"key": "handler", "name": "Handler", "permissions": ["case.view"], "fields": {"*": "edit"}},
        {"key": "claimant", "name": "Claimant", "kind": "external", "permissions": ["case.view"]},
    ],
}


def issues(**changes: Any) -> list[tuple[str, str]]:
    document = {**BASE, **changes}
    return [
        (issue.pointer, issue.detail)
        for issue in templates.template_issues(TemplateDefinition.model_validate(document))
    ]


def stages_with(**first: Any) -> list[dict[str, Any]]:
    return [{**BASE["stages"][0], **first}, *BASE["stages"][1:]]


def test_the_base_template_is_sound() -> None:
    assert issues() == []


def test_a_misspelt_field_in_a_condition_names_its_path() -> None:
    stages = stages_with(
        exit_criteria=[{"description": "Known amount", "condition": {">": [{"var": "fields.amout"}, 0]}}]
    )
    assert issues(stages=stages) == [("/stages/0/exit_criteria/0/condition/>/0/var", 'unknown field "amout"')]


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"==": [{"var": "decisions.verdict"}, "pay"]}, 'unknown decision "verdict"'),
        ({">": [{"var": "documents.passport"}, 0]}, 'unknown document type "passport"'),
        ({"==": [{"var": "case.colour"}, "red"]}, 'unknown variable "case.colour"'),
        ({"==": [{"var": "weather"}, "sunny"]}, 'unknown variable "weather"'),
        ({"==": [{"var": "event.type"}, "case.opened"]}, 'unknown variable "event.type"'),
        ({"missing": ["fields.amount", "fields.colour"]}, 'unknown field "colour"'),
        ({"regex": [{"var": "fields.note"}, "x"]}, 'unknown operator "regex"'),
        ({"==": [1, 2]}, "always false"),
    ],
)
def test_conditions_are_checked(condition: dict[str, Any], expected: str) -> None:
    found = issues(stages=stages_with(entry_criteria=[{"description": "d", "condition": condition}]))
    assert len(found) == 1, found
    assert found[0][0].startswith("/stages/0/entry_criteria/0/condition")
    assert expected in found[0][1]


def test_items_inside_filter_and_some_are_not_case_facts() -> None:
    condition = {"some": [{"var": "fields.note"}, {"==": [{"var": ""}, "x"]}]}
    assert issues(stages=stages_with(exit_criteria=[{"description": "d", "condition": condition}])) == []


def test_an_unreachable_stage_is_reported() -> None:
    stages = [
        {"key": "intake", "name": "Intake", "next": ["paid"]},
        {"key": "review", "name": "Review"},
        {"key": "paid", "name": "Paid", "next": []},
    ]
    assert issues(stages=stages) == [("/stages/1", 'stage "review" cannot be reached from "intake"')]


def test_next_names_known_stages_and_not_itself() -> None:
    stages = stages_with(next=["intake", "nowhere"])
    found = issues(stages=stages)
    assert ("/stages/0/next/0", "a stage cannot lead to itself") in found
    assert ("/stages/0/next/1", 'unknown stage "nowhere"') in found


def test_a_document_an_external_role_uploads_must_be_visible_to_externals() -> None:
    document = {**BASE["document_types"][0], "uploader_roles": ["claimant"]}
    [(pointer, detail)] = issues(document_types=[document])
    assert pointer == "/document_types/0/uploader_roles/0"
    assert "not visible to externals" in detail
    assert issues(document_types=[{**document, "external": True}]) == []


def test_references_to_unknown_keys_are_reported() -> None:
    found = issues(
        stages=stages_with(required_fields=["colour"], tasks=[{"key": "t", "title": "T", "assignee_role": "boss"}]),
        document_types=[{**BASE["document_types"][0], "required_in_stages": ["nowhere"]}],
        decisions=[{**BASE["decisions"][0], "decider_roles": ["claimant", "boss"]}],
        portal={"stages": ["nowhere"], "timeline_events": ["case.exploded"]},
    )
    assert set(found) == {
        ("/stages/0/required_fields/0", 'unknown field "colour"'),
        ("/stages/0/tasks/0/assignee_role", 'unknown role "boss"'),
        ("/document_types/0/required_in_stages/0", 'unknown stage "nowhere"'),
        ("/decisions/0/decider_roles/0", 'external role "claimant" cannot decide'),
        ("/decisions/0/decider_roles/1", 'unknown role "boss"'),
        ("/portal/stages/0", 'unknown stage "nowhere"'),
        ("/portal/timeline_events/0", 'unknown event type "case.exploded"'),
    }


def test_duplicate_keys_are_reported_everywhere() -> None:
    found = issues(
        stages=[*BASE["stages"], {"key": "intake", "name": "Again"}],
        roles=[*BASE["roles"], {**BASE["roles"][0], "name": "Again"}],
    )
    assert ("/stages/0/key", 'duplicate stage key "intake"') in found
    assert ("/roles/0/key", 'duplicate role key "handler"') in found


def test_roles_are_checked() -> None:
    roles = [
        {"key": "handler", "name": "Handler", "permissions": ["case.view"], "fields": {"colour": "view"}},
        {
            "key": "claimant",
            "name": "Claimant",
            "kind": "external",
            "permissions": ["case.view", "case.override"],
            "groups": ["caseline-staff"],
        },
    ]
    found = issues(roles=roles, owner_role="claimant")
    assert set(found) == {
        ("/roles/0/fields/colour", 'unknown field "colour"'),
        ("/roles/1/permissions/1", "case.override is for internal roles only"),
        ("/roles/1/groups", "external participants hold no token groups"),
        ("/owner_role", "the owner role must be internal"),
    }


def test_a_template_needs_an_internal_role() -> None:
    roles = [BASE["roles"][1]]
    found = issues(roles=roles, decisions=[])
    assert found == [("/roles", "at least one internal role is needed to work the case")]


def test_the_calendar_is_checked() -> None:
    found = issues(calendar={"timezone": "Mars/Olympus", "opens": "18:00", "closes": "09:00"})
    assert set(found) == {
        ("/calendar/timezone", 'unknown time zone "Mars/Olympus"'),
        ("/calendar/closes", "the working day must close after it opens"),
    }


def test_every_business_duration_must_end_on_the_calendar() -> None:
    forever = {"amount": 100_000, "unit": "business_days"}  # about 400 years of working days
    stages = stages_with(sla=forever, tasks=[{"key": "check", "title": "Check", "due_in": forever}])
    rules = [
        rule(
            {"type": "start_timer", "name": "chase", "after": forever},
            {"type": "create_task", "title": "Call", "due_in": {"amount": 100_000, "unit": "business_hours"}},
            {"type": "start_timer", "name": "soon", "after": {"amount": 100_000, "unit": "hours"}},
        )
    ]
    found = issues(stages=stages, rules=rules)
    too_long = "the calendar has not that much working time within 30 years"
    assert set(found) == {
        ("/stages/0/sla", too_long),
        ("/stages/0/tasks/0/due_in", too_long),
        ("/rules/0/actions/0/after", too_long),
        ("/rules/0/actions/1/due_in", too_long),
    }
    assert issues(stages=stages_with(sla={"amount": 250, "unit": "business_days"})) == []


def rule(*actions: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {"key": "r", "name": "R", "trigger": {"event_type": "case.opened"}, "actions": list(actions), **changes}


def test_rules_are_checked() -> None:
    found = issues(
        rules=[
            rule(
                {"type": "set_fields", "values": {"amount": "lots", "colour": "red"}},
                {"type": "move_stage", "to": "nowhere"},
                {"type": "request_document", "document_type": "report", "from_role": "handler"},
                {"type": "send_email", "to_field": "note", "subject": "S", "body": "B"},
                {"type": "assign", "task_key": "nope", "role": "handler"},
                trigger={"event_type": "case.exploded"},
                condition={">": [{"var": "event.data.amount"}, {"var": "fields.amout"}]},
            )
        ],
    )
    pointers = {pointer for pointer, _ in found}
    assert pointers == {
        "/rules/0/trigger/event_type",
        "/rules/0/condition/>/1/var",
        "/rules/0/actions/0/values/amount",
        "/rules/0/actions/0/values/colour",
        "/rules/0/actions/1/to",
        "/rules/0/actions/2/from_role",
        "/rules/0/actions/3/to_field",
        "/rules/0/actions/4/task_key",
    }, found


def test_a_sound_rule_passes() -> None:
    sound = rule(
        {"type": "assign", "role": "handler"},
        {"type": "request_document", "document_type": "report", "from_role": "claimant", "message": "Please"},
        {"type": "send_email", "to_field": "claimant_email", "subject": "Received", "body": "We have it"},
        {"type": "start_timer", "name": "chase", "after": {"amount": 3, "unit": "business_days"}},
        condition={">": [{"var": "fields.amount"}, 10000]},
    )
    assert issues(rules=[sound]) == []


def test_a_diff_matches_keyed_items_by_key() -> None:
    before = TemplateDefinition.model_validate(BASE)
    after = TemplateDefinition.model_validate(
        {
            **BASE,
            "name": "Claims v2",
            "fields": [BASE["fields"][1], BASE["fields"][0], {"key": "iban", "label": "IBAN", "type": "text"}],
            "stages": [{**BASE["stages"][0], "sla": {"amount": 2, "unit": "business_days"}}, *BASE["stages"][1:]],
        }
    )
    changes = {(change.path, change.change) for change in templates.diff_templates(before, after)}
    assert changes == {
        ("/name", "changed"),
        ("/fields/note", "removed"),
        ("/fields/iban", "added"),
        ("/stages/intake/sla", "changed"),
    }
    reordered = TemplateDefinition.model_validate({**BASE, "fields": list(reversed(BASE["fields"]))})
    [change] = templates.diff_templates(before, reordered)
    assert (change.path, change.change) == ("/fields", "reordered")
    assert templates.diff_templates(before, before) == []


def test_an_object_naming_several_operators_is_reported() -> None:
    condition = {"and": [{">": [{"var": "fields.amount"}, 1], "==": [1, 1]}]}
    found = issues(stages=stages_with(exit_criteria=[{"description": "d", "condition": condition}]))
    assert found == [("/stages/0/exit_criteria/0/condition/and/0", "an operation names exactly one operator")]
