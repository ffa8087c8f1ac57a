"""The event catalogue (caseline_common/events.py) is the one list of event types: every type has a `data`
model, the template format and the docs list exactly its types."""

import hashlib
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from caseline_common.consumer import StatefulEvent, sqs_consumer
from caseline_common.contracts import Permission, TemplateDefinition
from caseline_common.envelope import Actor, ActorKind, EventEnvelope
from caseline_common.events import (
    CASE_EVENTS,
    DATA_MODELS,
    FIRES_WHEN,
    PERSONAL_PARTS,
    PORTAL_EVENTS,
    RULE_TRIGGERS,
    TENANT_EVENTS,
    TIMELINE_EVENTS,
    WEBHOOK_EVENTS,
    CaseChange,
    CaseClosed,
    CaseStageChanged,
    EventType,
    SlaBreached,
    StatusChanged,
    TemplatePublished,
    catalogue_markdown,
    data_of,
)
from caseline_common.openapi import build_openapi, merge_openapi, model_example
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from pydantic import ValidationError
from service_modules import loaded_module

from caseline.local.loader import LoadedService, load_service

if TYPE_CHECKING:
    from services.automations.chalicelib.domain import webhooks as hooks
else:
    hooks = loaded_module("automations", "chalicelib.domain.webhooks")

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_every_event_type_has_a_data_model() -> None:
    assert set(DATA_MODELS) == set(EventType)
    assert len(set(DATA_MODELS.values())) == len(EventType)  # one model per type


def test_the_template_format_names_the_catalogues_case_events(cases: LoadedService) -> None:
    templates = cases.module("chalicelib.domain.templates")
    assert templates.EVENT_TYPES == CASE_EVENTS
    assert templates.RULE_TRIGGERS == RULE_TRIGGERS
    assert {EventType.PORTAL_LINK_ISSUED, EventType.PORTAL_LINK_REVOKED} == CASE_EVENTS - RULE_TRIGGERS


def test_the_catalog_says_when_each_type_fires_and_what_each_keeps_apart() -> None:
    assert set(FIRES_WHEN) == set(EventType)
    assert all(FIRES_WHEN.values())
    assert set(PERSONAL_PARTS) <= set(EventType)
    assert {EventType.CASE_OPENED, EventType.PARTICIPANT_ADDED, EventType.DOCUMENT_ADDED} <= set(PERSONAL_PARTS)


def test_the_api_docs_table_is_the_catalogue() -> None:
    text = (DOCS / "api.md").read_text()
    table = text.split("<!-- events:begin -->\n")[1].split("<!-- events:end -->")[0]
    assert table == catalogue_markdown(), "regenerate the table from caseline_common.events.catalogue_markdown()"


def test_the_template_docs_list_the_rule_triggers() -> None:
    text = (DOCS / "templates.md").read_text()
    listed = text.split("The event types: ")[1].split(". (")[0]
    assert set(re.findall(r"`([a-z_]+\.[a-z_]+)`", listed)) == set(RULE_TRIGGERS)


def test_data_dumps_as_sent_absent_members_left_out_and_nulls_kept() -> None:
    moved = {
        "version": 3,
        "from": "intake",
        "to": "review",
        "direction": "forward",
        "reason": None,
        "overridden": [],
        "tasks_created": [
            {"task_id": "t", "key": None, "title": "Check", "required": True, "due_at": "2026-01-02T10:00:00+00:00"}
        ],
    }
    assert CaseStageChanged.model_validate(moved).dump() == moved
    assert list(CaseStageChanged.model_validate(moved).dump()) == list(moved)
    breached = {
        "timer_id": "x",
        "due_at": "2026-01-02T10:00:00+00:00",
        "scope": "task",
        "task_id": "t",
        "title": "T",
        "task_due_at": "2026-01-02T10:00:00+00:00",
    }
    assert SlaBreached.model_validate(breached).dump() == breached


def _sqs_event(data: dict[str, object]) -> dict[str, object]:
    envelope = EventEnvelope.new(
        tenant_id="acme",
        case_id="01JCASE0000000000000000000",
        type=EventType.CASE_STAGE_CHANGED,
        actor=Actor(kind=ActorKind.USER, id="user-1"),
        correlation_id="corr-1",
        data=data,
    )
    bus_event = {
        "version": "0",
        "id": "e1",
        "source": "caseline.cases",
        "account": "000000000000",
        "time": "2026-01-02T10:00:00Z",
        "region": "eu-west-1",
        "resources": [],
        "detail-type": envelope.type,
        "detail": envelope.model_dump(mode="json"),
    }
    body = json.dumps(bus_event)
    record = {
        "messageId": "m1",
        "receiptHandle": "r1",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1767348000000",
            "SenderId": "AIDA",
            "ApproximateFirstReceiveTimestamp": "1767348000000",
        },
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(body.encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:eu-west-1:000000000000:timeline-events",
        "awsRegion": "eu-west-1",
    }
    return {"Records": [record]}


def test_a_consumer_refuses_data_that_does_not_fit_its_model() -> None:
    handled: list[EventEnvelope] = []
    reads = {EventType.CASE_STAGE_CHANGED}
    consume = sqs_consumer(
        handled.append, logger=Logger(service="test"), metrics=Metrics(namespace="test"), reads=reads
    )
    fits = {
        "version": 2,
        "from": "a",
        "to": "b",
        "direction": "forward",
        "reason": None,
        "overridden": [],
        "tasks_created": [],
    }
    assert consume(_sqs_event(fits), None) == {"batchItemFailures": []}
    assert [event.data for event in handled] == [fits]
    with pytest.raises(BatchProcessingError, match="direction"):  # every record failed: SQS retries, then DLQ
        consume(_sqs_event({**fits, "direction": "sideways"}), None)
    assert len(handled) == 1
    keeper = sqs_consumer(handled.append, logger=Logger(service="test"), metrics=Metrics(namespace="test"))
    keeper(_sqs_event({"note": "kept as sent"}), None)  # a consumer that does not read the data keeps it
    assert handled[-1].data == {"note": "kept as sent"}


def test_a_handler_reads_data_through_its_types_model() -> None:
    def of(event_type: str, data: dict[str, object]) -> EventEnvelope:
        actor = Actor(kind=ActorKind.USER, id="user-1")
        return EventEnvelope.new(tenant_id="acme", type=event_type, actor=actor, correlation_id="c", data=data)

    moved = {"version": 2, "from": "a", "to": "b", "direction": "back", "reason": None}
    stage = data_of(of("case.stage_changed", moved | {"overridden": [], "tasks_created": []}), CaseStageChanged)
    assert (stage.from_, stage.to, stage.version) == ("a", "b", 2)
    closed = data_of(
        of("case.closed", {"version": 4, "before": "open", "after": "closed", "reason": "Paid"}), StatusChanged
    )
    assert type(closed) is CaseClosed, "a handler of several types names the model they share"
    with pytest.raises(ValidationError, match="tasks_created"):  # what does not fit fails as at the boundary
        data_of(of("case.stage_changed", moved), CaseStageChanged)
    with pytest.raises(TypeError):  # a handler that names another type's model
        data_of(of("case.closed", {}), TemplatePublished)
    with pytest.raises(TypeError):  # a type outside the catalogue
        data_of(of("case.note_added", {}), CaseStageChanged)


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    documents = [
        build_openapi(title=name, version="1", operations=load_service(name).module("chalicelib.api").http.operations)
        for name in ("cases", "timeline", "automations", "portal")
    ]
    return merge_openapi(title="Caseline", version="1", documents=documents)


def test_the_api_document_describes_each_webhook_with_its_events_data(document: dict[str, Any]) -> None:
    validate(document)  # OpenAPI 3.1, webhooks included
    schemas = document["components"]["schemas"]

    assert set(document["webhooks"]) == set(WEBHOOK_EVENTS) == set(EventType) - TENANT_EVENTS - TIMELINE_EVENTS
    for event_type in WEBHOOK_EVENTS:
        post = document["webhooks"][event_type]["post"]
        headers = {parameter["name"] for parameter in post["parameters"] if parameter["required"]}
        assert headers == {"webhook-id", "webhook-timestamp", "webhook-signature"}
        body = schemas[post["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]]
        assert body["required"] == ["type", "timestamp", "data"]
        assert body["properties"]["type"]["const"] == event_type
        event = schemas[body["properties"]["data"]["$ref"].rsplit("/", 1)[1]]
        assert event["properties"]["type"]["const"] == event_type
        data = event["properties"]["data"]["$ref"].rsplit("/", 1)[1]
        assert data == DATA_MODELS[event_type].__name__
        assert set(schemas[data]["properties"]) == {
            field.alias or name for name, field in DATA_MODELS[event_type].model_fields.items()
        }


@pytest.mark.parametrize("event_type", list(EventType))
def test_each_events_data_has_one_example_as_its_producer_sends_it(event_type: EventType) -> None:
    model = DATA_MODELS[event_type]
    extra: Any = model.model_config.get("json_schema_extra")
    assert len(extra["examples"]) == 1
    example = extra["examples"][0]
    sent = example
    if event_type is EventType.TEMPLATE_PUBLISHED:  # the definition as written; it travels with its defaults
        sent = sent | {"definition": TemplateDefinition.model_validate(sent["definition"]).model_dump(mode="json")}
    assert model.model_validate(example).dump() == sent


@pytest.mark.parametrize("event_type", sorted(WEBHOOK_EVENTS))
def test_each_webhook_shows_the_delivery_the_automations_service_sends(
    event_type: EventType, document: dict[str, Any]
) -> None:
    content = document["webhooks"][event_type]["post"]["requestBody"]["content"]["application/json"]
    example = content["example"]
    event = StatefulEvent.model_validate(example["data"])

    assert json.loads(hooks.webhook_payload(event)) == example  # exactly the body a subscription receives
    Draft202012Validator({**content["schema"], "components": document["components"]}).validate(example)
    assert event.type == event_type
    assert event.data == model_example(DATA_MODELS[event_type])
    if event_type in PORTAL_EVENTS:  # the portal's events carry no case
        assert event.case is None
    else:  # the case as the event left it
        assert event.case is not None
        assert event.case.id == event.case_id
        assert event.case.updated_at <= event.occurred_at
        if issubclass(DATA_MODELS[event_type], CaseChange):
            assert (event.case.version, event.case.updated_at) == (event.data["version"], event.occurred_at)


def test_the_builder_offers_the_catalogues_case_events_and_rule_triggers() -> None:
    text = (Path(__file__).resolve().parents[2] / "console" / "js" / "views" / "builder" / "common.js").read_text()
    triggers = re.search(r"export const RULE_TRIGGERS = \[(.*?)\];", text, re.DOTALL)
    portal_only = re.search(r"export const CASE_EVENTS = \[\.\.\.RULE_TRIGGERS, (.*?)\];", text, re.DOTALL)
    assert triggers is not None
    assert portal_only is not None
    offered_triggers = set(re.findall(r'"([a-z_.]+)"', triggers.group(1)))
    assert offered_triggers == {event_type.value for event_type in RULE_TRIGGERS}
    offered = offered_triggers | set(re.findall(r'"([a-z_.]+)"', portal_only.group(1)))
    assert offered == {event_type.value for event_type in CASE_EVENTS}


def test_every_event_type_the_console_names_is_in_the_catalogue() -> None:
    families = "|".join(sorted({event_type.value.split(".")[0] for event_type in EventType}))
    named: dict[str, set[str]] = {}
    for script in (Path(__file__).resolve().parents[2] / "console" / "js").rglob("*.js"):
        text = script.read_text()
        facts = set(re.findall(r'name: "([a-z_]+\.[a-z_]+)"', text))  # condition variables such as case.stage
        for literal in set(re.findall(rf'"((?:{families})\.[a-z_]+)"', text)) - facts:
            named.setdefault(literal, set()).add(script.name)
    permissions = {permission.value for permission in Permission}
    unknown = {literal: files for literal, files in named.items() if literal not in permissions | set(EventType)}
    assert unknown == {}
    assert {"case.stage_changed", "decision.recorded", "timer.fired"} <= set(named)  # the scan finds them
