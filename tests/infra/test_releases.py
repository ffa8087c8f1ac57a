"""Gradual releases: every function runs behind its `live` alias, everything that invokes a function names that
alias, and each alias is shifted by a CodeDeploy canary that the function's own alarms roll back."""

import json
from typing import Any

from caseline_common.resources import SERVICES, TenantResourceNames

from infra.functions import service_functions
from infra.releases import LIVE_ALIAS
from tests.infra.conftest import Synthesized, resources

TENANT = "demo"
NAMES = TenantResourceNames(tenant_id=TENANT)


def _by_ref(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {name: body["Properties"] for name, body in resources(template, resource_type).items()}


def _aliases(template: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """Function logical id -> (alias logical id, alias resource)."""
    return {
        body["Properties"]["FunctionName"]["Ref"]: (name, body)
        for name, body in resources(template, "AWS::Lambda::Alias").items()
    }


def test_every_function_has_a_live_alias_on_its_published_version(assembly: Synthesized) -> None:
    for service in SERVICES:
        template = assembly.template(TENANT, service)
        functions = resources(template, "AWS::Lambda::Function")
        aliases = _aliases(template)
        assert set(aliases) == set(functions), service
        versions = resources(template, "AWS::Lambda::Version")
        for function, (_, alias) in aliases.items():
            assert alias["Properties"]["Name"] == LIVE_ALIAS
            (version,) = alias["Properties"]["FunctionVersion"]["Fn::GetAtt"][:1]
            assert versions[version]["Properties"]["FunctionName"] == {"Ref": function}


def _names_an_alias(value: Any, alias_ids: set[str]) -> bool:
    """A function reference that can only be an alias: a Ref to one (or its name part), or an ARN ending `:live`."""
    rendered = json.dumps(value)
    return any(f'"Ref": "{alias}"' in rendered for alias in alias_ids) or rendered.endswith(f':{LIVE_ALIAS}"]]}}')


def test_mappings_and_schedules_invoke_the_alias(assembly: Synthesized) -> None:
    checked = 0
    for service in SERVICES:
        template = assembly.template(TENANT, service)
        alias_ids = {name for name, _ in _aliases(template).values()}
        for name, mapping in _by_ref(template, "AWS::Lambda::EventSourceMapping").items():
            assert _names_an_alias(mapping["FunctionName"], alias_ids), (service, name, mapping["FunctionName"])
            assert json.dumps(mapping["FunctionName"]).count(f":{LIVE_ALIAS}") == 1
            checked += 1
        for name, schedule in _by_ref(template, "AWS::Scheduler::Schedule").items():
            target = schedule["Target"]["Arn"]
            assert target.get("Ref") in alias_ids, (service, name, target)
            checked += 1
        # The scheduler's role may invoke the alias only.
        for name, policy in _by_ref(template, "AWS::IAM::ManagedPolicy").items():
            for statement in policy["PolicyDocument"]["Statement"]:
                if "lambda:InvokeFunction" in json.dumps(statement["Action"]):
                    assert statement["Resource"].get("Ref") in alias_ids, name
    assert checked >= 10


def test_the_api_integrations_and_permissions_invoke_each_api_functions_alias(assembly: Synthesized) -> None:
    template = assembly.template(TENANT, "api")
    suffixes = {f":function:{NAMES.prefix()}-{service}-api:{LIVE_ALIAS}" for service in SERVICES}
    authorizer = f":function:{NAMES.prefix()}-api-authorizer:{LIVE_ALIAS}"  # the request authorizer's, released too
    integrations = {
        json.dumps(body["Integration"]["Uri"])
        for body in _by_ref(template, "AWS::ApiGateway::Method").values()
        if body.get("Integration", {}).get("Type") == "AWS_PROXY"
    }
    assert integrations
    for uri in integrations:
        assert any(f'{suffix}/invocations"' in uri for suffix in suffixes), uri
    permissions = [
        body
        for body in _by_ref(template, "AWS::Lambda::Permission").values()
        if body["Principal"] == "apigateway.amazonaws.com"
    ]
    assert len(permissions) == len(SERVICES) + 1
    for permission in permissions:
        named = json.dumps(permission["FunctionName"])
        assert any(named.endswith(f'{suffix}"]]}}') for suffix in {*suffixes, authorizer}), named
    (authorizer_uri,) = [body["AuthorizerUri"] for body in _by_ref(template, "AWS::ApiGateway::Authorizer").values()]
    assert f'{authorizer}/invocations"' in json.dumps(authorizer_uri)


def test_each_alias_is_released_by_a_canary_that_its_functions_alarms_roll_back(assembly: Synthesized) -> None:
    for service in SERVICES:
        template = assembly.template(TENANT, service)
        groups = _by_ref(template, "AWS::CodeDeploy::DeploymentGroup")
        alarms = {name: body["AlarmName"] for name, body in _by_ref(template, "AWS::CloudWatch::Alarm").items()}
        (application,) = _by_ref(template, "AWS::CodeDeploy::Application")
        for spec in service_functions(service):
            function_name = spec.function_name(NAMES)
            (function_id,) = [
                name
                for name, body in _by_ref(template, "AWS::Lambda::Function").items()
                if body["FunctionName"] == function_name
            ]
            _, alias = _aliases(template)[function_id]
            update = alias["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]
            assert update["ApplicationName"] == {"Ref": application}
            group = groups[update["DeploymentGroupName"]["Ref"]]
            assert group["DeploymentGroupName"] == function_name
            assert group["DeploymentConfigName"] == "CodeDeployDefault.LambdaCanary10Percent5Minutes"
            assert group["AutoRollbackConfiguration"]["Enabled"] is True
            assert set(group["AutoRollbackConfiguration"]["Events"]) >= {
                "DEPLOYMENT_FAILURE",
                "DEPLOYMENT_STOP_ON_ALARM",
            }
            assert group["AlarmConfiguration"]["Enabled"] is True
            watched = {alarms[alarm["Name"]["Ref"]] for alarm in group["AlarmConfiguration"]["Alarms"]}
            expected = {f"{function_name}-errors"} | ({f"{function_name}-latency-p95"} if spec.kind == "api" else set())
            assert watched == expected, (service, spec.name)


def test_codedeploy_has_one_role_per_service_assumable_by_codedeploy_only(assembly: Synthesized) -> None:
    for service in SERVICES:
        template = assembly.template(TENANT, service)
        roles = {
            group["ServiceRoleArn"]["Fn::GetAtt"][0]
            for group in _by_ref(template, "AWS::CodeDeploy::DeploymentGroup").values()
        }
        (role_id,) = roles
        role = _by_ref(template, "AWS::IAM::Role")[role_id]
        (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
        assert statement["Principal"] == {"Service": "codedeploy.amazonaws.com"}
        (policy,) = role["ManagedPolicyArns"]
        assert json.dumps(policy).endswith('policy/service-role/AWSCodeDeployRoleForLambdaLimited"]]}')
