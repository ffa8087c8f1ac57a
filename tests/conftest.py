"""Shared fixtures. Servers bind to 127.0.0.1 on free ports and stop at the end of the session."""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from caseline.local.stack import LocalStack, StackOptions

# Property tests check what holds, not how fast: a slow example on a busy machine (two workers on two cores) is no
# failure. Timing lives in bench/.
settings.register_profile("caseline", deadline=None)
settings.load_profile("caseline")

DEMO_TEMPLATE = Path(__file__).parents[1] / "caseline" / "local" / "demo" / "employee-onboarding.json"


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """The whole local stack, in-process, with the demo template and cases seeded."""
    options = StackOptions(port=0, state_dir=tmp_path_factory.mktemp("caseline-state"), queue_retry_delay_seconds=1)
    with LocalStack(options) as running:
        yield running


@pytest.fixture
def demo_template() -> dict[str, Any]:
    template: dict[str, Any] = json.loads(DEMO_TEMPLATE.read_text())
    return template
