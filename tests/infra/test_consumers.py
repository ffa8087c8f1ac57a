"""Consumers are kept by consumer, not by service: a service may have several, each with its own rule, queue,
dead-letter queue, pump (locally) and event source mapping (in AWS).

A second timeline consumer (`timeline_search`, which the timeline service does not have) is added to the specs for
these tests only: provisioned into the emulator and pumped, and synthesized in a shared stack and the timeline's
service stack (no cdk-nag here; the session's assembly runs it on the real specs).
"""

import json
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import assertions
from caseline_common.authorizer import RouteScopes
from caseline_common.aws import AwsClients
from caseline_common.resources import ALL_CASELINE_EVENTS, CONSUMERS, ConsumerSpec, QueueSpec, TenantResourceNames

from caseline.local.emulator import EmulatorProcess
from caseline.local.provision import provision_tenant
from caseline.local.pumps import queue_pumps
from infra.access import DATA_ACCESS, DataAccess
from infra.app import FEATURE_FLAGS
from infra.package import ZIP_NAME, LambdaPackage
from infra.service_stack import PackageMismatchError, ServiceStack
from infra.shared_stack import TenantSharedStack
from infra.tenants import TenantRegistry

SEARCH = ConsumerSpec(
    service="timeline", function="timeline_search", name="timeline-search", event_pattern=ALL_CASELINE_EVENTS
)
TIMELINE = next(spec for spec in CONSUMERS if spec.function == "timeline_consumer")


def test_consumer_ids_and_names_are_unique_and_the_deployed_names_stay() -> None:
    assert len({spec.id for spec in CONSUMERS}) == len(CONSUMERS)
    assert len({spec.name for spec in CONSUMERS}) == len(CONSUMERS)
    # Renaming a deployed consumer replaces its rule and queues (and loses what they hold).
    assert {spec.id: spec.name for spec in CONSUMERS} == {
        "timeline_consumer": "timeline-events",
        "automations_consumer": "automations-events",
        "portal_consumer": "portal-events",
        "case_commands": "cases-events",
        "tasks_consumer": "tasks-events",
        "search_indexer": "search-events",
        "lake_writer": "insight-events",
        "notify_consumer": "notifications-events",
    }


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsClients]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "local")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "local")
    emulator = EmulatorProcess("127.0.0.1", 0)
    try:
        yield AwsClients("us-east-1", emulator.endpoint)
    finally:
        emulator.stop()


@pytest.mark.timeout(120)
def test_two_consumers_of_one_service_get_two_queues_two_dead_letter_queues_and_two_pumps_locally(
    aws: AwsClients,
) -> None:
    tenant = provision_tenant(aws, "two", consumers=(*CONSUMERS, SEARCH))
    first, second = tenant.queues[TIMELINE.id], tenant.queues[SEARCH.id]
    assert (first.spec, second.spec) == (TIMELINE, SEARCH)
    assert len({first.url, second.url, first.dead_letter_url, second.dead_letter_url}) == 4
    names = TenantResourceNames(tenant_id="two")
    rules = {rule["Name"] for rule in aws.events().list_rules(EventBusName=names.event_bus())["Rules"]}
    assert {names.rule(TIMELINE), names.rule(SEARCH)} <= rules

    received: dict[str, list[dict[str, Any]]] = {}

    def handler_for(spec: QueueSpec) -> Any:
        def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
            received.setdefault(spec.function, []).extend(event["Records"])
            return {"batchItemFailures": []}

        return handler

    pumps = queue_pumps(aws.sqs(), tenant.queues.values(), handler_for)
    assert [pump.name for pump in pumps] == [f"queue:{spec.function}" for spec in (*CONSUMERS, SEARCH)]
    aws.events().put_events(
        Entries=[
            {"EventBusName": names.event_bus(), "Source": "caseline.cases", "DetailType": "case.opened",
             "Detail": json.dumps({"id": "e-1"})}
        ]
    )  # fmt: skip
    for pump in pumps:
        pump.poll_once()
    # Each of the service's consumers got the event from its own queue.
    for spec, queue in ((TIMELINE, first), (SEARCH, second)):
        [record] = received[spec.function]
        assert record["eventSourceARN"] == queue.arn
        assert json.loads(record["body"])["detail"] == {"id": "e-1"}


def _package(directory: Path, service: str, functions: list[str]) -> LambdaPackage:
    directory.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(directory / ZIP_NAME, "w") as archive:
        archive.writestr("app.py", "")
    return LambdaPackage(
        service=service,
        architecture="arm64",
        runtime="python3.11",
        fingerprint="test",
        content_hash="0" * 64,
        handlers={"api": "app.app", **{name: f"entry.{name}" for name in functions}},
        routes=(),
        binary_media_types=(),
        with_dependencies=False,
        directory=directory,
    )


@pytest.fixture
def with_search_consumer(monkeypatch: pytest.MonkeyPatch) -> None:
    """SEARCH joins the specs wherever a module holds them (each imported `CONSUMERS` by name)."""
    consumers = (*CONSUMERS, SEARCH)
    for name, module in list(sys.modules.items()):
        if name.split(".")[0] in ("infra", "caseline", "caseline_common") and getattr(module, "CONSUMERS", None) is (
            CONSUMERS
        ):
            monkeypatch.setattr(module, "CONSUMERS", consumers)
    # A new function gets a policy only once its data access is declared.
    monkeypatch.setitem(DATA_ACCESS, (SEARCH.service, SEARCH.function), DataAccess(table=("dynamodb:GetItem",)))


def _stacks(registry: TenantRegistry, package: LambdaPackage) -> tuple[TenantSharedStack, ServiceStack]:
    tenant = registry.tenants["demo"]
    app = cdk.App(analytics_reporting=False, context=dict(FEATURE_FLAGS))
    stage = cdk.Stage(app, "t", env=cdk.Environment(account=tenant.account, region=tenant.region))
    shared = TenantSharedStack(stage, "shared", tenant=tenant)
    return shared, ServiceStack(
        stage, "timeline", tenant=tenant, service="timeline", package=package, shared=shared, route_scopes=RouteScopes()
    )


@pytest.mark.timeout(300)
@pytest.mark.usefixtures("with_search_consumer")
def test_two_consumers_of_one_service_get_two_rules_queues_and_mappings_in_synth(
    registry: TenantRegistry, tmp_path: Path
) -> None:
    package = _package(tmp_path, "timeline", ["timeline_consumer", "timeline_search", "anchor_heads"])
    shared_stack, service_stack = _stacks(registry, package)
    shared = assertions.Template.from_stack(shared_stack).to_json()["Resources"]
    timeline = assertions.Template.from_stack(service_stack).to_json()["Resources"]
    names = TenantResourceNames(tenant_id="demo")

    def of_type(resources: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
        return [body.get("Properties", {}) for body in resources.values() if body["Type"] == resource_type]

    rules = {rule["Name"] for rule in of_type(shared, "AWS::Events::Rule")}
    assert {names.rule(TIMELINE), names.rule(SEARCH)} <= rules
    queues = {queue["QueueName"] for queue in of_type(shared, "AWS::SQS::Queue")}
    assert {names.queue(spec) for spec in (TIMELINE, SEARCH)} <= queues
    assert {names.dead_letter_queue(spec) for spec in (TIMELINE, SEARCH)} <= queues
    mappings = [
        json.dumps(mapping["EventSourceArn"]) for mapping in of_type(timeline, "AWS::Lambda::EventSourceMapping")
    ]
    for spec in (TIMELINE, SEARCH):
        assert len([arn for arn in mappings if f":{names.queue(spec)}" in arn]) == 1, spec.id
    alarms = {alarm["AlarmName"] for alarm in of_type(timeline, "AWS::CloudWatch::Alarm")}
    assert {f"{names.prefix()}-{spec.name}-dlq-depth" for spec in (TIMELINE, SEARCH)} <= alarms
    # The construct ids of the consumer that was there before are those it always had.
    assert any(logical.startswith("timelineevents") for logical in shared)


@pytest.mark.timeout(300)
@pytest.mark.usefixtures("with_search_consumer")
def test_service_stack_refuses_a_package_whose_functions_and_specs_disagree(
    registry: TenantRegistry, tmp_path: Path
) -> None:
    # The specs wire timeline_search, which the package lacks.
    with pytest.raises(PackageMismatchError, match="timeline_search"):
        _stacks(registry, _package(tmp_path / "short", "timeline", ["timeline_consumer", "anchor_heads"]))
    # The package has a function no spec wires.
    extra = ["timeline_consumer", "timeline_search", "anchor_heads", "unwired"]
    with pytest.raises(PackageMismatchError, match="unwired"):
        _stacks(registry, _package(tmp_path / "long", "timeline", extra))


@pytest.mark.timeout(120)
def test_the_read_plane_consumers_receive_only_the_events_that_change_what_they_keep(aws: AwsClients) -> None:
    tenant = provision_tenant(aws, "plane")
    names = TenantResourceNames(tenant_id="plane")
    sent = {
        "case.opened": {},
        "task.assigned": {},
        "comment.added": {},
        "automation.ran": {},
        "sla.breached": {},
        "case.fields_changed": {"changes": {}},
        "case.fields_changed#title": {"changes": {}, "title": "Renamed"},
    }
    aws.events().put_events(
        Entries=[
            {
                "EventBusName": names.event_bus(),
                "Source": "caseline.cases",
                "DetailType": name.split("#")[0],
                "Detail": json.dumps({"name": name, "data": data}),
            }
            for name, data in sent.items()
        ]
    )

    def received(function: str) -> set[str]:
        queue = tenant.queues[function]
        messages = aws.sqs().receive_message(QueueUrl=queue.url, MaxNumberOfMessages=10)["Messages"]
        return {json.loads(message["Body"])["detail"]["name"] for message in messages}

    assert received("tasks_consumer") == {"case.opened", "task.assigned", "case.fields_changed#title"}
    assert received("search_indexer") == set(sent) - {"automation.ran", "sla.breached"}
