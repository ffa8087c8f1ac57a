"""Per-client throttles: every route that needs a token passes the request authorizer, which names the caller's usage
plan (API key source AUTHORIZER, a key required on each such method); people's plan and the probe's are in the
template, each keyed by its app client's id; the authorizer function knows every route's scope and is alarmed."""

import json
from typing import Any

import pytest
from caseline_common.authorizer import ROUTE_SCOPES_ENV_VAR, RouteScopes
from caseline_common.resources import TenantResourceNames
from caseline_common.scopes import Scope

from infra.api_stack import AUTHORIZER_CACHE, PROBE_BURST, PROBE_RATE_PER_SECOND
from infra.package import LambdaPackage
from infra.tenants import TenantRegistry
from tests.infra.conftest import Synthesized, resources

TENANT = "demo"
NAMES = TenantResourceNames(tenant_id=TENANT)


@pytest.fixture(scope="module")
def api(assembly: Synthesized) -> dict[str, Any]:
    return assembly.template(TENANT, "api")


def test_usage_keys_come_from_the_authorizer_cached_per_token_and_route(api: dict[str, Any]) -> None:
    (rest_api,) = resources(api, "AWS::ApiGateway::RestApi").values()
    assert rest_api["Properties"]["ApiKeySourceType"] == "AUTHORIZER"  # never a header a caller could send
    (authorizer,) = resources(api, "AWS::ApiGateway::Authorizer").values()
    assert authorizer["Properties"]["Type"] == "REQUEST"
    assert authorizer["Properties"]["IdentitySource"] == (
        "method.request.header.Authorization,context.httpMethod,context.resourcePath"
    )
    assert authorizer["Properties"]["AuthorizerResultTtlInSeconds"] == AUTHORIZER_CACHE.to_seconds()
    (authorizer_id,) = resources(api, "AWS::ApiGateway::Authorizer")
    guarded = [
        body["Properties"]
        for body in resources(api, "AWS::ApiGateway::Method").values()
        if body["Properties"]["AuthorizationType"] == "CUSTOM"
    ]
    assert guarded
    assert all(method["AuthorizerId"] == {"Ref": authorizer_id} and method["ApiKeyRequired"] for method in guarded)


def test_people_and_the_probe_have_their_own_plans_keyed_by_their_app_clients(
    api: dict[str, Any], registry: TenantRegistry
) -> None:
    limits = registry.tenants[TENANT].limits
    plans = {
        body["Properties"]["UsagePlanName"]: body for body in resources(api, "AWS::ApiGateway::UsagePlan").values()
    }
    assert set(plans) == {f"{NAMES.prefix()}-staff", f"{NAMES.prefix()}-probe"}
    assert plans[f"{NAMES.prefix()}-staff"]["Properties"]["Throttle"] == {
        "RateLimit": limits.api_rate_per_second,
        "BurstLimit": limits.api_burst,
    }
    assert plans[f"{NAMES.prefix()}-probe"]["Properties"]["Throttle"] == {
        "RateLimit": PROBE_RATE_PER_SECOND,
        "BurstLimit": PROBE_BURST,
    }
    keys = {
        body["Properties"]["Name"]: body["Properties"]["Value"]
        for body in resources(api, "AWS::ApiGateway::ApiKey").values()
    }
    assert "staff" in json.dumps(keys[f"{NAMES.prefix()}-staff"])  # the staff client's id, exported by the shared stack
    (probe_client,) = resources(api, "AWS::Cognito::UserPoolClient")
    assert keys[f"{NAMES.prefix()}-probe"] == {"Ref": probe_client}
    for plan_id in resources(api, "AWS::ApiGateway::UsagePlan"):
        (binding,) = [
            body["Properties"]
            for body in resources(api, "AWS::ApiGateway::UsagePlanKey").values()
            if body["Properties"]["UsagePlanId"] == {"Ref": plan_id}
        ]
        assert binding["KeyType"] == "API_KEY"


def test_the_authorizer_function_knows_each_routes_scope_and_has_no_data_access(
    assembly: Synthesized, packages: dict[str, LambdaPackage]
) -> None:
    template = assembly.template(TENANT, "tasks")
    (function,) = [
        body["Properties"]
        for body in resources(template, "AWS::Lambda::Function").values()
        if body["Properties"]["FunctionName"] == f"{NAMES.prefix()}-api-authorizer"
    ]
    assert function["Handler"] == "caseline_lambda.api_authorizer"
    scopes = RouteScopes.model_validate_json(function["Environment"]["Variables"][ROUTE_SCOPES_ENV_VAR])
    for route in (route for package in packages.values() for route in package.routes if not route.public):
        assert scopes.needed(route.method, route.path).qualified == route.scope, route
    assert scopes.needed("PUT", "/templates/{key}/draft") == Scope.TEMPLATES_ADMIN
    alarms = {
        body["Properties"]["AlarmName"]: body["Properties"]
        for body in resources(template, "AWS::CloudWatch::Alarm").values()
    }
    errors = alarms[f"{NAMES.prefix()}-api-authorizer-errors"]  # a share of its calls, not each refused token
    expressions = [metric["Expression"] for metric in errors["Metrics"] if "Expression" in metric]
    assert expressions == ["IF(calls >= 20, 100 * failed / calls, 0)"]
    role_id = function["Role"]["Fn::GetAtt"][0]
    (policy,) = [
        body["Properties"]["PolicyDocument"]
        for body in resources(template, "AWS::IAM::ManagedPolicy").values()
        if {"Ref": role_id} in body["Properties"].get("Roles", [])
    ]
    actions = {
        action
        for statement in policy["Statement"]
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    }
    assert actions  # its logs and traces
    assert not any(action.startswith(("dynamodb:", "s3:", "kms:", "events:", "sqs:")) for action in actions), actions
