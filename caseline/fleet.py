"""Rolling a release out to the fleet: the waves, and what runs them (deploy, bake, watch, halt). Pure: the AWS
calls and the CDK CLI come in as functions (caseline/fleet_aws.py, caseline/fleet_cli.py), so the rules are tested
without either.

The canary tenant goes alone first; the other tenants follow in waves of `wave_size`, in the registry's order
(the operator's: put the tenants that can best afford a bad hour first). After a wave, every one of its tenants'
alarms is read; any in ALARM halts the rollout, and so does a failed deploy. Between waves the fleet bakes: the
next wave waits `bake_minutes` so that a slow failure (a nightly schedule, a queue's backlog) can raise its alarm
before more tenants get the release.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from caseline_common.resources import SERVICES


def stack_names(tenant_id: str) -> list[str]:
    """A tenant's stacks, in deploy order, as infra/tenant_stage.py names them (tests/infra/test_fleet_cli.py holds
    the two together); named here so that reading the fleet does not import the CDK."""
    return [f"caseline-{tenant_id}-{part}" for part in ("shared", *SERVICES, "api", "console")]


class FleetError(ValueError):
    """The rollout cannot be planned as asked; the message says why."""


@dataclass(frozen=True)
class Wave:
    number: int  # 0 is the canary
    tenants: tuple[str, ...]

    @property
    def name(self) -> str:
        return "canary" if self.number == 0 else f"wave {self.number}"


def plan_waves(tenant_ids: Sequence[str], *, canary: str | None, wave_size: int) -> list[Wave]:
    """The canary alone, then the other tenants in order, `wave_size` at a time."""
    if canary is None:
        raise FleetError("no canary tenant: set canary in the registry's [fleet] table, or pass --canary")
    if canary not in tenant_ids:
        raise FleetError(f"the canary {canary!r} is not a tenant of the registry (known: {', '.join(tenant_ids)})")
    if wave_size < 1:
        raise FleetError("a wave holds at least one tenant")
    rest = [tenant for tenant in tenant_ids if tenant != canary]
    return [Wave(0, (canary,))] + [
        Wave(index // wave_size + 1, tuple(rest[index : index + wave_size])) for index in range(0, len(rest), wave_size)
    ]


def select_wave(waves: list[Wave], number: int | None) -> list[Wave]:
    """Every wave, or the one a pipeline's job deploys."""
    if number is None:
        return waves
    chosen = [wave for wave in waves if wave.number == number]
    if not chosen:
        raise FleetError(f"no wave {number}: the plan has waves 0 (canary) to {waves[-1].number}")
    return chosen


class Outcome(StrEnum):
    DEPLOYED = "deployed"
    FAILED = "failed"  # the CDK CLI failed; CloudFormation rolled the stack back
    ALARM = "alarm"  # deployed, then an alarm of the tenant was in ALARM after the wave
    SKIPPED = "skipped"  # the rollout halted before this tenant


@dataclass(frozen=True)
class TenantResult:
    tenant: str
    wave: int
    outcome: Outcome
    detail: str = ""


@dataclass(frozen=True)
class Rollout:
    results: list[TenantResult]
    halted: str | None  # why the rollout stopped early; None when every wave went through

    @property
    def succeeded(self) -> bool:
        return self.halted is None


Deploy = Callable[[str], str | None]  # deploys a tenant: None when it went well, else what failed
AlarmsFiring = Callable[[str], list[str]]  # a tenant's alarms in ALARM
Bake = Callable[[Wave, float], None]  # waits the bake time after a wave


def roll_out(
    waves: Sequence[Wave],
    *,
    deploy: Deploy,
    alarms_firing: AlarmsFiring,
    bake: Bake,
    bake_minutes: float,
    last_wave: int,
    report: Callable[[TenantResult], None] = lambda _result: None,
) -> Rollout:
    """Deploy the waves in turn: each tenant of a wave, then (unless it is the plan's `last_wave`) the bake, then
    every alarm of the wave's tenants. The first failed deploy or alarm halts; later tenants are skipped."""
    results: list[TenantResult] = []

    def record(result: TenantResult) -> None:
        results.append(result)
        report(result)

    halted: str | None = None
    for wave in waves:
        deployed: list[str] = []
        for tenant in wave.tenants:
            if halted:
                record(TenantResult(tenant, wave.number, Outcome.SKIPPED))
                continue
            failure = deploy(tenant)
            if failure is not None:
                record(TenantResult(tenant, wave.number, Outcome.FAILED, failure))
                halted = f"the deploy of {tenant} ({wave.name}) failed: {failure}"
            else:
                deployed.append(tenant)
        if deployed and not halted and wave.number != last_wave:
            bake(wave, bake_minutes)
        for tenant in deployed:
            firing = alarms_firing(tenant)
            if firing:
                record(TenantResult(tenant, wave.number, Outcome.ALARM, ", ".join(firing)))
                halted = halted or f"{tenant} ({wave.name}) has alarms in ALARM: {', '.join(firing)}"
            else:
                record(TenantResult(tenant, wave.number, Outcome.DEPLOYED))
    return Rollout(results=results, halted=halted)


def own_alarms(tenant: str, alarm_names: Iterable[str], tenant_ids: Iterable[str]) -> list[str]:
    """The tenant's alarms among those named with its prefix `caseline-<tenant>-`: a tenant `demo-eu` in the same
    account and region has alarms `caseline-demo-eu-...`, which that prefix also selects."""
    longer = [f"caseline-{other}-" for other in tenant_ids if other.startswith(f"{tenant}-")]
    return [name for name in alarm_names if not any(name.startswith(prefix) for prefix in longer)]


@dataclass(frozen=True)
class DeployedStack:
    name: str
    status: str
    version: str | None  # the `caseline:version` tag the fleet's deploy puts on it


def version_of(stacks: Iterable[DeployedStack | None]) -> str:
    """A tenant's deployed version: its stacks' one version, or what is mixed or missing."""
    present = [stack for stack in stacks if stack is not None]
    if not present:
        return "not deployed"
    versions = sorted({stack.version or "untagged" for stack in present})
    return versions[0] if len(versions) == 1 else "mixed: " + ", ".join(versions)


def changed_stacks(synthesized: dict[str, dict[str, Any]], deployed: dict[str, dict[str, Any] | None]) -> list[str]:
    """The stacks a deploy would change: those not deployed yet, and those whose deployed template differs from the
    synthesized one (CDK deploys the synthesized template as it is, so equal templates mean no change)."""
    return [name for name, template in synthesized.items() if deployed.get(name) != template]


@dataclass(frozen=True)
class ResourceDrift:
    stack: str
    logical_id: str
    resource_type: str
    status: str  # MODIFIED | DELETED (CloudFormation's StackResourceDriftStatus)
    properties: tuple[str, ...]  # the property paths that differ


def drift_summary(drifts: Sequence[ResourceDrift]) -> str:
    if not drifts:
        return "in sync"
    return "; ".join(
        f"{drift.stack} {drift.logical_id} ({drift.resource_type}) {drift.status.lower()}"
        + (f": {', '.join(drift.properties)}" if drift.properties else "")
        for drift in drifts
    )
