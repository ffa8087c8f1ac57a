"""Field values checked against their definitions in the pinned template version."""

import math
import re
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    StrictBool,
    TypeAdapter,
    ValidationError,
)
from pydantic_core import PydanticCustomError

from . import formats
from .contracts import FieldDefinition, FieldType, TemplateDefinition
from .errors import FieldIssue, InvalidInputError
from .text import MULTI_LINE, SINGLE_LINE


class Money(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    amount: Decimal = Field(allow_inf_nan=False, max_digits=18, decimal_places=4)
    currency: str = Field(pattern=formats.CURRENCY)


class Party(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    kind: Literal["person", "organisation"] = "person"
    name: Annotated[str, Field(min_length=1, max_length=300), SINGLE_LINE]
    email: Annotated[str, Field(pattern=formats.EMAIL, max_length=320), SINGLE_LINE] | None = None


MAX_SAFE_INTEGER = 2**53 - 1


def _number(value: Any) -> int | float:
    """A JSON number as it is: no bools, no numeric strings, nothing infinite or NaN.

    One plain check rather than `StrictInt | StrictFloat`, whose errors carry the union members
    ("int", "float") in their location and so produced two issues with pointers into nothing.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PydanticCustomError("number_type", "Input should be a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise PydanticCustomError("finite_number", "Input should be a finite number")
    if isinstance(value, int) and abs(value) > MAX_SAFE_INTEGER:
        # I-JSON (RFC 7493): larger integers lose precision in other parsers and the timeline's RFC 8785
        # canonical form refuses them; use a money or text field for such values.
        raise PydanticCustomError("safe_integer", "Integers must be between -(2**53 - 1) and 2**53 - 1")
    return value


# What each field type holds; its TypeAdapter is made at the first value of the type (`_adapter`), not at import.
_VALUE_TYPES: dict[FieldType, Any] = {
    FieldType.TEXT: Annotated[str, Field(strict=True), SINGLE_LINE],
    FieldType.NUMBER: Annotated[int | float, PlainValidator(_number)],
    FieldType.MONEY: Money,
    FieldType.LONG_TEXT: Annotated[str, Field(strict=True), MULTI_LINE],
    FieldType.DATE: date,
    FieldType.DATETIME: AwareDatetime,
    FieldType.ENUM: Annotated[str, Field(strict=True)],
    FieldType.MULTI_ENUM: Annotated[list[Annotated[str, Field(strict=True)]], Field(max_length=500)],
    FieldType.BOOLEAN: StrictBool,
    FieldType.EMAIL: Annotated[str, Field(pattern=formats.EMAIL, max_length=320, strict=True), SINGLE_LINE],
    FieldType.PHONE: Annotated[str, Field(pattern=formats.E164_PHONE, strict=True)],
    FieldType.PARTY: Party,
    FieldType.FILE: Annotated[str, Field(pattern=formats.ULID, strict=True)],
}


@cache
def _adapter(field_type: FieldType) -> TypeAdapter[Any]:
    return TypeAdapter(_VALUE_TYPES[field_type])


_DEFAULT_TEXT_LIMITS = {FieldType.TEXT: 10_000, FieldType.LONG_TEXT: 100_000}


def _constraint_problem(definition: FieldDefinition, value: Any) -> str | None:
    if definition.type in _DEFAULT_TEXT_LIMITS:
        limit = definition.max_length or _DEFAULT_TEXT_LIMITS[definition.type]
        if len(value) > limit:
            return f"longer than {limit} characters"
        if definition.pattern and not re.fullmatch(definition.pattern, value):
            return f"does not match the pattern {definition.pattern}"
    if definition.type is FieldType.ENUM and value not in (definition.options or []):
        return f"must be one of {', '.join(definition.options or [])}"
    if definition.type is FieldType.MULTI_ENUM:
        unknown = [item for item in value if item not in (definition.options or [])]
        if unknown:
            return f"{', '.join(unknown)} not among {', '.join(definition.options or [])}"
        if len(set(value)) != len(value):
            return "each option can be chosen once"
    if definition.type is FieldType.MONEY and definition.currencies and value.currency not in definition.currencies:
        return f"currency must be one of {', '.join(definition.currencies)}"
    number = value.amount if definition.type is FieldType.MONEY else value
    if definition.type in (FieldType.NUMBER, FieldType.MONEY):
        if definition.minimum is not None and number < Decimal(str(definition.minimum)):
            return f"must be at least {definition.minimum}"
        if definition.maximum is not None and number > Decimal(str(definition.maximum)):
            return f"must be at most {definition.maximum}"
    return None


def _json_value(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=True)
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return value


def validate_field_values(template: TemplateDefinition, values: dict[str, Any], *, require_all: bool) -> dict[str, Any]:
    """Returns the values in canonical JSON form, or raises with one issue per bad value.

    `require_all` demands every required field; it is off when a case opens with partial data.
    """
    definitions = {definition.key: definition for definition in template.fields}
    issues: list[FieldIssue] = []
    clean: dict[str, Any] = {}
    for key, raw in values.items():
        definition = definitions.get(key)
        pointer = f"/fields/{key}"
        if definition is None:
            issues.append(FieldIssue(pointer=pointer, detail=f'unknown field "{key}" for template {template.key}'))
            continue
        if raw is None or (definition.required and (raw == [] or (isinstance(raw, str) and not raw.strip()))):
            if definition.required:
                issues.append(FieldIssue(pointer=pointer, detail="required, cannot be empty"))
            continue
        try:
            value = _adapter(definition.type).validate_python(raw)
        except ValidationError as error:
            issues.extend(
                FieldIssue(
                    pointer="/".join([pointer, *(str(part) for part in issue["loc"])]),
                    detail=f"{definition.type} field: {issue['msg']}",
                )
                for issue in error.errors(include_url=False)
            )
            continue
        problem = _constraint_problem(definition, value)
        if problem:
            issues.append(FieldIssue(pointer=pointer, detail=problem))
            continue
        clean[key] = _json_value(value)
    if require_all:
        issues.extend(
            FieldIssue(pointer=f"/fields/{definition.key}", detail="required")
            for definition in template.fields
            if definition.required and definition.key not in clean and definition.key not in values
        )
    if issues:
        raise InvalidInputError("Some field values are invalid.", issues)
    return clean
