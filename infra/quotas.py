"""How many tenants fit an account: each tenant's footprint counted from its synthesized templates, set against
the default quotas; and each tenant's fixed monthly floor from infra/cost.py's model, with what would lower it.

`python -m infra.quotas [cdk.out]` prints the block docs/operations.md holds under *Running a fleet* (from an
assembly of every tenant: `python -m infra.app`), `--write` puts it there; tests/infra/test_quotas.py keeps that
block in step with the synthesized app and the cost model.
"""

import json
import math
import sys
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from infra.assembly import assembly_templates
from infra.cost import Prices, monthly_cost, total
from infra.functions import all_functions
from infra.tenants import Tier

FLEET_SIZES = (10, 100, 500)
ACCOUNT, REGION = "account", "account and region"


@dataclass(frozen=True)
class Quota:
    what: str
    counts: str  # a CloudFormation resource type, or one of the measures of `Footprint.measure`
    default: int
    scope: str
    adjustable: bool = True


# Default quotas of a new account (AWS documentation and Service Quotas, late 2025; check before relying on one).
QUOTAS = (
    Quota("CloudFormation stacks", "stacks", 2_000, REGION),
    Quota("IAM roles", "AWS::IAM::Role", 1_000, ACCOUNT),
    Quota("IAM customer managed policies", "AWS::IAM::ManagedPolicy", 1_500, ACCOUNT),
    Quota("KMS customer managed keys", "AWS::KMS::Key", 100_000, REGION),
    Quota("WAF web ACLs (regional)", "AWS::WAFv2::WebACL", 100, REGION),
    Quota("EventBridge event buses", "AWS::Events::EventBus", 100, REGION),
    Quota("CloudFront distributions", "AWS::CloudFront::Distribution", 200, ACCOUNT),
    Quota("DynamoDB tables", "AWS::DynamoDB::Table", 2_500, REGION),
    Quota("S3 general purpose buckets", "AWS::S3::Bucket", 10_000, ACCOUNT),
    Quota("Cognito user pools", "AWS::Cognito::UserPool", 1_000, REGION),
    Quota("API Gateway regional REST APIs", "AWS::ApiGateway::RestApi", 600, REGION),
    Quota("AWS Backup vaults", "AWS::Backup::BackupVault", 100, REGION),
    Quota("Athena workgroups", "AWS::Athena::WorkGroup", 1_000, REGION),
    Quota("OpenSearch Service domains", "AWS::OpenSearchService::Domain", 100, REGION),
    # Lambda keeps 100 of the 1,000 unreserved: 900 can be reserved.
    Quota("Lambda reserved concurrency", "reserved_concurrency", 900, REGION),
    Quota("Lambda code storage (MB)", "code_mb", 75 * 1024, REGION),
)


@dataclass(frozen=True)
class Footprint:
    """What one tenant's stacks create."""

    stacks: int
    resources: int
    by_type: Counter[str]
    reserved_concurrency: int
    code_mb: float  # the functions' and layers' packages, each function counted (Lambda stores one per function)

    def measure(self, counts: str) -> float:
        if counts == "stacks":
            return self.stacks
        if counts in ("reserved_concurrency", "code_mb"):
            value: float = getattr(self, counts)
            return value
        return self.by_type[counts]


def footprint(templates: list[dict[str, Any]], package_bytes: dict[str, int]) -> Footprint:
    """The footprint of a tenant's templates; `package_bytes` sizes the code packages by their S3 key."""
    by_type: Counter[str] = Counter()
    reserved = 0
    code_bytes = 0
    for template in templates:
        for resource in template["Resources"].values():
            by_type[resource["Type"]] += 1
            properties = resource.get("Properties", {})
            reserved += properties.get("ReservedConcurrentExecutions", 0)
            key = (properties.get("Code") or properties.get("Content") or {}).get("S3Key")
            if resource["Type"] in ("AWS::Lambda::Function", "AWS::Lambda::LayerVersion") and isinstance(key, str):
                code_bytes += package_bytes.get(key, 0)
    return Footprint(
        stacks=len(templates),
        resources=sum(by_type.values()),
        by_type=by_type,
        reserved_concurrency=reserved,
        code_mb=code_bytes / 1024 / 1024,
    )


def assembly_footprints(assembly: Path) -> dict[str, Footprint]:
    """By tenant, its footprint in a synthesized assembly."""
    # The packages, by the S3 key the templates name them with (`<hash>.zip` is the file `asset.<hash>.zip`).
    sizes = {
        path.name.removeprefix("asset."): path.stat().st_size for path in assembly.glob("asset.*") if path.is_file()
    }
    footprints = {}
    for tenant, stacks in assembly_templates(assembly).items():
        templates = [json.loads(path.read_text()) for path in stacks.values()]
        footprints[tenant] = footprint(templates, sizes)
    return footprints


def tenants_that_fit(quota: Quota, per_tenant: float) -> int | None:
    """How many such tenants the quota holds; None when a tenant uses none of it."""
    return math.floor(quota.default / per_tenant) if per_tenant else None


def _number(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 or value == int(value) else f"{value:,.1f}"


def quota_table(standard: Footprint, enterprise: Footprint) -> str:
    """Markdown: each quota, a tenant's use of it by tier, and a fleet of standard tenants in one account."""
    header = (
        "| quota (default) | scope | standard tenant | enterprise tenant | standard tenants that fit | "
        + " | ".join(f"{size} tenants" for size in FLEET_SIZES)
        + " |"
    )
    lines = [header, "|" + "---|" * (5 + len(FLEET_SIZES))]
    for quota in QUOTAS:
        used, used_enterprise = standard.measure(quota.counts), enterprise.measure(quota.counts)
        fit = tenants_that_fit(quota, used)
        fleet = [
            f"{_number(used * size)}" + (" **over**" if used * size > quota.default else "") for size in FLEET_SIZES
        ]
        lines.append(
            f"| {quota.what} ({quota.default:,}) | {quota.scope} | {_number(used)} | {_number(used_enterprise)} | "
            f"{'-' if fit is None else f'{fit:,}'} | " + " | ".join(fleet) + " |"
        )
    return "\n".join(lines)


def footprint_line(tier: Tier, tenant: Footprint) -> str:
    count = tenant.by_type
    return (
        f"- {tier.value}: {tenant.stacks} stacks, {tenant.resources} resources, {count['AWS::IAM::Role']} roles, "
        f"{count['AWS::IAM::ManagedPolicy']} managed policies, {count['AWS::KMS::Key']} KMS keys, "
        f"{count['AWS::WAFv2::WebACL']} WAF web ACL, {count['AWS::Events::EventBus']} event bus, "
        f"{count['AWS::CloudFront::Distribution']} CloudFront distributions, {count['AWS::DynamoDB::Table']} tables, "
        f"{count['AWS::S3::Bucket']} buckets, {count['AWS::CloudWatch::Alarm']} alarms, reserved concurrency "
        f"{tenant.reserved_concurrency}, {tenant.code_mb:,.0f} MB of Lambda packages"
    )


@dataclass(frozen=True)
class Saving:
    what: str
    usd: float  # per tenant per month, with N tenants sharing where it is a pooled resource (N = 100 here)


POOL = 100  # tenants sharing a pooled resource in the savings below


def floor_savings(prices: Prices, tier: Tier, tenant: Footprint) -> list[Saving]:
    """What lowers a tenant's fixed month, each priced from the cost model's own figures and the tenant's count."""
    floor = monthly_cost(0, tier=tier, prices=prices)
    waf = sum(item.usd for item in floor if item.service == "WAF")  # at 0 requests: the web ACL and its rules
    keys = tenant.by_type["AWS::KMS::Key"] * prices.kms_key_month
    dashboards = tenant.by_type["AWS::CloudWatch::Dashboard"] * prices.cloudwatch_dashboard_month
    engine = sum(item.usd for item in floor if item.service.startswith("OpenSearch"))
    return [
        Saving(f"one search engine for {POOL} tenants (an index per tenant; for collections, one KMS key: "
               "collections sharing a key share their OCUs)", engine * (1 - 1 / POOL)),
        Saving(f"one WAF web ACL per account and region for {POOL} tenants", waf * (1 - 1 / POOL)),
        Saving("one dashboard per tenant instead of one per service as well",
               dashboards - prices.cloudwatch_dashboard_month),
        Saving("two KMS keys per tenant (data, everything else) instead of one per table and purpose",
               keys - 2 * prices.kms_key_month),
        Saving("no per-function cold-start metric (Powertools' ColdStart)",
               len(all_functions()) * prices.cloudwatch_custom_metric_month),
    ]  # fmt: skip


def cost_section(standard: Footprint) -> str:
    prices = Prices()
    lines = ["| tier | fixed floor per tenant per month | of which the search engine | 10 tenants | 100 | 500 |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    for tier in Tier:
        items = monthly_cost(0, tier=tier)
        floor = total(items)
        engine = sum(item.usd for item in items if item.service.startswith("OpenSearch"))
        fleet = " | ".join(f"${floor * size:,.0f}" for size in FLEET_SIZES)
        lines.append(f"| {tier.value} | ${floor:,.2f} | ${engine:,.2f} | {fleet} |")
    lines += ["", "What would lower a standard tenant's floor (per tenant per month, from the same prices):", ""]
    lines += [f"- {saving.what}: ${saving.usd:,.2f}" for saving in floor_savings(prices, Tier.STANDARD, standard)]
    return "\n".join(lines)


CODE_MB_STEP = 50


def render(assembly: Path, tiers: dict[Tier, str]) -> str:
    """The generated block of docs/operations.md: `tiers` names a tenant of each tier in the assembly."""
    # Package sizes to the nearest 50 MB: they differ by several MB between machines (the wheels' builds, summed over
    # every function), and the guide quotes what holds on any of them.
    footprints = {
        tenant: replace(footprint, code_mb=CODE_MB_STEP * round(footprint.code_mb / CODE_MB_STEP))
        for tenant, footprint in assembly_footprints(assembly).items()
    }
    standard, enterprise = footprints[tiers[Tier.STANDARD]], footprints[tiers[Tier.ENTERPRISE]]
    return "\n".join([
        "Per tenant, counted from the synthesized templates:", "",
        footprint_line(Tier.STANDARD, standard), footprint_line(Tier.ENTERPRISE, enterprise), "",
        "Against the default quotas, with a fleet of standard tenants in one account and region:", "",
        quota_table(standard, enterprise), "",
        "What a tenant costs before its first case (infra/cost.py at 0 cases a month), whichever the account:", "",
        cost_section(standard),
    ])  # fmt: skip


GUIDE = Path(__file__).resolve().parent.parent / "docs" / "operations.md"
BEGIN = "<!-- generated by `python -m infra.quotas cdk.out` from the synthesized app and infra/cost.py: do not edit -->"
END = "<!-- end of generated block -->"


def documented_block(guide: str) -> str:
    return guide.split(BEGIN + "\n")[1].split("\n" + END)[0]


def main() -> None:
    """`python -m infra.quotas [cdk.out] [--write]`: print the block, or put it in docs/operations.md."""
    from infra.tenants import load_registry

    arguments = [argument for argument in sys.argv[1:] if argument != "--write"]
    assembly = Path(arguments[0] if arguments else "cdk.out")
    registry = load_registry()
    tiers = {tier: next(t.id for t in registry.tenants.values() if t.tier is tier) for tier in Tier}
    block = render(assembly, tiers)
    if "--write" not in sys.argv:
        print(block)
        return
    guide = GUIDE.read_text()
    GUIDE.write_text(guide.replace(documented_block(guide), block))


if __name__ == "__main__":
    main()
