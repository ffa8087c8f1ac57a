"""Least privilege per function: each policy holds the data actions infra/access.py declares for its function, and
no other; no function of the timeline can delete a link (issue 17, defect 6)."""

import json
from typing import Any

from caseline_common.resources import BUCKETS, SIGNING_KEYS, TABLES, TenantResourceNames

from infra.access import DATA_ACCESS
from infra.catalog import functions
from infra.tenants import TenantRegistry
from tests.infra.conftest import Synthesized, resources


def _statements(template: dict[str, Any], function: str) -> list[dict[str, Any]]:
    (policy,) = [
        body["Properties"]["PolicyDocument"]
        for logical_id, body in resources(template, "AWS::IAM::ManagedPolicy").items()
        if logical_id.startswith(f"{function.replace('_', '')}policy")
    ]
    statements: list[dict[str, Any]] = policy["Statement"]
    return statements


def _actions(statement: dict[str, Any]) -> set[str]:
    actions = statement["Action"]
    return set(actions) if isinstance(actions, list) else {actions}


def _granted(statements: list[dict[str, Any]], resource: str, prefix: str) -> set[str]:
    """The actions of `prefix` (a service) granted on a resource whose ARN contains `resource`."""
    return {
        action
        for statement in statements
        if resource in json.dumps(statement["Resource"])
        for action in _actions(statement)
        if action.startswith(prefix)
    }


def test_every_function_that_touches_its_services_data_is_declared() -> None:
    """Insight's functions are declared by the lake (infra/lake.py), a stream handler reads only its stream."""
    declared = {(service, name) for service, name, kind in functions() if kind != "stream" and service != "insight"}
    assert set(DATA_ACCESS) == declared


def test_each_function_holds_exactly_the_data_actions_declared_for_it(
    assembly: Synthesized, registry: TenantRegistry
) -> None:
    for tenant in registry.tenants.values():
        names = TenantResourceNames(tenant_id=tenant.id)
        for (service, function), access in DATA_ACCESS.items():
            statements = _statements(assembly.template(tenant.id, service), function)
            for table in (table for table in TABLES if table.owner == service):
                granted = _granted(statements, f"table/{names.table(table)}", "dynamodb:")
                expected = set(access.actions_on(table.id))
                assert granted == expected, (tenant.id, function, table.id)
            for bucket in BUCKETS:
                objects = _granted(statements, f"{names.prefix()}-{bucket.id}-", "s3:")
                if bucket.owner == service:
                    listed = {"s3:ListBucket"} if "s3:GetObject" in access.objects else set()
                    assert objects == set(access.objects) | listed, (tenant.id, function, bucket.id)
                elif service in bucket.shared_with:
                    expected = {"s3:GetObject", "s3:PutObject"} if access.shares_objects else set()
                    assert objects == expected, (tenant.id, function, bucket.id)
            signs = any("kms:Sign" in _actions(statement) for statement in statements)
            assert signs == (access.signs and any(key.owner == service for key in SIGNING_KEYS)), function


def test_no_function_of_the_timeline_can_delete_a_link(assembly: Synthesized, registry: TenantRegistry) -> None:
    """Links are items under CASE#: the consumer deletes nothing (and has no BatchWriteItem, which deletes too);
    erasure deletes only subject markers, under SUBJECT#."""
    for tenant in registry.tenants.values():
        template = assembly.template(tenant.id, "timeline")
        consumer = _statements(template, "timeline_consumer")
        assert not {"dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "dynamodb:*"} & set().union(
            *map(_actions, consumer)
        )
        for function in ("api", "timeline_consumer", "anchor_heads"):
            for statement in _statements(template, function):
                actions = _actions(statement)
                assert not {"dynamodb:BatchWriteItem", "dynamodb:*"} & actions, function
                if "dynamodb:DeleteItem" in actions:
                    assert actions == {"dynamodb:DeleteItem"}, function
                    keys = statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
                    assert keys == ["SUBJECT#*"], function


def test_only_the_directorys_refresh_lists_users_and_only_in_its_own_tenants_pool(
    assembly: Synthesized, registry: TenantRegistry
) -> None:
    """Issue 16: the people directory's refresh reads the tenant's user pool; nothing else reads any pool."""
    for tenant in registry.tenants.values():
        for service in {service for service, _name, _kind in functions()}:
            template = assembly.template(tenant.id, service)
            for logical_id, body in resources(template, "AWS::IAM::ManagedPolicy").items():
                cognito = [
                    statement
                    for statement in body["Properties"]["PolicyDocument"]["Statement"]
                    if any(action.startswith("cognito-idp:") for action in _actions(statement))
                ]
                if not logical_id.startswith("syncpeoplepolicy"):
                    assert cognito == [], (tenant.id, service, logical_id)
                    continue
                [statement] = cognito
                assert _actions(statement) == {"cognito-idp:ListUsers", "cognito-idp:ListUsersInGroup"}
                resource = json.dumps(statement["Resource"])
                assert ":userpool/" in resource
                assert f"caseline-{tenant.id}-shared" in resource  # the pool of this tenant's shared stack
