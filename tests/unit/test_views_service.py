"""Saved views as the use case keeps them: who sees, changes and deletes a view, which groups it may be shared
with, the limits, versions (If-Match) and Idempotency-Key, through an in-memory store that keeps the port's
promises as the DynamoDB adapter does (tests/integration/test_views_dynamo.py checks that adapter)."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import TYPE_CHECKING, Any

import pytest
from caseline_common.errors import ForbiddenError, InvalidInputError, NotFoundError, PreconditionFailedError
from caseline_common.idempotency import Claim, KeyClaimedError
from caseline_common.tenant import Principal, StaffRole, TenantContext
from pydantic import ValidationError
from service_modules import loaded_module

if TYPE_CHECKING:
    from services.search.chalicelib import view_service as service_module
    from services.search.chalicelib.domain import views as domain
else:
    service_module = loaded_module("search", "chalicelib.view_service")
    domain = loaded_module("search", "chalicelib.domain.views")

T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
STAFF = StaffRole.STAFF.value


@dataclass
class InMemoryViews:
    """The ViewStore port: the limits are counted as the adapter's counters do, and writes are conditional on
    the version read."""

    views: dict[str, Any] = field(default_factory=dict)
    claims: dict[str, Claim] = field(default_factory=dict)
    reads: list[str] = field(default_factory=list)

    def view(self, view_id: str) -> Any:
        return self.views.get(view_id)

    def owned(self, owner: str) -> list[Any]:
        self.reads.append(f"owner:{owner}")
        return [view for view in self.views.values() if view.owner == owner]

    def shared_with(self, group: str) -> list[Any]:
        self.reads.append(f"group:{group}")
        return [view for view in self.views.values() if group in view.shared_with]

    def idempotency_claim(self, scope: str) -> Claim | None:
        return self.claims.get(scope)

    def _check_room(self, view: Any, added: list[str]) -> None:
        for group in added:
            if len(self.shared_with(group)) >= domain.MAX_VIEWS_PER_AUDIENCE:
                raise domain.AudienceFullError(group)

    def create(self, view: Any, claim: Claim | None) -> None:
        if claim is not None and claim.scope in self.claims:
            raise KeyClaimedError(claim, self.claims[claim.scope])
        if len(self.owned(view.owner)) >= domain.MAX_VIEWS_PER_OWNER:
            raise domain.OwnerFullError(view.owner)
        self._check_room(view, view.shared_with)
        assert view.editable is False, "the store keeps views without the caller's editable"
        self.views[view.id] = view
        if claim is not None:
            self.claims[claim.scope] = claim

    def replace(self, current: Any, new: Any) -> None:
        stored = self.views.get(current.id)
        if stored is None or stored.version != current.version:
            raise domain.StaleViewError(current.id)
        self._check_room(new, [group for group in new.shared_with if group not in current.shared_with])
        self.views[new.id] = new

    def delete(self, current: Any) -> None:
        stored = self.views.get(current.id)
        if stored is None or stored.version != current.version:
            raise domain.StaleViewError(current.id)
        del self.views[current.id]


def context(subject: str, *groups: str) -> TenantContext:
    principal = Principal(subject=subject, groups=frozenset(groups))
    return TenantContext(tenant_id="acme", principal=principal, correlation_id="c-1")


PAT = context("pat", STAFF, "claims-team", "fraud")
SAM = context("sam", STAFF, "claims-team")
LEE = context("lee", STAFF, "underwriting")
ADA = context("ada", StaffRole.ADMIN.value)
VIC = context("vic", StaffRole.VIEWER.value, "claims-team")


@pytest.fixture
def store() -> InMemoryViews:
    return InMemoryViews()


@pytest.fixture
def service(store: InMemoryViews) -> "service_module.ViewService":
    ticks = count()
    ids = count(1)
    clock: Callable[[], datetime] = lambda: T0 + timedelta(minutes=next(ticks))  # noqa: E731
    return service_module.ViewService(store, clock=clock, new_id=lambda: f"01VIEW{next(ids):020d}")


def request(name: str = "Open claims", **values: Any) -> "domain.ViewRequest":
    return domain.ViewRequest.model_validate({"name": name, **values})


def test_a_view_keeps_its_query_columns_and_audiences(service: "service_module.ViewService") -> None:
    created = service.create_view(
        PAT,
        request(
            query={"q": "Köln", "template_key": "insurance-claim", "status": "open", "sort": "due"},
            columns=["title", "due", "owner"],
            shared_with=["claims-team"],
        ),
        None,
    ).resource
    assert (created.owner, created.version, created.editable) == ("pat", 1, True)
    assert created.created_at == created.updated_at
    read = service.get_view(PAT, created.id)
    assert (read.query.q, read.query.sort) == ("Köln", domain.ViewSort.DUE)
    assert [column.value for column in read.columns] == ["title", "due", "owner"]
    assert read.shared_with == ["claims-team"]


def test_mine_and_team_views_one_read_each(service: "service_module.ViewService", store: InMemoryViews) -> None:
    service.create_view(PAT, request("Zeta", shared_with=["claims-team"]), None)
    service.create_view(PAT, request("alpha"), None)
    service.create_view(SAM, request("Sam's queue", shared_with=["claims-team"]), None)
    service.create_view(LEE, request("Underwriting", shared_with=["underwriting"]), None)

    store.reads.clear()
    pats = service.list_views(PAT)
    assert [view.name for view in pats.mine] == ["alpha", "Zeta"], "by name, in any letter case"
    assert [view.name for view in pats.team] == ["Sam's queue"], "own shared views are under mine only"
    assert [view.editable for view in pats.team] == [False]
    assert store.reads == ["owner:pat", f"group:{STAFF}", "group:claims-team", "group:fraud"]

    sams = service.list_views(SAM)
    assert [view.name for view in sams.team] == ["Zeta"]
    assert service.list_views(LEE).team == []
    admins = service.list_views(ADA)
    assert (admins.mine, admins.team) == ([], []), "admins change any view, but their lists are their own"


def test_a_view_shared_with_two_of_my_groups_is_listed_once(service: "service_module.ViewService") -> None:
    service.create_view(PAT, request("Both", shared_with=["claims-team", "fraud"]), None)
    both = context("kim", STAFF, "claims-team", "fraud")
    assert [view.name for view in service.list_views(both).team] == ["Both"]


def test_the_caller_groups_read_are_bounded(service: "service_module.ViewService", store: InMemoryViews) -> None:
    many = context("max", STAFF, *(f"g{index:02d}" for index in range(40)))
    service.list_views(many)
    assert len([read for read in store.reads if read.startswith("group:")]) == domain.MAX_CALLER_AUDIENCES


def test_only_members_of_a_group_see_a_view_shared_with_it(service: "service_module.ViewService") -> None:
    view = service.create_view(PAT, request(shared_with=["fraud"]), None).resource
    with pytest.raises(NotFoundError):
        service.get_view(SAM, view.id)
    assert service.get_view(ADA, view.id).editable is True
    assert service.get_view(context("fay", STAFF, "fraud"), view.id).editable is False


def test_others_cannot_change_or_delete_a_view_they_see(service: "service_module.ViewService") -> None:
    view = service.create_view(PAT, request(shared_with=["claims-team"]), None).resource
    with pytest.raises(ForbiddenError):
        service.replace_view(SAM, view.id, request("Mine now"), if_match=1)
    with pytest.raises(ForbiddenError):
        service.delete_view(SAM, view.id, if_match=1)
    with pytest.raises(NotFoundError):
        service.delete_view(LEE, view.id, if_match=1)
    assert service.get_view(PAT, view.id).name == "Open claims"


def test_an_admin_changes_and_deletes_anyone_s_view(service: "service_module.ViewService") -> None:
    view = service.create_view(PAT, request(shared_with=["claims-team"]), None).resource
    changed = service.replace_view(ADA, view.id, request("Renamed", shared_with=["claims-team", "managers"]), 1)
    assert (changed.owner, changed.name, changed.version) == ("pat", "Renamed", 2)
    service.delete_view(ADA, view.id, if_match=2)
    with pytest.raises(NotFoundError):
        service.get_view(PAT, view.id)


def test_a_person_shares_only_with_their_own_groups(service: "service_module.ViewService") -> None:
    with pytest.raises(InvalidInputError) as refused:
        service.create_view(SAM, request(shared_with=["claims-team", "fraud", "managers"]), None)
    assert [issue.pointer for issue in refused.value.issues] == ["/shared_with/1", "/shared_with/2"]
    view = service.create_view(ADA, request(shared_with=["fraud"]), None).resource
    assert view.shared_with == ["fraud"], "an admin shares with any group"
    # A group the view has already stays when its owner edits it, even if they have left the group.
    left = service.create_view(PAT, request(shared_with=["fraud"]), None).resource
    former = context("pat", STAFF)
    assert service.replace_view(former, left.id, request("Kept", shared_with=["fraud"]), 1).shared_with == ["fraud"]


def test_versions_guard_changes(service: "service_module.ViewService", store: InMemoryViews) -> None:
    view = service.create_view(PAT, request(), None).resource
    renamed = service.replace_view(PAT, view.id, request("Renamed"), if_match=1)
    assert (renamed.version, renamed.created_at, renamed.editable) == (2, view.created_at, True)
    assert renamed.updated_at > view.updated_at
    with pytest.raises(PreconditionFailedError) as stale:
        service.replace_view(PAT, view.id, request("Again"), if_match=1)
    assert stale.value.extensions == {"current_version": 2}
    with pytest.raises(PreconditionFailedError):
        service.delete_view(PAT, view.id, if_match=1)
    # A write that loses the race after the read is refused by the store, and answered the same way.
    original = store.view

    def changed_meanwhile(view_id: str) -> Any:
        found = original(view_id)
        store.view = original  # type: ignore[method-assign]
        store.views[view_id] = found.model_copy(update={"version": 3})
        return found

    store.view = changed_meanwhile  # type: ignore[method-assign]
    with pytest.raises(PreconditionFailedError) as raced:
        service.delete_view(PAT, view.id, if_match=2)
    assert raced.value.extensions == {"current_version": 3}


def test_a_person_keeps_at_most_a_hundred_views(service: "service_module.ViewService") -> None:
    for index in range(domain.MAX_VIEWS_PER_OWNER):
        service.create_view(PAT, request(f"View {index}"), None)
    with pytest.raises(InvalidInputError) as full:
        service.create_view(PAT, request("One more"), None)
    assert "delete one first" in full.value.detail
    assert service.create_view(SAM, request("Sam's"), None).resource.owner == "sam"


def test_a_group_takes_a_bounded_number_of_views(service: "service_module.ViewService", store: InMemoryViews) -> None:
    for index in range(domain.MAX_VIEWS_PER_AUDIENCE):
        owner = f"user{index // 50}"
        view = domain.SavedView(
            id=f"v{index}", name="x", owner=owner, query=domain.ViewQuery(), columns=[domain.Column.TITLE],
            shared_with=["fraud"], created_at=T0, updated_at=T0, version=1,
        )  # fmt: skip
        store.views[view.id] = view
    with pytest.raises(InvalidInputError) as full:
        service.create_view(PAT, request(shared_with=["claims-team", "fraud"]), None)
    assert [issue.pointer for issue in full.value.issues] == ["/shared_with/1"]


def test_the_same_idempotency_key_saves_once(service: "service_module.ViewService", store: InMemoryViews) -> None:
    first = service.create_view(PAT, request(), "key-1")
    again = service.create_view(PAT, request(), "key-1")
    assert (again.replayed, again.resource) == (True, first.resource)
    assert len(store.views) == 1
    with pytest.raises(InvalidInputError):
        service.create_view(PAT, request("Other"), "key-1")
    assert service.create_view(SAM, request(), "key-1").resource.owner == "sam", "a key is the caller's own"


@pytest.mark.parametrize(
    "who", [context("ext", STAFF).model_copy(update={"principal": Principal(subject="p1", external=True)}),
            context("nobody", "claims-team")],
)  # fmt: skip
def test_externals_and_people_without_a_staff_role_have_no_views(
    service: "service_module.ViewService", who: TenantContext
) -> None:
    with pytest.raises(ForbiddenError):
        service.list_views(who)
    with pytest.raises(ForbiddenError):
        service.create_view(who, request(), None)


def test_a_viewer_keeps_views_too(service: "service_module.ViewService") -> None:
    view = service.create_view(VIC, request("Read-only desk", shared_with=["claims-team"]), None).resource
    assert [each.id for each in service.list_views(SAM).team] == [view.id]


@pytest.mark.parametrize(
    ("values", "pointer"),
    [
        ({"name": ""}, "/name"),
        ({"name": "   "}, "/name"),
        ({"name": "x" * 81}, "/name"),
        ({"name": "two\nlines"}, "/name"),
        ({"columns": []}, "/columns"),
        ({"columns": ["title", "title"]}, "/columns"),
        ({"columns": ["colour"]}, "/columns/0"),
        ({"shared_with": ["a#b"]}, "/shared_with/0"),
        ({"shared_with": ["g", "g"]}, "/shared_with"),
        ({"shared_with": [f"g{index}" for index in range(11)]}, "/shared_with"),
        ({"query": {"sort": "relevance"}}, "/query"),
        ({"query": {"q": "  "}}, "/query/q"),
        ({"query": {"sort": "priority"}}, "/query/sort"),
        ({"query": {"updated_since": "2027-01-01"}}, "/query/updated_since"),
        ({"owner": "someone"}, "/owner"),
    ],
)
def test_a_view_request_is_checked(values: dict[str, Any], pointer: str) -> None:
    with pytest.raises(ValidationError) as refused:
        domain.ViewRequest.model_validate({"name": "A view", **values})
    first = refused.value.errors()[0]
    assert "/" + "/".join(str(part) for part in first["loc"]) == pointer


def test_a_name_is_trimmed_and_defaults_fill_the_rest() -> None:
    made = domain.ViewRequest.model_validate({"name": "  Mine  "})
    assert made.name == "Mine"
    assert made.query == domain.ViewQuery(sort=domain.ViewSort.UPDATED)
    assert (tuple(made.columns), made.shared_with) == (domain.DEFAULT_COLUMNS, [])
