"""Alerting that reaches people: every alarm of a tenant can be delivered to its topic (the topic's policy and the
topic key's policy both let CloudWatch in, for that alarm), business metrics are per tenant, and the failure paths
that used to be unwatched (the bus's delivery DLQ, the tables, the mail) have alarms.

The policies are evaluated as IAM would for the request CloudWatch makes on the alarm's behalf: its principal, the
action, and the request context (source account, the alarm's ARN as source ARN, TLS, the topic in the encryption
context); an allow must match it and no deny may.
"""

import fnmatch
import json
from pathlib import Path
from typing import Any

from aws_cdk import cx_api
from caseline_common.observability import METRICS_NAMESPACE
from caseline_common.resources import TABLES, TenantResourceNames

from infra.arns import mail_configuration_set_name
from infra.monitoring import MAIL_BOUNCE_RATE, MAIL_COMPLAINT_RATE, TABLE_READS, TABLE_WRITES
from infra.tenants import TenantRegistry
from tests.infra.conftest import Synthesized, resources

CLOUDWATCH = "cloudwatch.amazonaws.com"
UNKNOWN_ACCOUNT = "123456789012"  # stands for AWS::AccountId in a stack whose account is decided at deploy time


class Template:
    """One stack's template, with CloudFormation's intrinsic functions rendered to strings for its environment."""

    def __init__(self, stack: cx_api.CloudFormationStackArtifact, body: dict[str, Any]) -> None:
        self.body = body
        account = stack.environment.account
        self.account = account if account.isdigit() else UNKNOWN_ACCOUNT
        self.region = stack.environment.region
        self.pseudo = {
            "AWS::Partition": "aws",
            "AWS::Region": self.region,
            "AWS::AccountId": self.account,
            "AWS::URLSuffix": "amazonaws.com",
        }

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return resources(self.body, resource_type)

    def render(self, value: Any) -> str:
        if isinstance(value, str):
            return value
        if "Ref" in value:
            ref = value["Ref"]
            if ref in self.pseudo:
                return self.pseudo[ref]
            resource = self.body["Resources"][ref]
            if resource["Type"] == "AWS::SNS::Topic":  # a topic's Ref is its ARN
                return self.topic_arn(resource)
            if resource["Type"] == "AWS::SES::ConfigurationSet":  # a configuration set's Ref is its name
                return str(resource["Properties"]["Name"])
            return f"<Ref {ref}>"
        if "Fn::Join" in value:
            separator, parts = value["Fn::Join"]
            return str(separator).join(self.render(part) for part in parts)
        if "Fn::GetAtt" in value:
            return "<GetAtt {}.{}>".format(*value["Fn::GetAtt"])
        raise AssertionError(f"cannot render {value}")

    def topic_arn(self, topic: dict[str, Any]) -> str:
        return f"arn:aws:sns:{self.region}:{self.account}:{topic['Properties']['TopicName']}"


def _templates(assembly: Synthesized, tenant_id: str) -> list[Template]:
    return [
        Template(stack, json.loads(Path(stack.template_full_path).read_text())) for stack in assembly.stacks(tenant_id)
    ]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _principal_matches(principal: Any, service: str) -> bool:
    if principal == "*":
        return True
    return any(
        candidate in (service, "*") for kind in ("Service", "AWS") for candidate in _as_list(principal.get(kind, []))
    )


def _conditions_hold(template: Template, conditions: dict[str, Any], context: dict[str, str]) -> bool:
    for operator, tests in conditions.items():
        for key, expected in tests.items():
            actual = context.get(key.lower())
            if actual is None:
                return False
            values = [template.render(value) for value in _as_list(expected)]
            if operator in ("StringEquals", "ArnEquals", "Bool"):
                matched = actual in values
            elif operator in ("StringLike", "ArnLike"):
                matched = any(fnmatch.fnmatchcase(actual, value) for value in values)
            else:
                raise AssertionError(f"condition operator {operator} is not evaluated here")
            if not matched:
                return False
    return True


def _allowed(
    template: Template, document: dict[str, Any], service: str, actions: list[str], context: dict[str, str]
) -> bool:
    """Whether a policy document lets `service` do every one of `actions` in this request context."""

    def applies(statement: dict[str, Any], action: str) -> bool:
        return (
            _principal_matches(statement.get("Principal", {}), service)
            and any(fnmatch.fnmatchcase(action, pattern) for pattern in _as_list(statement["Action"]))
            and _conditions_hold(template, statement.get("Condition", {}), context)
        )

    statements = document["Statement"]
    return all(
        any(statement["Effect"] == "Allow" and applies(statement, action) for statement in statements)
        and not any(statement["Effect"] == "Deny" and applies(statement, action) for statement in statements)
        for action in actions
    )


def _alarms(templates: list[Template]) -> list[tuple[Template, dict[str, Any]]]:
    return [
        (template, alarm["Properties"])
        for template in templates
        for alarm in template.resources("AWS::CloudWatch::Alarm").values()
    ]


def _topics(templates: list[Template]) -> dict[str, tuple[Template, str]]:
    """Every topic of the tenant by ARN: the template that holds it and its logical id."""
    return {
        template.topic_arn(topic): (template, logical_id)
        for template in templates
        for logical_id, topic in template.resources("AWS::SNS::Topic").items()
    }


def _delivery_problems(templates: list[Template], template: Template, alarm: dict[str, Any]) -> list[str]:
    """Why CloudWatch could not deliver this alarm's notifications (nothing when it can)."""
    name = alarm["AlarmName"]
    alarm_arn = f"arn:aws:cloudwatch:{template.region}:{template.account}:alarm:{name}"
    topics = _topics(templates)
    problems = []
    for kind in ("AlarmActions", "OKActions"):
        actions = alarm.get(kind, [])
        if not actions:
            problems.append(f"{name}: no {kind}")
        for action in actions:
            arn = template.render(action)
            if arn not in topics:
                problems.append(f"{name}: {kind} {arn} is no topic of the tenant")
                continue
            owner, topic_id = topics[arn]
            context = {
                "aws:sourceaccount": template.account,
                "aws:sourcearn": alarm_arn,
                "aws:securetransport": "true",
                "kms:encryptioncontext:aws:sns:topicarn": arn,
            }
            policies = [
                body["Properties"]["PolicyDocument"]
                for body in owner.resources("AWS::SNS::TopicPolicy").values()
                if {"Ref": topic_id} in body["Properties"]["Topics"]
            ]
            if not any(_allowed(owner, policy, CLOUDWATCH, ["sns:Publish"], context) for policy in policies):
                problems.append(f"{name}: the policy of {arn} does not let CloudWatch publish for this alarm")
            key = owner.body["Resources"][topic_id]["Properties"].get("KmsMasterKeyId")
            if key is None:
                continue
            key_policy = owner.body["Resources"][key["Fn::GetAtt"][0]]["Properties"]["KeyPolicy"]
            if not _allowed(owner, key_policy, CLOUDWATCH, ["kms:Decrypt", "kms:GenerateDataKey"], context):
                problems.append(f"{name}: the key of {arn} does not let CloudWatch encrypt for this alarm")
    return problems


def test_every_alarm_of_every_tenant_can_be_delivered_to_its_topic(
    assembly: Synthesized, registry: TenantRegistry
) -> None:
    for tenant_id in registry.tenants:
        templates = _templates(assembly, tenant_id)
        alarms = _alarms(templates)
        assert alarms, tenant_id
        problems = [problem for template, alarm in alarms for problem in _delivery_problems(templates, template, alarm)]
        assert not problems, "\n".join(problems)


def _by_name(templates: list[Template]) -> dict[str, tuple[Template, dict[str, Any]]]:
    return {alarm["AlarmName"]: (template, alarm) for template, alarm in _alarms(templates)}


def _metric_stats(alarm: dict[str, Any]) -> list[dict[str, Any]]:
    """The metrics an alarm reads: its own, or each one its math expression sums."""
    if "MetricName" in alarm:
        return [{key: alarm.get(key) for key in ("Namespace", "MetricName", "Dimensions")}]
    return [query["MetricStat"]["Metric"] for query in alarm["Metrics"] if "MetricStat" in query]


def test_every_business_alarm_and_dashboard_metric_selects_its_tenant(
    assembly: Synthesized, registry: TenantRegistry
) -> None:
    for tenant_id in registry.tenants:
        templates = _templates(assembly, tenant_id)
        business = [
            (alarm["AlarmName"], metric)
            for _template, alarm in _alarms(templates)
            for metric in _metric_stats(alarm)
            if metric["Namespace"] == METRICS_NAMESPACE
        ]
        # The services' business metrics name their service; the synthetic probe's (infra/probes.py) only its tenant.
        services = {
            f"caseline-{tenant_id}-sla-breaches": {"service": "automations", "tenant": tenant_id},
            f"caseline-{tenant_id}-webhook-dead-letters": {"service": "automations", "tenant": tenant_id},
            f"caseline-{tenant_id}-probe": {"tenant": tenant_id},
        }
        assert {name for name, _metric in business} == set(services)
        for name, metric in business:
            dimensions = {dimension["Name"]: dimension["Value"] for dimension in metric["Dimensions"]}
            assert dimensions == services[name], name
        widgets = 0
        for template in templates:
            for dashboard in template.resources("AWS::CloudWatch::Dashboard").values():
                body = json.loads(template.render(dashboard["Properties"]["DashboardBody"]))
                for widget in body["widgets"]:
                    for metric in widget["properties"].get("metrics", []):
                        if metric[0] == METRICS_NAMESPACE:
                            widgets += 1
                            pairs = dict(zip(metric[2:-1:2], metric[3:-1:2], strict=True))
                            assert pairs.get("tenant") == tenant_id, (tenant_id, metric)
        assert widgets, f"no dashboard of {tenant_id} shows a business metric"


def _alarm(templates: list[Template], name: str) -> dict[str, Any]:
    return _by_name(templates)[name][1]


def test_the_bus_delivery_dead_letter_queue_has_an_alarm(assembly: Synthesized, registry: TenantRegistry) -> None:
    for tenant_id in registry.tenants:
        names = TenantResourceNames(tenant_id=tenant_id)
        templates = _templates(assembly, tenant_id)
        shared = next(t for t in templates if "DeadLetterConfig" in json.dumps(t.body))
        targets = [
            target["DeadLetterConfig"]["Arn"]
            for rule in shared.resources("AWS::Events::Rule").values()
            for target in rule["Properties"]["Targets"]
        ]
        (dlq,) = {shared.render(arn) for arn in targets}
        (queue_id,) = [
            logical_id
            for logical_id, queue in shared.resources("AWS::SQS::Queue").items()
            if f"<GetAtt {logical_id}.Arn>" == dlq
        ]
        assert shared.body["Resources"][queue_id]["Properties"]["QueueName"] == f"{names.prefix()}-delivery-dlq"
        alarm = _alarm(templates, f"{names.prefix()}-delivery-dlq-depth")
        assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == (
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            "Maximum",
        )
        assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}]
        # More than none: a single undelivered event fires it.
        assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanOrEqualToThreshold", 1)


def test_each_table_has_throttle_and_system_error_alarms(assembly: Synthesized, registry: TenantRegistry) -> None:
    for tenant_id in registry.tenants:
        names = TenantResourceNames(tenant_id=tenant_id)
        templates = _templates(assembly, tenant_id)
        for spec in TABLES:
            for suffix, metric_name, operations in (
                ("read-throttles", "ThrottledRequests", TABLE_READS),
                ("write-throttles", "ThrottledRequests", TABLE_WRITES),
                ("system-errors", "SystemErrors", TABLE_READS + TABLE_WRITES),
            ):
                alarm = _alarm(templates, f"{names.prefix()}-{spec.id}-table-{suffix}")
                (expression,) = [query for query in alarm["Metrics"] if "Expression" in query]
                assert expression["Expression"] == "SUM(METRICS())"
                watched = {
                    (metric["Namespace"], metric["MetricName"], tuple(sorted(
                        (dimension["Name"], dimension["Value"]) for dimension in metric["Dimensions"]
                    )))
                    for metric in _metric_stats(alarm)
                }  # fmt: skip
                assert watched == {
                    ("AWS/DynamoDB", metric_name, (("Operation", operation), ("TableName", names.table(spec))))
                    for operation in operations
                }
                assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanOrEqualToThreshold", 1)


def test_mail_bounces_and_complaints_are_suppressed_reported_and_alarmed(
    assembly: Synthesized, registry: TenantRegistry
) -> None:
    for tenant_id, tenant in registry.tenants.items():
        names = TenantResourceNames(tenant_id=tenant_id)
        configuration_set = mail_configuration_set_name(names)
        templates = _templates(assembly, tenant_id)
        shared = next(t for t in templates if t.resources("AWS::SES::ConfigurationSet"))
        ((config_id, config),) = shared.resources("AWS::SES::ConfigurationSet").items()
        assert config["Properties"]["Name"] == configuration_set
        assert config["Properties"]["ReputationOptions"] == {"ReputationMetricsEnabled": True}
        assert set(config["Properties"]["SuppressionOptions"]["SuppressedReasons"]) == {"BOUNCE", "COMPLAINT"}
        ((_, identity),) = shared.resources("AWS::SES::EmailIdentity").items()
        assert identity["Properties"]["EmailIdentity"] == tenant.domain
        assert identity["Properties"]["ConfigurationSetAttributes"] == {"ConfigurationSetName": {"Ref": config_id}}
        ((_, destination),) = shared.resources("AWS::SES::ConfigurationSetEventDestination").items()
        event_destination = destination["Properties"]["EventDestination"]
        assert set(event_destination["MatchingEventTypes"]) == {"bounce", "complaint"}
        assert event_destination["Enabled"] is True
        topic_arn = shared.render(event_destination["SnsDestination"]["TopicARN"])
        topic_id = _topics(templates)[topic_arn][1]
        topic = shared.body["Resources"][topic_id]["Properties"]
        assert "KmsMasterKeyId" in topic
        # SES may publish the set's events to the topic, and encrypt them with its key.
        context = {
            "aws:sourceaccount": shared.account,
            "aws:sourcearn": f"arn:aws:ses:{shared.region}:{shared.account}:configuration-set/{configuration_set}",
            "aws:securetransport": "true",
        }
        policies = [
            body["Properties"]["PolicyDocument"]
            for body in shared.resources("AWS::SNS::TopicPolicy").values()
            if {"Ref": topic_id} in body["Properties"]["Topics"]
        ]
        assert any(_allowed(shared, policy, "ses.amazonaws.com", ["sns:Publish"], context) for policy in policies)
        key = shared.body["Resources"][topic["KmsMasterKeyId"]["Fn::GetAtt"][0]]["Properties"]["KeyPolicy"]
        assert _allowed(shared, key, "ses.amazonaws.com", ["kms:Decrypt", "kms:GenerateDataKey"], context)
        another_set = {**context, "aws:sourcearn": context["aws:sourcearn"] + "-other"}
        assert not _allowed(shared, key, "ses.amazonaws.com", ["kms:GenerateDataKey"], another_set)
        for alarm_id, metric_name, threshold in (
            ("mail-bounce-rate", "Reputation.BounceRate", MAIL_BOUNCE_RATE),
            ("mail-complaint-rate", "Reputation.ComplaintRate", MAIL_COMPLAINT_RATE),
        ):
            alarm = _alarm(templates, f"{names.prefix()}-{alarm_id}")
            assert (alarm["Namespace"], alarm["MetricName"], alarm["Threshold"]) == ("AWS/SES", metric_name, threshold)
            (dimension,) = alarm["Dimensions"]
            assert (dimension["Name"], shared.render(dimension["Value"])) == (
                "ses:configuration-set",
                configuration_set,
            )


def test_alarms_of_another_tenant_may_not_publish(assembly: Synthesized, registry: TenantRegistry) -> None:
    """The topic's allow is scoped: the same request from an alarm outside the tenant's names is refused."""
    for tenant_id in registry.tenants:
        names = TenantResourceNames(tenant_id=tenant_id)
        templates = _templates(assembly, tenant_id)
        template, alarm = _by_name(templates)[f"{names.prefix()}-api-5xx"]
        assert not _delivery_problems(templates, template, alarm)
        for stranger in ({**alarm, "AlarmName": "caseline-another-api-5xx"}, {**alarm, "AlarmName": "api-5xx"}):
            assert _delivery_problems(templates, template, stranger)
