"""The people directory's refresh against moto's Cognito and DynamoDB, on a table made from the real spec: people are
keyed by the pool's `sub` (what Cognito's tokens carry), named and given their Caseline role from the groups, over
more than one page of users; a change in the pool reaches the directory, and only the change is written."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
from caseline_common.aws import AwsClients
from caseline_common.resources import PEOPLE_TABLE, TenantResourceNames
from caseline_common.tenant import StaffRole
from moto import mock_aws
from service_modules import loaded_module

from caseline.local.provision import _create_table

from .support import recording

if TYPE_CHECKING:
    from services.tasks.chalicelib import people_service
    from services.tasks.chalicelib.adapters import cognito_people, dynamo_people
else:
    people_service = loaded_module("tasks", "chalicelib.people_service")
    cognito_people = loaded_module("tasks", "chalicelib.adapters.cognito_people")
    dynamo_people = loaded_module("tasks", "chalicelib.adapters.dynamo_people")

STAFF_COUNT = 65  # more than one page (60) of ListUsers and of ListUsersInGroup


@dataclass
class Directory:
    aws: AwsClients
    pool: str
    store: "dynamo_people.DynamoPeople"
    service: "people_service.PeopleService"

    def add(self, email: str, groups: tuple[str, ...], **attributes: str) -> str:
        cognito = self.aws.cognito_idp()
        listed = [{"Name": "email", "Value": email}, *({"Name": k, "Value": v} for k, v in attributes.items())]
        created = cognito.admin_create_user(
            UserPoolId=self.pool, Username=email, UserAttributes=listed, MessageAction="SUPPRESS"
        )
        for group in groups:
            cognito.admin_add_user_to_group(UserPoolId=self.pool, Username=email, GroupName=group)
        subject: str = next(a["Value"] for a in created["User"]["Attributes"] if a["Name"] == "sub")
        return subject

    def refresh(self) -> Any:
        return self.service.refresh(cognito_people.CognitoDirectory(self.aws.cognito_idp(), self.pool))


@pytest.fixture
def directory() -> Iterator[Directory]:
    with mock_aws():
        aws = AwsClients("eu-west-1")
        names = TenantResourceNames(tenant_id="acme")
        _create_table(aws, names, PEOPLE_TABLE)
        pool = aws.cognito_idp().create_user_pool(PoolName=names.user_pool())["UserPool"]["Id"]
        for role in StaffRole:
            aws.cognito_idp().create_group(UserPoolId=pool, GroupName=role.value)
        store = dynamo_people.DynamoPeople(aws.dynamodb(), names.table(PEOPLE_TABLE))
        yield Directory(aws, pool, store, people_service.PeopleService(store))


def test_the_directory_follows_the_pool_keyed_by_sub_with_names_and_roles(directory: Directory) -> None:
    jana = directory.add("jana@insurer.example", ("caseline-admins", "caseline-staff"), name="Jana Nováková")
    lukas = directory.add("lukas@insurer.example", ("caseline-viewers",), given_name="Lukas", family_name="Becker")
    staff = [directory.add(f"staff{n:02d}@insurer.example", ("caseline-staff",)) for n in range(STAFF_COUNT)]
    assert directory.refresh().changed == STAFF_COUNT + 2
    people = {person.subject: person for person in directory.store.people()}
    assert set(people) == {jana, lukas, *staff}  # Cognito's sub, not the user name
    assert (people[jana].name, people[jana].email) == ("Jana Nováková", "jana@insurer.example")
    assert people[jana].role == "admin"
    # every group is kept (template roles may grant any), never answered
    assert people[jana].groups == {"caseline-admins", "caseline-staff"}
    assert "groups" not in people[jana].model_dump()
    assert (people[lukas].name, people[lukas].role) == ("Lukas Becker", "viewer")
    assert {people[subject].role for subject in staff} == {"staff"}  # the group's second page counts too

    cognito = directory.aws.cognito_idp()
    cognito.admin_update_user_attributes(
        UserPoolId=directory.pool,
        Username="lukas@insurer.example",
        UserAttributes=[{"Name": "name", "Value": "Lukas M. Becker"}],
    )
    cognito.admin_delete_user(UserPoolId=directory.pool, Username="staff00@insurer.example")
    with recording(directory.aws.dynamodb()) as calls:
        refreshed = directory.refresh()
    assert (refreshed.changed, refreshed.removed) == (1, 1)
    assert calls.operations.count("BatchWriteItem") == 1  # only the difference is written
    people = {person.subject: person for person in directory.store.people()}
    assert people[lukas].name == "Lukas M. Becker"
    assert staff[0] not in people
