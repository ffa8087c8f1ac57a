"""HTTP routes of cases: opening, reading and listing them, commands on one case, comments and documents."""

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from caseline_common.contracts import CaseSnapshot, CaseStatus
from caseline_common.http import LOCATION, Call, Header, ProblemError, Reply
from caseline_common.pagination import Page, PageQuery
from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, Field

from ..case_service import CriteriaReport, DownloadLink, UploadRequest, UploadTarget
from ..domain import cases, decisions, participants, stages, tasks
from ..domain.cases import Comment, CommentRequest, OpenCaseRequest
from ..domain.work import ReasonRequest
from ..ports import CaseFilter
from ..runtime import case_service
from . import VERSION_PATH, created_reply, http, page_version

_KEY = r"^[a-z][a-z0-9_]{0,62}$"
_SUBJECT = r"^[A-Za-z0-9._:@-]{1,256}$"
_ETAG = re.compile(r'^(?:W/)?"?(\d{1,12})"?$')
_ETAG_HEADER = Header(
    "ETag",
    'The case\'s version, such as "3": send it back as If-Match.',
    {"type": "string", "pattern": r'^"\d+"$'},
    required=True,
)
_IF_MATCH = Header(
    "If-Match",
    'The ETag of the case as you read it, such as "3"; if the case has changed since, the answer is 412.',
    {"type": "string", "pattern": _ETAG.pattern},
)
# PATCH needs a precondition: If-Match, or `version` in the body (the older way, kept for existing callers).
_IF_MATCH_REQUIRED = Header(
    _IF_MATCH.name,
    f"{_IF_MATCH.description} Instead, the body may carry `version` (stale: 409); with neither the answer is 428.",
    _IF_MATCH.schema,
    required=True,
)
_RFC3339 = re.compile(r"^\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(?:\.\d+)?(?:[Zz]|[+-]\d\d:\d\d)$")


def _rfc3339(value: object) -> object:
    if isinstance(value, str) and not _RFC3339.fullmatch(value):  # pydantic would also take "0.5", a timestamp
        raise ValueError("must be an RFC 3339 date-time, such as 2026-01-31T09:00:00Z")
    return value


def _in_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:59:59-01:00, past the last datetime in UTC
        raise ValueError("must fall within the years 1 to 9999 in UTC") from None


class CaseListQuery(PageQuery):
    status: CaseStatus | None = None
    stage: str | None = Field(default=None, pattern=_KEY)
    template_key: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9-]{1,62}$")
    owner: str | None = Field(default=None, pattern=_SUBJECT)
    participant: str | None = Field(default=None, pattern=_SUBJECT, description="A participating user's subject.")
    updated_since: Annotated[AwareDatetime, BeforeValidator(_rfc3339), AfterValidator(_in_utc)] | None = None
    q: str | None = Field(
        default=None,
        description="No longer taken (400): search with GET /search?q=, which takes the same filters.",
    )


def _case_reply(case: CaseSnapshot, replayed: bool = False) -> Reply:
    return Reply(case, headers={"ETag": f'"{case.version}"'}, replayed=replayed)


def _if_match(call: Call) -> int | None:
    raw = call.headers.get("if-match")
    if raw is None:
        return None
    match = _ETAG.fullmatch(raw.strip())
    if match is None:
        raise ProblemError(400, "invalid-if-match", "Invalid If-Match", 'If-Match must be a case ETag, such as "3".')
    return int(match.group(1))


@http.operation(
    "POST",
    "/cases",
    summary="Open a case from a template",
    request=OpenCaseRequest,
    response=CaseSnapshot,
    status=201,
    idempotent_create=True,
    errors=(413, 415, 422),
    response_headers=(LOCATION, _ETAG_HEADER),
)
def open_case(call: Call) -> Reply:
    created = case_service().open_case(call.tenant(), call.body_as(OpenCaseRequest), call.idempotency_key)
    reply = created_reply(created, f"/cases/{created.resource.id}")
    headers = {**reply.headers, "ETag": f'"{created.resource.version}"'}
    return Reply(reply.body, status=201, headers=headers, replayed=created.replayed)


@http.operation(
    "GET",
    "/cases",
    summary="List cases the caller may see (most recently changed first, or newest first when filtered)",
    query=CaseListQuery,
    response=Page[CaseSnapshot],
    errors=(422,),
)
def list_cases(call: Call) -> Reply:
    query = call.query_as(CaseListQuery)
    if query.q is not None:  # a page is one index Query; words are the search engine's
        raise ProblemError(
            400, "search-moved", "Search is GET /search", "GET /cases does not search; use GET /search?q= instead."
        )
    case_filter = CaseFilter(
        status=query.status,
        stage=query.stage,
        template_key=query.template_key,
        owner=query.owner,
        participant=query.participant,
        updated_since=query.updated_since,
    )
    return Reply(case_service().list_cases(call.tenant(), case_filter, limit=query.limit, cursor=query.cursor))


@http.operation(
    "GET",
    "/cases/{case_id}",
    summary="One case",
    response=CaseSnapshot,
    errors=(404,),
    response_headers=(_ETAG_HEADER,),
)
def get_case(call: Call) -> Reply:
    return _case_reply(case_service().get_case(call.tenant(), call.path["case_id"]))


@http.operation(
    "GET",
    "/cases/{case_id}/criteria",
    summary="What keeps the case in its stage, and what each forward move still needs",
    response=CriteriaReport,
    errors=(404,),
)
def case_criteria(call: Call) -> Reply:
    return Reply(case_service().criteria(call.tenant(), call.path["case_id"]))


@http.operation(
    "PATCH",
    "/cases/{case_id}",
    summary="Change field values or the title; send If-Match or `version`",
    request=cases.UpdateCaseRequest,
    response=CaseSnapshot,
    errors=(404, 409, 412, 413, 415, 422, 428),
    headers=(_IF_MATCH_REQUIRED,),
    response_headers=(_ETAG_HEADER,),
)
def update_case(call: Call) -> Reply:
    body = call.body_as(cases.UpdateCaseRequest)
    if_match = _if_match(call)
    if if_match is None and body.version is None:
        raise ProblemError(
            428, "precondition-required", "Precondition required", "Send If-Match or the version you read."
        )
    answer = case_service().command(
        call.tenant(),
        call.path["case_id"],
        lambda work: cases.update(work, body),
        expected_version=body.version,
        if_match=if_match,
    )
    return _case_reply(answer.resource)


def _case_command(
    path: str,
    summary: str,
    request: type[BaseModel] | None,
    run: Any,
    *,
    name: str,
    method: str = "POST",
    errors: tuple[int, ...] = (404, 409, 412, 413, 415, 422),
) -> None:
    """Declares a command on one case: one read, one transactional write, the new case back."""

    def view(call: Call) -> Reply:
        body = call.body_as(request) if request is not None else None
        answer = case_service().command(
            call.tenant(),
            call.path["case_id"],
            lambda work: run(work, call, body),
            if_match=_if_match(call),
            # the key's scope names the task or participant too, so one key never answers for another
            operation="#".join([name, *(value for key, value in sorted(call.path.items()) if key != "case_id")]),
            idempotency_key=call.idempotency_key,
            body=body,
        )
        return _case_reply(answer.resource, answer.replayed)

    view.__name__ = name
    http.operation(
        method,
        path,
        summary=summary,
        request=request,
        response=CaseSnapshot,
        idempotent_create=method == "POST",
        errors=errors,
        headers=(_IF_MATCH,),
        response_headers=(_ETAG_HEADER,),
    )(view)


_case_command(
    "/cases/{case_id}/transitions",
    "Move the case to another stage; unmet criteria answer 409 with each of them",
    stages.TransitionRequest,
    lambda work, _call, body: stages.transition(work, body),
    name="transition_case",
)
_case_command(
    "/cases/{case_id}/close",
    "Close the case from a final stage",
    cases.StatusChangeRequest,
    lambda work, _call, body: cases.close(work, body),
    name="close_case",
)
_case_command(
    "/cases/{case_id}/cancel",
    "Cancel the case, with a reason",
    ReasonRequest,
    lambda work, _call, body: cases.cancel(work, body),
    name="cancel_case",
)
_case_command(
    "/cases/{case_id}/reopen",
    "Reopen a closed or cancelled case, with a reason",
    ReasonRequest,
    lambda work, _call, body: cases.reopen(work, body),
    name="reopen_case",
)
_case_command(
    "/cases/{case_id}/assignment",
    "Give the case another owner",
    cases.AssignRequest,
    lambda work, _call, body: cases.assign(work, body),
    name="assign_case",
)
_case_command(
    "/cases/{case_id}/tasks",
    "Add an ad hoc task to the current stage, with a reason",
    tasks.AddTaskRequest,
    lambda work, _call, body: tasks.add_task(work, body),
    name="add_task",
)
_case_command(
    "/cases/{case_id}/tasks/{task_id}/complete",
    "Mark a task done",
    None,
    lambda work, call, _body: tasks.complete_task(work, call.path["task_id"]),
    name="complete_task",
    errors=(404, 409, 412),
)
_case_command(
    "/cases/{case_id}/tasks/{task_id}/reopen",
    "Reopen a done task, with a reason",
    ReasonRequest,
    lambda work, call, body: tasks.reopen_task(work, call.path["task_id"], body),
    name="reopen_task",
)
_case_command(
    "/cases/{case_id}/tasks/{task_id}/assignment",
    "Assign a task to a person and/or a role",
    tasks.AssignTaskRequest,
    lambda work, call, body: tasks.assign_task(work, call.path["task_id"], body),
    name="assign_task",
)
_case_command(
    "/cases/{case_id}/participants",
    "Add an internal (user id) or external (name, e-mail) participant",
    participants.AddParticipantRequest,
    lambda work, _call, body: participants.add_participant(work, body),
    name="add_participant",
)
_case_command(
    "/cases/{case_id}/participants/{participant_id}/role",
    "Change a participant's role",
    participants.ChangeRoleRequest,
    lambda work, call, body: participants.change_participant_role(work, call.path["participant_id"], body),
    name="change_participant_role",
)
_case_command(
    "/cases/{case_id}/participants/{participant_id}",
    "Remove a participant",
    None,
    lambda work, call, _body: participants.remove_participant(work, call.path["participant_id"]),
    name="remove_participant",
    method="DELETE",
    errors=(404, 409, 412),
)
_case_command(
    "/cases/{case_id}/decisions",
    "Record a decision with its rationale",
    decisions.RecordDecisionRequest,
    lambda work, _call, body: decisions.record_decision(work, body),
    name="record_decision",
)


# Comments


@http.operation(
    "POST",
    "/cases/{case_id}/comments",
    summary="Comment on the case, internally or shared with its external participants",
    request=CommentRequest,
    response=Comment,
    status=201,
    idempotent_create=True,
    errors=(404, 413, 415, 422),
    response_headers=(LOCATION,),
)
def add_comment(call: Call) -> Reply:
    case_id = call.path["case_id"]
    created = case_service().add_comment(call.tenant(), case_id, call.body_as(CommentRequest), call.idempotency_key)
    return created_reply(created, f"/cases/{case_id}/comments")


@http.operation(
    "GET",
    "/cases/{case_id}/comments",
    summary="Comments, oldest first",
    query=PageQuery,
    response=Page[Comment],
    errors=(404, 422),
)
def list_comments(call: Call) -> Reply:
    query = call.query_as(PageQuery)
    return Reply(
        case_service().list_comments(call.tenant(), call.path["case_id"], limit=query.limit, cursor=query.cursor)
    )


# Documents


@http.operation(
    "POST",
    "/cases/{case_id}/documents/uploads",
    summary="Get a presigned form to upload a document into quarantine",
    request=UploadRequest,
    response=UploadTarget,
    status=201,
    idempotent_create=True,
    errors=(404, 409, 413, 415, 422),
)
def start_upload(call: Call) -> Reply:
    target = case_service().start_upload(
        call.tenant(), call.path["case_id"], call.body_as(UploadRequest), call.idempotency_key
    )
    return Reply(target.resource, status=201, replayed=target.replayed)


@http.operation(
    "POST",
    "/cases/{case_id}/documents/uploads/{upload_id}/confirm",
    summary="Check an uploaded file (SHA-256, size, type) and add it as its type's next version",
    response=CaseSnapshot,
    idempotent_create=True,
    errors=(404, 409, 422),
    response_headers=(_ETAG_HEADER,),
)
def confirm_upload(call: Call) -> Reply:
    answer = case_service().confirm_upload(
        call.tenant(), call.path["case_id"], call.path["upload_id"], call.idempotency_key
    )
    return _case_reply(answer.resource, answer.replayed)


@http.operation(
    "GET",
    "/cases/{case_id}/documents/{document_type}/versions/{version}",
    summary="A short-lived link to download one version of a document",
    response=DownloadLink,
    errors=(404,),
    path_types=VERSION_PATH,
)
def download_document(call: Call) -> Reply:
    version = page_version(call.path["version"])
    return Reply(case_service().download(call.tenant(), call.path["case_id"], call.path["document_type"], version))
