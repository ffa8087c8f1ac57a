"""Each example template's main path, over real HTTP against the local stack: publish the template (without
its automation rules), open a
case, and at every stage first see the forward move (or the close) refused with exactly the unmet criteria
the unit driver expects, then satisfy them (fields, tasks, documents uploaded to the emulator's S3, decisions,
the external participant) and move on, until the case closes. Its timeline then lists every change, in
order, and its hash chain verifies.

The paths are the data in tests/example_paths.py, which tests/unit/test_example_templates.py runs through
the domain alone."""

import hashlib
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, cast

import httpx
import pytest
from caseline_common.contracts import TemplateDefinition
from example_paths import (
    MAIN_PATHS,
    CasePath,
    CompleteTasks,
    Decide,
    Fields,
    Invite,
    Stage,
    Step,
    Upload,
    document,
    expected_closed_branch,
    expected_unmet,
    stage_definition,
)

from caseline.local.stack import LocalStack

TIMELINE_WAIT_SECONDS = 20
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def client(stack: LocalStack) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {stack.staff_token()}"}  # caseline-admins: every right on every case
    with httpx.Client(base_url=stack.url, headers=headers, timeout=10) as http:
        yield http


def sample_file(content_type: str, filename: str) -> bytes:
    """A few bytes that look like the type they are sent as."""
    if content_type == "image/jpeg":
        return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + filename.encode() + b"\xff\xd9"
    if content_type == "application/pdf":
        return b"%PDF-1.4\n% " + filename.encode() + b"\n%%EOF\n"
    return f"{content_type}: {filename}\n".encode()


@dataclass
class HttpDriver:
    """One case on one published template, worked over HTTP by an admin; records every change it makes."""

    client: httpx.Client
    definition: TemplateDefinition
    case: dict[str, Any] = field(default_factory=dict)
    changes: list[str] = field(default_factory=list)  # the event type of each successful change, in order

    @property
    def case_path(self) -> str:
        return f"/cases/{self.case['id']}"

    def _record(self, response: httpx.Response, event_type: str, status: int = 200) -> dict[str, Any]:
        assert response.status_code == status, f"{event_type}: {response.status_code} {response.text}"
        case = response.json()
        before = self.case.get("version", 0)
        assert case["version"] == before + 1, f"{event_type}: version {before} -> {case['version']}"
        assert response.headers["ETag"] == f'"{case["version"]}"'
        self.case = case
        self.changes.append(event_type)
        return cast(dict[str, Any], case)

    def open(self, path: CasePath) -> None:
        response = self.client.post(
            "/cases", json={"template_key": self.definition.key, "title": path.title, "fields": path.fields}
        )
        case = self._record(response, "case.opened", status=201)
        assert case["stage"] == self.definition.stages[0].key
        assert case["status"] == "open"

    def command(self, suffix: str, body: dict[str, Any] | None, event_type: str) -> dict[str, Any]:
        return self._record(self.client.post(self.case_path + suffix, json=body), event_type)

    def do(self, step: Step) -> None:
        match step:
            case Fields(values):
                response = self.client.patch(self.case_path, json={"fields": values, "version": self.case["version"]})
                case = self._record(response, "case.fields_changed")
                assert all(case["fields"].get(key) is not None for key in values)
            case CompleteTasks():
                for task in self.open_required_tasks():
                    case = self.command(f"/tasks/{task['id']}/complete", None, "task.completed")
                    [done] = [each for each in case["tasks"] if each["id"] == task["id"]]
                    assert done["status"] == "done"
            case Upload(document_type, filename):
                self.upload(document_type, filename)
            case Decide(key, outcome, rationale):
                body = {"key": key, "outcome": outcome}
                if rationale is not None:
                    body["rationale"] = rationale
                case = self.command("/decisions", body, "decision.recorded")
                assert {each["key"]: each["outcome"] for each in case["decisions"]}[key] == outcome
            case Invite(role, name, email):
                body = {"kind": "external", "role": role, "name": name, "email": email}
                case = self.command("/participants", body, "participant.added")
                assert any(each.get("email") == email and each["role"] == role for each in case["participants"])

    def open_required_tasks(self) -> list[dict[str, Any]]:
        case = self.case
        return [
            task
            for task in case["tasks"]
            if task["stage"] == case["stage"] and task["required"] and task["status"] == "open"
        ]

    def upload(self, document_type: str, filename: str) -> None:
        definition = next(each for each in self.definition.document_types if each.key == document_type)
        content_type = definition.content_types[0]
        content = sample_file(content_type, filename)
        form = {"type": document_type, "filename": filename, "content_type": content_type, "size": len(content)}
        started = self.client.post(f"{self.case_path}/documents/uploads", json=form)
        assert started.status_code == 201, started.text
        target = started.json()
        posted = httpx.post(
            target["url"], data=target["fields"], files={"file": (filename, content, content_type)}, timeout=10
        )
        assert posted.status_code in (200, 201, 204), posted.text
        case = self.command(f"/documents/uploads/{target['upload_id']}/confirm", None, "document.added")
        [stored] = [each for each in case["documents"] if each["type"] == document_type]
        latest = stored["versions"][-1]
        assert latest["upload_id"] == target["upload_id"]
        assert (latest["filename"], latest["content_type"], latest["size"]) == (filename, content_type, len(content))
        assert latest["sha256"] == hashlib.sha256(content).hexdigest()

    def expected_unmet(self, stage: Stage) -> set[tuple[str, str]]:
        case = self.case
        return expected_unmet(
            self.definition,
            stage,
            fields=case["fields"],
            documents=[each["type"] for each in case["documents"]],
            decisions=[each["key"] for each in case["decisions"]],
        )

    def refused(self, suffix: str, body: dict[str, Any]) -> set[tuple[str, str]]:
        """The unmet criteria a refused move or close names, as (stage, description) pairs."""
        response = self.client.post(self.case_path + suffix, json=body)
        assert response.status_code == 409, response.text
        assert response.headers["Content-Type"] == PROBLEM
        problem = response.json()
        assert problem["current_version"] == self.case["version"]
        return {(item["stage"], item["description"]) for item in problem["unmet"]}

    def leaving(self, stage: Stage) -> tuple[str, dict[str, Any], str]:
        """The request that takes the case out of `stage`: the move to the next stage, or the close."""
        if stage.to is None:
            return "/close", {"reason": "Every step of the final stage is done."}, "case.closed"
        return "/transitions", {"to": stage.to}, "case.stage_changed"

    def run(self, path: CasePath) -> None:
        self.open(path)
        for stage in path.stages:
            assert self.case["stage"] == stage.key
            suffix, body, event_type = self.leaving(stage)
            expected = self.expected_unmet(stage)
            assert expected, f"stage {stage.key} has nothing to do"
            assert self.refused(suffix, body) == expected, stage.key
            for step in stage.steps:
                self.do(step)
            for other in stage.refused_after:
                assert self.refused("/transitions", {"to": other}) == expected_closed_branch(self.definition, other)
            case = self.command(suffix, body, event_type)
            if stage.to is not None:
                target = stage_definition(self.definition, stage.to)
                assert case["stage"] == stage.to
                assert (case["stage_due_at"] is not None) == (target.sla is not None)
                created = [task["key"] for task in case["tasks"] if task["stage"] == stage.to]
                assert created == [task.key for task in target.tasks]
        assert self.case["status"] == "closed"

    def timeline(self) -> list[dict[str, Any]]:
        """The case's timeline once every change has reached it (it is fed asynchronously, from the bus)."""
        deadline = time.monotonic() + TIMELINE_WAIT_SECONDS
        items: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            response = self.client.get(f"{self.case_path}/timeline", params={"limit": 200})
            if response.status_code == 200:
                items = response.json()["items"]
                if len(items) >= len(self.changes):
                    return items
            else:
                assert response.status_code == 404, response.text
            time.sleep(0.1)
        pytest.fail(f"the timeline of {self.case['id']} holds {len(items)} of {len(self.changes)} events")


def publish_copy(client: httpx.Client, name: str) -> TemplateDefinition:
    """Publishes the example under a key of its own, so other tests on the shared stack cannot interfere, and
    without its automation rules: this path is what people do, step by step and version by version, while
    what the rules add to it is tested on its own (tests/integration/test_automations.py and
    tests/e2e/test_automations_insurance.py)."""
    template = {**document(name), "key": f"{name}-{uuid.uuid4().hex[:8]}", "rules": []}
    response = client.post("/templates", json=template)
    assert response.status_code == 201, response.text
    published = response.json()
    assert published["version"] == 1
    return TemplateDefinition.model_validate(published["definition"])


@pytest.mark.parametrize("path", MAIN_PATHS.values(), ids=lambda path: path.template)
def test_a_case_runs_from_opening_to_closure_over_http(client: httpx.Client, path: CasePath) -> None:
    driver = HttpDriver(client, publish_copy(client, path.template))

    driver.run(path)

    case_id = driver.case["id"]
    fetched = client.get(f"/cases/{case_id}")
    assert fetched.status_code == 200
    case = fetched.json()
    assert case["status"] == "closed"
    assert case["version"] == 1 + (len(driver.changes) - 1)  # the opening, then one version per change
    assert all(task["status"] == "done" for task in case["tasks"] if task["required"])

    timeline = driver.timeline()
    events = [entry["event"] for entry in timeline]
    assert [entry["seq"] for entry in timeline] == list(range(1, len(driver.changes) + 1))
    assert [event["type"] for event in events] == driver.changes
    assert [event["data"]["version"] for event in events[1:]] == list(range(2, case["version"] + 1))
    assert all(event["case_id"] == case_id for event in events)
    assert len({event["event_id"] for event in events}) == len(events)
    moves = [event["data"]["to"] for event in events if event["type"] == "case.stage_changed"]
    assert moves == [stage.to for stage in path.stages if stage.to]

    verified = client.get(f"/cases/{case_id}/timeline/verify")
    assert verified.status_code == 200, verified.text
    verification = verified.json()
    assert verification["valid"] is True, verification
    assert verification["length"] == len(driver.changes)
