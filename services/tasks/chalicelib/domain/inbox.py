"""The task inbox: one entry per task of every case, kept from the case as each event left it.

Events arrive at least once and in any order, each with the case as it stood right after it (`CaseSnapshot`),
so the inbox of a case is a function of its newest snapshot: the stored case version orders them, and an event
whose version is not newer than the stored one changes nothing. Applying an event twice, or late, is harmless.

An entry keeps who may view its case (`readers`, caseline_common.access), so a query filters on the caller's
terms. The open tasks of a closed or cancelled case are no longer work: they stay in the case's entries but leave
every queue (`queued`), and come back if the case is reopened.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from caseline_common.access import case_readers
from caseline_common.contracts import CaseSnapshot, CaseStatus, TaskStatus, TemplateDefinition
from pydantic import BaseModel, ConfigDict


class CaseNotProjectedError(Exception):
    """The event is about a case whose template the inbox has not seen yet; retry it later."""


class InboxEntry(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    case_id: str
    task_id: str
    title: str
    stage: str
    status: TaskStatus
    required: bool
    assignee: str | None = None
    assignee_role: str | None = None
    due_at: datetime | None = None
    template_key: str
    case_title: str
    case_status: CaseStatus
    case_version: int  # the case version that last changed this entry
    readers: frozenset[str]

    @property
    def queued(self) -> bool:
        """Whether it is in the queues: a done task always is (what was done); an open one while its case is."""
        return self.status is TaskStatus.DONE or self.case_status is CaseStatus.OPEN

    def overdue(self, now: datetime) -> bool:
        return self.status is TaskStatus.OPEN and self.due_at is not None and self.due_at < now

    def same_as(self, other: "InboxEntry") -> bool:
        """Equal but for the version that set it: an entry an event leaves as it was is not written again."""
        return self.model_copy(update={"case_version": other.case_version}) == other


@dataclass(frozen=True)
class StoredCase:
    """What the inbox holds of a case: the version its entries stand at, and them by task id. `revision` counts
    the writes to it, which a write must match, so two consumers cannot interleave theirs."""

    version: int
    revision: int
    entries: Mapping[str, InboxEntry]


@dataclass(frozen=True)
class InboxChange:
    case_id: str
    version: int
    put: tuple[InboxEntry, ...]
    delete: tuple[str, ...]  # task ids


def inbox_entries(case: CaseSnapshot, template: TemplateDefinition) -> list[InboxEntry]:
    readers = case_readers(template, case.participants)
    return [
        InboxEntry(
            case_id=case.id,
            task_id=task.id,
            title=task.title,
            stage=task.stage,
            status=task.status,
            required=task.required,
            assignee=task.assignee,
            assignee_role=task.assignee_role,
            due_at=task.due_at,
            template_key=case.template_key,
            case_title=case.title,
            case_status=case.status,
            case_version=case.version,
            readers=readers,
        )
        for task in case.tasks
    ]


def inbox_change(
    stored: StoredCase | None, case: CaseSnapshot, template: TemplateDefinition, *, reconcile: bool = False
) -> InboxChange | None:
    """What the case's snapshot changes in the inbox, or None for a snapshot no newer than the stored one
    (`reconcile`, for a rebuild: the same version too, so entries that drifted are written again)."""
    if stored is not None and (case.version < stored.version or (case.version == stored.version and not reconcile)):
        return None
    before = stored.entries if stored is not None else {}
    after = {entry.task_id: entry for entry in inbox_entries(case, template)}
    put = tuple(
        entry for task_id, entry in after.items() if task_id not in before or not before[task_id].same_as(entry)
    )
    delete = tuple(task_id for task_id in before if task_id not in after)
    if stored is not None and case.version == stored.version and not put and not delete:
        return None
    return InboxChange(case_id=case.id, version=case.version, put=put, delete=delete)


def team_roles(role_groups: Iterable[tuple[str, Iterable[str]]], groups: Iterable[str]) -> list[str]:
    """The role keys a caller holds through its token groups, over every stored template version."""
    mine = set(groups)
    return sorted({role for role, granted in role_groups if mine.intersection(granted)})
