"""Compaction: each day's objects in the lake merged into one, so a report reads a file a day, not hundreds.

The writer leaves a file per batch window, instance and day (up to 576 a day); every 60 minutes (`compact_lake`,
caseline_common.resources.SCHEDULES) each recent day holding two objects or more gets one object with each of its
events once, and only once that is written are the objects it merged deleted. Nothing is lost at any step, and
duplicates are harmless, since every report counts an event_id once: a reader between the put and the deletes sees
both copies; a run that stops between them leaves both, which the next run merges; a batch written while a day is
merged is not among the objects listed, so it stays, and the next run merges it with the day's object.

So the current day is compacted too, rather than waiting for it to settle: every report whose range ends today
reads it, and it then holds the day's object and the hour's batches (about 25 files) instead of up to 576. Merging
the day again each hour reads and writes a few MB at most (60,000 events, a 100,000-cases-a-month tenant's day,
is about 3.6 MB of Parquet), so a run holds one day in memory at a time.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

# Which days a scheduled run looks at: today and the 14 before. A late batch comes from a message redriven from the
# writer's dead-letter queue, which keeps it 14 days from when it was first sent; older days change only through a
# backfill, after which `caseline insight compact --all` merges every day.
COMPACTED_DAYS = 15


class CompactableLake(Protocol):
    def days(self) -> list[date]:
        """The days that hold objects."""
        ...

    def day_keys(self, day: date) -> list[str]:
        """The keys of the day's objects."""
        ...

    def merge(self, day: date, keys: list[str]) -> str:
        """Writes the objects' rows as one object (each event once) named by `keys`; returns its key."""
        ...

    def delete(self, keys: list[str]) -> None: ...


@dataclass(frozen=True)
class Compacted:
    day: date
    merged: int  # objects merged into `key` and deleted
    key: str


def recent_days(today: date, count: int = COMPACTED_DAYS) -> list[date]:
    """`today` and the `count - 1` days before it, oldest first."""
    return [today - timedelta(days=back) for back in range(count - 1, -1, -1)]


def needs_merging(keys: list[str]) -> bool:
    """A day held in one object is compact already (its merged object, or a single batch)."""
    return len(keys) >= 2


class LakeCompactor:
    def __init__(self, lake: CompactableLake, clock: Callable[[], datetime]) -> None:
        self._lake = lake
        self._clock = clock

    def compact_recent(self) -> list[Compacted]:
        """The scheduled run: the last `COMPACTED_DAYS` days (UTC, as the lake's partitions are)."""
        return self.compact(recent_days(self._clock().date()))

    def compact_all(self) -> list[Compacted]:
        return self.compact(self._lake.days())

    def compact(self, days: Iterable[date]) -> list[Compacted]:
        done = []
        for day in days:
            keys = self._lake.day_keys(day)
            if not needs_merging(keys):
                continue
            key = self._lake.merge(day, keys)
            self._lake.delete(keys)
            done.append(Compacted(day=day, merged=len(keys), key=key))
        return done
