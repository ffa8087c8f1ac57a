"""Use cases of the cases service. It owns the ports; adapters implement them."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import chain
from typing import Protocol, TypeVar

import puremagic
from caseline_common.access import CaseAccess, case_access, redact, visible_case
from caseline_common.adapters.documents import StoredUpload, document_key, quarantine_key
from caseline_common.automation_commands import DueTimer
from caseline_common.contracts import (
    CaseSnapshot,
    CaseStatus,
    DocumentVersion,
    Permission,
    PublishedTemplate,
    TemplateDefinition,
)
from caseline_common.envelope import EventEnvelope, derived_id
from caseline_common.errors import (
    ConflictError,
    DomainError,
    FieldIssue,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    PreconditionFailedError,
)
from caseline_common.idempotency import Answer, Claim, KeyClaimedError, replay_of
from caseline_common.pagination import Page
from caseline_common.tenant import READERS, StaffRole, TenantContext
from caseline_common.text import FileName
from pydantic import BaseModel, Field
from ulid import ULID

from .domain import cases, documents, timers
from .domain.cases import CaseSearch, Comment, CommentRequest, OpenCaseRequest, open_case
from .domain.criteria import Unmet, unmet_entry_criteria, unmet_exit_criteria
from .domain.file_types import Detected, check_content, looks_like_markup
from .domain.migration import (
    MigrateRequest,
    MigrationPreview,
    MigrationResult,
    MigrationResults,
    migrate,
    preview_migration,
)
from .domain.templates import TemplateChange, diff_templates, following_stages, template_issues
from .domain.work import CaseWork, Change

UPLOAD_WINDOW = timedelta(minutes=15)
DOWNLOAD_WINDOW = timedelta(minutes=5)
SEARCH_QUERIES_PER_PAGE = 10  # bounds what one searched page reads; the cursor reads on from there


# Every content type some file signature in puremagic's table proves; a declared type outside it cannot be checked.
IDENTIFIABLE = frozenset(
    row.mime_type
    for row in chain(puremagic.magic_header_array, puremagic.magic_footer_array, *puremagic.multi_part_dict.values())
    if row.mime_type
)


def detected_content(stored: StoredUpload) -> Detected:
    """What an upload's bytes look like: the types of every signature puremagic finds in their head and tail."""
    # puremagic reads a string's first and last bytes; head + tail hands it exactly those of the whole file.
    sample = stored.head if stored.size <= len(stored.head) else stored.head + stored.tail
    try:
        matches = puremagic.magic_string(sample) if sample else []
    except puremagic.PureError:  # no signature it knows
        matches = []
    return Detected(
        signatures=frozenset(match.mime_type for match in matches if match.mime_type),
        text=stored.text,
        markup=looks_like_markup(stored.head),
    )


class TemplateSummary(BaseModel):
    key: str
    name: str
    latest_version: int
    published_at: datetime


class TemplateDraft(BaseModel):
    definition: TemplateDefinition
    saved_at: datetime
    saved_by: str
    issues: list[FieldIssue] = Field(description="What must be fixed before this draft can be published.")


class TemplateDiff(BaseModel):
    key: str
    from_version: int
    to_version: int
    changes: list[TemplateChange]


@dataclass(frozen=True)
class CaseFilter:
    status: CaseStatus | None = None
    stage: str | None = None
    template_key: str | None = None
    owner: str | None = None
    participant: str | None = None
    updated_since: datetime | None = None
    search: CaseSearch | None = None


class TemplateExistsError(Exception):
    pass


class StaleVersionError(Exception):
    """The case changed since it was read; carries the version it has now, when known."""

    def __init__(self, current_version: int | None) -> None:
        super().__init__(current_version)
        self.current_version = current_version


class RaceLostError(ConflictError):
    """Another change landed between this command's read and its write; the same command may simply be retried."""


class UploadTarget(BaseModel):
    """Where to POST the file: a form to send as multipart/form-data, with the file as the last part."""

    upload_id: str
    url: str
    fields: dict[str, str]
    expires_at: datetime
    max_size_bytes: int


class DownloadLink(BaseModel):
    url: str
    expires_at: datetime
    filename: str
    content_type: str
    sha256: str


class UploadRequest(BaseModel):
    type: str = Field(pattern=r"^[a-z][a-z0-9_]{0,62}$", description="The document type's key.")
    filename: FileName
    content_type: str = Field(pattern=r"^[a-z]+/[a-z0-9.+-]+$", max_length=127)
    size: int = Field(ge=1, le=5 * 1024**3, description="Bytes; the upload may not be larger.")


class CriteriaReport(BaseModel):
    stage: str
    unmet_to_leave: list[Unmet]
    next_stages: dict[str, list[Unmet]] = Field(description="For each forward move, what is still unmet.")


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

    def save_draft(self, draft: TemplateDraft) -> None: ...

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


ModelT = TypeVar("ModelT", bound=BaseModel)
CaseCommand = Callable[[CaseWork], Change | None]


class CasesService:
    def __init__(
        self,
        repository: CasesRepository,
        documents: DocumentStore,
        *,
        clock: Callable[[], datetime],
        new_id: Callable[[], str],
    ) -> None:
        self._repository = repository
        self._documents = documents
        self._clock = clock
        self._new_id = new_id

    def _require(self, context: TenantContext, *roles: StaffRole) -> None:
        if not context.principal.has_any(*roles):
            raise ForbiddenError("Your role does not allow this.")

    def _claim(self, context: TenantContext, operation: str, key: str | None, body: BaseModel | None) -> Claim | None:
        return Claim.of(context, operation, key, body, self._clock())

    def _replayed(self, claim: Claim | None, model: type[ModelT]) -> Answer[ModelT] | None:
        """An earlier request's answer to this one's key, read before anything else is checked."""
        return replay_of(claim, self._repository.idempotency_claim(claim.scope) if claim else None, model)

    def _claimed(self, claim: Claim | None, answer: ModelT) -> Answer[ModelT]:
        """An answer that came with no write of its own, claimed alone so that a retry gets it too."""
        if claim is not None:
            try:
                self._repository.save_claim(claim.answering(answer))
            except KeyClaimedError as taken:
                return taken.replay(type(answer))
        return Answer(answer)

    # Templates

    def publish_template(
        self, context: TenantContext, definition: TemplateDefinition, idempotency_key: str | None
    ) -> Answer[PublishedTemplate]:
        """Version 1 of a new template."""
        self._require(context, StaffRole.ADMIN)
        claim = self._claim(context, "publish_template", idempotency_key, definition)
        replayed = self._replayed(claim, PublishedTemplate)
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
        self._require(context, StaffRole.ADMIN)
        # The body as sent: once published, the draft it may name is gone.
        claim = self._claim(context, f"publish_version#{key}", idempotency_key, definition)
        replayed = self._replayed(claim, PublishedTemplate)
        if replayed is not None:
            return replayed
        prefix = "/definition"  # where the issues point: into the body, or into the draft itself
        if definition is None:
            draft = self._repository.draft(key)
            if draft is None:
                raise NotFoundError(f"Template {key} has no draft to publish; send a definition.")
            definition, prefix = draft.definition, ""
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
        self._require(context, StaffRole.ADMIN)
        issues = template_issues(definition)
        if issues:
            raise InvalidInputError("The template has mistakes.", issues)
        now = self._clock()
        template = PublishedTemplate(
            definition=definition, version=version, published_at=now, published_by=context.principal.subject
        )
        event = EventEnvelope.new(
            tenant_id=context.tenant_id,
            type="template.published",
            actor=context.principal.actor(),
            correlation_id=context.correlation_id,
            occurred_at=now,
            # The definition travels with the event: the portal and automations keep their own copy of what they
            # need and never read the cases table.
            data={
                "template_key": definition.key,
                "version": version,
                "name": definition.name,
                "definition": definition.model_dump(mode="json"),
            },
        )
        self._repository.publish_template(template, event, claim and claim.answering(template))
        return template

    def save_draft(self, context: TenantContext, key: str, definition: TemplateDefinition) -> TemplateDraft:
        self._require(context, StaffRole.ADMIN)
        if definition.key != key:
            raise InvalidInputError("The key differs.", [FieldIssue(pointer="/key", detail=f"must be {key}")])
        draft = TemplateDraft(
            definition=definition,
            saved_at=self._clock(),
            saved_by=context.principal.subject,
            issues=template_issues(definition),
        )
        self._repository.save_draft(draft)
        return draft

    def get_draft(self, context: TenantContext, key: str) -> TemplateDraft:
        self._require(context, StaffRole.ADMIN)
        draft = self._repository.draft(key)
        if draft is None:
            raise NotFoundError(f"Template {key} has no draft.")
        return draft

    def get_template(self, context: TenantContext, key: str) -> PublishedTemplate:
        self._require(context, *READERS)
        template = self._repository.latest_template(key)
        if template is None:
            raise NotFoundError(f"No template {key}.")
        return template

    def get_template_version(self, context: TenantContext, key: str, version: int) -> PublishedTemplate:
        self._require(context, *READERS)
        template = self._repository.template_version(key, version)
        if template is None:
            raise NotFoundError(f"No version {version} of template {key}.")
        return template

    def list_template_versions(
        self, context: TenantContext, key: str, *, limit: int, cursor: str | None
    ) -> Page[PublishedTemplate]:
        self._require(context, *READERS)
        return self._repository.list_template_versions(key, limit=limit, cursor=cursor)

    def list_templates(self, context: TenantContext, *, limit: int, cursor: str | None) -> Page[TemplateSummary]:
        self._require(context, *READERS)
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
        self._require(context, StaffRole.ADMIN)
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
        self._require(context, StaffRole.ADMIN)
        target = self.get_template_version(context, key, request.to_version)
        claim = self._claim(context, f"migrate#{key}", idempotency_key, request)
        replayed = self._replayed(claim, MigrationResults)
        if replayed is not None:
            return replayed
        results = [
            self._migrate_case(context, target, request, case_id, idempotency_key)
            for case_id in dict.fromkeys(request.case_ids)
        ]
        return self._claimed(claim, MigrationResults(results=results))

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
            case = self.command(
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

    # Cases

    def _template_of(self, case: CaseSnapshot) -> PublishedTemplate:
        template = self._repository.template_version(case.template_key, case.template_version)
        if template is None:
            raise RuntimeError(f"case {case.id} is pinned to a missing template version")
        return template

    def _case(self, context: TenantContext, case_id: str) -> tuple[CaseSnapshot, PublishedTemplate, CaseAccess]:
        return self._checked(context, case_id, self._read(context, case_id, None)[0])

    def _read(
        self, context: TenantContext, case_id: str, claim: Claim | None
    ) -> tuple[CaseSnapshot | None, Claim | None]:
        """The case, and with a claim the earlier claim on its key, in one read."""
        if not context.principal.external:  # externals come only from portal commands; their role decides
            self._require(context, *READERS)
        if claim is None:
            return self._repository.get_case(case_id), None
        return self._repository.case_and_claim(case_id, claim.scope)

    def _checked(
        self, context: TenantContext, case_id: str, case: CaseSnapshot | None
    ) -> tuple[CaseSnapshot, PublishedTemplate, CaseAccess]:
        if case is None or case.tenant_id != context.tenant_id:
            raise NotFoundError(f"No case {case_id}.")
        template = self._template_of(case)
        return case, template, visible_case(template.definition, case, context.principal)

    def open_case(
        self, context: TenantContext, request: OpenCaseRequest, idempotency_key: str | None
    ) -> Answer[CaseSnapshot]:
        self._require(context, StaffRole.ADMIN, StaffRole.STAFF)
        claim = self._claim(context, "open_case", idempotency_key, request)
        if claim is None:
            template, earlier = self._repository.latest_template(request.template_key), None
        else:
            template, earlier = self._repository.latest_template_and_claim(request.template_key, claim.scope)
        replayed = replay_of(claim, earlier, CaseSnapshot)
        if replayed is not None:
            return replayed
        if template is None:
            raise InvalidInputError(
                "Unknown template.",
                [FieldIssue(pointer="/template_key", detail=f"no template {request.template_key}")],
            )
        change = open_case(template, request, context, case_id=self._new_id(), now=self._clock(), new_id=self._new_id)
        answer = redact(change.case, case_access(template.definition, change.case, context.principal))
        try:
            self._repository.create_case(change.case, change.event, claim and claim.answering(answer))
        except KeyClaimedError as taken:
            return taken.replay(CaseSnapshot)
        return Answer(answer)

    def get_case(self, context: TenantContext, case_id: str) -> CaseSnapshot:
        case, _, access = self._case(context, case_id)
        return redact(case, access)

    def criteria(self, context: TenantContext, case_id: str) -> CriteriaReport:
        case, template, _ = self._case(context, case_id)
        definition = template.definition
        stage = next(each for each in definition.stages if each.key == case.stage)
        unmet = unmet_exit_criteria(definition, case)
        return CriteriaReport(
            stage=case.stage,
            unmet_to_leave=unmet,
            next_stages={
                target: unmet + unmet_entry_criteria(definition, case, target)
                for target in following_stages(definition, stage)
            },
        )

    def list_cases(
        self, context: TenantContext, case_filter: CaseFilter, *, limit: int, cursor: str | None
    ) -> Page[CaseSnapshot]:
        """Cases the caller may see. For non-admins, cases they may not see are left out of the page.

        A search reads on through the filtered cases, at most SEARCH_QUERIES_PER_PAGE queries per page, each
        asking for no more than the page still has room for; so a page may come back short (even empty)
        with a cursor to read on from, as DynamoDB's own filtered pages do."""
        self._require(context, *READERS)
        found: list[CaseSnapshot] = []
        queries = 0
        while True:
            page = self._repository.list_cases(case_filter, limit=limit - len(found), cursor=cursor)
            queries += 1
            for case in page.items:
                if case_filter.search is not None and not case_filter.search.matches(case):
                    continue
                access = case_access(self._template_of(case).definition, case, context.principal)
                if access.can_view:
                    found.append(redact(case, access))
            cursor = page.next_cursor
            if case_filter.search is None or not cursor or len(found) >= limit or queries >= SEARCH_QUERIES_PER_PAGE:
                return Page(items=found, next_cursor=cursor)

    def command(
        self,
        context: TenantContext,
        case_id: str,
        run: CaseCommand,
        *,
        expected_version: int | None = None,
        if_match: int | None = None,
        operation: str | None = None,
        idempotency_key: str | None = None,
        body: BaseModel | None = None,
    ) -> Answer[CaseSnapshot]:
        """Reads the case once, runs one command on it and writes the result with its event in one transaction,
        conditional on the version read. A stale `expected_version` is 409, a stale If-Match 412. With a key, the
        claim is read with the case and looked at first: a retry answers what the first request did."""
        claim = self._claim(context, f"{operation}#{case_id}", idempotency_key, body) if operation else None
        found, earlier = self._read(context, case_id, claim)
        replayed = replay_of(claim, earlier, CaseSnapshot)
        if replayed is not None:
            return replayed
        case, template, access = self._checked(context, case_id, found)
        if if_match is not None and if_match != case.version:
            raise PreconditionFailedError(
                f"The case is at version {case.version}, not {if_match}.", current_version=case.version
            )
        if expected_version is not None and expected_version != case.version:
            raise ConflictError(
                f"The case is at version {case.version}, not {expected_version}; reload it and retry.",
                current_version=case.version,
            )
        work = CaseWork(template, case, access, context, self._clock(), self._new_id)
        change = run(work)
        if change is None:
            return self._claimed(claim, redact(case, access))
        after = case_access(template.definition, change.case, context.principal)
        answer = redact(change.case, after if after.can_view else access)
        try:
            self._repository.save_change(case, change, claim and claim.answering(answer))
        except KeyClaimedError as taken:
            return taken.replay(CaseSnapshot)
        except StaleVersionError as stale:
            if if_match is not None:
                raise PreconditionFailedError(
                    "The case changed while this request ran; reload it and retry.",
                    current_version=stale.current_version,
                ) from None
            raise RaceLostError(
                "The case changed while this request ran; reload it and retry.",
                current_version=stale.current_version,
            ) from None
        return Answer(answer)

    # Comments

    def add_comment(
        self, context: TenantContext, case_id: str, request: CommentRequest, idempotency_key: str | None
    ) -> Answer[Comment]:
        claim = self._claim(context, f"comment#{case_id}", idempotency_key, request)
        found, earlier = self._read(context, case_id, claim)
        replayed = replay_of(claim, earlier, Comment)
        if replayed is not None:
            return replayed
        case, template, access = self._checked(context, case_id, found)
        comment, event = cases.comment(CaseWork(template, case, access, context, self._clock(), self._new_id), request)
        try:
            self._repository.add_comment(comment, event, claim and claim.answering(comment), case)
        except KeyClaimedError as taken:
            return taken.replay(Comment)
        return Answer(comment)

    def timer_due(self, context: TenantContext, case_id: str, timer: DueTimer, event_id: str) -> bool:
        """Records what a due timer stands for (an SLA breach, a reminder, a custom timer) if its reason still
        holds. The event id comes from the timer, so firing twice records it once."""
        case, template, access = self._case(context, case_id)
        event = timers.timer_event(CaseWork(template, case, access, context, self._clock(), self._new_id), timer)
        if event is None:
            return False
        self._repository.record_event(event.model_copy(update={"event_id": event_id}), case)
        return True

    def record_refusal(self, context: TenantContext, case_id: str, command: EventEnvelope, detail: str) -> None:
        """Puts a rule's refused command on the case's timeline, so the team sees what did not happen and why."""
        case, _template, _access = self._case(context, case_id)
        event = EventEnvelope.new(
            tenant_id=context.tenant_id,
            case_id=case_id,
            type="automation.refused",
            actor=context.principal.actor(),
            **context.caused(),
            occurred_at=self._clock(),
            event_id=derived_id(ULID.from_str(command.event_id).datetime, command.event_id, "refused"),
            data={"command_id": command.event_id, "command": command.type, "action": command.data, "detail": detail},
        )
        self._repository.record_event(event, case)

    def list_comments(self, context: TenantContext, case_id: str, *, limit: int, cursor: str | None) -> Page[Comment]:
        self._case(context, case_id)
        return self._repository.list_comments(case_id, limit=limit, cursor=cursor)

    # Documents

    def start_upload(
        self, context: TenantContext, case_id: str, request: UploadRequest, idempotency_key: str | None = None
    ) -> Answer[UploadTarget]:
        claim = self._claim(context, f"upload#{case_id}", idempotency_key, request)
        found, earlier = self._read(context, case_id, claim)
        replayed = replay_of(claim, earlier, UploadTarget)
        if replayed is not None:
            return replayed
        case, template, access = self._checked(context, case_id, found)
        work = CaseWork(template, case, access, context, self._clock(), self._new_id)
        definition = documents.document_type(work, request.type, content_type=request.content_type, size=request.size)
        upload_id = self._new_id()
        url, fields = self._documents.upload_target(
            quarantine_key(case_id, upload_id),
            content_type=request.content_type,
            max_size=definition.max_size_bytes,
            metadata={
                "case-id": case_id,
                "document-type": request.type,
                "filename": request.filename,
                "uploaded-by": context.principal.subject,
            },
            expires_in=UPLOAD_WINDOW,
        )
        target = UploadTarget(
            upload_id=upload_id,
            url=url,
            fields=fields,
            expires_at=work.now + UPLOAD_WINDOW,
            max_size_bytes=definition.max_size_bytes,
        )
        return self._claimed(claim, target)

    def confirm_upload(
        self, context: TenantContext, case_id: str, upload_id: str, idempotency_key: str | None = None
    ) -> Answer[CaseSnapshot]:
        """Checks the file that arrived in quarantine and adds it to the case as its type's next version.

        Confirming twice is harmless: the second call finds the version already on the case."""
        operation = f"confirm_upload#{upload_id}"
        claim = self._claim(context, f"{operation}#{case_id}", idempotency_key, None)
        found, earlier = self._read(context, case_id, claim)
        replayed = replay_of(claim, earlier, CaseSnapshot)
        if replayed is not None:
            return replayed
        case, template, access = self._checked(context, case_id, found)
        access.require(Permission.DOCUMENT_UPLOAD, "upload documents")  # before saying whether it was confirmed
        if any(v.upload_id == upload_id for document in case.documents for v in document.versions):
            return self._claimed(claim, redact(case, access))
        source = quarantine_key(case_id, upload_id)
        stored = self._documents.inspect(source)
        if stored is None or stored.metadata.get("case-id") != case_id:
            raise NotFoundError(f"No upload {upload_id} has arrived for this case.")
        type_key = stored.metadata.get("document-type", "")
        work = CaseWork(template, case, access, context, self._clock(), self._new_id)
        try:  # what arrived is checked again: the form's conditions are the client's promise, not proof
            documents.document_type(work, type_key, content_type=stored.content_type, size=stored.size)
            check_content(stored.content_type, detected_content(stored), IDENTIFIABLE)
        except InvalidInputError:
            self._documents.discard(source)
            raise
        upload = DocumentVersion(
            version=1,
            upload_id=upload_id,
            object_key=document_key(case_id, type_key, upload_id),
            filename=stored.metadata.get("filename", upload_id),
            content_type=stored.content_type,
            size=stored.size,
            sha256=stored.sha256,
            uploaded_by=stored.metadata.get("uploaded-by", context.principal.subject),
            uploaded_at=work.now,
        )
        # Copied first and removed from quarantine last, so a confirm that fails half-way can simply be retried.
        self._documents.promote(source, upload.object_key, version_id=stored.version_id)
        confirmed = self.command(
            context,
            case_id,
            lambda work: documents.add_document_version(work, type_key, upload),
            operation=operation,
            idempotency_key=idempotency_key,
        )
        self._documents.discard(source)
        return confirmed

    def download(self, context: TenantContext, case_id: str, type_key: str, version: int) -> DownloadLink:
        case, _, access = self._case(context, case_id)
        access.require(Permission.DOCUMENT_VIEW, "download documents")
        document = next((each for each in case.documents if each.type == type_key), None)
        if document is None or not 1 <= version <= len(document.versions):
            raise NotFoundError(f"No version {version} of {type_key} on this case.")
        stored = document.versions[version - 1]
        return DownloadLink(
            url=self._documents.download_url(
                stored.object_key,
                filename=stored.filename,
                content_type=stored.content_type,
                expires_in=DOWNLOAD_WINDOW,
            ),
            expires_at=self._clock() + DOWNLOAD_WINDOW,
            filename=stored.filename,
            content_type=stored.content_type,
            sha256=stored.sha256,
        )
