"""The shared package: event envelope, cursors, resource names, OpenAPI documents and principals."""

import base64
import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from aws_lambda_powertools import Logger
from caseline_common.auth import TokenVerifier
from caseline_common.envelope import Actor, ActorKind, EventEnvelope, Visibility, new_id
from caseline_common.http import HttpApi, Reply
from caseline_common.openapi import build_openapi, merge_openapi
from caseline_common.pagination import InvalidCursorError, decode_cursor, encode_cursor
from caseline_common.resources import (
    BUCKETS,
    CASES_TABLE,
    CONSUMERS,
    DOCUMENTS_BUCKET,
    SERVICES,
    TABLES,
    TIMELINE_TABLE,
    TenantResourceNames,
    download_environment,
    service_environment,
)
from caseline_common.tenant import Principal, StaffRole
from chalice.app import Blueprint, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from caseline.local.loader import load_service

ULID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")
ACTOR = Actor(kind=ActorKind.USER, id="user-1", display_name="Ada")
OCCURRED = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


def envelope(**changes: Any) -> EventEnvelope:
    arguments: dict[str, Any] = {
        "tenant_id": "acme",
        "type": "case.opened",
        "actor": ACTOR,
        "correlation_id": "corr-1",
        "case_id": "case-1",
        "data": {"title": "Train to Leeds", "fields": {"amount": {"amount": "1.50", "currency": "EUR"}}},
        "occurred_at": OCCURRED,
    }
    arguments.update(changes)
    return EventEnvelope.new(**arguments)


# Event envelope


def test_new_envelopes_get_distinct_ulid_ids() -> None:
    ids = {envelope().event_id for _ in range(50)}

    assert len(ids) == 50
    assert all(ULID.fullmatch(event_id) for event_id in ids)
    assert ULID.fullmatch(new_id())


def test_a_new_envelope_defaults_to_now_internal_and_no_data() -> None:
    before = datetime.now(UTC)
    event = EventEnvelope.new(tenant_id="acme", type="template.published", actor=ACTOR, correlation_id="c")
    after = datetime.now(UTC)

    assert before <= event.occurred_at <= after
    assert event.occurred_at.tzinfo is not None
    assert event.case_id is None
    assert event.data == {}
    assert event.visibility is Visibility.INTERNAL
    assert event.causation_id is None


@pytest.mark.parametrize(
    "event_type",
    ["case.opened", "case.stage_changed", "template.published", "portal_link.created", "a.b"],
)
def test_good_event_types_are_accepted(event_type: str) -> None:
    assert envelope(type=event_type).type == event_type


@pytest.mark.parametrize(
    "event_type",
    [
        "case",
        "Case.Opened",
        "case.opened.now",
        "case-opened.x",
        "case..opened",
        ".opened",
        "case.",
        "case._opened",
        "case.opened_",
        "case.opened2",
        "case opened",
        "",
    ],
)
def test_bad_event_types_are_refused(event_type: str) -> None:
    with pytest.raises(ValidationError) as raised:
        envelope(type=event_type)

    assert [error["loc"] for error in raised.value.errors()] == [("type",)]


@pytest.mark.parametrize("event_id", ["01arz3ndektsv4rrffq69g5fav", "01ARZ3NDEKTSV4RRFFQ69G5FA", "not-a-ulid", ""])
def test_an_event_id_must_be_a_ulid(event_id: str) -> None:
    document = envelope().model_dump()
    document["event_id"] = event_id

    with pytest.raises(ValidationError):
        EventEnvelope.model_validate(document)


def test_an_envelope_is_immutable() -> None:
    with pytest.raises(ValidationError):
        envelope().type = "case.closed"  # type: ignore[misc]


def test_the_bus_entry_carries_the_whole_envelope_as_compact_json() -> None:
    event = envelope(visibility=Visibility.EXTERNAL, causation_id="01ARZ3NDEKTSV4RRFFQ69G5FAV")

    entry = event.bus_entry(source_service="cases", bus_name="caseline-acme-bus")

    assert set(entry) == {"Source", "DetailType", "Detail", "EventBusName", "Time"}
    assert entry["Source"] == "caseline.cases"
    assert entry["DetailType"] == "case.opened"
    assert entry["EventBusName"] == "caseline-acme-bus"
    assert entry["Time"] == OCCURRED
    assert entry["Detail"] == json.dumps(json.loads(entry["Detail"]), separators=(",", ":"))
    assert json.loads(entry["Detail"]) == event.model_dump(mode="json")
    assert EventEnvelope.model_validate_json(entry["Detail"]) == event


def test_the_json_form_round_trips() -> None:
    event = envelope()

    assert EventEnvelope.model_validate_json(event.to_json()) == event


# Cursors

KEY = {"pk": {"S": "CASE#01J"}, "sk": {"S": "EVENT#01K"}}


def test_a_cursor_round_trips_to_the_same_start_key() -> None:
    cursor = encode_cursor(KEY)

    assert cursor is not None
    assert re.fullmatch(r"[A-Za-z0-9_-]+", cursor), "URL-safe and unpadded"
    assert decode_cursor(cursor, expected={"pk": "CASE#01J"}, key_names={"pk", "sk"}) == KEY


def test_a_cursor_round_trips_values_that_need_url_safe_base64() -> None:
    key = {"pk": {"S": "TEMPLATES"}, "sk": {"S": "???>>>~~~ é"}}
    cursor = encode_cursor(key)

    assert cursor is not None
    assert "+" not in cursor
    assert "/" not in cursor
    assert decode_cursor(cursor, expected={"pk": "TEMPLATES"}, key_names={"pk", "sk"}) == key


@pytest.mark.parametrize("last_key", [None, {}])
def test_no_last_key_means_no_cursor(last_key: dict[str, Any] | None) -> None:
    assert encode_cursor(last_key) is None


@pytest.mark.parametrize("cursor", [None, ""])
def test_no_cursor_means_the_first_page(cursor: str | None) -> None:
    assert decode_cursor(cursor, expected={"pk": "x"}, key_names={"pk", "sk"}) is None


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "!!!!",
        "a",
        "not a cursor",
        b64(b"{not json"),
        b64(b"\xff\xfe\xfd"),
        b64(b"[" * 1600),
    ],
)
def test_a_malformed_cursor_is_refused(cursor: str) -> None:
    with pytest.raises(InvalidCursorError, match="malformed"):
        decode_cursor(cursor, expected={"pk": "CASE#01J"}, key_names={"pk", "sk"})


@pytest.mark.parametrize(
    "plain",
    [
        {"pk": "CASE#other", "sk": "EVENT#01K"},
        {"pk": "CASE#01J"},
        {"pk": "CASE#01J", "sk": "EVENT#01K", "gsi1pk": "STATUS#open"},
        {"pk": "CASE#01J", "sk": 7},
        {"pk": "CASE#01J", "sk": {"S": "EVENT#01K"}},
        ["CASE#01J", "EVENT#01K"],
        "CASE#01J",
        None,
    ],
)
def test_a_cursor_of_another_query_is_refused(plain: Any) -> None:
    cursor = b64(json.dumps(plain).encode())

    with pytest.raises(InvalidCursorError, match="does not belong"):
        decode_cursor(cursor, expected={"pk": "CASE#01J"}, key_names={"pk", "sk"})


def test_an_invalid_cursor_is_a_value_error() -> None:
    assert issubclass(InvalidCursorError, ValueError)


def test_only_string_attributes_are_kept_in_a_cursor() -> None:
    cursor = encode_cursor({"pk": {"S": "CASES"}, "n": {"N": "3"}})

    assert cursor is not None
    assert decode_cursor(cursor, expected={}, key_names={"pk"}) == {"pk": {"S": "CASES"}}


# Resource names

NAMES = TenantResourceNames(tenant_id="acme")
ACCOUNT = "123456789012"


def test_a_tenants_resources_share_its_prefix() -> None:
    timeline_consumer = next(consumer for consumer in CONSUMERS if consumer.service == "timeline")

    assert NAMES.prefix() == "caseline-acme"
    assert NAMES.table(CASES_TABLE) == "caseline-acme-cases"
    assert NAMES.table(TIMELINE_TABLE) == "caseline-acme-timeline"
    assert NAMES.bucket(DOCUMENTS_BUCKET, ACCOUNT) == "caseline-acme-documents-123456789012"
    assert NAMES.event_bus() == "caseline-acme-bus"
    assert NAMES.rule(timeline_consumer) == "caseline-acme-timeline-events"
    assert NAMES.queue(timeline_consumer) == "caseline-acme-timeline-events"
    assert NAMES.dead_letter_queue(timeline_consumer) == "caseline-acme-timeline-events-dlq"


def test_every_consumer_has_its_own_queue_and_dead_letter_queue() -> None:
    queues = [NAMES.queue(consumer) for consumer in CONSUMERS]
    dead_letter_queues = [NAMES.dead_letter_queue(consumer) for consumer in CONSUMERS]

    assert len(set(queues + dead_letter_queues)) == 2 * len(CONSUMERS)
    assert {consumer.service for consumer in CONSUMERS} == {
        "timeline",
        "automations",
        "portal",
        "cases",
        "tasks",
        "search",
        "insight",
    }


def test_two_tenants_share_no_resource_name() -> None:
    other = TenantResourceNames(tenant_id="globex")

    def all_names(names: TenantResourceNames) -> set[str]:
        return {
            names.event_bus(),
            *(names.table(table) for table in TABLES),
            *(names.bucket(bucket, ACCOUNT) for bucket in BUCKETS),
            *(names.queue(consumer) for consumer in CONSUMERS),
            *(names.dead_letter_queue(consumer) for consumer in CONSUMERS),
        }

    assert not all_names(NAMES) & all_names(other)


def test_the_cases_service_gets_its_table_and_bucket() -> None:
    assert service_environment(NAMES, "cases", ACCOUNT) == {
        "CASELINE_TENANT_ID": "acme",
        "CASELINE_EVENT_BUS_NAME": "caseline-acme-bus",
        "CASELINE_CASES_TABLE": "caseline-acme-cases",
        "CASELINE_DOCUMENTS_BUCKET": "caseline-acme-documents-123456789012",
    }


def test_the_timeline_service_gets_its_table_anchor_bucket_and_signing_key() -> None:
    assert service_environment(NAMES, "timeline", ACCOUNT) == {
        "CASELINE_TENANT_ID": "acme",
        "CASELINE_EVENT_BUS_NAME": "caseline-acme-bus",
        "CASELINE_TIMELINE_TABLE": "caseline-acme-timeline",
        "CASELINE_ANCHORS_BUCKET": "caseline-acme-anchors-123456789012",
        "CASELINE_SIGNING_KEY_ID": "alias/caseline-acme-timeline-signing",
    }


def test_the_automations_service_gets_only_its_table_and_its_delivery_queue() -> None:
    assert service_environment(NAMES, "automations", ACCOUNT) == {
        "CASELINE_TENANT_ID": "acme",
        "CASELINE_EVENT_BUS_NAME": "caseline-acme-bus",
        "CASELINE_AUTOMATIONS_TABLE": "caseline-acme-automations",
        "CASELINE_WEBHOOK_QUEUE": "caseline-acme-webhook-deliveries",
    }


@pytest.mark.parametrize("service", SERVICES)
def test_no_service_is_given_a_resource_another_service_owns(service: str) -> None:
    environment = service_environment(NAMES, service, ACCOUNT)
    foreign = [spec.env_var for spec in TABLES if spec.owner != service]
    foreign += [spec.env_var for spec in BUCKETS if spec.owner != service and service not in spec.shared_with]

    assert not set(foreign) & set(environment)


def test_the_services_that_read_the_documents_bucket_are_told_where_browsers_download_it() -> None:
    url = "https://d111111abcdef8.cloudfront.net"
    assert (
        download_environment("cases", url)
        == download_environment("portal", url)
        == {"CASELINE_DOCUMENTS_DOWNLOAD_URL": url}
    )
    assert download_environment("timeline", url) == download_environment("automations", url) == {}


def test_the_portal_shares_the_documents_bucket_and_owns_its_table() -> None:
    assert service_environment(NAMES, "portal", ACCOUNT) == {
        "CASELINE_TENANT_ID": "acme",
        "CASELINE_EVENT_BUS_NAME": "caseline-acme-bus",
        "CASELINE_PORTAL_TABLE": "caseline-acme-portal",
        "CASELINE_DOCUMENTS_BUCKET": f"caseline-acme-documents-{ACCOUNT}",
    }


# OpenAPI documents


class NewThing(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)


class Thing(BaseModel):
    id: str
    name: str


class ThingQuery(BaseModel):
    kind: str
    limit: int = 10


def http_api(service: str) -> HttpApi:
    def no_verifier() -> TokenVerifier:
        raise AssertionError("no request is dispatched in these tests")

    return HttpApi(
        service=service,
        blueprint=Blueprint(f"tests.{service}"),
        tenant_id=lambda: "acme",
        verifier=no_verifier,
        max_request_bytes=lambda: 1024,
        logger=Logger(service=service),
    )


def reply(_call: Any) -> Reply:
    return Reply(None)


def things_api() -> HttpApi:
    api = http_api("things")

    def create_thing(call: Any) -> Reply:
        return reply(call)

    def get_thing(call: Any) -> Reply:
        return reply(call)

    def list_things(call: Any) -> Reply:
        return reply(call)

    def things_health(call: Any) -> Reply:
        return reply(call)

    api.operation(
        "POST",
        "/things",
        summary="Create a thing",
        request=NewThing,
        response=Thing,
        status=201,
        idempotent_create=True,
        errors=(422,),
    )(create_thing)
    api.operation("GET", "/things/{thing_id}", summary="One thing", response=Thing, errors=(404,))(get_thing)
    api.operation("GET", "/things", summary="Things", query=ThingQuery)(list_things)
    api.operation("GET", "/health/things", summary="Health", public=True)(things_health)
    return api


PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def test_the_document_is_openapi_3_1_with_bearer_and_client_credentials_security() -> None:
    document = build_openapi(title="Things", version="1.2.3", operations=things_api().operations)

    assert document["openapi"] == "3.1.0"
    assert document["info"] == {"title": "Things", "version": "1.2.3"}
    schemes = document["components"]["securitySchemes"]
    assert set(schemes) == {"bearer", "oauth2"}
    assert schemes["bearer"] == {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    flow = schemes["oauth2"]["flows"]["clientCredentials"]
    assert flow["tokenUrl"] == "/oauth2/token"  # the API's own, relative to its server
    assert set(flow["scopes"]) == {
        "caseline/cases.read", "caseline/cases.write", "caseline/templates.admin", "caseline/webhooks.admin"
    }  # fmt: skip
    assert all(flow["scopes"].values())
    assert {"Problem", "NewThing", "Thing"} <= set(document["components"]["schemas"])
    assert set(document["paths"]) == {"/things", "/things/{thing_id}", "/health/things"}
    assert set(document["paths"]["/things"]) == {"post", "get"}


def test_a_create_operation_documents_body_key_and_problems() -> None:
    operation = build_openapi(title="T", version="1", operations=things_api().operations)["paths"]["/things"]["post"]

    assert operation["operationId"] == "create_thing"
    assert operation["tags"] == ["test_common"]  # the route module's name
    assert operation["security"] == [{"bearer": []}, {"oauth2": ["caseline/cases.write"]}]
    assert operation["requestBody"] == {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NewThing"}}},
    }
    [header] = operation["parameters"]
    assert (header["name"], header["in"], header["required"]) == ("Idempotency-Key", "header", False)
    responses = operation["responses"]
    assert set(responses) == {"201", "400", "401", "403", "422", "500"}
    assert responses["201"]["content"] == {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}
    for status in ("400", "401", "403", "422", "500"):
        problem = responses[status]["content"]["application/problem+json"]
        assert problem["schema"] == PROBLEM_REF
        assert problem["example"]["status"] == int(status)


def test_path_and_query_parameters_are_documented() -> None:
    paths = build_openapi(title="T", version="1", operations=things_api().operations)["paths"]

    assert paths["/things/{thing_id}"]["get"]["security"] == [{"bearer": []}, {"oauth2": ["caseline/cases.read"]}]
    [path_parameter] = paths["/things/{thing_id}"]["get"]["parameters"]
    assert path_parameter == {"name": "thing_id", "in": "path", "required": True, "schema": {"type": "string"}}
    assert set(paths["/things/{thing_id}"]["get"]["responses"]) == {"200", "400", "401", "403", "404", "500"}
    query = {parameter["name"]: parameter for parameter in paths["/things"]["get"]["parameters"]}
    assert set(query) == {"kind", "limit"}
    assert (query["kind"]["in"], query["kind"]["required"]) == ("query", True)
    assert query["limit"]["required"] is False
    assert "requestBody" not in paths["/things"]["get"]


def test_a_public_operation_needs_no_token() -> None:
    operation = build_openapi(title="T", version="1", operations=things_api().operations)["paths"]["/health/things"][
        "get"
    ]

    assert operation["security"] == []
    assert set(operation["responses"]) == {"200", "400", "500"}
    assert "content" not in operation["responses"]["200"]


def test_build_openapi_needs_no_operations() -> None:
    document = build_openapi(title="Empty", version="0", operations=[])

    assert document["paths"] == {}
    assert "Problem" in document["components"]["schemas"]


def test_merging_keeps_every_route_and_schema() -> None:
    things = build_openapi(title="Things", version="1", operations=things_api().operations)
    others = http_api("others")

    def delete_thing(call: Any) -> Reply:
        return reply(call)

    others.operation("DELETE", "/things/{thing_id}", summary="Delete a thing", errors=(404,))(delete_thing)

    merged = merge_openapi(
        title="All",
        version="9",
        documents=[things, build_openapi(title="O", version="1", operations=others.operations)],
    )

    assert merged["openapi"] == "3.1.0"
    assert (merged["info"]["title"], merged["info"]["version"]) == ("All", "9")
    assert merged["servers"] == [{"url": "/", "description": "The API"}]
    assert merged["tags"] == [{"name": "test_common", "description": __doc__}]
    assert set(merged["paths"]["/things/{thing_id}"]) == {"get", "delete"}
    assert set(merged["paths"]["/things"]) == {"get", "post"}
    assert {"Problem", "Thing", "NewThing"} <= set(merged["components"]["schemas"])
    assert "bearer" in merged["components"]["securitySchemes"]


def test_merging_refuses_a_route_declared_twice() -> None:
    first = build_openapi(title="A", version="1", operations=things_api().operations)
    second = build_openapi(title="B", version="1", operations=things_api().operations)

    with pytest.raises(ValueError, match="declared by two services"):
        merge_openapi(title="All", version="1", documents=[first, second])


def test_merging_refuses_two_different_schemas_of_one_name() -> None:
    first = build_openapi(title="A", version="1", operations=things_api().operations)
    second = build_openapi(title="B", version="1", operations=[])
    second["components"]["schemas"]["Thing"] = {"type": "string"}

    with pytest.raises(ValueError, match="schema Thing differs"):
        merge_openapi(title="All", version="1", documents=[first, second])


def test_the_four_services_merge_into_one_document() -> None:
    documents = [
        build_openapi(title=name, version="1", operations=load_service(name).module("chalicelib.api").http.operations)
        for name in SERVICES
    ]

    merged = merge_openapi(title="Caseline", version="1", documents=documents)

    assert {"/cases", "/templates", "/cases/{case_id}/timeline"} <= set(merged["paths"])
    assert {f"/health/{name}" for name in SERVICES} <= set(merged["paths"])
    operation_ids = [operation["operationId"] for path in merged["paths"].values() for operation in path.values()]
    assert len(operation_ids) == len(set(operation_ids))


# Principals


def test_roles_come_only_from_known_groups() -> None:
    principal = Principal(
        subject="u", groups=frozenset({"caseline-staff", "everyone", "Caseline-Admins", "caseline-admin"})
    )

    assert principal.roles == frozenset({StaffRole.STAFF})
    assert principal.has_any(StaffRole.STAFF, StaffRole.ADMIN)
    assert not principal.has_any(StaffRole.ADMIN)


def test_a_principal_without_groups_has_no_role() -> None:
    principal = Principal(subject="u")

    assert principal.roles == frozenset()
    assert not principal.has_any(StaffRole.ADMIN, StaffRole.STAFF)


def test_both_staff_groups_grant_both_roles() -> None:
    principal = Principal(subject="u", groups=frozenset({"caseline-admins", "caseline-staff"}))

    assert principal.roles == frozenset({StaffRole.ADMIN, StaffRole.STAFF})


def test_a_principal_acts_as_a_user() -> None:
    actor = Principal(subject="sub-1", email="ada@example.org").actor()

    assert actor == Actor(kind=ActorKind.USER, id="sub-1", display_name="ada@example.org")


def test_only_the_console_origin_may_read_api_answers() -> None:
    api = HttpApi(
        service="cases",
        blueprint=Blueprint("tests.cors"),
        tenant_id=lambda: "acme",
        verifier=lambda: TokenVerifier(issuer="https://issuer.example", client_ids=["c"], jwks_url="https://x"),
        max_request_bytes=lambda: 1024,
        logger=Logger(service="cases"),
        console_origin=lambda: "https://console.acme.example",
    )

    allowed = api._cors(Response(body="", status_code=200), {"origin": "https://console.acme.example"})
    other = api._cors(Response(body="", status_code=200), {"origin": "https://evil.example"})

    assert allowed.headers["Access-Control-Allow-Origin"] == "https://console.acme.example"
    assert "ETag" in allowed.headers["Access-Control-Expose-Headers"]
    assert "Content-Disposition" in allowed.headers["Access-Control-Expose-Headers"]  # a download's file name
    assert "Access-Control-Allow-Origin" not in other.headers
