"""The CDK app: one stage per tenant of the registry, synthesized from the resource specs and the Lambda packages.

`python -m infra.app` synthesizes every tenant into cdk.out/ from packages already built (build/lambda/);
`caseline tenant synth NAME` packages what changed first, then synthesizes that one tenant.
"""

from collections.abc import Iterable
from pathlib import Path

import aws_cdk as cdk

from caseline.paths import ROOT
from infra import nag
from infra.package import DEFAULT_OUT_DIR, LambdaPackage, load_packages
from infra.tenant_stage import TenantStage
from infra.tenants import Tenant, load_registry

# CDK feature flags this app relies on (a new project's cdk.json would set them; this app has no cdk.json).
FEATURE_FLAGS = {
    # Grant S3 log delivery by bucket policy, not by the legacy LogDeliveryWrite ACL (needs ACLs enabled).
    "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": True,
}


def stage_id(tenant_id: str) -> str:
    return f"tenant-{tenant_id}"


def build_app(
    tenants: Iterable[Tenant] | None = None,
    *,
    packages: dict[str, LambdaPackage] | None = None,
    outdir: str | Path | None = None,
    checks: bool = True,
    acknowledge: bool = True,
) -> cdk.App:
    """The app for the given tenants (default: the whole registry). With `checks`, cdk-nag's AWS Solutions and
    HIPAA Security packs run at synth and fail it on any unacknowledged finding. `acknowledge=False` leaves every
    acknowledgement out (tests: each must answer a finding)."""
    context: dict[str, object] = {**FEATURE_FLAGS, nag.ACKNOWLEDGE_CONTEXT: acknowledge}
    app = cdk.App(outdir=str(outdir) if outdir else None, analytics_reporting=False, context=context)
    packages = packages if packages is not None else load_packages(DEFAULT_OUT_DIR)
    for tenant in tenants if tenants is not None else load_registry().tenants.values():
        TenantStage(app, stage_id(tenant.id), tenant=tenant, packages=packages)
    if checks:
        nag.add_checks(app)
    return app


if __name__ == "__main__":
    build_app(outdir=ROOT / "cdk.out").synth()
