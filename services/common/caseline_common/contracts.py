"""Template and case contracts shared by every service (the cases service owns their behaviour)."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

Key = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,62}$", description="Lower-case identifier: a-z, 0-9, _")]
TemplateKey = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{1,62}$", description="Lower-case slug: a-z, 0-9, -")]


class Contract(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldType(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    MONEY = "money"
    DATE = "date"
    ENUM = "enum"
    BOOLEAN = "boolean"
    EMAIL = "email"
    PHONE = "phone"
    PARTY = "party"
    FILE = "file"


class FieldDefinition(Contract):
    key: Key
    label: str = Field(min_length=1, max_length=200)
    type: FieldType
    required: bool = False
    description: str | None = Field(default=None, max_length=2000)
    options: list[str] | None = Field(default=None, description="Allowed values of an enum field.")
    minimum: float | None = Field(default=None, allow_inf_nan=False, description="Smallest number, or money amount.")
    maximum: float | None = Field(default=None, allow_inf_nan=False, description="Largest number, or money amount.")
    max_length: int | None = Field(default=None, ge=1, le=100_000, description="Longest text.")
    pattern: str | None = Field(default=None, max_length=500, description="Regular expression a text must match.")
    currencies: list[Annotated[str, Field(pattern=r"^[A-Z]{3}$")]] | None = Field(
        default=None, description="ISO 4217 currencies a money field accepts; any when absent."
    )


class StageDefinition(Contract):
    key: Key
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)


class TemplateDefinition(Contract):
    """What a person configures. Published versions of it are immutable."""

    key: TemplateKey
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    fields: list[FieldDefinition] = Field(default_factory=list, max_length=500)
    stages: list[StageDefinition] = Field(min_length=1, max_length=100)


class PublishedTemplate(Contract):
    definition: TemplateDefinition
    version: int = Field(ge=1)
    published_at: datetime
    published_by: str


class CaseStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class CaseSnapshot(Contract):
    """A case as it is stored and served."""

    id: str
    tenant_id: str
    template_key: str
    template_version: int
    title: str
    owner: str
    stage: str
    status: CaseStatus
    fields: dict[str, Any]
    created_at: datetime
    created_by: str
    updated_at: datetime
    version: int = Field(ge=1, description="Increases with every change; writes are conditional on it.")
