"""Who reads a change feed entry, decided from the terms the entry carries alone, is who `roles_held` says may view
the case, with the same roles; and an entry carries the case as its event left it."""

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
from caseline_common.access import roles_held
from caseline_common.contracts import Participant, ParticipantKind, TemplateDefinition
from caseline_common.tenant import Principal, StaffRole
from service_modules import loaded_module

if TYPE_CHECKING:
    from services.timeline.chalicelib.domain import feed, timeline
else:
    feed = loaded_module("timeline", "chalicelib.domain.feed")
    timeline = loaded_module("timeline", "chalicelib.domain.timeline")

TEMPLATE = TemplateDefinition.model_validate(
    {
        "key": "motor-claim",
        "name": "Motor claim",
        "fields": [
            {"key": "summary", "label": "Summary", "type": "text"},
            {"key": "reserve", "label": "Reserve", "type": "number"},
        ],
        "stages": [{"key": "intake", "name": "Intake"}],
        "roles": [
            {
                "key": "handler",
                "name": "Handler",
                "permissions": ["case.view"],
                "fields": {"*": "edit"},
                "groups": ["claims"],
            },
            {"key": "auditor", "name": "Auditor", "permissions": ["case.view"], "fields": {"summary": "view"}},
            {"key": "notifier", "name": "Notifier", "permissions": [], "groups": ["mailroom"]},
            {"key": "client", "name": "Client", "kind": "external", "permissions": ["case.view"]},
        ],
    }
)
JOINED = datetime(2027, 1, 4, tzinfo=UTC)
PARTICIPANTS = [
    Participant(id="p1", kind=ParticipantKind.INTERNAL, role="auditor", user_id="rita", added_at=JOINED, added_by="x"),
    Participant(id="p2", kind=ParticipantKind.INTERNAL, role="handler", user_id="hal", added_at=JOINED, added_by="x"),
    Participant(id="p3", kind=ParticipantKind.EXTERNAL, role="client", added_at=JOINED, added_by="x"),
]
MEMBERS = timeline.CaseMembers(template_key="motor-claim", template_version=1, participants=PARTICIPANTS, version=3)

CALLERS = {
    "admin": Principal(subject="ada", groups=frozenset({StaffRole.ADMIN, StaffRole.STAFF})),
    "viewer": Principal(subject="vera", groups=frozenset({StaffRole.VIEWER})),
    "claims team": Principal(subject="tom", groups=frozenset({StaffRole.STAFF, "claims"})),
    "auditor": Principal(subject="rita", groups=frozenset({StaffRole.STAFF})),
    "auditor in the claims team": Principal(subject="rita", groups=frozenset({StaffRole.STAFF, "claims"})),
    "handler by participation": Principal(subject="hal", groups=frozenset({StaffRole.STAFF})),
    "mailroom (a role without case.view)": Principal(subject="max", groups=frozenset({StaffRole.STAFF, "mailroom"})),
    "outsider": Principal(subject="oscar", groups=frozenset({StaffRole.STAFF})),
    "staff and viewer": Principal(subject="sam", groups=frozenset({StaffRole.STAFF, StaffRole.VIEWER})),
}


@pytest.mark.parametrize("caller", sorted(CALLERS))
def test_the_entrys_terms_give_the_access_roles_held_gives(caller: str) -> None:
    principal = CALLERS[caller]
    expected = roles_held(TEMPLATE, PARTICIPANTS, principal)
    derived = feed.FeedReaders.of(TEMPLATE, MEMBERS).access(principal, lambda: TEMPLATE)
    assert derived.can_view == expected.can_view
    if expected.can_view and not expected.admin:
        assert derived.role_keys() == expected.role_keys()
        assert {key: derived.field_access(key) for key in ("summary", "reserve")} == {
            key: expected.field_access(key) for key in ("summary", "reserve")
        }


def test_an_entry_names_the_template_version_it_was_recorded_under() -> None:
    readers = feed.FeedReaders.of(TEMPLATE, MEMBERS)
    assert (readers.template_key, readers.template_version) == ("motor-claim", 1)
    assert readers.members == {"auditor": frozenset({"rita"}), "handler": frozenset({"hal"})}
    assert readers.readers == frozenset({"group:claims", "user:hal", "user:rita"})  # not the mailroom: no case.view


def test_the_feeds_examples_validate() -> None:
    for model in (feed.FeedEntry, feed.EventFeed):
        for example in model.model_json_schema()["examples"]:
            model.model_validate(example)
