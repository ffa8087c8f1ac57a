"""Use cases of templates: drafts, publishing, versions and their differences, and moving open cases to a
newer version."""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from caseline_common.contracts import CaseStatus, PublishedTemplate, TemplateDefinition
from caseline_common.envelope import EventEnvelope
from caseline_common.errors import ConflictError, DomainError, FieldIssue, InvalidInputError, NotFoundError
from caseline_common.events import EventType, TemplatePublished
from caseline_common.idempotency import Answer, Claim, KeyClaimedError
from caseline_common.pagination import Page
from caseline_common.tenant import READERS, StaffRole, TenantContext
from pydantic import BaseModel, ConfigDict

from .case_service import CaseService, require
from .claims import Claims
from .domain.migration import (
    MigrateRequest,
    MigrationPreview,
    MigrationResult,
    MigrationResults,
    migrate,
    preview_migration,
)
from .domain.templates import TemplateChange, diff_templates, draft_definition, draft_issues, template_issues
from .ports import CaseFilter, CasesRepository, TemplateDraft, TemplateExistsError, TemplateSummary


class TemplateDiff(BaseModel):
    model_config = ConfigDict(
        defer_build=True,
        json_schema_extra={
            "examples": [
                {
                    "key": "motor-claim",
                    "from_version": 1,
                    "to_version": 2,
                    "changes": [
                        {
                            "path": "/fields/vehicle_registration",
                            "change": "added",
                            "after": {"key": "vehicle_registration", "label": "Vehicle registration", "type": "text"},
                        }
                    ],
                }
            ]
        },
    )

    key: str
    from_version: int
    to_version: int
    changes: list[TemplateChange]


class TemplateService:
    """Migrations run as commands of the case service, each case on its own."""

    def __init__(self, repository: CasesRepository, cases: CaseService, *, clock: Callable[[], datetime]) -> None:
        self._repository = repository
        self._cases = cases
        self._clock = clock
        self._claims = Claims(repository, clock)

    def publish_template(
        self, context: TenantContext, definition: TemplateDefinition, idempotency_key: str | None
    ) -> Answer[PublishedTemplate]:
        """Version 1 of a new template."""
        require(context, StaffRole.ADMIN)
        claim = self._claims.claim(context, "publish_template", idempotency_key, definition)
        replayed = self._claims.replayed(claim, PublishedTemplate)
        if replayed is not None:
            return replayed
        try:
            return Answer(self._publish(context, definition, version=1, claim=claim))
        except KeyClaimedError as taken:
            return taken.replay(PublishedTemplate)
        except TemplateExistsError:
            raise InvalidInputError(
                f"A template with key {definition.key} already exists.",
                [FieldIssue(pointer="/key", detail="already exists; publish a new version of it instead")],
            ) from None

    def publish_version(
        self,
        context: TenantContext,
        key: str,
        definition: TemplateDefinition | None,
        idempotency_key: str | None,
    ) -> Answer[PublishedTemplate]:
        """The next version of a template, from the body or else from the saved draft."""
        require(context, StaffRole.ADMIN)
        # The body as sent: once published, the draft it may name is gone.
        claim = self._claims.claim(context, f"publish_version#{key}", idempotency_key, definition)
        replayed = self._claims.replayed(claim, PublishedTemplate)
        if replayed is not None:
            return replayed
        prefix = "/definition"  # where the issues point: into the body, or into the draft itself
        if definition is None:
            draft = self._repository.draft(key)
            if draft is None:
                raise NotFoundError(f"Template {key} has no draft to publish; send a definition.")
            definition, prefix = draft_definition(draft.definition), ""
        if definition.key != key:
            raise InvalidInputError(
                "The key differs.", [FieldIssue(pointer="/definition/key", detail=f"must be {key}")]
            )
        latest = self._repository.latest_template(key)
        version = latest.version + 1 if latest else 1
        try:
            return Answer(self._publish(context, definition, version=version, claim=claim))
        except KeyClaimedError as taken:
            return taken.replay(PublishedTemplate)
        except TemplateExistsError:
            raise ConflictError(f"Version {version} of {key} was published meanwhile; retry.") from None
        except InvalidInputError as error:
            error.issues = [issue.model_copy(update={"pointer": prefix + issue.pointer}) for issue in error.issues]
            raise

    def _publish(
        self, context: TenantContext, definition: TemplateDefinition, *, version: int, claim: Claim | None
    ) -> PublishedTemplate:
        require(context, StaffRole.ADMIN)
        issues = template_issues(definition)
        if issues:
            raise InvalidInputError("The template has mistakes.", issues)
        now = self._clock()
        template = PublishedTemplate(
            definition=definition, version=version, published_at=now, published_by=context.principal.subject
        )
        event = EventEnvelope.new(
            tenant_id=context.tenant_id,
            type=EventType.TEMPLATE_PUBLISHED,
            actor=context.principal.actor(),
            correlation_id=context.correlation_id,
            occurred_at=now,
            # The definition travels with the event: the portal and automations keep their own copy of what they
            # need and never read the cases table.
            data=TemplatePublished(
                template_key=definition.key, version=version, name=definition.name, definition=definition
            ).dump(),
        )
        self._repository.publish_template(template, event, claim and claim.answering(template))
        return template

    def save_draft(self, context: TenantContext, key: str, document: dict[str, Any]) -> TemplateDraft:
        """Keeps any draft as sent, finished or not, with what must change before it can be published."""
        require(context, StaffRole.ADMIN)
        if document.get("key") != key:
            raise InvalidInputError("The key differs.", [FieldIssue(pointer="/key", detail=f"must be {key}")])
        draft = TemplateDraft(
            definition=document,
            saved_at=self._clock(),
            saved_by=context.principal.subject,
            issues=draft_issues(document),
        )
        self._repository.save_draft(key, draft)
        return draft

    def get_draft(self, context: TenantContext, key: str) -> TemplateDraft:
        require(context, StaffRole.ADMIN)
        draft = self._repository.draft(key)
        if draft is None:
            raise NotFoundError(f"Template {key} has no draft.")
        return draft

    def get_template(self, context: TenantContext, key: str) -> PublishedTemplate:
        require(context, *READERS)
        template = self._repository.latest_template(key)
        if template is None:
            raise NotFoundError(f"No template {key}.")
        return template

    def get_template_version(self, context: TenantContext, key: str, version: int) -> PublishedTemplate:
        require(context, *READERS)
        template = self._repository.template_version(key, version)
        if template is None:
            raise NotFoundError(f"No version {version} of template {key}.")
        return template

    def list_template_versions(
        self, context: TenantContext, key: str, *, limit: int, cursor: str | None
    ) -> Page[PublishedTemplate]:
        require(context, *READERS)
        return self._repository.list_template_versions(key, limit=limit, cursor=cursor)

    def list_templates(self, context: TenantContext, *, limit: int, cursor: str | None) -> Page[TemplateSummary]:
        require(context, *READERS)
        return self._repository.list_templates(limit=limit, cursor=cursor)

    def diff_template(self, context: TenantContext, key: str, before: int, after: int) -> TemplateDiff:
        old = self.get_template_version(context, key, before)
        new = self.get_template_version(context, key, after)
        return TemplateDiff(
            key=key, from_version=before, to_version=after, changes=diff_templates(old.definition, new.definition)
        )

    # Migration

    def preview_migration(
        self, context: TenantContext, key: str, to_version: int, *, limit: int, cursor: str | None
    ) -> Page[MigrationPreview]:
        require(context, StaffRole.ADMIN)
        target = self.get_template_version(context, key, to_version)
        page = self._repository.list_cases(
            CaseFilter(template_key=key, status=CaseStatus.OPEN), limit=limit, cursor=cursor
        )
        return Page(
            items=[preview_migration(case, target) for case in page.items if case.template_version != to_version],
            next_cursor=page.next_cursor,
        )

    def migrate_cases(
        self, context: TenantContext, key: str, request: MigrateRequest, idempotency_key: str | None
    ) -> Answer[MigrationResults]:
        """Each selected case moves, or fails to, on its own: a result per case. Who may migrate and to which
        version are checked first, for the whole request, before any case is read."""
        require(context, StaffRole.ADMIN)
        target = self.get_template_version(context, key, request.to_version)
        claim = self._claims.claim(context, f"migrate#{key}", idempotency_key, request)
        replayed = self._claims.replayed(claim, MigrationResults)
        if replayed is not None:
            return replayed
        results = [
            self._migrate_case(context, target, request, case_id, idempotency_key)
            for case_id in dict.fromkeys(request.case_ids)
        ]
        return self._claims.claimed(claim, MigrationResults(results=results))

    def _migrate_case(
        self,
        context: TenantContext,
        target: PublishedTemplate,
        request: MigrateRequest,
        case_id: str,
        idempotency_key: str | None,
    ) -> MigrationResult:
        key = target.definition.key
        try:
            # Each case claims the key too, so a retry after a crash half-way replays the cases already moved.
            case = self._cases.command(
                context,
                case_id,
                lambda work: migrate(work, target),
                operation=f"migrate#{key}",
                idempotency_key=idempotency_key,
                body=request,
            ).resource
        except DomainError as refusal:
            issues = refusal.issues if isinstance(refusal, InvalidInputError) else []
            problem = "; ".join(issue.detail for issue in issues) or refusal.detail
            return MigrationResult(case_id=case_id, migrated=False, problem=problem)
        return MigrationResult(case_id=case_id, migrated=True, version=case.template_version)
