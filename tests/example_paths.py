"""The paths a case takes through each example template in examples/templates: what a person does in each
stage and what the case is expected to refuse before they have done it. Data only, shared by the drivers
that run it: tests/unit/test_example_templates.py (the domain, no AWS) and
tests/e2e/test_example_templates_http.py (the local stack, over HTTP)."""

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from caseline_common.contracts import StageDefinition, TemplateDefinition

ROOT = Path(__file__).parents[1]
EXAMPLES = ROOT / "examples" / "templates"
NAMES = (
    "hr-employee-onboarding",
    "legal-client-intake",
    "insurance-claim",
    "healthcare-patient-referral",
    "university-admission",
    "kyc-compliance-review",
)


def document(name: str) -> dict[str, Any]:
    """The example as its JSON file holds it."""
    loaded: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text())
    return loaded


def load(name: str) -> TemplateDefinition:
    return TemplateDefinition.model_validate(document(name))


# What a person does in a stage


@dataclass(frozen=True)
class Fields:
    values: dict[str, Any]


@dataclass(frozen=True)
class CompleteTasks:
    """Marks every open required task of the current stage done, one at a time."""


@dataclass(frozen=True)
class Upload:
    document_type: str
    filename: str


@dataclass(frozen=True)
class Decide:
    key: str
    outcome: str
    rationale: str | None = None


@dataclass(frozen=True)
class Invite:
    """Adds the external participant (the client, claimant, patient...)."""

    role: str
    name: str
    email: str


Step = Fields | CompleteTasks | Upload | Decide | Invite


@dataclass(frozen=True)
class Stage:
    key: str
    steps: list[Step]
    to: str | None = None  # the stage to move on to; None closes the case
    met_on_entry: tuple[str, ...] = ()  # criteria (by description) that already hold when the stage is entered
    refused_after: tuple[str, ...] = ()  # other branches, still closed by their entry criteria once the steps are done


@dataclass(frozen=True)
class CasePath:
    template: str
    name: str
    title: str
    fields: dict[str, Any]
    stages: list[Stage]

    @property
    def id(self) -> str:
        return f"{self.template}:{self.name}"


# The paths: each template's main path from opening to closure, and the other branches


HR_MAIN = CasePath(
    "hr-employee-onboarding",
    "main",
    "Sanne de Vries, backend engineer",
    {
        "employee": {"kind": "person", "name": "Sanne de Vries", "email": "sanne.devries@example.org"},
        "personal_email": "sanne.devries@example.org",
        "mobile_phone": "+31612345678",
        "job_title": "Backend engineer",
        "department": "engineering",
        "employment_type": "permanent",
        "start_date": "2025-04-01",
    },
    [
        Stage(
            "offer_accepted",
            [
                Invite("new_hire", "Sanne de Vries", "sanne.devries@example.org"),
                Fields({"annual_salary": {"amount": "64000.00", "currency": "EUR"}, "weekly_hours": 40}),
                CompleteTasks(),
                Upload("signed_contract", "employment-contract-signed.pdf"),
                Fields({"contract_signed": True}),
            ],
            to="pre_boarding",
        ),
        Stage(
            "pre_boarding",
            [
                Upload("id_document", "passport.pdf"),
                Upload("payroll_tax_form", "loonheffingenverklaring.pdf"),
                Fields(
                    {
                        "payroll_iban": "NL91ABNA0417164300",
                        "equipment": ["laptop", "monitor", "access_badge"],
                        "welcome_meeting_at": "2025-04-01T09:30:00+02:00",
                    }
                ),
                Decide("right_to_work", "verified"),
                CompleteTasks(),
            ],
            to="first_day",
        ),
        Stage("first_day", [CompleteTasks()], to="probation"),
        Stage(
            "probation",
            [
                CompleteTasks(),
                Upload("probation_review", "probation-review.pdf"),
                Decide(
                    "probation_outcome", "confirm", "Met every goal of the first quarter; the team wants her to stay."
                ),
            ],
            to="completed",
        ),
        Stage("completed", [CompleteTasks()]),
    ],
)

LEGAL_ENQUIRY = Stage(
    "enquiry",
    [
        Invite("client", "Daniel Okafor", "d.okafor@example.com"),
        CompleteTasks(),
        Fields(
            {
                "other_parties": "Northwind Logistics Ltd\nJane Pritchard (HR director)",
                "jurisdictions": ["england_and_wales"],
                "limitation_date": "2025-06-12",
            }
        ),
    ],
    to="conflict_check",
)
LEGAL_MAIN = CasePath(
    "legal-client-intake",
    "main",
    "Okafor v Northwind Logistics: unfair dismissal",
    {
        "client": {"kind": "person", "name": "Daniel Okafor", "email": "d.okafor@example.com"},
        "client_email": "d.okafor@example.com",
        "client_phone": "+447700900123",
        "client_type": "individual",
        "practice_area": "employment",
        "matter_description": "Dismissed after six years' service without a hearing; wants advice on an unfair "
        "dismissal claim and the notice pay still owed.",
        "fee_arrangement": "hourly",
    },
    [
        LEGAL_ENQUIRY,
        Stage(
            "conflict_check",
            [
                CompleteTasks(),
                Decide("conflict_outcome", "clear", "No match for the client or either of the other parties."),
                Decide("accept_instruction", "accept", "Good prospects; the employment team has capacity."),
            ],
            to="client_due_diligence",
            refused_after=("declined",),
        ),
        Stage(
            "client_due_diligence",
            [
                Upload("proof_of_identity", "passport.pdf"),
                Upload("proof_of_address", "council-tax-bill.pdf"),
                CompleteTasks(),
                Fields({"aml_verified": True}),
            ],
            to="engagement",
            met_on_entry=("Companies, charities and public bodies provide a register extract",),
        ),
        Stage(
            "engagement",
            [
                CompleteTasks(),
                Upload("engagement_letter", "engagement-letter-signed.pdf"),
                Fields(
                    {
                        "hourly_rate": {"amount": "275.00", "currency": "GBP"},
                        "estimated_value": {"amount": "45000.00", "currency": "GBP"},
                        "engagement_signed_at": "2025-03-20T14:05:00+00:00",
                    }
                ),
            ],
            to="matter_open",
        ),
        Stage("matter_open", [Fields({"matter_number": "M-2025-00417"}), CompleteTasks()]),
    ],
)
LEGAL_CONFLICTED = CasePath(
    "legal-client-intake",
    "conflicted",
    "Okafor v Northwind Logistics: unfair dismissal",
    LEGAL_MAIN.fields,
    [
        LEGAL_ENQUIRY,
        Stage(
            "conflict_check",
            [
                CompleteTasks(),
                Decide("conflict_outcome", "conflicted", "We act for Northwind Logistics in a current matter."),
                Decide("accept_instruction", "decline", "Conflict with an existing client; no waiver is possible."),
            ],
            to="declined",
            refused_after=("client_due_diligence",),
        ),
        Stage("declined", [CompleteTasks()]),
    ],
)

INSURANCE_FIELDS = {
    "policyholder": {"kind": "person", "name": "Lukas Becker", "email": "lukas.becker@example.de"},
    "policyholder_email": "lukas.becker@example.de",
    "policyholder_phone": "+4915123456789",
    "policy_number": "POL-20481736",
    "claim_type": "motor",
    "incident_at": "2025-03-12T22:40:00+01:00",
    "incident_description": "The side window of the parked car was smashed overnight; a laptop, a camera and "
    "the child seat were stolen.",
    "claim_amount": {"amount": "12500.00", "currency": "EUR"},
}
INSURANCE_SUBMITTED = Stage(
    "submitted",
    [
        Invite("claimant", "Lukas Becker", "lukas.becker@example.de"),
        CompleteTasks(),
        Fields(
            {
                "incident_location": "Aachener Straße 120, 50674 Köln",
                "damage_categories": ["vehicle", "theft"],
                "police_reported": True,
                "police_reference": "KK-2025-031245",
            }
        ),
    ],
    to="triage",
    met_on_entry=("A police reference is recorded when the police were called",),
)
INSURANCE_MAIN = CasePath(
    "insurance-claim",
    "main",
    "Break-in and theft from a parked car, Köln",
    INSURANCE_FIELDS,
    [
        INSURANCE_SUBMITTED,
        Stage(
            "triage",
            [
                Upload("damage_photos", "broken-window.jpg"),
                CompleteTasks(),
                Decide("coverage", "covered", "Comprehensive cover includes glass and theft of contents."),
            ],
            to="assessment",
            refused_after=("rejected",),
        ),
        Stage(
            "assessment",
            [
                Upload("repair_estimate", "kostenvoranschlag-werkstatt.pdf"),
                Upload("police_report", "anzeige-KK-2025-031245.pdf"),
                Fields({"settlement_amount": {"amount": "9800.00", "currency": "EUR"}}),
                CompleteTasks(),
            ],
            to="settlement",
        ),
        Stage(
            "settlement",
            [
                Decide(
                    "settlement",
                    "approve_partial",
                    "The laptop is paid at its current value; the EUR 300 excess applies.",
                ),
                Decide("senior_approval", "approved", "Checked against the repair estimate and the police report."),
                CompleteTasks(),
            ],
            to="payment",
            refused_after=("rejected",),
        ),
        Stage(
            "payment",
            [
                Upload("discharge_form", "abfindungserklaerung.pdf"),
                Fields({"payment_date": "2025-03-21"}),
                CompleteTasks(),
            ],
        ),
    ],
)
INSURANCE_NOT_COVERED = CasePath(
    "insurance-claim",
    "not-covered",
    "Break-in and theft from a parked car, Köln",
    INSURANCE_FIELDS,
    [
        INSURANCE_SUBMITTED,
        Stage(
            "triage",
            [
                Upload("damage_photos", "broken-window.jpg"),
                CompleteTasks(),
                Decide("coverage", "not_covered", "The policy was suspended for non-payment on the day of the loss."),
            ],
            to="rejected",
            refused_after=("assessment",),
        ),
        Stage("rejected", [CompleteTasks()]),
    ],
)

HEALTH_FIELDS = {
    "patient": {"kind": "person", "name": "Amara Singh", "email": "amara.singh@example.ca"},
    "patient_phone": "+14165550123",
    "patient_email": "amara.singh@example.ca",
    "date_of_birth": "1968-07-02",
    "health_card_number": "4532776190AB",
    "referring_clinician": {"kind": "person", "name": "Dr Helen Tremblay", "email": "h.tremblay@riverdale-fht.example"},
    "specialty": "cardiology",
    "urgency": "urgent",
    "reason_for_referral": "Exertional chest tightness for three weeks, relieved by rest; ECG shows new T-wave "
    "inversion in V4-V6. Please assess for stable angina.",
    "red_flags": ["chest_pain"],
    "interpreter_needed": True,
}
HEALTH_RECEIVED = Stage(
    "received",
    [Upload("referral_letter", "referral-tremblay.pdf"), Fields({"consent_to_share": True}), CompleteTasks()],
    to="triage",
)
HEALTH_MAIN = CasePath(
    "healthcare-patient-referral",
    "main",
    "Amara Singh: cardiology, exertional chest pain",
    HEALTH_FIELDS,
    [
        HEALTH_RECEIVED,
        Stage(
            "triage",
            [
                Fields({"triage_priority": 1}),
                Decide("triage_outcome", "accept", "Possible unstable symptoms: rapid-access chest pain clinic."),
                CompleteTasks(),
            ],
            to="scheduling",
            refused_after=("returned",),
        ),
        Stage(
            "scheduling",
            [
                Invite("patient", "Amara Singh", "amara.singh@example.ca"),
                Fields({"appointment_at": "2025-03-19T10:15:00-04:00", "preferred_language": "Punjabi"}),
                Upload("pre_visit_questionnaire", "questionnaire.pdf"),
                CompleteTasks(),
            ],
            to="consultation",
        ),
        Stage(
            "consultation",
            [
                CompleteTasks(),
                Upload("consultation_report", "consultation-report.pdf"),
                Decide("care_plan", "follow_up_in_clinic", "Stress echo booked; review with the results in six weeks."),
            ],
            to="report_sent",
        ),
        Stage("report_sent", [CompleteTasks()]),
    ],
)
HEALTH_RETURNED = CasePath(
    "healthcare-patient-referral",
    "returned",
    "Amara Singh: dermatology, hand eczema",
    {
        **HEALTH_FIELDS,
        "specialty": "dermatology",
        "urgency": "routine",
        "reason_for_referral": "Hand eczema for two years, partly controlled with emollients.",
        "red_flags": [],
        "interpreter_needed": False,
    },
    [
        HEALTH_RECEIVED,
        Stage(
            "triage",
            [
                Fields({"triage_priority": 5}),
                Decide(
                    "triage_outcome", "return_to_referrer", "Manage in primary care: stepped care guidance attached."
                ),
                CompleteTasks(),
            ],
            to="returned",
            met_on_entry=("An urgent referral is triaged as priority 1 or 2",),
            refused_after=("scheduling",),
        ),
        Stage("returned", [CompleteTasks()]),
    ],
)

UNIVERSITY_FIELDS = {
    "applicant": {"kind": "person", "name": "Chiara Rossi", "email": "chiara.rossi@example.it"},
    "applicant_email": "chiara.rossi@example.it",
    "applicant_phone": "+393471234567",
    "date_of_birth": "2001-11-23",
    "programme": "msc_data_science",
    "intake": "september_2025",
    "fee_status": "eu_eea",
    "scholarship_interest": True,
}
UNIVERSITY_APPLICATION = Stage(
    "application",
    [
        Invite("applicant", "Chiara Rossi", "chiara.rossi@example.it"),
        Fields(
            {
                "previous_degree": "BSc Statistics, Università di Bologna",
                "english_test": "ielts",
                "english_score": 7.5,
                "personal_statement": "Three years of analysing mobility data for the city of Bologna made me want "
                "to build the models, not only to read them.",
            }
        ),
        Upload("transcript", "transcript-unibo.pdf"),
        CompleteTasks(),
    ],
    to="academic_review",
)
UNIVERSITY_MAIN = CasePath(
    "university-admission",
    "main",
    "Chiara Rossi: MSc Data Science, September 2025",
    UNIVERSITY_FIELDS,
    [
        UNIVERSITY_APPLICATION,
        Stage(
            "academic_review",
            [
                Fields({"gpa": 3.4}),
                Upload("reference_letter", "reference-prof-bianchi.pdf"),
                Decide(
                    "academic_recommendation", "recommend_with_conditions", "Strong statistics; final grade pending."
                ),
                CompleteTasks(),
            ],
            to="decision",
        ),
        Stage(
            "decision",
            [Decide("admission", "conditional_admit", "Admit if the final degree result is 100/110 or better.")],
            to="offer",
            met_on_entry=("An admission follows a positive academic recommendation",),
            refused_after=("rejected",),
        ),
        Stage(
            "offer",
            [
                Fields({"tuition_fee": {"amount": "9800.00", "currency": "EUR"}}),
                Upload("offer_letter", "offer-letter.pdf"),
                Upload("deposit_receipt", "deposit-receipt.pdf"),
                Decide("offer_conditions", "met"),
                CompleteTasks(),
            ],
            to="enrolled",
        ),
        Stage("enrolled", [CompleteTasks()]),
    ],
)
UNIVERSITY_REJECTED = CasePath(
    "university-admission",
    "rejected",
    "Chiara Rossi: MSc Data Science, September 2025",
    UNIVERSITY_FIELDS,
    [
        UNIVERSITY_APPLICATION,
        Stage(
            "academic_review",
            [
                Fields({"gpa": 2.3, "interview_at": "2025-03-18T14:00:00+00:00"}),
                Upload("reference_letter", "reference-prof-bianchi.pdf"),
                Decide("academic_recommendation", "do_not_recommend", "Too little programming for the MSc."),
                CompleteTasks(),
            ],
            to="decision",
        ),
        Stage(
            "decision",
            [Decide("admission", "reject", "Does not meet the programming prerequisite.")],
            to="rejected",
            refused_after=("offer",),
        ),
        Stage("rejected", [CompleteTasks()]),
    ],
)

SCREENING_REPORT = "01JPB7V0Q6W8Y2K4M5N6P7R8S9"  # the upload id of the screening provider's report
KYC_FIELDS = {
    "customer": {"kind": "organisation", "name": "Meridian Freight S.à r.l.", "email": "kyc@meridianfreight.example"},
    "contact_email": "kyc@meridianfreight.example",
    "contact_phone": "+352621123456",
    "review_type": "onboarding",
    "registration_number": "B245871",
    "country_of_incorporation": "LU",
    "industry": "transport_logistics",
}
KYC_DATA_COLLECTION = Stage(
    "data_collection",
    [
        Invite("customer", "Élodie Marchal", "e.marchal@meridianfreight.example"),
        CompleteTasks(),
        Upload("certificate_of_incorporation", "rcs-extract-B245871.pdf"),
        Upload("ubo_declaration", "rbe-declaration.pdf"),
        Fields({"ubo_count": 2, "expected_annual_volume": {"amount": "4200000.00", "currency": "EUR"}}),
    ],
    to="screening",
)
KYC_HIGH_RISK_SCREENING = Stage(
    "screening",
    [
        CompleteTasks(),
        Fields(
            {
                "pep_identified": True,
                "risk_factors": ["pep_involved", "complex_ownership"],
                "risk_rating": "high",
                "screening_report": SCREENING_REPORT,
                "analyst_summary": "One beneficial owner is the spouse of a serving minister; ownership runs "
                "through a Cypriot holding company.",
            }
        ),
    ],
    to="enhanced_due_diligence",
    met_on_entry=("A politically exposed person makes the risk high",),
    refused_after=("approval",),
)
KYC_APPROVAL = Stage(
    "approval",
    [
        Fields({"next_review_date": "2026-03-16"}),
        Decide("kyc_approval", "approve", "EDD satisfactory; annual review and enhanced transaction monitoring."),
    ],
    to="approved",
    refused_after=("declined",),
)
KYC_MAIN = CasePath(
    "kyc-compliance-review",
    "main",
    "Meridian Freight S.à r.l.: onboarding",
    KYC_FIELDS,
    [
        KYC_DATA_COLLECTION,
        KYC_HIGH_RISK_SCREENING,
        Stage(
            "enhanced_due_diligence",
            [
                Upload("source_of_funds_evidence", "audited-accounts-2024.pdf"),
                Upload("edd_memo", "edd-memo.pdf"),
                CompleteTasks(),
                Decide("edd_outcome", "satisfactory", "Funds come from 20 years of audited freight revenue."),
            ],
            to="approval",
            refused_after=("declined",),
        ),
        KYC_APPROVAL,
        Stage("approved", [CompleteTasks()]),
    ],
)
KYC_LOW_RISK = CasePath(
    "kyc-compliance-review",
    "low-risk",
    "Meridian Freight S.à r.l.: onboarding",
    KYC_FIELDS,
    [
        KYC_DATA_COLLECTION,
        Stage(
            "screening",
            [
                CompleteTasks(),
                Fields(
                    {
                        "pep_identified": False,
                        "risk_rating": "medium",
                        "screening_report": SCREENING_REPORT,
                        "analyst_summary": "Cross-border freight; no screening hits; simple ownership.",
                    }
                ),
            ],
            to="approval",
            met_on_entry=(
                "A politically exposed person makes the risk high",
                "A high-risk customer passed enhanced due diligence",
            ),
            refused_after=("enhanced_due_diligence",),
        ),
        KYC_APPROVAL,
        Stage("approved", [CompleteTasks()]),
    ],
)
KYC_DECLINED = CasePath(
    "kyc-compliance-review",
    "declined",
    "Meridian Freight S.à r.l.: onboarding",
    KYC_FIELDS,
    [
        KYC_DATA_COLLECTION,
        KYC_HIGH_RISK_SCREENING,
        Stage(
            "enhanced_due_diligence",
            [
                Upload("source_of_funds_evidence", "bank-statements.pdf"),
                Upload("edd_memo", "edd-memo.pdf"),
                CompleteTasks(),
                Decide(
                    "edd_outcome",
                    "unsatisfactory",
                    "The source of EUR 3m paid in by the holding company is unexplained.",
                ),
            ],
            to="declined",
            refused_after=("approval",),
        ),
        Stage("declined", [CompleteTasks()]),
    ],
)

MAIN_PATHS = {
    path.template: path for path in (HR_MAIN, LEGAL_MAIN, INSURANCE_MAIN, HEALTH_MAIN, UNIVERSITY_MAIN, KYC_MAIN)
}
PATHS = [
    *MAIN_PATHS.values(),
    LEGAL_CONFLICTED,
    INSURANCE_NOT_COVERED,
    HEALTH_RETURNED,
    UNIVERSITY_REJECTED,
    KYC_LOW_RISK,
    KYC_DECLINED,
]


# What each refusal names


def expected_unmet(
    definition: TemplateDefinition,
    stage: Stage,
    *,
    fields: Mapping[str, Any],
    documents: Iterable[str],
    decisions: Iterable[str],
) -> set[tuple[str, str]]:
    """What keeps a case that has just entered `stage` there, as (stage, description) pairs, from the template:
    its requirements not yet satisfied (given the case's field values, the types of its documents and the keys
    of its decisions), every required task, and every criterion except those the path says already hold."""
    current = stage_definition(definition, stage.key)
    labels = {each.key: each.label for each in definition.fields}
    uploaded, decided = set(documents), set(decisions)
    unmet = {
        (stage.key, f'"{labels[key]}" has a value')
        for key in current.required_fields
        if fields.get(key) in (None, "", [])
    }
    unmet |= {(stage.key, f'Task "{task.title}" is done') for task in current.tasks if task.required}
    unmet |= {
        (stage.key, f'Document "{document.name}" is uploaded')
        for document in definition.document_types
        if stage.key in document.required_in_stages and document.key not in uploaded
    }
    unmet |= {
        (stage.key, f'Decision "{decision.label}" is recorded')
        for decision in definition.decisions
        if stage.key in decision.required_in_stages and decision.key not in decided
    }
    criteria = [(stage.key, criterion.description) for criterion in current.exit_criteria]
    if stage.to is not None:
        criteria += [
            (stage.to, criterion.description) for criterion in stage_definition(definition, stage.to).entry_criteria
        ]
    assert set(stage.met_on_entry) <= {description for _, description in criteria}, "unknown criterion"
    return unmet | {item for item in criteria if item[1] not in stage.met_on_entry}


def expected_closed_branch(definition: TemplateDefinition, other: str) -> set[tuple[str, str]]:
    """What a move to `other`, a branch the path does not take, names once the stage's steps are done: every
    entry criterion of that stage, which must have some."""
    entry = stage_definition(definition, other).entry_criteria
    assert entry, f"{other} is only kept closed by entry criteria"
    return {(other, criterion.description) for criterion in entry}


def stage_definition(definition: TemplateDefinition, key: str) -> StageDefinition:
    return next(each for each in definition.stages if each.key == key)
