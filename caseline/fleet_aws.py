"""What the fleet reads from AWS, in one place: its stacks (status, version tag, template, drift) through
CloudFormation and its alarms through CloudWatch, each in the tenant's region and account.

A tenant in another account than the caller's is read through that account's CDK lookup role
(`cdk-hnb659fds-lookup-role-<account>-<region>`, ReadOnlyAccess): `cdk bootstrap --trust <pipeline account>` lets
the pipeline's account assume it (docs/operations.md, *Running a fleet*).
"""

import time
from functools import cache
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from infra.tenants import Tenant

from .fleet import DeployedStack, ResourceDrift

VERSION_TAG = "caseline:version"
CDK_QUALIFIER = "hnb659fds"  # the bootstrap's default qualifier: the app sets no other
_CONFIG = Config(connect_timeout=5, read_timeout=30, retries={"mode": "standard", "max_attempts": 4})


def lookup_role_arn(account: str, region: str) -> str:
    return f"arn:aws:iam::{account}:role/cdk-{CDK_QUALIFIER}-lookup-role-{account}-{region}"


class FleetAws:
    def __init__(self, session: boto3.Session | None = None, *, endpoint_url: str | None = None) -> None:
        self._session = session or boto3.Session()
        self._endpoint_url = endpoint_url
        self._tenant_session = cache(self._session_for)

    def _session_for(self, account: str | None, region: str) -> boto3.Session:
        if account is None or account == self._caller_account():
            return self._session
        sts = self._session.client("sts", endpoint_url=self._endpoint_url, config=_CONFIG)
        credentials = sts.assume_role(RoleArn=lookup_role_arn(account, region), RoleSessionName="caseline-fleet")
        return boto3.Session(
            aws_access_key_id=credentials["Credentials"]["AccessKeyId"],
            aws_secret_access_key=credentials["Credentials"]["SecretAccessKey"],
            aws_session_token=credentials["Credentials"]["SessionToken"],
        )

    @cache  # noqa: B019 - one caller per instance, and instances live as long as a command
    def _caller_account(self) -> str:
        sts = self._session.client("sts", endpoint_url=self._endpoint_url, config=_CONFIG)
        account: str = sts.get_caller_identity()["Account"]
        return account

    def _client(self, service: str, tenant: Tenant) -> Any:
        session = self._tenant_session(tenant.account, tenant.region)
        return session.client(service, region_name=tenant.region, endpoint_url=self._endpoint_url, config=_CONFIG)

    def stack(self, tenant: Tenant, name: str) -> DeployedStack | None:
        try:
            (stack,) = self._client("cloudformation", tenant).describe_stacks(StackName=name)["Stacks"]
        except ClientError as error:
            if "does not exist" in str(error):
                return None
            raise
        tags = {tag["Key"]: tag["Value"] for tag in stack.get("Tags", [])}
        return DeployedStack(name=name, status=stack["StackStatus"], version=tags.get(VERSION_TAG))

    def template(self, tenant: Tenant, name: str) -> dict[str, Any] | None:
        """The template the stack runs (botocore decodes a JSON body), or None when there is no such stack."""
        try:
            body = self._client("cloudformation", tenant).get_template(StackName=name)["TemplateBody"]
        except ClientError as error:
            if "does not exist" in str(error):
                return None
            raise
        return body if isinstance(body, dict) else None

    def alarms_firing(self, tenant: Tenant) -> list[str]:
        """The tenant's metric and composite alarms in ALARM (every alarm of its stacks is named caseline-<id>-...)."""
        pages = (
            self._client("cloudwatch", tenant)
            .get_paginator("describe_alarms")
            .paginate(
                AlarmNamePrefix=f"caseline-{tenant.id}-",
                StateValue="ALARM",
                AlarmTypes=["MetricAlarm", "CompositeAlarm"],
            )
        )
        return sorted(
            alarm["AlarmName"]
            for page in pages
            for alarm in page.get("MetricAlarms", []) + page.get("CompositeAlarms", [])
        )

    def drift(
        self, tenant: Tenant, name: str, *, poll_seconds: float = 5.0, timeout_seconds: float = 600
    ) -> list[ResourceDrift]:
        """CloudFormation's drift detection on one stack (DetectStackDrift, then its resources that are not
        IN_SYNC): what someone changed by hand since the deploy."""
        cloudformation = self._client("cloudformation", tenant)
        detection = cloudformation.detect_stack_drift(StackName=name)["StackDriftDetectionId"]
        deadline = time.monotonic() + timeout_seconds
        while True:
            status = cloudformation.describe_stack_drift_detection_status(StackDriftDetectionId=detection)
            if status["DetectionStatus"] != "DETECTION_IN_PROGRESS":
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"drift detection of {name} still running after {timeout_seconds:.0f} s")
            time.sleep(poll_seconds)
        if status["DetectionStatus"] == "DETECTION_FAILED":
            raise RuntimeError(f"drift detection of {name} failed: {status.get('DetectionStatusReason', '')}")
        drifts: list[dict[str, Any]] = []
        request = {"StackName": name, "StackResourceDriftStatusFilters": ["MODIFIED", "DELETED"]}
        while True:
            page = cloudformation.describe_stack_resource_drifts(**request)
            drifts += page["StackResourceDrifts"]
            if not page.get("NextToken"):
                break
            request["NextToken"] = page["NextToken"]
        return [
            ResourceDrift(
                stack=name,
                logical_id=drift["LogicalResourceId"],
                resource_type=drift["ResourceType"],
                status=drift["StackResourceDriftStatus"],
                properties=tuple(difference["PropertyPath"] for difference in drift.get("PropertyDifferences", [])),
            )
            for drift in drifts
        ]
