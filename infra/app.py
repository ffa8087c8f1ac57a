"""`python -m infra.app`: synthesize every tenant's stage. Tenants come with the tenant registry."""

import aws_cdk as cdk

from infra.tenant_stage import TenantStage

TENANTS = ("demo",)


def build_app(outdir: str | None = None) -> cdk.App:
    app = cdk.App(outdir=outdir)
    for tenant_id in TENANTS:
        TenantStage(app, f"tenant-{tenant_id}", tenant_id=tenant_id)
    return app


if __name__ == "__main__":
    build_app().synth()
