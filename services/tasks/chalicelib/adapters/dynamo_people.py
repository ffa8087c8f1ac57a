"""The people table: one item per person of the directory, all under one partition (a tenant's staff is small), so
the whole directory is one Query and a refresh one BatchWriteItem per 25 changes."""

from typing import TYPE_CHECKING, Any

from caseline_common.errors import UnavailableError

from ..domain.people import Person, PersonRole

if TYPE_CHECKING:
    from types_boto3_dynamodb.client import DynamoDBClient

_PEOPLE = "PEOPLE"
_BATCH_WRITE_SIZE = 25  # DynamoDB's limit per BatchWriteItem
_BATCH_WRITE_ATTEMPTS = 5


def _item(person: Person) -> dict[str, Any]:
    item: dict[str, Any] = {"pk": {"S": _PEOPLE}, "sk": {"S": person.subject}, "name": {"S": person.name}}
    if person.email:
        item["email"] = {"S": person.email}
    if person.role:
        item["role"] = {"S": person.role}
    if person.groups:
        item["groups"] = {"SS": sorted(person.groups)}
    return item


def _person(item: dict[str, Any]) -> Person:
    role = item.get("role", {}).get("S")
    return Person(
        subject=item["sk"]["S"],
        name=item["name"]["S"],
        email=item.get("email", {}).get("S"),
        role=PersonRole(role) if role else None,
        groups=frozenset(item.get("groups", {}).get("SS", [])),
    )


class DynamoPeople:
    def __init__(self, client: "DynamoDBClient", table: str) -> None:
        self._client, self._table = client, table

    def people(self) -> list[Person]:
        query: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": _PEOPLE}},
        }
        found: list[Person] = []
        while True:
            response = self._client.query(**query)
            found += [_person(item) for item in response["Items"]]
            if "LastEvaluatedKey" not in response:
                return found
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def replace(self, changed: list[Person], removed: list[str]) -> None:
        requests: list[Any] = [{"PutRequest": {"Item": _item(person)}} for person in changed]
        requests += [{"DeleteRequest": {"Key": {"pk": {"S": _PEOPLE}, "sk": {"S": subject}}}} for subject in removed]
        for first in range(0, len(requests), _BATCH_WRITE_SIZE):
            self._write(requests[first : first + _BATCH_WRITE_SIZE])

    def _write(self, requests: list[Any]) -> None:
        for _ in range(_BATCH_WRITE_ATTEMPTS):
            response = self._client.batch_write_item(RequestItems={self._table: requests})
            requests = list(dict(response.get("UnprocessedItems") or {}).get(self._table, []))
            if not requests:
                return
        raise UnavailableError("The directory was not fully written; the next refresh writes the rest.")
