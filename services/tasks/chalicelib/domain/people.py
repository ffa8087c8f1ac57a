"""The people directory: the tenant's staff by name, as its identity provider knows them.

A person is known by the subject their tokens carry (Cognito's `sub`), which is what cases, tasks and events
record; the directory turns it into a name. It is a projection of the user pool, refreshed on a schedule, so a
page of cases never calls the identity provider per row.
"""

import unicodedata
from enum import StrEnum

from caseline_common.access import principal_terms
from caseline_common.tenant import Principal, StaffRole
from pydantic import BaseModel, ConfigDict, Field


class PersonRole(StrEnum):
    """The Caseline group that decides what a person may do, by the groups' precedence (admins first)."""

    ADMIN = "admin"
    STAFF = "staff"
    VIEWER = "viewer"


_ROLE_OF_GROUP = (
    (StaffRole.ADMIN, PersonRole.ADMIN),
    (StaffRole.STAFF, PersonRole.STAFF),
    (StaffRole.VIEWER, PersonRole.VIEWER),
)


class Person(BaseModel):
    """One person of the directory."""

    model_config = ConfigDict(
        frozen=True,
        defer_build=True,
        json_schema_extra={
            "examples": [
                {
                    "subject": "6b1f3c1e-4f0a-4d35-9a52-2f1d7c0e9a41",
                    "name": "Jana Nováková",
                    "email": "jana.novakova@insurer.example",
                    "role": "staff",
                }
            ]
        },
    )

    subject: str = Field(description="What tokens, cases, tasks and events call the person (Cognito's `sub`).")
    name: str = Field(description="The person's name, or their e-mail address when the directory has no name.")
    email: str | None = None
    role: PersonRole | None = Field(
        default=None, description="Their Caseline group (admin before staff before viewer); none without one."
    )
    # Every group of theirs, which template roles may grant: kept to know which cases they may read, never answered.
    groups: frozenset[str] = Field(default=frozenset(), exclude=True)


class DirectoryUser(BaseModel):
    """A user as the identity provider lists them: their standard attributes and their groups."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    subject: str
    username: str
    name: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    email: str | None = None
    groups: frozenset[str] = frozenset()


def person_of(user: DirectoryUser) -> Person:
    """The name a person goes by: `name`, else given and family name, else the e-mail address, else the user name."""
    given = " ".join(part for part in (user.given_name, user.family_name) if part)
    name = (user.name or "").strip() or given.strip() or user.email or user.username
    role = next((role for group, role in _ROLE_OF_GROUP if group in user.groups), None)
    return Person(subject=user.subject, name=name, email=user.email, role=role, groups=user.groups)


def reader_terms(person: Person) -> frozenset[str]:
    """The terms the person reads cases by, as their tokens would give them (caseline_common.access)."""
    return principal_terms(Principal(subject=person.subject, groups=person.groups))


def folded(text: str) -> str:
    """Text as a search compares it: without case and accents ("Nováková" and "NOVAKOVA" fold alike)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def matches(person: Person, query: str) -> bool:
    """Every word of the query is found in the person's name or e-mail address, ignoring case and accents."""
    haystack = f"{folded(person.name)} {folded(person.email or '')}"
    return all(word in haystack for word in folded(query).split())


def sort_key(person: Person) -> str:
    """People in name order; the subject breaks ties between namesakes (it is unique)."""
    return f"{folded(person.name)}\x00{person.subject}"


def directory_changes(stored: list[Person], listed: list[Person]) -> tuple[list[Person], list[str]]:
    """What a refresh writes: the people new or changed since the last one, and the subjects no longer listed."""
    before = {person.subject: person for person in stored}
    now = {person.subject: person for person in listed}
    changed = [person for subject, person in now.items() if before.get(subject) != person]
    return changed, sorted(set(before) - set(now))
