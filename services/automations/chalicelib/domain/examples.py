"""The water damage claim the API reference's examples show, in the JSON the API sends: the case a dry run is
given, and the event (with the case as it left it) a webhook delivery carries."""

import json

from caseline_common.examples import WATER_DAMAGE_FIELDS
from pydantic.config import JsonDict

CLAIM: JsonDict = {
    "id": "01JF3Z8Q4V6W7X8Y9Z0A1B2C3D",
    "tenant_id": "nordlicht",
    "template_key": "insurance-claim",
    "template_version": 1,
    "title": "Water damage from a burst pipe, Köln-Ehrenfeld",
    "owner": "3f6c2a9e-8b1d-4c57-9e2f-6a0d4b8c1e75",
    "stage": "submitted",
    "stage_entered_at": "2027-01-04T08:12:25.129859Z",
    "stage_due_at": "2027-01-06T17:00:00Z",
    "stage_history": [],
    "status": "open",
    "status_reason": None,
    "closed_at": None,
    "assigned_role": None,
    "requests": [],
    "fields": {
        "policyholder": {"kind": "person", "name": "Anna Schmidt", "email": "anna.schmidt@example.de"},
        "policyholder_email": "anna.schmidt@example.de",
        "policyholder_phone": "+4922112345678",
        **WATER_DAMAGE_FIELDS,
    },
    "participants": [
        {
            "id": "01JF3Z8H7C1Y8A925V0KZSQECN",
            "kind": "internal",
            "role": "claims_handler",
            "user_id": "3f6c2a9e-8b1d-4c57-9e2f-6a0d4b8c1e75",
            "name": None,
            "email": None,
            "added_at": "2027-01-04T08:12:25.129859Z",
            "added_by": "3f6c2a9e-8b1d-4c57-9e2f-6a0d4b8c1e75",
        },
        {
            "id": "01JF3Z8KHY8W21WDHGHTVPCQ8G",
            "kind": "external",
            "role": "claimant",
            "user_id": None,
            "name": "Anna Schmidt",
            "email": "anna.schmidt@example.de",
            "added_at": "2027-01-04T08:12:27.518107Z",
            "added_by": "invite_claimant",
        },
    ],
    "tasks": [
        {
            "id": "01JF3Z8H7C1Y8A925V0KZSQECP",
            "key": "acknowledge_claim",
            "title": "Acknowledge the claim to the policyholder",
            "stage": "submitted",
            "required": True,
            "status": "open",
            "assignee": None,
            "assignee_role": "claims_handler",
            "due_at": "2027-01-06T11:00:00Z",
            "created_at": "2027-01-04T08:12:25.129859Z",
            "created_by": "3f6c2a9e-8b1d-4c57-9e2f-6a0d4b8c1e75",
            "reason": None,
            "completed_at": None,
            "completed_by": None,
        }
    ],
    "documents": [],
    "decisions": [],
    "created_at": "2027-01-04T08:12:25.129859Z",
    "created_by": "3f6c2a9e-8b1d-4c57-9e2f-6a0d4b8c1e75",
    "updated_at": "2027-01-04T08:12:27.518107Z",
    "version": 2,
}

# The large-claim rule assigned the claim to the senior reviewers: the event, and the case it left behind.
ROLE_ASSIGNED: JsonDict = {
    "event_id": "01JF3Z8M9KTWD6CY2924D8Y46E",
    "tenant_id": "nordlicht",
    "case_id": "01JF3Z8Q4V6W7X8Y9Z0A1B2C3D",
    "type": "case.role_assigned",
    "occurred_at": "2027-01-04T08:12:28.275158Z",
    "actor": {"kind": "automation", "id": "large_claim_opened", "display_name": None},
    "data": {"version": 3, "before": None, "after": "senior_reviewer"},
    "personal": {},
    "subjects": [],
    "visibility": "internal",
    "correlation_id": "01JF3Z8H2CWEEXEMCBY8GH81HW",
    "causation_id": "01JF3Z8H79QXFM76KDZJNHFM29",
    "causation_depth": 1,
}
ROLE_ASSIGNED_PAYLOAD = json.dumps(
    {
        "type": ROLE_ASSIGNED["type"],
        "timestamp": ROLE_ASSIGNED["occurred_at"],
        "data": {
            **ROLE_ASSIGNED,
            "case": {
                **CLAIM,
                "assigned_role": "senior_reviewer",
                "updated_at": ROLE_ASSIGNED["occurred_at"],
                "version": 3,
            },
        },
    },
    separators=(",", ":"),
    ensure_ascii=False,
)
