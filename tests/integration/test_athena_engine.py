"""The Athena insight engine against moto (which runs no SQL: it returns results registered through its API) for the
request it makes and the typed rows it reads back, and against botocore's Stubber for what moto cannot produce:
a query that waits in the queue, a result of several pages, a failed query and one that runs too long."""

from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws
from moto.moto_api._internal.models import moto_api_backend
from service_modules import loaded_module

if TYPE_CHECKING:
    from services.insight.chalicelib.adapters import athena_engine
    from services.insight.chalicelib.domain import reports
else:
    athena_engine = loaded_module("insight", "chalicelib.adapters.athena_engine")
    reports = loaded_module("insight", "chalicelib.domain.reports")

REGION = "eu-west-1"
WORKGROUP = "caseline-acme-insight"
DATABASE = "caseline_acme"
QUERY = {"report": "time-to-close", "from": date(2025, 3, 1), "to": date(2025, 3, 31), "by": "week"}


def column(name: str, type_: str) -> dict[str, Any]:
    return {"CatalogName": "hive", "SchemaName": "", "TableName": "", "Name": name, "Label": name, "Type": type_}


def row(*values: str | None) -> dict[str, Any]:
    return {"Data": [{} if value is None else {"VarCharValue": value} for value in values]}


COLUMNS = [
    column("period", "date"),
    column("template_key", "varchar"),
    column("closed", "bigint"),
    column("p50_hours", "double"),
    column("p90_hours", "double"),
]
HEADER = row("period", "template_key", "closed", "p50_hours", "p90_hours")


@pytest.fixture
def athena() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("athena", region_name=REGION)
        client.create_work_group(Name=WORKGROUP, Configuration={})
        yield client


def engine(client: Any, **options: Any) -> "athena_engine.AthenaEngine":
    return athena_engine.AthenaEngine(client, WORKGROUP, DATABASE, sleep=lambda _seconds: None, **options)


def test_the_query_goes_to_the_workgroup_in_trino_and_its_rows_come_back_typed(athena: Any) -> None:
    moto_api_backend.set_athena_result(
        rows=[
            HEADER,
            row("2025-03-03", "onboarding", "2", "84.0", "192.5"),
            row("2025-03-10", "claims", "1", None, None),
        ],
        column_info=COLUMNS,
        account_id="123456789012",
        region=REGION,
    )
    result = engine(athena).run(reports.ReportQuery.model_validate(QUERY))

    assert result.engine == "athena"
    assert result.bytes_scanned == 0  # moto scans nothing
    assert result.rows == [
        {"period": date(2025, 3, 3), "template_key": "onboarding", "closed": 2, "p50_hours": 84.0, "p90_hours": 192.5},
        {"period": date(2025, 3, 10), "template_key": "claims", "closed": 1, "p50_hours": None, "p90_hours": None},
    ]
    (execution_id,) = athena.list_query_executions(WorkGroup=WORKGROUP)["QueryExecutionIds"]
    execution = athena.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]
    assert execution["WorkGroup"] == WORKGROUP
    assert execution["QueryExecutionContext"] == {"Database": DATABASE}
    sql = execution["Query"]
    assert f'FROM "{DATABASE}"."events"' in sql
    assert "APPROX_PERCENTILE(hours, 0.5)" in sql
    assert "CAST(DATE_TRUNC('WEEK', occurred_at) AS DATE) AS grp" in sql


def _execution(state: str, reason: str | None = None, scanned: int = 0) -> dict[str, Any]:
    status: dict[str, Any] = {"State": state}
    if reason:
        status["StateChangeReason"] = reason
    return {
        "QueryExecution": {"QueryExecutionId": "q-1", "Status": status, "Statistics": {"DataScannedInBytes": scanned}}
    }


def _page(rows: list[dict[str, Any]], next_token: str | None = None) -> dict[str, Any]:
    page: dict[str, Any] = {"ResultSet": {"Rows": rows, "ResultSetMetadata": {"ColumnInfo": COLUMNS}}}
    if next_token:
        page["NextToken"] = next_token
    return page


@pytest.fixture
def stubbed() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("athena", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        stubber.add_response("start_query_execution", {"QueryExecutionId": "q-1"})
        yield client, stubber
        stubber.assert_no_pending_responses()


def test_it_waits_for_a_queued_query_and_reads_every_page(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    for state in ("QUEUED", "RUNNING"):
        stubber.add_response("get_query_execution", _execution(state), {"QueryExecutionId": "q-1"})
    stubber.add_response("get_query_execution", _execution("SUCCEEDED", scanned=123_456_789))
    stubber.add_response("get_query_results", _page([HEADER, row("2025-03-03", "a", "1", "1.5", "2")], "page-2"))
    stubber.add_response(
        "get_query_results",
        _page([row("2025-03-10", "b", "3", "4", "5")]),
        {"QueryExecutionId": "q-1", "NextToken": "page-2"},
    )
    pauses: list[float] = []
    engine_ = athena_engine.AthenaEngine(client, WORKGROUP, DATABASE, sleep=pauses.append)

    result = engine_.run(reports.ReportQuery.model_validate(QUERY))

    assert [row["template_key"] for row in result.rows] == ["a", "b"]  # the second page has no header to skip
    assert result.rows[1]["closed"] == 3
    assert result.bytes_scanned == 123_456_789
    assert pauses == [0.2, 0.4]  # backing off between polls


def test_a_failed_query_is_a_clear_error(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    reason = "Query exhausted resources: the workgroup's bytes scanned limit was exceeded"
    stubber.add_response("get_query_execution", _execution("FAILED", reason))
    with pytest.raises(athena_engine.InsightQueryError, match="Athena query q-1 failed: Query exhausted resources"):
        engine(client).run(reports.ReportQuery.model_validate(QUERY))


def test_a_query_running_too_long_is_stopped(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    now = iter([0.0, 10.0, 30.0])
    stubber.add_response("get_query_execution", _execution("RUNNING"))
    stubber.add_response("get_query_execution", _execution("RUNNING"))
    stubber.add_response("stop_query_execution", {}, {"QueryExecutionId": "q-1"})
    with pytest.raises(athena_engine.InsightQueryError, match="took more than 25 s and was stopped"):
        engine(client, clock=lambda: next(now)).run(reports.ReportQuery.model_validate(QUERY))


def test_values_of_every_type_read_back(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    types = {"flag": "boolean", "amount": "decimal", "at": "timestamp", "n": "integer", "share": "real", "x": "array"}
    stubber.add_response("get_query_execution", _execution("SUCCEEDED"))
    page = _page([row(*types), row("true", "1.50", "2025-03-03 09:00:00.000", "7", "0.25", "[1, 2]")])
    page["ResultSet"]["ResultSetMetadata"]["ColumnInfo"] = [column(name, type_) for name, type_ in types.items()]
    stubber.add_response("get_query_results", page)

    (values,) = engine(client).run(reports.ReportQuery.model_validate(QUERY)).rows

    assert values == {
        "flag": True,
        "amount": Decimal("1.50"),
        "at": datetime(2025, 3, 3, 9),
        "n": 7,
        "share": 0.25,
        "x": "[1, 2]",  # a type no report returns stays text
    }
