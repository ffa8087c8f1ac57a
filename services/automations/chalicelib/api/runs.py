"""HTTP routes of the automations service for runs and dry runs (webhooks: webhooks.py)."""

from caseline_common.http import Call, Reply
from caseline_common.pagination import Page, PageQuery
from caseline_common.scopes import Scope
from pydantic import Field

from ..domain.runs import AutomationRun
from ..runtime import automations_service
from ..service import DryRunRequest, DryRunResult
from . import http


class RunsQuery(PageQuery):
    case_id: str = Field(pattern=r"^[A-Za-z0-9._:@-]{1,256}$", description="The case whose runs to list.")


@http.operation(
    "GET",
    "/automations/runs",
    summary="The rule runs on a case, newest first: trigger, condition result, each action's outcome",
    query=RunsQuery,
    response=Page[AutomationRun],
    errors=(404, 422, 503),
)
def list_runs(call: Call) -> Reply:
    """The rule runs on a case, newest first: one per rule an event triggered, with the event (`event_id`,
    `event_type`), the `verdict` (`fired`, `skipped` when the condition was false, `stopped` at the rule-chain depth
    limit, `failed` when the condition could not be evaluated or went over its budget), and each action's outcome
    (`sent` as a command to the cases service, `done`, `skipped` or `failed` with its `error`).

    **Who:** `caseline-admins`, `caseline-staff` and `caseline-viewers` who may view the case (a template role with
    `case.view`; admins and viewers view every case). A rule e-mail's `subject` is shown only to callers whose roles
    show every field of the case, since it may be rendered from any of them. Changes nothing.

    **Errors:** 404 when the case does not exist or the caller may not view it; 422 without a valid `case_id`; 400
    for a cursor of another query; 503 (`Retry-After`) for a case opened moments ago.
    """
    query = call.query_as(RunsQuery)
    return Reply(automations_service().list_runs(call.tenant(), query.case_id, limit=query.limit, cursor=query.cursor))


@http.operation(
    "POST",
    "/templates/{key}/rules/test",
    scope=Scope.TEMPLATES_ADMIN,
    summary="Dry run for template editors: which rules an event would fire on a case, what they would do",
    request=DryRunRequest,
    response=DryRunResult,
    errors=(403, 404, 413, 415, 422),
)
def test_rules(call: Call) -> Reply:
    """A dry run of a template's automation rules: for the case and event sent, which rules the event would trigger,
    whether each would fire (its condition evaluated under its budget, as in a real run) and what each action would
    do (`summary`, `detail`), or why it could not run on that case. Send `definition` to test a draft; without it the
    latest published version of the template runs. Nothing is read from or written to any case, and nothing is sent,
    e-mailed or emitted.

    **Who:** those who may edit templates, `caseline-admins` (others get 403).

    **Errors:** 404 when the template has no published version and no `definition` is sent; 422 for an invalid body,
    a `definition.key` other than the path's, or a rule whose trigger pattern has mistakes.
    """
    return Reply(automations_service().dry_run(call.tenant(), call.path["key"], call.body_as(DryRunRequest)))
