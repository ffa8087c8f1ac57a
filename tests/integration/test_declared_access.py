"""What each function's code really calls stays within what infra/access.py lets its policy grant.

The synth test (tests/infra/test_function_access.py) checks that each policy is the declaration; this one checks the
declaration against the code: the stack's own copy of each function records the DynamoDB, S3 and KMS operations it
makes while a case is opened, commented on, read, verified, exported, anchored and a person erased, and every
operation, as the IAM action that authorizes it, must be declared. A call a declaration forgot fails here, not in AWS.
"""

import uuid
from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest
from caseline_common.resources import API_AUTHORIZER

from caseline.local.stack import LocalStack
from infra.access import DATA_ACCESS, DataAccess

from .support import run_scheduled, timeline, wait_until

_S3_ACTIONS = {
    "GetObject": ("s3:GetObject",),
    "HeadObject": ("s3:GetObject",),
    "PutObject": ("s3:PutObject",),
    "DeleteObject": ("s3:DeleteObject",),
    "CopyObject": ("s3:GetObject", "s3:PutObject"),
    "ListObjectsV2": ("s3:ListBucket",),
}
_TRANSACTION_ITEMS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
}


class ActionRecorder:
    """The IAM actions one function's calls need, and the partition keys of what it deletes."""

    def __init__(self) -> None:
        self.actions: set[str] = set()
        self.deleted_keys: set[str] = set()

    def record(self, model: Any, params: dict[str, Any], **_kwargs: Any) -> None:
        service, name = model.service_model.endpoint_prefix, model.name
        if service == "dynamodb":
            self._dynamodb(name, params)
        elif service == "s3":
            self.actions.update(_S3_ACTIONS.get(name, (f"s3:{name}",)))
        elif service == "kms":
            self.actions.add(f"kms:{name}")

    def _dynamodb(self, name: str, params: dict[str, Any]) -> None:
        if name == "TransactWriteItems":  # authorized item by item
            for item in params["TransactItems"]:
                ((kind, write),) = item.items()
                self.actions.add(_TRANSACTION_ITEMS[kind])
                if kind == "Delete":
                    self.deleted_keys.add(write["Key"]["pk"]["S"])
            return
        self.actions.add(f"dynamodb:{name}")
        if name == "DeleteItem":
            self.deleted_keys.add(params["Key"]["pk"]["S"])


def _declared(access: DataAccess) -> set[str]:
    declared = set(access.table) | set(access.objects)
    if "s3:GetObject" in access.objects:
        declared.add("s3:ListBucket")
    if access.shares_objects:
        declared |= {"s3:GetObject", "s3:PutObject"}
    if access.signs:
        declared |= {"kms:Sign", "kms:GetPublicKey", "kms:DescribeKey"}
    return declared


def _clients(runtime_module: Any) -> list[Any]:
    aws = runtime_module.runtime.aws
    clients = [aws.dynamodb(), aws.s3(), aws.kms()]
    if hasattr(runtime_module, "timeline_service"):  # the client the timeline's functions really write with
        clients.append(runtime_module.timeline_service()._repository._client)
    return list({id(client): client for client in clients}.values())


@pytest.fixture(scope="module")
def recorders(stack: LocalStack) -> Iterator[dict[tuple[str, str], ActionRecorder]]:
    for case_id in stack.seeded_case_ids:  # the pumps' functions have built their clients by then
        wait_until(partial(timeline, stack, case_id), what=f"the timeline of {case_id}")
    # The API's authorizer touches no data and has no copy of its own locally: the gateway decides in-process.
    event_functions = [(service, name) for service, name in DATA_ACCESS if name not in ("api", API_AUTHORIZER.function)]
    copies = {(service, name): stack.functions[name] for service, name in event_functions}
    copies |= {(service, "api"): stack.api.service(service) for service, name in DATA_ACCESS if name == "api"}
    registered: list[tuple[Any, Any]] = []
    found: dict[tuple[str, str], ActionRecorder] = {}
    for function, loaded in copies.items():
        found[function] = ActionRecorder()
        for client in _clients(loaded.module("chalicelib.runtime")):
            client.meta.events.register("before-parameter-build", found[function].record)
            registered.append((client, found[function].record))
    yield found
    for client, handler in registered:
        client.meta.events.unregister("before-parameter-build", handler)


def test_every_call_of_each_function_is_one_its_policy_may_make(
    stack: LocalStack, recorders: dict[tuple[str, str], ActionRecorder]
) -> None:
    email = f"privilege-{uuid.uuid4().hex[:8]}@demo.caseline.local"
    person, token = f"dev-{email.split('@')[0]}", stack.staff_token(email=email)
    status, case = stack.request(
        "POST",
        "/cases",
        {
            "template_key": "employee-onboarding",
            "title": "Access: Ines Okafor, Sales",
            "fields": {"employee": {"name": "Ines Okafor"}, "start_date": "2027-03-01", "department": "sales"},
        },
        token=token,
    )
    assert status == 201, case
    status, body = stack.request("POST", f"/cases/{case['id']}/comments", {"body": "Laptop ordered."}, token=token)
    assert status == 201, body
    wait_until(lambda: len(timeline(stack, case["id"])) >= 2, what="the case's two events on its timeline")
    run_scheduled(stack, "anchor_heads")
    status, body = stack.request("GET", f"/cases/{case['id']}/timeline/verify")
    assert status == 200, body
    headers = {"Authorization": f"Bearer {stack.staff_token()}", "Accept": "application/zip"}
    status, _headers, raw = stack.api.handle("GET", f"/cases/{case['id']}/timeline/export", headers, None)
    assert status == 200, raw
    status, body = stack.request("POST", f"/participants/{person}/erase")
    assert status == 200, body
    assert body["erased_links"] >= 2

    for function, recorder in recorders.items():
        undeclared = recorder.actions - _declared(DATA_ACCESS[function])
        assert not undeclared, f"{function} calls what its policy does not grant: {sorted(undeclared)}"
    # At least what this test waits for (the read models' consumers run too, but nothing here waits for them; the
    # cases service's command consumer runs only on a portal or rule command, which this does not send).
    exercised = {function for function, recorder in recorders.items() if recorder.actions}
    assert {
        ("cases", "api"),
        ("timeline", "api"),
        ("timeline", "timeline_consumer"),
        ("timeline", "anchor_heads"),
    } <= exercised
    # Erasure deletes only subject markers (the policy's dynamodb:LeadingKeys condition), never a link.
    timeline_deletes = recorders[("timeline", "api")].deleted_keys
    assert timeline_deletes
    assert all(key.startswith(DATA_ACCESS[("timeline", "api")].delete_only_under) for key in timeline_deletes)
