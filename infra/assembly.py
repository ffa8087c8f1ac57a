"""Reading a synthesized cloud assembly without the CDK (which takes seconds to import): by tenant, its stacks'
templates, in the layout infra/app.py synthesizes (a nested assembly per tenant's stage)."""

import json
from pathlib import Path


def assembly_templates(assembly: Path) -> dict[str, dict[str, Path]]:
    """By tenant, its stacks' names and template files."""
    manifest = json.loads((assembly / "manifest.json").read_text())
    found: dict[str, dict[str, Path]] = {}
    for artifact in manifest["artifacts"].values():
        if artifact["type"] != "cdk:cloud-assembly":
            continue
        directory = assembly / artifact["properties"]["directoryName"]
        tenant = artifact["properties"]["displayName"].removeprefix("tenant-")
        nested = json.loads((directory / "manifest.json").read_text())
        found[tenant] = {
            stack["properties"]["stackName"]: directory / stack["properties"]["templateFile"]
            for stack in nested["artifacts"].values()
            if stack["type"] == "aws:cloudformation:stack"
        }
    return found
