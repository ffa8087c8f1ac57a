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
        json_schema_extra={"deprecated": True},  # not Field(deprecated=): reading it would warn on every list
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
    """Opens a case from the latest published version of a template, for `caseline-admins` and
    `caseline-staff`. The case starts in the template's first stage with that stage's tasks, owned by the caller
    (or `owner`), who joins it with the template's owner role. `fields` are checked against the template: the
    required ones must be there and every value must fit its field (422 lists each problem); an unknown template
    answers 422 too. Emits `case.opened`."""
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
    """Lists the cases the caller may see, a page at a time: most recently changed first, or newest first
    when filtered by status, stage, template, owner or participant; `updated_since` returns the cases changed since
    then (an RFC 3339 time with its offset). Each filter is a key of an index, so a page costs the same however
    many cases there are. A case the caller may not see is left out, and so are field values their roles hide.
    Words are not taken here: `q` answers 400, and `GET /search` searches with the same filters."""
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
    """One case, with its `ETag` (its version) to send back as `If-Match`. For anyone who may view it: a
    role of its template held through their groups, or their participation; field values their roles do not show
    are left out. A case the caller may not view answers 404, as one that does not exist does."""
    return _case_reply(case_service().get_case(call.tenant(), call.path["case_id"]))


@http.operation(
    "GET",
    "/cases/{case_id}/criteria",
    summary="What keeps the case in its stage, and what each forward move still needs",
    response=CriteriaReport,
    errors=(404,),
)
def case_criteria(call: Call) -> Reply:
    """What keeps the case in its stage: the unmet exit criteria (tasks, documents, decisions, fields and
    the template's conditions) in words, and for each stage it may move on to, what that move still needs. For
    anyone who may view the case. Changes nothing."""
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
    """Changes field values (`null` clears one) or the title, for a role that may edit those fields (the
    title follows the `*` access). Send the version you read as `If-Match` (stale: 412) or as `version` in the
    body (stale: 409); with neither the answer is 428. Values are checked against the template (422), a required
    field cannot be cleared, and a closed or cancelled case answers 409. Emits `case.fields_changed`."""
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


_COMMAND_NOTE = (
    "Answers the case as the command left it, with its new `ETag`. Send `If-Match` to act only on the version you "
    "read (412 if it moved on). A caller who may not view the case gets 404; one whose roles lack the permission "
    "gets 403; what the case's state refuses answers 409."
)


def _case_command(
    path: str,
    summary: str,
    request: type[BaseModel] | None,
    run: Any,
    *,
    name: str,
    description: str,
    method: str = "POST",
    errors: tuple[int, ...] = (404, 409, 412, 413, 415, 422),
) -> None:
    """Declares a command on one case: one read, one transactional write, the new case back. `description` is the
    operation's, as a view's docstring is elsewhere; what every command shares is added to it."""

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
    view.__doc__ = f"{description}\n\n{_COMMAND_NOTE}"
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
    description="""Moves the case to another stage, for a role with `case.transition`. Forward, to a stage the current
    one leads to, the exit criteria of the stage left must hold: if not, the answer is 409 with each unmet
    criterion in `unmet`. Moving back, skipping a stage, or `force` past unmet criteria needs `case.override` and a
    `reason`. The new stage's tasks are created. Emits `case.stage_changed`.""",
)
_case_command(
    "/cases/{case_id}/close",
    "Close the case from a final stage",
    cases.StatusChangeRequest,
    lambda work, _call, body: cases.close(work, body),
    name="close_case",
    description="""Closes the case from a final stage (one that leads nowhere), for a role with `case.close`; with
    `force` and a `reason`, despite unmet criteria, for a role with `case.override` too. Its open tasks leave
    every queue. Emits `case.closed`.""",
)
_case_command(
    "/cases/{case_id}/cancel",
    "Cancel the case, with a reason",
    ReasonRequest,
    lambda work, _call, body: cases.cancel(work, body),
    name="cancel_case",
    description="""Cancels the case, with a `reason`, for a role with `case.close`. Emits `case.cancelled`.""",
)
_case_command(
    "/cases/{case_id}/reopen",
    "Reopen a closed or cancelled case, with a reason",
    ReasonRequest,
    lambda work, _call, body: cases.reopen(work, body),
    name="reopen_case",
    description="""Reopens a closed or cancelled case, with a `reason`, for a role with `case.reopen`; it stays in the
    stage it was closed in. Emits `case.reopened`.""",
)
_case_command(
    "/cases/{case_id}/assignment",
    "Give the case another owner",
    cases.AssignRequest,
    lambda work, _call, body: cases.assign(work, body),
    name="assign_case",
    description="""Gives the case another owner, for a role with `case.assign`: a staff member's subject. The new owner
    joins the case with the template's owner role if they were not a participant. Emits `case.assigned`.""",
)
_case_command(
    "/cases/{case_id}/tasks",
    "Add an ad hoc task to the current stage, with a reason",
    tasks.AddTaskRequest,
    lambda work, _call, body: tasks.add_task(work, body),
    name="add_task",
    description="""Adds an ad hoc task to the current stage, with a `reason`, for a role with `task.manage`: a title,
    and optionally an assignee or assignee role, a due time, and whether the stage needs it done to be left. Emits
    `task.created`.""",
)
_case_command(
    "/cases/{case_id}/tasks/{task_id}/complete",
    "Mark a task done",
    None,
    lambda work, call, _body: tasks.complete_task(work, call.path["task_id"]),
    name="complete_task",
    description="""Marks a task done, for a role with `task.complete` (the task's assignee or a holder of its role).
    A task already done answers 409. Emits `task.completed`.""",
    errors=(404, 409, 412),
)
_case_command(
    "/cases/{case_id}/tasks/{task_id}/reopen",
    "Reopen a done task, with a reason",
    ReasonRequest,
    lambda work, call, body: tasks.reopen_task(work, call.path["task_id"], body),
    name="reopen_task",
    description="""Reopens a done task, with a `reason`, for a role with `task.manage`. Emits `task.reopened`.""",
)
_case_command(
    "/cases/{case_id}/tasks/{task_id}/assignment",
    "Assign a task to a person and/or a role",
    tasks.AssignTaskRequest,
    lambda work, call, body: tasks.assign_task(work, call.path["task_id"], body),
    name="assign_task",
    description="""Assigns a task to a person (`assignee`, a subject) and/or a role (`assignee_role`, one of the
    template's), for a role with `task.manage`. Emits `task.assigned`.""",
)
_case_command(
    "/cases/{case_id}/participants",
    "Add an internal (user id) or external (name, e-mail) participant",
    participants.AddParticipantRequest,
    lambda work, _call, body: participants.add_participant(work, body),
    name="add_participant",
    description="""Adds a participant with one of the template's roles, for a role with `participant.manage`: an
    internal one by `user_id` (a staff member's subject), or an external one by `name` and `email` (and, if staff
    choose it, the `language` the portal and its e-mails speak to them in), who can then be given a portal link. A
    person already on the case answers 409. Emits `participant.added`; an external participant's name and e-mail
    travel in its `personal` part.""",
)
_case_command(
    "/cases/{case_id}/participants/{participant_id}/role",
    "Change a participant's role",
    participants.ChangeRoleRequest,
    lambda work, call, body: participants.change_participant_role(work, call.path["participant_id"], body),
    name="change_participant_role",
    description="""Gives a participant another of the template's roles (internal roles for internal participants,
    external for external ones), for a role with `participant.manage`. Emits `participant.role_changed`.""",
)
_case_command(
    "/cases/{case_id}/participants/{participant_id}/language",
    "Change the language an external participant is spoken to in",
    participants.ChangeLanguageRequest,
    lambda work, call, body: participants.change_participant_language(work, call.path["participant_id"], body),
    name="change_participant_language",
    description="""Sets the language the portal's pages and e-mails speak to an external participant in (`language`,
    such as "de"), or `null` for their browser's, for a role with `participant.manage`. A language the portal has no
    catalog for is kept but spoken as the browser's until it has one. Emits `participant.language_changed`.""",
)
_case_command(
    "/cases/{case_id}/participants/{participant_id}",
    "Remove a participant",
    None,
    lambda work, call, _body: participants.remove_participant(work, call.path["participant_id"]),
    name="remove_participant",
    description="""Removes a participant from the case, for a role with `participant.manage`; the owner cannot be
    removed (409). Emits `participant.removed`.""",
    method="DELETE",
    errors=(404, 409, 412),
)
_case_command(
    "/cases/{case_id}/decisions",
    "Record a decision with its rationale",
    decisions.RecordDecisionRequest,
    lambda work, _call, body: decisions.record_decision(work, body),
    name="record_decision",
    description="""Records a decision of the template (`key`) with one of its options as `outcome`, for a role among the
    decision's `decider_roles`, with a `rationale` unless the decision makes it optional. A later decision of the
    same key supersedes the earlier one; both stay on the case. Emits `decision.recorded`.""",
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
    """Comments on the case, for a role with `comment.internal`, or `comment.external` to share it with the
    case's external participants (`external: true`), who then see it in the portal. A comment is never changed
    afterwards. Emits `comment.added`."""
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
    """The case's comments, internal and shared, oldest first, a page at a time. For anyone who may view the
    case."""
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
    """Starts uploading a document of one of the template's document types, for a role with
    `document.upload` (and, if the type names `uploader_roles`, one of them). Answers a presigned form: POST it
    to `url` as multipart/form-data, every entry of `fields` first and the file last, before `expires_at`; the
    file lands in quarantine, at most `max_size_bytes`. Then confirm it. A type the template lacks, a content
    type or size it does not accept, answers 422. Changes nothing on the case yet."""
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
    """Confirms an upload started with `POST /cases/{case_id}/documents/uploads`: the file's size and type are
    checked again (its type and size against the document type, its bytes against its content type), its SHA-256
    computed, and it becomes its type's next version on the case. For a role with `document.upload`. A file that
    has not arrived answers 404; one that fails the checks answers 422 and is discarded. Emits `document.added`;
    confirming again answers the case as it is."""
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
    """A short-lived link to download one version of a document, for a role with `document.view`. The link
    saves the file under its name with the content type that was checked, and expires after a few minutes
    (`expires_at`); `sha256` lets the receiver check what arrived."""
    version = page_version(call.path["version"])
    return Reply(case_service().download(call.tenant(), call.path["case_id"], call.path["document_type"], version))
