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
    model_config = ConfigDict(
        defer_build=True,
        json_schema_extra={
            "examples": [
                {
                    "run_id": "01JF3Z8H7JS3H1Z8WQGFEK5W34:invite_claimant",
                    "case_id": "01JF3Z8Q4V6W7X8Y9Z0A1B2C3D",
                    "template_key": "insurance-claim",
                    "template_version": 1,
                    "rule": "invite_claimant",
                    "rule_name": "Invite the policyholder to the claim portal",
                    "event_id": "01JF3Z8H7JS3H1Z8WQGFEK5W34",
                    "event_type": "case.opened",
                    "verdict": "fired",
                    "condition": True,
                    "causation_depth": 0,
                    "started_at": "2027-01-04T08:12:26.624298Z",
                    "finished_at": "2027-01-04T08:12:26.683988Z",
                    "outcomes": [
                        {
                            "index": 0,
                            "type": "add_participant",
                            "status": "sent",
                            "detail": {"command_id": "01JF3Z8H79W47MHQHT8828K68Q"},
                            "error": None,
                        },
                        {
                            "index": 1,
                            "type": "send_email",
                            "status": "done",
                            "detail": {
                                "message_id": "0102019437a1c2d3-5d3c7a21-8e4f-4b6a-9c2d-1f0e3b5a7c9d-000000",
                                "recipients": 1,
                                "subject": "We have received your claim",
                            },
                            "error": None,
                        },
                    ],
                    "error": None,
                }
            ]
        },
    )

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
