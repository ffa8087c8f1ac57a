"""Opaque cursors for DynamoDB queries: the last evaluated key, checked on the way back in."""

import base64
import binascii
import json
from typing import Any, Generic, TypeVar

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field

from .errors import InvalidCursorError as InvalidCursorError  # still importable from here

ItemT = TypeVar("ItemT")


def encode_cursor(last_evaluated_key: dict[str, Any] | None) -> str | None:
    if not last_evaluated_key:
        return None
    plain = {name: value["S"] for name, value in last_evaluated_key.items() if "S" in value}
    raw = json.dumps(plain, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, *, expected: dict[str, str], key_names: set[str]) -> dict[str, Any] | None:
    """Returns an ExclusiveStartKey, refusing cursors that were not issued for this very query."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        plain = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, RecursionError) as error:  # RecursionError: deeply nested JSON
        raise InvalidCursorError("The cursor is malformed.") from error
    if (
        not isinstance(plain, dict)
        or set(plain) != key_names
        or not all(isinstance(value, str) for value in plain.values())
        or any(plain.get(name) != value for name, value in expected.items())
    ):
        raise InvalidCursorError("The cursor does not belong to this query.")
    return {name: {"S": value} for name, value in plain.items()}


class PageQuery(BaseModel):
    """The query of a list operation: how many, and from where."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    limit: int = Field(default=25, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=2048)


class Page(BaseModel, Generic[ItemT]):
    model_config = ConfigDict(defer_build=True)

    items: list[ItemT]
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` to get the next page; absent on the last."
    )


def query_page(client: Any, query: dict[str, Any], start: dict[str, Any] | None) -> dict[str, Any]:
    """One DynamoDB Query from `start`. A cursor that passed the checks above but still lies outside the
    query's key range (DynamoDB's ValidationException) is the client's mistake, not a server error."""
    if start:
        query = {**query, "ExclusiveStartKey": start}
    try:
        response: dict[str, Any] = client.query(**query)
    except ClientError as error:
        if start and error.response["Error"]["Code"] == "ValidationException":
            raise InvalidCursorError("The cursor does not belong to this query.") from error
        raise
    return response


def count_items(client: Any, query: dict[str, Any], max_pages: int) -> tuple[int, bool]:
    """What a Query matches, counted a page (1 MB read) at a time for at most `max_pages` pages, and whether the count
    is complete (a badge shows an incomplete one as "N+")."""
    request = {**query, "Select": "COUNT"}
    total = 0
    for _ in range(max_pages):
        response = client.query(**request)
        total += response["Count"]
        if "LastEvaluatedKey" not in response:
            return total, True
        request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
    return total, False
