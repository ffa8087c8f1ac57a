"""The people directory without AWS: a person's name and role from what the identity provider lists, matching that
ignores case and accents, pages in name order, and a refresh that writes only the difference."""

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pytest
from caseline_common.errors import ForbiddenError, InvalidCursorError
from caseline_common.tenant import Principal, TenantContext
from service_modules import loaded_module

if TYPE_CHECKING:
    from services.tasks.chalicelib import people_service
    from services.tasks.chalicelib.domain import people as domain
else:
    domain = loaded_module("tasks", "chalicelib.domain.people")
    people_service = loaded_module("tasks", "chalicelib.people_service")

JANA = domain.Person(subject="sub-jana", name="Jana Nováková", email="jana.novakova@insurer.example", role="staff")
LUKAS = domain.Person(subject="sub-lukas", name="Lukas Becker", email="l.becker@insurer.example", role="admin")
ZOE = domain.Person(subject="sub-zoe", name="Zoë Ångström", email=None, role=None)


def _user(subject: str, **attributes: object) -> "domain.DirectoryUser":
    return domain.DirectoryUser(subject=subject, username=f"user-{subject}", **attributes)


def test_a_name_comes_from_name_then_given_and_family_name_then_e_mail_then_user_name() -> None:
    assert domain.person_of(_user("a", name="Jana Nováková", given_name="J", email="j@x.example")).name == (
        "Jana Nováková"
    )
    assert domain.person_of(_user("b", given_name="Lukas", family_name="Becker")).name == "Lukas Becker"
    assert domain.person_of(_user("c", name="  ", email="c@x.example")).name == "c@x.example"
    assert domain.person_of(_user("d")).name == "user-d"


def test_the_role_is_the_highest_caseline_group_and_other_groups_grant_none() -> None:
    def role(*groups: str) -> object:
        return domain.person_of(_user("x", groups=frozenset(groups))).role

    assert role("caseline-viewers", "caseline-admins", "caseline-staff") == domain.PersonRole.ADMIN
    assert role("caseline-viewers", "caseline-staff") == domain.PersonRole.STAFF
    assert role("caseline-viewers") == domain.PersonRole.VIEWER
    assert role("claims-handlers") is None


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("novak", {"sub-jana"}),
        ("NOVÁKOVÁ", {"sub-jana"}),
        ("jana becker", set()),  # every word must be found
        ("becker lukas", {"sub-lukas"}),  # in any order
        ("insurer.example", {"sub-jana", "sub-lukas"}),  # the e-mail address too
        ("angstrom", {"sub-zoe"}),
        ("zoe", {"sub-zoe"}),
        ("", {"sub-jana", "sub-lukas", "sub-zoe"}),
        ("sub-jana", set()),  # not the subject: people are found by what people know of them
    ],
)
def test_matching_ignores_case_and_accents_on_name_and_e_mail(query: str, expected: set[str]) -> None:
    assert {person.subject for person in (JANA, LUKAS, ZOE) if domain.matches(person, query)} == expected


@dataclass
class InMemoryPeople:
    stored: dict[str, "domain.Person"] = field(default_factory=dict)
    writes: list[tuple[int, int]] = field(default_factory=list)

    def people(self) -> list["domain.Person"]:
        return list(self.stored.values())

    def replace(self, changed: list["domain.Person"], removed: list[str]) -> None:
        self.writes.append((len(changed), len(removed)))
        self.stored.update({person.subject: person for person in changed})
        for subject in removed:
            del self.stored[subject]


@dataclass
class Pool:
    listed: list["domain.DirectoryUser"]

    def users(self) -> list["domain.DirectoryUser"]:
        return self.listed


def test_a_refresh_writes_only_who_is_new_changed_or_gone() -> None:
    store = InMemoryPeople()
    service = people_service.PeopleService(store)
    jana = _user("sub-jana", name="Jana Nováková", groups=frozenset({"caseline-staff"}))
    lukas = _user("sub-lukas", name="Lukas Becker", groups=frozenset({"caseline-admins"}))
    assert service.refresh(Pool([jana, lukas])) == people_service.Refreshed(listed=2, changed=2, removed=0)
    assert service.refresh(Pool([jana, lukas])) == people_service.Refreshed(listed=2, changed=0, removed=0)
    promoted = jana.model_copy(update={"groups": frozenset({"caseline-admins"})})
    assert service.refresh(Pool([promoted])) == people_service.Refreshed(listed=1, changed=1, removed=1)
    assert store.writes == [(2, 0), (1, 1)]  # the unchanged refresh wrote nothing
    assert store.people() == [
        domain.Person(subject="sub-jana", name="Jana Nováková", role="admin", groups=frozenset({"caseline-admins"}))
    ]
    # a group a template role grants changes no Caseline role but who may read which cases: it is written too
    on_a_team = promoted.model_copy(update={"groups": frozenset({"caseline-admins", "claims-handlers"})})
    assert service.refresh(Pool([on_a_team])).changed == 1


def _tenant(*groups: str, external: bool = False) -> TenantContext:
    principal = Principal(subject="caller", groups=frozenset(groups), external=external)
    return TenantContext(tenant_id="demo", principal=principal, correlation_id="c")


def test_pages_run_in_name_order_and_a_cursor_serves_only_its_own_query() -> None:
    service = people_service.PeopleService(InMemoryPeople({p.subject: p for p in (ZOE, LUKAS, JANA)}))
    viewer = _tenant("caseline-viewers")
    first = service.people(viewer, "", limit=2, cursor=None)
    assert [p.subject for p in first.items] == ["sub-jana", "sub-lukas"]
    assert first.next_cursor is not None
    rest = service.people(viewer, "", limit=2, cursor=first.next_cursor)
    assert ([p.subject for p in rest.items], rest.next_cursor) == (["sub-zoe"], None)
    with pytest.raises(InvalidCursorError):
        service.people(viewer, "lukas", limit=2, cursor=first.next_cursor)
    with pytest.raises(InvalidCursorError):
        service.people(viewer, "", limit=2, cursor="not a cursor")


@pytest.mark.parametrize("caller", [_tenant(), _tenant("claims-handlers"), _tenant("caseline-staff", external=True)])
def test_the_directory_is_refused_to_callers_without_a_caseline_group(caller: TenantContext) -> None:
    with pytest.raises(ForbiddenError):
        people_service.PeopleService(InMemoryPeople()).people(caller, "", limit=10, cursor=None)
