"""Use cases of the people directory: its refresh from the identity provider, and the pages pickers and names read.

The directory is small (a tenant's staff), so a page reads it whole and matches in memory; a refresh compares the
pool with what is stored and writes only the difference."""

from dataclasses import dataclass
from typing import Protocol

from caseline_common.errors import ForbiddenError
from caseline_common.pagination import Page, decode_cursor, encode_cursor
from caseline_common.tenant import READERS, TenantContext

from .domain.people import DirectoryUser, Person, directory_changes, matches, person_of, sort_key


class PeopleStore(Protocol):
    """Where the directory is kept."""

    def people(self) -> list[Person]: ...

    def replace(self, changed: list[Person], removed: list[str]) -> None: ...


class UserDirectory(Protocol):
    """The identity provider's users (the tenant's Cognito user pool), with their groups."""

    def users(self) -> list[DirectoryUser]: ...


@dataclass(frozen=True)
class Refreshed:
    listed: int
    changed: int
    removed: int


class PeopleService:
    def __init__(self, store: PeopleStore) -> None:
        self._store = store

    def refresh(self, directory: UserDirectory) -> Refreshed:
        listed = [person_of(user) for user in directory.users()]
        changed, removed = directory_changes(self._store.people(), listed)
        if changed or removed:
            self._store.replace(changed, removed)
        return Refreshed(listed=len(listed), changed=len(changed), removed=len(removed))

    def people(self, tenant: TenantContext, query: str, *, limit: int, cursor: str | None) -> Page[Person]:
        """The people whose name or e-mail address holds every word of `query`, in name order."""
        if not tenant.principal.has_any(*READERS):
            raise ForbiddenError("The directory is for the tenant's staff and viewers (a Caseline group).")
        after = _after(cursor, query)
        found = sorted((person for person in self._store.people() if matches(person, query)), key=sort_key)
        following = [person for person in found if after is None or sort_key(person) > after]
        page = following[:limit]
        more = len(following) > limit
        return Page[Person](items=page, next_cursor=_cursor(query, sort_key(page[-1])) if more else None)


def _cursor(query: str, after: str) -> str | None:
    return encode_cursor({"q": {"S": query}, "after": {"S": after}})


def _after(cursor: str | None, query: str) -> str | None:
    """Where a page starts: after the last person of the page that gave the cursor, for the same query only."""
    start = decode_cursor(cursor, expected={"q": query}, key_names={"q", "after"})
    return None if start is None else str(start["after"]["S"])
