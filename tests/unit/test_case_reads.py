"""Reads of a case outside the cases service, on in-memory read models: automation runs and portal links answer
as the cases service would (404 for a caller who may not see the case, exactly as for an unknown id; e-mail
subjects, rendered from fields, only for readers who may view every field), and a case opened moments ago is
waited for on a fake clock, then answered with 503 and Retry-After."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from caseline_common.contracts import (
    CaseSnapshot,
    Participant,
    ParticipantKind,
    PublishedTemplate,
    TemplateDefinition,
)
from caseline_common.errors import ForbiddenError, NotFoundError
from caseline_common.freshness import FRESH_FOR, POLL_DELAYS, CaseArrival, CaseNotYetVisibleError
from caseline_common.pagination import Page
from caseline_common.tenant import Principal, StaffRole, TenantContext
from ulid import ULID

from caseline.local.loader import LoadedService, load_service

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
FRESH_CASE = str(ULID.from_datetime(NOW - timedelta(seconds=1)))
OLD_CASE = str(ULID.from_datetime(NOW - FRESH_FOR * 2))
DEFINITION = TemplateDefinition.model_validate(
    {
        "key": "claim",
        "name": "Claim",
        "fields": [
            {"key": "summary", "label": "Summary", "type": "text"},
            {"key": "secret", "label": "Secret", "type": "text"},
        ],
        "stages": [{"key": "open", "name": "Open"}, {"key": "done", "name": "Done", "next": []}],
        "roles": [
            {
                "key": "handler",
                "name": "Handler",
                "permissions": ["case.view", "participant.manage"],
                "fields": {"*": "edit"},
            },
            {"key": "auditor", "name": "Auditor", "permissions": ["case.view"], "fields": {"summary": "view"}},
            {"key": "client", "name": "Client", "kind": "external", "permissions": ["case.view"], "fields": {}},
        ],
    }
)


class Clock:
    def __init__(self) -> None:
        self.now = NOW
        self.slept = 0.0

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept += seconds
        self.now += timedelta(seconds=seconds)


def caller(subject: str, *groups: str) -> TenantContext:
    principal = Principal(subject=subject, groups=frozenset(groups))
    return TenantContext(tenant_id="acme", principal=principal, correlation_id="corr-1")


def staff(subject: str, *groups: StaffRole) -> TenantContext:
    return caller(subject, *(group.value for group in groups or (StaffRole.STAFF,)))


def participant(user_id: str, role: str, kind: ParticipantKind = ParticipantKind.INTERNAL) -> Participant:
    return Participant(
        id=f"p-{user_id}", kind=kind, role=role, user_id=user_id, name="Name", added_at=NOW, added_by="dev-olive"
    )


# automation runs


@pytest.fixture(scope="module")
def automations() -> LoadedService:
    return load_service("automations")


class RunsStore:
    """The part of the automations table the runs read uses; the access record arrives after `arrives_after`
    reads, as the consumer would write it."""

    def __init__(self, members: Any, runs: list[Any], arrives_after: int = 0) -> None:
        self._members, self._runs, self._arrives_after = members, runs, arrives_after
        self.reads = 0

    def members(self, case_id: str) -> Any:
        self.reads += 1
        found = self._members is not None and self._members.case_id == case_id and self.reads > self._arrives_after
        return self._members if found else None

    def template(self, key: str, version: int) -> PublishedTemplate | None:
        return PublishedTemplate(definition=DEFINITION, version=1, published_at=NOW, published_by="dev-admin")

    def runs(self, case_id: str, *, limit: int, cursor: str | None) -> Page[Any]:
        return Page(items=[run for run in self._runs if run.case_id == case_id][:limit])


def case(case_id: str = FRESH_CASE) -> CaseSnapshot:
    return CaseSnapshot.model_validate(
        {
            "id": case_id,
            "tenant_id": "acme",
            "template_key": "claim",
            "template_version": 1,
            "title": "Claim",
            "owner": "dev-olive",
            "stage": "open",
            "stage_entered_at": NOW,
            "status": "open",
            "fields": {"summary": "Bike", "secret": "SECRET"},
            "participants": [
                participant("dev-olive", "handler").model_dump(),
                participant("dev-rita", "auditor").model_dump(),
                participant("client-1", "client", ParticipantKind.EXTERNAL).model_dump(),
            ],
            "created_at": NOW,
            "created_by": "dev-olive",
            "updated_at": NOW,
            "version": 3,
        }
    )


def mailed_run(automations: LoadedService, case_id: str) -> Any:
    runs = automations.module("chalicelib.domain.runs")
    outcome = runs.ActionOutcome(
        index=0, type="send_email", status="done", detail={"message_id": "m-1", "recipients": 1, "subject": "SECRET"}
    )
    return runs.AutomationRun(
        run_id=f"e-1:{case_id}",
        case_id=case_id,
        template_key="claim",
        template_version=1,
        rule="tell",
        rule_name="Tell",
        event_id="e-1",
        event_type="case.opened",
        verdict="fired",
        condition=None,
        causation_depth=0,
        started_at=NOW,
        finished_at=NOW,
        outcomes=[outcome],
    )


def runs_service(automations: LoadedService, store: RunsStore, clock: Clock) -> Any:
    return automations.module("chalicelib.service").AutomationsService(
        store,
        None,
        None,
        None,
        tenant_id="acme",
        max_depth=5,
        clock=clock,
        arrival=CaseArrival(clock=clock, sleep=clock.sleep),
    )


def list_runs(automations: LoadedService, store: RunsStore, context: TenantContext, case_id: str) -> Page[Any]:
    page: Page[Any] = runs_service(automations, store, Clock()).list_runs(context, case_id, limit=25, cursor=None)
    return page


def test_the_access_record_keeps_staff_participants_without_names(automations: LoadedService) -> None:
    members = automations.module("chalicelib.domain.members").CaseMembers.of(case())
    assert (members.case_id, members.template_key, members.template_version, members.version) == (
        FRESH_CASE,
        "claim",
        1,
        3,
    )
    assert [(p.user_id, p.role, p.name) for p in members.participants] == [
        ("dev-olive", "handler", None),
        ("dev-rita", "auditor", None),
    ]


def test_runs_are_read_as_the_case_s_access_allows(automations: LoadedService) -> None:
    members = automations.module("chalicelib.domain.members").CaseMembers.of(case())
    store = RunsStore(members, [mailed_run(automations, FRESH_CASE)])
    subjects = {
        who: [o.detail.get("subject") for o in list_runs(automations, store, context, FRESH_CASE).items[0].outcomes]
        for who, context in {
            "owner": staff("dev-olive"),
            "admin": staff("dev-ada", StaffRole.ADMIN),
            "viewer": staff("dev-vera", StaffRole.VIEWER),
            "auditor": staff("dev-rita"),
        }.items()
    }
    assert subjects == {"owner": ["SECRET"], "admin": ["SECRET"], "viewer": ["SECRET"], "auditor": [None]}

    with pytest.raises(NotFoundError) as outside:
        list_runs(automations, store, staff("dev-oscar"), FRESH_CASE)
    with pytest.raises(NotFoundError) as unknown:
        list_runs(automations, RunsStore(None, []), staff("dev-oscar"), OLD_CASE)
    assert outside.value.detail == unknown.value.detail.replace(OLD_CASE, FRESH_CASE)
    with pytest.raises(ForbiddenError):
        list_runs(automations, store, caller("dev-nico", "marketing"), FRESH_CASE)


def test_runs_of_a_case_opened_moments_ago_are_waited_for(automations: LoadedService) -> None:
    members = automations.module("chalicelib.domain.members").CaseMembers.of(case())
    clock = Clock()
    store = RunsStore(members, [], arrives_after=3)
    page = runs_service(automations, store, clock).list_runs(staff("dev-olive"), FRESH_CASE, limit=25, cursor=None)
    assert (page.items, store.reads, clock.slept) == ([], 4, sum(POLL_DELAYS[:3]))

    clock = Clock()
    with pytest.raises(CaseNotYetVisibleError) as later:
        runs_service(automations, RunsStore(None, []), clock).list_runs(
            staff("dev-olive"), FRESH_CASE, limit=25, cursor=None
        )
    assert (later.value.headers, clock.slept) == ({"Retry-After": "1"}, sum(POLL_DELAYS))


# portal links


@pytest.fixture(scope="module")
def portal() -> LoadedService:
    return load_service("portal")


class PortalStore:
    def __init__(self, case: Any, arrives_after: int = 0) -> None:
        self._case, self._arrives_after = case, arrives_after
        self.reads = 0

    def case(self, case_id: str) -> tuple[Any, int] | None:
        self.reads += 1
        found = self._case is not None and self._case.case_id == case_id and self.reads > self._arrives_after
        return (self._case, 1) if found else None

    def template(self, key: str, version: int) -> TemplateDefinition:
        return DEFINITION

    def links_of_case(self, case_id: str) -> list[Any]:
        return []


def portal_case(portal: LoadedService) -> Any:
    projection = portal.module("chalicelib.domain.projection")
    return projection.PortalCase(
        case_id=FRESH_CASE,
        template_key="claim",
        template_version=1,
        participants={
            "p-olive": projection.PortalParticipant(id="p-olive", kind="internal", role="handler", user_id="dev-olive"),
            "p-rita": projection.PortalParticipant(id="p-rita", kind="internal", role="auditor", user_id="dev-rita"),
        },
    )


def portal_service(portal: LoadedService, store: PortalStore, clock: Clock) -> Any:
    return portal.module("chalicelib.link_service").LinkService(
        store,
        None,
        tenant_id="acme",
        base_url="https://portal.example.org",
        link_days=14,
        clock=clock,
        new_id=lambda: str(ULID()),
        arrival=CaseArrival(clock=clock, sleep=clock.sleep),
    )


def test_links_are_listed_as_the_case_s_access_allows(portal: LoadedService) -> None:
    service = portal_service(portal, PortalStore(portal_case(portal)), Clock())
    assert service.list_links(staff("dev-olive"), FRESH_CASE) == []
    assert service.list_links(staff("dev-ada", StaffRole.ADMIN), FRESH_CASE) == []
    with pytest.raises(ForbiddenError):
        service.list_links(staff("dev-rita"), FRESH_CASE)  # may see the case, may not manage participants
    with pytest.raises(NotFoundError) as outside:
        service.list_links(staff("dev-oscar"), FRESH_CASE)
    with pytest.raises(NotFoundError) as unknown:
        portal_service(portal, PortalStore(None), Clock()).list_links(staff("dev-oscar"), OLD_CASE)
    assert outside.value.detail == unknown.value.detail.replace(OLD_CASE, FRESH_CASE)


def test_links_of_a_case_opened_moments_ago_are_waited_for(portal: LoadedService) -> None:
    clock = Clock()
    store = PortalStore(portal_case(portal), arrives_after=2)
    assert portal_service(portal, store, clock).list_links(staff("dev-olive"), FRESH_CASE) == []
    assert (store.reads, clock.slept) == (3, sum(POLL_DELAYS[:2]))

    clock = Clock()
    with pytest.raises(CaseNotYetVisibleError):
        portal_service(portal, PortalStore(None), clock).list_links(staff("dev-olive"), FRESH_CASE)
    assert clock.slept == sum(POLL_DELAYS)
