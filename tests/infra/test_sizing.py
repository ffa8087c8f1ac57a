"""Memory sizes come from measured figures through one rule; every deployed function has been measured."""

import pytest

from infra.functions import MEASURED, all_functions
from infra.sizing import MEMORY_STEPS, ONE_VCPU_MB, measure, memory_for


def test_every_deployed_function_was_measured() -> None:
    deployed = {(spec.service, spec.name) for spec in all_functions()}
    assert set(MEASURED) == deployed, "run `python -m infra.sizing` and record the new function in MEASURED"


def test_memory_sizes_are_steps_of_the_rule() -> None:
    for spec in all_functions():
        assert spec.memory_mb in MEMORY_STEPS, spec


def test_the_rule_holds_twice_the_peak_then_buys_cpu_for_the_cold_start_budget() -> None:
    # 300 MB peak: at least 600 MB whatever the budget.
    assert memory_for("consumer", 10, 10, 300, 10) == 640
    # An API function importing in 500 ms on a full core: 1769 * 500 / 600 ms budget -> 1474 MB -> 1536.
    assert memory_for("api", 500, 50, 80, 29) == 1536
    assert memory_for("api", 500, 50, 80, 29) * 600 >= 500 * ONE_VCPU_MB
    # A consumer's cold invocation must fit in half its timeout: 700 ms of work, 10 s timeout -> 256 MB is enough
    # (700 * 1769 / 256 = 4.8 s), 1.5 s of work needs 640 MB (4.1 s).
    assert memory_for("consumer", 450, 250, 90, 10) == 256
    assert memory_for("consumer", 1000, 500, 90, 10) == 640
    # Beyond one vCPU memory no longer buys CPU for one thread: the rule stops there.
    assert memory_for("api", 5000, 0, 80, 29) == MEMORY_STEPS[-1]


@pytest.mark.timeout(60)
def test_the_probe_measures_a_real_cold_start() -> None:
    found = measure(
        "automations", "api", "api", endpoint="http://127.0.0.1:9", tenant_id="sizing", user_pool_id="none", runs=1
    )
    assert 50 < found.import_ms < 10_000
    assert 20 < found.rss_import_mb <= found.rss_peak_mb < 1000
