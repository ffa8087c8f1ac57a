"""The tenant's Cognito user pool as the directory reads it: every user (ListUsers) and the members of each Caseline
group (ListUsersInGroup), a page of 60 per call, so a refresh costs a few calls per 60 people, not one per person."""

from typing import Any

from caseline_common.tenant import StaffRole

from ..domain.people import DirectoryUser

_PAGE = 60  # the most ListUsers and ListUsersInGroup give per call


def _attributes(user: dict[str, Any]) -> dict[str, str]:
    return {attribute["Name"]: attribute["Value"] for attribute in user.get("Attributes", [])}


class CognitoDirectory:
    def __init__(self, client: Any, user_pool_id: str) -> None:
        self._client, self._pool = client, user_pool_id

    def users(self) -> list[DirectoryUser]:
        members = {role: self._members(role) for role in StaffRole}
        listed: list[DirectoryUser] = []
        for user in self._pages("list_users"):
            attributes = _attributes(user)
            username = user["Username"]
            listed.append(
                DirectoryUser(
                    # Cognito's `sub` is the subject of the user's tokens, whatever they sign in with.
                    subject=attributes["sub"],
                    username=username,
                    name=attributes.get("name"),
                    given_name=attributes.get("given_name"),
                    family_name=attributes.get("family_name"),
                    email=attributes.get("email"),
                    groups=frozenset(role.value for role, names in members.items() if username in names),
                )
            )
        return listed

    def _members(self, role: StaffRole) -> set[str]:
        return {user["Username"] for user in self._pages("list_users_in_group", GroupName=role.value)}

    def _pages(self, operation: str, **parameters: Any) -> list[dict[str, Any]]:
        pages = self._client.get_paginator(operation).paginate(
            UserPoolId=self._pool, PaginationConfig={"PageSize": _PAGE}, **parameters
        )
        return [user for page in pages for user in page["Users"]]
