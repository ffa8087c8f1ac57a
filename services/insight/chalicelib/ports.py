"""The ports of the insight service: where the lake's rows go, and who may read which template's figures."""

from typing import Any, Protocol


class Lake(Protocol):
    def write(self, rows: list[dict[str, Any]], *, backfill: bool = False) -> list[str]:
        """Writes the rows, one object per day (dt) among them; returns the keys written. A backfill's objects are
        named by the events they hold (the same rows, the same names), others each by a new ULID."""
        ...


class TemplateReaders(Protocol):
    def record(self, template_key: str, version: int, groups: list[str]) -> None:
        """Keeps the groups of a published version unless a newer version is kept already."""
        ...

    def all(self) -> dict[str, frozenset[str]]:
        """Each template's key and the groups of every role of its newest version."""
        ...
