"""Access links and sessions: random tokens of which only a hash is kept."""

import base64
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict

TOKEN_BYTES = 32  # 256 bits from `secrets`; the issue asks for at least 128


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """What is stored and looked up. A token is never stored, logged or returned twice."""
    return hashlib.sha256(token.encode()).hexdigest()


class PortalLink(BaseModel):
    model_config = ConfigDict(defer_build=True)

    id: str
    token_hash: str
    case_id: str
    participant_id: str
    created_at: datetime
    created_by: str
    expires_at: datetime
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None

    def usable(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at


class LinkSummary(BaseModel):
    """A link as staff see it: never its token."""

    model_config = ConfigDict(
        defer_build=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "01JF3Z8MC2M7Y4B6455C6K7B0R",
                    "participant_id": "01JF3Z8KHY8W21WDHGHTVPCQ8G",
                    "created_at": "2027-01-04T08:12:28.354250Z",
                    "created_by": "3f6c2a9e-8b1d-4c57-9e2f-6a0d4b8c1e75",
                    "expires_at": "2027-02-03T08:12:28.354250Z",
                    "revoked_at": "2027-01-05T10:03:41.118204Z",
                    "last_used_at": "2027-01-04T19:47:02.530611Z",
                }
            ]
        },
    )

    id: str
    participant_id: str
    created_at: datetime
    created_by: str
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None

    @classmethod
    def of(cls, link: PortalLink) -> "LinkSummary":
        return cls.model_validate(link.model_dump(exclude={"token_hash", "case_id"}))


class IssuedLink(LinkSummary):
    model_config = ConfigDict(
        defer_build=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "01JF3Z8MC2M7Y4B6455C6K7B0R",
                    "participant_id": "01JF3Z8KHY8W21WDHGHTVPCQ8G",
                    "created_at": "2027-01-04T08:12:28.354250Z",
                    "created_by": "3f6c2a9e-8b1d-4c57-9e2f-6a0d4b8c1e75",
                    "expires_at": "2027-02-03T08:12:28.354250Z",
                    "revoked_at": None,
                    "last_used_at": None,
                    "url": "https://portal.nordlicht-versicherung.example/p/62Ts8-EK6x9NUrRHCuM9wPJFoP5PF56BbBVQbsO691M",
                }
            ]
        },
    )

    url: str


def _pad(scope: str, link_id: str) -> bytes:
    return hmac.new(scope.encode(), f"portal-link#{link_id}".encode(), hashlib.sha512).digest()


class SealedLink(LinkSummary):
    """An issued link as its Idempotency-Key claim keeps it, so a retry can show the link again: the token XOR a
    pad keyed by the claim's scope, which holds the caller's key. The table keeps only a hash of the scope, so
    what it holds opens no link, as long as the key cannot be guessed."""

    sealed_token: str

    @classmethod
    def sealing(cls, link: PortalLink, token: str, scope: str) -> "SealedLink":
        sealed = bytes(a ^ b for a, b in zip(token.encode(), _pad(scope, link.id), strict=False))
        return cls(**LinkSummary.of(link).model_dump(), sealed_token=base64.urlsafe_b64encode(sealed).decode())

    def issued(self, scope: str, base_url: str) -> IssuedLink:
        sealed = base64.urlsafe_b64decode(self.sealed_token)
        token = bytes(a ^ b for a, b in zip(sealed, _pad(scope, self.id), strict=False)).decode()
        return IssuedLink(**self.model_dump(exclude={"sealed_token"}), url=f"{base_url}/p/{token}")


class Session(BaseModel):
    """A browser's session after it passed the landing page; its id is a token too, kept only as a hash."""

    model_config = ConfigDict(defer_build=True)

    id_hash: str
    link_id: str
    link_hash: str
    case_id: str
    participant_id: str
    csrf_token: str
    expires_at: datetime


def session_expiry(now: datetime, link: PortalLink, hours: int) -> datetime:
    return min(now + timedelta(hours=hours), link.expires_at)


class LinkNotice(BaseModel):
    """The e-mail that sends one participant a new link because of one event. It is claimed before the link
    is issued, so a redelivered event issues and sends nothing twice."""

    model_config = ConfigDict(defer_build=True)

    event_id: str
    participant_id: str
    claimed_at: datetime
    link_id: str | None = None
    message_id: str | None = None  # SES's, once sent
