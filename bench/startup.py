"""Cold start: each service's handler import and whole-process init in fresh interpreters, against `import boto3`.

Every figure is the median of IMPORT_RUNS fresh interpreters on this machine. The services run in the environment
Lambda gives them as deployed: infra/service_stack.py's variables (no POWERTOOLS_TRACE_DISABLED: tracing is
Lambda's active tracing, which sets `_X_AMZN_TRACE_ID` and the daemon address; the function loads no tracing SDK)
and the tenant's resource names. Nothing reaches AWS: the clients are created, never called, and the token
verifier fetches its key set from a local stub issuer.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from caseline_common.resources import TenantResourceNames, download_environment, service_environment
from rich.console import Console
from rich.table import Table

from caseline.local.idp import DEV_CLIENT_ID, DevIdentityProvider
from caseline.paths import COMMON_DIR, SERVICES_DIR

IMPORT_RUNS = 7
SERVICES = ("cases", "timeline", "automations", "portal", "tasks", "search", "insight")
TENANT_ID = "bench"
ACCOUNT_ID = "123456789012"
TARGET_RATIO = 1.5
console = Console()

# In the probe: the handler module's import, then (for "init") what the first invocations build once: the settings,
# the composition root's clients and adapters (every cached factory of chalicelib.runtime), the token verifier with
# its key set fetched, and one token verified.
_PROBE = """
import json, sys, time
started, cpu = time.perf_counter(), time.process_time()
import app
sample = {"import_ms": (time.perf_counter() - started) * 1000, "import_cpu_ms": (time.process_time() - cpu) * 1000}
if sys.argv[1] == "init":
    composition = sys.modules["chalicelib.runtime"]
    runtime = composition.runtime
    runtime.settings
    for factory in [value for value in vars(composition).values() if hasattr(value, "cache_info")]:
        factory()
    principal = runtime.verifier.verify(sys.argv[2])
    assert principal.subject == "bench-user", principal
    sample["init_ms"] = (time.perf_counter() - started) * 1000
    sample["init_cpu_ms"] = (time.process_time() - cpu) * 1000
sample["tracing_sdk"] = sorted(name for name in ("aws_xray_sdk", "opentelemetry") if name in sys.modules)
print("STARTUP " + json.dumps(sample))
"""


@dataclass(frozen=True)
class Startup:
    """Medians of one row: wall and CPU milliseconds of the import, and of the whole init (None for boto3)."""

    import_ms: float
    import_cpu_ms: float
    init_ms: float | None = None
    init_cpu_ms: float | None = None


def lambda_environment(service: str, issuer: str) -> dict[str, str]:
    """What a function of `service` finds in its environment in AWS (infra/service_stack.py, plus Lambda's own)."""
    names = TenantResourceNames(tenant_id=TENANT_ID)
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": os.pathsep.join([str(SERVICES_DIR / service), str(COMMON_DIR)]),
        # Lambda's own, with active tracing on
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_LAMBDA_FUNCTION_NAME": f"caseline-{TENANT_ID}-{service}-api",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
        "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001",
        "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
        "AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        # infra/service_stack.py
        **service_environment(names, service, ACCOUNT_ID),
        **download_environment(service, "https://downloads.bench.example.org"),
        "CASELINE_AWS_REGION": "us-east-1",
        "CASELINE_OIDC_ISSUER": issuer,
        "CASELINE_OIDC_CLIENT_IDS": json.dumps([DEV_CLIENT_ID]),
        "CASELINE_CONSOLE_ORIGIN": "https://console.bench.example.org",
        "CASELINE_PORTAL_BASE_URL": "https://bench.example.org",
        "CASELINE_MAIL_FROM": "caseline@bench.example.org",
        "POWERTOOLS_SERVICE_NAME": service,
        "POWERTOOLS_METRICS_NAMESPACE": "Caseline",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "PYDANTIC_DISABLE_PLUGINS": "__all__",
    }


def _probe(mode: str, service: str, issuer: str, token: str) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, "-c", _PROBE, mode, token],
        cwd=SERVICES_DIR / service,
        env=lambda_environment(service, issuer),
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [line for line in completed.stdout.splitlines() if line.startswith("STARTUP ")]
    if completed.returncode != 0 or not lines:
        raise RuntimeError(f"{service}: the startup probe failed:\n{completed.stderr[-3000:]}")
    sample: dict[str, Any] = json.loads(lines[-1].removeprefix("STARTUP "))
    if sample["tracing_sdk"]:
        raise RuntimeError(f"{service}: the handler import loaded {sample['tracing_sdk']}")
    return sample


def _boto3_import(cwd: str) -> dict[str, Any]:
    output = subprocess.run(
        [
            sys.executable,
            "-c",
            "import time; t, c = time.perf_counter(), time.process_time(); import boto3; "
            "print((time.perf_counter() - t) * 1000, (time.process_time() - c) * 1000)",
        ],
        cwd=cwd,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return {"import_ms": float(output[0]), "import_cpu_ms": float(output[1])}


def _median(samples: list[dict[str, Any]], name: str) -> float:
    return statistics.median(float(sample[name]) for sample in samples)


class _JwksStub(BaseHTTPRequestHandler):
    jwks: bytes = b"{}"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.jwks)))
        self.end_headers()
        self.wfile.write(self.jwks)

    def log_message(self, *_: Any) -> None:
        pass


def measure() -> tuple[Startup, dict[str, Startup]]:
    """Runs round by round (boto3, then each service's import and init), so a busy moment of a shared machine
    weighs on every row alike rather than on one."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _JwksStub)
    issuer = f"http://127.0.0.1:{server.server_address[1]}"
    provider = DevIdentityProvider(issuer)
    _JwksStub.jwks = json.dumps(provider.jwks()).encode()
    token = provider.issue(subject="bench-user", email="bench@example.org", groups=["caseline-staff"])
    threading.Thread(target=server.serve_forever, daemon=True).start()
    baseline: list[dict[str, Any]] = []
    imports: dict[str, list[dict[str, Any]]] = {service: [] for service in SERVICES}
    inits: dict[str, list[dict[str, Any]]] = {service: [] for service in SERVICES}
    try:
        with tempfile.TemporaryDirectory() as empty:
            for _ in range(IMPORT_RUNS):
                baseline.append(_boto3_import(empty))
                for service in SERVICES:
                    imports[service].append(_probe("import", service, issuer, token))
                    inits[service].append(_probe("init", service, issuer, token))
    finally:
        server.shutdown()
        server.server_close()
    return Startup(_median(baseline, "import_ms"), _median(baseline, "import_cpu_ms")), {
        service: Startup(
            import_ms=_median(imports[service], "import_ms"),
            import_cpu_ms=_median(imports[service], "import_cpu_ms"),
            init_ms=_median(inits[service], "init_ms"),
            init_cpu_ms=_median(inits[service], "init_cpu_ms"),
        )
        for service in SERVICES
    }


def _ratio(value: float, baseline: float) -> str:
    ratio = value / baseline
    return f"[{'green' if ratio <= TARGET_RATIO else 'red'}]{ratio:.2f}x[/]"


def startup() -> None:
    baseline, services = measure()
    table = Table(
        title=f"Cold start against import boto3: fresh interpreters, median of {IMPORT_RUNS}, environment as "
        f"deployed (target: import app <= {TARGET_RATIO}x)",
        caption=(
            "import boto3: that import alone. import app: the handler module as Lambda imports it, with Lambda's "
            "active-tracing variables and no tracing SDK; it loads botocore (not boto3), Chalice, Powertools Logger "
            "and Metrics, pydantic and the service's code (with the cyclic GC paused, as in Lambda: "
            "caseline_common/coldstart.py), and leaves for first use what only some functions need "
            "(a route's module, an event function's handlers, the use cases, model schemas, settings, PyJWT, Jinja, "
            "the batch processor): its ratio compares less work than a full start. init: the import plus the "
            "settings, every client and adapter of the composition root with the use cases they import, the token "
            "verifier fetching its key set (a local stub) and verifying one token; a first request adds its "
            "route's module, models and AWS calls. x boto3: wall and CPU time each against boto3's; CPU time is the "
            "steadier on a shared machine."
        ),
    )
    for column in ("", "import ms", "x boto3", "CPU ms", "x boto3 CPU", "init ms", "x boto3", "init CPU ms"):
        table.add_column(column, justify="right" if column else "left")
    table.add_row("import boto3", f"{baseline.import_ms:.0f}", "1.00x", f"{baseline.import_cpu_ms:.0f}", "1.00x")
    for service, figures in services.items():
        init_ms, init_cpu_ms = figures.init_ms or 0.0, figures.init_cpu_ms or 0.0
        table.add_row(
            f"{service} import app",
            f"{figures.import_ms:.0f}",
            _ratio(figures.import_ms, baseline.import_ms),
            f"{figures.import_cpu_ms:.0f}",
            _ratio(figures.import_cpu_ms, baseline.import_cpu_ms),
            f"{init_ms:.0f}",
            f"{init_ms / baseline.import_ms:.2f}x",
            f"{init_cpu_ms:.0f}",
        )
    console.print(table)


if __name__ == "__main__":
    startup()
