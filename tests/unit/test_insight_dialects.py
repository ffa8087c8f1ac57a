"""Every insight report, in every grouping, renders for Athena (Trino, engine version 3): the Trino SQL parses back
with sqlglot's Trino dialect, every column it names resolves against the lake's Glue table, and DuckDB's functions
came out as Trino's."""

import re
from collections import Counter
from datetime import date
from typing import TYPE_CHECKING

import pytest
import sqlglot
from caseline_common.lake import LAKE_COLUMNS, PARTITION_COLUMN
from service_modules import loaded_module
from sqlglot import exp
from sqlglot.errors import OptimizeError
from sqlglot.optimizer.qualify import qualify

if TYPE_CHECKING:
    from services.insight.chalicelib.domain import reports
else:
    reports = loaded_module("insight", "chalicelib.domain.reports")

DATABASE = "caseline_acme"
GLUE_TYPES = {"string": "VARCHAR", "timestamp": "TIMESTAMP", "int": "INTEGER", "boolean": "BOOLEAN"}
# The Glue table as Athena sees it: the lake's columns and the partition key, text.
SCHEMA: dict[str, object] = {
    DATABASE: {"events": {**{c.name: GLUE_TYPES[c.type] for c in LAKE_COLUMNS}, PARTITION_COLUMN: "VARCHAR"}}
}


def _renderings() -> list[tuple[str, str | None]]:
    return [(name, by) for name, report in reports.REPORTS.items() for by in (None, *sorted(report.groupings))]


def trino(report: str, by: str | None = None, **parameters: object) -> str:
    query = reports.ReportQuery.model_validate(
        {"report": report, "from": date(2025, 1, 1), "to": date(2025, 3, 31), "by": by, **parameters}
    )
    return reports.render_sql(query, "trino", f'"{DATABASE}"."events"')


def resolved(sql: str) -> exp.Expr:
    """The Trino SQL parsed back, every column bound to its source (raises on one that is not there)."""
    return qualify(sqlglot.parse_one(sql, read="trino"), schema=SCHEMA, dialect="trino", validate_qualify_columns=True)


@pytest.mark.parametrize(("report", "by"), _renderings())
def test_each_report_renders_for_trino_and_reads_only_the_lakes_columns(report: str, by: str | None) -> None:
    sql = trino(report, by, templates=frozenset({"onboarding", "claims"}))
    tree = resolved(sql)
    assert not list(tree.find_all(exp.Placeholder)), "every parameter substituted"
    assert "lake_events" not in sql
    assert f'"{DATABASE}"."events"' in sql
    assert "template_key IN ('claims', 'onboarding')" in sql
    assert re.search(rf"{PARTITION_COLUMN} (<= |BETWEEN '2024-12-31' AND )'2025-04-01'", sql), "partitions pruned on dt"
    # DuckDB's own spellings that Trino lacks.
    for duckdb_only in ("APPROX_QUANTILE", "QUANTILE_CONT", "ARG_MAX", "ANY_VALUE", "IGNORE NULLS", "::", "$"):
        assert duckdb_only not in sql.upper()
    expected_group = {"week": "period", "month": "period", "owner": "owner", "role": "role", None: None}[by]
    assert isinstance(tree, exp.Query)
    output = [projection.alias_or_name for projection in tree.selects]
    assert output[0] == expected_group if expected_group else "group_value" not in output


@pytest.mark.parametrize("report", sorted(reports.REPORTS))
def test_athena_reads_the_lake_once_per_report(report: str) -> None:
    """Trino inlines a WITH query wherever it is named, so a second reference would scan the lake, and bill, again."""
    tree = sqlglot.parse_one(trino(report), read="trino")
    named = Counter(f"{table.db}.{table.name}" for table in tree.find_all(exp.Table))
    assert named.pop(f"{DATABASE}.events") == 1
    assert all(count == 1 for count in named.values()), named


def test_the_translations_that_differ() -> None:
    assert "APPROX_PERCENTILE(hours, 0.5)" in trino("stage-times")
    assert "APPROX_PERCENTILE(hours, 0.9)" in trino("time-to-close")
    assert "CAST(DATE_TRUNC('WEEK', occurred_at) AS DATE)" in trino("throughput", "week")
    assert "CAST(DATE_TRUNC('MONTH', occurred_at) AS DATE)" in trino("sla", "month")
    assert re.search(r"DATE_DIFF\(\s*'MILLISECOND'", trino("time-to-close"))
    assert "BOOL_OR(automation_failed)" in trino("automations")
    assert "ROW_NUMBER() OVER (PARTITION BY case_id ORDER BY case_version DESC" in trino("open-stages")
    assert "CAST('2025-01-01 00:00:00' AS TIMESTAMP)" in trino("sla")
    assert "COUNT(*) FILTER(WHERE" in trino("portal")


def test_a_column_the_lake_lacks_would_be_caught() -> None:
    broken = trino("throughput").replace("MAX(assigned_role)", "MAX(team)")
    with pytest.raises(OptimizeError, match="team"):
        resolved(broken)


def test_an_odd_template_key_stays_a_literal() -> None:
    sql = trino("throughput", template="x' OR '1'='1")
    assert "template_key = 'x'' OR ''1''=''1'" in sql
