"""The fleet's rollout rules (caseline/fleet.py): waves, bake, halting, versions, changed stacks; no AWS."""

from typing import Any

import pytest

from caseline.fleet import (
    DeployedStack,
    FleetError,
    Outcome,
    ResourceDrift,
    Wave,
    changed_stacks,
    drift_summary,
    own_alarms,
    plan_waves,
    roll_out,
    select_wave,
    version_of,
)

TENANTS = ["a", "b", "c", "d", "e", "f"]


def test_the_canary_goes_alone_then_the_others_in_registry_order() -> None:
    waves = plan_waves(TENANTS, canary="c", wave_size=2)
    assert waves == [Wave(0, ("c",)), Wave(1, ("a", "b")), Wave(2, ("d", "e")), Wave(3, ("f",))]
    assert [wave.name for wave in waves] == ["canary", "wave 1", "wave 2", "wave 3"]
    assert plan_waves(["a"], canary="a", wave_size=10) == [Wave(0, ("a",))]
    assert select_wave(waves, 2) == [Wave(2, ("d", "e"))]
    assert select_wave(waves, None) == waves


@pytest.mark.parametrize(
    ("canary", "wave_size", "message"),
    [
        (None, 2, "no canary tenant: set canary in the registry's \\[fleet\\] table, or pass --canary"),
        ("z", 2, "the canary 'z' is not a tenant of the registry"),
        ("a", 0, "at least one tenant"),
    ],
)
def test_a_plan_that_cannot_be_made_says_why(canary: str | None, wave_size: int, message: str) -> None:
    with pytest.raises(FleetError, match=message):
        plan_waves(TENANTS, canary=canary, wave_size=wave_size)


def test_a_wave_that_is_not_in_the_plan_says_which_are() -> None:
    with pytest.raises(FleetError, match=r"no wave 9: the plan has waves 0 \(canary\) to 3"):
        select_wave(plan_waves(TENANTS, canary="a", wave_size=2), 9)


class Fleet:
    """Records what the rollout asked for, in order; fails the deploys and fires the alarms it is told to."""

    def __init__(self, failing: frozenset[str] = frozenset(), alarming: frozenset[str] = frozenset()) -> None:
        self.failing, self.alarming = failing, alarming
        self.calls: list[str] = []

    def deploy(self, tenant: str) -> str | None:
        self.calls.append(f"deploy {tenant}")
        return "cdk deploy exited with 1" if tenant in self.failing else None

    def alarms(self, tenant: str) -> list[str]:
        self.calls.append(f"alarms {tenant}")
        return [f"caseline-{tenant}-api-5xx"] if tenant in self.alarming else []

    def bake(self, wave: Wave, minutes: float) -> None:
        self.calls.append(f"bake {wave.number} {minutes:g}")


def _roll(fleet: Fleet, waves: list[Wave]) -> tuple[list[tuple[str, Outcome]], str | None]:
    rollout = roll_out(
        waves, deploy=fleet.deploy, alarms_firing=fleet.alarms, bake=fleet.bake, bake_minutes=15, last_wave=2
    )
    return [(result.tenant, result.outcome) for result in rollout.results], rollout.halted


WAVES = plan_waves(["a", "b", "c", "d", "e"], canary="a", wave_size=2)  # a | b c | d e


def test_every_wave_deploys_then_bakes_then_reads_its_alarms_and_the_last_wave_does_not_bake() -> None:
    fleet = Fleet()
    results, halted = _roll(fleet, WAVES)
    assert halted is None
    assert results == [(tenant, Outcome.DEPLOYED) for tenant in "abcde"]
    assert fleet.calls == [
        "deploy a", "bake 0 15", "alarms a",
        "deploy b", "deploy c", "bake 1 15", "alarms b", "alarms c",
        "deploy d", "deploy e", "alarms d", "alarms e",
    ]  # fmt: skip


def test_an_alarm_in_the_canary_halts_before_any_other_tenant() -> None:
    fleet = Fleet(alarming=frozenset("a"))
    results, halted = _roll(fleet, WAVES)
    assert halted == "a (canary) has alarms in ALARM: caseline-a-api-5xx"
    assert results[0] == ("a", Outcome.ALARM)
    assert results[1:] == [(tenant, Outcome.SKIPPED) for tenant in "bcde"]
    assert not any(call.startswith("deploy") for call in fleet.calls[1:])


def test_a_failed_deploy_halts_at_once_and_the_wave_deployed_so_far_is_still_checked() -> None:
    fleet = Fleet(failing=frozenset("c"))
    results, halted = _roll(fleet, plan_waves(["a", "b", "c", "d", "e"], canary="a", wave_size=3))  # a | b c d | e
    assert halted == "the deploy of c (wave 1) failed: cdk deploy exited with 1"
    assert dict(results) == {
        "a": Outcome.DEPLOYED,
        "b": Outcome.DEPLOYED,
        "c": Outcome.FAILED,
        "d": Outcome.SKIPPED,
        "e": Outcome.SKIPPED,
    }
    assert "deploy d" not in fleet.calls
    assert "bake 1 15" not in fleet.calls  # no bake once halted: the rollout stops now
    assert "alarms b" in fleet.calls


def test_one_wave_of_a_pipeline_bakes_unless_it_is_the_plans_last() -> None:
    fleet = Fleet()
    _roll(fleet, select_wave(WAVES, 1))
    assert fleet.calls == ["deploy b", "deploy c", "bake 1 15", "alarms b", "alarms c"]
    fleet = Fleet()
    _roll(fleet, select_wave(WAVES, 2))
    assert "bake 2 15" not in fleet.calls


def test_the_version_inventory_names_one_version_or_what_is_mixed() -> None:
    def stack(version: str | None) -> DeployedStack:
        return DeployedStack("s", "UPDATE_COMPLETE", version)

    assert version_of([stack("abc"), stack("abc"), None]) == "abc"
    assert version_of([stack("abc"), stack("def"), stack(None)]) == "mixed: abc, def, untagged"
    assert version_of([None, None]) == "not deployed"


def test_a_stack_changes_when_it_is_missing_or_its_template_differs() -> None:
    synthesized: dict[str, dict[str, Any]] = {
        "one": {"Resources": {"A": 1}},
        "two": {"Resources": {"B": 1}},
        "three": {"Resources": {}},
    }
    deployed: dict[str, dict[str, Any] | None] = {
        "one": {"Resources": {"A": 1}},
        "two": {"Resources": {"B": 2}},
        "three": None,
    }
    assert changed_stacks(synthesized, deployed) == ["two", "three"]
    assert changed_stacks(synthesized, {}) == ["one", "two", "three"]


def test_the_drift_summary_names_each_drifted_resource_and_property() -> None:
    assert drift_summary([]) == "in sync"
    drifts = [
        ResourceDrift("caseline-a-shared", "CasesTable", "AWS::DynamoDB::Table", "MODIFIED", ("/BillingMode",)),
        ResourceDrift("caseline-a-api", "Waf", "AWS::WAFv2::WebACL", "DELETED", ()),
    ]
    assert drift_summary(drifts) == (
        "caseline-a-shared CasesTable (AWS::DynamoDB::Table) modified: /BillingMode; "
        "caseline-a-api Waf (AWS::WAFv2::WebACL) deleted"
    )


def test_a_tenant_whose_id_extends_another_does_not_lend_it_its_alarms() -> None:
    firing = ["caseline-demo-api-5xx", "caseline-demo-eu-api-5xx"]
    assert own_alarms("demo", firing, ["demo", "demo-eu", "acme"]) == ["caseline-demo-api-5xx"]
    assert own_alarms("demo-eu", ["caseline-demo-eu-api-5xx"], ["demo", "demo-eu"]) == ["caseline-demo-eu-api-5xx"]
