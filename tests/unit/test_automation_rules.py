"""Which rules an event fires and what their actions would do (the automations service's domain.rules), on the
insurance claim example and on small templates built for one behaviour each."""

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
from caseline_common.consumer import StatefulEvent
from caseline_common.contracts import (
    CaseSnapshot,
    CaseStatus,
    Participant,
    ParticipantKind,
    StartTimerAction,
    TemplateDefinition,
)
from caseline_common.envelope import Actor, ActorKind, EventEnvelope
from example_paths import INSURANCE_FIELDS, load
from narrowing import present
from service_modules import loaded, loaded_module

from caseline.local.loader import LoadedService

if TYPE_CHECKING:
    from services.automations.chalicelib.domain import rules
else:
    rules = loaded_module("automations", "chalicelib.domain.rules")

NOW = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)  # a Friday
EVENT_ID = "01JPB7V0Q6W8Y2K4M5N6P7R8S9"
INSURANCE = load("insurance-claim")
SENIOR_MAILBOX = "senior-reviewer@nordlicht-versicherung.example"
CLAIMANT = Participant(
    id="p-claimant",
    kind=ParticipantKind.EXTERNAL,
    role="claimant",
    name="Lukas Becker",
    email="lukas.becker@example.de",
    added_at=NOW,
    added_by="user-1",
)


@pytest.fixture(scope="module")
def automations() -> LoadedService:
    return loaded("automations")


def snapshot(
    fields: dict[str, Any],
    *,
    participants: tuple[Participant, ...] = (),
    stage: str = "submitted",
    title: str = "Break-in and theft from a parked car, Köln",
) -> CaseSnapshot:
    return CaseSnapshot(
        id="case-1",
        tenant_id="acme",
        template_key="insurance-claim",
        template_version=1,
        title=title,
        owner="user-1",
        stage=stage,
        stage_entered_at=NOW,
        status=CaseStatus.OPEN,
        fields=fields,
        participants=list(participants),
        created_at=NOW,
        created_by="user-1",
        updated_at=NOW,
        version=1,
    )


def claim(amount: str, **fields: Any) -> CaseSnapshot:
    return snapshot(
        {**INSURANCE_FIELDS, "claim_amount": {"amount": amount, "currency": "EUR"}, **fields}, participants=(CLAIMANT,)
    )


def event(
    type: str,
    data: dict[str, Any] | None = None,
    *,
    depth: int = 0,
    occurred_at: datetime = NOW,
    actor: ActorKind = ActorKind.USER,
) -> EventEnvelope:
    return EventEnvelope(
        event_id=EVENT_ID,
        tenant_id="acme",
        case_id="case-1",
        type=type,
        occurred_at=occurred_at,
        actor=Actor(kind=actor, id="user-1"),
        data=data or {},
        correlation_id="corr-1",
        causation_depth=depth,
    )


def amount_changed(before: str | None, after: str) -> EventEnvelope:
    return event(
        "case.fields_changed",
        {
            "changes": {
                "claim_amount": {
                    "before": None if before is None else {"amount": before, "currency": "EUR"},
                    "after": {"amount": after, "currency": "EUR"},
                }
            }
        },
    )


def by_rule(decisions: list[Any]) -> dict[str, Any]:
    return {decision.rule: decision for decision in decisions}


def template(*rules: dict[str, Any], **extra: Any) -> TemplateDefinition:
    """A small template: an internal team with a mailbox, a back office without one, and external clients."""
    return TemplateDefinition.model_validate(
        {
            "key": "claim",
            "name": "Claim",
            "fields": [
                {"key": "client", "label": "Client", "type": "party"},
                {"key": "client_email", "label": "Client e-mail", "type": "email"},
                {"key": "policy_number", "label": "Policy number", "type": "text"},
                {"key": "count", "label": "Count", "type": "number"},
            ],
            "stages": [{"key": "submitted", "name": "Submitted"}, {"key": "approved", "name": "Approved"}],
            "roles": [
                {"key": "team", "name": "Team", "email": "team@example.org"},
                {"key": "back_office", "name": "Back office"},
                {"key": "client", "name": "Client", "kind": "external"},
            ],
            "rules": list(rules),
            **extra,
        }
    )


def rule(key: str = "r", *actions: dict[str, Any], event_type: str = "case.opened", **extra: Any) -> dict[str, Any]:
    return {
        "key": key,
        "name": key.replace("_", " ").capitalize(),
        "trigger": {"event_type": event_type, **extra.pop("trigger", {})},
        "actions": list(actions) or [{"type": "add_comment", "body": "fired"}],
        **extra,
    }


def mail(**target: Any) -> dict[str, Any]:
    return {"type": "send_email", "subject": "Claim {{ case.title }}", "body": "Hello", **target}


def participant(id: str, role: str, email: str | None, kind: ParticipantKind = ParticipantKind.EXTERNAL) -> Participant:
    return Participant(id=id, kind=kind, role=role, email=email, added_at=NOW, added_by="user-1")


CASE = snapshot({"policy_number": "POL-1", "count": 2}, title="Stolen bicycle")


# The insurance claim example


def test_a_large_claim_fires_large_claim_opened_with_its_two_actions() -> None:
    decisions = rules.decide(INSURANCE, claim("12000.00"), event("case.opened"), max_depth=5)

    assert [decision.rule for decision in decisions] == ["invite_claimant", "large_claim_opened"]  # template order
    large = by_rule(decisions)["large_claim_opened"]
    assert large.name == "Large claim: senior reviewer and police report"
    assert (large.verdict, large.condition, large.error) == (rules.Verdict.FIRED, True, None)
    assert [(action.index, action.type, action.summary, action.error) for action in large.actions] == [
        (0, "assign", "assign the case to the role senior_reviewer", None),
        (1, "request_document", "ask 1 claimant participant(s) for police_report", None),
    ]
    assert large.actions[0].detail == {"type": "assign", "owner": None, "role": "senior_reviewer", "task_key": None}
    assert large.actions[1].detail == {
        "type": "request_document",
        "document_type": "police_report",
        "from_role": "claimant",
        "message": "For claims over EUR 10,000 we need the police report. Please upload it in your claim portal.",
        "participant_ids": ["p-claimant"],
    }


def test_a_claim_below_the_limit_skips_large_claim_opened() -> None:
    decisions = by_rule(rules.decide(INSURANCE, claim("9000.00"), event("case.opened"), max_depth=5))

    skipped = decisions["large_claim_opened"]
    assert (skipped.verdict, skipped.condition, skipped.actions, skipped.error) == (
        rules.Verdict.SKIPPED,
        False,
        [],
        None,
    )
    assert decisions["invite_claimant"].verdict is rules.Verdict.FIRED


def test_opening_a_claim_invites_the_policyholder_and_mails_them() -> None:
    invite = by_rule(rules.decide(INSURANCE, claim("500.00"), event("case.opened"), max_depth=5))["invite_claimant"]

    assert [action.summary for action in invite.actions] == [
        "add the person in policyholder as claimant",
        'e-mail "We have received your claim" to 1 recipient(s)',
    ]
    assert invite.actions[1].detail["recipients"] == ["lukas.becker@example.de"]


def test_raising_the_amount_across_the_limit_fires_large_claim_changed() -> None:
    decisions = rules.decide(INSURANCE, claim("12000.00"), amount_changed("9000.00", "12000.00"), max_depth=5)

    assert [(decision.rule, decision.verdict) for decision in decisions] == [
        ("large_claim_changed", rules.Verdict.FIRED)
    ]
    assert [action.type for action in decisions[0].actions] == ["assign", "request_document"]


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("12000.00", "13000.00"),  # already above: asked once, not again
        ("12000.00", "9000.00"),  # lowered
        ("5000.00", "9999.99"),  # still below
        ("10000.00", "10000.00"),  # at the limit is not above it
    ],
)
def test_changes_that_do_not_cross_the_limit_skip_large_claim_changed(before: str, after: str) -> None:
    (decision,) = rules.decide(INSURANCE, claim(after), amount_changed(before, after), max_depth=5)

    assert (decision.rule, decision.verdict) == ("large_claim_changed", rules.Verdict.SKIPPED)


def test_a_change_of_another_field_does_not_fire_large_claim_changed() -> None:
    changed = event(
        "case.fields_changed",
        {"changes": {"incident_location": {"before": None, "after": "Domplatte, Köln"}}},
    )

    (decision,) = rules.decide(INSURANCE, claim("12000.00"), changed, max_depth=5)

    assert (decision.rule, decision.verdict, decision.actions) == ("large_claim_changed", rules.Verdict.SKIPPED, [])


def test_a_breached_sla_mails_the_senior_reviewers_mailbox_and_comments() -> None:
    breached = event("sla.breached", {"stage": "triage"}, actor=ActorKind.SYSTEM)

    (decision,) = rules.decide(INSURANCE, claim("500.00"), breached, max_depth=5)

    assert (decision.rule, decision.verdict) == ("sla_breached", rules.Verdict.FIRED)
    email, comment = decision.actions
    assert email.error is None
    assert email.detail["recipients"] == [SENIOR_MAILBOX]
    assert email.detail["subject"] == "A claim is past its deadline"
    assert email.detail["body"].startswith("A claim stayed longer in its stage")
    assert email.summary == 'e-mail "A claim is past its deadline" to 1 recipient(s)'
    assert comment.summary == "add a comment"


@pytest.mark.parametrize(("to", "verdict"), [("payment", "fired"), ("assessment", "skipped")])
def test_moving_to_payment_posts_to_the_payment_system(to: str, verdict: str) -> None:
    moved = event("case.stage_changed", {"from": "settlement", "to": to})

    (decision,) = rules.decide(INSURANCE, claim("500.00"), moved, max_depth=5)

    assert (decision.rule, decision.verdict.value) == ("pay_out", verdict)
    if verdict == "fired":
        assert decision.actions[0].summary == (
            "post the event to https://payments.nordlicht-versicherung.example/hooks/claim-settlements"
        )


def test_an_event_no_rule_listens_to_decides_nothing() -> None:
    assert rules.decide(INSURANCE, claim("12000.00"), event("case.commented"), max_depth=5) == []


def test_the_same_event_and_case_always_give_the_same_decisions() -> None:
    first = rules.decide(INSURANCE, claim("12000.00"), event("case.opened"), max_depth=5)

    assert rules.decide(INSURANCE, claim("12000.00"), event("case.opened"), max_depth=5) == first


def test_an_event_that_carries_the_case_decides_as_the_bare_envelope_does() -> None:
    case = claim("12000.00")
    bare = event("case.opened")
    stateful = StatefulEvent(**bare.model_dump(), case=case)

    assert rules.decide(INSURANCE, case, stateful, max_depth=5) == rules.decide(INSURANCE, case, bare, max_depth=5)


# Triggers: event type, enabled, pattern


def test_a_disabled_rule_is_not_triggered() -> None:
    definition = template(rule("on"), rule("off", enabled=False))

    assert [decision.rule for decision in rules.decide(definition, CASE, event("case.opened"), max_depth=5)] == ["on"]


def test_a_rule_for_another_event_type_is_not_triggered() -> None:
    definition = template(rule("opened"), rule("closed", event_type="case.closed"))

    assert [decision.rule for decision in rules.decide(definition, CASE, event("case.closed"), max_depth=5)] == [
        "closed"
    ]


@pytest.mark.parametrize(
    ("pattern", "data", "actor", "triggered"),
    [
        ({"data": {"to": ["approved"]}}, {"to": "approved"}, ActorKind.USER, True),
        ({"data": {"to": ["approved"]}}, {"to": "submitted"}, ActorKind.USER, False),
        ({"data": {"to": [{"anything-but": "approved"}]}}, {"to": "submitted"}, ActorKind.USER, True),
        ({"actor": {"kind": ["user", "external"]}}, {"to": "approved"}, ActorKind.AUTOMATION, False),
        ({"actor": {"kind": ["user", "external"]}}, {"to": "approved"}, ActorKind.EXTERNAL, True),
        ({"data": {"to": [{"prefix": "app"}]}, "causation_depth": [0]}, {"to": "approved"}, ActorKind.USER, True),
        ({"data": {"reason": [{"exists": True}]}}, {"to": "approved"}, ActorKind.USER, False),
        ({"case": {"stage": [{"exists": True}]}}, {"to": "approved"}, ActorKind.USER, False),  # not the case
        ({"data": {"to": [{"wildcard": "app*"}]}}, {"to": "approved"}, ActorKind.USER, False),  # cannot evaluate
    ],
)
def test_a_pattern_narrows_the_trigger(
    pattern: dict[str, Any], data: dict[str, Any], actor: ActorKind, triggered: bool
) -> None:
    definition = template(rule("narrow", event_type="case.stage_changed", trigger={"pattern": pattern}))
    moved = StatefulEvent(**event("case.stage_changed", data, actor=actor).model_dump(), case=CASE)

    decisions = rules.decide(definition, CASE, moved, max_depth=5)

    assert [(decision.rule, decision.verdict) for decision in decisions] == (
        [("narrow", rules.Verdict.FIRED)] if triggered else []
    )


# Conditions


@pytest.mark.parametrize(
    "condition",
    [
        {"/": [1, 0]},  # division by zero
        {"no_such_operator": [1]},
    ],
)
def test_a_condition_that_cannot_be_evaluated_fails_the_rule(condition: dict[str, Any]) -> None:
    definition = template(rule("broken", condition=condition), rule("fine"))

    broken, fine = rules.decide(definition, CASE, event("case.opened"), max_depth=5)

    assert (broken.rule, broken.verdict, broken.condition, broken.actions) == (
        "broken",
        rules.Verdict.FAILED,
        None,
        [],
    )
    assert broken.error
    assert (fine.rule, fine.verdict) == ("fine", rules.Verdict.FIRED)  # the other rules still run


def test_a_condition_reads_the_case_and_the_event() -> None:
    condition = {
        "and": [
            {"==": [{"var": "case.stage"}, "submitted"]},
            {"==": [{"var": "fields.policy_number"}, "POL-1"]},
            {"==": [{"var": "event.data.to"}, "approved"]},
            {"==": [{"var": "event.type"}, "case.stage_changed"]},
        ]
    }
    definition = template(rule("reads", event_type="case.stage_changed", condition=condition))

    (fired,) = rules.decide(definition, CASE, event("case.stage_changed", {"to": "approved"}), max_depth=5)
    (skipped,) = rules.decide(definition, CASE, event("case.stage_changed", {"to": "submitted"}), max_depth=5)

    assert (fired.verdict, fired.condition) == (rules.Verdict.FIRED, True)
    assert (skipped.verdict, skipped.condition) == (rules.Verdict.SKIPPED, False)


def test_a_rule_without_a_condition_fires_with_a_true_condition() -> None:
    (decision,) = rules.decide(template(rule()), CASE, event("case.opened"), max_depth=5)

    assert (decision.verdict, decision.condition) == (rules.Verdict.FIRED, True)


# The depth limit


@pytest.mark.parametrize("depth", [0, 1, 2])
def test_below_the_depth_limit_the_rule_fires(depth: int) -> None:
    (decision,) = rules.decide(template(rule()), CASE, event("case.opened", depth=depth), max_depth=3)

    assert (decision.verdict, decision.error) == (rules.Verdict.FIRED, None)
    assert len(decision.actions) == 1


@pytest.mark.parametrize("depth", [3, 4, 10])
def test_at_the_depth_limit_the_rule_stops_and_says_why(depth: int) -> None:
    (decision,) = rules.decide(template(rule()), CASE, event("case.opened", depth=depth), max_depth=3)

    assert (decision.verdict, decision.condition, decision.actions) == (rules.Verdict.STOPPED, True, [])
    assert decision.error == f"{depth} rules led to this event; chains stop at 3."


def test_a_rule_whose_condition_fails_at_the_depth_limit_is_skipped_not_stopped() -> None:
    definition = template(rule(condition={"==": [{"var": "fields.policy_number"}, "other"]}))

    (decision,) = rules.decide(definition, CASE, event("case.opened", depth=9), max_depth=3)

    assert decision.verdict is rules.Verdict.SKIPPED


def test_the_large_claim_rule_stops_at_the_depth_limit() -> None:
    decisions = by_rule(rules.decide(INSURANCE, claim("12000.00"), event("case.opened", depth=2), max_depth=2))

    assert decisions["large_claim_opened"].verdict is rules.Verdict.STOPPED
    assert "chains stop at 2" in decisions["large_claim_opened"].error


# send_email: recipients


def planned_mail(case: CaseSnapshot = CASE, **target: Any) -> Any:
    (decision,) = rules.decide(template(rule("m", mail(**target))), case, event("case.opened"), max_depth=5)
    assert decision.verdict is rules.Verdict.FIRED
    return decision.actions[0]


@pytest.mark.parametrize(
    ("value", "recipients"),
    [
        ({"kind": "person", "name": "Ana Silva", "email": "ana@example.pt"}, ["ana@example.pt"]),  # a party
        ("ana@example.pt", ["ana@example.pt"]),  # an e-mail field
    ],
)
def test_to_field_mails_the_address_in_the_field(value: Any, recipients: list[str]) -> None:
    field = "client" if isinstance(value, dict) else "client_email"
    case = snapshot({"policy_number": "POL-1", field: value})

    action = planned_mail(case, to_field=field)

    assert action.error is None
    assert action.detail["recipients"] == recipients
    assert action.summary == 'e-mail "Claim Break-in and theft from a parked car, Köln" to 1 recipient(s)'


@pytest.mark.parametrize(
    "fields",
    [
        {},  # no value
        {"client": {"kind": "person", "name": "Ana Silva"}},  # a party without an e-mail address
        {"client": {"kind": "person", "name": "Ana Silva", "email": ""}},
        {"client": ["ana@example.pt"]},
    ],
)
def test_to_field_without_an_address_cannot_send(fields: dict[str, Any]) -> None:
    action = planned_mail(snapshot(fields), to_field="client")

    assert action.summary == "cannot send email"
    assert action.error == "nobody to send it to: no e-mail address for the role or in the field"
    assert "recipients" not in action.detail


def test_to_an_internal_role_mails_its_team_mailbox() -> None:
    member = participant("p-1", "team", "someone@example.org", ParticipantKind.INTERNAL)

    action = planned_mail(snapshot({}, participants=(member,)), to_role="team")

    assert action.detail["recipients"] == ["team@example.org"]  # the mailbox, not the members


@pytest.mark.parametrize("role", ["back_office", "nobody"])  # no mailbox; no such role
def test_to_a_role_without_a_mailbox_cannot_send(role: str) -> None:
    action = planned_mail(to_role=role)

    assert action.error == "nobody to send it to: no e-mail address for the role or in the field"


def test_to_an_external_role_mails_its_participants() -> None:
    people = (
        participant("p-1", "client", "zoe@example.org"),
        participant("p-2", "client", "adam@example.org"),
        participant("p-3", "client", "zoe@example.org"),  # the same address once
        participant("p-4", "client", None),  # no address
        participant("p-5", "witness", "wit@example.org"),  # another role
    )

    action = planned_mail(snapshot({}, participants=people), to_role="client")

    assert action.detail["recipients"] == ["adam@example.org", "zoe@example.org"]
    assert action.summary.endswith("to 2 recipient(s)")


def test_to_an_external_role_without_participants_cannot_send() -> None:
    assert planned_mail(to_role="client").summary == "cannot send email"


# send_email: rendering


def test_the_subject_and_body_render_the_case_fields_and_event() -> None:
    action = planned_mail(
        to_role="team",
        subject="Claim  {{ case.title }}  for {{ fields.policy_number }}",  # a template's subject is one line
        body="Policy {{ fields.policy_number }} ({{ case.stage }}, {{ case.status }}, {{ case.id }}): "
        "{{ event.type }} at {{ event.occurred_at }}\n{% for key, value in fields | dictsort %}{{ key }}={{ value }};"
        "{% endfor %}",
    )

    assert action.error is None
    assert action.detail["subject"] == "Claim Stolen bicycle for POL-1"  # whitespace collapsed to one line
    assert action.detail["body"] == (
        "Policy POL-1 (submitted, open, case-1): case.opened at 2025-03-14T09:30:00+00:00\ncount=2;policy_number=POL-1;"
    )
    assert action.summary == 'e-mail "Claim Stolen bicycle for POL-1" to 1 recipient(s)'


def test_rendering_is_plain_text() -> None:
    case = snapshot({"policy_number": "<b>A & B</b>"})

    action = planned_mail(case, to_role="team", body="{{ fields.policy_number }}")

    assert action.detail["body"] == "<b>A & B</b>"


def test_ordinary_formatting_still_renders() -> None:
    case = snapshot({"policy_number": "POL-1", "count": 3})

    action = planned_mail(
        case, to_role="team", body="{{ '%05d' % fields.count }} at 100% for {{ fields.policy_number }}"
    )

    assert action.error is None
    assert action.detail["body"] == "00003 at 100% for POL-1"


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        ("{{ fields.no_such_field }}", "Hello"),  # undefined variables are errors, not blanks
        ("Hello", "{{ nothing }}"),
        ("Hello", "{{ fields.policy_number.nope }}"),
        ("{{ ''.__class__.__mro__ }}", "Hello"),  # sandbox escapes
        ("Hello", "{{ ''.__class__.__mro__[1].__subclasses__() }}"),
        ("Hello", "{{ cycler.__init__.__globals__ }}"),
        ("Hello", "{{ case.__class__ }}"),
        ("Hello", "{% for %}"),  # syntax
        ("{{ case.title", "Hello"),
    ],
)
def test_text_that_does_not_render_is_an_action_error(subject: str, body: str) -> None:
    definition = template(
        rule("m", mail(to_role="team", subject=subject, body=body), {"type": "add_comment", "body": "x"})
    )

    (decision,) = rules.decide(definition, CASE, event("case.opened"), max_depth=5)

    assert decision.verdict is rules.Verdict.FIRED
    email, comment = decision.actions
    assert email.summary == "cannot send email"
    assert present(email.error).startswith("the e-mail text does not render: ")
    assert "subject" not in email.detail or email.detail["subject"] == subject  # nothing rendered is kept
    assert (comment.summary, comment.error) == ("add a comment", None)  # the rule's other actions are planned


@pytest.mark.parametrize(
    "body",
    [
        "{{ 10 / fields.count }}",  # count is 0 on this case
        "{{ fields.policy_number + 1 }}",
        "{{ range(1000000) | list | length }}",
        # what would build a huge string from a short template
        "{{ 'x'.ljust(10**9) }}",
        "{{ 'x'.center(10**9) }}",
        "{{ '{:>1000000000}'.format('x') }}",
        "{{ '%1000000000s' % 'x' }}",
        "{{ '%.1000000000f' % 1 }}",
        "{{ '%*s' % (10**9, 'x') }}",
        "{{ 'x' | center(10**9) }}",
        "{{ 'x\ny' | indent(10**9) }}",
    ],
)
def test_a_runtime_error_while_rendering_is_an_action_error(body: str) -> None:
    case = snapshot({"policy_number": "POL-1", "count": 0})

    action = planned_mail(case, to_role="team", body=body)

    assert action.error is not None
    assert action.error.startswith("the e-mail text does not render: ")


# start_timer


@pytest.mark.parametrize(
    ("occurred_at", "after", "due_at"),
    [
        # Friday 15:00 in Amsterdam, 2 working hours left: 6 more on Monday
        (datetime(2025, 3, 14, 14, 0, tzinfo=UTC), {"amount": 1, "unit": "business_days"}, "2025-03-17T14:00:00+00:00"),
        (datetime(2025, 3, 14, 14, 0, tzinfo=UTC), {"amount": 2, "unit": "business_days"}, "2025-03-18T14:00:00+00:00"),
        # Saturday: the count starts on Monday morning
        (datetime(2025, 3, 15, 9, 0, tzinfo=UTC), {"amount": 1, "unit": "business_days"}, "2025-03-17T16:00:00+00:00"),
        (
            datetime(2025, 3, 14, 14, 0, tzinfo=UTC),
            {"amount": 3, "unit": "business_hours"},
            "2025-03-17T09:00:00+00:00",
        ),
        # plain days count the weekend
        (datetime(2025, 3, 14, 14, 0, tzinfo=UTC), {"amount": 2, "unit": "days"}, "2025-03-16T14:00:00+00:00"),
        (datetime(2025, 3, 14, 14, 0, tzinfo=UTC), {"amount": 90, "unit": "minutes"}, "2025-03-14T15:30:00+00:00"),
    ],
)
def test_start_timer_is_due_after_the_duration_in_the_templates_calendar(
    occurred_at: datetime, after: dict[str, Any], due_at: str
) -> None:
    definition = template(
        rule("t", {"type": "start_timer", "name": "follow_up", "after": after}),
        calendar={"timezone": "Europe/Amsterdam", "opens": "09:00", "closes": "17:00"},
    )

    (decision,) = rules.decide(definition, CASE, event("case.opened", occurred_at=occurred_at), max_depth=5)

    (action,) = decision.actions
    assert action.error is None
    assert action.detail["due_at"] == due_at
    assert action.summary == f'start the timer "follow_up", due {due_at}'


@pytest.mark.parametrize(
    ("calendar", "after", "why"),
    [
        ({"timezone": "Nowhere/Land"}, {"amount": 1, "unit": "business_days"}, 'unknown time zone "Nowhere/Land"'),
        ({"timezone": "../etc/passwd"}, {"amount": 1, "unit": "business_hours"}, 'unknown time zone "../etc/passwd"'),
        ({"opens": "09:00", "closes": "09:00"}, {"amount": 1, "unit": "business_days"}, "not that much working time"),
        ({}, {"amount": 100_000, "unit": "business_days"}, "not that much working time within 30 years"),
    ],
)
def test_a_timer_the_calendar_cannot_place_is_an_action_that_cannot_run(
    calendar: dict[str, Any], after: dict[str, Any], why: str
) -> None:
    """A draft in the dry run has not been through the publish checks: its timer fails as an action, not the call."""
    definition = template(rule("t", {"type": "start_timer", "name": "chase", "after": after}), calendar=calendar)

    (decision,) = rules.decide(definition, CASE, event("case.opened"), max_depth=5)

    (action,) = decision.actions
    assert action.error is not None
    assert action.error.startswith("the timer has no due time: ")
    assert why in action.error


def test_start_timer_skips_holidays() -> None:
    definition = template(
        rule("t", {"type": "start_timer", "name": "follow_up", "after": {"amount": 1, "unit": "business_days"}}),
        calendar={"timezone": "Europe/Amsterdam", "opens": "09:00", "closes": "17:00", "holidays": ["2025-03-17"]},
    )
    friday = datetime(2025, 3, 14, 14, 0, tzinfo=UTC)

    (decision,) = rules.decide(definition, CASE, event("case.opened", occurred_at=friday), max_depth=5)

    assert decision.actions[0].detail["due_at"] == "2025-03-18T14:00:00+00:00"  # Tuesday: Monday is a holiday


def test_start_timer_in_the_insurance_calendar() -> None:
    action = StartTimerAction.model_validate(
        {"type": "start_timer", "name": "chase", "after": {"amount": 2, "unit": "business_days"}}
    )
    # Thursday 17 April 2025, 16:00 in Berlin: Good Friday and Easter Monday are holidays
    start = datetime(2025, 4, 17, 14, 0, tzinfo=UTC)

    # 2 h left on Thursday, 10 h on Tuesday, 8 h on Wednesday: due 16:00 Berlin (14:00 UTC)
    assert rules.timer_due(INSURANCE, start, action) == datetime(2025, 4, 23, 14, 0, tzinfo=UTC)


def test_a_reminder_is_due_after_four_fifths_of_the_time() -> None:
    start = datetime(2025, 3, 14, 9, 0, tzinfo=UTC)

    assert rules.reminder_at(start, datetime(2025, 3, 14, 19, 0, tzinfo=UTC)) == datetime(
        2025, 3, 14, 17, 0, tzinfo=UTC
    )


# The other actions' summaries


def test_every_action_type_is_summarised() -> None:
    actions: list[dict[str, Any]] = [
        {"type": "set_fields", "values": {"policy_number": "POL-2", "count": 3}},
        {"type": "create_task", "title": "Call the client", "assignee_role": "team"},
        {"type": "create_task", "title": "File it"},
        {"type": "assign", "owner": "user-7"},
        {"type": "assign", "role": "team", "task_key": "review"},
        {"type": "move_stage", "to": "approved"},
        {"type": "add_participant", "role": "team", "user_id": "user-8"},
        {"type": "add_participant", "role": "client", "party_field": "client"},
        {"type": "call_webhook", "url": "https://hooks.example.org/x"},
        {"type": "add_comment", "body": "Seen", "external": True},
    ]

    (decision,) = rules.decide(template(rule("all", *actions)), CASE, event("case.opened"), max_depth=5)

    assert [(action.index, action.summary, action.error) for action in decision.actions] == [
        (0, "set policy_number to 'POL-2', count to 3", None),
        (1, 'add the task "Call the client" for team', None),
        (2, 'add the task "File it"', None),
        (3, "assign the case to user-7", None),
        (4, 'assign the task "review" to the role team', None),
        (5, 'move the case to "approved"', None),
        (6, "add user-8 as team", None),
        (7, "add the person in client as client", None),
        (8, "post the event to https://hooks.example.org/x", None),
        (9, "add a comment shared with external participants", None),
    ]
