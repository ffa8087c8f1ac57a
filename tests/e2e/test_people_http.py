"""GET /people over real HTTP on the local stack: the development users as the directory lists them (each the one
subject their tokens carry), someone added to the tenant's pool found by name without accents after a refresh and
gone after the next once removed, and refusals as problem+json."""

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from caseline.local.console import DEV_USERS
from caseline.local.pumps import invoke, scheduled_event
from caseline.local.stack import PEOPLE_SYNC_FUNCTION, LocalStack

PROBLEM_JSON = "application/problem+json"


@pytest.fixture(scope="module")
def http(stack: LocalStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.url, timeout=10) as client:
        yield client


def _as(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _refresh(stack: LocalStack) -> None:
    """The scheduled refresh, now (the stack's own copy of the function, as the scheduler invokes it)."""
    function = stack.functions[PEOPLE_SYNC_FUNCTION].function(PEOPLE_SYNC_FUNCTION)
    assert invoke(function, PEOPLE_SYNC_FUNCTION, scheduled_event(PEOPLE_SYNC_FUNCTION)) == set()


def _people(http: httpx.Client, stack: LocalStack, **params: Any) -> list[dict[str, Any]]:
    answer = http.get("/people", params=params, headers=_as(stack.staff_token(admin=False)))
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def test_each_development_user_is_one_person_with_the_subject_of_their_tokens(
    stack: LocalStack, http: httpx.Client
) -> None:
    for user in DEV_USERS:
        [person] = _people(http, stack, q=user.name)
        assert (person["subject"], person["name"], person["email"]) == (user.subject, user.name, user.email)
    # `caseline dev` prints LocalStack.staff_token(): the administrator the console signs in, not a second person.
    assert [person["subject"] for person in _people(http, stack, q="dana")] == ["dev-admin"]
    assert {person["role"] for person in _people(http, stack, q="demo.caseline.local")} >= {"admin", "staff", "viewer"}


def test_someone_added_to_the_pool_is_found_by_name_without_accents_until_removed(
    stack: LocalStack, http: httpx.Client
) -> None:
    cognito, pool = stack.aws.cognito_idp(), stack.tenant.user_pool_id
    marker = uuid.uuid4().hex[:8]
    email = f"jana.{marker}@insurer.example"
    created = cognito.admin_create_user(
        UserPoolId=pool,
        Username=email,
        MessageAction="SUPPRESS",
        UserAttributes=[{"Name": "name", "Value": f"Jana Nováková {marker}"}, {"Name": "email", "Value": email}],
    )
    cognito.admin_add_user_to_group(UserPoolId=pool, Username=email, GroupName="caseline-staff")
    subject = next(a["Value"] for a in created["User"]["Attributes"] if a["Name"] == "sub")
    try:
        _refresh(stack)
        [found] = _people(http, stack, q=f"NOVAKOVA {marker}")
        assert found == {"subject": subject, "name": f"Jana Nováková {marker}", "email": email, "role": "staff"}
    finally:
        cognito.admin_delete_user(UserPoolId=pool, Username=email)
        _refresh(stack)
    assert _people(http, stack, q=marker) == []


@pytest.mark.parametrize(
    ("params", "status", "pointer"),
    [
        ({"limit": "0"}, 422, "/limit"),
        ({"limit": "101"}, 422, "/limit"),
        ({"q": "bidi\u202eoverride"}, 422, "/q"),
        ({"q": "x" * 201}, 422, "/q"),
        ({"colour": "blue"}, 422, "/colour"),
        ({"cursor": "not-a-cursor"}, 400, None),
    ],
)
def test_bad_input_is_a_problem(
    stack: LocalStack, http: httpx.Client, params: dict[str, str], status: int, pointer: str | None
) -> None:
    answer = http.get("/people", params=params, headers=_as(stack.staff_token()))
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"] == PROBLEM_JSON
    if pointer:
        assert pointer in {error["pointer"] for error in answer.json()["errors"]}


def test_a_caller_without_a_caseline_group_is_refused(stack: LocalStack, http: httpx.Client) -> None:
    token = stack.idp.issue(subject="dev-nobody", email="nobody@demo.caseline.local", groups=["claims-handlers"])
    answer = http.get("/people", headers=_as(token))
    assert answer.status_code == 403
    assert answer.headers["Content-Type"] == PROBLEM_JSON
