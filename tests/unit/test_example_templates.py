"""The example templates in examples/templates, and the template guide that documents their format.

Each example is valid (the pydantic models, the semantic checks and the published JSON Schema all accept
it), and a case runs on it from opening to closure through the domain alone, with no AWS: at every stage a
forward move is first refused with exactly the criteria that are unmet, then a person satisfies them
(fields, tasks, documents, decisions, the external participant) and the case moves on, until it closes.
"""

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any, get_args
from zoneinfo import ZoneInfo

import pytest
from caseline_common.conditions import case_facts, evaluate
from caseline_common.contracts import (
    EXTERNAL_PERMISSIONS,
    BusinessCalendar,
    CaseSnapshot,
    CaseStatus,
    DocumentVersion,
    DurationUnit,
    FieldAccess,
    FieldType,
    Permission,
    PublishedTemplate,
    RoleKind,
    RuleAction,
    TaskStatus,
    TemplateDefinition,
)
from caseline_common.envelope import EventEnvelope, new_id
from caseline_common.errors import ConflictError, ForbiddenError, InvalidInputError
from caseline_common.tenant import TenantContext
from jsonschema import Draft202012Validator

from caseline.local.loader import LoadedService

ROOT = Path(__file__).parents[2]
EXAMPLES = ROOT / "examples" / "templates"
GUIDE = ROOT / "docs" / "templates.md"
NAMES = (
    "hr-employee-onboarding",
    "legal-client-intake",
    "insurance-claim",
    "healthcare-patient-referral",
    "university-admission",
    "kyc-compliance-review",
)
NOW = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)  # a Friday: business deadlines cross a weekend
TICK = timedelta(minutes=20)
BUSINESS_UNITS = (DurationUnit.BUSINESS_HOURS, DurationUnit.BUSINESS_DAYS)
ACTION_TYPES = {get_args(action.model_fields["type"].annotation)[0] for action in get_args(get_args(RuleAction)[0])}


def load(name: str) -> TemplateDefinition:
    return TemplateDefinition.model_validate(json.loads((EXAMPLES / f"{name}.json").read_text()))


def published(name: str) -> PublishedTemplate:
    return PublishedTemplate(definition=load(name), version=1, published_at=NOW, published_by="admin-1")


def schema_document() -> dict[str, Any]:
    """What GET /schemas/template serves, and what docs/templates.md ends with."""
    schema = TemplateDefinition.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "urn:caseline:template", **schema}


@pytest.fixture(scope="module")
def domain(cases: LoadedService) -> ModuleType:
    return cases.module("chalicelib.domain.cases")


@pytest.fixture(scope="module")
def access_rules(cases: LoadedService) -> ModuleType:
    return cases.module("chalicelib.domain.access")


@pytest.fixture(scope="module")
def templates(cases: LoadedService) -> ModuleType:
    return cases.module("chalicelib.domain.templates")


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


# The driver


def in_working_time(moment: datetime, calendar: BusinessCalendar) -> bool:
    local = moment.astimezone(ZoneInfo(calendar.timezone))
    opens, closes = time.fromisoformat(calendar.opens), time.fromisoformat(calendar.closes)
    return (
        local.isoweekday() in calendar.workdays
        and local.date().isoformat() not in calendar.holidays
        and opens <= local.time() <= closes
    )


@dataclass
class Driver:
    """One case on one template, worked by one caller through the domain; records every change it makes."""

    domain: ModuleType
    access_rules: ModuleType
    template: PublishedTemplate
    context: TenantContext
    now: datetime = NOW
    case: CaseSnapshot | None = None
    events: list[EventEnvelope] = field(default_factory=list)

    @property
    def definition(self) -> TemplateDefinition:
        return self.template.definition

    @property
    def current(self) -> CaseSnapshot:
        assert self.case is not None
        return self.case

    def open(self, title: str, fields: dict[str, Any]) -> None:
        request = self.domain.OpenCaseRequest(template_key=self.definition.key, title=title, fields=fields)
        change = self.domain.open_case(
            self.template, request, self.context, case_id=new_id(), now=self.now, new_id=new_id
        )
        self._record(change, "case.opened")

    def work(self) -> Any:
        self.now += TICK
        access = self.access_rules.case_access(self.definition, self.current, self.context.principal)
        return self.domain.CaseWork(self.template, self.current, access, self.context, self.now, new_id)

    def apply(self, command: Callable[[Any], Any], event_type: str) -> None:
        self._record(command(self.work()), event_type)

    def _record(self, change: Any, event_type: str) -> None:
        assert change is not None, f"{event_type}: the command changed nothing"
        before = self.case.version if self.case else 0
        assert change.case.version == before + 1
        assert isinstance(change.event, EventEnvelope)
        assert change.event.type == event_type
        assert change.event.case_id == change.case.id
        assert change.event.occurred_at == self.now
        if event_type != "case.opened":
            assert change.event.data["version"] == change.case.version
        self.events.append(change.event)
        self.case = change.case

    def do(self, step: Step) -> None:
        match step:
            case Fields(values):
                request = self.domain.UpdateCaseRequest(fields=values)
                self.apply(lambda work: work.update(request), "case.fields_changed")
                assert all(self.current.fields.get(key) is not None for key in values)
            case CompleteTasks():
                for task in self.open_required_tasks():
                    self.apply(lambda work, task_id=task.id: work.complete_task(task_id), "task.completed")
            case Upload(document_type, filename):
                self.apply(
                    lambda work: work.add_document_version(document_type, self.upload(document_type, filename)),
                    "document.added",
                )
                [document] = [each for each in self.current.documents if each.type == document_type]
                assert self.events[-1].data["document_version"] == len(document.versions)
            case Decide(key, outcome, rationale):
                request = self.domain.RecordDecisionRequest(key=key, outcome=outcome, rationale=rationale)
                self.apply(lambda work: work.record_decision(request), "decision.recorded")
                assert case_facts(self.current)["decisions"][key] == outcome
            case Invite(role, name, email):
                request = self.domain.AddParticipantRequest(kind="external", role=role, name=name, email=email)
                self.apply(lambda work: work.add_participant(request), "participant.added")

    def open_required_tasks(self) -> list[Any]:
        case = self.current
        return [
            task for task in case.tasks if task.stage == case.stage and task.required and task.status is TaskStatus.OPEN
        ]

    def upload(self, document_type: str, filename: str) -> DocumentVersion:
        definition = next(each for each in self.definition.document_types if each.key == document_type)
        upload_id = new_id()
        return DocumentVersion(
            version=1,
            upload_id=upload_id,
            object_key=f"cases/{self.current.id}/{document_type}/{upload_id}",
            filename=filename,
            content_type=definition.content_types[0],
            size=min(240_000, definition.max_size_bytes),
            sha256=hashlib.sha256(filename.encode()).hexdigest(),
            uploaded_by=self.context.principal.subject,
            uploaded_at=self.now,
        )

    def expected_unmet(self, stage: Stage) -> set[tuple[str, str]]:
        """What keeps the case in `stage`, from the template: its requirements not yet satisfied, and every
        criterion except those the path says already hold."""
        definition, case = self.definition, self.current
        current = next(each for each in definition.stages if each.key == stage.key)
        labels = {each.key: each.label for each in definition.fields}
        uploaded = {document.type for document in case.documents}
        decided = {decision.key for decision in case.decisions}
        unmet = {
            (stage.key, f'"{labels[key]}" has a value')
            for key in current.required_fields
            if case.fields.get(key) in (None, "", [])
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
            target = next(each for each in definition.stages if each.key == stage.to)
            criteria += [(target.key, criterion.description) for criterion in target.entry_criteria]
        assert set(stage.met_on_entry) <= {description for _, description in criteria}, "unknown criterion"
        return unmet | {item for item in criteria if item[1] not in stage.met_on_entry}

    def refused(self, command: Callable[[Any], Any]) -> set[tuple[str, str]]:
        """The unmet criteria a refused move or close names, as (stage, description) pairs."""
        version = self.current.version
        with pytest.raises(self.domain.TransitionBlockedError) as blocked:
            command(self.work())
        assert isinstance(blocked.value, ConflictError)
        assert blocked.value.extensions["current_version"] == version
        return {(item["stage"], item["description"]) for item in blocked.value.extensions["unmet"]}

    def move(self, to: str) -> None:
        request = self.domain.TransitionRequest(to=to)
        self.apply(lambda work: work.transition(request), "case.stage_changed")
        case, event = self.current, self.events[-1]
        target = next(each for each in self.definition.stages if each.key == to)
        assert case.stage == to
        assert event.data["direction"] == "forward"
        assert event.data["overridden"] == []
        assert [task["key"] for task in event.data["tasks_created"]] == [task.key for task in target.tasks]
        self.check_deadlines(target.key)

    def check_deadlines(self, stage_key: str) -> None:
        """Stage SLAs and task due dates in business units fall in the template's working time."""
        case, calendar = self.current, self.definition.calendar
        stage = next(each for each in self.definition.stages if each.key == stage_key)
        assert (case.stage_due_at is not None) == (stage.sla is not None)
        if stage.sla is not None and stage.sla.unit in BUSINESS_UNITS:
            assert case.stage_due_at is not None
            assert in_working_time(case.stage_due_at, calendar)
        for definition in stage.tasks:
            task = next(each for each in case.tasks if each.stage == stage_key and each.key == definition.key)
            assert (task.due_at is not None) == (definition.due_in is not None)
            assert task.assignee_role == definition.assignee_role
            if definition.due_in is not None and definition.due_in.unit in BUSINESS_UNITS:
                assert task.due_at is not None
                assert in_working_time(task.due_at, calendar), (definition.key, task.due_at)

    def leaving(self, stage: Stage) -> Callable[[Any], Any]:
        """The command that takes the case out of `stage`: the move to the next stage, or the close."""
        if stage.to is None:
            close = self.domain.StatusChangeRequest()
            return lambda work: work.close(close)
        move = self.domain.TransitionRequest(to=stage.to)
        return lambda work: work.transition(move)

    def run(self, path: CasePath) -> None:
        self.open(path.title, path.fields)
        self.check_deadlines(self.definition.stages[0].key)
        for stage in path.stages:
            assert self.current.stage == stage.key
            transition = self.leaving(stage)
            expected = self.expected_unmet(stage)
            assert expected, f"stage {stage.key} has nothing to do"
            assert self.refused(transition) == expected
            for step in stage.steps:
                self.do(step)
            for other in stage.refused_after:
                request = self.domain.TransitionRequest(to=other)
                entry = next(each for each in self.definition.stages if each.key == other).entry_criteria
                assert entry, f"{other} is only kept closed by entry criteria"
                assert self.refused(lambda work, request=request: work.transition(request)) == {
                    (other, criterion.description) for criterion in entry
                }
            if stage.to is not None:
                self.move(stage.to)
            else:
                self.apply(transition, "case.closed")
        assert self.current.status is CaseStatus.CLOSED


# The examples are valid


@pytest.mark.parametrize("name", NAMES)
def test_each_example_parses_and_has_no_mistakes(templates: ModuleType, name: str) -> None:
    definition = load(name)

    assert definition.key == name
    assert templates.template_issues(definition) == []


def test_the_examples_directory_holds_exactly_these_templates() -> None:
    assert sorted(path.stem for path in EXAMPLES.glob("*.json")) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_each_example_validates_against_the_published_json_schema(name: str) -> None:
    schema = schema_document()
    Draft202012Validator.check_schema(schema)

    errors = list(Draft202012Validator(schema).iter_errors(json.loads((EXAMPLES / f"{name}.json").read_text())))

    assert errors == []


def test_the_json_schema_refuses_a_broken_template() -> None:
    document = json.loads((EXAMPLES / "insurance-claim.json").read_text())
    document["fields"][0]["type"] = "colour"
    document["stages"][0]["exit_criteria"][0]["condition"] = {"==": [1, 1], "!=": [1, 2]}
    document["roles"][0]["permissions"].append("case.delete")
    validator = Draft202012Validator(schema_document())

    paths = sorted(
        "/" + "/".join(str(part) for part in error.absolute_path) for error in validator.iter_errors(document)
    )

    assert paths == ["/fields/0/type", "/roles/0/permissions/11", "/stages/0/exit_criteria/0/condition"]


@pytest.mark.parametrize("name", NAMES)
def test_each_example_is_a_realistic_configuration(name: str) -> None:
    definition = load(name)
    internal = [role for role in definition.roles if role.kind is RoleKind.INTERNAL]
    external = [role for role in definition.roles if role.kind is RoleKind.EXTERNAL]
    uploads = {role for document in definition.document_types for role in document.uploader_roles}

    assert 6 <= len(definition.fields) <= 15
    assert len({each.type for each in definition.fields}) >= 9
    assert 4 <= len(definition.stages) <= 6
    assert all(stage.sla is not None for stage in definition.stages)
    assert any(
        task.due_in and task.due_in.unit in BUSINESS_UNITS for stage in definition.stages for task in stage.tasks
    )
    assert any(stage.entry_criteria or stage.exit_criteria for stage in definition.stages)
    assert definition.document_types
    assert definition.decisions
    assert len(definition.rules) >= 3
    assert definition.calendar.holidays
    assert definition.portal.branding.name
    assert definition.portal.branding.colour
    assert sum(bool(role.groups) for role in internal) >= 2
    assert external
    for role in external:
        assert set(role.permissions) <= EXTERNAL_PERMISSIONS
        assert role.key in uploads
        assert FieldAccess.VIEW in role.fields.values()
        assert FieldAccess.EDIT in role.fields.values()
        assert "*" not in role.fields


def test_the_examples_use_every_field_type_and_action_type() -> None:
    definitions = [load(name) for name in NAMES]

    assert {each.type for definition in definitions for each in definition.fields} == set(FieldType)
    assert {action.type for d in definitions for rule in d.rules for action in rule.actions} == ACTION_TYPES


# A case runs on each from opening to closure


def test_every_stage_of_every_example_is_on_a_tested_path() -> None:
    for name in NAMES:
        visited = {stage.key for path in PATHS if path.template == name for stage in path.stages}
        assert visited == {stage.key for stage in load(name).stages}, name
        assert name in MAIN_PATHS


@pytest.mark.parametrize("path", PATHS, ids=lambda path: path.id)
def test_a_case_runs_from_opening_to_closure(
    domain: ModuleType, access_rules: ModuleType, admin: TenantContext, path: CasePath
) -> None:
    driver = Driver(domain, access_rules, published(path.template), admin)

    driver.run(path)

    case = driver.current
    moves = [event.data["to"] for event in driver.events if event.type == "case.stage_changed"]
    assert moves == [stage.to for stage in path.stages if stage.to]
    assert [event.data["version"] for event in driver.events[1:]] == list(range(2, case.version + 1))
    assert len(driver.events) == case.version
    assert len({event.event_id for event in driver.events}) == len(driver.events)
    assert all(task.status is TaskStatus.DONE for task in case.tasks if task.required)
    assert case.status is CaseStatus.CLOSED


# Roles


def opened(domain: ModuleType, access_rules: ModuleType, admin: TenantContext, name: str) -> Driver:
    driver = Driver(domain, access_rules, published(name), admin)
    path = MAIN_PATHS[name]
    driver.open(path.title, path.fields)
    return driver


@pytest.mark.parametrize("name", NAMES)
def test_only_the_decider_roles_may_record_each_decision(
    domain: ModuleType,
    access_rules: ModuleType,
    admin: TenantContext,
    context_for: Callable[..., TenantContext],
    name: str,
) -> None:
    driver = opened(domain, access_rules, admin, name)
    staff_roles = [role for role in driver.definition.roles if role.kind is RoleKind.INTERNAL and role.groups]

    for decision in driver.definition.decisions:
        for role in staff_roles:
            context = context_for("caseline-staff", *role.groups, subject=f"{role.key}-1")
            access = access_rules.case_access(driver.definition, driver.current, context.principal)
            assert access.role_keys() == {role.key}
            work = domain.CaseWork(driver.template, driver.current, access, context, NOW, new_id)
            request = domain.RecordDecisionRequest(key=decision.key, outcome=decision.options[0], rationale="Agreed.")
            if role.key in decision.decider_roles:
                assert work.record_decision(request).event.data["after"] == decision.options[0]
            else:
                with pytest.raises(ForbiddenError):
                    work.record_decision(request)


def sample_values(path: CasePath) -> dict[str, Any]:
    values = dict(path.fields)
    for stage in path.stages:
        for step in stage.steps:
            if isinstance(step, Fields):
                values.update(step.values)
    return values


@pytest.mark.parametrize("name", NAMES)
def test_the_external_role_sees_and_edits_only_its_fields(
    domain: ModuleType, access_rules: ModuleType, admin: TenantContext, name: str
) -> None:
    driver = opened(domain, access_rules, admin, name)
    values = sample_values(MAIN_PATHS[name])
    [role] = [role for role in driver.definition.roles if role.kind is RoleKind.EXTERNAL]
    access = access_rules.CaseAccess(admin=False, roles=(role,))

    def work() -> Any:
        return domain.CaseWork(driver.template, driver.current, access, admin, NOW, new_id)

    assert set(access_rules.redact(driver.current, access).fields) <= set(role.fields)
    for definition in driver.definition.fields:
        if definition.key not in values:
            continue
        request = domain.UpdateCaseRequest(fields={definition.key: values[definition.key]})
        granted = role.fields.get(definition.key)
        if granted is FieldAccess.EDIT:
            work().update(request)
        elif granted is FieldAccess.VIEW:
            with pytest.raises(ForbiddenError):
                work().update(request)
        else:
            with pytest.raises(InvalidInputError) as hidden:
                work().update(request)
            assert [issue.detail for issue in hidden.value.issues] == [f'unknown field "{definition.key}"']
    following = driver.definition.stages[1].key
    with pytest.raises(ForbiddenError):
        work().transition(domain.TransitionRequest(to=following))
    assert not access.can(Permission.CLOSE)


# The automation rule the automations service will run first


def test_a_large_insurance_claim_meets_the_large_claim_rules(
    domain: ModuleType, access_rules: ModuleType, admin: TenantContext
) -> None:
    definition = load("insurance-claim")
    rules = {rule.key: rule for rule in definition.rules}
    opened_rule, changed_rule = rules["large_claim_opened"], rules["large_claim_changed"]
    assert opened_rule.trigger.event_type == "case.opened"
    assert changed_rule.trigger.event_type == "case.fields_changed"
    for rule in (opened_rule, changed_rule):
        assert [action.model_dump(exclude_none=True) for action in rule.actions] == [
            {"type": "assign", "role": "senior_reviewer"},
            {
                "type": "request_document",
                "document_type": "police_report",
                "from_role": "claimant",
                "message": (
                    "For claims over EUR 10,000 we need the police report. Please upload it in your claim portal."
                ),
            },
        ]

    def meets(rule: Any, driver: Driver) -> bool:
        event = driver.events[-1].model_dump(mode="json")
        return evaluate(rule.condition, case_facts(driver.current, event))

    small = Driver(domain, access_rules, published("insurance-claim"), admin)
    small.open("Stolen bicycle", {**INSURANCE_FIELDS, "claim_amount": {"amount": "9500.00", "currency": "EUR"}})
    assert not meets(opened_rule, small)
    small.do(Fields({"incident_location": "Domplatte, Köln"}))
    assert not meets(changed_rule, small)
    small.do(Fields({"claim_amount": {"amount": "12500.00", "currency": "EUR"}}))
    assert meets(changed_rule, small)
    small.do(Fields({"police_reported": True}))
    assert not meets(changed_rule, small)

    large = Driver(domain, access_rules, published("insurance-claim"), admin)
    large.open("Break-in", INSURANCE_FIELDS)
    assert meets(opened_rule, large)
    large.do(Fields({"claim_amount": {"amount": "13000.00", "currency": "EUR"}}))
    assert not meets(changed_rule, large)  # already above the limit: asked once, not again


# The guide


def test_the_guide_ends_with_the_generated_json_schema() -> None:
    text = GUIDE.read_text()
    match = re.search(r"<!-- schema:start -->\n```json\n(.*?)\n```\n<!-- schema:end -->", text, re.DOTALL)

    assert match is not None
    assert match.group(1) == json.dumps(schema_document(), indent=2)


def test_the_guide_names_every_permission_type_and_action() -> None:
    text = GUIDE.read_text()
    names = [
        *(f"`{permission.value}`" for permission in Permission),
        *(f"`{type_.value}`" for type_ in FieldType),
        *(f"`{unit.value}`" for unit in DurationUnit),
        *(f"`{action}`" for action in sorted(ACTION_TYPES)),
    ]

    assert [name for name in names if name not in text] == []
