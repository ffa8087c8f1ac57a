"""cfn-lint over every synthesized template, each tenant against its own region: no errors.

The one warning allowed is W3005 ("dependency already enforced by a GetAtt"): CDK itself adds `DependsOn` on a
function's role (and the function here also waits for its managed policy, which Lambda checks at creation, e.g.
for the dead-letter queue); the redundant half is CDK's output, harmless to CloudFormation.
"""

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from caseline_common.resources import SERVICES

from infra.tenants import TenantRegistry
from tests.infra.conftest import Synthesized

ALLOWED_WARNINGS = {"W3005"}
CFN_LINT = Path(sys.executable).parent / "cfn-lint"


def _lint(region: str, templates: list[str]) -> list[dict[str, Any]]:
    completed = subprocess.run(
        [str(CFN_LINT), "--format", "json", "--regions", region, "--", *templates],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode in (0, 2, 4, 6, 8, 10, 12, 14), completed.stderr  # bit flags; not a crash (1)
    findings: list[dict[str, Any]] = json.loads(completed.stdout or "[]")
    return findings


def test_cfn_lint_finds_no_errors_and_only_the_explained_warning(
    assembly: Synthesized, registry: TenantRegistry
) -> None:
    jobs = [
        (tenant.region, [stack.template_full_path for stack in assembly.stacks(tenant.id)])
        for tenant in registry.tenants.values()
    ]
    with ThreadPoolExecutor(max_workers=2) as pool:
        findings = [finding for found in pool.map(lambda job: _lint(*job), jobs) for finding in found]
    problems = [
        f"{finding['Rule']['Id']} {Path(finding['Filename']).name}: {finding['Message']}"
        for finding in findings
        if finding["Level"] == "Error" or finding["Rule"]["Id"] not in ALLOWED_WARNINGS
    ]
    assert not problems, "\n".join(problems)
    stacks_per_tenant = 3 + len(SERVICES)  # shared, API, console and one per service
    assert sum(len(templates) for _region, templates in jobs) == stacks_per_tenant * len(registry.tenants)
