"""Decisions recorded on a case, each with its outcome, its rationale and the template version it was made under."""

from caseline_common.contracts import Decision, Key
from caseline_common.errors import ConflictError, ForbiddenError
from caseline_common.events import EventType
from pydantic import ConfigDict, Field

from .work import MAX_DECISIONS, CaseWork, Change, LongProse, Request, issue


class RecordDecisionRequest(Request):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "key": "claim_outcome",
                    "outcome": "approve",
                    "rationale": "Liability is clear from the police report; the estimate is within the policy limits.",
                }
            ]
        }
    )

    key: Key
    outcome: str = Field(min_length=1, max_length=100)
    rationale: LongProse | None = Field(
        default=None, description="Why this outcome; required unless the decision sets rationale_required to false."
    )


def record_decision(work: CaseWork, request: RecordDecisionRequest) -> Change:
    definition = next((each for each in work.definition.decisions if each.key == request.key), None)
    if definition is None:
        raise issue("/key", f'unknown decision "{request.key}"')
    if not work.access.admin and not (work.access.role_keys() & set(definition.decider_roles)):
        raise ForbiddenError(f'Only {", ".join(definition.decider_roles)} may decide "{definition.label}".')
    work.require_open()
    if request.outcome not in definition.options:
        raise issue("/outcome", f"must be one of {', '.join(definition.options)}")
    if definition.rationale_required and not (request.rationale and request.rationale.strip()):
        raise issue("/rationale", f'"{definition.label}" needs a rationale')
    if len(work.case.decisions) >= MAX_DECISIONS:
        raise ConflictError(f"A case holds at most {MAX_DECISIONS} decisions.", current_version=work.case.version)
    decision = Decision(
        id=work.new_id(),
        key=request.key,
        outcome=request.outcome,
        rationale=request.rationale.strip() if request.rationale else None,
        decided_by=work.subject,
        decided_at=work.now,
        template_version=work.case.template_version,
    )
    previous = next((d.outcome for d in reversed(work.case.decisions) if d.key == request.key), None)
    return work.change(
        EventType.DECISION_RECORDED,
        {
            "decision_id": decision.id,
            "key": decision.key,
            "before": previous,
            "after": decision.outcome,
            "rationale": decision.rationale,
            "template_version": decision.template_version,
        },
        decisions=[*work.case.decisions, decision],
    )
