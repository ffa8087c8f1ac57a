"""The tenant registry (tenants.toml), validated by pydantic before anything is synthesized."""

from pathlib import Path

import pytest

from infra.tenants import REGISTRY_PATH, TIER_LIMITS, RegistryError, Tier, load_registry, parse_registry

VALID = """
[tenants.alpha]
region = "eu-central-1"
domain = "cases.alpha.example"
admin_email = "admin@alpha.example"
[tenants.alpha.branding]
display_name = "Alpha"
"""


def test_the_repository_registry_is_valid() -> None:
    registry = load_registry(REGISTRY_PATH)
    assert {"demo", "acme"} <= set(registry.tenants)
    acme = registry.get("acme")
    assert acme.tier is Tier.ENTERPRISE
    assert acme.account == "111122223333"
    assert acme.public_url == "https://cases.acme.example"


def test_defaults_and_tier_limits() -> None:
    alpha = parse_registry(VALID).get("alpha")
    assert alpha.tier is Tier.STANDARD
    assert alpha.account is None
    assert alpha.branding.primary_color == "#1f6feb"
    assert alpha.limits == TIER_LIMITS[Tier.STANDARD]
    for limits in TIER_LIMITS.values():
        assert limits.consumer_concurrency >= 2  # the SQS event source's minimum maximum concurrency


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("[tenants.alpha]", "[tenants.Alpha]"), "tenants.Alpha.id"),
        (('region = "eu-central-1"', 'region = "Europe"'), "region"),
        (('domain = "cases.alpha.example"', 'domain = "https://alpha.example"'), "host name"),
        (('admin_email = "admin@alpha.example"', 'admin_email = "admin"'), "e-mail"),
        (('region = "eu-central-1"', 'region = "eu-central-1"\naccount = "12345"'), "account"),
        (('region = "eu-central-1"', 'region = "eu-central-1"\ntier = "gold"'), "tier"),
        (('region = "eu-central-1"', 'region = "eu-central-1"\ncolour = "red"'), "Extra inputs"),
        (
            ('region = "eu-central-1"', 'region = "eu-central-1"\ncertificate_arn = "arn:aws:acm:us-east-1:111122223333'
             ':certificate/3f1c2a9e-7d4b-4c55-9a0e-2b6f8c1d4e7a"'),
            "tenant's region",
        ),
        (('display_name = "Alpha"', 'display_name = ""'), "display_name"),
    ],
)  # fmt: skip
def test_invalid_entries_are_refused_with_where_and_why(change: tuple[str, str], message: str) -> None:
    with pytest.raises(RegistryError, match=message):
        parse_registry(VALID.replace(*change))


def test_two_tenants_cannot_share_a_domain() -> None:
    twice = VALID + VALID.replace("alpha]", "beta]").replace("alpha.branding", "beta.branding").replace(
        "admin@alpha", "admin@beta"
    )
    with pytest.raises(RegistryError, match=r"share the domain 'cases\.alpha\.example'"):
        parse_registry(twice)


def test_unknown_tenant_and_unreadable_registry_say_so(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match=r"no tenant 'nope' in the registry \(known: alpha\)"):
        parse_registry(VALID).get("nope")
    with pytest.raises(RegistryError, match="cannot read the tenant registry"):
        load_registry(tmp_path / "missing.toml")
    with pytest.raises(RegistryError, match="expected only"):
        parse_registry('title = "x"')


def test_fleet_settings_default_and_are_validated() -> None:
    assert parse_registry(VALID).fleet.model_dump() == {"canary": None, "wave_size": 10, "bake_minutes": 30}
    fleet = parse_registry(VALID + '[fleet]\ncanary = "alpha"\nwave_size = 3\nbake_minutes = 5\n').fleet
    assert (fleet.canary, fleet.wave_size, fleet.bake_minutes) == ("alpha", 3, 5)
    assert load_registry(REGISTRY_PATH).fleet.canary == "demo"


@pytest.mark.parametrize(
    ("fleet", "message"),
    [
        ('canary = "beta"', "fleet.canary 'beta' is not a tenant of the registry"),
        ("wave_size = 0", r"fleet\.wave_size: Input should be greater than or equal to 1"),
        ("bake_minutes = -1", r"fleet\.bake_minutes"),
        ("waves = 2", r"fleet\.waves: Extra inputs"),
    ],
)
def test_invalid_fleet_settings_say_where_and_why(fleet: str, message: str) -> None:
    with pytest.raises(RegistryError, match=message):
        parse_registry(f"{VALID}[fleet]\n{fleet}\n")
