"""The synthetic probe: one case opened, worked and closed through a tenant's public API and its portal, as an
integrator and an external participant would, step by step, each timed.

Standard library only: this directory is the probe function's whole package in AWS (infra/probes.py), and the same
code runs locally against `caseline dev` (tests/e2e/test_probe.py).
"""

import base64
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

PROBE_TEMPLATE_KEY = "caseline-probe"
# The probe's own template: two stages, no rules (nothing e-mails anyone), one external role for the portal link.
PROBE_TEMPLATE: dict[str, Any] = {
    "key": PROBE_TEMPLATE_KEY,
    "name": "Synthetic probe",
    "description": "Cases the synthetic probe opens, works and closes to check the API and the portal answer.",
    "fields": [{"key": "run", "label": "Probe run", "type": "text"}],
    "stages": [
        {"key": "opened", "name": "Opened"},
        {"key": "worked", "name": "Worked", "next": []},
    ],
    "roles": [
        {"key": "operator", "name": "Operator", "permissions": ["case.view"], "fields": {"*": "edit"}},
        {"key": "recipient", "name": "Recipient", "kind": "external", "permissions": ["case.view"]},
    ],
    "owner_role": "operator",
}
PROBE_PARTICIPANT = {"kind": "external", "role": "recipient", "name": "Probe recipient", "email": "probe@example.com"}
TokenProvider = Callable[[], str]


class UnexpectedAnswerError(ValueError):
    """An answer other than the one a step expects."""


class ProbeFailedError(Exception):
    def __init__(self, step: str, detail: str) -> None:
        super().__init__(f"probe step {step!r} failed: {detail}")
        self.step = step


@dataclass
class ProbeRun:
    run_id: str
    case_id: str | None = None
    seconds: dict[str, float] = field(default_factory=dict)  # each step's duration, in order


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def _web_url(url: str) -> str:
    if urllib.parse.urlsplit(url).scheme not in ("https", "http"):
        raise ValueError(f"not a web URL: {url}")
    return url


def client_credentials(token_url: str, client_id: str, client_secret: str) -> TokenProvider:
    """A token provider for a machine client (OAuth 2.0 client credentials, HTTP Basic), one token per probe run."""

    def token() -> str:
        basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
        request = urllib.request.Request(  # noqa: S310 (the tenant's token endpoint: http(s) only, as checked)
            _web_url(token_url),
            data=urllib.parse.urlencode({"grant_type": "client_credentials"}).encode(),
            headers={"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return str(json.loads(response.read())["access_token"])

    return token


class Probe:
    def __init__(
        self,
        base_url: str,
        token: TokenProvider,
        *,
        timeout_seconds: float = 10,
        wait_seconds: float = 30,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout_seconds, self.wait_seconds, self.sleep = timeout_seconds, wait_seconds, sleep
        self._bearer = ""

    def run(self, run_id: str) -> ProbeRun:
        """Opens, moves, links and closes one case; raises ProbeFailedError at the first step that goes wrong (and
        cancels the case it opened, so failed runs leave no open case behind)."""
        run = ProbeRun(run_id=run_id)
        self._bearer = self._step(run, "token", self.token)
        self._step(run, "template", self._ensure_template)
        case = self._step(run, "open", lambda: self._open(run_id))
        run.case_id = case_id = str(case["id"])
        try:
            self._step(run, "move", lambda: self._move(case_id))
            url = self._step(run, "link", lambda: self._portal_link(case_id, run_id))
            self._step(run, "portal", lambda: self._portal_page(url, str(case["title"])))
            self._step(run, "close", lambda: self._close(case_id))
        except ProbeFailedError as failure:
            self._call("POST", f"/cases/{case_id}/cancel", {"reason": f"Probe run failed: {failure.step}"})
            raise
        return run

    def _step(self, run: ProbeRun, name: str, action: Callable[[], Any]) -> Any:
        started = time.monotonic()
        try:
            result = action()
        except (OSError, ValueError, KeyError) as error:  # refused, timed out, TLS, an answer not the expected one
            raise ProbeFailedError(name, f"{type(error).__name__}: {error}") from error
        run.seconds[name] = round(time.monotonic() - started, 3)
        return result

    def _call(
        self, method: str, path_or_url: str, body: Any = None, *, headers: dict[str, str] | None = None
    ) -> Answer:
        url = path_or_url if "://" in path_or_url else f"{self.base_url}{path_or_url}"
        sent = {"Authorization": f"Bearer {self._bearer}"} if "://" not in path_or_url else {}
        if body is not None:
            sent["Content-Type"] = "application/json"
        request = urllib.request.Request(  # noqa: S310 (http(s) only, as checked)
            _web_url(url),
            data=None if body is None else json.dumps(body).encode(),
            headers={**sent, **(headers or {})},
            method=method,
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:  # noqa: S310
                return Answer(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as error:  # an answer all the same (4xx, 5xx)
            return Answer(error.code, dict(error.headers), error.read())

    @staticmethod
    def _expect(answer: Answer, *statuses: int) -> Any:
        if answer.status not in statuses:
            raise UnexpectedAnswerError(f"{answer.status}: {answer.body[:300]!r}")
        return answer.json()

    def _ensure_template(self) -> None:
        found = self._call("GET", f"/templates/{PROBE_TEMPLATE_KEY}")
        if found.status == 404:
            self._expect(self._call("POST", "/templates", PROBE_TEMPLATE), 201)
        else:
            self._expect(found, 200)

    def _open(self, run_id: str) -> Any:
        case = {"template_key": PROBE_TEMPLATE_KEY, "title": f"Probe {run_id}", "fields": {"run": run_id}}
        opened = self._call("POST", "/cases", case, headers={"Idempotency-Key": f"probe-{run_id}-open"})
        return self._expect(opened, 201)

    def _portal_link(self, case_id: str, run_id: str) -> str:
        case = self._expect(self._call("POST", f"/cases/{case_id}/participants", PROBE_PARTICIPANT), 200)
        [participant_id] = [p["id"] for p in case["participants"] if p["role"] == PROBE_PARTICIPANT["role"]]
        deadline = time.monotonic() + self.wait_seconds
        while True:  # the portal learns of the case and the participant from events: 503 until it has
            issued = self._call(
                "POST",
                f"/cases/{case_id}/portal-links",
                {"participant_id": participant_id},
                headers={"Idempotency-Key": f"probe-{run_id}-link"},
            )
            if issued.status != 503 or time.monotonic() > deadline:
                return str(self._expect(issued, 201)["url"])
            self.sleep(float(issued.headers.get("Retry-After", "1")))

    def _portal_page(self, url: str, title: str) -> None:
        page = self._call("GET", url)
        if page.status != 200 or not page.headers.get("Content-Type", "").startswith("text/html"):
            raise UnexpectedAnswerError(f"{page.status} {page.headers.get('Content-Type')}")
        if title in page.body.decode("utf-8", "replace"):  # the landing page shows nothing of the case before a session
            raise UnexpectedAnswerError("the landing page shows the case's title")

    def _move(self, case_id: str) -> None:
        self._expect(self._call("POST", f"/cases/{case_id}/transitions", {"to": "worked"}), 200)

    def _close(self, case_id: str) -> None:
        closed = self._expect(self._call("POST", f"/cases/{case_id}/close", {"reason": "Probe run complete"}), 200)
        if closed["status"] != "closed":
            raise UnexpectedAnswerError(f"the case is {closed['status']}, not closed")


PROBE_METRIC = "ProbeFailed"


def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    """The scheduled probe in AWS: its machine client from Secrets Manager, one run against the tenant's API, and
    `ProbeFailed` (0 or 1, dimension tenant) in CloudWatch's embedded metric format, which the log group turns into
    the metric its alarm watches. A failed run raises too, so the function's own error metric counts it."""
    import boto3

    secret = json.loads(
        boto3.client("secretsmanager").get_secret_value(SecretId=os.environ["PROBE_SECRET_ARN"])["SecretString"]
    )
    base_url = os.environ["PROBE_BASE_URL"]
    token = client_credentials(f"{base_url.rstrip('/')}/oauth2/token", secret["client_id"], secret["client_secret"])
    run_id = str(event.get("id") or time.time_ns())
    failed = 1
    try:
        run = Probe(base_url, token).run(run_id)
        failed = 0
    finally:
        print(json.dumps(_metric_record(os.environ["PROBE_TENANT"], failed)))
    return {"run_id": run.run_id, "case_id": run.case_id, "seconds": run.seconds}


def _metric_record(tenant: str, failed: int) -> dict[str, Any]:
    return {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": os.environ["PROBE_METRICS_NAMESPACE"],
                    "Dimensions": [["tenant"]],
                    "Metrics": [{"Name": PROBE_METRIC, "Unit": "Count"}],
                }
            ],
        },
        "tenant": tenant,
        PROBE_METRIC: failed,
    }
