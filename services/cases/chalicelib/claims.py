"""Idempotency-Key claims as the use cases take them: the claim a request makes, the earlier answer a retry
gets, and the claim of an answer that wrote nothing else."""

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from caseline_common.idempotency import Answer, Claim, KeyClaimedError, replay_of
from caseline_common.tenant import TenantContext
from pydantic import BaseModel

from .ports import CasesRepository

ModelT = TypeVar("ModelT", bound=BaseModel)


class Claims:
    def __init__(self, repository: CasesRepository, clock: Callable[[], datetime]) -> None:
        self._repository = repository
        self._clock = clock

    def claim(self, context: TenantContext, operation: str, key: str | None, body: BaseModel | None) -> Claim | None:
        return Claim.of(context, operation, key, body, self._clock())

    def replayed(self, claim: Claim | None, model: type[ModelT]) -> Answer[ModelT] | None:
        """An earlier request's answer to this one's key, read before anything else is checked."""
        return replay_of(claim, self._repository.idempotency_claim(claim.scope) if claim else None, model)

    def claimed(self, claim: Claim | None, answer: ModelT) -> Answer[ModelT]:
        """An answer that came with no write of its own, claimed alone so that a retry gets it too."""
        if claim is not None:
            try:
                self._repository.save_claim(claim.answering(answer))
            except KeyClaimedError as taken:
                return taken.replay(type(answer))
        return Answer(answer)
