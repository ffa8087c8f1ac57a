"""What the read plane is rebuilt from: the cases table read back as templates, cases and comments, with Queries
only."""

import uuid

from caseline_common.resources import CASES_TABLE, TenantResourceNames

from caseline.case_source import CaseSource
from caseline.local.stack import LocalStack

from .support import recording


def test_every_template_version_case_and_comment_is_read_back_without_a_scan(stack: LocalStack) -> None:
    key = f"source-{uuid.uuid4().hex[:8]}"
    template = {
        "key": key,
        "name": "Source",
        "fields": [{"key": "note", "label": "Note", "type": "text"}],
        "stages": [{"key": "open", "name": "Open"}],
        "roles": [
            {
                "key": "team",
                "name": "Team",
                "permissions": ["case.view", "comment.internal"],
                "groups": ["caseline-staff"],
            }
        ],
    }
    assert stack.request("POST", "/templates", template)[0] == 201
    assert (
        stack.request("POST", f"/templates/{key}/versions", {"definition": {**template, "name": "Source v2"}})[0] == 201
    )
    opened = [stack.request("POST", "/cases", {"template_key": key, "title": f"Case {n}"})[1]["id"] for n in range(3)]
    assert stack.request("POST", f"/cases/{opened[0]}/comments", {"body": "First word"})[0] == 201

    client = stack.aws.dynamodb()
    source = CaseSource(client, TenantResourceNames(tenant_id=stack.options.tenant_id).table(CASES_TABLE))
    with recording(client) as calls:
        versions = [(found, version) for found, version, _definition in source.templates() if found == key]
        cases = {case.id: case for page in source.cases(page_size=2) for case in page}
        comments = source.comments(opened[0])
        counted = source.count()
    assert versions == [(key, 1), (key, 2)]
    assert set(opened) <= set(cases)
    assert counted >= len(cases)
    assert [comment.body for comment in comments] == ["First word"]
    assert "Scan" not in calls.operations
