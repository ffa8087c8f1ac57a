"""Idempotency claims as items in the table of the service whose operation they claim.

The item is keyed by a hash of the scope, so the table never holds a caller's key. The answer is stored
compressed: case answers are the bulk of a claim, and JSON shrinks several times, which is what a write costs.
"""

import hashlib
import time
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from ..errors import ConcurrentWriteError
from ..idempotency import Claim, KeyClaimedError

if TYPE_CHECKING:
    from types_boto3_dynamodb.client import DynamoDBClient

CLAIM_PREFIX = "IDEMPOTENCY#"


def claim_key(scope: str) -> dict[str, Any]:
    digest = hashlib.sha256(scope.encode()).hexdigest()
    return {"pk": {"S": f"{CLAIM_PREFIX}{digest}"}, "sk": {"S": "IDEMPOTENCY"}}


def claim_put(table: str, claim: Claim) -> dict[str, Any]:
    """The Put of an answered claim, alone or in a transaction; its condition fails, returning the earlier claim,
    while an unexpired claim holds the scope."""
    if claim.answer is None:
        raise ValueError(f"the claim {claim.scope} has no answer to store")
    return {
        "TableName": table,
        "Item": {
            **claim_key(claim.scope),
            "request_hash": {"S": claim.request_hash},
            "answer": {"B": zlib.compress(claim.answer.encode())},
            "expires_at": {"N": str(int(claim.expires_at.timestamp()))},
        },
        # TTL deletes lazily, so an expired claim still on disk must not block the key.
        "ConditionExpression": "attribute_not_exists(pk) OR expires_at < :now",
        "ExpressionAttributeValues": {":now": {"N": str(int(time.time()))}},
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }


def claim_from_item(scope: str, item: dict[str, Any] | None) -> Claim | None:
    """The claim an item holds; None when there is none, or it expired."""
    if not item or int(item["expires_at"]["N"]) < time.time():
        return None
    return Claim(
        scope=scope,
        request_hash=item["request_hash"]["S"],
        expires_at=datetime.fromtimestamp(int(item["expires_at"]["N"]), UTC),
        answer=zlib.decompress(item["answer"]["B"]).decode(),
    )


def read_claim(client: "DynamoDBClient", table: str, scope: str) -> Claim | None:
    item = client.get_item(TableName=table, Key=claim_key(scope), ConsistentRead=True).get("Item")
    return claim_from_item(scope, item)


def write_claim(client: "DynamoDBClient", table: str, claim: Claim) -> None:
    """Stores a claim that goes with no other write (the request changed nothing, or nothing transactional)."""
    try:
        client.put_item(**claim_put(table, claim))
    except ClientError as error:
        if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        raise KeyClaimedError(claim, _earlier(claim, error.response.get("Item"))) from error


def release_claim(client: "DynamoDBClient", table: str, claim: Claim) -> None:
    """Frees the key of a request that failed after its claim was written, so a retry can act."""
    client.delete_item(TableName=table, Key=claim_key(claim.scope))


@dataclass(frozen=True)
class FailedConditions:
    """A transaction that wrote nothing because conditions failed: their positions, and the items they found
    (where the write asked for them with ReturnValuesOnConditionCheckFailure)."""

    positions: set[int]
    items: dict[int, dict[str, Any]]


def transact_with_claim(
    client: "DynamoDBClient", table: str, items: Sequence[Any], claim: Claim | None
) -> FailedConditions | None:
    """Writes `items` and the claim (last) in one transaction. Returns the failed conditions when nothing was
    written; raises KeyClaimedError when the claim's failed. A lone Put is a plain conditional PutItem: a
    transaction of one item would bill each KB twice for nothing."""
    writes = [*items, {"Put": claim_put(table, claim)}] if claim is not None else list(items)
    if len(writes) == 1 and "Put" in writes[0]:
        return _put_alone(client, writes[0]["Put"])
    try:
        client.transact_write_items(TransactItems=writes)
    except ClientError as error:
        if error.response["Error"]["Code"] != "TransactionCanceledException":
            raise
        reasons = error.response.get("CancellationReasons", [])
        if any(reason.get("Code") == "TransactionConflict" for reason in reasons):
            raise ConcurrentWriteError("Another request changed the same data at the same moment; retry.") from error
        failed = {i for i, reason in enumerate(reasons) if reason.get("Code") == "ConditionalCheckFailed"}
        if not failed:
            raise
        if claim is not None and len(items) in failed:
            raise KeyClaimedError(claim, _earlier(claim, reasons[len(items)].get("Item"))) from error
        return FailedConditions(failed, {i: dict(r["Item"]) for i, r in enumerate(reasons) if r.get("Item")})
    return None


def _put_alone(client: "DynamoDBClient", put: Mapping[str, Any]) -> FailedConditions | None:
    try:
        client.put_item(**put)
    except ClientError as error:
        if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        old = error.response.get("Item")
        return FailedConditions({0}, {0: dict(old)} if isinstance(old, Mapping) else {})
    return None


def _earlier(claim: Claim, item: object) -> Claim:
    """The claim a failed condition returned (ReturnValuesOnConditionCheckFailure)."""
    earlier = claim_from_item(claim.scope, dict(item) if isinstance(item, Mapping) else None)
    if earlier is None:
        raise ConcurrentWriteError("The Idempotency-Key was in use a moment ago; retry.")
    return earlier
