"""Service configuration: a pydantic model read once per cold start from the environment."""

from typing import TypeVar

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# A download origin (`https://dxxxx.cloudfront.net`, or the local gateway's `http://127.0.0.1:8000/_documents`):
# scheme and host, maybe a path, no trailing slash, query or fragment; a presigned path is appended to it.
DOWNLOAD_URL = r"^https?://[^/?#]+(/[^?#]*[^/?#])?$"


class ServiceSettings(BaseSettings):
    """What every service needs. Names of resources have no defaults: a missing one fails the cold start."""

    model_config = SettingsConfigDict(env_prefix="CASELINE_", frozen=True, extra="ignore")

    tenant_id: str = Field(pattern=r"^[a-z][a-z0-9-]{1,30}$")
    aws_region: str
    aws_endpoint_url: str | None = None
    event_bus_name: str
    oidc_issuer: str
    oidc_client_ids: list[str] = Field(min_length=1)
    oidc_jwks_url: str | None = None
    # An event carries about its request's data, and EventBridge takes at most 256 KB per entry and per
    # PutEvents call: 200 KiB leaves room for the envelope.
    max_request_bytes: int = 200 * 1024
    console_origin: str | None = Field(
        default=None, pattern=r"^https?://[^/]+$", description="The staff console's origin, allowed by CORS."
    )

    @property
    def jwks_url(self) -> str:
        return self.oidc_jwks_url or f"{self.oidc_issuer.rstrip('/')}/.well-known/jwks.json"


SettingsT = TypeVar("SettingsT", bound=ServiceSettings)
