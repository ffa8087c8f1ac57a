"""Saved views in DynamoDB (moto): the adapter behind ViewService, counted. Listing is one Query for the caller's
own views plus one per group; each change is one transaction that keeps the copies and counts with the view."""

from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import count
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from caseline_common.errors import ForbiddenError, InvalidInputError, PreconditionFailedError
from caseline_common.resources import SEARCH_TABLE
from caseline_common.tenant import Principal, TenantContext
from moto import mock_aws
from service_modules import loaded_module

from .support import recording

if TYPE_CHECKING:
    from services.search.chalicelib import view_service as service_module
    from services.search.chalicelib.adapters import dynamo_views as adapter
    from services.search.chalicelib.domain import views as domain
else:
    service_module = loaded_module("search", "chalicelib.view_service")
    adapter = loaded_module("search", "chalicelib.adapters.dynamo_views")
    domain = loaded_module("search", "chalicelib.domain.views")

TABLE = "acme-search"
T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def client() -> Iterator[Any]:
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="eu-central-1")
        [index] = SEARCH_TABLE.indexes
        dynamodb.create_table(
            TableName=TABLE,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": name, "AttributeType": "S"} for name in ("pk", "sk", "gsi1pk", "gsi1sk")
            ],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": index.name,
                    "KeySchema": [
                        {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                        {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": index.projection},
                }
            ],
        )
        yield dynamodb


@pytest.fixture
def service(client: Any) -> "service_module.ViewService":
    ids = count(1)
    return service_module.ViewService(
        adapter.DynamoViews(client, TABLE), clock=lambda: T0, new_id=lambda: f"01VIEW{next(ids):020d}"
    )


def context(subject: str, *groups: str) -> TenantContext:
    principal = Principal(subject=subject, groups=frozenset({"caseline-staff", *groups}))
    return TenantContext(tenant_id="acme", principal=principal, correlation_id="c-1")


PAT = context("pat", "claims-team", "fraud")
SAM = context("sam", "claims-team")


def request(name: str = "Open claims", **values: Any) -> "domain.ViewRequest":
    return domain.ViewRequest.model_validate({"name": name, **values})


def counts(client: Any) -> dict[str, int]:
    items = client.scan(TableName=TABLE)["Items"]
    return {item["pk"]["S"]: int(item["n"]["N"]) for item in items if item["sk"]["S"] == "COUNT"}


def test_listing_is_one_query_for_mine_and_one_per_group(client: Any, service: "service_module.ViewService") -> None:
    for index in range(3):
        service.create_view(PAT, request(f"Pat {index}", shared_with=["claims-team", "fraud"]), None)
    service.create_view(SAM, request("Sam's", shared_with=["claims-team"]), None)

    with recording(client) as calls:
        pats = service.list_views(PAT)
    assert calls.operations == ["Query"] * (1 + len(PAT.principal.groups))
    assert [view.name for view in pats.mine] == ["Pat 0", "Pat 1", "Pat 2"]
    assert [view.name for view in pats.team] == ["Sam's"]

    with recording(client) as calls:
        sams = service.list_views(SAM)
    assert calls.operations == ["Query", "Query", "Query"]
    assert [view.name for view in sams.team] == ["Pat 0", "Pat 1", "Pat 2"], "shared with two of them, once each"


def test_each_change_is_one_read_and_one_transaction(client: Any, service: "service_module.ViewService") -> None:
    with recording(client) as calls:
        view = service.create_view(PAT, request(shared_with=["fraud"]), "key-1").resource
    assert calls.operations == ["GetItem", "TransactWriteItems"], "the claim read, then everything in one write"
    with recording(client) as calls:
        assert service.create_view(PAT, request(shared_with=["fraud"]), "key-1").replayed
    assert calls.operations == ["GetItem"]

    with recording(client) as calls:
        service.replace_view(PAT, view.id, request("Renamed", shared_with=["claims-team"]), if_match=1)
    assert calls.operations == ["GetItem", "TransactWriteItems"]
    assert [each.name for each in service.list_views(SAM).team] == ["Renamed"], "the copy moved with the share"
    assert service.list_views(context("fay", "fraud")).team == [], "and left the group it no longer names"
    assert counts(client) == {"VIEWS#pat": 1, "AUDIENCE#fraud": 0, "AUDIENCE#claims-team": 1}

    with recording(client) as calls:
        service.delete_view(PAT, view.id, if_match=2)
    assert calls.operations == ["GetItem", "TransactWriteItems"]
    assert counts(client) == {"VIEWS#pat": 0, "AUDIENCE#fraud": 0, "AUDIENCE#claims-team": 0}
    assert service.list_views(PAT).mine == []
    assert service.list_views(SAM).team == []


def test_a_stale_write_is_refused_by_the_table(client: Any, service: "service_module.ViewService") -> None:
    view = service.create_view(PAT, request(), None).resource
    store = adapter.DynamoViews(client, TABLE)
    store.replace(view, view.model_copy(update={"name": "Elsewhere", "version": 2}))
    with pytest.raises(domain.StaleViewError):
        store.replace(view, view.model_copy(update={"name": "Late", "version": 2}))
    with pytest.raises(domain.StaleViewError):
        store.delete(view)
    with pytest.raises(PreconditionFailedError):
        service.delete_view(PAT, view.id, if_match=1)
    assert service.get_view(PAT, view.id).name == "Elsewhere"


def test_the_owner_limit_is_counted_in_the_table(client: Any, service: "service_module.ViewService") -> None:
    client.put_item(
        TableName=TABLE,
        Item={"pk": {"S": "VIEWS#pat"}, "sk": {"S": "COUNT"}, "n": {"N": str(domain.MAX_VIEWS_PER_OWNER)}},
    )
    with pytest.raises(InvalidInputError):
        service.create_view(PAT, request(), None)
    client.put_item(
        TableName=TABLE,
        Item={"pk": {"S": "AUDIENCE#fraud"}, "sk": {"S": "COUNT"}, "n": {"N": str(domain.MAX_VIEWS_PER_AUDIENCE)}},
    )
    fay = context("fay", "fraud", "claims-team")
    with pytest.raises(InvalidInputError) as full:
        service.create_view(fay, request(shared_with=["claims-team", "fraud"]), None)
    assert full.value.issues[0].pointer == "/shared_with/1"
    assert service.list_views(fay).mine == [], "nothing was written"
    assert counts(client) == {"VIEWS#pat": 100, "AUDIENCE#fraud": 200}
    shared = service.create_view(SAM, request(shared_with=["claims-team"]), None).resource
    with pytest.raises(ForbiddenError):
        service.delete_view(fay, shared.id, if_match=1)
