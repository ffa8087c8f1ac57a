"""The cases service's HTTP layer: one blueprint and its HttpApi, on which the route modules declare their
operations (templates.py: drafts, publishing, versions, diff, migrations; cases.py: cases, their commands,
comments and documents), and the replies both kinds of route give. Errors are mapped in HttpApi. The tables below
name each module's routes, so Chalice has them all at import while, in Lambda, a module is loaded at the first call
of one of its routes."""

from typing import TYPE_CHECKING, Annotated, Any

from caseline_common.http import ProblemError, Reply, Tag
from chalice.app import Blueprint
from pydantic import Field

from ..runtime import runtime

if TYPE_CHECKING:
    from caseline_common.idempotency import Answer

api = Blueprint(__name__)
http = runtime.http_api(api)

_VERSION_DIGITS = 9
# A version in a path, as page_version reads it.
VERSION_PATH = {"version": Annotated[int, Field(ge=1, lt=10**_VERSION_DIGITS)]}


def created_reply(created: "Answer[Any]", location: str) -> Reply:
    return Reply(created.resource, status=201, headers={"Location": location}, replayed=created.replayed)


def page_version(raw: str) -> int:
    if not raw.isdigit() or len(raw) > _VERSION_DIGITS:
        raise ProblemError(404, "not-found", "Not found", f"No version {raw[:16]!r}.")
    return int(raw)


http.operations_in(
    f"{__name__}.cases",
    {
        "open_case": ("POST", "/cases"),
        "list_cases": ("GET", "/cases"),
        "get_case": ("GET", "/cases/{case_id}"),
        "case_criteria": ("GET", "/cases/{case_id}/criteria"),
        "update_case": ("PATCH", "/cases/{case_id}"),
        "transition_case": ("POST", "/cases/{case_id}/transitions"),
        "close_case": ("POST", "/cases/{case_id}/close"),
        "cancel_case": ("POST", "/cases/{case_id}/cancel"),
        "reopen_case": ("POST", "/cases/{case_id}/reopen"),
        "assign_case": ("POST", "/cases/{case_id}/assignment"),
        "add_task": ("POST", "/cases/{case_id}/tasks"),
        "complete_task": ("POST", "/cases/{case_id}/tasks/{task_id}/complete"),
        "reopen_task": ("POST", "/cases/{case_id}/tasks/{task_id}/reopen"),
        "assign_task": ("POST", "/cases/{case_id}/tasks/{task_id}/assignment"),
        "add_participant": ("POST", "/cases/{case_id}/participants"),
        "change_participant_role": ("POST", "/cases/{case_id}/participants/{participant_id}/role"),
        "change_participant_language": ("POST", "/cases/{case_id}/participants/{participant_id}/language"),
        "remove_participant": ("DELETE", "/cases/{case_id}/participants/{participant_id}"),
        "record_decision": ("POST", "/cases/{case_id}/decisions"),
        "add_comment": ("POST", "/cases/{case_id}/comments"),
        "list_comments": ("GET", "/cases/{case_id}/comments"),
        "start_upload": ("POST", "/cases/{case_id}/documents/uploads"),
        "confirm_upload": ("POST", "/cases/{case_id}/documents/uploads/{upload_id}/confirm"),
        "download_document": ("GET", "/cases/{case_id}/documents/{document_type}/versions/{version}"),
    },
    tag=Tag(
        "cases",
        (
            "Cases: open them from a template, read and list them, act on them (stage, status, owner, tasks, "
            "participants, decisions), comment on them, and upload and download their documents. A case answer "
            "carries its version as `ETag`; send it back as `If-Match`."
        ),
    ),
)
http.operations_in(
    f"{__name__}.templates",
    {
        "publish_template": ("POST", "/templates"),
        "list_templates": ("GET", "/templates"),
        "template_schema": ("GET", "/schemas/template"),
        "get_template": ("GET", "/templates/{key}"),
        "save_draft": ("PUT", "/templates/{key}/draft"),
        "get_draft": ("GET", "/templates/{key}/draft"),
        "publish_version": ("POST", "/templates/{key}/versions"),
        "list_template_versions": ("GET", "/templates/{key}/versions"),
        "get_template_version": ("GET", "/templates/{key}/versions/{version}"),
        "diff_template": ("GET", "/templates/{key}/diff"),
        "preview_migration": ("GET", "/templates/{key}/migrations"),
        "migrate_cases": ("POST", "/templates/{key}/migrations"),
    },
    tag=Tag(
        "templates",
        (
            "Templates: what a kind of case holds and how it moves (fields, stages, roles, documents, decisions, "
            "rules, portal). Drafts, published versions (never changed once published), the differences between "
            "versions, and moving open cases to a newer one. `caseline-admins` manage them; all staff read them."
        ),
    ),
)
