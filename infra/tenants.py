"""The tenant registry: `tenants.toml` at the repository root, validated by pydantic before anything is synthesized.

Each `[tenants.<id>]` table describes one tenant's stack set. The id becomes every resource name
(`caseline-<id>-...`), so it follows the same pattern the services accept for `CASELINE_TENANT_ID`.
"""

import hashlib
import re
import tomllib
from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from caseline.paths import ROOT

REGISTRY_PATH = ROOT / "tenants.toml"
TENANT_ID_PATTERN = r"^[a-z][a-z0-9-]{1,30}$"
_HOSTNAME = re.compile(r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_EMAIL = re.compile(r"^[^@\s]+@([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$", re.IGNORECASE)
_CERTIFICATE_ARN = re.compile(r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]{36}$")


class Tier(StrEnum):
    STANDARD = "standard"
    ENTERPRISE = "enterprise"


class SearchDomain(BaseModel):
    """An Amazon OpenSearch Service domain: `instance_count` data nodes spread over as many Availability Zones
    (each holding a copy of every shard: one replica), each with a gp3 volume of `volume_gb`."""

    model_config = ConfigDict(frozen=True)

    instance_type: str
    instance_count: int = Field(ge=2, le=3)  # zone awareness spans 2 or 3 zones
    volume_gb: int = Field(ge=10)


class SearchCollection(BaseModel):
    """An Amazon OpenSearch Serverless collection of type SEARCH with standby replicas: it scales itself, from a
    floor of `minimum_ocus` (half an OCU indexing and half an OCU searching, each with its standby)."""

    model_config = ConfigDict(frozen=True)

    minimum_ocus: float = 2.0


class TierLimits(BaseModel):
    """Capacity a tier buys: what the API lets through and how many Lambda environments each function may use.

    Every function has reserved concurrency: it caps what one tenant can take from the account's pool (tenants
    may share an account) and what each function can put on its downstreams. The API's cap is about twice its
    throttled rate times a request's duration (50 rps x ~0.1 s x 2 = 10); a queue's function's is at least its event
    source's maximum concurrency (`QueueSpec.max_concurrency`), so the poller never hands a throttled batch back.
    """

    model_config = ConfigDict(frozen=True)

    api_rate_per_second: int  # each staff and integrator method's own bucket (API Gateway throttles per method)
    api_burst: int
    # Each public portal page's bucket: external participants (anyone with a link) get less than staff, so a
    # portal flood fills the portal function's reserved concurrency later and staff's link routes keep answering.
    portal_rate_per_second: int
    portal_burst: int
    api_concurrency: int
    consumer_concurrency: int  # reserved concurrency of each queue's function (at least its spec's), >= 2
    stream_concurrency: int  # >= the cases table's stream shards, so the stream is never throttled
    schedule_concurrency: int
    # The tenant's search engine (infra/search_engine.py; its monthly cost in infra/cost.py, docs/operations.md).
    search_engine: SearchDomain | SearchCollection


# The standard tier's engine: two of the smallest Graviton instances that are not burstable (T3 instances spend CPU
# credits, and AWS advises them for tests); the enterprise tier's: a collection that scales itself.
STANDARD_SEARCH = SearchDomain(instance_type="m7g.medium.search", instance_count=2, volume_gb=20)
ENTERPRISE_SEARCH = SearchCollection()
TIER_LIMITS: dict[Tier, TierLimits] = {
    Tier.STANDARD: TierLimits(
        api_rate_per_second=50,
        api_burst=100,
        portal_rate_per_second=10,
        portal_burst=20,
        api_concurrency=10,
        consumer_concurrency=5,
        stream_concurrency=10,
        schedule_concurrency=1,
        search_engine=STANDARD_SEARCH,
    ),
    Tier.ENTERPRISE: TierLimits(
        api_rate_per_second=500,
        api_burst=1000,
        portal_rate_per_second=100,
        portal_burst=200,
        api_concurrency=100,
        consumer_concurrency=20,
        stream_concurrency=20,
        schedule_concurrency=1,
        search_engine=ENTERPRISE_SEARCH,
    ),
}


class Branding(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    display_name: str = Field(min_length=1, max_length=80)
    primary_color: str = Field(default="#1f6feb", pattern=r"^#[0-9a-fA-F]{6}$")
    logo_url: str | None = Field(default=None, pattern=r"^https://[^\s]+$", max_length=2048)


class Tenant(BaseModel):
    """One tenant. `domain` is the public host of its API and portal (links point there)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=TENANT_ID_PATTERN)
    region: str = Field(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
    account: str | None = Field(default=None, pattern=r"^\d{12}$")
    domain: str
    admin_email: str
    tier: Tier = Tier.STANDARD
    branding: Branding
    # An ACM certificate (in the tenant's region) for `domain`: the API gets that custom domain. Without one,
    # the API answers on its execute-api URL and `domain` must be pointed at it by other means (CDN, proxy).
    certificate_arn: str | None = None
    # Prefix of the Cognito domain (<prefix>.auth.<region>.amazoncognito.com): the hosted sign-in pages and the
    # token endpoint integrators' client-credentials flow needs. Globally unique per region.
    auth_domain_prefix: Annotated[str, Field(pattern=r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")] | None = None
    alarm_email: str | None = None

    @field_validator("domain")
    @classmethod
    def _hostname(cls, value: str) -> str:
        if not _HOSTNAME.fullmatch(value):
            raise ValueError("must be a lower-case host name such as cases.example.org")
        return value

    @field_validator("admin_email", "alarm_email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not _EMAIL.fullmatch(value):
            raise ValueError("must be an e-mail address")
        return value

    @field_validator("certificate_arn")
    @classmethod
    def _certificate(cls, value: str | None) -> str | None:
        if value is not None and not _CERTIFICATE_ARN.fullmatch(value):
            raise ValueError("must be an ACM certificate ARN")
        return value

    @model_validator(mode="after")
    def _certificate_in_region(self) -> "Tenant":
        if self.certificate_arn and self.certificate_arn.split(":")[3] != self.region:
            raise ValueError("certificate_arn must be in the tenant's region (a regional API endpoint)")
        if self.auth_domain_prefix and "cognito" in self.auth_domain_prefix:
            raise ValueError("auth_domain_prefix may not contain 'cognito' (Cognito refuses it)")
        return self

    @property
    def limits(self) -> TierLimits:
        return TIER_LIMITS[self.tier]

    @property
    def public_url(self) -> str:
        return f"https://{self.domain}"

    @property
    def auth_prefix(self) -> str:
        """The Cognito domain prefix: `auth_domain_prefix`, or one derived from the tenant id and its domain (which
        the tenant owns, so no other Caseline installation derives the same). Deterministic, so synth stays offline."""
        if self.auth_domain_prefix:
            return self.auth_domain_prefix
        digest = hashlib.sha256(self.domain.encode()).hexdigest()[:8]
        prefix = f"caseline-{self.id}-{digest}"
        # Cognito refuses prefixes with these words in them.
        return f"caseline-{digest}" if any(word in prefix for word in ("aws", "amazon", "cognito")) else prefix

    @property
    def auth_host(self) -> str:
        """The Cognito domain: hosted sign-in pages, the token and logout endpoints."""
        return f"{self.auth_prefix}.auth.{self.region}.amazoncognito.com"

    @property
    def mail_from(self) -> str:
        """The sender of the e-mails the services send with SES (its domain is the SES identity)."""
        return f"caseline@{self.domain}"


class FleetSettings(BaseModel):
    """How `caseline fleet deploy` rolls a release out (docs/operations.md, *Running a fleet*): the `canary` tenant
    alone first, then the others in waves of `wave_size`, in the registry's order, each watched for `bake_minutes`
    before the next one starts."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    canary: str | None = Field(default=None, pattern=TENANT_ID_PATTERN)
    wave_size: int = Field(default=10, ge=1, le=100)
    bake_minutes: int = Field(default=30, ge=0, le=24 * 60)


class RegistryError(ValueError):
    """The registry cannot be read or is invalid; the message says where."""


class TenantRegistry(BaseModel):
    model_config = ConfigDict(frozen=True)

    tenants: dict[str, Tenant]
    fleet: FleetSettings = FleetSettings()

    @model_validator(mode="after")
    def _unique(self) -> "TenantRegistry":
        if self.fleet.canary is not None and self.fleet.canary not in self.tenants:
            raise ValueError(f"fleet.canary {self.fleet.canary!r} is not a tenant of the registry")
        for key, tenant in self.tenants.items():
            if key != tenant.id:
                raise ValueError(f"tenants.{key} has id {tenant.id!r}")
        for attribute in ("domain", "auth_prefix"):
            seen: dict[str, str] = {}
            for tenant in self.tenants.values():
                value = getattr(tenant, attribute)
                if value is not None and value in seen:
                    raise ValueError(f"tenants {seen[value]} and {tenant.id} share the {attribute} {value!r}")
                if value is not None:
                    seen[value] = tenant.id
        return self

    def get(self, tenant_id: str) -> Tenant:
        try:
            return self.tenants[tenant_id]
        except KeyError:
            known = ", ".join(sorted(self.tenants)) or "none"
            raise RegistryError(f"no tenant {tenant_id!r} in the registry (known: {known})") from None


def parse_registry(text: str, source: str = "tenants.toml") -> TenantRegistry:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise RegistryError(f"{source}: {error}") from error
    tables = raw.get("tenants")
    if not isinstance(tables, dict) or not set(raw) <= {"tenants", "fleet"}:
        raise RegistryError(f"{source}: expected only [tenants.<id>] tables and a [fleet] table")
    try:
        entries = {key: {"id": key, **value} if isinstance(value, dict) else value for key, value in tables.items()}
        return TenantRegistry.model_validate({"tenants": entries, "fleet": raw.get("fleet", {})})
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in issue['loc'])}: {issue['msg']}" for issue in error.errors()
        )
        raise RegistryError(f"{source}: {problems}") from error


def load_registry(path: Path = REGISTRY_PATH) -> TenantRegistry:
    try:
        text = path.read_text()
    except OSError as error:
        raise RegistryError(f"cannot read the tenant registry {path}: {error.strerror}") from error
    return parse_registry(text, str(path))
