"""The timers a case needs (the automations service's domain.timers): stage SLAs and task due dates with a warning
before each, derived from the case after every event, and reconciled with the timers already running."""

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from caseline_common.automation_commands import TimerKind
from caseline_common.contracts import CaseSnapshot, CaseStatus, Task, TaskStatus
from service_modules import loaded, loaded_module

from caseline.local.loader import LoadedService

if TYPE_CHECKING:
    from services.automations.chalicelib.domain import timers
else:
    timers = loaded_module("automations", "chalicelib.domain.timers")

ENTERED = datetime(2025, 3, 14, 9, 0, tzinfo=UTC)
STAGE_DUE = ENTERED + timedelta(hours=10)
TASK_CREATED = ENTERED + timedelta(hours=1)
TASK_DUE = TASK_CREATED + timedelta(days=5)
LATER = ENTERED + timedelta(days=1)
STAGE_VISIT = f"stage:triage:{ENTERED.isoformat()}"


@pytest.fixture(scope="module")
def automations() -> LoadedService:
    return loaded("automations")


def task(id: str, *, due_at: datetime | None = TASK_DUE, status: TaskStatus = TaskStatus.OPEN) -> Task:
    return Task(
        id=id,
        key=id,
        title=f"Task {id}",
        stage="triage",
        required=True,
        status=status,
        due_at=due_at,
        created_at=TASK_CREATED,
        created_by="user-1",
    )


def case(
    *,
    version: int = 1,
    stage: str = "triage",
    entered: datetime = ENTERED,
    due: datetime | None = STAGE_DUE,
    tasks: tuple[Task, ...] = (),
    status: CaseStatus = CaseStatus.OPEN,
) -> CaseSnapshot:
    return CaseSnapshot(
        id="case-1",
        tenant_id="acme",
        template_key="insurance-claim",
        template_version=1,
        title="Break-in",
        owner="user-1",
        stage=stage,
        stage_entered_at=entered,
        stage_due_at=due,
        status=status,
        fields={},
        tasks=list(tasks),
        created_at=ENTERED,
        created_by="user-1",
        updated_at=entered,
        version=version,
    )


def ids(timers: list[Any]) -> list[str]:
    return [timer.timer_id for timer in timers]


def custom(*, version: int = 1) -> Any:
    return timers.Timer(
        timer_id="rule:chase:01JPB7V0Q6W8Y2K4M5N6P7R8S9",
        case_id="case-1",
        kind=TimerKind.CUSTOM,
        due_at=ENTERED + timedelta(days=3),
        name="chase",
        case_version=version,
        causation_depth=1,
        correlation_id="corr-0",
    )


def running(snapshot: CaseSnapshot, *, fired: tuple[str, ...] = ()) -> list[Any]:
    """The timers started for `snapshot`, those named in `fired` marked as fired."""
    started = timers.case_timers(snapshot, correlation_id="corr-0")
    return [
        timer.model_copy(update={"fired_at": timer.due_at}) if timer.timer_id in fired else timer for timer in started
    ]


# case_timers


def test_a_stage_with_an_sla_gets_a_deadline_and_a_warning_at_four_fifths() -> None:
    needed = timers.case_timers(case(), correlation_id="corr-1")

    assert [(timer.timer_id, timer.kind, timer.due_at, timer.stage, timer.task_id) for timer in needed] == [
        (f"{STAGE_VISIT}:sla", TimerKind.STAGE_SLA, STAGE_DUE, "triage", None),
        (f"{STAGE_VISIT}:warning", TimerKind.STAGE_REMINDER, ENTERED + timedelta(hours=8), "triage", None),
    ]
    for timer in needed:
        assert (timer.case_id, timer.case_version, timer.correlation_id) == ("case-1", 1, "corr-1")
        assert (timer.fired_at, timer.causation_depth, timer.name) == (None, 0, None)


def test_an_open_task_with_a_due_date_gets_a_deadline_and_a_warning() -> None:
    needed = timers.case_timers(case(due=None, tasks=(task("t1"),)), correlation_id="corr-1")

    assert [(timer.timer_id, timer.kind, timer.due_at, timer.task_id, timer.stage) for timer in needed] == [
        ("task:t1:due", TimerKind.TASK_DUE, TASK_DUE, "t1", None),
        ("task:t1:warning", TimerKind.TASK_REMINDER, TASK_CREATED + timedelta(days=4), "t1", None),
    ]


def test_done_tasks_and_tasks_without_a_due_date_get_no_timers() -> None:
    snapshot = case(tasks=(task("open"), task("done", status=TaskStatus.DONE), task("undated", due_at=None)))

    assert ids(timers.case_timers(snapshot, correlation_id="c")) == [
        f"{STAGE_VISIT}:sla",
        f"{STAGE_VISIT}:warning",
        "task:open:due",
        "task:open:warning",
    ]


def test_a_stage_without_an_sla_gets_no_stage_timers() -> None:
    assert timers.case_timers(case(due=None), correlation_id="c") == []


@pytest.mark.parametrize("status", [CaseStatus.CLOSED, CaseStatus.CANCELLED])
def test_a_case_that_is_not_open_needs_no_timers(status: CaseStatus) -> None:
    assert timers.case_timers(case(status=status, tasks=(task("t1"),)), correlation_id="c") == []


def test_each_visit_to_a_stage_has_its_own_timers() -> None:
    first = ids(timers.case_timers(case(), correlation_id="c"))
    again = ids(timers.case_timers(case(entered=LATER, due=LATER + timedelta(hours=10)), correlation_id="c"))

    assert set(first).isdisjoint(again)


# reconcile


def test_a_new_case_starts_every_timer_it_needs() -> None:
    snapshot = case(tasks=(task("t1"),))

    changes = timers.reconcile(snapshot, [], correlation_id="corr-1")

    assert changes.start == timers.case_timers(snapshot, correlation_id="corr-1")
    assert changes.cancel == []


def test_an_event_that_changes_nothing_the_timers_depend_on_changes_no_timers() -> None:
    existing = running(case(tasks=(task("t1"),)))

    changes = timers.reconcile(case(version=2, tasks=(task("t1"),)), existing, correlation_id="corr-2")

    assert (changes.start, changes.cancel) == ([], [])


def test_leaving_the_stage_cancels_its_timers_and_starts_the_next_ones() -> None:
    existing = running(case(tasks=(task("t1"),)))
    moved = case(version=2, stage="assessment", entered=LATER, due=LATER + timedelta(days=10), tasks=(task("t1"),))

    changes = timers.reconcile(moved, existing, correlation_id="corr-2")

    visit = f"stage:assessment:{LATER.isoformat()}"
    assert ids(changes.cancel) == [f"{STAGE_VISIT}:sla", f"{STAGE_VISIT}:warning"]
    assert ids(changes.start) == [f"{visit}:sla", f"{visit}:warning"]
    assert [(timer.stage, timer.case_version, timer.correlation_id) for timer in changes.start] == [
        ("assessment", 2, "corr-2"),
        ("assessment", 2, "corr-2"),
    ]


def test_moving_to_a_stage_without_an_sla_only_cancels() -> None:
    existing = running(case())

    changes = timers.reconcile(case(version=2, stage="payment", entered=LATER, due=None), existing, correlation_id="c")

    assert (ids(changes.start), ids(changes.cancel)) == ([], [f"{STAGE_VISIT}:sla", f"{STAGE_VISIT}:warning"])


def test_returning_to_a_stage_starts_new_timers_for_the_new_visit() -> None:
    existing = running(case(), fired=(f"{STAGE_VISIT}:warning", f"{STAGE_VISIT}:sla"))
    back = case(version=5, entered=LATER, due=LATER + timedelta(hours=10))

    changes = timers.reconcile(back, existing, correlation_id="c")

    visit = f"stage:triage:{LATER.isoformat()}"
    assert ids(changes.start) == [f"{visit}:sla", f"{visit}:warning"]
    assert changes.cancel == []  # the old visit's timers fired; they stay on record


def test_finishing_a_task_cancels_its_timers() -> None:
    existing = running(case(tasks=(task("t1"), task("t2"))))
    finished = case(version=2, tasks=(task("t1", status=TaskStatus.DONE), task("t2")))

    changes = timers.reconcile(finished, existing, correlation_id="c")

    assert (ids(changes.start), ids(changes.cancel)) == ([], ["task:t1:due", "task:t1:warning"])


def test_a_new_task_due_date_starts_its_timers() -> None:
    existing = running(case(tasks=(task("t1", due_at=None),)))

    changes = timers.reconcile(case(version=2, tasks=(task("t1"),)), existing, correlation_id="c")

    assert (ids(changes.start), ids(changes.cancel)) == (["task:t1:due", "task:t1:warning"], [])


def test_a_fired_timer_is_not_started_again() -> None:
    existing = running(case(tasks=(task("t1"),)), fired=(f"{STAGE_VISIT}:warning", "task:t1:warning"))

    changes = timers.reconcile(case(version=3, tasks=(task("t1"),)), existing, correlation_id="c")

    assert (changes.start, changes.cancel) == ([], [])


def test_leaving_the_stage_keeps_its_fired_timers_and_cancels_the_others() -> None:
    existing = running(case(tasks=(task("t1"),)), fired=(f"{STAGE_VISIT}:warning", "task:t1:warning"))
    moved = case(version=2, stage="assessment", entered=LATER, due=None, tasks=(task("t1", status=TaskStatus.DONE),))

    changes = timers.reconcile(moved, existing, correlation_id="c")

    assert ids(changes.start) == []
    assert ids(changes.cancel) == [f"{STAGE_VISIT}:sla", "task:t1:due"]


def test_closing_the_case_cancels_every_pending_timer_and_keeps_what_fired() -> None:
    """What fired stays on record, so reopening the case does not fire it a second time."""
    existing = [*running(case(tasks=(task("t1"),)), fired=(f"{STAGE_VISIT}:warning",)), custom()]

    for status in (CaseStatus.CLOSED, CaseStatus.CANCELLED):
        changes = timers.reconcile(case(version=2, status=status, tasks=(task("t1"),)), existing, correlation_id="c")

        assert changes.start == []
        assert changes.cancel == [timer for timer in existing if timer.fired_at is None]
        assert f"{STAGE_VISIT}:warning" not in ids(changes.cancel)


def test_custom_timers_are_kept_while_the_case_is_open() -> None:
    existing = [*running(case()), custom()]
    moved = case(version=2, stage="assessment", entered=LATER, due=None)

    changes = timers.reconcile(moved, existing, correlation_id="c")

    assert ids(changes.cancel) == [f"{STAGE_VISIT}:sla", f"{STAGE_VISIT}:warning"]  # not the rule's timer
    assert changes.start == []


def test_state_older_than_the_timers_changes_nothing() -> None:
    """An event that arrives late carries the case as it was: it must not undo what a newer one did."""
    existing = running(case(version=4, stage="assessment", entered=LATER, due=LATER + timedelta(days=10)))

    for stale in (
        case(version=3),  # still in triage at version 3
        case(version=3, status=CaseStatus.CLOSED),
        case(version=3, stage="assessment", entered=LATER, due=None),
    ):
        changes = timers.reconcile(stale, existing, correlation_id="c")

        assert (changes.start, changes.cancel) == ([], [])


def test_one_newer_timer_is_enough_to_ignore_the_stale_state() -> None:
    existing = [*running(case(version=2)), custom(version=7)]

    changes = timers.reconcile(case(version=6, due=None), existing, correlation_id="c")

    assert (changes.start, changes.cancel) == ([], [])


def test_state_as_new_as_the_timers_is_applied() -> None:
    existing = running(case(version=4))

    changes = timers.reconcile(case(version=4, due=None), existing, correlation_id="c")

    assert ids(changes.cancel) == [f"{STAGE_VISIT}:sla", f"{STAGE_VISIT}:warning"]


def test_reconciling_twice_in_a_row_is_stable() -> None:
    snapshot = case(version=2, tasks=(task("t1"), task("t2")))
    first = timers.reconcile(snapshot, running(case(tasks=(task("t2"),))), correlation_id="c")
    after = [*running(case(tasks=(task("t2"),))), *first.start]

    second = timers.reconcile(snapshot, after, correlation_id="c")

    assert ids(first.start) == ["task:t1:due", "task:t1:warning"]
    assert (second.start, second.cancel) == ([], [])
