"""Use cases of the cases service. It owns the ports; adapters implement them."""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, Protocol, TypeVar

from caseline_common.contracts import CaseSnapshot, CaseStatus, PublishedTemplate, TemplateDefinition
from caseline_common.envelope import EventEnvelope
from caseline_common.errors import FieldIssue, ForbiddenError, InvalidInputError, NotFoundError
from caseline_common.pagination import Page
from caseline_common.tenant import StaffRole, TenantContext
from pydantic import BaseModel

from .domain.cases import OpenCaseRequest, open_case
from .domain.templates import publish_first_version

IDEMPOTENCY_WINDOW = timedelta(hours=24)


class TemplateSummary(BaseModel):
    key: str
    name: str
    latest_version: int
    published_at: datetime


@dataclass(frozen=True)
class CaseFilter:
    status: CaseStatus | None = None
    stage: str | None = None


@dataclass(frozen=True)
class IdempotencyClaim:
    """Written in the same transaction as the resource, so a retried request can never create it twice."""

    scope: str
    request_hash: str
    resource_id: str
    expires_at: datetime


class IdempotencyKeyUsedError(Exception):
    """The claim's scope already exists: the request was made before."""


class TemplateExistsError(Exception):
    pass


class CasesRepository(Protocol):
    def publish_template(
        self, template: PublishedTemplate, event: EventEnvelope, claim: IdempotencyClaim | None
    ) -> None: ...

    def latest_template(self, key: str) -> PublishedTemplate | None: ...

    def list_templates(self, *, limit: int, cursor: str | None) -> Page[TemplateSummary]: ...

    def create_case(self, case: CaseSnapshot, event: EventEnvelope, claim: IdempotencyClaim | None) -> None: ...

    def get_case(self, case_id: str) -> CaseSnapshot | None: ...

    def list_cases(self, case_filter: CaseFilter, *, limit: int, cursor: str | None) -> Page[CaseSnapshot]: ...

    def idempotency_claim(self, scope: str) -> IdempotencyClaim | None: ...


ResourceT = TypeVar("ResourceT")


@dataclass(frozen=True)
class Created(Generic[ResourceT]):
    """A created resource; `replayed` when an Idempotency-Key repeated an earlier request."""

    resource: ResourceT
    replayed: bool


def _request_hash(body: BaseModel) -> str:
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class CasesService:
    def __init__(
        self, repository: CasesRepository, *, clock: Callable[[], datetime], new_id: Callable[[], str]
    ) -> None:
        self._repository = repository
        self._clock = clock
        self._new_id = new_id

    def _require(self, context: TenantContext, *roles: StaffRole) -> None:
        if not context.principal.has_any(*roles):
            raise ForbiddenError("Your role does not allow this.")

    def _claim(
        self, context: TenantContext, operation: str, key: str | None, body: BaseModel, resource_id: str
    ) -> IdempotencyClaim | None:
        if key is None:
            return None
        return IdempotencyClaim(
            scope=f"{operation}#{context.principal.subject}#{key}",
            request_hash=_request_hash(body),
            resource_id=resource_id,
            expires_at=self._clock() + IDEMPOTENCY_WINDOW,
        )

    def _replayed_resource_id(self, claim: IdempotencyClaim) -> str:
        earlier = self._repository.idempotency_claim(claim.scope)
        if earlier is None:  # expired between the write and this read: the key is free again
            raise InvalidInputError(
                "Retry the request.",
                [FieldIssue(location="header", pointer="/Idempotency-Key", detail="expired")],
            )
        if earlier.request_hash != claim.request_hash:
            raise InvalidInputError(
                "This Idempotency-Key was used with a different request.",
                [FieldIssue(location="header", pointer="/Idempotency-Key", detail="reused with another body")],
            )
        return earlier.resource_id

    # Templates

    def publish_template(
        self, context: TenantContext, definition: TemplateDefinition, idempotency_key: str | None
    ) -> Created[PublishedTemplate]:
        self._require(context, StaffRole.ADMIN)
        template, event = publish_first_version(definition, context, now=self._clock())
        claim = self._claim(context, "publish_template", idempotency_key, definition, definition.key)
        try:
            self._repository.publish_template(template, event, claim)
        except IdempotencyKeyUsedError:
            assert claim is not None
            return Created(self.get_template(context, self._replayed_resource_id(claim)), replayed=True)
        except TemplateExistsError:
            raise InvalidInputError(
                f"A template with key {definition.key} already exists.",
                [FieldIssue(pointer="/key", detail="already exists; publish a new version of it instead")],
            ) from None
        return Created(template, replayed=False)

    def get_template(self, context: TenantContext, key: str) -> PublishedTemplate:
        self._require(context, StaffRole.ADMIN, StaffRole.STAFF)
        template = self._repository.latest_template(key)
        if template is None:
            raise NotFoundError(f"No template {key}.")
        return template

    def list_templates(self, context: TenantContext, *, limit: int, cursor: str | None) -> Page[TemplateSummary]:
        self._require(context, StaffRole.ADMIN, StaffRole.STAFF)
        return self._repository.list_templates(limit=limit, cursor=cursor)

    # Cases

    def open_case(
        self, context: TenantContext, request: OpenCaseRequest, idempotency_key: str | None
    ) -> Created[CaseSnapshot]:
        self._require(context, StaffRole.ADMIN, StaffRole.STAFF)
        template = self._repository.latest_template(request.template_key)
        if template is None:
            raise InvalidInputError(
                "Unknown template.",
                [FieldIssue(pointer="/template_key", detail=f"no template {request.template_key}")],
            )
        case, event = open_case(template, request, context, case_id=self._new_id(), now=self._clock())
        claim = self._claim(context, "open_case", idempotency_key, request, case.id)
        try:
            self._repository.create_case(case, event, claim)
        except IdempotencyKeyUsedError:
            assert claim is not None
            return Created(self.get_case(context, self._replayed_resource_id(claim)), replayed=True)
        return Created(case, replayed=False)

    def get_case(self, context: TenantContext, case_id: str) -> CaseSnapshot:
        self._require(context, StaffRole.ADMIN, StaffRole.STAFF)
        case = self._repository.get_case(case_id)
        if case is None or case.tenant_id != context.tenant_id:
            raise NotFoundError(f"No case {case_id}.")
        return case

    def list_cases(
        self, context: TenantContext, case_filter: CaseFilter, *, limit: int, cursor: str | None
    ) -> Page[CaseSnapshot]:
        self._require(context, StaffRole.ADMIN, StaffRole.STAFF)
        return self._repository.list_cases(case_filter, limit=limit, cursor=cursor)
