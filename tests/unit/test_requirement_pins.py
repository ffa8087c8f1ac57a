"""What `chalice package` bundles into each service's Lambda is what the project tests with: every pin in a
service's requirements.txt is the version uv.lock resolved."""

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
PIN = re.compile(r"^(?P<name>[A-Za-z0-9_.-]+)(\[[^\]]*\])?==(?P<version>\S+)$")


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked() -> dict[str, str]:
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    return {normalized(package["name"]): package["version"] for package in lock["package"] if "version" in package}


@pytest.mark.parametrize(
    "requirements", sorted(ROOT.glob("services/*/requirements.txt")), ids=lambda path: path.parent.name
)
def test_every_service_pin_is_the_locked_version(requirements: Path) -> None:
    versions = locked()
    lines = [line.strip() for line in requirements.read_text().splitlines()]
    pins = [line for line in lines if line and not line.startswith("#")]
    assert pins, requirements
    for pin in pins:
        found = PIN.match(pin)
        assert found, f"{requirements}: {pin!r} is not pinned with =="
        name, version = normalized(found["name"]), found["version"]
        assert versions.get(name) == version, f"{requirements}: {pin}, but uv.lock has {versions.get(name)}"
