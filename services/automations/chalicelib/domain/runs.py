"""A run: one rule on one triggering event, with what became of each action."""

from datetime import datetime
from typing import Any

from caseline_common.envelope import Actor
from pydantic import BaseModel, ConfigDict, Field

from .rules import RuleDecision

# What an outcome shows that was rendered from the case's fields (a rule e-mail's subject).
RENDERED_FROM_FIELDS = frozenset({"subject"})


class ActionOutcome(BaseModel):
    model_config = ConfigDict(defer_build=True)

    index: int
    type: str
    status: str = Field(description="sent (a command to the cases service), done, skipped or failed")
    detail: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None


class AutomationRun(BaseModel):
    model_config = ConfigDict(defer_build=True)

    run_id: str = Field(description="<triggering event id>:<rule key>; one run per pair, however often it arrives.")
    case_id: str
    template_key: str
    template_version: int
    rule: str
    rule_name: str
    event_id: str
    event_type: str
    triggered_by: Actor | None = Field(
        default=None, description="Who set the rule off: the triggering event's actor (a person, a client, ...)."
    )
    verdict: str
    condition: bool | None
    causation_depth: int
    started_at: datetime
    finished_at: datetime
    outcomes: list[ActionOutcome] = Field(default_factory=list)
    error: str | None = None

    @classmethod
    def of(
        cls,
        decision: RuleDecision,
        *,
        case_id: str,
        template_key: str,
        template_version: int,
        event_id: str,
        event_type: str,
        triggered_by: Actor,
        causation_depth: int,
        started_at: datetime,
        finished_at: datetime,
        outcomes: list[ActionOutcome],
    ) -> "AutomationRun":
        return cls(
            run_id=f"{event_id}:{decision.rule}",
            case_id=case_id,
            template_key=template_key,
            template_version=template_version,
            rule=decision.rule,
            rule_name=decision.name,
            event_id=event_id,
            event_type=event_type,
            triggered_by=triggered_by,
            verdict=decision.verdict.value,
            condition=decision.condition,
            causation_depth=causation_depth,
            started_at=started_at,
            finished_at=finished_at,
            outcomes=outcomes,
            error=decision.error,
        )

    def without_rendered_text(self) -> "AutomationRun":
        """For a reader whose roles hide some of the case's fields: text rendered from them is left out."""
        outcomes = [
            outcome.model_copy(
                update={"detail": {k: v for k, v in outcome.detail.items() if k not in RENDERED_FROM_FIELDS}}
            )
            for outcome in self.outcomes
        ]
        return self.model_copy(update={"outcomes": outcomes})
