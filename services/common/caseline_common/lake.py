"""The event lake's table, declared once: the insight service writes its rows (Parquet, with DuckDB), the CDK app
declares it in the Glue Data Catalog for Athena, and the insight SQL reads it under the name `LAKE_TABLE`.

One row per event: its envelope, the case as the event left it, and the few facts of its `data` that insight
reads. No personal data: no names, e-mail addresses, titles, field values or comment bodies, only ids (a staff
member's subject, a participant's ULID), keys, times and counts, so an erasure has nothing to reach here
(docs/timeline.md, "The lake").
"""

from typing import Literal

from pydantic import BaseModel, ConfigDict

# Hive/Glue column types; `duckdb_type` gives DuckDB's name for each.
LakeType = Literal["string", "timestamp", "int", "boolean"]
_DUCKDB_TYPES: dict[str, str] = {"string": "VARCHAR", "timestamp": "TIMESTAMP", "int": "INTEGER", "boolean": "BOOLEAN"}

# What the SQL names the table; each engine puts its own source in its place (a Parquet glob, a catalog table).
LAKE_TABLE = "lake_events"
# Objects live under events/dt=YYYY-MM-DD/ (the UTC day the event occurred), each a ULID-named Parquet file.
LAKE_PREFIX = "events/"
PARTITION_COLUMN = "dt"


class LakeColumn(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    type: LakeType
    comment: str

    @property
    def duckdb_type(self) -> str:
        return _DUCKDB_TYPES[self.type]


def _column(name: str, type_: LakeType, comment: str) -> LakeColumn:
    return LakeColumn(name=name, type=type_, comment=comment)


LAKE_COLUMNS: tuple[LakeColumn, ...] = (
    # The envelope.
    _column("event_id", "string", "The event's ULID; a row may be written twice (redelivery, backfill): count once."),
    _column("type", "string", "The event type, e.g. case.stage_changed."),
    _column("occurred_at", "timestamp", "When it happened (UTC)."),
    _column("case_id", "string", "Null for template.published."),
    _column("actor_kind", "string", "user, external, automation, system or client."),
    _column("actor_id", "string", "A staff subject, an external participant's id, a rule or a client id."),
    # The case as the event left it; for an event that names a case but carries none (portal.link_*, a case too
    # large for the bus entry), the case's latest state the writer knows; null if it knows none.
    _column("template_key", "string", "The case's template (the published one for template.published)."),
    _column("template_version", "int", "The template version the case follows."),
    _column("case_version", "int", "The case's version after the event."),
    _column("stage", "string", "The case's stage after the event."),
    _column("status", "string", "open, closed or cancelled, after the event."),
    _column("owner", "string", "The owner's subject after the event."),
    _column("assigned_role", "string", "The team role expected to pick the case up."),
    _column("opened_at", "timestamp", "When the case was opened."),
    _column("stage_entered_at", "timestamp", "When the case entered its current stage."),
    _column("closed_at", "timestamp", "When it was closed or cancelled; null while open."),
    # What insight reads of `data`, by event type.
    _column("from_stage", "string", "case.stage_changed: the stage left."),
    _column("sla_scope", "string", "sla.warning and sla.breached: stage or task."),
    _column("sla_stage", "string", "sla.warning and sla.breached: the stage whose (or whose task's) SLA it is."),
    _column("task_id", "string", "task.* and task-scoped SLA events."),
    _column("automation_rule", "string", "automation.ran: the rule's key."),
    _column("automation_failed", "boolean", "automation.ran: an error or a failed action; automation.refused."),
    _column("participant_id", "string", "portal.link_* and participant.*: the participant."),
    _column("document_type", "string", "document.added and document.requested."),
)


def lake_database(tenant_id: str) -> str:
    """The tenant's database in the Glue Data Catalog, which holds the lake's table (`events`) for Athena. Glue
    names take lower-case letters, digits and underscores only, so a tenant id's hyphens become underscores."""
    return "caseline_" + tenant_id.replace("-", "_")
