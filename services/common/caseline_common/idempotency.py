"""Idempotency-Key: a retried request gets the first request's answer, and acts once.

A request with a key claims its scope (operation, caller, key). The claim keeps a hash of the request's body and
the body of its answer, and is written in the same write as what the request changes, so it exists if and only if
the request acted. A repeat reads the claim before anything else: with the same body it answers the stored answer
again, however the resource changed since; with another body it is refused. A refused request claims nothing: it
changed nothing, so running it again is safe.
"""

import hashlib
import json
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from pydantic import BaseModel

from .errors import FieldIssue, InvalidInputError
from .tenant import TenantContext

IDEMPOTENCY_WINDOW = timedelta(hours=24)

ModelT = TypeVar("ModelT", bound=BaseModel)
ResourceT = TypeVar("ResourceT")


def request_hash(body: BaseModel | None) -> str:
    document = body.model_dump(mode="json") if body is not None else None
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Claim:
    """A key claimed for one operation by one caller; `answer` is the JSON body the request answered."""

    scope: str
    request_hash: str
    expires_at: datetime
    answer: str | None = None

    @classmethod
    def of(
        cls, context: TenantContext, operation: str, key: str | None, body: BaseModel | None, now: datetime
    ) -> "Claim | None":
        """The claim a request makes, or None without a key. `operation` names the target too (a case, a task),
        so one key never answers for another resource."""
        if key is None:
            return None
        return cls(
            scope=f"{operation}#{context.principal.subject}#{key}",
            request_hash=request_hash(body),
            expires_at=now + IDEMPOTENCY_WINDOW,
        )

    def answering(self, answer: BaseModel) -> "Claim":
        return replace(self, answer=answer.model_dump_json(by_alias=True))

    def replay(self, earlier: "Claim", model: type[ModelT]) -> "Answer[ModelT]":
        """The earlier request's answer, if it came with the same body."""
        if earlier.request_hash != self.request_hash:
            raise InvalidInputError(
                "This Idempotency-Key was used with a different request.",
                [FieldIssue(location="header", pointer="/Idempotency-Key", detail="reused with another body")],
            )
        if earlier.answer is None:
            raise RuntimeError(f"the claim {self.scope} was stored without its answer")
        return Answer(model.model_validate_json(earlier.answer), replayed=True)


def replay_of(claim: Claim | None, earlier: Claim | None, model: type[ModelT]) -> "Answer[ModelT] | None":
    """The answer to give again when an earlier request claimed this one's key; None when none did."""
    if claim is None or earlier is None:
        return None
    return claim.replay(earlier, model)


class KeyClaimedError(Exception):
    """Another request claimed the key between this one's read and its write; nothing was written."""

    def __init__(self, claim: Claim, earlier: Claim) -> None:
        super().__init__(claim.scope)
        self.claim, self.earlier = claim, earlier

    def replay(self, model: type[ModelT]) -> "Answer[ModelT]":
        return self.claim.replay(self.earlier, model)


@dataclass(frozen=True)
class Answer(Generic[ResourceT]):
    """What a use case answered; `replayed` when it is an earlier request's answer, given again."""

    resource: ResourceT
    replayed: bool = False
