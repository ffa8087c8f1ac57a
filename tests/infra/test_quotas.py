"""The fleet's quota arithmetic (infra/quotas.py): a tenant's footprint counted from its templates, the tenants a
quota holds, and the block of docs/operations.md it generates, kept in step with the app and the cost model."""

from collections import Counter

from caseline.fleet import stack_names
from infra.quotas import (
    GUIDE,
    QUOTAS,
    Footprint,
    Quota,
    assembly_footprints,
    documented_block,
    footprint,
    render,
    tenants_that_fit,
)
from infra.tenants import TenantRegistry, Tier
from tests.infra.conftest import Synthesized


def test_a_footprint_counts_resources_by_type_reserved_concurrency_and_each_functions_package() -> None:
    shared = {"Resources": {
        "Role": {"Type": "AWS::IAM::Role"},
        "Key": {"Type": "AWS::KMS::Key", "Properties": {}},
    }}  # fmt: skip
    service = {"Resources": {
        "One": {"Type": "AWS::Lambda::Function",
                "Properties": {"ReservedConcurrentExecutions": 5, "Code": {"S3Key": "a.zip"}}},
        "Two": {"Type": "AWS::Lambda::Function",
                "Properties": {"ReservedConcurrentExecutions": 2, "Code": {"S3Key": "a.zip"}}},
        "Layer": {"Type": "AWS::Lambda::LayerVersion", "Properties": {"Content": {"S3Key": "b.zip"}}},
    }}  # fmt: skip
    counted = footprint([shared, service], {"a.zip": 2 * 1024 * 1024, "b.zip": 1024 * 1024})
    assert (counted.stacks, counted.resources, counted.reserved_concurrency) == (2, 5, 7)
    assert counted.by_type["AWS::Lambda::Function"] == 2
    assert counted.code_mb == 5.0  # the package twice (a copy per function) and the layer
    assert counted.measure("AWS::IAM::Role") == 1
    assert counted.measure("AWS::WAFv2::WebACL") == 0


def test_a_quota_holds_as_many_tenants_as_fit_whole() -> None:
    roles = Quota("IAM roles", "AWS::IAM::Role", 1_000, "account")
    assert tenants_that_fit(roles, 22) == 45
    assert tenants_that_fit(roles, 0) is None


def test_every_quota_counts_something_the_app_creates(assembly: Synthesized, registry: TenantRegistry) -> None:
    footprints = assembly_footprints(assembly.outdir)
    for tenant in registry.tenants.values():
        counted: Footprint = footprints[tenant.id]
        assert counted.stacks == len(stack_names(tenant.id))
        assert counted.resources == sum(len(assembly.template(tenant.id, part.rsplit("-", 1)[-1])["Resources"])
                                        for part in stack_names(tenant.id))  # fmt: skip
        used = Counter(quota.counts for quota in QUOTAS if counted.measure(quota.counts) > 0)
        # every quota but the other tier's search engine is used by each tenant
        assert len(used) >= len(QUOTAS) - 1, [quota.what for quota in QUOTAS if quota.counts not in used]


def test_the_operations_guide_holds_what_the_app_and_the_cost_model_give(
    assembly: Synthesized, registry: TenantRegistry
) -> None:
    documented = documented_block(GUIDE.read_text())
    tiers = {tier: next(each.id for each in registry.tenants.values() if each.tier is tier) for tier in Tier}
    assert documented == render(assembly.outdir, tiers), (
        "regenerate the block: python -m infra.app && python -m infra.quotas cdk.out --write"
    )
