"""cdk-nag's AWS Solutions and HIPAA Security packs: nothing unacknowledged, every acknowledgement reasoned and
needed (each one answers a finding that appears when the acknowledgements are left out)."""

import json
from pathlib import Path

import pytest

from infra.app import build_app
from infra.package import LambdaPackage
from infra.tenants import TenantRegistry
from tests.infra.conftest import Synthesized

PACKS = ("AwsSolutions-", "HIPAA.Security-")


def _acknowledged(assembly: Synthesized, tenant_id: str) -> list[tuple[str, str, str]]:
    """(construct path, rule, reason) of every acknowledgement recorded in the tenant's stacks."""
    return [
        (path.strip("/"), rule.removeprefix("Annotation::"), reason)
        for path, data in assembly.metadata(tenant_id, "aws:cdk:acknowledged-rules")
        for rule, reason in data.items()
    ]


def test_both_packs_ran_and_left_no_unacknowledged_finding(assembly: Synthesized) -> None:
    # The session's synth raises ValidationFailed on any finding; a passing one reports no plugin failures.
    # (That the packs really run is shown below: without the acknowledgements the same app fails.)
    report = json.loads((assembly.outdir / "validation-report.json").read_text())
    assert report["pluginReports"] == []


def test_every_acknowledgement_names_one_rule_and_gives_a_reason(
    assembly: Synthesized, registry: TenantRegistry
) -> None:
    for tenant_id in registry.tenants:
        acknowledged = _acknowledged(assembly, tenant_id)
        assert acknowledged
        for path, rule, reason in acknowledged:
            assert rule.startswith(PACKS), (path, rule)
            assert len(reason) >= 40, (path, rule, reason)


@pytest.fixture(scope="module")
def findings_without_acknowledgements(
    registry: TenantRegistry, packages: dict[str, LambdaPackage], tmp_path_factory: pytest.TempPathFactory
) -> set[tuple[str, str]]:
    """(rule, construct path) of every finding for every tenant (acme has the most features; the tiers' search
    engines differ), acknowledgements left out."""
    outdir = tmp_path_factory.mktemp("cdk.out.unacknowledged")
    app = build_app(registry.tenants.values(), packages=packages, outdir=outdir, acknowledge=False)
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = json.loads(Path(outdir / "validation-report.json").read_text())
    return {
        (violation["ruleName"], construct["constructPath"])
        for plugin in report["pluginReports"]
        for violation in plugin["violations"]
        for construct in violation["violatingConstructs"]
    }


def test_every_acknowledgement_answers_a_real_finding(
    assembly: Synthesized, registry: TenantRegistry, findings_without_acknowledgements: set[tuple[str, str]]
) -> None:
    unneeded = [
        (path, rule)
        for tenant_id in registry.tenants
        for path, rule, _reason in _acknowledged(assembly, tenant_id)
        if not any(
            found_rule == rule and (found_path == path or found_path.startswith(f"{path}/"))
            for found_rule, found_path in findings_without_acknowledgements
        )
    ]
    assert not unneeded, f"acknowledged but never found: {unneeded}"


def test_every_finding_is_acknowledged_where_it_occurs(
    assembly: Synthesized, registry: TenantRegistry, findings_without_acknowledgements: set[tuple[str, str]]
) -> None:
    acknowledged = [found for tenant_id in registry.tenants for found in _acknowledged(assembly, tenant_id)]
    unanswered = [
        (rule, path)
        for rule, path in findings_without_acknowledgements
        if not any(
            rule == ack_rule and (path == ack or path.startswith(f"{ack}/")) for ack, ack_rule, _ in acknowledged
        )
    ]
    assert not unanswered
