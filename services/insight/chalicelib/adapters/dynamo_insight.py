"""The lake writer's own records in the insight table: who may read each template's figures (the groups of every
role of its newest published version, from `template.published`), and each case's latest state as the events that
carry one left it, for the events that carry none (a portal link).

    READERS / TEMPLATE#<key>   version, groups (a list; empty when no role names a group)
    CASE#<case id> / STATE     case_version, state (the lake's case columns, JSON; no personal data)
"""

import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from caseline_common.errors import UnavailableError

from ..domain.lake import CaseState

if TYPE_CHECKING:
    from types_boto3_dynamodb.client import DynamoDBClient

_READERS = "READERS"
_TEMPLATE = "TEMPLATE#"
_CASE = "CASE#"
_STATE = "STATE"
_BATCH_GET_KEYS = 100  # BatchGetItem's limit
_BATCH_GET_ATTEMPTS = 5


def _state_key(case_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"{_CASE}{case_id}"}, "sk": {"S": _STATE}}


class DynamoTemplateReaders:
    def __init__(self, dynamodb: "DynamoDBClient", table: str) -> None:
        self._dynamodb = dynamodb
        self._table = table

    def record(self, template_key: str, version: int, groups: list[str]) -> None:
        """Conditional on no newer version being kept: events of two versions may arrive in either order."""
        try:
            self._dynamodb.put_item(
                TableName=self._table,
                Item={
                    "pk": {"S": _READERS},
                    "sk": {"S": f"{_TEMPLATE}{template_key}"},
                    "version": {"N": str(version)},
                    "groups": {"L": [{"S": group} for group in groups]},
                },
                ConditionExpression="attribute_not_exists(pk) OR version <= :version",
                ExpressionAttributeValues={":version": {"N": str(version)}},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def all(self) -> dict[str, frozenset[str]]:
        readers: dict[str, frozenset[str]] = {}
        query: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :readers",
            "ExpressionAttributeValues": {":readers": {"S": _READERS}},
        }
        while True:
            response = self._dynamodb.query(**query)
            for item in response["Items"]:
                key = item["sk"]["S"].removeprefix(_TEMPLATE)
                readers[key] = frozenset(group["S"] for group in item["groups"]["L"])
            if "LastEvaluatedKey" not in response:
                return readers
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]


class DynamoCaseStates:
    def __init__(self, dynamodb: "DynamoDBClient", table: str) -> None:
        self._dynamodb = dynamodb
        self._table = table

    def keep(self, states: Mapping[str, CaseState]) -> None:
        """One conditional write per case (a batch cannot be conditional): a late or repeated batch never winds a
        case back to an older version."""
        for case_id, state in states.items():
            version = {"N": str(state.case_version or 0)}
            try:
                self._dynamodb.put_item(
                    TableName=self._table,
                    Item={**_state_key(case_id), "case_version": version, "state": {"S": state.model_dump_json()}},
                    ConditionExpression="attribute_not_exists(pk) OR case_version < :version",
                    ExpressionAttributeValues={":version": version},
                )
            except ClientError as error:
                if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise

    def get(self, case_ids: Iterable[str]) -> dict[str, CaseState]:
        wanted = sorted(set(case_ids))
        found: dict[str, CaseState] = {}
        for start in range(0, len(wanted), _BATCH_GET_KEYS):
            for item in self._batch_get([_state_key(case_id) for case_id in wanted[start : start + _BATCH_GET_KEYS]]):
                found[item["pk"]["S"].removeprefix(_CASE)] = CaseState.model_validate_json(item["state"]["S"])
        return found

    def _batch_get(self, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The items of up to 100 keys; keys DynamoDB leaves unprocessed (throttling) are asked for again."""
        items: list[dict[str, Any]] = []
        for attempt in range(_BATCH_GET_ATTEMPTS):
            if attempt:
                time.sleep(0.05 * 2**attempt)  # DynamoDB asks for backoff before the unprocessed keys again
            request: Any = {
                self._table: {
                    "Keys": keys,
                    "ProjectionExpression": "pk, #s",
                    "ExpressionAttributeNames": {"#s": "state"},
                }
            }
            response = self._dynamodb.batch_get_item(RequestItems=request)
            items += response["Responses"].get(self._table, [])
            unprocessed: dict[str, Any] = dict(response.get("UnprocessedKeys") or {})
            keys = list(unprocessed.get(self._table, {}).get("Keys", []))
            if not keys:
                return items
        raise UnavailableError("The cases' kept states could not be read; the batch is retried.")
