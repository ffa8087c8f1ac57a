"""The ports of the cases service: what its use cases need from storage, as Protocols the adapters implement,
with the types and errors that cross them."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from caseline_common.adapters.s3_documents import StoredUpload
from caseline_common.contracts import CaseSnapshot, CaseStatus, PublishedTemplate
from caseline_common.envelope import EventEnvelope
from caseline_common.errors import FieldIssue
from caseline_common.examples import HANDLER, TEMPLATE_DEFINITION
from caseline_common.idempotency import Claim
from caseline_common.pagination import Page
from pydantic import BaseModel, ConfigDict, Field

from .domain.cases import Comment
from .domain.work import Change


class TemplateSummary(BaseModel):
    model_config = ConfigDict(
        defer_build=True,
        json_schema_extra={
            "examples": [
                {
                    "key": "motor-claim",
                    "name": "Motor insurance claim",
                    "latest_version": 2,
                    "published_at": "2026-12-02T08:30:00Z",
                }
            ]
        },
    )

    key: str
    name: str
    latest_version: int
    published_at: datetime


class TemplateDraft(BaseModel):
    model_config = ConfigDict(
        defer_build=True,
        json_schema_extra={
            "examples": [
                {
                    "definition": TEMPLATE_DEFINITION,
                    "saved_at": "2026-12-01T15:12:09Z",
                    "saved_by": HANDLER,
                    "issues": [],
                }
            ]
        },
    )

    definition: dict[str, Any] = Field(
        description="The template as sent: a definition (the body of `POST /templates`), finished or not."
    )
    saved_at: datetime
    saved_by: str
    issues: list[FieldIssue] = Field(description="What must be fixed before this draft can be published.")


@dataclass(frozen=True)
class CaseFilter:
    status: CaseStatus | None = None
    stage: str | None = None
    template_key: str | None = None
    owner: str | None = None
    participant: str | None = None
    updated_since: datetime | None = None


class TemplateExistsError(Exception):
    pass


class StaleVersionError(Exception):
    """The case changed since it was read; carries the version it has now, when known."""

    def __init__(self, current_version: int | None) -> None:
        super().__init__(current_version)
        self.current_version = current_version


class CasesRepository(Protocol):
    """Every write that takes a claim writes it in the same transaction, or raises KeyClaimedError and writes
    nothing when an unexpired claim holds its scope."""

    def publish_template(self, template: PublishedTemplate, event: EventEnvelope, claim: Claim | None) -> None: ...

    def latest_template(self, key: str) -> PublishedTemplate | None: ...

    def latest_template_and_claim(self, key: str, scope: str) -> tuple[PublishedTemplate | None, Claim | None]:
        """One read of both."""
        ...

    def template_version(self, key: str, version: int) -> PublishedTemplate | None: ...

    def list_template_versions(self, key: str, *, limit: int, cursor: str | None) -> Page[PublishedTemplate]: ...

    def list_templates(self, *, limit: int, cursor: str | None) -> Page[TemplateSummary]: ...

    def save_draft(self, key: str, draft: TemplateDraft) -> None: ...

    def draft(self, key: str) -> TemplateDraft | None: ...

    def create_case(self, case: CaseSnapshot, event: EventEnvelope, claim: Claim | None) -> None: ...

    def save_change(self, before: CaseSnapshot, change: Change, claim: Claim | None) -> None: ...

    def get_case(self, case_id: str) -> CaseSnapshot | None: ...

    def case_and_claim(self, case_id: str, scope: str) -> tuple[CaseSnapshot | None, Claim | None]:
        """One read of both."""
        ...

    def list_cases(self, case_filter: CaseFilter, *, limit: int, cursor: str | None) -> Page[CaseSnapshot]: ...

    def add_comment(self, comment: Comment, event: EventEnvelope, claim: Claim | None, case: CaseSnapshot) -> None: ...

    def list_comments(self, case_id: str, *, limit: int, cursor: str | None) -> Page[Comment]: ...

    def record_event(self, event: EventEnvelope, case: CaseSnapshot) -> None: ...

    def idempotency_claim(self, scope: str) -> Claim | None: ...

    def save_claim(self, claim: Claim) -> None:
        """The claim of a request that wrote nothing else."""
        ...


class DocumentStore(Protocol):
    def upload_target(
        self, key: str, *, content_type: str, max_size: int, metadata: dict[str, str], expires_in: timedelta
    ) -> tuple[str, dict[str, str]]: ...

    def inspect(self, key: str) -> StoredUpload | None: ...

    def promote(self, source: str, destination: str, *, version_id: str | None) -> None: ...

    def discard(self, key: str) -> None: ...

    def download_url(self, key: str, *, filename: str, content_type: str, expires_in: timedelta) -> str: ...
