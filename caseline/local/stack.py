"""The local stack: moto, the tenant's resources, the six services, pumps, gateway and dev issuer."""

import json
import logging
import os
import shutil
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from caseline_common.aws import AwsClients
from caseline_common.resources import (
    INSIGHT_ENGINE_ENV_VAR,
    SCHEDULES,
    SEARCH_ENGINE_ENV_VAR,
    SERVICES,
    STREAM_HANDLERS,
    USER_POOL_ENV_VAR,
    TenantResourceNames,
    download_environment,
    service_environment,
)
from caseline_common.scopes import TOKEN_PATH
from caseline_common.tenant import StaffRole

from ..paths import EXAMPLES_DIR, STATE_DIR
from ..usage_plans import UsagePlans
from .console import dev_user_by_email
from .downloads import DOWNLOADS_PREFIX
from .emulator import EmulatorProcess
from .gateway import IDP_PREFIX, GatewayServer, LocalApi
from .idp import DevIdentityProvider
from .loader import LoadedService, load_service
from .provision import LOCAL_ACCOUNT_ID, ProvisionedTenant, provision_tenant
from .pumps import Pump, SchedulePump, StreamPump, invoke, queue_pumps, scheduled_event
from .token_endpoint import TokenEndpoint

LOCAL_REGION = "us-east-1"
DEMO_DIR = Path(__file__).parent / "demo"
DUE_WORK_FUNCTION = "run_due_work"
# The people directory's refresh: run once at start as well, so the console has names at once.
PEOPLE_SYNC_FUNCTION = "sync_people"
log = logging.getLogger("caseline.local")


@dataclass(frozen=True)
class StackOptions:
    tenant_id: str = "demo"
    host: str = "127.0.0.1"
    port: int = 8000
    moto_port: int = 0
    seed: bool = True
    state_dir: Path = STATE_DIR
    queue_retry_delay_seconds: int = 1
    schedule_every_seconds: float | None = 60.0  # None: the rate in the spec; locally a minute is handier
    # Timers and webhook retries: swept every second locally (every minute in AWS), so demos and tests
    # see a moved clock take effect at once.
    due_work_every_seconds: float = 1.0


class LocalClock:
    """The time the local scheduler stamps on its events. Tests move it forward instead of sleeping."""

    def __init__(self) -> None:
        self._offset = timedelta()
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return datetime.now(UTC) + self._offset

    def advance(self, by: timedelta) -> None:
        with self._lock:
            self._offset += by


class LocalStack:
    def __init__(self, options: StackOptions | None = None) -> None:
        self.options = options or StackOptions()
        self._emulator: EmulatorProcess | None = None
        self._gateway: GatewayServer | None = None
        self._gateway_thread: threading.Thread | None = None
        self.pumps: list[Pump] = []
        self.functions: dict[str, LoadedService] = {}
        self.api: LocalApi
        self.idp: DevIdentityProvider
        self.aws: AwsClients
        self.tenant: ProvisionedTenant
        self.seeded_case_ids: list[str] = []
        self.clock = LocalClock()
        self.demo_claimant = ""
        self._replaced_environment: dict[str, str | None] = {}

    @property
    def url(self) -> str:
        assert self._gateway is not None
        return self._gateway.url

    @property
    def token_url(self) -> str:
        """Where machine clients get their tokens (Cognito's `/oauth2/token`, served by the gateway)."""
        return f"{self.url}{TOKEN_PATH}"

    @property
    def aws_endpoint(self) -> str:
        assert self._emulator is not None
        return self._emulator.endpoint

    def start(self) -> "LocalStack":
        options = self.options
        self._emulator = EmulatorProcess(options.host, options.moto_port)
        # Bind first: the issuer URL (and so every token) names the gateway's real port.
        self._gateway = GatewayServer(options.host, options.port)
        self.idp = DevIdentityProvider(f"{self.url}{IDP_PREFIX}", options.state_dir / "dev-signing-key.pem")
        self._configure_environment()
        self.aws = AwsClients(LOCAL_REGION, self.aws_endpoint)
        self.tenant = provision_tenant(self.aws, options.tenant_id, token_url=self.token_url)
        self._set_environment({USER_POOL_ENV_VAR: self.tenant.user_pool_id})
        # As in AWS, the API and each event handler are separate functions with their own cold start.
        self.api = LocalApi(
            [load_service(name) for name in SERVICES],
            self.idp,
            token_endpoint=TokenEndpoint(self.idp, self.aws.cognito_idp(), self.tenant.user_pool_id),
            usage_plans=UsagePlans(self.aws.apigateway(), self.tenant.names),
        )
        self._gateway.api = self.api
        self._gateway_thread = threading.Thread(target=self._gateway.serve_forever, name="gateway", daemon=True)
        self._gateway_thread.start()
        self._start_pumps()
        if options.seed:
            self.seed()
        return self

    @property
    def search_index_dir(self) -> Path:
        return self.options.state_dir / "search" / self.options.tenant_id

    @property
    def insight_dir(self) -> Path:
        """Where the insight service's DuckDB reads its copy of the tenant's lake."""
        return self.options.state_dir / "insight" / self.options.tenant_id

    def _configure_environment(self) -> None:
        # The emulator starts empty on every run, so the search index and the lake's copy (on disk, beside the
        # state) do too.
        shutil.rmtree(self.search_index_dir, ignore_errors=True)
        shutil.rmtree(self.insight_dir, ignore_errors=True)
        environment = {
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": LOCAL_REGION,
            "CASELINE_AWS_REGION": LOCAL_REGION,
            "CASELINE_AWS_ENDPOINT_URL": self.aws_endpoint,
            "CASELINE_OIDC_ISSUER": self.idp.issuer,
            "CASELINE_OIDC_CLIENT_IDS": json.dumps([self.idp.client_id]),
            # Links point at the local gateway, which serves the portal's pages like every other route.
            "CASELINE_PORTAL_BASE_URL": self.url,
            # Locally every browser, test and script is the one client 127.0.0.1, so the per-client limit is wider.
            "CASELINE_PORTAL_REQUESTS_PER_MINUTE": os.environ.get("CASELINE_PORTAL_REQUESTS_PER_MINUTE", "1000"),
            # Rule e-mails and portal invitations; locally they land in the emulator's SES, shown at /_dev/mailbox.
            "CASELINE_MAIL_FROM": f"caseline@{self.options.tenant_id}.caseline.local",
            # Webhook receivers in tests and demos listen on 127.0.0.1 without TLS.
            "CASELINE_ALLOW_INSECURE_WEBHOOKS": "true",
            # The search service's embedded engine (tantivy) keeps the tenant's index on disk beside the stack's state.
            SEARCH_ENGINE_ENV_VAR: f"file://{self.search_index_dir}",
            # The insight service's embedded engine (DuckDB) reads a copy of the lake's objects kept there.
            INSIGHT_ENGINE_ENV_VAR: f"duckdb://{self.insight_dir}",
            # The pump passes on what waits at once, so events reach the lake within about two seconds (not the
            # five-minute window AWS batches for); insight results are cached for as long.
            "CASELINE_LAKE_DELIVERY_SECONDS": "2",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_NAMESPACE": "Caseline",
            # EMF metrics are CloudWatch's business; locally they would only flood the console.
            "POWERTOOLS_METRICS_DISABLED": os.environ.get("POWERTOOLS_METRICS_DISABLED", "true"),
            "POWERTOOLS_DEV": os.environ.get("POWERTOOLS_DEV", "false"),
            "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"),
        }
        names = TenantResourceNames(tenant_id=self.options.tenant_id)
        for service in SERVICES:
            environment.update(service_environment(names, service, LOCAL_ACCOUNT_ID))
            # Downloads go through the gateway, which adds the headers the emulator's S3 cannot, as CloudFront does.
            environment.update(download_environment(service, f"{self.url}{DOWNLOADS_PREFIX}"))
        self._set_environment(environment)

    def _set_environment(self, environment: dict[str, str]) -> None:
        # Put back on stop: a stack started beside another (a test's own) must not leave the first one's
        # services pointing at an emulator that is gone. Stacks started beside each other stop in reverse order.
        for name in environment:
            self._replaced_environment.setdefault(name, os.environ.get(name))
        os.environ.update(environment)

    def _function(self, service: str, function: str) -> Any:
        loaded = load_service(service)
        self.functions[function] = loaded
        return loaded.function(function)

    def _start_pumps(self) -> None:
        for stream in STREAM_HANDLERS:
            self.pumps.append(
                StreamPump(
                    self.aws.dynamodb_streams(),
                    self.tenant.stream_arns[stream.table_id],
                    self._function(stream.service, stream.function),
                    stream.function,
                    batch_size=stream.batch_size,
                )
            )
        # As many copies of each queue's function as its mapping may run at once in AWS (loaded now: a copy
        # loaded while the services run would swap the module names they import under).
        self.pumps += queue_pumps(
            self.aws.sqs(),
            [*self.tenant.queues.values(), *self.tenant.work_queues.values()],
            lambda spec: self._function(spec.service, spec.function),
            instance_for=lambda spec: load_service(spec.service).function(spec.function),
            retry_delay_seconds=self.options.queue_retry_delay_seconds,
            region=LOCAL_REGION,
        )
        for schedule in SCHEDULES:
            handler = self._function(schedule.service, schedule.function)
            if schedule.function == PEOPLE_SYNC_FUNCTION:
                invoke(handler, schedule.function, scheduled_event(schedule.function, self.clock.now()))
            self.pumps.append(
                SchedulePump(
                    handler,
                    schedule.function,
                    every_seconds=self.options.due_work_every_seconds
                    if schedule.function == DUE_WORK_FUNCTION
                    else self.options.schedule_every_seconds or schedule.every_minutes * 60,
                    clock=self.clock.now,
                )
            )
        for pump in self.pumps:
            pump.start()

    def staff_token(self, *, admin: bool = True, email: str = "dana.admin@demo.caseline.local") -> str:
        """A person's token: a development user's subject for their e-mail address (the one their console sign-in
        carries), else `dev-<the address's local part>`."""
        groups = [StaffRole.ADMIN.value, StaffRole.STAFF.value] if admin else [StaffRole.STAFF.value]
        user = dev_user_by_email(email)
        subject = user.subject if user else f"dev-{email.split('@')[0]}"
        return self.idp.issue(subject=subject, email=email, groups=groups)

    def request(self, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
        """Calls the API in-process, exactly as the HTTP gateway does."""
        headers = {"Authorization": f"Bearer {token or self.staff_token()}"}
        payload = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            payload = json.dumps(body).encode()
        status, _headers, raw = self.api.handle(method, path, headers, payload)
        return status, json.loads(raw) if raw else None

    def seed(self) -> None:
        """The demo tenant: the onboarding template, the six example templates, and a case on each."""
        for path in [DEMO_DIR / "employee-onboarding.json", *sorted(EXAMPLES_DIR.glob("*.json"))]:
            status, body = self.request("POST", "/templates", json.loads(path.read_text()))
            if status != 201:
                raise RuntimeError(f"seeding the template {path.name} failed: {status} {body}")
        for case in json.loads((DEMO_DIR / "cases.json").read_text()):
            status, body = self.request("POST", "/cases", case)
            if status != 201:
                raise RuntimeError(f"seeding a demo case failed: {status} {body}")
            self.seeded_case_ids.append(body["id"])
        # The insurance claim: its rules invite the policyholder, who then follows the claim in the portal.
        claim = self.seeded_case_ids[4]
        deadline = time.monotonic() + 30
        while not self.demo_claimant and time.monotonic() < deadline:
            status, body = self.request("GET", f"/cases/{claim}")
            externals = [p["id"] for p in body["participants"] if p["kind"] == "external"] if status == 200 else []
            self.demo_claimant = externals[0] if externals else ""
            time.sleep(0.1)
        if not self.demo_claimant:
            raise RuntimeError("the insurance claim's rules did not invite the policyholder")

    def demo_portal_link(self, timeout: float = 15.0) -> str | None:
        """A portal link for the demo claimant, once the portal's read model has caught up with the seed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, body = self.request(
                "POST", f"/cases/{self.seeded_case_ids[4]}/portal-links", {"participant_id": self.demo_claimant}
            )
            if status == 201:
                return str(body["url"])
            time.sleep(0.2)
        return None

    def stop(self) -> None:
        for pump in self.pumps:
            pump.stop()
        for pump in self.pumps:
            pump.join(timeout=5)
        if self._gateway is not None:
            if self._gateway_thread is not None:  # shutdown() waits for serve_forever, which may never have run
                self._gateway.shutdown()
            self._gateway.server_close()
        if self._emulator is not None:
            self._emulator.stop()
        for name, value in self._replaced_environment.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._replaced_environment = {}

    def __enter__(self) -> "LocalStack":
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *_exc: object) -> None:
        self.stop()
