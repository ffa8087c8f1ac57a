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
    return Reply(automations_service().dry_run(call.tenant(), call.path["key"], call.body_as(DryRunRequest)))
