"""Use cases of cases: opening, reading and listing them, commands on one case, comments and documents."""

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import cache
from itertools import chain

from caseline_common.access import CaseAccess, case_access, redact, visible_case
from caseline_common.adapters.s3_documents import StoredUpload, document_key, quarantine_key
from caseline_common.automation_commands import DueTimer
from caseline_common.contracts import CaseSnapshot, DocumentVersion, Permission, PublishedTemplate
from caseline_common.envelope import EventEnvelope, derived_id
from caseline_common.errors import (
    ConcurrentWriteError,
    ConflictError,
    FieldIssue,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    PreconditionFailedError,
)
from caseline_common.events import AutomationRefused, EventType
from caseline_common.examples import CASE_ID, SHA256, UPLOAD_ID
from caseline_common.idempotency import Answer, Claim, KeyClaimedError, replay_of
from caseline_common.pagination import Page
from caseline_common.tenant import READERS, StaffRole, TenantContext
from caseline_common.text import FileName
from pydantic import BaseModel, ConfigDict, Field

from .claims import Claims
from .domain import cases, documents, timers
from .domain.cases import Comment, CommentRequest, OpenCaseRequest, open_case
from .domain.criteria import Unmet, unmet_entry_criteria, unmet_exit_criteria
from .domain.file_types import Detected, check_content, looks_like_markup
from .domain.templates import following_stages
from .domain.work import CaseWork, Change
from .ports import CaseFilter, CasesRepository, DocumentStore, StaleVersionError

UPLOAD_WINDOW = timedelta(minutes=15)
DOWNLOAD_WINDOW = timedelta(minutes=5)


# puremagic (and its table, read at import) is loaded only to check an upload: a function that never confirms one
# (the outbox publisher, case_commands for rules) does not pay for it at its cold start.


@cache
def identifiable() -> frozenset[str]:
    """Every content type some file signature in puremagic's table proves; a declared type outside it cannot be
    checked."""
    import puremagic

    rows = chain(puremagic.magic_header_array, puremagic.magic_footer_array, *puremagic.multi_part_dict.values())
    return frozenset(row.mime_type for row in rows if row.mime_type)


def detected_content(stored: StoredUpload) -> Detected:
    """What an upload's bytes look like: the types of every signature puremagic finds in their head and tail."""
    import puremagic

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


class RaceLostError(ConcurrentWriteError):
    """Another change landed between this command's read and its write; the same command may simply be retried."""


class UploadTarget(BaseModel):
    """Where to POST the file: a form to send as multipart/form-data, with the file as the last part."""

    model_config = ConfigDict(
        defer_build=True,
        json_schema_extra={
            "examples": [
                {
                    "upload_id": UPLOAD_ID,
                    "url": "https://caseline-nordlicht-documents-123456789012.s3.eu-central-1.amazonaws.com/",
                    "fields": {
                        "Content-Type": "application/pdf",
                        "key": f"quarantine/{CASE_ID}/{UPLOAD_ID}",
                        "x-amz-algorithm": "AWS4-HMAC-SHA256",
                        "x-amz-credential": "ASIAEXAMPLEKEYID/20261129/eu-central-1/s3/aws4_request",
                        "x-amz-date": "20261129T103012Z",
                        "policy": "eyJleHBpcmF0aW9uIjogIjIwMjYtMTEtMjlUMTA6NDU6MTJaIn0=",
                        "x-amz-signature": "b15ee643a42b079bcee6c799d9427dfe0d883775bac938383802861427c5bb85",
                    },
                    "expires_at": "2026-11-29T10:45:12Z",
                    "max_size_bytes": 10485760,
                }
            ]
        },
    )

    upload_id: str
    url: str
    fields: dict[str, str]
    expires_at: datetime
    max_size_bytes: int


class DownloadLink(BaseModel):
    model_config = ConfigDict(
        defer_build=True,
        json_schema_extra={
            "examples": [
                {
                    # the download origin (CloudFront) in front of the bucket, with S3's presigned query
                    "url": f"https://d2x7k4example.cloudfront.net/documents/{CASE_ID}/repair_estimate/1"
                    "?response-content-disposition=attachment%3B%20filename%3D%22estimate-garage-mueller.pdf%22"
                    "&response-content-type=application%2Fpdf&X-Amz-Algorithm=AWS4-HMAC-SHA256"
                    "&X-Amz-Expires=300&X-Amz-Signature=4f1c0e9d2b7a",
                    "expires_at": "2026-12-01T11:10:00Z",
                    "filename": "estimate-garage-mueller.pdf",
                    "content_type": "application/pdf",
                    "sha256": SHA256,
                }
            ]
        },
    )

    url: str
    expires_at: datetime
    filename: str
    content_type: str
    sha256: str


class UploadRequest(BaseModel):
    model_config = ConfigDict(
        defer_build=True,
        json_schema_extra={
            "examples": [
                {
                    "type": "repair_estimate",
                    "filename": "estimate-garage-mueller.pdf",
                    "content_type": "application/pdf",
                    "size": 182340,
                }
            ]
        },
    )

    type: str = Field(pattern=r"^[a-z][a-z0-9_]{0,62}$", description="The document type's key.")
    filename: FileName
    content_type: str = Field(pattern=r"^[a-z]+/[a-z0-9.+-]+$", max_length=127)
    size: int = Field(ge=1, le=5 * 1024**3, description="Bytes; the upload may not be larger.")


class CriteriaReport(BaseModel):
    model_config = ConfigDict(
        defer_build=True,
        json_schema_extra={
            "examples": [
                {
                    "stage": "submitted",
                    "unmet_to_leave": [
                        {
                            "stage": "submitted",
                            "description": 'Task "Acknowledge the claim to the policyholder" is done',
                        }
                    ],
                    "next_stages": {
                        "assessment": [
                            {
                                "stage": "submitted",
                                "description": 'Task "Acknowledge the claim to the policyholder" is done',
                            }
                        ]
                    },
                }
            ]
        },
    )

    stage: str
    unmet_to_leave: list[Unmet]
    next_stages: dict[str, list[Unmet]] = Field(description="For each forward move, what is still unmet.")


CaseCommand = Callable[[CaseWork], Change | None]


def require(context: TenantContext, *roles: StaffRole) -> None:
    if not context.principal.has_any(*roles):
        raise ForbiddenError("Your role does not allow this.")


class CaseService:
    """Each command is one read of the case and one transactional write of the change with its event."""

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
        self._claims = Claims(repository, clock)

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
            require(context, *READERS)
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
        require(context, StaffRole.ADMIN, StaffRole.STAFF)
        claim = self._claims.claim(context, "open_case", idempotency_key, request)
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
        """Cases the caller may see, one index Query and one read of the cases a page. For non-admins, cases they
        may not see are left out of the page, so it may come back short, with a cursor to read on from."""
        require(context, *READERS)
        found: list[CaseSnapshot] = []
        page = self._repository.list_cases(case_filter, limit=limit, cursor=cursor)
        for case in page.items:
            access = case_access(self._template_of(case).definition, case, context.principal)
            if access.can_view:
                found.append(redact(case, access))
        return Page(items=found, next_cursor=page.next_cursor)

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
        claim = self._claims.claim(context, f"{operation}#{case_id}", idempotency_key, body) if operation else None
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
            return self._claims.claimed(claim, redact(case, access))
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
        claim = self._claims.claim(context, f"comment#{case_id}", idempotency_key, request)
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
        from ulid import ULID  # python-ulid at the first refusal, not in every function's cold start

        case, _template, _access = self._case(context, case_id)
        event = EventEnvelope.new(
            tenant_id=context.tenant_id,
            case_id=case_id,
            type=EventType.AUTOMATION_REFUSED,
            actor=context.principal.actor(),
            **context.caused(),
            occurred_at=self._clock(),
            event_id=derived_id(ULID.from_str(command.event_id).datetime, command.event_id, "refused"),
            data=AutomationRefused(
                command_id=command.event_id, command=command.type, action=command.data, detail=detail
            ).dump(),
        )
        self._repository.record_event(event, case)

    def list_comments(self, context: TenantContext, case_id: str, *, limit: int, cursor: str | None) -> Page[Comment]:
        self._case(context, case_id)
        return self._repository.list_comments(case_id, limit=limit, cursor=cursor)

    # Documents

    def start_upload(
        self, context: TenantContext, case_id: str, request: UploadRequest, idempotency_key: str | None = None
    ) -> Answer[UploadTarget]:
        claim = self._claims.claim(context, f"upload#{case_id}", idempotency_key, request)
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
        return self._claims.claimed(claim, target)

    def confirm_upload(
        self, context: TenantContext, case_id: str, upload_id: str, idempotency_key: str | None = None
    ) -> Answer[CaseSnapshot]:
        """Checks the file that arrived in quarantine and adds it to the case as its type's next version.

        Confirming twice is harmless: the second call finds the version already on the case."""
        operation = f"confirm_upload#{upload_id}"
        claim = self._claims.claim(context, f"{operation}#{case_id}", idempotency_key, None)
        found, earlier = self._read(context, case_id, claim)
        replayed = replay_of(claim, earlier, CaseSnapshot)
        if replayed is not None:
            return replayed
        case, template, access = self._checked(context, case_id, found)
        access.require(Permission.DOCUMENT_UPLOAD, "upload documents")  # before saying whether it was confirmed
        if any(v.upload_id == upload_id for document in case.documents for v in document.versions):
            return self._claims.claimed(claim, redact(case, access))
        source = quarantine_key(case_id, upload_id)
        stored = self._documents.inspect(source)
        if stored is None or stored.metadata.get("case-id") != case_id:
            raise NotFoundError(f"No upload {upload_id} has arrived for this case.")
        type_key = stored.metadata.get("document-type", "")
        work = CaseWork(template, case, access, context, self._clock(), self._new_id)
        try:  # what arrived is checked again: the form's conditions are the client's promise, not proof
            documents.document_type(work, type_key, content_type=stored.content_type, size=stored.size)
            check_content(stored.content_type, detected_content(stored), identifiable())
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
