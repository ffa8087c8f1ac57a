"""Two tenants synthesized side by side: each tenant's stacks name nothing of the other's, and every IAM
statement is scoped to the tenant's own resources."""

import itertools
import json
from typing import Any

from caseline_common.lake import lake_database

from infra.tenants import Tenant, TenantRegistry
from tests.infra.conftest import Synthesized, resources

# The only actions allowed on Resource "*": AWS offers no resource-level permission for them.
UNSCOPED_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords", "dynamodb:ListStreams"}
SES_SEND_ACTIONS = {"ses:SendEmail", "ses:SendRawEmail"}
GLUE_READ_ACTIONS = {"glue:GetDatabase", "glue:GetTable", "glue:GetPartition", "glue:GetPartitions"}


def _markers(tenant: Tenant) -> list[str]:
    """Strings that can only come from this tenant: its resource prefix, stage, log groups, domain, people."""
    found = [
        f"caseline-{tenant.id}-",
        f"caseline-{tenant.id}:",
        f"tenant-{tenant.id}/",
        f"/caseline/{tenant.id}/",
        f"caseline:tenant={tenant.id}",
        tenant.domain,
        tenant.admin_email,
    ]
    found += [value for value in (tenant.account, tenant.auth_domain_prefix, tenant.alarm_email) if value]
    return found + ([tenant.certificate_arn] if tenant.certificate_arn else [])


def _texts(assembly: Synthesized, tenant_id: str) -> dict[str, str]:
    return {
        stack.stack_name: json.dumps(assembly.template(tenant_id, stack.stack_name.split("-", 2)[2]))
        for stack in assembly.stacks(tenant_id)
    }


def test_the_registry_has_two_tenants_to_compare(registry: TenantRegistry) -> None:
    assert len(registry.tenants) >= 2


def test_no_tenant_names_anything_of_another(assembly: Synthesized, registry: TenantRegistry) -> None:
    texts = {tenant_id: _texts(assembly, tenant_id) for tenant_id in registry.tenants}
    for own, other in itertools.permutations(registry.tenants.values(), 2):
        assert any(f"caseline-{own.id}-" in text for text in texts[own.id].values())
        for stack_name, text in texts[own.id].items():
            leaked = [marker for marker in _markers(other) if marker in text]
            assert not leaked, f"{stack_name} names {other.id}'s {leaked}"


def test_cross_stack_references_stay_within_the_tenant(assembly: Synthesized, registry: TenantRegistry) -> None:
    for tenant_id in registry.tenants:
        for stack_name, text in _texts(assembly, tenant_id).items():
            imports = _find(json.loads(text), "Fn::ImportValue")
            assert all(str(name).startswith(f"caseline-{tenant_id}-shared:") for name in imports), stack_name


def test_every_iam_statement_is_scoped_to_the_tenants_own_resources(
    assembly: Synthesized, registry: TenantRegistry
) -> None:
    for tenant_id in registry.tenants:
        for stack in assembly.stacks(tenant_id):
            template = assembly.template(tenant_id, stack.stack_name.split("-", 2)[2])
            for kind in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
                for name, body in resources(template, kind).items():
                    for statement in body["Properties"]["PolicyDocument"]["Statement"]:
                        _check_statement(registry.get(tenant_id), template, f"{stack.stack_name}/{name}", statement)


def _check_statement(tenant: Tenant, template: dict[str, Any], where: str, statement: dict[str, Any]) -> None:
    tenant_id = tenant.id
    assert statement["Effect"] == "Allow", where
    actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
    targets = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
    for target in targets:
        if target == "*":
            assert set(actions) <= UNSCOPED_ACTIONS, f"{where}: {actions} on *"
            continue
        text = json.dumps(target)
        own_name = f"caseline-{tenant_id}-" in text or f"/caseline/{tenant_id}/" in text
        own_import = f'"caseline-{tenant_id}-shared:' in text
        refs = _find(target, "Ref") + [attribute[0] for attribute in _find(target, "Fn::GetAtt")]
        own_resource = any(ref in template["Resources"] for ref in refs)
        # A value read from the tenant's own SSM parameter at deploy time (a table's stream ARN, infra/arns.py).
        parameters = template.get("Parameters", {})
        own_parameter = any(f"/caseline/{tenant_id}/" in parameters.get(ref, {}).get("Default", "") for ref in refs)
        # The SES identity is named by the tenant's domain, which the registry keeps unique per tenant.
        own_identity = f':identity/{tenant.domain}"' in text and set(actions) <= SES_SEND_ACTIONS
        if own_identity:
            assert statement["Condition"] == {"StringEquals": {"ses:FromAddress": tenant.mail_from}}, where
        # CDK's bootstrap bucket (per account and region, assets named by content hash): only read, by the
        # function that deploys the console's files.
        account = tenant.account or '{"Ref": "AWS::AccountId"}'
        assets = ":s3:::cdk-hnb659fds-assets-" in text and account in text and actions == ["s3:GetObject"]
        # The lake's catalog entries (a Glue name has no hyphens), and the account's catalog, which Glue names in
        # every read of a table: only to read, beside the tenant's own database.
        database = f":database/{lake_database(tenant_id)}"
        own_catalog_entry = f'{database}"' in text or f":table/{lake_database(tenant_id)}/" in text
        catalog = text.endswith(':catalog"]]}') and any(database in json.dumps(other) for other in targets)
        lake = (own_catalog_entry or catalog) and set(actions) <= GLUE_READ_ACTIONS
        assert own_name or own_import or own_resource or own_parameter or own_identity or assets or lake, (
            f"{where}: {actions} on {text}"
        )


def _find(node: Any, function: str) -> list[Any]:
    if isinstance(node, dict):
        return [value for key, value in node.items() if key == function] + [
            found for value in node.values() for found in _find(value, function)
        ]
    if isinstance(node, list):
        return [found for value in node for found in _find(value, function)]
    return []
