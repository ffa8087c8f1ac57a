"""Template checks: what the schema refuses, and what check_template adds, each with the pointer to the mistake."""

from typing import TYPE_CHECKING, Any

import pytest
from caseline_common import formats
from caseline_common.contracts import TemplateDefinition
from caseline_common.errors import FieldIssue, InvalidInputError, issues_from_validation
from pydantic import ValidationError
from service_modules import loaded_module

if TYPE_CHECKING:
    from services.cases.chalicelib.domain import templates
else:
    templates = loaded_module("cases", "chalicelib.domain.templates")


def definition(
    fields: list[dict[str, Any]] | None = None, stages: list[dict[str, Any]] | None = None
) -> TemplateDefinition:
    return TemplateDefinition.model_validate(
        {
            "key": "onboarding",
            "name": "Onboarding",
            "fields": fields or [],
            "stages": stages or [{"key": "new", "name": "New"}],
        }
    )


def field(key: str, type_: str, **attributes: Any) -> dict[str, Any]:
    return {"key": key, "label": key.title(), "type": type_, **attributes}


def issues_of(template: TemplateDefinition) -> list[FieldIssue]:
    with pytest.raises(InvalidInputError) as raised:
        templates.check_template(template)
    assert raised.value.detail == "The template has mistakes."
    return raised.value.issues


def test_a_sound_template_passes() -> None:
    template = definition(
        fields=[
            field("name", "text", required=True, max_length=100, pattern=r"[A-Za-z ]+"),
            field("age", "number", minimum=16, maximum=99),
            field("salary", "money", minimum=0, maximum=0, currencies=["EUR"]),
            field("team", "enum", options=["red", "blue"]),
            field("start", "date"),
            field("remote", "boolean"),
            field("email", "email"),
            field("phone", "phone"),
            field("manager", "party"),
            field("contract", "file"),
        ],
        stages=[{"key": "new", "name": "New"}, {"key": "done", "name": "Done"}],
    )

    assert templates.check_template(template) is None  # type: ignore[func-returns-value]


def test_a_duplicate_field_key_points_at_the_first_field_with_it() -> None:
    template = definition(fields=[field("a", "text"), field("name", "text"), field("b", "text"), field("name", "date")])

    [issue] = issues_of(template)

    assert issue.pointer == "/fields/1/key"
    assert issue.detail == 'duplicate field key "name"'


def test_every_duplicated_field_key_is_reported_once_sorted_by_key() -> None:
    template = definition(fields=[field(key, "text") for key in ("zeta", "alpha", "zeta", "alpha", "zeta")])

    issues = issues_of(template)

    assert [(issue.pointer, issue.detail) for issue in issues] == [
        ("/fields/1/key", 'duplicate field key "alpha"'),
        ("/fields/0/key", 'duplicate field key "zeta"'),
    ]


def test_a_duplicate_stage_key_points_at_the_first_stage_with_it() -> None:
    template = definition(
        stages=[{"key": "new", "name": "New"}, {"key": "review", "name": "Review"}, {"key": "review", "name": "Again"}]
    )

    [issue] = issues_of(template)

    assert issue.pointer == "/stages/1/key"
    assert issue.detail == 'duplicate stage key "review"'


def test_a_field_and_a_stage_may_share_a_key() -> None:
    template = definition(fields=[field("review", "boolean")], stages=[{"key": "review", "name": "Review"}])

    assert templates.check_template(template) is None  # type: ignore[func-returns-value]


@pytest.mark.parametrize("options", [None, []])
def test_an_enum_needs_an_option(options: list[str] | None) -> None:
    template = definition(fields=[field("name", "text"), field("team", "enum", options=options)])

    [issue] = issues_of(template)

    assert issue.pointer == "/fields/1/options"
    assert issue.detail == "an enum field needs at least one option"


def test_enum_options_must_be_unique() -> None:
    template = definition(fields=[field("team", "enum", options=["red", "blue", "red"])])

    [issue] = issues_of(template)

    assert issue.pointer == "/fields/0/options"
    assert issue.detail == "options must be unique"


@pytest.mark.parametrize(
    ("type_", "attribute", "value"),
    [
        ("text", "options", ["a"]),
        ("text", "minimum", 1),
        ("text", "maximum", 1),
        ("text", "currencies", ["EUR"]),
        ("number", "max_length", 10),
        ("number", "pattern", "[0-9]+"),
        ("number", "options", ["1"]),
        ("number", "currencies", ["EUR"]),
        ("money", "pattern", "x"),
        ("money", "max_length", 3),
        ("enum", "minimum", 0),
        ("date", "minimum", 0),
        ("date", "pattern", r"\d+"),
        ("boolean", "maximum", 1),
        ("email", "max_length", 100),
        ("phone", "pattern", r"\+44.*"),
        ("party", "options", ["person"]),
        ("file", "currencies", ["EUR"]),
    ],
)
def test_an_attribute_that_does_not_apply_to_the_type_is_refused(type_: str, attribute: str, value: Any) -> None:
    extra = {"options": ["a"]} if type_ == "enum" else {}
    template = definition(fields=[field("first", "boolean"), field("second", type_, **extra, **{attribute: value})])

    [issue] = issues_of(template)

    assert issue.pointer == f"/fields/1/{attribute}"
    article = "an" if type_[0] in "aeiou" else "a"
    assert issue.detail == f"{attribute} does not apply to {article} {type_} field"


def test_an_empty_list_still_counts_as_a_misplaced_attribute() -> None:
    [issue] = issues_of(definition(fields=[field("note", "text", options=[])]))

    assert issue.pointer == "/fields/0/options"


@pytest.mark.parametrize("type_", ["number", "money"])
def test_minimum_above_maximum_is_refused(type_: str) -> None:
    template = definition(fields=[field("limit", type_, minimum=10, maximum=9.5)])

    [issue] = issues_of(template)

    assert issue.pointer == "/fields/0/minimum"
    assert issue.detail == "minimum is greater than maximum"


def test_minimum_equal_to_maximum_is_fine() -> None:
    assert templates.check_template(definition(fields=[field("exact", "number", minimum=3, maximum=3)])) is None  # type: ignore[func-returns-value]


@pytest.mark.parametrize("pattern", ["([a-z]", "[z-a]", "*abc", "(?P<x>a)(?P<x>b)"])
def test_a_pattern_that_is_not_a_regular_expression_is_refused(pattern: str) -> None:
    template = definition(fields=[field("ok", "text"), field("code", "text", pattern=pattern)])

    [issue] = issues_of(template)

    assert issue.pointer == "/fields/1/pattern"
    assert issue.detail.startswith("not a valid regular expression: ")


def test_every_mistake_is_reported_at_once() -> None:
    template = definition(
        fields=[
            field("code", "text", pattern="("),
            field("code", "number", minimum=5, maximum=1, max_length=3),
            field("team", "enum"),
        ],
        stages=[{"key": "new", "name": "New"}, {"key": "new", "name": "New again"}],
    )

    issues = issues_of(template)

    assert [issue.pointer for issue in issues] == [
        "/fields/0/key",
        "/stages/0/key",
        "/fields/0/pattern",
        "/fields/1/max_length",
        "/fields/1/minimum",
        "/fields/2/options",
    ]
    assert all(issue.location == "body" for issue in issues)


# What the schema itself refuses, before check_template sees it


def base_document(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "key": "onboarding",
        "name": "Onboarding",
        "fields": [field("name", "text")],
        "stages": [{"key": "new", "name": "New"}],
    }
    document.update(changes)
    return document


def schema_errors(document: dict[str, Any]) -> list[tuple[tuple[Any, ...], str]]:
    with pytest.raises(ValidationError) as raised:
        TemplateDefinition.model_validate(document)
    return [(error["loc"], error["type"]) for error in raised.value.errors()]


def test_the_base_document_is_valid() -> None:
    assert TemplateDefinition.model_validate(base_document()).key == "onboarding"


@pytest.mark.parametrize("key", ["Onboarding", "1st-form", "a", "on_boarding", "on boarding", "é-form", "a" * 64, ""])
def test_a_bad_template_key_is_refused(key: str) -> None:
    assert schema_errors(base_document(key=key)) == [(("key",), "string_pattern_mismatch")]


@pytest.mark.parametrize("key", ["ab", "employee-onboarding", "v2-form", "a" * 63])
def test_a_good_template_key_is_accepted(key: str) -> None:
    assert TemplateDefinition.model_validate(base_document(key=key)).key == key


@pytest.mark.parametrize("key", ["Name", "1st", "first-name", "_name", "first name", "", "n" * 64])
def test_a_bad_field_key_is_refused(key: str) -> None:
    document = base_document(fields=[field("ok", "text"), {"key": key, "label": "L", "type": "text"}])

    assert schema_errors(document) == [(("fields", 1, "key"), "string_pattern_mismatch")]


@pytest.mark.parametrize("key", ["n", "first_name", "line2", "n" * 63])
def test_a_good_field_key_is_accepted(key: str) -> None:
    document = base_document(fields=[{"key": key, "label": "L", "type": "text"}])

    assert TemplateDefinition.model_validate(document).fields[0].key == key


def test_a_bad_stage_key_is_refused() -> None:
    document = base_document(stages=[{"key": "new", "name": "New"}, {"key": "In-Review", "name": "Review"}])

    assert schema_errors(document) == [(("stages", 1, "key"), "string_pattern_mismatch")]


def test_a_template_needs_a_stage() -> None:
    assert schema_errors(base_document(stages=[])) == [(("stages",), "too_short")]


def test_a_template_without_stages_is_refused() -> None:
    document = base_document()
    del document["stages"]

    assert schema_errors(document) == [(("stages",), "missing")]


def test_a_template_may_have_no_fields() -> None:
    document = base_document()
    del document["fields"]

    assert TemplateDefinition.model_validate(document).fields == []


@pytest.mark.parametrize(
    ("document", "location"),
    [
        (base_document(colour="blue"), ("colour",)),
        (base_document(fields=[{**field("name", "text"), "placeholder": "x"}]), ("fields", 0, "placeholder")),
        (base_document(stages=[{"key": "new", "name": "New", "sla_days": 3}]), ("stages", 0, "sla_days")),
    ],
)
def test_unknown_attributes_are_refused(document: dict[str, Any], location: tuple[Any, ...]) -> None:
    assert schema_errors(document) == [(location, "extra_forbidden")]


def test_an_unknown_field_type_is_refused() -> None:
    document = base_document(fields=[field("colour", "colour")])

    assert schema_errors(document) == [(("fields", 0, "type"), "enum")]


@pytest.mark.parametrize(
    ("attributes", "location", "error_type"),
    [
        ({"max_length": 0}, ("fields", 0, "max_length"), "greater_than_equal"),
        ({"max_length": 100_001}, ("fields", 0, "max_length"), "less_than_equal"),
        ({"label": ""}, ("fields", 0, "label"), "string_too_short"),
        ({"pattern": "x" * 501}, ("fields", 0, "pattern"), "string_too_long"),
    ],
)
def test_field_attributes_are_bounded(attributes: dict[str, Any], location: tuple[Any, ...], error_type: str) -> None:
    document = base_document(fields=[{**field("name", "text"), **attributes}])

    assert schema_errors(document) == [(location, error_type)]


def test_currencies_must_be_iso_4217_codes() -> None:
    document = base_document(fields=[field("price", "money", currencies=["EUR", "usd"])])

    assert schema_errors(document) == [(("fields", 0, "currencies", 1), "string_pattern_mismatch")]


def test_a_template_definition_is_immutable() -> None:
    template = TemplateDefinition.model_validate(base_document())

    with pytest.raises(ValidationError):
        template.name = "Changed"  # type: ignore[misc]


def schema_patterns(schema: Any) -> set[str]:
    if isinstance(schema, dict):
        own = {schema["pattern"]} if isinstance(schema.get("pattern"), str) else set()
        return own.union(*(schema_patterns(value) for key, value in schema.items() if key != "examples"))
    if isinstance(schema, list):
        return set().union(*(schema_patterns(value) for value in schema))
    return set()


def test_every_shape_a_template_asks_for_is_told_in_words() -> None:
    patterns = schema_patterns(TemplateDefinition.model_json_schema())

    assert formats.KEY in patterns
    assert {pattern for pattern in patterns if formats.words_for(pattern) == formats.UNKNOWN} == set()


def test_a_mistyped_key_is_told_what_to_type_not_shown_a_pattern() -> None:
    document = base_document(key="Onboarding", fields=[field("ok", "text"), {"key": "First name", "label": "L"}])
    with pytest.raises(ValidationError) as raised:
        TemplateDefinition.model_validate(document)

    details = {issue.pointer: issue.detail for issue in issues_from_validation(raised.value, "body")}

    assert details["/key"] == "use lower-case letters, digits and -, and start with a letter (2 to 63 characters)"
    assert (
        details["/fields/1/key"]
        == "use lower-case letters, digits and _, and start with a letter (at most 63 characters)"
    )
    assert not [detail for detail in details.values() if "^" in detail or "pattern" in detail], details


def test_a_draft_with_an_empty_stage_just_added_lists_what_its_shape_lacks() -> None:
    document = base_document(stages=[{"key": "new", "name": "New"}, {"key": "", "name": ""}])

    assert [(issue.pointer, issue.detail) for issue in templates.draft_issues(document)] == [
        ("/stages/1/key", formats.words_for(formats.KEY)),
        ("/stages/1/name", "String should have at least 1 character"),
    ]
    with pytest.raises(InvalidInputError) as raised:
        templates.draft_definition(document)
    assert [issue.pointer for issue in raised.value.issues] == ["/stages/1/key", "/stages/1/name"]


def test_a_draft_in_shape_lists_the_rules_it_breaks() -> None:
    document = base_document(stages=[{"key": "new", "name": "New", "next": ["nowhere"]}])

    assert [issue.pointer for issue in templates.draft_issues(document)] == ["/stages/0/next/0"]
    assert templates.draft_definition(document).key == "onboarding"


def test_a_draft_lists_a_bounded_number_of_mistakes() -> None:
    document = base_document(fields=[{"key": f"F{index}", "label": "", "type": "text"} for index in range(150)])

    issues = templates.draft_issues(document)

    assert len(issues) == templates.MAX_DRAFT_ISSUES
    assert issues[-1].detail == f"and {300 - templates.MAX_DRAFT_ISSUES + 1} more mistakes not listed"
