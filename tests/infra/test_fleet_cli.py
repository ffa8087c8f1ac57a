"""`caseline fleet deploy|status|pipeline` (caseline/fleet_cli.py): the dry run over the synthesized example tenants,
the rollout and the inventory against moto's CloudFormation and CloudWatch with a fake CDK CLI, the workflow file."""

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml  # type: ignore[import-untyped]  # cfn-lint's and moto's; the product writes YAML with Jinja
from botocore.stub import Stubber
from moto import mock_aws
from rich.console import Console
from typer.testing import CliRunner

from caseline import fleet_cli
from caseline.fleet import Outcome, drift_summary, plan_waves, stack_names
from caseline.fleet_aws import VERSION_TAG, FleetAws, lookup_role_arn
from caseline.fleet_cli import WORKFLOW_PATH, deploy_fleet, fleet_app, render_workflow
from infra.assembly import assembly_templates
from infra.tenants import REGISTRY_PATH, TenantRegistry
from tests.infra.conftest import Synthesized

runner = CliRunner()


def _status() -> Any:
    """`caseline fleet status` as a wide terminal shows it, a tenant a line (a narrow one folds each cell)."""
    wide = Console(soft_wrap=True, width=250)
    previous, fleet_cli.console = fleet_cli.console, wide
    try:
        return runner.invoke(fleet_app, ["status"])
    finally:
        fleet_cli.console = previous


ACME_ACCOUNT = "111122223333"  # tenants.toml's acme; demo has none: the credentials' account


def test_the_fleet_names_each_tenants_stacks_as_its_stage_does(assembly: Synthesized, registry: TenantRegistry) -> None:
    templates = assembly_templates(assembly.outdir)
    assert set(templates) == set(registry.tenants)
    for tenant in registry.tenants:
        assert stack_names(tenant) == [stack.stack_name for stack in assembly.stage(tenant).stacks]
        assert sorted(templates[tenant]) == sorted(stack_names(tenant))
        assert all(path.is_file() for path in templates[tenant].values())


@pytest.fixture
def no_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No credentials anywhere botocore looks (environment, files, instance metadata)."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.mark.usefixtures("no_aws")
def test_the_dry_run_prints_the_waves_and_offline_every_stack_of_each_tenant(assembly: Synthesized) -> None:
    result = runner.invoke(fleet_app, ["deploy", "--dry-run", "--assembly", str(assembly.outdir)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[:2] == ["canary: demo", "wave 1: acme"]
    for tenant, wave, where in (("demo", "canary", "the credentials account, us-east-1"),
                                ("acme", "wave 1", f"{ACME_ACCOUNT}, eu-west-1")):  # fmt: skip
        count = len(stack_names(tenant))
        heading = next(index for index, line in enumerate(lines) if line.startswith(f"{tenant} ("))
        assert lines[heading].startswith(
            f"{tenant} ({wave}; {where}): would change {count} of {count} stacks "
            "(could not compare with the deployed stacks: no AWS credentials)"
        )
        assert [line.strip() for line in lines[heading + 1 : heading + 1 + count]] == stack_names(tenant)


def test_unknown_canaries_waves_and_assemblies_are_refused_readably(tmp_path: Path) -> None:
    for arguments, message in (
        (["--canary", "nobody"], "the canary 'nobody' is not a tenant of the registry (known: demo, acme)"),
        (["--wave", "7"], "no wave 7: the plan has waves 0 (canary) to 1"),
        (["--assembly", str(tmp_path)], "holds no cloud assembly (no manifest.json)"),
    ):
        result = runner.invoke(fleet_app, ["deploy", "--dry-run", *arguments], terminal_width=200)
        assert result.exit_code == 2, result.output
        assert message in result.output
        assert "Traceback" not in result.output
    registry = tmp_path / "tenants.toml"
    registry.write_text(REGISTRY_PATH.read_text().replace('canary = "demo"', ""))
    result = runner.invoke(fleet_app, ["deploy", "--dry-run", "--registry", str(registry)], terminal_width=200)
    assert result.exit_code == 2
    assert "no canary tenant: set canary in the registry's [fleet] table, or pass --canary" in result.output


# A small assembly in the layout infra/app.py synthesizes (a nested assembly per tenant's stage), with templates
# moto's CloudFormation can deploy; the real layout is held to it by the first test above.
def _topic(name: str) -> dict[str, Any]:
    return {"Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": name}}}}


def _write_assembly(root: Path, tenants: dict[str, list[str]]) -> Path:
    artifacts: dict[str, Any] = {}
    for tenant, stacks in tenants.items():
        directory = root / f"assembly-tenant-{tenant}"
        directory.mkdir(parents=True)
        nested = {}
        for stack in stacks:
            (directory / f"{stack}.template.json").write_text(json.dumps(_topic(stack)))
            nested[stack] = {"type": "aws:cloudformation:stack",
                             "properties": {"stackName": stack, "templateFile": f"{stack}.template.json"}}  # fmt: skip
        (directory / "manifest.json").write_text(json.dumps({"artifacts": nested}))
        artifacts[f"assembly-tenant-{tenant}"] = {
            "type": "cdk:cloud-assembly",
            "properties": {"directoryName": directory.name, "displayName": f"tenant-{tenant}"},
        }
    (root / "manifest.json").write_text(json.dumps({"artifacts": artifacts}))
    return root


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("COLUMNS", "250")  # the status table's rows on one line each
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield


def _in_account(account: str | None) -> boto3.Session:
    """moto's default account, or another one through the role the fleet assumes there (moto keeps accounts apart
    by the assumed role's credentials)."""
    if account is None:
        return boto3.Session()
    role = lookup_role_arn(account, "eu-west-1")
    credentials = boto3.client("sts").assume_role(RoleArn=role, RoleSessionName="test")["Credentials"]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


class FakeCdk:
    """Stands in for `cdk deploy`: creates the tenant's stacks, tagged with the version, where the tenant lives,
    and can leave an alarm of the tenant in ALARM (what a bad release would do)."""

    def __init__(self, registry: TenantRegistry, version: str, *, alarm_after: str | None = None) -> None:
        self.registry, self.version, self.alarm_after = registry, version, alarm_after
        self.deployed: list[str] = []

    def __call__(self, tenant_id: str) -> str | None:
        tenant = self.registry.get(tenant_id)
        session = _in_account(tenant.account)
        cloudformation = session.client("cloudformation", region_name=tenant.region)
        for name in stack_names(tenant_id)[:2]:
            cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(_topic(name)),
                                        Tags=[{"Key": VERSION_TAG, "Value": self.version}])  # fmt: skip
        if tenant_id == self.alarm_after:
            cloudwatch = session.client("cloudwatch", region_name=tenant.region)
            name = f"caseline-{tenant_id}-api-5xx"
            cloudwatch.put_metric_alarm(AlarmName=name, MetricName="5XXError", Namespace="AWS/ApiGateway",
                                        Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1,
                                        ComparisonOperator="GreaterThanOrEqualToThreshold")  # fmt: skip
            cloudwatch.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="test")
        self.deployed.append(tenant_id)
        return None


@pytest.mark.usefixtures("aws")
def test_the_rollout_deploys_the_canary_then_the_wave_and_the_inventory_reads_their_versions(
    registry: TenantRegistry,
) -> None:
    cdk = FakeCdk(registry, "abc123")
    waves = plan_waves(list(registry.tenants), canary="demo", wave_size=10)
    baked: list[float] = []
    rollout = deploy_fleet(registry, waves, aws=FleetAws(), deploy=cdk, bake_minutes=30, last_wave=1,
                           sleep=baked.append)  # fmt: skip
    assert rollout.succeeded
    assert cdk.deployed == ["demo", "acme"]
    assert baked == [1800]  # after the canary; not after the last wave
    result = _status()
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[1].strip(): line for line in result.output.splitlines() if line.count("│") > 4}
    assert "abc123" in rows["demo"]
    assert f"2/{len(stack_names('demo'))} CREATE_COMPLETE" in rows["demo"]
    assert "abc123" in rows["acme"]
    assert ACME_ACCOUNT in rows["acme"]
    # acme's stacks are in acme's account: the caller's account has none of them
    assert not [
        stack for stack in boto3.client("cloudformation", region_name="eu-west-1").list_stacks()["StackSummaries"]
    ]


@pytest.mark.usefixtures("aws")
def test_an_alarm_after_the_canary_halts_the_rollout_and_the_status_shows_it(registry: TenantRegistry) -> None:
    cdk = FakeCdk(registry, "bad456", alarm_after="demo")
    waves = plan_waves(list(registry.tenants), canary="demo", wave_size=10)
    rollout = deploy_fleet(registry, waves, aws=FleetAws(), deploy=cdk, bake_minutes=0, last_wave=1,
                           sleep=lambda _seconds: None)  # fmt: skip
    assert rollout.halted == "demo (canary) has alarms in ALARM: caseline-demo-api-5xx"
    assert [(each.tenant, each.outcome) for each in rollout.results] == [
        ("demo", Outcome.ALARM),
        ("acme", Outcome.SKIPPED),
    ]
    assert cdk.deployed == ["demo"]
    result = _status()
    rows = {line.split("│")[1].strip(): line for line in result.output.splitlines() if line.count("│") > 4}
    assert "caseline-demo-api-5xx" in rows["demo"]
    assert "not deployed" in rows["acme"]


@pytest.mark.usefixtures("aws")
def test_the_dry_run_compares_with_the_deployed_templates(tmp_path: Path, registry: TenantRegistry) -> None:
    demo, acme = stack_names("demo")[:3], stack_names("acme")[:2]
    assembly = _write_assembly(tmp_path / "cdk.out", {"demo": demo, "acme": acme})
    cloudformation = boto3.client("cloudformation", region_name="us-east-1")
    cloudformation.create_stack(StackName=demo[0], TemplateBody=json.dumps(_topic(demo[0])))  # unchanged
    cloudformation.create_stack(StackName=demo[1], TemplateBody=json.dumps(_topic("an-older-name")))
    other = _in_account(ACME_ACCOUNT).client("cloudformation", region_name="eu-west-1")
    for name in acme:
        other.create_stack(StackName=name, TemplateBody=json.dumps(_topic(name)))
    result = runner.invoke(fleet_app, ["deploy", "--dry-run", "--assembly", str(assembly)], terminal_width=200)
    assert result.exit_code == 0, result.output
    output = result.output.split("demo (canary")[1]
    assert output.splitlines()[0].endswith("would change 2 of 3 stacks")
    assert [line.strip() for line in output.splitlines()[1:3]] == [demo[1], demo[2]]
    assert "acme (wave 1; 111122223333, eu-west-1): would change 0 of 2 stacks" in result.output


def test_the_committed_workflow_is_the_registry_s_and_runs_its_waves_in_order(registry: TenantRegistry) -> None:
    assert WORKFLOW_PATH.read_text() == render_workflow(registry), "run: caseline fleet pipeline > " + str(
        WORKFLOW_PATH
    )
    workflow = yaml.safe_load(WORKFLOW_PATH.read_text())
    assert workflow["permissions"]["id-token"] == "write"  # OIDC: no stored AWS keys
    waves = plan_waves(list(registry.tenants), canary=registry.fleet.canary, wave_size=registry.fleet.wave_size)
    jobs = list(workflow["jobs"].values())
    assert len(jobs) == len(waves)
    for index, (job, wave) in enumerate(zip(jobs, waves, strict=True)):
        assert job["name"] == f"{wave.name}: {', '.join(wave.tenants)}"
        assert f"caseline fleet deploy --wave {wave.number} " in job["steps"][-1]["run"]
        assert job.get("needs") == (list(workflow["jobs"])[index - 1] if index else None)
        assert job["environment"].startswith("fleet-")


def test_each_tenants_stacks_are_synthesized_into_its_account_and_region(
    assembly: Synthesized, registry: TenantRegistry
) -> None:
    for tenant in registry.tenants.values():
        account = tenant.account or "unknown-account"  # the CLI's credentials decide at deploy time
        assert {stack.environment.account for stack in assembly.stacks(tenant.id)} == {account}
        assert {stack.environment.region for stack in assembly.stacks(tenant.id)} == {tenant.region}
    assert registry.get("acme").account == ACME_ACCOUNT


class RecordedCdk:
    """subprocess.run for the CDK CLI: records each command, fails the tenants it is told to."""

    def __init__(self, failing: str | None = None) -> None:
        self.failing = failing
        self.commands: list[list[str]] = []

    def __call__(self, command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        self.commands.append(command)
        return subprocess.CompletedProcess(command, 1 if command[-1] == f"tenant-{self.failing}/*" else 0)


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize("failing", [None, "demo"])
def test_the_deploy_runs_the_cdk_cli_per_tenant_wave_by_wave_with_the_version_tag(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, failing: str | None
) -> None:
    cdk = RecordedCdk(failing)
    monkeypatch.setattr(shutil, "which", lambda _name: "/usr/bin/npx")
    monkeypatch.setattr(subprocess, "run", cdk)
    assembly = _write_assembly(
        tmp_path / "cdk.out", {"demo": ["caseline-demo-shared"], "acme": ["caseline-acme-shared"]}
    )
    arguments = ["deploy", "--assembly", str(assembly), "--bake-minutes", "0", "--version", "v1"]
    result = runner.invoke(fleet_app, arguments)
    deployed = [command[-1] for command in cdk.commands]
    if failing:
        assert result.exit_code == 1
        assert "Halted: the deploy of demo (canary) failed: cdk deploy exited with 1" in result.output
        assert deployed == ["tenant-demo/*"]
        return
    assert result.exit_code == 0, result.output
    assert deployed == ["tenant-demo/*", "tenant-acme/*"]
    for command in cdk.commands:
        assert command[command.index("--require-approval") + 1] == "never"
        assert command[command.index("--tags") + 1] == f"{VERSION_TAG}=v1"
        assert command[command.index("--app") + 1] == str(assembly.resolve())
    assert "Deployed v1 to demo, acme" in result.output


class StubbedSession(boto3.Session):
    """A session whose CloudFormation client is a stubbed one (moto has no drift detection)."""

    def __init__(self, client: Any) -> None:
        super().__init__(region_name="us-east-1")
        self._stubbed = client

    def client(self, *_: Any, **__: Any) -> Any:
        return self._stubbed


def test_drift_detection_waits_for_its_result_and_reads_every_page_of_drifted_resources(
    registry: TenantRegistry,
) -> None:
    client = boto3.client("cloudformation", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(client)
    name = "caseline-demo-shared"
    stub.add_response("detect_stack_drift", {"StackDriftDetectionId": "d1"}, {"StackName": name})
    for status in ("DETECTION_IN_PROGRESS", "DETECTION_COMPLETE"):
        stub.add_response(
            "describe_stack_drift_detection_status",
            {"StackId": "s", "StackDriftDetectionId": "d1", "DetectionStatus": status, "Timestamp": "2026-12-05"},
            {"StackDriftDetectionId": "d1"},
        )
    drift = {"StackId": "s", "ResourceType": "AWS::DynamoDB::Table", "StackResourceDriftStatus": "MODIFIED",
             "Timestamp": "2026-12-05", "PropertyDifferences": [
                 {"PropertyPath": "/BillingMode", "ExpectedValue": "PAY_PER_REQUEST", "ActualValue": "PROVISIONED",
                  "DifferenceType": "NOT_EQUAL"}]}  # fmt: skip
    filters = {"StackName": name, "StackResourceDriftStatusFilters": ["MODIFIED", "DELETED"]}
    stub.add_response(
        "describe_stack_resource_drifts",
        {"StackResourceDrifts": [{**drift, "LogicalResourceId": "CasesTable"}], "NextToken": "n"},
        filters,
    )
    second = {**drift, "LogicalResourceId": "TasksTable", "PropertyDifferences": []}
    stub.add_response("describe_stack_resource_drifts", {"StackResourceDrifts": [second]},
                      {**filters, "NextToken": "n"})  # fmt: skip
    with stub:
        found = FleetAws(StubbedSession(client)).drift(registry.get("demo"), name, poll_seconds=0)
    stub.assert_no_pending_responses()
    assert drift_summary(found) == (
        "caseline-demo-shared CasesTable (AWS::DynamoDB::Table) modified: /BillingMode; "
        "caseline-demo-shared TasksTable (AWS::DynamoDB::Table) modified"
    )
