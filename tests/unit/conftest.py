"""Unit-test fixtures: each Chalice service loaded once, under private module names, without AWS."""

from collections.abc import Callable

import pytest
from caseline_common.tenant import Principal, StaffRole, TenantContext
from service_modules import loaded

from caseline.local.loader import LoadedService

TENANT_ID = "acme"


@pytest.fixture(scope="session")
def cases() -> LoadedService:
    return loaded("cases")


@pytest.fixture(scope="session")
def timeline() -> LoadedService:
    return loaded("timeline")


def make_context(*groups: str, subject: str = "user-1", tenant_id: str = TENANT_ID) -> TenantContext:
    return TenantContext(
        tenant_id=tenant_id,
        principal=Principal(subject=subject, email=f"{subject}@example.org", groups=frozenset(groups)),
        correlation_id="corr-1",
    )


ContextFactory = Callable[..., TenantContext]


@pytest.fixture
def context_for() -> ContextFactory:
    """Builds a tenant context for a caller in the given Cognito groups."""
    return make_context


@pytest.fixture
def staff() -> TenantContext:
    return make_context(StaffRole.STAFF.value)


@pytest.fixture
def admin() -> TenantContext:
    return make_context(StaffRole.ADMIN.value, subject="admin-1")


@pytest.fixture
def outsider() -> TenantContext:
    """Signed in, but with no group that grants a staff role."""
    return make_context("everyone", "Caseline-Staff", subject="user-9")
