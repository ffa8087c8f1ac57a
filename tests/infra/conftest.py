"""Session fixtures for the infra tests: the real Lambda packages and one synthesized cloud assembly.

`packages` is the real thing (`chalice package` for arm64, as `caseline tenant synth` builds it). Its pip step
runs only when a service's requirements change (Chalice's dependency cache is in .cache/lambda-build/); on a
fresh clone the first run fetches the aarch64 wheels from the package index, like `make build` does.
`assembly` synthesizes every tenant of tenants.toml once, with cdk-nag's AWS Solutions and HIPAA Security packs:
if it synthesizes at all, there is no unacknowledged finding.
"""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import cx_api

from infra.app import build_app, stage_id
from infra.package import LambdaPackage, package_all
from infra.tenant_stage import TenantStage
from infra.tenants import TenantRegistry, load_registry


@dataclass(frozen=True)
class Synthesized:
    app: cdk.App
    assembly: cx_api.CloudAssembly
    outdir: Path

    def stage(self, tenant_id: str) -> TenantStage:
        stage = self.app.node.find_child(stage_id(tenant_id))
        assert isinstance(stage, TenantStage)
        return stage

    def stacks(self, tenant_id: str) -> list[cx_api.CloudFormationStackArtifact]:
        prefix = f"caseline-{tenant_id}-"
        return [stack for stack in self.assembly.stacks_recursively if stack.stack_name.startswith(prefix)]

    def template(self, tenant_id: str, part: str) -> dict[str, Any]:
        (stack,) = [stack for stack in self.stacks(tenant_id) if stack.stack_name == f"caseline-{tenant_id}-{part}"]
        template: dict[str, Any] = json.loads(Path(stack.template_full_path).read_text())
        return template

    def metadata(self, tenant_id: str, metadata_type: str) -> list[tuple[str, Any]]:
        """(construct path, data) of every metadata entry of that type in the tenant's stacks."""
        found = []
        for stack in self.stacks(tenant_id):
            metadata = json.loads((Path(stack.assembly.directory) / f"{stack.id}.metadata.json").read_text())
            found += [
                (path, entry["data"]) for path, entries in metadata.items() for entry in entries
                if entry["type"] == metadata_type
            ]  # fmt: skip
        return found


@pytest.fixture(scope="session")
def registry() -> TenantRegistry:
    return load_registry()


@pytest.fixture(scope="session")
def packages_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("lambda")


@pytest.fixture(scope="session")
def packages(packages_dir: Path) -> dict[str, LambdaPackage]:
    return package_all(packages_dir)


@pytest.fixture(scope="session")
def assembly(
    registry: TenantRegistry, packages: dict[str, LambdaPackage], tmp_path_factory: pytest.TempPathFactory
) -> Synthesized:
    outdir = tmp_path_factory.mktemp("cdk.out")
    app = build_app(registry.tenants.values(), packages=packages, outdir=outdir)
    return Synthesized(app=app, assembly=app.synth(), outdir=outdir)


def resources(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {name: body for name, body in template["Resources"].items() if body["Type"] == resource_type}
