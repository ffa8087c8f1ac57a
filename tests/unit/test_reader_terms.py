"""The reader terms projections filter on say exactly what `roles_held` says: who may view a case."""

from datetime import UTC, datetime

from caseline_common.access import case_readers, principal_terms, roles_held
from caseline_common.contracts import Participant, ParticipantKind, TemplateDefinition
from caseline_common.tenant import READERS, Principal, StaffRole
from hypothesis import given
from hypothesis import strategies as st

GROUPS = ["caseline-staff", "caseline-admins", "caseline-viewers", "claims-team", "back-office", "auditors"]
SUBJECTS = ["ana", "ben", "cleo"]
TEMPLATE = TemplateDefinition.model_validate(
    {
        "key": "claim",
        "name": "Claim",
        "fields": [{"key": "policy", "label": "Policy", "type": "text"}],
        "stages": [{"key": "open", "name": "Open"}],
        "roles": [
            {"key": "handler", "name": "Handler", "permissions": ["case.view"], "groups": ["claims-team"]},
            {"key": "auditor", "name": "Auditor", "permissions": ["case.view"], "groups": ["auditors"]},
            {"key": "clerk", "name": "Clerk", "permissions": ["task.complete"], "groups": ["back-office"]},
            {"key": "client", "name": "Client", "kind": "external", "permissions": ["case.view"]},
        ],
    }
)


def participant(subject: str, role: str) -> Participant:
    return Participant(
        id=f"p-{subject}-{role}",
        kind=ParticipantKind.INTERNAL,
        role=role,
        user_id=subject,
        added_at=datetime(2026, 1, 1, tzinfo=UTC),
        added_by="test",
    )


principals = st.builds(
    lambda subject, groups: Principal(subject=subject, groups=frozenset(groups)),
    st.sampled_from(SUBJECTS),
    st.sets(st.sampled_from(GROUPS)),
)
participants = st.lists(
    st.builds(participant, st.sampled_from(SUBJECTS), st.sampled_from(["handler", "auditor", "clerk"])), max_size=4
)


@given(principals, participants)
def test_a_caller_shares_a_term_with_a_case_exactly_when_its_roles_let_it_view_the_case(
    principal: Principal, members: list[Participant]
) -> None:
    # Every read of cases first requires a Caseline group (READERS), then a role that views the case.
    may_view = principal.has_any(*READERS) and roles_held(TEMPLATE, members, principal).can_view
    assert bool(principal_terms(principal) & case_readers(TEMPLATE, members)) is may_view


def test_an_external_participant_is_known_by_no_term() -> None:
    client = Principal(subject="p-1", external=True)
    assert principal_terms(client) == frozenset()
    assert principal_terms(Principal(subject="x", groups=frozenset({StaffRole.ADMIN}))) == {"admin"}
