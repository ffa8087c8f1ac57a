"""The motor claim of examples.py told as its events, for the reference: each event type's `data` as its producer
sends it (the catalogue's models name it as their example), and what else a webhook delivery of it carries: the
rest of its envelope and the case as the event left it. The claim is opened, worked and decided (versions 1 to 7,
the case of `CASE_SNAPSHOT`); the other events are what could happen next, each from version 7 unless it says
otherwise. A unit test checks each delivery against the models and the automations service's payload."""

from typing import Any

from pydantic.config import JsonDict

from .event_types import EventType
from .examples import CASE_SNAPSHOT, COMMENT, HANDLER, SHA256, TASK_ID, TEMPLATE_DEFINITION, UPLOAD_ID

TENANT = CASE_SNAPSHOT["tenant_id"]
HANDLER_PARTICIPANT, CLAIMANT_PARTICIPANT = CASE_SNAPSHOT["participants"]
CLAIMANT = CLAIMANT_PARTICIPANT["id"]
# The senior handler the case is handed to, and the ad hoc payment task (version 8).
SENIOR = "a9d3e6f1-2b47-4c8e-9f05-7e1b3c2d4a68"
SENIOR_PARTICIPANT = "01M8RZM5HR4QANKCTDB3S6YFC3"
PAYMENT_TASK = "01M8RNAYCRHHR6CA69RH78H7W9"
PAYMENT_TASK_DUE = "2026-12-03T17:00:00+00:00"
LINK_ID = "01M8HFN050BK1667VV8QSGJGYE"
DECISION = CASE_SNAPSHOT["decisions"][0]
DECISION_EVENT = "01M8RMCPM0WDYACFPGHT11FYY3"

_HANDLER_SUMMARY: JsonDict = {
    "participant_id": HANDLER_PARTICIPANT["id"],
    "kind": "internal",
    "role": "claims_handler",
    "user_id": HANDLER,
}

DATA: dict[EventType, JsonDict] = {
    EventType.CASE_OPENED: {
        "title": CASE_SNAPSHOT["title"],
        "template_key": "motor-claim",
        "template_version": 1,
        "stage": "submitted",
        "status": "open",
        "owner": HANDLER,
        "participants": [_HANDLER_SUMMARY],
        # the policyholder (a party) is personal: it travels in `personal.fields`
        "fields": {
            "policy_number": "MP-204518",
            "incident_date": "2026-11-28",
            "claim_amount": {"amount": "2100.00", "currency": "EUR"},
        },
        "tasks_created": [
            {
                "task_id": TASK_ID,
                "key": "acknowledge_claim",
                "title": "Acknowledge the claim to the policyholder",
                "required": True,
                "due_at": "2026-11-30T17:00:00+00:00",
            }
        ],
    },
    EventType.PARTICIPANT_ADDED: {"version": 2, "participant_id": CLAIMANT, "kind": "external", "role": "claimant"},
    EventType.COMMENT_ADDED: {"comment_id": COMMENT["id"], "external": False, "body": COMMENT["body"]},
    EventType.TASK_COMPLETED: {
        "version": 3,
        "task_id": TASK_ID,
        "key": "acknowledge_claim",
        "title": "Acknowledge the claim to the policyholder",
        "before": "open",
        "after": "done",
    },
    EventType.DOCUMENT_ADDED: {
        "version": 4,
        "document_type": "repair_estimate",
        "document_version": 1,
        "upload_id": UPLOAD_ID,
        "content_type": "application/pdf",
        "size": 182340,
        "sha256": SHA256,
    },
    EventType.CASE_STAGE_CHANGED: {
        "version": 5,
        "from": "submitted",
        "to": "assessment",
        "direction": "forward",
        "reason": None,
        "overridden": [],
        "tasks_created": [],
    },
    EventType.CASE_FIELDS_CHANGED: {
        "version": 6,
        "changes": {
            "claim_amount": {
                "before": {"amount": "2100.00", "currency": "EUR"},
                "after": {"amount": "2450.00", "currency": "EUR"},
            }
        },
    },
    EventType.DECISION_RECORDED: {
        "version": 7,
        "decision_id": DECISION["id"],
        "key": "claim_outcome",
        "before": None,
        "after": "approve",
        "rationale": DECISION["rationale"],
        "template_version": 1,
    },
    EventType.AUTOMATION_RAN: {
        "rule": "notify_policyholder_of_outcome",
        "rule_name": "Tell the policyholder the outcome",
        "trigger": {"event_id": DECISION_EVENT, "type": "decision.recorded"},
        "verdict": "fired",
        "condition": True,
        "error": None,
        "actions": [{"index": 0, "type": "send_email", "status": "done", "error": None}],
    },
    EventType.CASE_ROLE_ASSIGNED: {"version": 8, "before": None, "after": "claims_handler"},
    EventType.TASK_CREATED: {
        "version": 8,
        "task_id": PAYMENT_TASK,
        "key": None,
        "title": "Pay 2,450.00 EUR to the policyholder",
        "required": True,
        "due_at": PAYMENT_TASK_DUE,
        "reason": "The claim is approved; the payment closes it.",
        "assignee": HANDLER,
        "assignee_role": "claims_handler",
    },
    EventType.TASK_ASSIGNED: {
        "version": 9,
        "task_id": PAYMENT_TASK,
        "title": "Pay 2,450.00 EUR to the policyholder",
        "before": {"assignee": HANDLER, "assignee_role": "claims_handler"},
        "after": {"assignee": SENIOR, "assignee_role": "claims_handler"},
    },
    EventType.SLA_WARNING: {
        "timer_id": f"task:{PAYMENT_TASK}:warning",
        "due_at": "2026-12-03T06:16:03+00:00",
        "scope": "task",
        "task_id": PAYMENT_TASK,
        "title": "Pay 2,450.00 EUR to the policyholder",
        "task_due_at": PAYMENT_TASK_DUE,
    },
    EventType.SLA_BREACHED: {
        "timer_id": f"task:{PAYMENT_TASK}:due",
        "due_at": PAYMENT_TASK_DUE,
        "scope": "task",
        "task_id": PAYMENT_TASK,
        "title": "Pay 2,450.00 EUR to the policyholder",
        "task_due_at": PAYMENT_TASK_DUE,
    },
    EventType.TIMER_FIRED: {
        "timer_id": "custom:01M8RMCPM0D1MK80A5W166HZWR",
        "due_at": "2026-12-08T11:03:44+00:00",
        "name": "payment_follow_up",
    },
    EventType.TASK_REOPENED: {
        "version": 8,
        "task_id": TASK_ID,
        "title": "Acknowledge the claim to the policyholder",
        "before": "done",
        "after": "open",
        "reason": "The letter went to Mr Becker's old address; send it again.",
    },
    EventType.CASE_ASSIGNED: {
        "version": 8,
        "before": HANDLER,
        "after": SENIOR,
        "participant": {
            "participant_id": SENIOR_PARTICIPANT,
            "kind": "internal",
            "role": "claims_handler",
            "user_id": SENIOR,
        },
    },
    EventType.PARTICIPANT_ROLE_CHANGED: {
        "version": 8,
        "participant_id": CLAIMANT,
        "before": "claimant",
        "after": "witness",
    },
    EventType.PARTICIPANT_REMOVED: {"version": 8, "participant_id": CLAIMANT, "kind": "external", "role": "claimant"},
    EventType.PARTICIPANT_LANGUAGE_CHANGED: {"version": 8, "participant_id": CLAIMANT, "before": None, "after": "de"},
    EventType.DOCUMENT_REQUESTED: {
        "version": 8,
        "request_id": "01M8RR9330MRPJVHMHXEJ4TC4N",
        "document_type": "repair_estimate",
        "from_role": "claimant",
        "participant_ids": [CLAIMANT],
        "message": "Please upload the garage's final invoice for the repair.",
    },
    EventType.CASE_MIGRATED: {
        "version": 8,
        "from_version": 1,
        "to_version": 2,
        "dropped_fields": [],
        "unmet_criteria": [],
    },
    EventType.CASE_CLOSED: {
        "version": 8,
        "before": "open",
        "after": "closed",
        "reason": "Paid 2,450.00 EUR to the policyholder on 3 December.",
    },
    EventType.CASE_CANCELLED: {
        "version": 8,
        "before": "open",
        "after": "cancelled",
        "reason": "Mr Becker withdrew the claim: the other driver's insurer pays for the repair.",
    },
    EventType.CASE_REOPENED: {
        "version": 9,
        "before": "closed",
        "after": "open",
        "reason": "Mr Becker reports further damage to the boot lid that the garage found.",
    },
    EventType.AUTOMATION_REFUSED: {
        "command_id": "01M8Y7D098WHYFJW79D1MB6NTS",
        "command": "automation.move_stage",
        "action": {"type": "move_stage", "to": "settled"},
        "detail": "The case is closed; reopen it first.",
    },
    EventType.PORTAL_LINK_ISSUED: {
        "link_id": LINK_ID,
        "participant_id": CLAIMANT,
        "expires_at": "2026-12-12T16:26:12+00:00",
    },
    EventType.PORTAL_LINK_REVOKED: {
        "link_id": LINK_ID,
        "participant_id": CLAIMANT,
        "expires_at": "2026-12-12T16:26:12+00:00",
    },
    EventType.TEMPLATE_PUBLISHED: {
        "template_key": "motor-claim",
        "version": 1,
        "name": "Motor insurance claim",
        "definition": TEMPLATE_DEFINITION,
    },
    EventType.TIMELINE_EXPORTED: {
        "length": 9,
        "head_hash": "3b8e51d0c2f94a7e6d1c8b5a2f0e9d7c4b3a1f8e6d5c2b0a9f7e4d3c1b8a6f5e",
    },
    EventType.PERSONAL_DATA_ERASED: {"participant_id": CLAIMANT, "entries": 3},
}

HANDLER_ACTOR: JsonDict = {
    "kind": "user",
    "id": HANDLER,
    "display_name": "lena.hoffmann@nordlicht-versicherung.example",
}
# The cases service applies a rule's command as the rule (its key, no name), and a due timer as the timers.
TIMERS_ACTOR: JsonDict = {"kind": "automation", "id": "timers", "display_name": None}

# Each delivered event's envelope but `data` (the same for every event: its tenant and case, the type).
ENVELOPES: dict[EventType, dict[str, Any]] = {
    EventType.CASE_OPENED: {
        "event_id": "01M8HFAK4RA3T72SDPY6PNCDD4",
        "occurred_at": "2026-11-28T16:20:31Z",
        "actor": HANDLER_ACTOR,
        "personal": {"fields": {"policyholder": CASE_SNAPSHOT["fields"]["policyholder"]}},
        "visibility": "external",  # on the claimant's portal timeline
        "correlation_id": "01M8HFAJ5GJPMW3XHJ6548A5JG",
    },
    EventType.PARTICIPANT_ADDED: {
        "event_id": "01M8HFJMYRS69P70H2JKEZ74J7",
        "occurred_at": "2026-11-28T16:24:55Z",
        "actor": HANDLER_ACTOR,
        "personal": {"name": CLAIMANT_PARTICIPANT["name"], "email": CLAIMANT_PARTICIPANT["email"]},
        "subjects": [CLAIMANT],
        "correlation_id": "01M8HFJKZG3E49VG8S06M6C94N",
    },
    EventType.PORTAL_LINK_ISSUED: {
        "event_id": "01M8HFN050DH2GPK4K4BPQNPX5",
        "occurred_at": "2026-11-28T16:26:12Z",
        "actor": HANDLER_ACTOR,
        "subjects": [CLAIMANT],
        "correlation_id": "01M8HFMZ5RE8BNSNDVYPCXPP00",
    },
    EventType.COMMENT_ADDED: {
        "event_id": "01M8HFXVBGQMVMWCC53XPXGX97",
        "occurred_at": COMMENT["created_at"],
        "actor": HANDLER_ACTOR,
        "correlation_id": "01M8HFXTC8R2B11261XAHJTMWY",
    },
    EventType.TASK_COMPLETED: {
        "event_id": "01M8K9DCK0YZ7DCQ20N44V4NR6",
        "occurred_at": "2026-11-29T09:15:40Z",
        "actor": HANDLER_ACTOR,
        "correlation_id": "01M8K9DBKR62R4C0SH97114PXK",
    },
    EventType.DOCUMENT_ADDED: {
        "event_id": "01M8KDQW7GMBNXJFFWB62116EC",
        "occurred_at": "2026-11-29T10:31:18Z",
        "actor": HANDLER_ACTOR,
        "personal": {"filename": "estimate-garage-mueller.pdf"},
        "visibility": "external",
        "correlation_id": "01M8KDQV88PSNAFZFK7JKS26X3",
    },
    EventType.CASE_STAGE_CHANGED: {
        "event_id": "01M8KEBP0R5BSDF4YHM7W4WRHS",
        "occurred_at": "2026-11-29T10:42:07Z",
        "actor": HANDLER_ACTOR,
        "visibility": "external",
        "correlation_id": "01M8KEBN1G029BKBBWFTPHX6R5",
    },
    EventType.CASE_FIELDS_CHANGED: {
        "event_id": "01M8NT5ZM0J7QPYMVP41QQ16C1",
        "occurred_at": "2026-11-30T08:47:12Z",
        "actor": HANDLER_ACTOR,
        "correlation_id": "01M8NT5YMR2CJBMN3Z4SYVYYQC",
    },
    EventType.DECISION_RECORDED: {
        "event_id": DECISION_EVENT,
        "occurred_at": DECISION["decided_at"],
        "actor": HANDLER_ACTOR,
        "correlation_id": "01M8RMCNMRVRFVVDY394F7J6BY",
    },
    EventType.AUTOMATION_RAN: {
        "event_id": "01M8RMCPM02M0YW84HB2SC4FNH",
        "occurred_at": "2026-12-01T11:03:46.518204Z",
        "actor": {
            "kind": "automation",
            "id": "notify_policyholder_of_outcome",
            "display_name": "Tell the policyholder the outcome",
        },
        "correlation_id": "01M8RMCNMRVRFVVDY394F7J6BY",
        "causation_id": DECISION_EVENT,
        "causation_depth": 1,
    },
    EventType.CASE_ROLE_ASSIGNED: {
        "event_id": "01M8RMCSHRX7ZEAQAXFJ04QHFD",
        "occurred_at": "2026-12-01T11:03:47.120377Z",
        "actor": {"kind": "automation", "id": "queue_approved_claims", "display_name": None},
        "correlation_id": "01M8RMCNMRVRFVVDY394F7J6BY",
        "causation_id": "01M8RMCPM0Q7V3KD9XW1TEGB5R",  # the rule's command
        "causation_depth": 1,
    },
    EventType.TASK_CREATED: {
        "event_id": "01M8RNAYCRYQ71PEGPZT4WQJT0",
        "occurred_at": "2026-12-01T11:20:15Z",
        "actor": HANDLER_ACTOR,
        "correlation_id": "01M8RNAXDGN4WE3G8YMEACCXGG",
    },
    EventType.TASK_ASSIGNED: {
        "event_id": "01M8TWK568ZE73EEQVV8BTRR35",
        "occurred_at": "2026-12-02T08:05:33Z",
        "actor": HANDLER_ACTOR,
        "correlation_id": "01M8TWK4700EX8FX29YQ32RZWD",
    },
    EventType.SLA_WARNING: {
        "event_id": "01M8X8QC5RT4D7WZJ2H8MXQ1AC",
        "occurred_at": "2026-12-03T06:16:31.204519Z",
        "actor": TIMERS_ACTOR,
        "correlation_id": "01M8RNAXDGN4WE3G8YMEACCXGG",  # the request that created the task set its timers
        "causation_id": "01M8X8QC5R9FBG6REN0KBEN3KP",  # the timer's command
    },
    EventType.SLA_BREACHED: {
        "event_id": "01M8YDJFM0B6RX1N5TK3GWE9DZ",
        "occurred_at": "2026-12-03T17:00:41.377060Z",
        "actor": TIMERS_ACTOR,
        "correlation_id": "01M8RNAXDGN4WE3G8YMEACCXGG",
        "causation_id": "01M8YDJFM0Z3HPQ2HVSWVMY68P",
    },
    EventType.TIMER_FIRED: {
        "event_id": "01M9AN5QM0H2C8ZT6NVKBY7W3E",
        "occurred_at": "2026-12-08T11:04:11.902146Z",
        "actor": TIMERS_ACTOR,
        "correlation_id": "01M8RMCNMRVRFVVDY394F7J6BY",  # the rule that started it ran on the decision
        "causation_id": "01M9AN5QM0RJRXRXAHQ03SF24K",
        "causation_depth": 1,
    },
    EventType.TASK_REOPENED: {
        "event_id": "01M8RV6Q60T6ZZFFHXXF9GZ50B",
        "occurred_at": "2026-12-01T13:02:48Z",
        "actor": HANDLER_ACTOR,
        "correlation_id": "01M8RV6P6RE9278TFE7M9Y54RF",
    },
    EventType.CASE_ASSIGNED: {
        "event_id": "01M8RZM5HRBRQ5HDBSCN7472FC",
        "occurred_at": "2026-12-01T14:20:03Z",
        "actor": HANDLER_ACTOR,
        "correlation_id": "01M8RZM4JGTWP9TT8ZKTV55GZQ",
    },
    EventType.PARTICIPANT_ROLE_CHANGED: {
        "event_id": "01M8S3ZHGGAYEKJJTPBZV186WE",
        "occurred_at": "2026-12-01T15:36:10Z",
        "actor": HANDLER_ACTOR,
        "correlation_id": "01M8S3ZGH8KB757S4WHAD6PMX4",
    },
    EventType.PARTICIPANT_REMOVED: {
        "event_id": "01M8V74N00FEPXCC7W0K7Z4M42",
        "occurred_at": "2026-12-02T11:09:52Z",
        "actor": HANDLER_ACTOR,
        "correlation_id": "01M8V74M0R5X0FMF7WHWA4F8ST",
    },
    EventType.PARTICIPANT_LANGUAGE_CHANGED: {
        "event_id": "01M8V9QK2G3WJ6F1R8T5XNB7YD",
        "occurred_at": "2026-12-02T11:54:17Z",
        "actor": HANDLER_ACTOR,
        "correlation_id": "01M8V9QJ3R0C4Y8H2K6P9MSW5E",
    },
    EventType.DOCUMENT_REQUESTED: {
        "event_id": "01M8RR9330C091QR97MV4Z982E",
        "occurred_at": "2026-12-01T12:11:40Z",
        "actor": HANDLER_ACTOR,
        "correlation_id": "01M8RR923RNVZ3SD03W88Z64QY",
    },
    EventType.CASE_MIGRATED: {
        "event_id": "01M8V410GRDJ0T824T6XNYG7ZV",
        "occurred_at": "2026-12-02T10:15:27Z",
        "actor": HANDLER_ACTOR,
        "correlation_id": "01M8V40ZHGD8JN9M8JTPGB37GV",
    },
    EventType.CASE_CLOSED: {
        "event_id": "01M8Y7D09827MVSTR59WMXFJ38",
        "occurred_at": "2026-12-03T15:12:09Z",
        "actor": HANDLER_ACTOR,
        "correlation_id": "01M8Y7CZA0H7Q80DNWNWCTEM5S",
    },
    EventType.PORTAL_LINK_REVOKED: {
        "event_id": "01M8Y7H9ZGD5H6667MJVN7JG4Y",
        "occurred_at": "2026-12-03T15:14:30Z",
        "actor": HANDLER_ACTOR,
        "subjects": [CLAIMANT],
        "correlation_id": "01M8Y7H908D3GKSQ907DEQQDRQ",
    },
    EventType.AUTOMATION_REFUSED: {
        "event_id": "01M8Y7D0983FA2QK6ZC8VNE4RD",
        "occurred_at": "2026-12-03T15:12:10.664381Z",
        "actor": {"kind": "automation", "id": "settle_closed_claims", "display_name": None},
        "correlation_id": "01M8Y7CZA0H7Q80DNWNWCTEM5S",  # the rule ran on the case's closing
        "causation_id": "01M8Y7D098WHYFJW79D1MB6NTS",  # the refused command
        "causation_depth": 1,
    },
    EventType.CASE_CANCELLED: {
        "event_id": "01M8V2FCM8VQJEGQW7BBDDSNVG",
        "occurred_at": "2026-12-02T09:48:21Z",
        "actor": HANDLER_ACTOR,
        "correlation_id": "01M8V2FBN0BKAM7MHGE1WYT088",
    },
    EventType.CASE_REOPENED: {
        "event_id": "01M9068X4R4KP1X6M7VQ9KDCP3",
        "occurred_at": "2026-12-04T09:30:55Z",
        "actor": HANDLER_ACTOR,
        "correlation_id": "01M9068W5GWMV4KQ8EQHM4KMRT",
    },
}


def _case(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**base, **changes}


_OPEN_TASK = {**CASE_SNAPSHOT["tasks"][0], "status": "open", "completed_at": None, "completed_by": None}
_DECIDED = CASE_SNAPSHOT  # version 7
_ASSESSED = _case(_DECIDED, decisions=[], version=5, updated_at="2026-11-29T10:42:07Z")  # before the decision
# The garage's estimate raised the amount claimed at version 6.
_UNASSESSED = _case(_ASSESSED, fields={**_ASSESSED["fields"], "claim_amount": {"amount": "2100.00", "currency": "EUR"}})
_SUBMITTED = _case(
    _UNASSESSED,
    stage="submitted",
    stage_entered_at="2026-11-28T16:20:31Z",
    stage_due_at="2026-12-01T16:20:31Z",
    stage_history=[],
    version=4,
    updated_at="2026-11-29T10:31:18Z",
)
_ACKNOWLEDGED = _case(_SUBMITTED, documents=[], version=3, updated_at="2026-11-29T09:15:40Z")
_JOINED = _case(_ACKNOWLEDGED, tasks=[_OPEN_TASK], version=2, updated_at="2026-11-28T16:24:55Z")
_OPENED = _case(_JOINED, participants=[HANDLER_PARTICIPANT], version=1, updated_at="2026-11-28T16:20:31Z")
_PAYMENT_TASK = {
    "id": PAYMENT_TASK,
    "key": None,
    "title": "Pay 2,450.00 EUR to the policyholder",
    "stage": "assessment",
    "required": True,
    "status": "open",
    "assignee": HANDLER,
    "assignee_role": "claims_handler",
    "due_at": PAYMENT_TASK_DUE,
    "created_at": "2026-12-01T11:20:15Z",
    "created_by": HANDLER,
    "reason": "The claim is approved; the payment closes it.",
}
_PAYMENT_DUE = _case(_DECIDED, tasks=[*_DECIDED["tasks"], _PAYMENT_TASK], version=8, updated_at="2026-12-01T11:20:15Z")
_CLOSED = _case(
    _DECIDED,
    status="closed",
    status_reason=DATA[EventType.CASE_CLOSED]["reason"],
    closed_at="2026-12-03T15:12:09Z",
    version=8,
    updated_at="2026-12-03T15:12:09Z",
)


def _after(event_type: EventType, **changes: Any) -> dict[str, Any]:
    """Version 7 changed by one event (version 8)."""
    moment = ENVELOPES[event_type]["occurred_at"]
    return _case(_DECIDED, **changes, version=8, updated_at=moment)


# The case as each event left it, as the cases service carries it beside the event (the portal's events carry
# none). Its JSON form is the case's as GET /cases/{case_id} answers it.
CASES: dict[EventType, dict[str, Any] | None] = {
    EventType.CASE_OPENED: _OPENED,
    EventType.PARTICIPANT_ADDED: _JOINED,
    EventType.PORTAL_LINK_ISSUED: None,
    EventType.COMMENT_ADDED: _JOINED,  # a comment is kept beside the case: its version stays
    EventType.TASK_COMPLETED: _ACKNOWLEDGED,
    EventType.DOCUMENT_ADDED: _SUBMITTED,
    EventType.CASE_STAGE_CHANGED: _UNASSESSED,
    EventType.CASE_FIELDS_CHANGED: _case(_ASSESSED, version=6, updated_at="2026-11-30T08:47:12Z"),
    EventType.DECISION_RECORDED: _DECIDED,
    EventType.AUTOMATION_RAN: _DECIDED,
    EventType.CASE_ROLE_ASSIGNED: _after(EventType.CASE_ROLE_ASSIGNED, assigned_role="claims_handler"),
    EventType.TASK_CREATED: _PAYMENT_DUE,
    EventType.TASK_ASSIGNED: _case(
        _PAYMENT_DUE,
        tasks=[*_DECIDED["tasks"], {**_PAYMENT_TASK, "assignee": SENIOR}],
        version=9,
        updated_at="2026-12-02T08:05:33Z",
    ),
    EventType.SLA_WARNING: _PAYMENT_DUE,  # a timer changes nothing on the case
    EventType.SLA_BREACHED: _PAYMENT_DUE,
    EventType.TIMER_FIRED: _PAYMENT_DUE,
    EventType.TASK_REOPENED: _after(EventType.TASK_REOPENED, tasks=[_OPEN_TASK]),
    EventType.CASE_ASSIGNED: _after(
        EventType.CASE_ASSIGNED,
        owner=SENIOR,
        participants=[
            *_DECIDED["participants"],
            {
                "id": SENIOR_PARTICIPANT,
                "kind": "internal",
                "role": "claims_handler",
                "user_id": SENIOR,
                "added_at": "2026-12-01T14:20:03Z",
                "added_by": HANDLER,
            },
        ],
    ),
    EventType.PARTICIPANT_ROLE_CHANGED: _after(
        EventType.PARTICIPANT_ROLE_CHANGED,
        participants=[HANDLER_PARTICIPANT, {**CLAIMANT_PARTICIPANT, "role": "witness"}],
    ),
    EventType.PARTICIPANT_REMOVED: _after(EventType.PARTICIPANT_REMOVED, participants=[HANDLER_PARTICIPANT]),
    EventType.PARTICIPANT_LANGUAGE_CHANGED: _after(
        EventType.PARTICIPANT_LANGUAGE_CHANGED,
        participants=[HANDLER_PARTICIPANT, {**CLAIMANT_PARTICIPANT, "language": "de"}],
    ),
    EventType.DOCUMENT_REQUESTED: _after(
        EventType.DOCUMENT_REQUESTED,
        requests=[
            {
                "id": DATA[EventType.DOCUMENT_REQUESTED]["request_id"],
                "document_type": "repair_estimate",
                "from_role": "claimant",
                "message": DATA[EventType.DOCUMENT_REQUESTED]["message"],
                "requested_at": "2026-12-01T12:11:40Z",
                "requested_by": HANDLER,
            }
        ],
    ),
    EventType.CASE_MIGRATED: _after(EventType.CASE_MIGRATED, template_version=2),
    EventType.CASE_CLOSED: _CLOSED,
    EventType.PORTAL_LINK_REVOKED: None,
    EventType.AUTOMATION_REFUSED: _CLOSED,
    EventType.CASE_CANCELLED: _after(
        EventType.CASE_CANCELLED,
        status="cancelled",
        status_reason=DATA[EventType.CASE_CANCELLED]["reason"],
        closed_at="2026-12-02T09:48:21Z",
    ),
    EventType.CASE_REOPENED: _case(
        _CLOSED,
        status="open",
        status_reason=DATA[EventType.CASE_REOPENED]["reason"],
        closed_at=None,
        version=9,
        updated_at="2026-12-04T09:30:55Z",
    ),
}

# The claim told in order, each event with the case it left: opened, staffed, worked, decided, closed, reopened.
CLAIM_HISTORY: tuple[EventType, ...] = (
    EventType.CASE_OPENED,
    EventType.PARTICIPANT_ADDED,
    EventType.COMMENT_ADDED,
    EventType.TASK_COMPLETED,
    EventType.DOCUMENT_ADDED,
    EventType.CASE_STAGE_CHANGED,
    EventType.CASE_FIELDS_CHANGED,
    EventType.DECISION_RECORDED,
    EventType.CASE_CLOSED,
    EventType.CASE_REOPENED,
)
