"""The event lake on the local stack: a case's events reach the tenant's lake through the bus, the writer's queue
and its pump within seconds, with no step but the stack's own; and the lake never holds the personal data of the
case (a person's name and e-mail in personal fields, a title naming them, a comment about them, their participant's
name and e-mail), before or after the person is erased."""

import json
import time
import uuid
from pathlib import Path
from typing import Any

import duckdb
from caseline_common.resources import LAKE_BUCKET

from caseline.local.provision import LOCAL_ACCOUNT_ID
from caseline.local.stack import LocalStack

from .support import timeline, wait_until


def lake_rows(stack: LocalStack, directory: Path) -> list[dict[str, Any]]:
    """Every row of every object in the tenant's lake."""
    parquet = stack.functions["lake_writer"].module("chalicelib.adapters.parquet_lake")
    lake = parquet.ParquetLake(stack.aws.s3(), stack.tenant.names.bucket(LAKE_BUCKET, LOCAL_ACCOUNT_ID))
    lake.download_new(directory)
    files = sorted(str(path) for path in directory.glob("events/dt=*/*.parquet"))
    if not files:
        return []
    with duckdb.connect() as connection:
        relation = connection.read_parquet(files, hive_partitioning=True)
        return [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]


def test_a_cases_events_reach_the_lake_in_seconds_and_it_never_holds_their_personal_data(
    stack: LocalStack, tmp_path: Path
) -> None:
    word = uuid.uuid4().hex[:10]
    name, email, phone = f"Lukas Vogel{word}", f"lukas.{word}@example.org", "+491705550199"
    key = f"lake-{word[:8]}"
    template = {
        "key": key,
        "name": "Lake erasure",
        "fields": [
            {"key": "client", "label": "Client", "type": "party"},
            {"key": "client_email", "label": "Client e-mail", "type": "email"},
            {"key": "client_phone", "label": "Client phone", "type": "phone"},
        ],
        "stages": [{"key": "open", "name": "Open"}, {"key": "done", "name": "Done"}],
        "roles": [
            {
                "key": "team",
                "name": "Team",
                "permissions": ["case.view", "participant.manage", "comment.internal", "comment.external"],
                "fields": {"*": "edit"},
                "groups": ["caseline-staff"],
            },
            {"key": "client", "name": "Client", "kind": "external", "permissions": ["case.view"]},
        ],
    }
    assert stack.request("POST", "/templates", template)[0] == 201
    title = f"Water damage at {name}'s flat"
    fields = {"client": {"kind": "person", "name": name, "email": email}, "client_email": email, "client_phone": phone}
    started = time.monotonic()
    status, case = stack.request("POST", "/cases", {"template_key": key, "title": title, "fields": fields})
    assert status == 201, case.get("errors", case)
    comment = f"{name} called: the plumber comes on Monday"
    assert stack.request("POST", f"/cases/{case['id']}/comments", {"body": comment, "external": True})[0] == 201
    person = {"kind": "external", "role": "client", "name": name, "email": email}
    status, changed = stack.request("POST", f"/cases/{case['id']}/participants", person)
    assert status == 200, changed
    [participant] = [each for each in changed["participants"] if each.get("email") == email]

    def case_types() -> set[str] | None:
        types = {row["type"] for row in lake_rows(stack, tmp_path) if row["case_id"] == case["id"]}
        return types if {"case.opened", "comment.added", "participant.added"} <= types else None

    wait_until(case_types, what="the case's events in the lake", timeout=10)
    delivered_in = time.monotonic() - started
    print(f"a case's first events were in the lake {delivered_in:.2f} s after it was opened")

    # Erasure reaches what the timeline holds of the person: wait for it to hold it.
    wait_until(
        lambda: any(entry["event"]["type"] == "participant.added" for entry in timeline(stack, case["id"])),
        what="the participant in the case's timeline",
    )
    status, report = stack.request("POST", f"/participants/{participant['id']}/erase")
    assert status == 200, report
    assert report["cases"] == [case["id"]]
    wait_until(lambda: "personal_data.erased" in (case_types() or set()), what="the erasure in the lake")

    rows = [row for row in lake_rows(stack, tmp_path) if row["case_id"] == case["id"]]
    everything = json.dumps(lake_rows(stack, tmp_path), default=str)
    for secret in (name, email, phone, title, comment, word):
        assert secret not in everything
    [opened] = [row for row in rows if row["type"] == "case.opened"]
    assert (opened["template_key"], opened["stage"], opened["status"]) == (key, "open", "open")
    [erased] = [row for row in rows if row["type"] == "personal_data.erased"]
    assert erased["participant_id"] == participant["id"]
