"""Field values against their definitions: every type, its constraints, and the canonical JSON it comes back as."""

from datetime import date
from typing import Any

import pytest
from caseline_common import fields
from caseline_common.contracts import TemplateDefinition
from caseline_common.envelope import new_id
from caseline_common.errors import FieldIssue, InvalidInputError

TEMPLATE = TemplateDefinition.model_validate(
    {
        "key": "claim",
        "name": "Expense claim",
        "stages": [{"key": "submitted", "name": "Submitted"}, {"key": "paid", "name": "Paid"}],
        "fields": [
            {"key": "summary", "label": "Summary", "type": "text", "required": True},
            {"key": "code", "label": "Code", "type": "text", "max_length": 5},
            {"key": "reference", "label": "Reference", "type": "text", "pattern": r"[A-Z]{2}-\d{3}"},
            {"key": "count", "label": "Count", "type": "number", "minimum": 1, "maximum": 10},
            {"key": "ratio", "label": "Ratio", "type": "number"},
            {
                "key": "amount",
                "label": "Amount",
                "type": "money",
                "required": True,
                "currencies": ["EUR", "GBP"],
                "minimum": 0,
            },
            {"key": "budget", "label": "Budget", "type": "money", "maximum": 1000},
            {"key": "due", "label": "Due", "type": "date"},
            {"key": "priority", "label": "Priority", "type": "enum", "options": ["low", "high"]},
            {"key": "urgent", "label": "Urgent", "type": "boolean"},
            {"key": "contact", "label": "Contact", "type": "email"},
            {"key": "phone", "label": "Phone", "type": "phone"},
            {"key": "claimant", "label": "Claimant", "type": "party"},
            {"key": "receipt", "label": "Receipt", "type": "file"},
        ],
    }
)
VALID_ULID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"


def validate(values: dict[str, Any], *, require_all: bool = False) -> dict[str, Any]:
    result: dict[str, Any] = fields.validate_field_values(TEMPLATE, values, require_all=require_all)
    return result


def issues_of(values: dict[str, Any], *, require_all: bool = False) -> list[FieldIssue]:
    with pytest.raises(InvalidInputError) as raised:
        validate(values, require_all=require_all)
    assert raised.value.detail == "Some field values are invalid."
    return raised.value.issues


def pointers(issues: list[FieldIssue]) -> list[str]:
    return [issue.pointer for issue in issues]


@pytest.mark.parametrize(
    ("key", "value", "canonical"),
    [
        ("summary", "Train to Leeds", "Train to Leeds"),
        ("code", "ABCDE", "ABCDE"),
        ("code", "", ""),
        ("reference", "AB-123", "AB-123"),
        ("count", 1, 1),
        ("count", 10, 10),
        ("count", 2.5, 2.5),
        ("ratio", -3, -3),
        ("ratio", 2**53 - 1, 2**53 - 1),
        ("ratio", -(2**53 - 1), -(2**53 - 1)),
        ("amount", {"amount": "12.50", "currency": "EUR"}, {"amount": "12.50", "currency": "EUR"}),
        ("amount", {"amount": 12, "currency": "GBP"}, {"amount": "12", "currency": "GBP"}),
        ("amount", {"amount": 0, "currency": "EUR"}, {"amount": "0", "currency": "EUR"}),
        ("amount", {"amount": 0.1, "currency": "EUR"}, {"amount": "0.1", "currency": "EUR"}),
        ("amount", {"amount": "99.9999", "currency": "EUR"}, {"amount": "99.9999", "currency": "EUR"}),
        ("budget", {"amount": "1000", "currency": "JPY"}, {"amount": "1000", "currency": "JPY"}),
        ("budget", {"amount": "-5", "currency": "USD"}, {"amount": "-5", "currency": "USD"}),
        ("due", "2024-02-29", "2024-02-29"),
        ("due", date(2025, 1, 31), "2025-01-31"),
        ("priority", "high", "high"),
        ("urgent", True, True),
        ("urgent", False, False),
        ("contact", "ada.lovelace@example.org", "ada.lovelace@example.org"),
        ("phone", "+442071838750", "+442071838750"),
        ("phone", "+1234567", "+1234567"),
        ("phone", "+123456789012345", "+123456789012345"),
        ("claimant", {"name": "Ada"}, {"kind": "person", "name": "Ada"}),
        (
            "claimant",
            {"kind": "organisation", "name": "ACME Ltd", "email": "legal@acme.example"},
            {"kind": "organisation", "name": "ACME Ltd", "email": "legal@acme.example"},
        ),
        ("receipt", VALID_ULID, VALID_ULID),
    ],
)
def test_a_valid_value_comes_back_in_canonical_json_form(key: str, value: Any, canonical: Any) -> None:
    clean = validate({key: value})

    assert clean == {key: canonical}
    assert type(clean[key]) is type(canonical)


def test_a_new_ulid_is_a_valid_file_reference() -> None:
    receipt = new_id()

    assert validate({"receipt": receipt}) == {"receipt": receipt}


def test_a_whole_valid_form_comes_back_complete() -> None:
    values = {
        "summary": "Hotel",
        "amount": {"amount": "120.00", "currency": "EUR"},
        "due": "2024-12-01",
        "urgent": False,
        "count": 3,
    }

    clean = validate(values, require_all=True)

    assert clean == {
        "summary": "Hotel",
        "amount": {"amount": "120.00", "currency": "EUR"},
        "due": "2024-12-01",
        "urgent": False,
        "count": 3,
    }


@pytest.mark.parametrize(
    ("key", "value", "pointer", "detail"),
    [
        # text
        ("code", "ABCDEF", "/fields/code", "longer than 5 characters"),
        ("summary", "x" * 10_001, "/fields/summary", "longer than 10000 characters"),
        ("summary", 42, "/fields/summary", "text field: Input should be a valid string"),
        ("summary", b"bytes", "/fields/summary", None),
        ("reference", "ab-123", "/fields/reference", r"does not match the pattern [A-Z]{2}-\d{3}"),
        ("reference", "AB-1234", "/fields/reference", r"does not match the pattern [A-Z]{2}-\d{3}"),
        ("reference", "xAB-123", "/fields/reference", r"does not match the pattern [A-Z]{2}-\d{3}"),
        # number
        ("count", 0, "/fields/count", "must be at least 1.0"),
        ("count", 0.99, "/fields/count", "must be at least 1.0"),
        ("count", 11, "/fields/count", "must be at most 10.0"),
        ("count", 10.01, "/fields/count", "must be at most 10.0"),
        ("count", True, "/fields/count", None),
        ("ratio", False, "/fields/ratio", None),
        ("ratio", "3", "/fields/ratio", None),
        ("ratio", "3.5", "/fields/ratio", None),
        ("ratio", float("nan"), "/fields/ratio", None),
        ("ratio", float("inf"), "/fields/ratio", None),
        ("ratio", [1], "/fields/ratio", None),
        ("ratio", 2**53, "/fields/ratio", "number field: Integers must be between -(2**53 - 1) and 2**53 - 1"),
        ("ratio", -(10**30), "/fields/ratio", "number field: Integers must be between -(2**53 - 1) and 2**53 - 1"),
        # money
        ("amount", {"amount": "10", "currency": "USD"}, "/fields/amount", "currency must be one of EUR, GBP"),
        ("amount", {"amount": "-0.01", "currency": "EUR"}, "/fields/amount", "must be at least 0.0"),
        ("budget", {"amount": "1000.01", "currency": "EUR"}, "/fields/budget", "must be at most 1000.0"),
        ("amount", {"amount": "10", "currency": "eur"}, "/fields/amount/currency", None),
        ("amount", {"amount": "10", "currency": "EURO"}, "/fields/amount/currency", None),
        ("amount", {"amount": "10"}, "/fields/amount/currency", None),
        ("amount", {"currency": "EUR"}, "/fields/amount/amount", None),
        ("amount", {"amount": "ten", "currency": "EUR"}, "/fields/amount/amount", None),
        ("amount", {"amount": "1.23456", "currency": "EUR"}, "/fields/amount/amount", None),
        ("amount", {"amount": "NaN", "currency": "EUR"}, "/fields/amount/amount", None),
        ("amount", {"amount": "Infinity", "currency": "EUR"}, "/fields/amount/amount", None),
        ("amount", {"amount": True, "currency": "EUR"}, "/fields/amount/amount", None),
        ("amount", {"amount": "1", "currency": "EUR", "note": "x"}, "/fields/amount/note", None),
        ("amount", "12 EUR", "/fields/amount", None),
        ("amount", 12, "/fields/amount", None),
        # date
        ("due", "2024-02-30", "/fields/due", None),
        ("due", "2023-02-29", "/fields/due", None),
        ("due", "tomorrow", "/fields/due", None),
        ("due", "31/01/2025", "/fields/due", None),
        ("due", True, "/fields/due", None),
        # enum
        ("priority", "medium", "/fields/priority", "must be one of low, high"),
        ("priority", "HIGH", "/fields/priority", "must be one of low, high"),
        ("priority", 1, "/fields/priority", None),
        # boolean
        ("urgent", "true", "/fields/urgent", None),
        ("urgent", "false", "/fields/urgent", None),
        ("urgent", 1, "/fields/urgent", None),
        ("urgent", 0, "/fields/urgent", None),
        ("urgent", "yes", "/fields/urgent", None),
        # email
        ("contact", "not-an-email", "/fields/contact", None),
        ("contact", "ada@localhost", "/fields/contact", None),
        ("contact", "ada lovelace@example.org", "/fields/contact", None),
        ("contact", "a" * 310 + "@example.org", "/fields/contact", None),
        # phone (E.164)
        ("phone", "07700900123", "/fields/phone", None),
        ("phone", "+07700900123", "/fields/phone", None),
        ("phone", "+44 20 7183 8750", "/fields/phone", None),
        ("phone", "+123456", "/fields/phone", None),
        ("phone", "+1234567890123456", "/fields/phone", None),
        ("phone", 442071838750, "/fields/phone", None),
        # party
        ("claimant", "Ada", "/fields/claimant", None),
        ("claimant", {"name": ""}, "/fields/claimant/name", None),
        ("claimant", {}, "/fields/claimant/name", None),
        ("claimant", {"kind": "robot", "name": "R2"}, "/fields/claimant/kind", None),
        ("claimant", {"name": "Ada", "email": "nope"}, "/fields/claimant/email", None),
        ("claimant", {"name": "Ada", "age": 36}, "/fields/claimant/age", None),
        # file (a ULID)
        ("receipt", VALID_ULID[:-1], "/fields/receipt", None),
        ("receipt", VALID_ULID.lower(), "/fields/receipt", None),
        ("receipt", VALID_ULID[:-1] + "U", "/fields/receipt", None),
        ("receipt", VALID_ULID[:-1] + "I", "/fields/receipt", None),
        ("receipt", "https://example.org/receipt.pdf", "/fields/receipt", None),
    ],
)
def test_an_invalid_value_is_one_issue_pointing_at_it(key: str, value: Any, pointer: str, detail: str | None) -> None:
    issues = issues_of({key: value})

    assert pointers(issues) == [pointer]
    assert issues[0].location == "body"
    if detail is not None:
        assert issues[0].detail == detail


@pytest.mark.parametrize("value", [True, False, "1", float("nan")])
def test_a_number_field_names_its_type_in_the_detail(value: Any) -> None:
    [issue] = issues_of({"ratio": value})

    assert issue.pointer == "/fields/ratio"
    assert issue.detail.startswith("number field: ")


def test_every_bad_part_of_a_money_value_is_its_own_issue() -> None:
    issues = issues_of({"amount": {"amount": "ten", "currency": "eur"}})

    assert sorted(pointers(issues)) == ["/fields/amount/amount", "/fields/amount/currency"]
    assert all(issue.detail.startswith("money field: ") for issue in issues)


def test_an_unknown_field_is_refused_with_its_key_and_the_template() -> None:
    [issue] = issues_of({"colour": "red"})

    assert issue.pointer == "/fields/colour"
    assert issue.detail == 'unknown field "colour" for template claim'


def test_required_fields_missing_are_reported_in_template_order_when_all_are_required() -> None:
    issues = issues_of({"urgent": True}, require_all=True)

    assert pointers(issues) == ["/fields/summary", "/fields/amount"]
    assert {issue.detail for issue in issues} == {"required"}


def test_required_fields_may_be_missing_when_not_all_are_required() -> None:
    assert validate({}, require_all=False) == {}
    assert validate({"urgent": True}, require_all=False) == {"urgent": True}


@pytest.mark.parametrize("require_all", [True, False])
def test_null_for_a_required_field_is_one_issue(require_all: bool) -> None:
    values = {"summary": None, "amount": {"amount": "1", "currency": "EUR"}}

    [issue] = issues_of(values, require_all=require_all)

    assert issue.pointer == "/fields/summary"
    assert issue.detail == "required, cannot be empty"


def test_null_for_an_optional_field_is_dropped() -> None:
    assert validate({"due": None, "urgent": None, "priority": "low"}) == {"priority": "low"}


def test_an_invalid_required_value_is_not_also_reported_missing() -> None:
    values = {"summary": "x", "amount": {"amount": "1", "currency": "USD"}}

    [issue] = issues_of(values, require_all=True)

    assert issue.pointer == "/fields/amount"
    assert issue.detail == "currency must be one of EUR, GBP"


def test_every_problem_is_reported_at_once_in_input_order_then_missing_ones() -> None:
    values = {"colour": "red", "count": 99, "urgent": "yes", "priority": "low", "summary": None}

    issues = issues_of(values, require_all=True)

    assert pointers(issues) == [
        "/fields/colour",
        "/fields/count",
        "/fields/urgent",
        "/fields/summary",
        "/fields/amount",
    ]


def test_a_field_with_no_constraints_accepts_any_value_of_its_type() -> None:
    definition = TemplateDefinition.model_validate(
        {
            "key": "free",
            "name": "Free",
            "stages": [{"key": "open", "name": "Open"}],
            "fields": [
                {"key": "price", "label": "Price", "type": "money"},
                {"key": "note", "label": "Note", "type": "text"},
            ],
        }
    )

    clean = fields.validate_field_values(
        definition, {"price": {"amount": "-12.3", "currency": "CHF"}, "note": "x" * 10_000}, require_all=True
    )

    assert clean == {"price": {"amount": "-12.3", "currency": "CHF"}, "note": "x" * 10_000}


@pytest.mark.parametrize("blank", [None, "", "   "])
def test_a_required_text_cannot_be_blank(blank: Any) -> None:
    [issue] = issues_of({"summary": blank, "amount": {"amount": "1", "currency": "EUR"}})
    assert (issue.pointer, issue.detail) == ("/fields/summary", "required, cannot be empty")


NEWER_TYPES = TemplateDefinition.model_validate(
    {
        "key": "newer",
        "name": "Newer types",
        "stages": [{"key": "s", "name": "S"}],
        "fields": [
            {"key": "story", "label": "Story", "type": "long_text", "max_length": 20},
            {"key": "at", "label": "At", "type": "datetime"},
            {"key": "tags", "label": "Tags", "type": "multi_enum", "options": ["a", "b"], "required": True},
        ],
    }
)


def test_long_text_datetime_and_multi_enum() -> None:
    clean = fields.validate_field_values(
        NEWER_TYPES, {"story": "Once", "at": "2027-01-04T09:00:00+01:00", "tags": ["b", "a"]}, require_all=True
    )
    assert clean == {"story": "Once", "at": "2027-01-04T09:00:00+01:00", "tags": ["b", "a"]}
    with pytest.raises(InvalidInputError) as raised:
        fields.validate_field_values(
            NEWER_TYPES, {"story": "x" * 21, "at": "2027-01-04T09:00:00", "tags": []}, require_all=False
        )
    details = {issue.pointer: issue.detail for issue in raised.value.issues}
    assert details["/fields/story"] == "longer than 20 characters"
    assert "timezone" in details["/fields/at"]
    assert details["/fields/tags"] == "required, cannot be empty"
    with pytest.raises(InvalidInputError) as raised:
        fields.validate_field_values(NEWER_TYPES, {"tags": ["a", "a", "c"]}, require_all=False)
    assert [issue.detail for issue in raised.value.issues] == ["c not among a, b"]
