"""The tenant's synthetic probe in AWS: its schedule, its alarm on the tenant's alarm topic, its machine client's
secret (encrypted with the tenant's key) and a role that may read that secret and write its logs, nothing more."""

import json
from typing import Any

from infra.probe_function.probe import PROBE_METRIC
from tests.infra.conftest import Synthesized, resources

TENANT = "demo"


def _probe(template: dict[str, Any], resource_type: str, prefix: str = "probe") -> tuple[str, dict[str, Any]]:
    """The probe's one resource of that type (by the start of its logical id)."""
    (found,) = [
        (name, body["Properties"])
        for name, body in resources(template, resource_type).items()
        if name.startswith(prefix)
    ]
    return found


def test_the_probe_runs_every_five_minutes_once_at_a_time_without_retries(assembly: Synthesized) -> None:
    template = assembly.template(TENANT, "api")
    function_id, function = _probe(template, "AWS::Lambda::Function")
    _, rule = _probe(template, "AWS::Events::Rule")
    assert rule["ScheduleExpression"] == "rate(5 minutes)"
    ((target),) = rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [function_id, "Arn"]}
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 0}
    assert function["FunctionName"] == "caseline-demo-probe"
    assert function["Handler"] == "probe.handler"
    assert function["ReservedConcurrentExecutions"] == 1
    variables = function["Environment"]["Variables"]
    assert variables["PROBE_TENANT"] == TENANT
    assert "execute-api" in json.dumps(variables["PROBE_BASE_URL"])  # the tenant's own API (no custom domain here)


def test_two_failed_runs_of_three_alarm_on_the_tenants_topic(assembly: Synthesized) -> None:
    _, alarm = _probe(assembly.template(TENANT, "api"), "AWS::CloudWatch::Alarm")
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == ("Caseline", PROBE_METRIC, "Sum")
    assert alarm["Dimensions"] == [{"Name": "tenant", "Value": TENANT}]
    assert (alarm["Period"], alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (300, 3, 2)
    assert alarm["TreatMissingData"] == "breaching"  # a probe that stopped running alarms too
    for actions in (alarm["AlarmActions"], alarm["OKActions"]):
        assert json.dumps(actions).endswith(':caseline-demo-alarms"]]}]')


def test_the_probe_client_holds_only_its_scopes_and_its_secret_is_encrypted(assembly: Synthesized) -> None:
    template = assembly.template(TENANT, "api")
    client_id, client = _probe(template, "AWS::Cognito::UserPoolClient")
    assert client["AllowedOAuthFlows"] == ["client_credentials"]
    assert client["GenerateSecret"] is True
    assert sorted(client["AllowedOAuthScopes"]) == [
        "caseline/cases.read",
        "caseline/cases.write",
        "caseline/templates.admin",
    ]
    _, secret = _probe(template, "AWS::SecretsManager::Secret")
    assert "messagingkey" in json.dumps(secret["KmsKeyId"])  # the tenant's customer-managed key
    assert {"Ref": client_id} in secret["SecretString"]["Fn::Join"][1]


def test_the_probe_role_reads_its_secret_and_writes_its_logs_only(assembly: Synthesized) -> None:
    template = assembly.template(TENANT, "api")
    role_id, role = _probe(template, "AWS::IAM::Role", "proberole")
    assert "ManagedPolicyArns" not in role
    assert "Policies" not in role
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "lambda.amazonaws.com"}
    _, policy = _probe(template, "AWS::IAM::ManagedPolicy", "probepolicy")
    assert policy["Roles"] == [{"Ref": role_id}]
    secret_id, _ = _probe(template, "AWS::SecretsManager::Secret")
    logs_id, _ = _probe(template, "AWS::Logs::LogGroup")
    granted = {
        (json.dumps(statement["Action"]), json.dumps(statement["Resource"]))
        for statement in policy["PolicyDocument"]["Statement"]
    }
    assert (
        json.dumps(["logs:CreateLogStream", "logs:PutLogEvents"]),
        json.dumps({"Fn::GetAtt": [logs_id, "Arn"]}),
    ) in granted
    assert (json.dumps("secretsmanager:GetSecretValue"), json.dumps({"Ref": secret_id})) in granted
    (decrypt,) = [s for s in policy["PolicyDocument"]["Statement"] if s["Action"] == "kms:Decrypt"]
    assert decrypt["Condition"] == {"StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}}
    assert len(granted) == 3
    assert "*" not in json.dumps(policy["PolicyDocument"])


def test_the_generated_client_secret_is_read_back_by_one_call_on_the_tenants_pool(assembly: Synthesized) -> None:
    template = assembly.template(TENANT, "api")
    _, policy = _probe(template, "AWS::IAM::ManagedPolicy", "probesecretreaderpolicy")
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Action"] == "cognito-idp:DescribeUserPoolClient"
    assert "users" in json.dumps(statement["Resource"])  # the tenant's user pool, imported from the shared stack
    assert "*" not in json.dumps(statement["Resource"])
