"""Webhook subscriptions and deliveries, signed per the Standard Webhooks specification. Pure Python."""

import base64
import ipaddress
import json
import re
import secrets
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Self
from urllib.parse import urlsplit

from caseline_common.envelope import EventEnvelope
from caseline_common.errors import FieldIssue, InvalidInputError
from caseline_common.events import EventType
from caseline_common.text import MULTI_LINE, SINGLE_LINE
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.config import JsonDict
from standardwebhooks import Webhook as StandardWebhook

from .examples import ROLE_ASSIGNED_PAYLOAD

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret
SECRET_BYTES = 32
# After a rotation the old secret keeps signing (beside the new one) so receivers can switch over.
SECRET_OVERLAP = timedelta(hours=24)
# Waits after the 1st, 2nd, ... failed attempt; the attempt after the last wait is the final one.
BACKOFF = (
    timedelta(seconds=10),
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=8),
)
MAX_ATTEMPTS = len(BACKOFF) + 1
MAX_URL_LENGTH = 2000
LOOPBACK_HOSTNAMES = frozenset({"localhost"})
_PUBLIC_HOSTNAME = re.compile(r"^([a-z0-9_-]+\.)+([a-z]{2,63}|xn--[a-z0-9-]{1,59})$")

EventTypeFilter = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z]+(_[a-z]+)*\.([a-z]+(_[a-z]+)*|\*)$"),
    Field(description=f'An event type such as "{EventType.CASE_OPENED}", or every type of a family such as "case.*".'),
]


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def retry_delay(attempts_made: int) -> timedelta | None:
    """How long to wait after `attempts_made` failed attempts; None once no attempt is left."""
    if attempts_made < 1 or attempts_made > len(BACKOFF):
        return None
    return BACKOFF[attempts_made - 1]


def event_type_matches(event_type: str, event_types: list[str]) -> bool:
    """An empty filter takes every event; "family.*" takes every type of that family."""
    if not event_types:
        return True
    family = event_type.split(".", 1)[0]
    return any(wanted in (event_type, f"{family}.*") for wanted in event_types)


def _is_loopback(host: str) -> bool:
    if host in LOOPBACK_HOSTNAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _is_internal_address(host: str) -> bool:
    """An IP literal no integrator's endpoint has: private, link-local (cloud metadata), reserved."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return not address.is_global or address.is_multicast


def url_problems(url: str, *, allow_insecure: bool) -> list[str]:
    """What makes `url` unfit to receive webhooks. Plain http only reaches loopback, and only locally."""
    if len(url) > MAX_URL_LENGTH:
        return [f"must be at most {MAX_URL_LENGTH} characters"]
    if any(ord(character) < 0x21 or ord(character) == 0x7F for character in url):
        return ["must not contain spaces or control characters"]
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        _ = parts.port  # raises ValueError when out of range
    except ValueError:
        return ["is not a valid URL"]
    if parts.scheme not in ("https", "http") or not host:
        return ["must be an https:// URL with a host"]
    if parts.username is not None or parts.password is not None:
        return ["must not carry credentials; receivers verify the signature instead"]
    if parts.fragment:
        return ["must not have a fragment"]
    if _is_loopback(host):
        return [] if allow_insecure else ["must not point at this machine (loopback)"]
    if parts.scheme != "https":
        return ["must use https"]
    if _is_internal_address(host):
        return ["must not point at a private, link-local or reserved address"]
    if not _is_ip_literal(host) and not _PUBLIC_HOSTNAME.fullmatch(host):
        # e.g. "2130706433" or "0x7f.1": not IP literals here, yet the resolver reads them as 127.0.0.1
        return ["must name a host by a domain name with a top-level domain, or by a public IP address"]
    return []


def check_url(url: str, *, allow_insecure: bool) -> None:
    problems = url_problems(url, allow_insecure=allow_insecure)
    if problems:
        issues = [FieldIssue(pointer="/url", detail=f"The URL {problem}.") for problem in problems]
        raise InvalidInputError("The webhook URL cannot be used.", issues)


class CreateWebhookRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        defer_build=True,
        json_schema_extra={
            "examples": [
                {
                    "url": "https://warehouse.nordlicht-versicherung.example/hooks/caseline",
                    "event_types": ["case.*", "sla.breached"],
                    "description": "Claims data warehouse",
                }
            ]
        },
    )

    url: Annotated[str, Field(min_length=8, max_length=MAX_URL_LENGTH), SINGLE_LINE] = Field(
        description="https:// endpoint that receives events."
    )
    event_types: list[EventTypeFilter] = Field(
        default_factory=list, max_length=50, description="Which events to send; empty sends every event."
    )
    description: Annotated[str, Field(max_length=500), MULTI_LINE] | None = None


class RetiringSecret(BaseModel):
    model_config = ConfigDict(defer_build=True)

    value: str
    expires_at: datetime


class Webhook(BaseModel):
    """A subscription as the API shows it: never its secrets."""

    model_config = ConfigDict(
        defer_build=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "01JF3Z8H1GG3VECF136Q822QBP",
                    "url": "https://warehouse.nordlicht-versicherung.example/hooks/caseline",
                    "event_types": ["case.*", "sla.breached"],
                    "description": "Claims data warehouse",
                    "created_at": "2027-01-04T08:12:24.944466Z",
                    "created_by": "7c1e2f4a-5b3d-4e6f-8a9b-0c1d2e3f4a5b",
                    "previous_secret_expires_at": None,
                }
            ]
        },
    )

    id: str
    url: str
    event_types: list[str]
    description: str | None
    created_at: datetime
    created_by: str
    previous_secret_expires_at: datetime | None = Field(
        default=None, description="Until then deliveries also carry a signature made with the previous secret."
    )


class WebhookCreated(Webhook):
    model_config = ConfigDict(
        defer_build=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "01JF3Z8H1GG3VECF136Q822QBP",
                    "url": "https://warehouse.nordlicht-versicherung.example/hooks/caseline",
                    "event_types": ["case.*", "sla.breached"],
                    "description": "Claims data warehouse",
                    "created_at": "2027-01-04T08:12:24.944466Z",
                    "created_by": "7c1e2f4a-5b3d-4e6f-8a9b-0c1d2e3f4a5b",
                    "previous_secret_expires_at": None,
                    "secret": "whsec_zsl7UykqNhIDygneeDfEBN0n33yyAiLOdlDVIhg+Cu4=",
                }
            ]
        },
    )

    secret: str = Field(description="Shown once: the key receivers verify signatures with.")


class RotatedSecret(BaseModel):
    model_config = ConfigDict(
        defer_build=True,
        json_schema_extra={
            "examples": [
                {
                    "webhook_id": "01JF3Z8H1GG3VECF136Q822QBP",
                    "secret": "whsec_noSJ5kOQq/MpRTBT8RBcCO3wnHY1mSRaU2Sr5rUPA74=",
                    "previous_secret_expires_at": "2027-01-05T08:12:32.838719Z",
                }
            ]
        },
    )

    webhook_id: str
    secret: str = Field(description="Shown once: the new signing key.")
    previous_secret_expires_at: datetime


class Subscription(BaseModel):
    """A stored subscription, with its signing secrets."""

    model_config = ConfigDict(defer_build=True)

    id: str
    url: str
    event_types: list[str]
    description: str | None = None
    created_at: datetime
    created_by: str
    secret: str
    previous_secret: RetiringSecret | None = None
    revision: int = 1

    def matches(self, event_type: str) -> bool:
        return event_type_matches(event_type, self.event_types)

    def signing_secrets(self, now: datetime) -> list[str]:
        previous = self.previous_secret
        return [self.secret] + ([previous.value] if previous and previous.expires_at > now else [])

    def rotated(self, secret: str, now: datetime) -> Self:
        """A second rotation within the overlap drops the oldest secret: only two ever sign."""
        retiring = RetiringSecret(value=self.secret, expires_at=now + SECRET_OVERLAP)
        return self.model_copy(update={"secret": secret, "previous_secret": retiring, "revision": self.revision + 1})

    def view(self, now: datetime) -> Webhook:
        previous = self.previous_secret
        return Webhook(
            id=self.id,
            url=self.url,
            event_types=self.event_types,
            description=self.description,
            created_at=self.created_at,
            created_by=self.created_by,
            previous_secret_expires_at=previous.expires_at if previous and previous.expires_at > now else None,
        )


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    DEAD = "dead"


class Attempt(BaseModel):
    model_config = ConfigDict(defer_build=True)

    at: datetime
    status_code: int | None = Field(default=None, description="The receiver's HTTP status; absent if none came.")
    error: str | None = Field(default=None, description="Why no response came (timeout, refused connection...).")
    duration_ms: int

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


# A delivery that ran out of attempts: `payload` is the exact body each attempt sent.
_DEAD_DELIVERY_EXAMPLE: JsonDict = {
    "id": "01JF3Z8M9K63JTZE166GJAEX2B",
    "subscription_id": "01JF3Z8H1GG3VECF136Q822QBP",
    "event_id": "01JF3Z8M9KTWD6CY2924D8Y46E",
    "event_type": "case.role_assigned",
    "payload": ROLE_ASSIGNED_PAYLOAD,
    "status": "pending",
    "attempts": [
        {
            "at": "2027-01-04T08:12:28.807874Z",
            "status_code": None,
            "error": "the host does not resolve: [Errno -2] Name or service not known",
            "duration_ms": 0,
        }
    ],
    "attempts_since_replay": 1,
    "next_attempt_at": "2027-01-04T08:12:38.807874Z",
    "created_at": "2027-01-04T08:12:28.500677Z",
    "revision": 3,
}


class Delivery(BaseModel):
    model_config = ConfigDict(defer_build=True, json_schema_extra={"examples": [_DEAD_DELIVERY_EXAMPLE]})

    id: str = Field(description="Also the webhook-id header: the same on every retry, so receivers can dedupe.")
    subscription_id: str
    event_id: str
    event_type: str
    payload: str = Field(description="The exact body sent, a Standard Webhooks payload as JSON.")
    status: DeliveryStatus
    attempts: list[Attempt] = Field(default_factory=list)
    attempts_since_replay: int = 0
    next_attempt_at: datetime | None = None
    created_at: datetime
    revision: int = Field(default=1, description="Changes with every write; makes concurrent attempts exclusive.")

    @classmethod
    def claimed_new(
        cls, delivery_id: str, subscription_id: str, event: EventEnvelope, now: datetime, lease: timedelta
    ) -> "Delivery":
        """A new delivery whose first attempt its creator makes; if it never records one, it is due after `lease`."""
        return cls(
            id=delivery_id,
            subscription_id=subscription_id,
            event_id=event.event_id,
            event_type=event.type,
            payload=webhook_payload(event),
            status=DeliveryStatus.PENDING,
            next_attempt_at=now + lease,
            created_at=now,
        )

    def claimed(self, until: datetime) -> Self:
        """Taken by one sender until `until`; another sweep retries it only if no attempt is recorded by then."""
        return self.model_copy(update={"next_attempt_at": until, "revision": self.revision + 1})

    def recorded(self, attempt: Attempt) -> Self:
        made = self.attempts_since_replay + 1
        delay = retry_delay(made)
        if attempt.succeeded:
            status, next_attempt_at = DeliveryStatus.SUCCEEDED, None
        elif delay is None:
            status, next_attempt_at = DeliveryStatus.DEAD, None
        else:
            status, next_attempt_at = DeliveryStatus.PENDING, attempt.at + delay
        return self.model_copy(
            update={
                "attempts": [*self.attempts, attempt],
                "attempts_since_replay": made,
                "status": status,
                "next_attempt_at": next_attempt_at,
                "revision": self.revision + 1,
            }
        )

    def replayed(self, now: datetime) -> Self:
        """Back to pending with a full round of attempts, the first due now; earlier attempts stay in the log."""
        return self.model_copy(
            update={
                "status": DeliveryStatus.PENDING,
                "attempts_since_replay": 0,
                "next_attempt_at": now,
                "revision": self.revision + 1,
            }
        )


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def webhook_payload(event: EventEnvelope) -> str:
    """The Standard Webhooks body: the event's type, when it occurred, and the whole envelope as `data`."""
    payload = {"type": event.type, "timestamp": _rfc3339(event.occurred_at), "data": event.model_dump(mode="json")}
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def signed_headers(message_id: str, body: str, signing_secrets: list[str], at: datetime) -> dict[str, str]:
    """Standard Webhooks headers; several secrets (during a rotation) give space-separated signatures."""
    # The library stamps the datetime as UTC without converting it, so it must be UTC already.
    moment = at.astimezone(UTC)
    signatures = " ".join(StandardWebhook(secret).sign(message_id, moment, body) for secret in signing_secrets)
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": signatures,
    }
