"""Saved views: list, read, save, change and delete a person's views, and read those shared with their groups.

Every member of staff (and every viewer) keeps their own views; external participants have none. A view is read
by its owner, by admins, and by members of a group it is shared with; it is changed or deleted by its owner or an
admin, at the version they read (If-Match)."""

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from caseline_common.errors import FieldIssue, ForbiddenError, InvalidInputError, NotFoundError, PreconditionFailedError
from caseline_common.idempotency import Answer, Claim, KeyClaimedError, replay_of
from caseline_common.tenant import READERS, Principal, StaffRole, TenantContext

from .domain.views import (
    MAX_CALLER_AUDIENCES,
    MAX_VIEWS_PER_AUDIENCE,
    MAX_VIEWS_PER_OWNER,
    AudienceFullError,
    OwnerFullError,
    SavedView,
    StaleViewError,
    ViewList,
    ViewRequest,
    by_name,
)


class ViewStore(Protocol):
    def view(self, view_id: str) -> SavedView | None: ...

    def owned(self, owner: str) -> list[SavedView]:
        """Every view of one owner: one read (MAX_VIEWS_PER_OWNER bounds them)."""
        ...

    def shared_with(self, group: str) -> list[SavedView]:
        """Every view shared with one group: one read (MAX_VIEWS_PER_AUDIENCE bounds them)."""
        ...

    def idempotency_claim(self, scope: str) -> Claim | None: ...

    def create(self, view: SavedView, claim: Claim | None) -> None:
        """Stores a new view with its claim in one write; raises OwnerFullError, AudienceFullError or
        KeyClaimedError, having written nothing."""
        ...

    def replace(self, current: SavedView, new: SavedView) -> None:
        """Stores `new` if the view is still at `current.version`; else raises StaleViewError (or
        AudienceFullError), having written nothing."""
        ...

    def delete(self, current: SavedView) -> None:
        """Deletes the view if it is still at `current.version`; else raises StaleViewError."""
        ...


def _staff(context: TenantContext) -> Principal:
    principal = context.principal
    if not principal.has_any(*READERS) or principal.automation:
        raise ForbiddenError("Saved views are for members of staff.")
    return principal


def _admin(principal: Principal) -> bool:
    return principal.has_any(StaffRole.ADMIN)


def _audiences(principal: Principal) -> list[str]:
    """The groups whose shared views the caller reads, bounded: one Query each."""
    return sorted(principal.groups)[:MAX_CALLER_AUDIENCES]


class ViewService:
    def __init__(self, store: ViewStore, *, clock: Callable[[], datetime], new_id: Callable[[], str]) -> None:
        self._store = store
        self._clock = clock
        self._new_id = new_id

    def list_views(self, context: TenantContext) -> ViewList:
        principal = _staff(context)
        mine = self._store.owned(principal.subject)
        team: dict[str, SavedView] = {}
        for group in _audiences(principal):
            for view in self._store.shared_with(group):
                if view.owner != principal.subject:
                    team.setdefault(view.id, view)
        return ViewList(
            mine=by_name([self._as_seen(principal, view) for view in mine]),
            team=by_name([self._as_seen(principal, view) for view in team.values()]),
        )

    def get_view(self, context: TenantContext, view_id: str) -> SavedView:
        principal = _staff(context)
        return self._as_seen(principal, self._visible(principal, view_id))

    def create_view(
        self, context: TenantContext, request: ViewRequest, idempotency_key: str | None
    ) -> Answer[SavedView]:
        principal = _staff(context)
        now = self._clock()
        claim = Claim.of(context, "create_view", idempotency_key, request, now)
        replayed = replay_of(claim, self._store.idempotency_claim(claim.scope) if claim else None, SavedView)
        if replayed is not None:
            return replayed
        self._check_audiences(principal, request.shared_with, already=[])
        view = SavedView(
            id=self._new_id(),
            owner=principal.subject,
            created_at=now,
            updated_at=now,
            version=1,
            editable=True,
            **request.model_dump(),
        )
        try:
            self._store.create(view.stored(), claim.answering(view) if claim else None)
        except KeyClaimedError as taken:
            return taken.replay(SavedView)
        except OwnerFullError:
            raise InvalidInputError(
                f"You have {MAX_VIEWS_PER_OWNER} saved views, the most one person may keep; delete one first.",
                [FieldIssue(pointer="", detail=f"at most {MAX_VIEWS_PER_OWNER} views per person")],
            ) from None
        except AudienceFullError as full:
            raise _audience_full(request, full.group) from None
        return Answer(view)

    def replace_view(self, context: TenantContext, view_id: str, request: ViewRequest, if_match: int) -> SavedView:
        principal = _staff(context)
        current = self._editable(principal, view_id, if_match)
        self._check_audiences(principal, request.shared_with, already=current.shared_with)
        new = SavedView.model_validate(
            {
                **current.model_dump(),
                **request.model_dump(),
                "updated_at": self._clock(),
                "version": current.version + 1,
                "editable": True,
            }
        )
        try:
            self._store.replace(current.stored(), new.stored())
        except StaleViewError:
            raise self._stale(view_id) from None
        except AudienceFullError as full:
            raise _audience_full(request, full.group) from None
        return new

    def delete_view(self, context: TenantContext, view_id: str, if_match: int) -> None:
        principal = _staff(context)
        current = self._editable(principal, view_id, if_match)
        try:
            self._store.delete(current.stored())
        except StaleViewError:
            raise self._stale(view_id) from None

    def _visible(self, principal: Principal, view_id: str) -> SavedView:
        view = self._store.view(view_id)
        if view is None or not (
            view.owner == principal.subject or _admin(principal) or principal.groups & set(view.shared_with)
        ):
            raise NotFoundError(f"No saved view {view_id}.")
        return view

    def _editable(self, principal: Principal, view_id: str, if_match: int) -> SavedView:
        view = self._visible(principal, view_id)
        if not self._may_edit(principal, view):
            raise ForbiddenError("Only the view's owner, or an admin, changes or deletes it; save a copy instead.")
        if view.version != if_match:
            raise PreconditionFailedError(
                f"The view is at version {view.version}, not {if_match}.", current_version=view.version
            )
        return view

    def _stale(self, view_id: str) -> Exception:
        current = self._store.view(view_id)
        if current is None:
            return NotFoundError(f"No saved view {view_id}.")
        return PreconditionFailedError(
            f"The view changed meanwhile; it is at version {current.version}.", current_version=current.version
        )

    @staticmethod
    def _may_edit(principal: Principal, view: SavedView) -> bool:
        return view.owner == principal.subject or _admin(principal)

    def _as_seen(self, principal: Principal, view: SavedView) -> SavedView:
        return view.model_copy(update={"editable": self._may_edit(principal, view)})

    @staticmethod
    def _check_audiences(principal: Principal, groups: list[str], *, already: list[str]) -> None:
        """A person shares with groups they are in (an admin with any); a group the view is shared with already
        may stay, whoever edits it."""
        if _admin(principal):
            return
        issues = [
            FieldIssue(pointer=f"/shared_with/{index}", detail="you are not a member of this group")
            for index, group in enumerate(groups)
            if group not in principal.groups and group not in already
        ]
        if issues:
            raise InvalidInputError("A view is shared only with groups you belong to.", issues)


def _audience_full(request: ViewRequest, group: str) -> InvalidInputError:
    return InvalidInputError(
        f"The group {group} has {MAX_VIEWS_PER_AUDIENCE} views shared with it, the most a group takes.",
        [
            FieldIssue(
                pointer=f"/shared_with/{request.shared_with.index(group)}",
                detail=f"at most {MAX_VIEWS_PER_AUDIENCE} views per group",
            )
        ],
    )
