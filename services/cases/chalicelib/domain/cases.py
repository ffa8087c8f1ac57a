"""Opening a case from a published template, and the event that records it."""

from datetime import datetime
from typing import Any

from caseline_common.contracts import CaseSnapshot, CaseStatus, FieldType, PublishedTemplate
from caseline_common.envelope import EventEnvelope
from caseline_common.tenant import TenantContext
from pydantic import BaseModel, ConfigDict, Field

from .fields import validate_field_values

# Values of these types are about people: events carry them as personal data, which the timeline keeps
# outside its hash chain so that erasing a person never breaks the proof of history.
PERSONAL_FIELD_TYPES = frozenset({FieldType.PARTY, FieldType.EMAIL, FieldType.PHONE})


class OpenCaseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    template_key: str = Field(min_length=1, max_length=63)
    title: str = Field(min_length=1, max_length=200)
    fields: dict[str, Any] = Field(default_factory=dict, max_length=500)
    owner: str | None = Field(
        default=None,
        min_length=1,
        max_length=256,
        description="Subject of the owning staff member; the caller if absent.",
    )


def open_case(
    template: PublishedTemplate,
    request: OpenCaseRequest,
    context: TenantContext,
    *,
    case_id: str,
    now: datetime,
) -> tuple[CaseSnapshot, EventEnvelope]:
    definition = template.definition
    fields = validate_field_values(definition, request.fields, require_all=True)
    case = CaseSnapshot(
        id=case_id,
        tenant_id=context.tenant_id,
        template_key=definition.key,
        template_version=template.version,
        title=request.title.strip(),
        owner=request.owner or context.principal.subject,
        stage=definition.stages[0].key,
        status=CaseStatus.OPEN,
        fields=fields,
        created_at=now,
        created_by=context.principal.subject,
        updated_at=now,
        version=1,
    )
    personal_keys = {field.key for field in definition.fields if field.type in PERSONAL_FIELD_TYPES}
    personal_fields = {key: value for key, value in fields.items() if key in personal_keys}
    event = EventEnvelope.new(
        tenant_id=context.tenant_id,
        case_id=case.id,
        type="case.opened",
        actor=context.principal.actor(),
        correlation_id=context.correlation_id,
        occurred_at=now,
        data={
            "title": case.title,
            "template_key": case.template_key,
            "template_version": case.template_version,
            "stage": case.stage,
            "status": case.status.value,
            "owner": case.owner,
            "fields": {key: value for key, value in fields.items() if key not in personal_keys},
        },
        personal={"fields": personal_fields} if personal_fields else None,
    )
    return case, event
