"""Each tenant's search engine as synthesized: the engine its tier buys, encrypted with the search service's key,
HTTPS only, callable by the search service's two roles alone (the API only searching), and found by both functions
in CASELINE_SEARCH_ENGINE."""

import json
from typing import Any

import pytest
from caseline_common.resources import SEARCH_ENGINE_ENV_VAR, TenantResourceNames

from infra import cost
from infra.search_engine import (
    COLLECTION_PERMISSIONS,
    DOMAIN_ALARMS,
    DOMAIN_READ_ACTIONS,
    INDEXER,
    NAME_LENGTH,
    engine_name,
)
from infra.tenants import SearchDomain, Tenant, TenantRegistry
from tests.infra.conftest import Synthesized, resources

DOMAIN = "AWS::OpenSearchService::Domain"
COLLECTION = "AWS::OpenSearchServerless::Collection"
WRITE_ACTIONS = {"es:ESHttpPut", "es:ESHttpDelete", "aoss:WriteDocument", "aoss:CreateIndex", "aoss:DeleteIndex"}


def _text(node: Any) -> str:
    """A template value as text, its references written `<LogicalId.Attribute>`, `<Ref>` or `<import Name>`."""
    if isinstance(node, str):
        return node
    if isinstance(node, list):
        return json.dumps([_text(each) for each in node])
    (function, argument), *rest = node.items()
    if rest:
        return json.dumps({key: _text(value) for key, value in node.items()})
    if function == "Fn::Join":
        return str(argument[0]).join(_text(part) for part in argument[1])
    if function == "Fn::GetAtt":
        return f"<{argument[0]}.{argument[1]}>"
    if function == "Fn::ImportValue":
        return f"<import {argument}>"
    if function == "Ref":
        return f"<{argument}>"
    return json.dumps({function: _text(argument)})


def _only(template: dict[str, Any], resource_type: str) -> tuple[str, dict[str, Any]]:
    (found,) = resources(template, resource_type).items()
    return found


def _search_key_import(assembly: Synthesized, tenant: Tenant) -> str:
    """`<import ...>` of the shared stack's export of the search service's data key ARN."""
    shared = assembly.template(tenant.id, "shared")
    alias = next(
        body["Properties"]["TargetKeyId"]["Fn::GetAtt"][0]
        for body in resources(shared, "AWS::KMS::Alias").values()
        if body["Properties"]["AliasName"] == f"alias/caseline-{tenant.id}-search-data"
    )
    (export,) = [
        output["Export"]["Name"]
        for output in shared["Outputs"].values()
        if output.get("Value") == {"Fn::GetAtt": [alias, "Arn"]} and "Export" in output
    ]
    return f"<import {export}>"


def _roles(template: dict[str, Any]) -> dict[str, str]:
    """The search service's function name (`api`, the indexer) -> its role's logical id."""
    found = {}
    for body in resources(template, "AWS::Lambda::Function").values():
        name = body["Properties"]["FunctionName"]
        function = "api" if name.endswith("-search-api") else INDEXER
        found[function] = body["Properties"]["Role"]["Fn::GetAtt"][0]
    return found


def _engine_statements(template: dict[str, Any], role: str) -> list[dict[str, Any]]:
    """The statements on the engine (es: or aoss: actions) of the managed policies attached to the role."""
    statements = []
    for body in resources(template, "AWS::IAM::ManagedPolicy").values():
        if {"Ref": role} not in body["Properties"].get("Roles", []):
            continue
        for statement in body["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if any(action.startswith(("es:", "aoss:")) for action in actions):
                statements.append({**statement, "Action": actions})
    return statements


@pytest.fixture(scope="module")
def tenants(registry: TenantRegistry) -> list[Tenant]:
    kinds = {type(tenant.limits.search_engine) for tenant in registry.tenants.values()}
    assert len(kinds) == 2, "the registry should have a tenant of each kind of engine"
    return list(registry.tenants.values())


def test_each_tenant_gets_the_engine_of_its_tier(assembly: Synthesized, tenants: list[Tenant]) -> None:
    for tenant in tenants:
        template = assembly.template(tenant.id, "search")
        plan = tenant.limits.search_engine
        name = engine_name(TenantResourceNames(tenant_id=tenant.id))
        if isinstance(plan, SearchDomain):
            assert not resources(template, COLLECTION)
            _, domain = _only(template, DOMAIN)
            cluster = domain["Properties"]["ClusterConfig"]
            assert domain["Properties"]["DomainName"] == name
            assert cluster["InstanceType"] == plan.instance_type
            assert cluster["InstanceCount"] == plan.instance_count
            assert cluster["ZoneAwarenessEnabled"] is True
            assert cluster["ZoneAwarenessConfig"]["AvailabilityZoneCount"] == plan.instance_count
            assert domain["Properties"]["EBSOptions"] == {"EBSEnabled": True, "VolumeSize": plan.volume_gb,
                                                          "VolumeType": "gp3"}  # fmt: skip
        else:
            assert not resources(template, DOMAIN)
            _, collection = _only(template, COLLECTION)
            assert collection["Properties"]["Name"] == name
            assert collection["Properties"]["Type"] == "SEARCH"
            assert collection["Properties"]["StandbyReplicas"] == "ENABLED"
        for other in ("cases", "timeline", "automations", "portal", "tasks", "shared", "api"):
            assert not resources(assembly.template(tenant.id, other), DOMAIN)
            assert not resources(assembly.template(tenant.id, other), COLLECTION)


def test_the_engine_is_encrypted_with_the_search_services_key(assembly: Synthesized, tenants: list[Tenant]) -> None:
    for tenant in tenants:
        template = assembly.template(tenant.id, "search")
        key = _search_key_import(assembly, tenant)
        if resources(template, DOMAIN):
            _, domain = _only(template, DOMAIN)
            encryption = domain["Properties"]["EncryptionAtRestOptions"]
            assert encryption["Enabled"] is True
            assert _text(encryption["KmsKeyId"]) == key
            continue
        collection_id, collection = _only(template, COLLECTION)
        policies = {
            body["Properties"]["Type"]: (policy_id, json.loads(_text(body["Properties"]["Policy"])))
            for policy_id, body in resources(template, "AWS::OpenSearchServerless::SecurityPolicy").items()
        }
        policy_id, encryption = policies["encryption"]
        assert encryption == {
            "Rules": [{"ResourceType": "collection", "Resource": [f"collection/{collection['Properties']['Name']}"]}],
            "AWSOwnedKey": False,
            "KmsARN": key,
        }
        # A collection takes the encryption policy that matches it when it is created, so it must wait for it.
        assert policy_id in template["Resources"][collection_id]["DependsOn"]


def test_the_domain_is_https_only_with_tls_1_2_node_to_node_encryption_and_encrypted_logs(
    assembly: Synthesized, tenants: list[Tenant]
) -> None:
    for tenant in tenants:
        template = assembly.template(tenant.id, "search")
        if not resources(template, DOMAIN):
            continue
        _, domain = _only(template, DOMAIN)
        properties = domain["Properties"]
        assert properties["DomainEndpointOptions"]["EnforceHTTPS"] is True
        assert properties["DomainEndpointOptions"]["TLSSecurityPolicy"].startswith("Policy-Min-TLS-1-2-")
        assert properties["NodeToNodeEncryptionOptions"] == {"Enabled": True}
        logs = properties["LogPublishingOptions"]
        assert set(logs) == {"ES_APPLICATION_LOGS", "SEARCH_SLOW_LOGS", "INDEX_SLOW_LOGS"}
        (log_group,) = {option["CloudWatchLogsLogGroupArn"]["Fn::GetAtt"][0] for option in logs.values()}
        group = template["Resources"][log_group]["Properties"]
        assert group["LogGroupName"].startswith(f"/caseline/{tenant.id}/")  # the logs key serves this prefix only
        assert "logs" in _text(group["KmsKeyId"])
        assert group["RetentionInDays"] == 365


def test_only_the_search_functions_roles_may_call_the_engine(assembly: Synthesized, tenants: list[Tenant]) -> None:
    for tenant in tenants:
        template = assembly.template(tenant.id, "search")
        roles = _roles(template)
        assert set(roles) == {"api", INDEXER}
        if resources(template, DOMAIN):
            _, domain = _only(template, DOMAIN)
            statements = domain["Properties"]["AccessPolicies"]["Statement"]
            by_role = {statement["Principal"]["AWS"]["Fn::GetAtt"][0]: statement for statement in statements}
            assert len(statements) == 2
            assert set(by_role) == set(roles.values())
            assert all(statement["Effect"] == "Allow" for statement in statements)
            reader = by_role[roles["api"]]
            assert reader["Action"] == DOMAIN_READ_ACTIONS
            assert all(_text(resource).endswith(f":domain/{domain['Properties']['DomainName']}/*/_search")
                       for resource in reader["Resource"])  # fmt: skip
            assert "es:ESHttpPut" in by_role[roles[INDEXER]]["Action"]
            continue
        (access,) = resources(template, "AWS::OpenSearchServerless::AccessPolicy").values()
        assert access["Properties"]["Type"] == "data"
        rules = json.loads(_text(access["Properties"]["Policy"]))
        by_role = {rule["Principal"][0]: rule for rule in rules}
        assert all(len(rule["Principal"]) == 1 for rule in rules)
        assert set(by_role) == {f"<{role}.Arn>" for role in roles.values()}
        for function, role in roles.items():
            (rule,) = by_role[f"<{role}.Arn>"]["Rules"]
            assert rule["ResourceType"] == "index"
            expected = COLLECTION_PERMISSIONS["read" if function == "api" else "write"]
            assert rule["Permission"] == expected
        assert by_role[f"<{roles['api']}.Arn>"]["Rules"][0]["Permission"] == ["aoss:ReadDocument"]


def test_the_api_functions_policy_allows_no_write_to_the_engine(assembly: Synthesized, tenants: list[Tenant]) -> None:
    for tenant in tenants:
        template = assembly.template(tenant.id, "search")
        roles = _roles(template)
        engine_id, _ = _only(template, DOMAIN) if resources(template, DOMAIN) else _only(template, COLLECTION)
        reads, writes = _engine_statements(template, roles["api"]), _engine_statements(template, roles[INDEXER])
        assert reads
        assert writes
        for statement in reads + writes:
            assert _text(statement["Resource"]).startswith(f"<{engine_id}.Arn>")  # this tenant's engine only
        read_actions = {action for statement in reads for action in statement["Action"]}
        assert not read_actions & WRITE_ACTIONS
        if resources(template, DOMAIN):
            assert read_actions == set(DOMAIN_READ_ACTIONS)
            assert all(_text(statement["Resource"]).endswith("/*/_search") for statement in reads)
            assert {"es:ESHttpPut", "es:ESHttpDelete"} <= {a for statement in writes for a in statement["Action"]}
        else:  # a collection's data access policy (above) is what keeps the API to reading
            assert read_actions == {"aoss:APIAccessAll"}
            assert all(statement["Resource"] == {"Fn::GetAtt": [engine_id, "Arn"]} for statement in reads)


def test_the_search_functions_find_the_engine_and_no_other_function_does(
    assembly: Synthesized, tenants: list[Tenant]
) -> None:
    for tenant in tenants:
        for stack in assembly.stacks(tenant.id):
            part = stack.stack_name.split("-", 2)[2]
            template = assembly.template(tenant.id, part)
            for body in resources(template, "AWS::Lambda::Function").values():
                variables = body["Properties"].get("Environment", {}).get("Variables", {})
                if part != "search":
                    assert SEARCH_ENGINE_ENV_VAR not in variables
                    continue
                engine = _text(variables[SEARCH_ENGINE_ENV_VAR])
                if resources(template, DOMAIN):
                    domain_id, _ = _only(template, DOMAIN)
                    assert engine == f"https://<{domain_id}.DomainEndpoint>"  # *.<region>.es.amazonaws.com
                else:
                    collection_id, _ = _only(template, COLLECTION)
                    assert engine == f"<{collection_id}.CollectionEndpoint>"  # https://*.<region>.aoss.amazonaws.com


def test_engine_names_fit_the_shortest_limit_and_stay_apart() -> None:
    assert engine_name(TenantResourceNames(tenant_id="demo")) == "caseline-demo"
    long_ids = ["a" * 31, "a" * 30 + "b", "abcdefghijklmnopqrs-tuvwxyz"]
    names = [engine_name(TenantResourceNames(tenant_id=tenant_id)) for tenant_id in long_ids]
    assert all(len(name) <= NAME_LENGTH and name[0].isalpha() and "--" not in name for name in names)
    assert len(set(names)) == len(names)


def test_a_domains_health_alarms_on_the_tenants_topic_as_the_cost_model_counts(
    assembly: Synthesized, tenants: list[Tenant]
) -> None:
    for tenant in tenants:
        template = assembly.template(tenant.id, "search")
        alarms = [
            body["Properties"]
            for body in resources(template, "AWS::CloudWatch::Alarm").values()
            if body["Properties"].get("Namespace") == "AWS/ES"
        ]
        if not resources(template, DOMAIN):
            assert not alarms
            continue
        _, domain = _only(template, DOMAIN)
        assert len(alarms) == cost.DOMAIN_ALARMS == len(DOMAIN_ALARMS)
        assert {alarm["MetricName"] for alarm in alarms} == {metric for metric, *_ in DOMAIN_ALARMS}
        for alarm in alarms:
            dimensions = {item["Name"]: item["Value"] for item in alarm["Dimensions"]}
            assert dimensions["DomainName"] == domain["Properties"]["DomainName"]
            assert "alarms" in _text(alarm["AlarmActions"])
