"""Realistic bodies for the API reference: one motor insurance claim, from its template to its decision. Each model
names its example in `json_schema_extra`, and the OpenAPI document shows it beside the schema; a unit test
validates every example against its model. Kept here because several models (and services) share them."""

from typing import Any

# The claims handler who works the case (a Cognito subject), and the ids of what the case holds.
HANDLER = "5c1e9a7b-3f2d-4e8a-9b6c-0d4f2a1e7c3b"
CASE_ID = "01JF3Z8Q4V6W7X8Y9Z0A1B2C3D"
TASK_ID = "01JF3Z8Q4V6W7X8Y9Z0A1B2C3F"
UPLOAD_ID = "01JF3ZC9A1B3C5D7E9F1G3H5JK"
SHA256 = "9f2c1a7e5b3d48f0a6c2e1d7b9f4a3c8e5d2b1a0f9e8d7c6b5a4f3e2d1c0b9a8"

TEMPLATE_DEFINITION: dict[str, Any] = {
    "key": "motor-claim",
    "name": "Motor insurance claim",
    "description": "A policyholder's claim for damage to their car, from first notice of loss to payment.",
    "fields": [
        {"key": "policyholder", "label": "Policyholder", "type": "party", "required": True},
        {
            "key": "policy_number",
            "label": "Policy number",
            "type": "text",
            "required": True,
            "pattern": "^MP-[0-9]{6}$",
        },
        {"key": "incident_date", "label": "Date of the incident", "type": "date", "required": True},
        {"key": "claim_amount", "label": "Amount claimed", "type": "money", "currencies": ["EUR"]},
    ],
    "stages": [
        {
            "key": "submitted",
            "name": "Claim submitted",
            "required_fields": ["claim_amount"],
            "tasks": [
                {
                    "key": "acknowledge_claim",
                    "title": "Acknowledge the claim to the policyholder",
                    "assignee_role": "claims_handler",
                    "due_in": {"amount": 1, "unit": "business_days"},
                }
            ],
        },
        {"key": "assessment", "name": "Assessment", "next": ["settled", "rejected"]},
        {"key": "settled", "name": "Settled", "next": []},
        {"key": "rejected", "name": "Rejected", "next": []},
    ],
    "document_types": [
        {
            "key": "repair_estimate",
            "name": "Repair estimate",
            "content_types": ["application/pdf", "image/jpeg"],
            "max_size_bytes": 10485760,
            "required_in_stages": ["assessment"],
            "external": True,
        }
    ],
    "decisions": [
        {
            "key": "claim_outcome",
            "label": "Claim outcome",
            "options": ["approve", "reject"],
            "decider_roles": ["claims_handler"],
            "required_in_stages": ["assessment"],
        }
    ],
    "roles": [
        {
            "key": "claims_handler",
            "name": "Claims handler",
            "permissions": [
                "case.view",
                "case.transition",
                "case.assign",
                "case.close",
                "task.manage",
                "task.complete",
                "participant.manage",
                "document.upload",
                "document.view",
                "comment.internal",
                "comment.external",
            ],
            "fields": {"*": "edit"},
            "groups": ["claims-handlers"],
        },
        {
            "key": "claimant",
            "name": "Claimant",
            "kind": "external",
            "permissions": ["case.view", "document.upload", "comment.external"],
            "fields": {"*": "view"},
        },
    ],
    "owner_role": "claims_handler",
}

PUBLISHED_TEMPLATE: dict[str, Any] = {
    "definition": TEMPLATE_DEFINITION,
    "version": 1,
    "published_at": "2026-11-20T14:05:12Z",
    "published_by": HANDLER,
}

CASE_SNAPSHOT: dict[str, Any] = {
    "id": CASE_ID,
    "tenant_id": "nordlicht",
    "template_key": "motor-claim",
    "template_version": 1,
    "title": "Rear-end collision on the A7",
    "owner": HANDLER,
    "stage": "assessment",
    "stage_entered_at": "2026-11-29T10:42:07Z",
    "stage_history": [
        {
            "stage": "submitted",
            "entered_at": "2026-11-28T16:20:31Z",
            "due_at": "2026-12-01T16:20:31Z",
            "left_at": "2026-11-29T10:42:07Z",
        }
    ],
    "status": "open",
    "fields": {
        "policyholder": {"kind": "person", "name": "Jonas Becker", "email": "jonas.becker@example.org"},
        "policy_number": "MP-204518",
        "incident_date": "2026-11-28",
        "claim_amount": {"amount": "2450.00", "currency": "EUR"},
    },
    "participants": [
        {
            "id": "01JF3Z8Q4V6W7X8Y9Z0A1B2C3E",
            "kind": "internal",
            "role": "claims_handler",
            "user_id": HANDLER,
            "added_at": "2026-11-28T16:20:31Z",
            "added_by": HANDLER,
        },
        {
            "id": "01JF3ZB1R6K2M4N8P0Q3S5T7VW",
            "kind": "external",
            "role": "claimant",
            "name": "Jonas Becker",
            "email": "jonas.becker@example.org",
            "added_at": "2026-11-28T16:24:55Z",
            "added_by": HANDLER,
        },
    ],
    "tasks": [
        {
            "id": TASK_ID,
            "key": "acknowledge_claim",
            "title": "Acknowledge the claim to the policyholder",
            "stage": "submitted",
            "required": True,
            "status": "done",
            "assignee_role": "claims_handler",
            "due_at": "2026-11-30T17:00:00Z",
            "created_at": "2026-11-28T16:20:31Z",
            "created_by": HANDLER,
            "completed_at": "2026-11-29T09:15:40Z",
            "completed_by": HANDLER,
        }
    ],
    "documents": [
        {
            "type": "repair_estimate",
            "versions": [
                {
                    "version": 1,
                    "upload_id": UPLOAD_ID,
                    "object_key": f"documents/{CASE_ID}/repair_estimate/1",
                    "filename": "estimate-garage-mueller.pdf",
                    "content_type": "application/pdf",
                    "size": 182340,
                    "sha256": SHA256,
                    "uploaded_by": HANDLER,
                    "uploaded_at": "2026-11-29T10:31:18Z",
                }
            ],
        }
    ],
    "decisions": [
        {
            "id": "01JF3ZD7H2K9M4N6P8Q0R3S5TX",
            "key": "claim_outcome",
            "outcome": "approve",
            "rationale": "Liability is clear from the police report; the estimate is within the policy limits.",
            "decided_by": HANDLER,
            "decided_at": "2026-12-01T11:03:44Z",
            "template_version": 1,
        }
    ],
    "created_at": "2026-11-28T16:20:31Z",
    "created_by": HANDLER,
    "updated_at": "2026-12-01T11:03:44Z",
    "version": 7,
}

COMMENT: dict[str, Any] = {
    "id": "01JF3ZC4E8G1J3K5M7N9P2Q4RS",
    "case_id": CASE_ID,
    "body": "Called Mr Becker: the photos of the damage follow by e-mail today.",
    "external": False,
    "author": HANDLER,
    "created_at": "2026-11-28T16:31:02Z",
}

# The field values a household claim shows where the read plane's and automations' examples need a case: a burst
# pipe in Köln (the personal fields, such as the policyholder, travel apart).
WATER_DAMAGE_FIELDS: dict[str, Any] = {
    "policy_number": "POL-30917245",
    "claim_type": "buildings",
    "incident_at": "2027-01-03T06:15:00+01:00",
    "incident_location": "Venloer Straße 412, 50825 Köln",
    "incident_description": (
        "A pipe burst in the bathroom overnight; water came through the "
        "kitchen ceiling and soaked the floor and the cupboards."
    ),
    "claim_amount": {"amount": "14200.00", "currency": "EUR"},
    "damage_categories": ["water", "property"],
}
