"""Checks on a template that a schema alone cannot express, each naming the path of the mistake."""

import re
from collections.abc import Iterable
from datetime import datetime

from caseline_common.contracts import FieldDefinition, FieldType, PublishedTemplate, TemplateDefinition
from caseline_common.envelope import EventEnvelope
from caseline_common.errors import FieldIssue, InvalidInputError
from caseline_common.tenant import TenantContext

_ATTRIBUTES_BY_TYPE: dict[str, set[FieldType]] = {
    "options": {FieldType.ENUM},
    "minimum": {FieldType.NUMBER, FieldType.MONEY},
    "maximum": {FieldType.NUMBER, FieldType.MONEY},
    "max_length": {FieldType.TEXT},
    "pattern": {FieldType.TEXT},
    "currencies": {FieldType.MONEY},
}


def _duplicates(keys: Iterable[str]) -> set[str]:
    seen: set[str] = set()
    return {key for key in keys if key in seen or seen.add(key)}  # type: ignore[func-returns-value]


def _field_issues(index: int, field: FieldDefinition) -> list[FieldIssue]:
    path = f"/fields/{index}"
    issues = [
        FieldIssue(pointer=f"{path}/{attribute}", detail=f"{attribute} does not apply to a {field.type} field")
        for attribute, types in _ATTRIBUTES_BY_TYPE.items()
        if getattr(field, attribute) is not None and field.type not in types
    ]
    if field.type is FieldType.ENUM and not field.options:
        issues.append(FieldIssue(pointer=f"{path}/options", detail="an enum field needs at least one option"))
    if field.options and len(set(field.options)) != len(field.options):
        issues.append(FieldIssue(pointer=f"{path}/options", detail="options must be unique"))
    if field.minimum is not None and field.maximum is not None and field.minimum > field.maximum:
        issues.append(FieldIssue(pointer=f"{path}/minimum", detail="minimum is greater than maximum"))
    if field.pattern is not None:
        try:
            re.compile(field.pattern)
        except re.error as error:
            issues.append(FieldIssue(pointer=f"{path}/pattern", detail=f"not a valid regular expression: {error}"))
    return issues


def check_template(definition: TemplateDefinition) -> None:
    """Raises InvalidInputError listing every mistake, so a person can fix them all in one go."""
    issues: list[FieldIssue] = []
    for duplicate in sorted(_duplicates(field.key for field in definition.fields)):
        index = next(i for i, field in enumerate(definition.fields) if field.key == duplicate)
        issues.append(FieldIssue(pointer=f"/fields/{index}/key", detail=f'duplicate field key "{duplicate}"'))
    for duplicate in sorted(_duplicates(stage.key for stage in definition.stages)):
        index = next(i for i, stage in enumerate(definition.stages) if stage.key == duplicate)
        issues.append(FieldIssue(pointer=f"/stages/{index}/key", detail=f'duplicate stage key "{duplicate}"'))
    for index, field in enumerate(definition.fields):
        issues.extend(_field_issues(index, field))
    if issues:
        raise InvalidInputError("The template has mistakes.", issues)


def publish_first_version(
    definition: TemplateDefinition, context: TenantContext, *, now: datetime
) -> tuple[PublishedTemplate, EventEnvelope]:
    check_template(definition)
    template = PublishedTemplate(
        definition=definition, version=1, published_at=now, published_by=context.principal.subject
    )
    event = EventEnvelope.new(
        tenant_id=context.tenant_id,
        type="template.published",
        actor=context.principal.actor(),
        correlation_id=context.correlation_id,
        occurred_at=now,
        data={"template_key": definition.key, "version": template.version, "name": definition.name},
    )
    return template, event
