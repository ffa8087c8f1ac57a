"""Idempotency claims: what a key claims, when an earlier answer is given again, and how a portal link's
token is kept in its claim without the table holding a usable token."""

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError
from caseline_common.adapters.dynamo_claims import transact_with_claim
from caseline_common.errors import ConcurrentWriteError, ConflictError, InvalidInputError
from caseline_common.idempotency import IDEMPOTENCY_WINDOW, Claim, replay_of, request_hash
from caseline_common.tenant import TenantContext
from pydantic import BaseModel
from service_modules import loaded_module

if TYPE_CHECKING:
    from services.portal.chalicelib.domain import links
else:
    links = loaded_module("portal", "chalicelib.domain.links")

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


class Body(BaseModel):
    to: str
    reason: str | None = None


def test_a_claim_is_scoped_to_operation_caller_and_key(staff: TenantContext) -> None:
    claim = Claim.of(staff, "transition_case#case-1", "key-1", Body(to="b"), NOW)

    assert claim is not None
    assert claim.scope == "transition_case#case-1#user-1#key-1"
    assert claim.expires_at == NOW + IDEMPOTENCY_WINDOW
    assert Claim.of(staff, "transition_case#case-1", None, Body(to="b"), NOW) is None


def test_the_same_body_hashes_the_same_and_another_does_not() -> None:
    assert request_hash(Body(to="b")) == request_hash(Body.model_validate({"reason": None, "to": "b"}))
    assert request_hash(Body(to="b")) != request_hash(Body(to="b", reason="again"))
    assert request_hash(None) != request_hash(Body(to="b"))


def test_the_earlier_answer_is_given_again_only_for_the_same_body(staff: TenantContext) -> None:
    first = Claim.of(staff, "op", "key-1", Body(to="b"), NOW)
    assert first is not None
    stored = first.answering(Body(to="answered"))

    replayed = replay_of(Claim.of(staff, "op", "key-1", Body(to="b"), NOW), stored, Body)
    assert replayed is not None
    assert (replayed.resource, replayed.replayed) == (Body(to="answered"), True)
    assert replay_of(first, None, Body) is None, "no earlier claim: the request runs"
    with pytest.raises(InvalidInputError) as refused:
        replay_of(Claim.of(staff, "op", "key-1", Body(to="c"), NOW), stored, Body)
    [issue] = refused.value.issues
    assert (issue.location, issue.pointer, issue.detail) == ("header", "/Idempotency-Key", "reused with another body")


class CancelledTransaction:
    """A DynamoDB client whose transactions are cancelled for the given reasons."""

    def __init__(self, *reasons: dict[str, Any]) -> None:
        self.reasons = list(reasons)

    def transact_write_items(self, **_request: Any) -> None:
        response: Any = {"Error": {"Code": "TransactionCanceledException"}, "CancellationReasons": self.reasons}
        raise ClientError(response, "TransactWriteItems")


def test_a_write_at_the_same_moment_and_a_key_in_use_a_moment_ago_are_retryable_conflicts(
    staff: TenantContext,
) -> None:
    claim = Claim.of(staff, "op", "key-1", Body(to="b"), NOW)
    assert claim is not None
    put = {"Put": {"TableName": "t", "Item": {}}}
    conflict = CancelledTransaction({"Code": "TransactionConflict"}, {"Code": "None"})
    # The claim's condition failed, but the claim it found is gone (expired or released) by the time it is read.
    in_use = CancelledTransaction({"Code": "None"}, {"Code": "ConditionalCheckFailed"})

    for client in (conflict, in_use):
        with pytest.raises(ConcurrentWriteError) as raised:
            transact_with_claim(client, "t", [put], claim.answering(Body(to="answered")))  # type: ignore[arg-type]
        assert isinstance(raised.value, ConflictError), "still 409 to an HTTP caller"


def test_a_sealed_link_opens_only_with_the_scope_it_was_sealed_under() -> None:
    token = links.new_token()
    link = links.PortalLink(
        id="01JLINK0000000000000000000",
        token_hash=links.token_hash(token),
        case_id="case-1",
        participant_id="p-1",
        created_at=NOW,
        created_by="user-1",
        expires_at=NOW + timedelta(days=14),
    )
    scope = "portal_link#case-1#user-1#2f1c1e0a-5b9e-4a4e-9d62-3f4c1b8e7a10"

    sealed = links.SealedLink.sealing(link, token, scope)

    assert token not in sealed.model_dump_json()
    assert sealed.issued(scope, "https://portal.example.org").url == f"https://portal.example.org/p/{token}"
    other = links.SealedLink.sealing(link, token, scope.replace("2f1c", "2f1d"))
    assert other.sealed_token != sealed.sealed_token, "the pad comes from the key"
