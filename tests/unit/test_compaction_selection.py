"""The compaction use case over a lake in memory: which days a run looks at, which it merges, and that the objects
merged are deleted only after their merged object is written."""

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from service_modules import loaded_module

if TYPE_CHECKING:
    from services.insight.chalicelib import compaction_service
else:
    compaction_service = loaded_module("insight", "chalicelib.compaction_service")


class MemoryLake:
    def __init__(self, objects: dict[date, list[str]]) -> None:
        self.objects = objects
        self.calls: list[tuple[str, date | None, list[str]]] = []

    def days(self) -> list[date]:
        return sorted(self.objects)

    def day_keys(self, day: date) -> list[str]:
        return list(self.objects.get(day, []))

    def merge(self, day: date, keys: list[str]) -> str:
        self.calls.append(("merge", day, keys))
        merged = f"merged-{day.isoformat()}"
        self.objects[day].append(merged)
        return merged

    def delete(self, keys: list[str]) -> None:
        self.calls.append(("delete", None, keys))
        for day, present in self.objects.items():
            self.objects[day] = [key for key in present if key not in keys]


def test_a_run_looks_at_today_and_the_fourteen_days_before() -> None:
    days = compaction_service.recent_days(date(2027, 3, 2))
    assert len(days) == compaction_service.COMPACTED_DAYS == 15
    assert (days[0], days[-1]) == (date(2027, 2, 16), date(2027, 3, 2))  # across the end of February (28 days)


def test_only_days_of_two_objects_or_more_are_merged_and_the_merged_are_deleted_after() -> None:
    lake = MemoryLake(
        {
            date(2027, 3, 1): ["a", "b", "c"],
            date(2027, 3, 2): ["merged-before"],  # compact already
            date(2027, 2, 1): ["x", "y"],  # out of the window
        }
    )
    compactor = compaction_service.LakeCompactor(lake, clock=lambda: datetime(2027, 3, 2, 23, 59, tzinfo=UTC))
    done = compactor.compact_recent()
    assert done == [compaction_service.Compacted(day=date(2027, 3, 1), merged=3, key="merged-2027-03-01")]
    assert lake.calls == [("merge", date(2027, 3, 1), ["a", "b", "c"]), ("delete", None, ["a", "b", "c"])]
    assert lake.objects[date(2027, 3, 1)] == ["merged-2027-03-01"]
    assert [found.day for found in compactor.compact_all()] == [date(2027, 2, 1)]
    assert compactor.compact_all() == []
